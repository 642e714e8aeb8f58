package io.bittensor.transport;

import static io.bittensor.transport.HttpTransportTest.PROTOBUF;
import static io.bittensor.transport.HttpTransportTest.parse;
import static io.bittensor.transport.HttpTransportTest.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.UnknownFieldSet;
import io.bittensor.core.BackwardRequest;
import io.bittensor.core.DType;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.Modality;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.transport.internal.ClientCore;
import io.bittensor.transport.internal.wire.Response;
import java.io.IOException;
import java.time.Clock;
import java.util.Arrays;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okio.BufferedSink;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** What the HTTP front-end does with requests that are wrong before the protocol starts. */
@ExtendWith(LeakCheck.class)
@Timeout(30)
class HttpEnvelopeTest {
  private final OkHttpClient http = new OkHttpClient();
  private PeerServer server;
  private final ClientCore signer =
      new ClientCore(TransportContract.ALICE, Clock.systemUTC(), TransportContract.STANDARD);
  private final ClientCore anonymous =
      new ClientCore(null, Clock.systemUTC(), TransportContract.STANDARD);

  @BeforeEach
  void start() throws IOException {
    server = PeerServer.newBuilder(BuiltinPeers.deterministic(8)).host("127.0.0.1").port(0)
        .maxPayloadBytes(64 * 1024).allowAnonymous(true).start();
  }

  @AfterEach
  void stop() {
    server.close();
    http.dispatcher().executorService().shutdown();
    http.connectionPool().evictAll();
  }

  private byte[] validBody() {
    return signer.message(new ForwardRequest(Modality.TENSOR,
        Tensor.zeros(DType.FLOAT32, 1, 2, 3)), 5_000).toByteArray();
  }

  private void assertServing() throws IOException {
    okhttp3.Response r = post(http, server, "/v1/forward", validBody());
    assertEquals(200, r.code());
    assertEquals(Status.SUCCESS.code(), parse(r).getStatus());
  }

  @Test
  void successMirrorsTheStatusInHeaders() throws IOException {
    okhttp3.Response r = post(http, server, "/v1/forward", validBody());
    assertEquals("0", r.header("Bittensor-Status"));
    assertEquals(null, r.header("Retry-After"), "only a BACKOFF says when to come back");
    assertEquals("application/x-protobuf", r.header("Content-Type"));
    assertEquals(1 * 2 * 8 * 4, parse(r).getOutput().getData().size(), "[1, 2, 8] float32");
  }

  @Test
  void unknownPathsAndMethodsAreRefused() throws IOException {
    okhttp3.Response r = post(http, server, "/v2/forward", validBody());
    assertEquals(404, r.code());
    assertEquals("path", parse(r).getField());
    okhttp3.Response get = http.newCall(new Request.Builder()
        .url(server.endpoint() + "/v1/forward").build()).execute();
    assertEquals(405, get.code());
    assertEquals("method", parse(get).getField());
    assertServing();
  }

  @Test
  void otherContentTypesAreRefused() throws IOException {
    okhttp3.Response r = http.newCall(new Request.Builder().url(server.endpoint() + "/v1/forward")
        .post(RequestBody.create(validBody(), MediaType.get("application/json"))).build())
        .execute();
    assertEquals(415, r.code());
    assertEquals("content-type", parse(r).getField());
  }

  @Test
  void truncatedBodiesAreBadRequests() throws IOException {
    byte[] body = validBody();
    okhttp3.Response r = post(http, server, "/v1/forward", Arrays.copyOf(body, body.length - 7));
    assertEquals(400, r.code());
    Response resp = parse(r);
    assertEquals(Status.BAD_REQUEST.code(), resp.getStatus());
    assertEquals("body", resp.getField());
    assertServing();
  }

  @Test
  void shapeThatDoesNotMatchTheDataIsABadShape() throws IOException {
    var msg = anonymous.message(new ForwardRequest(Modality.TENSOR,
        Tensor.zeros(DType.FLOAT32, 1, 2, 3)), 5_000);
    var lying = msg.toBuilder().setInput(msg.getInput().toBuilder().setShape(2, 5)).build();
    Response resp = parse(post(http, server, "/v1/forward", lying.toByteArray()));
    assertEquals(Status.BAD_SHAPE.code(), resp.getStatus(), resp.toString());
    assertEquals("input.shape", resp.getField());
  }

  @Test
  void unknownDtypesAndModalitiesAreNamed() throws IOException {
    var msg = signer.message(new ForwardRequest(Modality.TENSOR,
        Tensor.zeros(DType.FLOAT32, 1, 2, 3)), 5_000);
    var dtype = msg.toBuilder().setInput(msg.getInput().toBuilder().setDtypeValue(9)).build();
    Response r = parse(post(http, server, "/v1/forward", dtype.toByteArray()));
    // The signature covers the dtype, so a signed request says so first.
    assertEquals(Status.BAD_SIGNATURE.code(), r.getStatus(), r.toString());
    var anon = anonymous.message(
        new ForwardRequest(Modality.TENSOR, Tensor.zeros(DType.FLOAT32, 1, 2, 3)), 0);
    Response d = parse(post(http, server, "/v1/forward",
        anon.toBuilder().setInput(anon.getInput().toBuilder().setDtypeValue(9)).build()
            .toByteArray()));
    assertEquals(Status.BAD_REQUEST.code(), d.getStatus(), d.toString());
    assertEquals("input.dtype", d.getField());
    Response m = parse(post(http, server, "/v1/forward",
        anon.toBuilder().setModalityValue(42).build().toByteArray()));
    assertEquals(Status.UNKNOWN_MODALITY.code(), m.getStatus(), m.toString());
    Response v = parse(post(http, server, "/v1/forward",
        anon.toBuilder().setVersion(2).build().toByteArray()));
    assertEquals(Status.UNSUPPORTED_VERSION.code(), v.getStatus(), v.toString());
  }

  @Test
  void aBackwardRequestWithoutItsInputOrGradientIsABadRequestNamingIt() throws IOException {
    Tensor x = Tensor.zeros(DType.FLOAT32, 1, 2, 3);
    var msg = anonymous.message(
        new BackwardRequest(Modality.TENSOR, x, Tensor.zeros(DType.FLOAT32, 1, 2, 8)), 5_000);
    Response noGradient = parse(post(http, server, "/v1/backward",
        msg.toBuilder().clearGradient().build().toByteArray()));
    assertEquals(Status.BAD_REQUEST.code(), noGradient.getStatus(), noGradient.toString());
    assertEquals("gradient", noGradient.getField());
    Response noInput = parse(post(http, server, "/v1/backward",
        msg.toBuilder().clearInput().build().toByteArray()));
    assertEquals(Status.BAD_REQUEST.code(), noInput.getStatus(), noInput.toString());
    assertEquals("input", noInput.getField());
    assertServing();
  }

  /** A body sent without a Content-Length, in chunks, as a streaming client sends it. */
  private static RequestBody chunked(byte[] body) {
    return new RequestBody() {
      @Override
      public MediaType contentType() {
        return PROTOBUF;
      }

      @Override
      public long contentLength() {
        return -1;
      }

      @Override
      public void writeTo(BufferedSink sink) throws IOException {
        for (int at = 0; at < body.length; at += 8_192) {
          sink.write(body, at, Math.min(8_192, body.length - at));
          sink.flush();
        }
      }
    };
  }

  @Test
  void aRequestOfUnknownLengthLargerThanTheFirstBufferIsReadWhole() throws IOException {
    // 96 x 1024 floats: 384 KiB, past the 64 KiB first guess at an unknown length, twice over.
    float[] values = new float[96 * 1024];
    for (int i = 0; i < values.length; i++) {
      values[i] = i % 251;
    }
    Tensor input = Tensor.ofFloats(values, 1, 96, 1024);
    byte[] body = signer.message(new ForwardRequest(Modality.TENSOR, input), 5_000)
        .toByteArray();
    try (PeerServer large = PeerServer.newBuilder(BuiltinPeers.deterministic(8))
        .host("127.0.0.1").port(0).maxPayloadBytes(1 << 20).start()) {
      Response r = parse(http.newCall(new Request.Builder().url(large.endpoint() + "/v1/forward")
          .post(chunked(body)).build()).execute());
      assertEquals(Status.SUCCESS.code(), r.getStatus(), r.toString());
      assertEquals(java.util.List.of(1, 96, 8), r.getOutput().getShapeList());
      // The same answer as for the same input sent with its length (signed anew: a body is
      // served once).
      Response known = parse(post(http, large, "/v1/forward", signer.message(
          new ForwardRequest(Modality.TENSOR, input), 5_000).toByteArray()));
      assertEquals(Status.SUCCESS.code(), known.getStatus(), known.toString());
      assertEquals(known.getOutput(), r.getOutput());
    }
  }

  @Test
  void anAnswerWhoseRowsRepeatIsSentOncePerExampleOnlyToACallerThatAsks() throws IOException {
    // A peer answering the same row at every position: one embedding per example.
    float[] row = {1, 2, 3, 4, 5, 6, 7, 8};
    try (PeerServer embedding = PeerServer.newBuilder(request -> {
          int n = request.input().dim(0);
          int seq = request.input().dim(1);
          float[] out = new float[n * seq * row.length];
          for (int i = 0; i < n * seq; i++) {
            System.arraycopy(row, 0, out, i * row.length, row.length);
          }
          return java.util.concurrent.CompletableFuture.completedFuture(
              io.bittensor.core.ForwardResult.success(Tensor.ofFloats(out, n, seq, row.length)));
        }).host("127.0.0.1").port(0).allowAnonymous(true).start()) {
      Tensor input = Tensor.zeros(DType.FLOAT32, 2, 16, 3);
      Response plain = parse(post(http, embedding, "/v1/forward", anonymous.message(
          new ForwardRequest(Modality.TENSOR, input), 5_000).toByteArray()));
      Response compact = parse(http.newCall(new Request.Builder()
          .url(embedding.endpoint() + "/v1/forward").header("Bittensor-Accept", "repeated-rows")
          .post(RequestBody.create(anonymous.message(new ForwardRequest(Modality.TENSOR, input),
              5_000).toByteArray(), PROTOBUF)).build()).execute());
      assertEquals(Status.SUCCESS.code(), plain.getStatus(), plain.toString());
      assertEquals(Status.SUCCESS.code(), compact.getStatus(), compact.toString());
      assertTrue(!plain.getOutput().getRowsRepeated(), "not asked, not compact");
      assertEquals(2 * 16 * 8 * 4, plain.getOutput().getData().size());
      assertTrue(compact.getOutput().getRowsRepeated());
      assertEquals(2 * 8 * 4, compact.getOutput().getData().size(), "one row per example");
      assertEquals(plain.getOutput().getShapeList(), compact.getOutput().getShapeList());
    }
  }

  @Test
  void aServerWithNoSlotFreeAnswers429WithRetryAfterAndIsHeard() throws Exception {
    java.util.List<CallEvent> heard = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.concurrent.CompletableFuture<io.bittensor.core.ForwardResult> held =
        new java.util.concurrent.CompletableFuture<>();
    try (PeerServer busy = PeerServer.newBuilder(request -> held).host("127.0.0.1").port(0)
        .allowAnonymous(true).maxConcurrentCalls(1).maxQueuedCalls(0)
        .callListener(heard::add).start()) {
      okhttp3.Call first = http.newCall(new Request.Builder().url(busy.endpoint() + "/v1/forward")
          .post(RequestBody.create(validBody(), PROTOBUF)).build());
      java.util.concurrent.CompletableFuture<Void> firstDone =
          java.util.concurrent.CompletableFuture.runAsync(() -> {
            try (okhttp3.Response ignored = first.execute()) {
              // answered once released
            } catch (IOException e) {
              throw new java.io.UncheckedIOException(e);
            }
          });
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (busy.activeCalls() < 1 && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      try (okhttp3.Response r = http.newCall(new Request.Builder()
          .url(busy.endpoint() + "/v1/forward")
          .post(RequestBody.create(validBody(), PROTOBUF)).build()).execute()) {
        assertEquals(429, r.code());
        assertEquals("1", r.header("Retry-After"), "100 ms, rounded up to whole seconds");
        Response body = parse(r);
        assertEquals(Status.BACKOFF.code(), body.getStatus());
        assertEquals(100, body.getRetryAfterMs());
      }
      held.complete(io.bittensor.core.ForwardResult.failure(Status.NOT_IMPLEMENTED, "let go"));
      firstDone.get(10, java.util.concurrent.TimeUnit.SECONDS);
      while (heard.size() < 2 && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      assertEquals(java.util.List.of(Status.BACKOFF, Status.NOT_IMPLEMENTED),
          heard.stream().map(CallEvent::status).toList());
    }
  }

  @Test
  void fieldsOfANewerVersionAreIgnoredAndNamed() throws IOException {
    var msg = signer.message(new ForwardRequest(Modality.TENSOR,
        Tensor.zeros(DType.FLOAT32, 1, 2, 3)), 5_000);
    var newer = msg.toBuilder().setUnknownFields(UnknownFieldSet.newBuilder()
        .addField(99, UnknownFieldSet.Field.newBuilder().addVarint(7).build()).build()).build();
    Response r = parse(post(http, server, "/v1/forward", newer.toByteArray()));
    assertEquals(Status.SUCCESS.code(), r.getStatus(), r.toString());
    assertTrue(r.getMessage().contains("ForwardRequest.99"), r.getMessage());
  }

  @Test
  void aDeclaredLengthOverTheLimitIsRefusedBeforeReading() throws IOException {
    okhttp3.Response r = post(http, server, "/v1/forward", new byte[65 * 1024]);
    assertEquals(413, r.code());
    assertEquals(Status.PAYLOAD_TOO_LARGE.code(), parse(r).getStatus());
    assertServing();
  }

  @Test
  void aChunkedBodyOverTheLimitIsCutOff() throws IOException {
    RequestBody chunked = new RequestBody() {
      @Override
      public MediaType contentType() {
        return PROTOBUF;
      }

      @Override
      public long contentLength() {
        return -1; // unknown: sent chunked
      }

      @Override
      public void writeTo(BufferedSink sink) throws IOException {
        for (int i = 0; i < 100; i++) {
          sink.write(new byte[1024]);
        }
      }
    };
    okhttp3.Response r = http.newCall(new Request.Builder().url(server.endpoint() + "/v1/forward")
        .post(chunked).build()).execute();
    assertEquals(413, r.code());
    assertEquals(Status.PAYLOAD_TOO_LARGE.code(), parse(r).getStatus());
    assertServing();
  }

  /** Before the fix a body of unknown length was taken up to 64 KiB, whatever the limit. */
  @Test
  void aChunkedBodyOverASmallLimitIsRefusedEvenUnderTheFirstBuffer() throws IOException {
    byte[] body = signer.message(new ForwardRequest(Modality.TENSOR,
        Tensor.zeros(DType.FLOAT32, 1, 16, 64)), 5_000).toByteArray(); // 4 KiB of floats
    try (PeerServer small = PeerServer.newBuilder(BuiltinPeers.deterministic(8))
        .host("127.0.0.1").port(0).maxPayloadBytes(1024).start()) {
      okhttp3.Response r = http.newCall(new Request.Builder()
          .url(small.endpoint() + "/v1/forward").post(chunked(body)).build()).execute();
      Response answer = parse(r);
      assertEquals(Status.PAYLOAD_TOO_LARGE.code(), answer.getStatus(), answer.toString());
      assertEquals(413, r.code());
    }
  }

  @Test
  void aCallerHeaderMustMatchTheSigner() throws IOException {
    okhttp3.Response r = http.newCall(new Request.Builder().url(server.endpoint() + "/v1/forward")
        .header("Bittensor-Caller", TransportContract.BOB.id().toHex())
        .post(RequestBody.create(validBody(), PROTOBUF)).build()).execute();
    Response resp = parse(r);
    assertEquals(Status.BAD_SIGNATURE.code(), resp.getStatus());
    assertEquals("Bittensor-Caller", resp.getField());
    assertTrue(resp.getMessage().contains("names " + TransportContract.BOB.id().toHex()
        + " but the request is signed by " + TransportContract.ALICE.id().toHex()),
        resp.getMessage());
    Response unsigned = parse(http.newCall(new Request.Builder()
        .url(server.endpoint() + "/v1/forward")
        .header("Bittensor-Caller", TransportContract.BOB.id().toHex())
        .post(RequestBody.create(anonymous.message(new ForwardRequest(Modality.TENSOR,
            Tensor.zeros(DType.FLOAT32, 1, 2, 3)), 5_000).toByteArray(), PROTOBUF))
        .build()).execute());
    assertEquals(Status.BAD_SIGNATURE.code(), unsigned.getStatus());
    assertTrue(unsigned.getMessage().endsWith("but the request is anonymous"),
        unsigned.getMessage());
    okhttp3.Response bad = http.newCall(new Request.Builder()
        .url(server.endpoint() + "/v1/forward").header("Bittensor-Caller", "not-hex")
        .post(RequestBody.create(validBody(), PROTOBUF)).build()).execute();
    assertEquals(Status.BAD_REQUEST.code(), parse(bad).getStatus());
  }
}
