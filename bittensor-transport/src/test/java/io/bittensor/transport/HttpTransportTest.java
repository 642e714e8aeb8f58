package io.bittensor.transport;

import com.google.protobuf.CodedInputStream;
import io.bittensor.transport.internal.wire.ForwardRequest;
import io.bittensor.transport.internal.wire.Response;
import java.io.IOException;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import org.junit.jupiter.api.Nested;

/** The transport contract over HTTP/2 (prior knowledge) and HTTP/1.1, on one server port. */
class HttpTransportTest {
  static final MediaType PROTOBUF = MediaType.get("application/x-protobuf");

  /** Posts raw bytes to a path; shared by the HTTP tests. */
  static okhttp3.Response post(OkHttpClient http, PeerServer server, String path, byte[] body)
      throws IOException {
    Request request = new Request.Builder().url(server.endpoint() + path)
        .post(RequestBody.create(body, PROTOBUF)).build();
    return http.newCall(request).execute();
  }

  static Response parse(okhttp3.Response r) throws IOException {
    try (r) {
      return Response.parseFrom(CodedInputStream.newInstance(r.body().bytes()));
    }
  }

  abstract static class Over extends TransportContract {
    private final OkHttpClient raw = new OkHttpClient();

    @Override
    PeerServer start(PeerServer.Builder b) throws IOException {
      return b.start();
    }

    @Override
    Response sendRaw(PeerServer server, ForwardRequest msg) throws IOException {
      return parse(post(raw, server, "/v1/forward", msg.toByteArray()));
    }

    @org.junit.jupiter.api.AfterEach
    void closeRawClient() {
      raw.dispatcher().executorService().shutdown();
      raw.connectionPool().evictAll();
    }
  }

  @Nested
  class Http2 extends Over {
    @Override
    PeerClient.Builder clientBuilder() {
      return PeerClient.newBuilder().protocol(HttpProtocol.H2_PRIOR_KNOWLEDGE);
    }
  }

  @Nested
  class Http11 extends Over {
    @Override
    PeerClient.Builder clientBuilder() {
      return PeerClient.newBuilder().protocol(HttpProtocol.HTTP_1_1);
    }
  }
}
