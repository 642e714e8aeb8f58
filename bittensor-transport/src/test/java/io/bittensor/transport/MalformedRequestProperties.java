package io.bittensor.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import io.bittensor.core.DType;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.Modality;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.transport.internal.ClientCore;
import io.bittensor.transport.internal.Responses;
import io.bittensor.transport.internal.Serving;
import io.bittensor.transport.internal.wire.Response;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Random and mutated bytes, fed to the decoder and to a real server: every request is answered
 * with a known status and the HTTP status that mirrors it, nothing escapes, no thread dies, no
 * admission slot leaks, and the next good request is served.
 */
@ExtendWith(LeakCheck.class)
class MalformedRequestProperties {
  private static final long SEED = 0x5EED_2026L;

  private final ClientCore signer =
      new ClientCore(TransportContract.ALICE, Clock.systemUTC(), TransportContract.STANDARD);
  private final ClientCore anonymous =
      new ClientCore(null, Clock.systemUTC(), TransportContract.STANDARD);

  @Test
  @Timeout(120)
  void theDecoderAnswersEveryMutatedRequestWithAStatus() {
    InProcessNetwork net = new InProcessNetwork();
    try (PeerServer server = fuzzTarget().startInProcess(net, "fuzz")) {
      Serving serving = net.lookup("fuzz");
      Random random = new Random(SEED);
      for (int i = 0; i < 3_000; i++) {
        byte[] body = nextBody(random);
        String where = "seed " + SEED + " case " + i;
        Response r;
        try {
          var msg = io.bittensor.transport.internal.wire.ForwardRequest.parseFrom(
              CodedInputStream.newInstance(body));
          r = serving.admitAndServe(null, msg, m -> serving.core().forward(m, null))
              .get(10, TimeUnit.SECONDS);
        } catch (InvalidProtocolBufferException e) {
          continue; // the HTTP front-end answers these BAD_REQUEST (checked below)
        } catch (Exception e) {
          throw new AssertionError(where + ": " + e, e);
        }
        assertKnown(r, where);
      }
      assertEquals(0, server.activeCalls(), "seed " + SEED + ": admission slots leaked");
    }
  }

  @Test
  @Timeout(120)
  void aServerAnswersRandomAndMutatedRequests() throws Exception {
    fuzzServer(400, 120);
  }

  @Test
  @Tag("long")
  @Timeout(1_800)
  void aServerAnswersTenThousandRandomAndMutatedRequests() throws Exception {
    fuzzServer(10_000, 1_700);
  }

  /** A shape whose product is 2^64 with no data is the request's fault, not the peer's. */
  @Test
  @Timeout(30)
  void aShapeWhoseProductWrapsAroundIsBadShapeNotThePeersFailure() throws Exception {
    InProcessNetwork net = new InProcessNetwork();
    try (PeerServer server = fuzzTarget().startInProcess(net, "wrap")) {
      Serving serving = net.lookup("wrap");
      var b = anonymous.message(new ForwardRequest(Modality.TENSOR,
          Tensor.zeros(DType.FLOAT32, 1, 2, 3)), 2_000).toBuilder();
      b.getInputBuilder().clearShape().addShape(1 << 20).addShape(1 << 20).addShape(1 << 24)
          .setData(ByteString.EMPTY);
      Response r = serving.admitAndServe(null, b.build(), m -> serving.core().forward(m, null))
          .get(10, TimeUnit.SECONDS);
      assertEquals(Status.BAD_SHAPE.code(), r.getStatus(), r.toString());
      assertEquals("input.shape", r.getField(), r.toString());
    }
  }

  private PeerServer.Builder fuzzTarget() {
    return PeerServer.newBuilder(BuiltinPeers.deterministic(8)).host("127.0.0.1").port(0)
        .allowAnonymous(true).maxPayloadBytes(256 * 1024).defaultTimeout(Duration.ofSeconds(5));
  }

  private void fuzzServer(int cases, int seconds) throws Exception {
    List<Throwable> uncaught = new CopyOnWriteArrayList<>();
    Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();
    Thread.setDefaultUncaughtExceptionHandler((t, e) -> uncaught.add(e));
    OkHttpClient h1 = new OkHttpClient.Builder().protocols(List.of(Protocol.HTTP_1_1))
        .callTimeout(Duration.ofSeconds(20)).build();
    OkHttpClient h2 = h1.newBuilder().protocols(List.of(Protocol.H2_PRIOR_KNOWLEDGE)).build();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    try (PeerServer server = fuzzTarget().start()) {
      Random random = new Random(SEED);
      int[] byStatus = new int[Status.values().length];
      for (int i = 0; i < cases; i++) {
        String where = "seed " + SEED + " case " + i;
        byte[] body = nextBody(random);
        okhttp3.Response http;
        try {
          http = HttpTransportTest.post(i % 2 == 0 ? h1 : h2, server, "/v1/forward", body);
        } catch (IOException e) {
          throw new AssertionError(where + ": the server dropped the request: " + e, e);
        }
        int httpStatus = http.code();
        Response r = HttpTransportTest.parse(http);
        assertKnown(r, where);
        assertEquals(Responses.httpStatus(r.getStatus()), httpStatus, where);
        byStatus[r.getStatus()]++;
        if (System.nanoTime() > deadline) {
          fail(where + ": took longer than " + seconds + " s");
        }
      }
      okhttp3.Response good = HttpTransportTest.post(h1, server, "/v1/forward",
          validBody(signer, new Random(SEED)));
      Response goodAnswer = HttpTransportTest.parse(good);
      assertEquals(Status.SUCCESS.code(), goodAnswer.getStatus(),
          "seed " + SEED + ": a good request after the fuzzing: " + goodAnswer);
      assertEquals(0, server.activeCalls(), "seed " + SEED + ": admission slots leaked");
      assertTrue(byStatus[Status.BAD_REQUEST.code()] > 0, Arrays.toString(byStatus));
      assertTrue(byStatus[Status.BAD_SIGNATURE.code()] > 0, Arrays.toString(byStatus));
      assertTrue(byStatus[Status.BAD_SHAPE.code()] > 0, Arrays.toString(byStatus));
    } finally {
      Thread.setDefaultUncaughtExceptionHandler(previous);
      for (OkHttpClient c : List.of(h1, h2)) {
        c.dispatcher().executorService().shutdown();
        c.connectionPool().evictAll();
      }
    }
    assertTrue(uncaught.isEmpty(), "seed " + SEED + ": threads died: " + uncaught);
  }

  private static void assertKnown(Response r, String where) {
    assertTrue(Status.ofCode(r.getStatus()).isPresent(), where + ": unknown status " + r);
    if (r.getStatus() != Status.SUCCESS.code()) {
      assertFalse(r.getMessage().isEmpty(), where + ": a failure without a message: " + r);
      assertFalse(r.hasOutput(), where + ": a failure with an output");
    }
  }

  /** One fuzz case: random bytes, a mutated valid request, or a valid one with a bad field. */
  private byte[] nextBody(Random random) {
    int kind = random.nextInt(10);
    if (kind == 0) {
      byte[] b = new byte[random.nextInt(600)];
      random.nextBytes(b);
      return b;
    }
    byte[] valid = validBody(random.nextBoolean() ? signer : anonymous, random);
    if (kind <= 5) {
      return mutate(valid, random);
    }
    return semanticallyWrong(random);
  }

  private static byte[] validBody(ClientCore core, Random random) {
    Modality m = Modality.values()[random.nextInt(Modality.values().length)];
    DType t = new ArrayList<>(m.inputTypes()).get(random.nextInt(m.inputTypes().size()));
    Tensor x = TransportContract.input(m, t, random);
    return core.message(new ForwardRequest(m, x), 2_000).toByteArray();
  }

  private static byte[] mutate(byte[] b, Random random) {
    byte[] out = b.clone();
    switch (random.nextInt(6)) {
      case 0 -> { // flip a few bits
        for (int k = 1 + random.nextInt(8); k > 0; k--) {
          int i = random.nextInt(out.length);
          out[i] ^= (byte) (1 << random.nextInt(8));
        }
      }
      case 1 -> out = Arrays.copyOf(out, random.nextInt(out.length)); // truncate
      case 2 -> { // insert random bytes
        int at = random.nextInt(out.length + 1);
        byte[] extra = new byte[1 + random.nextInt(16)];
        random.nextBytes(extra);
        byte[] joined = new byte[out.length + extra.length];
        System.arraycopy(out, 0, joined, 0, at);
        System.arraycopy(extra, 0, joined, at, extra.length);
        System.arraycopy(out, at, joined, at + extra.length, out.length - at);
        out = joined;
      }
      case 3 -> { // overwrite a run with 0xFF (huge varints, bad tags)
        int at = random.nextInt(out.length);
        Arrays.fill(out, at, Math.min(out.length, at + 1 + random.nextInt(10)), (byte) 0xFF);
      }
      case 4 -> { // duplicate a range (repeated fields, merged messages)
        int from = random.nextInt(out.length);
        int len = Math.min(out.length - from, 1 + random.nextInt(64));
        byte[] joined = Arrays.copyOf(out, out.length + len);
        System.arraycopy(out, from, joined, out.length, len);
        out = joined;
      }
      default -> { // set one byte to a random value
        out[random.nextInt(out.length)] = (byte) random.nextInt(256);
      }
    }
    return out;
  }

  /** Well-formed protobuf, wrong content: dtypes, shapes, lengths, modalities, NaN. */
  private byte[] semanticallyWrong(Random random) {
    var b = anonymous.message(new ForwardRequest(Modality.TENSOR,
        Tensor.zeros(DType.FLOAT32, 1, 2, 3)), random.nextInt(3_000)).toBuilder();
    var t = b.getInputBuilder();
    switch (random.nextInt(7)) {
      case 0 -> t.setDtypeValue(random.nextInt(6));
      case 1 -> {
        t.clearShape();
        for (int r = random.nextInt(7); r > 0; r--) {
          t.addShape(random.nextInt(4) == 0 ? random.nextInt() : random.nextInt(5));
        }
      }
      case 2 -> {
        byte[] data = new byte[random.nextInt(100)];
        random.nextBytes(data);
        t.setData(ByteString.copyFrom(data));
      }
      case 3 -> b.setModalityValue(random.nextInt(8));
      case 4 -> b.setVersion(random.nextInt(4));
      case 5 -> {
        float[] v = new float[6];
        v[random.nextInt(6)] = random.nextBoolean() ? Float.NaN : Float.NEGATIVE_INFINITY;
        t.setData(io.bittensor.transport.internal.WireTensors.toWire(
            Tensor.ofFloats(v, 1, 2, 3)).getData());
      }
      default -> b.clearInput();
    }
    return b.build().toByteArray();
  }
}
