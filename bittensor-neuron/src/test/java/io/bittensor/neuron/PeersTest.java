package io.bittensor.neuron;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import java.util.Arrays;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The bag-of-words features are what the bag-of-words peer answers, one row per example; the noise
 * peer answers each example with a unit vector of its own; both refuse what they cannot read.
 */
class PeersTest {
  static LongStream seeds() {
    return LongStream.range(0, 30).map(i -> 0xb0b0L + i);
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void theFeaturesAreTheBagOfWordsPeersAnswer(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    int batch = 1 + r.nextInt(5);
    int seq = 1 + r.nextInt(12);
    int buckets = 1 + r.nextInt(40);
    long[] ids = new long[batch * seq];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = r.nextInt(4) == 0 ? 0 : r.nextLong(30_000);
    }
    Tensor input = Tensor.ofLongs(ids, batch, seq);
    Tensor features = Peers.bagOfWordsFeatures(buckets, seed).apply(input);
    assertArrayEquals(new int[] {batch, buckets}, features.shape());
    float[] f = features.toFloatArray();
    float[] answer = Peers.bagOfWords(buckets + 3, buckets, seed)
        .forward(new ForwardRequest(Modality.TEXT, input)).join().output().orElseThrow()
        .toFloatArray();
    for (int b = 0; b < batch; b++) {
      float[] mine = Arrays.copyOfRange(f, b * buckets, (b + 1) * buckets);
      float[] its = Arrays.copyOfRange(answer, b * seq * (buckets + 3),
          b * seq * (buckets + 3) + buckets);
      assertArrayEquals(its, mine, "example " + b + " (seed " + seed + ")");
      double norm = 0;
      for (float v : mine) {
        norm += v * v;
      }
      boolean allPadding = true;
      for (int t = 0; t < seq; t++) {
        allPadding &= ids[b * seq + t] == 0;
      }
      assertEquals(allPadding ? 0 : 1, norm, 1e-5, "unit length, or nothing to count");
    }
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void anythingButTokenIdsIsRefusedByName(long seed) {
    Function<Tensor, Tensor> words = Peers.bagOfWordsFeatures(8, seed);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> words.apply(Tensor.ofFloats(new float[6], 2, 3)));
    assertTrue(e.getMessage().contains("INT64 [batch, sequence]"), e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> words.apply(Tensor.ofLongs(new long[8], 2, 2, 2)));
    assertThrows(IllegalArgumentException.class, () -> Peers.bagOfWordsFeatures(0, seed));
  }

  private static float[] answer(Peer peer, Modality modality, Tensor input) {
    ForwardResult r = peer.forward(new ForwardRequest(modality, input)).join();
    assertTrue(r.isSuccess(), r::toString);
    assertArrayEquals(new int[] {input.dim(0), input.dim(1), 5}, r.output().orElseThrow().shape());
    return r.output().orElseThrow().toFloatArray();
  }

  /** Example {@code b}'s answer at position {@code s}, of {@code seq}, 5 values each. */
  private static float[] at(float[] answer, int seq, int b, int s) {
    return Arrays.copyOfRange(answer, (b * seq + s) * 5, (b * seq + s + 1) * 5);
  }

  /**
   * The noise peer's answer to an example is a unit vector, the same at each of its positions,
   * the same whatever else is in the batch and wherever the example stands in it, and another
   * for another example (rows that differ in their first or their last token only) or seed.
   */
  @ParameterizedTest
  @MethodSource("seeds")
  void noiseAnswersEachExampleAloneWithAUnitVectorOfItsOwn(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    int seq = 1 + r.nextInt(4);
    long[] row = new long[seq];
    for (int s = 0; s < seq; s++) {
      row[s] = r.nextLong(30_000);
    }
    long[] firstOther = row.clone();
    firstOther[0] ^= 1;
    long[] lastOther = row.clone();
    lastOther[seq - 1] ^= 1;
    long[][] rows = {firstOther, row, lastOther};
    long[] flat = new long[rows.length * seq];
    for (int b = 0; b < rows.length; b++) {
      System.arraycopy(rows[b], 0, flat, b * seq, seq);
    }
    Peer noise = Peers.noise(5, seed);
    float[] together = answer(noise, Modality.TEXT, Tensor.ofLongs(flat, rows.length, seq));
    for (int b = 0; b < rows.length; b++) {
      float[] alone = answer(noise, Modality.TEXT, Tensor.ofLongs(rows[b], 1, seq));
      for (int s = 0; s < seq; s++) {
        assertArrayEquals(at(alone, seq, 0, 0), at(together, seq, b, s),
            "example " + b + " at " + s + " as if asked alone (seed " + seed + ")");
      }
      double norm = 0;
      for (float v : at(alone, seq, 0, 0)) {
        norm += v * v;
      }
      assertEquals(1, norm, 1e-5, "unit length (seed " + seed + ")");
    }
    float[] mine = at(together, seq, 1, 0);
    assertFalse(Arrays.equals(mine, at(together, seq, 0, 0)), "first token differs");
    assertFalse(Arrays.equals(mine, at(together, seq, 2, 0)), "last token differs");
    float[] otherSeed = answer(Peers.noise(5, seed + 1), Modality.TEXT,
        Tensor.ofLongs(row, 1, seq));
    assertFalse(Arrays.equals(mine, at(otherSeed, seq, 0, 0)), "another seed");
  }

  /**
   * The noise peer's answer, bit for bit, is the reference's: a hash of each example's bytes seeds
   * the Gaussian draws of its row, scaled to unit length. Over TEXT ids, TENSOR floats and UINT8
   * IMAGE pixels of random shapes.
   */
  @ParameterizedTest
  @MethodSource("seeds")
  void noiseAnswersAsTheReferenceBitForBit(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    int batch = 1 + r.nextInt(6);
    int seq = 1 + r.nextInt(4);
    int dim = 1 + r.nextInt(9);
    Modality[] readable = {Modality.TEXT, Modality.IMAGE, Modality.TENSOR};
    Modality modality = readable[r.nextInt(readable.length)];
    Tensor input;
    if (modality == Modality.TEXT) {
      input = Tensor.ofLongs(r.longs(batch * seq, 0, 30_000).toArray(), batch, seq);
    } else if (modality == Modality.IMAGE) {
      byte[] pixels = new byte[batch * seq * 3 * 2 * 2];
      for (int i = 0; i < pixels.length; i++) {
        pixels[i] = (byte) r.nextInt(256);
      }
      input = Tensor.ofBytes(pixels, batch, seq, 3, 2, 2);
    } else {
      int features = 1 + r.nextInt(5);
      float[] x = new float[batch * seq * features];
      for (int i = 0; i < x.length; i++) {
        x[i] = (float) r.nextGaussian();
      }
      input = Tensor.ofFloats(x, batch, seq, features);
    }
    ForwardResult answered =
        Peers.noise(dim, seed).forward(new ForwardRequest(modality, input)).join();
    assertTrue(answered.isSuccess(), answered::toString);
    float[] got = answered.output().orElseThrow().toFloatArray();
    float[] want = referenceNoise(input, dim, seed);
    assertEquals(want.length, got.length, "seed " + seed);
    for (int i = 0; i < want.length; i++) {
      assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]),
          "float " + i + " of " + modality + " " + Arrays.toString(input.shape()) + " (seed "
              + seed + ")");
    }
  }

  /** What the noise peer answered when it was written, plainly: the measure of truth. */
  private static float[] referenceNoise(Tensor input, int dim, long seed) {
    byte[] all = input.toByteArray();
    int batch = input.dim(0);
    int seq = input.dim(1);
    int width = all.length / batch;
    float[] out = new float[batch * seq * dim];
    for (int b = 0; b < batch; b++) {
      long h = seed;
      for (int i = b * width; i < (b + 1) * width; i++) {
        h = Peers.mix(h ^ all[i]);
      }
      SplittableRandom random = new SplittableRandom(h);
      float[] row = new float[dim];
      double norm = 0;
      for (int j = 0; j < dim; j++) {
        row[j] = (float) random.nextGaussian();
        norm += row[j] * row[j];
      }
      Peers.scale(row, norm);
      for (int s = 0; s < seq; s++) {
        System.arraycopy(row, 0, out, (b * seq + s) * dim, dim);
      }
    }
    return out;
  }

  /**
   * The noise peer reads each example's bytes once: answering 8192 examples of one token (64 KiB
   * of input) allocates less than 32 MiB, not a copy of the whole batch per example (512 MiB:
   * it was quadratic in the batch, 0.1 s for 512 examples of 128 tokens and 6.5 s for 4096).
   */
  @Test
  void noiseReadsTheBatchOnceNotOncePerExample() {
    int batch = 8192;
    Tensor ids = Tensor.ofLongs(LongStream.range(0, batch).toArray(), batch, 1);
    Peer noise = Peers.noise(1, 7);
    ForwardRequest request = new ForwardRequest(Modality.TEXT, ids);
    com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean)
        java.lang.management.ManagementFactory.getThreadMXBean();
    long before = threads.getCurrentThreadAllocatedBytes();
    ForwardResult r = noise.forward(request).join();
    long allocated = threads.getCurrentThreadAllocatedBytes() - before;
    assertTrue(r.isSuccess(), r::toString);
    assertTrue(allocated < 32L << 20, "allocated " + allocated + " bytes for " + batch
        + " examples of 8 bytes");
  }

  /**
   * The noise peer takes any modality, a TENSOR of floats too; the bag of words takes TEXT only
   * and refuses the rest by modality, and a TEXT input that breaks the standard by its shape.
   */
  @Test
  void theBaselinesTakeWhatTheyCanReadAndRefuseTheRest() {
    Tensor floats = Tensor.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 1, 3);
    float[] noise = answer(Peers.noise(5, 7), Modality.TENSOR, floats);
    assertFalse(Arrays.equals(at(noise, 1, 0, 0), at(noise, 1, 1, 0)));
    Peer words = Peers.bagOfWords(5, 5, 7);
    assertEquals("bag of words (5 buckets)", words.toString(), "as a neuron names what it serves");
    ForwardResult tensor = words.forward(new ForwardRequest(Modality.TENSOR, floats)).join();
    assertEquals(Status.UNKNOWN_MODALITY, tensor.status());
    assertTrue(tensor.message().contains("takes TEXT, was TENSOR"), tensor.message());
    ForwardResult rank3 = words.forward(new ForwardRequest(Modality.TEXT,
        Tensor.ofLongs(new long[8], 2, 2, 2))).join();
    assertEquals(Status.BAD_SHAPE, rank3.status());
    assertEquals("input.shape", rank3.field());
  }

  /**
   * A request whose answer no tensor holds, TEXT {@code [1, 2^21]} at outputDim 1024 (2^31
   * floats), is refused as too large: its size in {@code int} wrapped, and forward threw
   * NegativeArraySizeException, where a peer answers with a result.
   */
  @Test
  void aRequestWhoseAnswerNoTensorHoldsIsRefusedAsTooLarge() {
    Tensor ids = Tensor.ofLongs(new long[1 << 21], 1, 1 << 21);
    for (Peer peer : new Peer[] {Peers.noise(1024, 1), Peers.bagOfWords(1024, 8, 1)}) {
      ForwardResult r = peer.forward(new ForwardRequest(Modality.TEXT, ids)).join();
      assertEquals(Status.PAYLOAD_TOO_LARGE, r.status(), r::toString);
      assertTrue(r.message().contains("2147483648 floats"), r.message());
    }
  }

  /**
   * An answer is refused exactly where a float tensor could not hold it: past Tensor.MAX_BYTES
   * (where the factories stop, as TensorTest checks), so the two cannot drift apart.
   */
  @Test
  void anAnswerIsRefusedExactlyWhereAFloatTensorCouldNotHoldIt() {
    int most = Tensor.MAX_BYTES / 4;
    Optional<ForwardResult> held = Peers.tooLarge(1, 1, most);
    assertTrue(held.isEmpty(), () -> "refused what a tensor holds: " + held.get().message());
    ForwardResult refused = Peers.tooLarge(1, 1, most + 1).orElseThrow();
    assertEquals(Status.PAYLOAD_TOO_LARGE, refused.status(), refused::toString);
    assertTrue(refused.message().contains("(" + most + ")"), refused.message());
  }
}
