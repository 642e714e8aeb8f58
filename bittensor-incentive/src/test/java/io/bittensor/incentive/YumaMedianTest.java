package io.bittensor.incentive;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The stake-weighted median against a literal restatement of the chain's pivot search
 * ({@code weighted_median} in math.rs): ours sorts instead of partitioning, which must give the
 * same value whenever sums are exact (always in fixed point).
 */
class YumaMedianTest {

  static long[] seeds() {
    return java.util.stream.LongStream.range(0, 40).map(i -> 0x3ED1A4L + i).toArray();
  }

  /** The chain's recursion, step for step: mid pivot, lower and upper partitions in order. */
  private static long chainMedian(
      long[] stake, long[] score, List<Integer> partition, long minority, long lo, long hi) {
    int n = partition.size();
    if (n == 0) {
      return 0;
    }
    if (n == 1) {
      return score[partition.get(0)];
    }
    long pivot = score[partition.get(n / 2)];
    long loStake = 0;
    long hiStake = 0;
    List<Integer> lower = new ArrayList<>();
    List<Integer> upper = new ArrayList<>();
    for (int idx : partition) {
      if (score[idx] == pivot) {
        continue;
      }
      if (score[idx] < pivot) {
        loStake = I32F32.add(loStake, stake[idx]);
        lower.add(idx);
      } else {
        hiStake = I32F32.add(hiStake, stake[idx]);
        upper.add(idx);
      }
    }
    if (I32F32.add(lo, loStake) <= minority && minority < I32F32.sub(hi, hiStake)) {
      return pivot;
    } else if (minority < I32F32.add(lo, loStake) && !lower.isEmpty()) {
      return chainMedian(stake, score, lower, minority, lo, I32F32.add(lo, loStake));
    } else if (I32F32.sub(hi, hiStake) <= minority && !upper.isEmpty()) {
      return chainMedian(stake, score, upper, minority, I32F32.sub(hi, hiStake), hi);
    }
    return pivot;
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void sortingFindsWhatThePivotSearchFinds(long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    for (int t = 0; t < 200; t++) {
      int n = random.nextInt(1, 30);
      long[] stake = new long[n];
      long[] score = new long[n];
      int levels = random.nextInt(1, 8); // few distinct scores: many ties
      for (int i = 0; i < n; i++) {
        stake[i] = random.nextInt(4) == 0 ? 0 : random.nextLong(1, I32F32.ONE);
        score[i] = random.nextInt(levels) * (I32F32.ONE / levels);
      }
      YumaFixedKernel.normalize(stake);
      long total = YumaFixedKernel.sum(stake);
      long minority = switch (random.nextInt(4)) {
        case 0 -> -random.nextLong(1, I32F32.ONE);          // majority above everything
        case 1 -> total + random.nextLong(0, I32F32.ONE);   // majority of nothing
        default -> random.nextLong(0, total + 1);
      };
      List<Integer> all = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        all.add(i);
      }
      long expected = chainMedian(stake, score, all, minority, 0, total);
      assertEquals(expected, YumaFixedKernel.weightedMedian(stake, score, n, minority),
          "seed " + seed + ", case " + t);
      double[] s = new double[n];
      double[] x = new double[n];
      for (int i = 0; i < n; i++) {
        s[i] = I32F32.toDouble(stake[i]); // multiples of 2^-32: double sums stay exact
        x[i] = I32F32.toDouble(score[i]);
      }
      assertEquals(I32F32.toDouble(expected),
          YumaFloatKernel.weightedMedian(s, x, n, I32F32.toDouble(minority)), 0.0,
          "seed " + seed + ", case " + t + " (float64)");
    }
  }

  @Test
  void noScoresGiveZero() {
    assertEquals(0, YumaFixedKernel.weightedMedian(new long[0], new long[0], 0, 0));
    assertEquals(0.0, YumaFloatKernel.weightedMedian(new double[0], new double[0], 0, 0), 0.0);
  }

  @Test
  void aMajorityAtTheTopTakesTheLargestScoreItWeightsAtLeast() {
    // Stake 0.6 says 0.9, stake 0.4 says 0.1: with kappa = 0.5 the median is 0.9.
    double[] stake = {0.6, 0.4};
    double[] score = {0.9, 0.1};
    assertEquals(0.9, YumaFloatKernel.weightedMedian(stake, score, 2, 1 - 0.5), 0.0);
    // With the 0.4 on the high side, the majority's 0.1 wins.
    assertEquals(0.1, YumaFloatKernel.weightedMedian(new double[] {0.4, 0.6}, score, 2, 0.5),
        0.0);
  }
}
