package io.bittensor.transport.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.bittensor.core.Keypair;
import io.bittensor.core.Rejection;
import io.bittensor.core.Status;
import io.bittensor.transport.internal.wire.DataType;
import io.bittensor.transport.internal.wire.Response;
import io.bittensor.transport.internal.wire.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.function.UnaryOperator;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The answer digest covers every field of a Response but its signer, and the request answered:
 * over seeded random answers, a signed answer verifies as it is, and each single change of a
 * covered field (or of the request, or of forward for backward) makes it fail.
 */
class AnswerDigestProperties {
  private static final Keypair PEER = keypair(21);

  static LongStream seeds() {
    return LongStream.range(0, 40).map(i -> 9_100 + i);
  }

  private static Keypair keypair(int n) {
    byte[] seed = new byte[Keypair.SEED_LENGTH];
    seed[0] = (byte) n;
    return Keypair.fromSeed(seed);
  }

  private static Response randomSuccess(Random random) {
    int batch = 1 + random.nextInt(3);
    int seq = 1 + random.nextInt(4);
    int dim = 1 + random.nextInt(6);
    byte[] data = new byte[batch * seq * dim * 4];
    random.nextBytes(data);
    return Response.newBuilder()
        .setVersion(1)
        .setStatus(Status.SUCCESS.code())
        .setMessage(random.nextBoolean() ? "" : "ignored fields unknown to protocol version 1: x")
        .setOutput(Tensor.newBuilder().setDtype(DataType.FLOAT32)
            .addShape(batch).addShape(seq).addShape(dim).setData(ByteString.copyFrom(data)))
        .build();
  }

  private static byte[] randomDigest(Random random) {
    byte[] d = new byte[32];
    random.nextBytes(d);
    return d;
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void aSignedAnswerVerifiesAndEveryChangeBreaksIt(long seed) {
    Random random = new Random(seed);
    boolean forward = random.nextBoolean();
    byte[] request = randomDigest(random);
    Response signed = AnswerSigning.sign(randomSuccess(random), forward, PEER, () -> request);
    assertTrue(signed.hasSigner(), "seed " + seed);
    assertEquals(Optional.empty(),
        AnswerSigning.check(signed, forward, PEER.id(), () -> request, "peer"), "seed " + seed);

    List<UnaryOperator<Response>> changes = new ArrayList<>();
    changes.add(r -> r.toBuilder().setVersion(2).build());
    changes.add(r -> r.toBuilder().setMessage(r.getMessage() + ".").build());
    changes.add(r -> r.toBuilder().setField("output").build());
    changes.add(r -> r.toBuilder().setRetryAfterMs(1 + random.nextInt(1000)).build());
    changes.add(r -> r.toBuilder().clearOutput().build());
    changes.add(r -> r.toBuilder().setOutput(r.getOutput().toBuilder()
        .setDtype(DataType.INT64)).build());
    changes.add(r -> r.toBuilder().setOutput(r.getOutput().toBuilder().addShape(1)).build());
    changes.add(r -> {
      byte[] data = r.getOutput().getData().toByteArray();
      data[random.nextInt(data.length)] ^= (byte) (1 << random.nextInt(8));
      return r.toBuilder().setOutput(r.getOutput().toBuilder()
          .setData(ByteString.copyFrom(data))).build();
    });
    changes.add(r -> {
      byte[] sig = r.getSigner().getSignature().toByteArray();
      sig[random.nextInt(sig.length)] ^= 1;
      return r.toBuilder().setSigner(r.getSigner().toBuilder()
          .setSignature(ByteString.copyFrom(sig))).build();
    });
    for (int i = 0; i < changes.size(); i++) {
      Response changed = changes.get(i).apply(signed);
      Optional<Rejection> bad =
          AnswerSigning.check(changed, forward, PEER.id(), () -> request, "peer");
      assertTrue(bad.isPresent(), "seed " + seed + ", change " + i + " went unnoticed");
      assertEquals(Status.BAD_RESPONSE, bad.get().status());
      assertEquals("signer", bad.get().field());
    }
    byte[] otherRequest = request.clone();
    otherRequest[random.nextInt(32)] ^= 1;
    assertTrue(AnswerSigning.check(signed, forward, PEER.id(), () -> otherRequest, "peer")
        .isPresent(), "seed " + seed + ": moved to another request");
    assertTrue(AnswerSigning.check(signed, !forward, PEER.id(), () -> request, "peer")
        .isPresent(), "seed " + seed + ": a forward's answer passed as a backward's or back");
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void theDigestLeavesOutOnlyTheSignerAndIsDeterministic(long seed) {
    Random random = new Random(seed);
    byte[] request = randomDigest(random);
    Response answer = randomSuccess(random);
    Response signed = AnswerSigning.sign(answer, true, PEER, () -> request);
    byte[] key = PEER.id().toBytes();
    assertArrayEquals(CanonicalDigest.ofAnswer(true, request, key, answer),
        CanonicalDigest.ofAnswer(true, request, key, signed), "seed " + seed);
    // Ed25519 is deterministic: the same answer to the same request signs to the same bytes.
    assertEquals(signed, AnswerSigning.sign(answer, true, PEER, () -> request), "seed " + seed);
    assertFalse(java.util.Arrays.equals(CanonicalDigest.ofAnswer(true, request, key, answer),
        CanonicalDigest.ofAnswer(true, request, keypair(22).id().toBytes(), answer)),
        "the signing key is covered");
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void failuresAreNeitherSignedNorChecked(long seed) {
    Random random = new Random(seed);
    Status[] failures = {Status.TIMEOUT, Status.BAD_SHAPE, Status.BACKOFF, Status.INTERNAL_ERROR};
    Response failure = Response.newBuilder().setVersion(1)
        .setStatus(failures[random.nextInt(failures.length)].code()).setMessage("no").build();
    byte[] request = randomDigest(random);
    assertEquals(failure, AnswerSigning.sign(failure, true, PEER, () -> request));
    assertEquals(Optional.empty(),
        AnswerSigning.check(failure, true, PEER.id(), () -> request, "peer"));
  }

  /** A signer block of any shape (keys and signatures of any length, any bytes) is refused. */
  @ParameterizedTest
  @MethodSource("seeds")
  void aMalformedSignerIsABadResponseNeverAnException(long seed) {
    Random random = new Random(seed);
    byte[] request = randomDigest(random);
    Response answer = randomSuccess(random);
    for (int trial = 0; trial < 25; trial++) {
      byte[] key = new byte[random.nextInt(4) == 0 ? 32 : random.nextInt(70)];
      byte[] signature = new byte[random.nextInt(4) == 0 ? 64 : random.nextInt(130)];
      random.nextBytes(key);
      random.nextBytes(signature);
      if (random.nextBoolean() && key.length == 32) {
        key = PEER.id().toBytes(); // the right key, a signature of garbage
      }
      Response malformed = answer.toBuilder().setSigner(
          io.bittensor.transport.internal.wire.AnswerSigner.newBuilder()
              .setPublicKey(ByteString.copyFrom(key))
              .setSignature(ByteString.copyFrom(signature))).build();
      Optional<Rejection> bad =
          AnswerSigning.check(malformed, true, PEER.id(), () -> request, "peer");
      assertTrue(bad.isPresent(), "seed " + seed + ", trial " + trial + " passed");
      assertEquals(Status.BAD_RESPONSE, bad.get().status());
      assertEquals("signer", bad.get().field());
    }
  }
}
