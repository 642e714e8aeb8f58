package io.bittensor.neuron;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.ForwardRequest;
import io.bittensor.core.Modality;
import io.bittensor.core.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The bag-of-words features are what the bag-of-words peer answers, one row per example. */
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
}
