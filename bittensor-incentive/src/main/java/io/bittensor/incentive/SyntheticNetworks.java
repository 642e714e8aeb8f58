package io.bittensor.incentive;

import io.bittensor.incentive.internal.Checks;
import java.util.Arrays;

/**
 * Seeded random networks for benchmarks and experiments, defined precisely enough that any
 * language reproduces them bit for bit (our numpy baseline does, in
 * {@code benchmarks/baselines/paper_step.py}).
 *
 * <pre>{@code
 * NetworkState big = SyntheticNetworks.sparse(1_000_000, 64, 42, true);
 * }</pre>
 *
 * <h2>Definition</h2>
 *
 * <p>{@code mix(x)} is SplitMix64's finaliser over unsigned 64-bit integers:
 * {@code z = x + 0x9E3779B97F4A7C15; z = (z ^ z>>>30) * 0xBF58476D1CE4E5B9;
 * z = (z ^ z>>>27) * 0x94D049BB133111EB; return z ^ z>>>31}. Stream {@code k} of seed {@code s} has
 * key {@code mix(s * 8 + k)}; its value at index {@code x} is {@code h_k(x) = mix(key + x)} and its
 * uniform double {@code u_k(x) = (h_k(x) >>> 11) * 2^-53}.
 *
 * <ul>
 *   <li>Stake: {@code S_i = 1 + 999 u_0(i)}.
 *   <li>Dense weights: {@code w_ij = u_1(i n + j)} when {@code u_2(i n + j) >= 0.5}, else 0.
 *   <li>Sparse weights: row {@code i} draws columns {@code h_3(i K + k) mod n} for
 *       {@code k < K}, sorted, repeats dropped; {@code w_ij = u_1(i n + j)} for each.
 *   <li>Bonds (when asked for): {@code b_ij = 0.001 u_5(i n + j)} wherever {@code w_ij > 0}
 *       (sparse bonds share the weights' pattern, as bonds carried forward do); otherwise zero.
 * </ul>
 *
 * <p>Thread-safe: stateless.
 */
public final class SyntheticNetworks {
  private SyntheticNetworks() {}

  /** SplitMix64's finaliser. */
  static long mix(long x) {
    long z = x + 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  private static long key(long seed, int stream) {
    return mix(seed * 8 + stream);
  }

  private static double uniform(long key, long index) {
    return (mix(key + index) >>> 11) * 0x1.0p-53;
  }

  /** Row {@code i}'s distinct sorted columns into {@code drawn[0 .. count)}; returns the count. */
  private static int drawRow(long k3, int i, int n, int perRow, long[] drawn) {
    for (int k = 0; k < perRow; k++) {
      drawn[k] = Long.remainderUnsigned(mix(k3 + (long) i * perRow + k), n);
    }
    Arrays.sort(drawn);
    int count = 0;
    for (int k = 0; k < perRow; k++) {
      if (k == 0 || drawn[k] != drawn[k - 1]) {
        drawn[count++] = drawn[k];
      }
    }
    return count;
  }

  private static PeerVector stake(int n, long seed) {
    long k0 = key(seed, 0);
    double[] stake = new double[n];
    for (int i = 0; i < n; i++) {
      stake[i] = 1 + 999 * uniform(k0, i);
    }
    return PeerVector.adopt(stake);
  }

  /**
   * A dense network: about half the weights non-zero.
   *
   * @param n peers, in {@code [1, DenseMatrix.MAX_SIZE]}
   * @param seed any value
   * @param withBonds give bonds where weights are non-zero (else bonds are zero)
   */
  public static NetworkState dense(int n, long seed, boolean withBonds) {
    Checks.require(n >= 1 && n <= DenseMatrix.MAX_SIZE, "n must be in [1, %d], was %d",
        DenseMatrix.MAX_SIZE, n);
    long k1 = key(seed, 1), k2 = key(seed, 2), k5 = key(seed, 5);
    double[] w = new double[n * n];
    double[] b = withBonds ? new double[n * n] : null;
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        long x = (long) i * n + j;
        if (uniform(k2, x) >= 0.5) {
          w[(int) x] = uniform(k1, x);
          if (b != null && w[(int) x] > 0) {
            b[(int) x] = 0.001 * uniform(k5, x);
          }
        }
      }
    }
    PeerMatrix bonds = b == null ? PeerMatrix.zeros(n) : DenseMatrix.adopt(n, b);
    return new NetworkState(stake(n, seed), DenseMatrix.adopt(n, w), bonds);
  }

  /**
   * A sparse network: each peer votes for up to {@code perRow} random peers.
   *
   * @param n peers, {@code >= 1}
   * @param perRow columns drawn per row, in {@code [1, n]}
   * @param seed any value
   * @param withBonds give bonds on the weights' pattern (else bonds are zero)
   */
  public static NetworkState sparse(int n, int perRow, long seed, boolean withBonds) {
    Checks.require(n >= 1, "n must be >= 1, was %d", n);
    Checks.require(perRow >= 1 && perRow <= n, "perRow must be in [1, n=%d], was %d", n, perRow);
    long capacity = (long) n * perRow;
    Checks.require(capacity <= Integer.MAX_VALUE - 8, "n * perRow must fit an int, was %d",
        capacity);
    long k1 = key(seed, 1), k3 = key(seed, 3), k5 = key(seed, 5);
    // Two passes (count, then fill) so the arrays are allocated once at their exact size.
    int[] rowPtr = new int[n + 1];
    long[] drawn = new long[perRow];
    for (int i = 0; i < n; i++) {
      rowPtr[i + 1] = rowPtr[i] + drawRow(k3, i, n, perRow, drawn);
    }
    int size = rowPtr[n];
    int[] cols = new int[size];
    double[] w = new double[size];
    for (int i = 0; i < n; i++) {
      int count = drawRow(k3, i, n, perRow, drawn);
      for (int k = 0, o = rowPtr[i]; k < count; k++, o++) {
        cols[o] = (int) drawn[k];
        w[o] = uniform(k1, (long) i * n + cols[o]);
      }
    }
    CsrMatrix weights = CsrMatrix.adopt(n, rowPtr, cols, w);
    PeerMatrix bonds = PeerMatrix.zeros(n);
    if (withBonds) {
      double[] b = new double[size];
      for (int i = 0; i < n; i++) {
        for (int k = rowPtr[i]; k < rowPtr[i + 1]; k++) {
          b[k] = w[k] > 0 ? 0.001 * uniform(k5, (long) i * n + cols[k]) : 0.0;
        }
      }
      bonds = weights.withValues(b);
    }
    return new NetworkState(stake(n, seed), weights, bonds);
  }
}
