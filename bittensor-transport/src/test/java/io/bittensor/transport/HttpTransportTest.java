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
    private final OkHttpClient raw = rawClient();

    /** The client {@link #sendRaw} posts with (called once, as this is constructed). */
    OkHttpClient rawClient() {
      return new OkHttpClient();
    }

    /** Posts to a path with the raw client. */
    okhttp3.Response rawCall(okhttp3.Request request) throws IOException {
      return raw.newCall(request).execute();
    }

    @Override
    PeerServer start(PeerServer.Builder b) throws IOException {
      return b.start();
    }

    @Override
    Response sendRaw(PeerServer server, ForwardRequest msg) throws IOException {
      return parse(post(raw, server, "/v1/forward", msg.toByteArray()));
    }

    /** While a blocking call waits, its own thread is inside OkHttp: no dispatcher thread. */
    @org.junit.jupiter.api.Test
    void blockingCallsRunOnTheCallersThread() throws Exception {
      io.bittensor.core.Peer remote = connect(serve(TestPeers.silent()), ALICE);
      io.bittensor.core.ForwardRequest req = new io.bittensor.core.ForwardRequest(
          io.bittensor.core.Modality.TENSOR,
          io.bittensor.core.Tensor.zeros(io.bittensor.core.DType.FLOAT32, 1, 1, 2));
      Thread caller = new Thread(() -> remote.forwardAndWait(req, java.time.Duration.ofSeconds(2)));
      caller.start();
      boolean inOkHttp = false;
      for (int i = 0; i < 150 && !inOkHttp && caller.isAlive(); i++) {
        Thread.sleep(10);
        inOkHttp = java.util.Arrays.stream(caller.getStackTrace())
            .anyMatch(f -> f.getClassName().startsWith("okhttp3."));
      }
      caller.join();
      org.junit.jupiter.api.Assertions.assertTrue(inOkHttp,
          "the caller's thread made the HTTP call itself");
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

    @Override
    boolean interruptEndsTheWait() {
      return false;
    }
  }
}
