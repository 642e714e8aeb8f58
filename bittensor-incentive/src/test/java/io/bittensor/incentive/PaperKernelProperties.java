package io.bittensor.incentive;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.bittensor.incentive.testing.RandomNetworks;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The dense first pass against a plain scalar restatement of its summation order, bit for bit:
 * the kernel's loop shapes (row buffers, split loops) are free to change for speed, its numbers
 * are not. {@code assertArrayEquals} without a tolerance compares the bits, so {@code -0.0} and
 * {@code 0.0} differ too.
 */
class PaperKernelProperties {

  static LongStream seeds() {
    return RandomNetworks.seeds(200);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void denseFirstPassMatchesAPlainLoopBitForBit(long seed) {
    SplittableRandom random = new SplittableRandom(seed ^ 0x6B65726EL);
    int n = 1 + random.nextInt(40);
    NetworkState state = RandomNetworks.network(seed, n, false);
    PeerMatrix bonds = random.nextBoolean() ? state.bonds() : state.bonds().toCsr();
    boolean normalize = random.nextBoolean();
    boolean mask = random.nextBoolean();
    double[] s = new double[n];
    PaperOps.normalize(state.stake().toArray(), s);
    double[] w = state.weights().toDense().toRowMajor();
    double[] b = bonds.toDense().toRowMajor();

    // Half the time the new bonds overwrite the old ones in place (a copy: b stays the input).
    boolean inPlace = bonds instanceof DenseMatrix && random.nextBoolean();
    double[] out = new double[n * n];
    if (inPlace) {
      out = b.clone();
      bonds = DenseMatrix.adopt(n, out);
    }
    PaperKernel.Pass pass =
        PaperKernel.dense(state.weights().toDense(), bonds, s, normalize, mask, null, out);
    double[][] expected = reference(n, w, b, s, normalize, mask);

    String at = "seed " + seed + " (n=" + n + ", normalize=" + normalize + ", mask=" + mask
        + ", in place=" + inPlace + "): ";
    assertArrayEquals(expected[0], pass.ranks(), at + "ranks");
    assertArrayEquals(expected[1], pass.trust(), at + "trust");
    assertArrayEquals(expected[2], pass.bondColumnSums(), at + "bond column sums");
    assertArrayEquals(expected[3], pass.bonds().toDense().toRowMajor(), at + "bonds");
  }

  /**
   * The order the kernel promises: rows in {@link PaperKernel#DENSE_BLOCKS} fixed blocks, each
   * summing its rows in order into its own accumulators, merged block by block; a row's sum in
   * four lanes, either side of the diagonal when it is masked.
   */
  private static double[][] reference(
      int n, double[] w, double[] b, double[] s, boolean normalize, boolean mask) {
    int blocks = Math.min(PaperKernel.DENSE_BLOCKS, n);
    double[] ranks = new double[n];
    double[] trust = new double[n];
    double[] colSums = new double[n];
    double[] out = b.clone();
    for (int block = 0; block < blocks; block++) {
      double[] r = new double[n];
      double[] t = new double[n];
      double[] c = new double[n];
      for (int i = n * block / blocks; i < n * (block + 1) / blocks; i++) {
        double si = s[i];
        double rowSum = 0;
        if (normalize && si != 0) {
          rowSum = mask
              ? fourLanes(w, i * n, 0, i) + fourLanes(w, i * n, i + 1, n)
              : fourLanes(w, i * n, 0, n);
        }
        double f = !normalize ? si : rowSum > 0 ? si / rowSum : 0.0;
        for (int j = 0; j < n; j++) {
          int k = i * n + j;
          if (si != 0 && !(mask && j == i)) {
            double x = f * w[k];
            r[j] += x;
            out[k] = b[k] + x;
            t[j] += w[k] > 0 ? si : 0.0;
          }
          c[j] += out[k];
        }
      }
      for (int j = 0; j < n; j++) {
        ranks[j] = block == 0 ? r[j] : ranks[j] + r[j];
        trust[j] = block == 0 ? t[j] : trust[j] + t[j];
        colSums[j] = block == 0 ? c[j] : colSums[j] + c[j];
      }
    }
    return new double[][] {ranks, trust, colSums, out};
  }

  private static double fourLanes(double[] w, int base, int from, int to) {
    double[] lane = new double[4];
    int j = from;
    for (; j + 3 < to; j += 4) {
      for (int l = 0; l < 4; l++) {
        lane[l] += w[base + j + l];
      }
    }
    for (; j < to; j++) {
      lane[0] += w[base + j];
    }
    return (lane[0] + lane[1]) + (lane[2] + lane[3]);
  }
}
