package io.bittensor.incentive;

import java.util.SplittableRandom;
import java.util.stream.LongStream;

/**
 * Seeded random {@link YumaState}s for property tests, with the cases the chain's bookkeeping
 * creates: zero stake, empty rows, self-weights, peers without permits, stale peers (inactive),
 * weights set before their target registered, bonds to peers registered within the last tempo.
 * Each state is reproducible from its seed, which tests print on failure.
 */
final class YumaStates {
  /** The block random states run at: well past the tempo and the activity cutoff. */
  static final long BLOCK = 100_000;

  private YumaStates() {}

  /** {@code count} fixed seeds. */
  static LongStream seeds(int count) {
    return LongStream.range(0, count).map(i -> 0x7A3A_5EEDL + 7919 * i);
  }

  /**
   * A random state of {@code n} peers, in sparse or dense form, its stakes distinct (no ties for
   * validator permits), some stake always.
   */
  static YumaState random(long seed, int n, boolean sparse) {
    SplittableRandom random = new SplittableRandom(seed);
    double[] stake = new double[n];
    for (int i = 0; i < n; i++) {
      stake[i] = random.nextInt(5) == 0 ? 0 : 1 + 999 * random.nextDouble();
    }
    stake[random.nextInt(n)] = 1000 + random.nextDouble();
    double density = 0.2 + 0.8 * random.nextDouble();
    double[][] w = new double[n][n];
    double[][] b = new double[n][n];
    boolean withBonds = random.nextBoolean();
    for (int i = 0; i < n; i++) {
      boolean emptyRow = random.nextInt(6) == 0;
      for (int j = 0; j < n; j++) {
        if (!emptyRow && random.nextDouble() < density) {
          w[i][j] = 0.05 + random.nextDouble();
        }
        if (withBonds && random.nextDouble() < density * 0.7) {
          b[i][j] = random.nextDouble();
        }
      }
    }
    long[] lastUpdate = new long[n];
    long[] registeredAt = new long[n];
    boolean[] permits = new boolean[n];
    for (int i = 0; i < n; i++) {
      int kind = random.nextInt(10);
      lastUpdate[i] = kind == 0 ? BLOCK - 6000 : BLOCK - random.nextInt(100); // 0: inactive
      registeredAt[i] = kind == 1 ? BLOCK - 50 : random.nextInt(1000); // 1: recently registered
      permits[i] = random.nextInt(7) != 0;
    }
    PeerMatrix weights = sparse ? DenseMatrix.of(w).toCsr() : DenseMatrix.of(w);
    PeerMatrix bonds = sparse ? DenseMatrix.of(b).toCsr() : DenseMatrix.of(b);
    return new YumaState(new NetworkState(PeerVector.of(stake), weights, bonds), BLOCK,
        lastUpdate, registeredAt, permits);
  }

  /** One of the four bond paths (classic or Yuma 3, liquid alpha or not), by {@code variant}. */
  static YumaParams params(int variant, YumaParams.Precision precision) {
    return YumaParams.defaults()
        .withYuma3((variant & 1) != 0)
        .withLiquidAlpha((variant & 2) != 0)
        .withMaxAllowedValidators(8 + variant)
        .withTau(1e9)
        .withPrecision(precision);
  }

  /** The same state with uids relabelled: peer {@code i} becomes peer {@code perm[i]}. */
  static YumaState permute(YumaState s, int[] perm) {
    int n = s.size();
    double[] stake = new double[n];
    double[][] w = new double[n][n];
    double[][] b = new double[n][n];
    long[] lastUpdate = new long[n];
    long[] registeredAt = new long[n];
    boolean[] permits = new boolean[n];
    double[][] w0 = s.network().weights().toArray();
    double[][] b0 = s.network().bonds().toArray();
    for (int i = 0; i < n; i++) {
      stake[perm[i]] = s.network().stake().get(i);
      lastUpdate[perm[i]] = s.lastUpdate()[i];
      registeredAt[perm[i]] = s.registeredAt()[i];
      permits[perm[i]] = s.validatorPermit(i);
      for (int j = 0; j < n; j++) {
        w[perm[i]][perm[j]] = w0[i][j];
        b[perm[i]][perm[j]] = b0[i][j];
      }
    }
    return new YumaState(new NetworkState(PeerVector.of(stake), DenseMatrix.of(w),
        DenseMatrix.of(b)), s.currentBlock(), lastUpdate, registeredAt, permits);
  }
}
