package io.bittensor.incentive.testing;

import io.bittensor.incentive.CsrMatrix;
import io.bittensor.incentive.DenseMatrix;
import io.bittensor.incentive.NetworkState;
import io.bittensor.incentive.PeerMatrix;
import io.bittensor.incentive.PeerVector;
import java.util.SplittableRandom;
import java.util.stream.LongStream;

/**
 * Seeded generators of networks for property tests, with the awkward cases the mechanism must
 * survive: zero-stake peers, empty weight rows, self-votes, isolated peers, prior bonds, tiny and
 * huge magnitudes. Each case is reproducible from its seed, which tests print on failure.
 *
 * <p>Shared with other modules' tests through this module's test-jar.
 */
public final class RandomNetworks {
  private RandomNetworks() {}

  /** The seeds property tests run over: {@code count} fixed values. */
  public static LongStream seeds(int count) {
    return LongStream.range(0, count).map(i -> 0x5EEDL * 1_000_003L + i);
  }

  /** A random network of 1 to {@code maxPeers} peers, with stake on at least one peer. */
  public static NetworkState network(long seed, int maxPeers) {
    SplittableRandom random = new SplittableRandom(seed);
    int n = 1 + random.nextInt(maxPeers);
    return network(random, n, random.nextBoolean());
  }

  /** A random network of exactly {@code n} peers in the given form. */
  public static NetworkState network(long seed, int n, boolean sparse) {
    return network(new SplittableRandom(seed), n, sparse);
  }

  private static NetworkState network(SplittableRandom random, int n, boolean sparse) {
    double magnitude = Math.pow(10, random.nextInt(-6, 7));
    double[] stake = new double[n];
    double zeroStake = random.nextDouble() * 0.4;
    for (int i = 0; i < n; i++) {
      stake[i] = random.nextDouble() < zeroStake ? 0 : magnitude * random.nextDouble(0.01, 1);
    }
    stake[random.nextInt(n)] = magnitude; // some stake, always
    double density = random.nextDouble();
    double emptyRows = random.nextDouble() * 0.3;
    double[][] w = new double[n][n];
    for (int i = 0; i < n; i++) {
      if (random.nextDouble() < emptyRows) {
        continue;
      }
      for (int j = 0; j < n; j++) {
        if (random.nextDouble() < density) {
          w[i][j] = random.nextDouble() < 0.1 ? 0.0 : random.nextDouble() * 5;
        }
      }
    }
    double[][] b = new double[n][n];
    if (random.nextBoolean()) {
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
          if (random.nextDouble() < density * 0.7) {
            b[i][j] = random.nextDouble();
          }
        }
      }
    }
    PeerMatrix weights = DenseMatrix.of(w);
    PeerMatrix bonds = DenseMatrix.of(b);
    if (sparse) {
      weights = sparseWithExplicitZeros(w, random);
      bonds = bonds.toCsr();
    }
    return new NetworkState(PeerVector.of(stake), weights, bonds);
  }

  /** The sparse form, sometimes storing explicit zeros (which must count as no edge). */
  private static CsrMatrix sparseWithExplicitZeros(double[][] w, SplittableRandom random) {
    int n = w.length;
    CsrMatrix.Builder builder = CsrMatrix.builder(n);
    int[] cols = new int[n];
    double[] vals = new double[n];
    for (int i = 0; i < n; i++) {
      int k = 0;
      for (int j = 0; j < n; j++) {
        if (w[i][j] != 0 || random.nextDouble() < 0.05) {
          cols[k] = j;
          vals[k++] = w[i][j];
        }
      }
      builder.row(i, java.util.Arrays.copyOf(cols, k), java.util.Arrays.copyOf(vals, k));
    }
    return builder.build();
  }

  /** The same network relabelled: peer {@code i} becomes peer {@code perm[i]}. */
  public static NetworkState permute(NetworkState state, int[] perm) {
    int n = state.size();
    double[] stake = new double[n];
    double[][] w = new double[n][n];
    double[][] b = new double[n][n];
    for (int i = 0; i < n; i++) {
      stake[perm[i]] = state.stake().get(i);
      for (int j = 0; j < n; j++) {
        w[perm[i]][perm[j]] = state.weights().get(i, j);
        b[perm[i]][perm[j]] = state.bonds().get(i, j);
      }
    }
    return new NetworkState(PeerVector.of(stake), DenseMatrix.of(w), DenseMatrix.of(b));
  }

  /** A random permutation of {@code 0..n-1}. */
  public static int[] permutation(long seed, int n) {
    SplittableRandom random = new SplittableRandom(seed ^ 0x9E3779B97F4A7C15L);
    int[] perm = new int[n];
    for (int i = 0; i < n; i++) {
      perm[i] = i;
    }
    for (int i = n - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    return perm;
  }
}
