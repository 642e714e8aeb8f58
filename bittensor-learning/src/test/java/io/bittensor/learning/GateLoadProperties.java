package io.bittensor.learning;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The load the gate balances, against Shazeer et al.'s definition written out plainly: for each
 * example and peer, the chance that the peer stays among the top k when its own noise is drawn
 * again and every other noisy logit is kept, {@code Phi((clean_j - kthLargestOfOthers) /
 * std_j)}, summed over the batch. The gate finds the threshold from its top k (the last routed
 * peer, or the best unrouted one); this finds it by sorting the others.
 */
class GateLoadProperties {

  static LongStream seeds() {
    return LongStream.range(0, 200).map(i -> 0x10ADL * 7919 + i);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void loadIsEachPeersChanceOfStayingInTheTopKSummedOverTheBatch(long seed) {
    Random r = new Random(seed);
    int n = 2 + r.nextInt(9);
    boolean[] excluded = null;
    int routable = n;
    if (r.nextBoolean()) {
      excluded = new boolean[n];
      for (int j = 0; j < n; j++) {
        excluded[j] = r.nextInt(4) == 0;
      }
      excluded[r.nextInt(n)] = false;
      routable = 0;
      for (boolean e : excluded) {
        routable += e ? 0 : 1;
      }
      if (routable < 2) {
        excluded = null;
        routable = n;
      }
    }
    int k = 1 + r.nextInt(routable - 1);
    int batch = 1 + r.nextInt(6);
    float[] clean = new float[batch * n];
    float[] std = new float[batch * n];
    float[] h = new float[batch * n];
    for (int i = 0; i < h.length; i++) {
      clean[i] = (float) r.nextGaussian();
      std[i] = (float) (0.05 + r.nextDouble());
      h[i] = clean[i] + (float) r.nextGaussian() * std[i];
    }
    int[][] sel = NoisyTopKGate.topK(h, batch, n, k, excluded);

    double[] z = new double[batch * n];
    int[] threshold = new int[batch * n];
    double[] load = NoisyTopKGate.load(batch, n, k, clean, h, std, sel, excluded, z, threshold);

    double[] expected = new double[n];
    for (int b = 0; b < batch; b++) {
      for (int j = 0; j < n; j++) {
        if (excluded != null && excluded[j]) {
          continue;
        }
        double kthOfOthers = kthLargestOfOthers(h, b, n, j, k, excluded);
        int i = b * n + j;
        // In float, as the logits are: the gate's arithmetic to the bit.
        double expectedZ = (clean[i] - (float) kthOfOthers) / std[i];
        assertEquals(expectedZ, z[i], 0.0, "seed " + seed + ": z of peer " + j + " in " + b);
        assertEquals(kthOfOthers, h[b * n + threshold[i]], 0.0, "seed " + seed + ": threshold");
        expected[j] += NnOps.normalCdf(expectedZ);
      }
    }
    for (int j = 0; j < n; j++) {
      assertEquals(expected[j], load[j], 1e-12, "seed " + seed + " (n=" + n + ", k=" + k
          + ", excluded " + Arrays.toString(excluded) + "): load of " + j);
    }
  }

  /** The k-th largest noisy logit of example {@code b} among the peers other than {@code j}. */
  private static double kthLargestOfOthers(float[] h, int b, int n, int j, int k,
      boolean[] excluded) {
    double[] others = new double[n];
    int m = 0;
    for (int o = 0; o < n; o++) {
      if (o != j && !(excluded != null && excluded[o])) {
        others[m++] = h[b * n + o];
      }
    }
    double[] sorted = Arrays.copyOf(others, m);
    Arrays.sort(sorted);
    return sorted[m - k];
  }
}
