package io.bittensor.learning.internal;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;

/**
 * Optimal Brain Surgeon removal costs (Hassibi and Stork, 1993) over unit multipliers: the
 * increase of the quadratic loss {@code 1/2 delta^T A delta} when multiplier {@code q} goes from
 * 1 to 0 and every other multiplier moves to make up for it as well as it can, {@code
 * min 1/2 delta^T A delta subject to delta_q = -1}, which is {@code 1 / (2 [A^-1]_qq)}.
 *
 * <p>{@code A} is the Fisher matrix {@code F} with relative damping on its diagonal, {@code A =
 * F + damping diag(F)}: a cost then does not change when one multiplier's scale does, and for a
 * diagonal {@code F} it is {@code (1 + damping) F_qq / 2}, the uncompensated score up to a common
 * factor. Coordinates whose diagonal is 0 (never seen to matter) cost 0 and are left out of the
 * solve.
 *
 * <p>Internal: users must not import it.
 */
public final class BrainSurgeon {
  private BrainSurgeon() {}

  /**
   * The removal cost of each coordinate.
   *
   * @param fisher a symmetric positive semi-definite matrix, row-major {@code [n][n]}; not modified
   * @param n its size
   * @param damping the relative damping on the diagonal, {@code > 0}
   * @return a new array of {@code n} costs, each {@code >= 0}
   * @throws IllegalArgumentException if the sizes do not match, the damping is not positive, an
   *     entry is not finite, or a diagonal entry is negative
   */
  public static double[] removalCosts(double[] fisher, int n, double damping) {
    if (fisher.length != n * n) {
      throw new IllegalArgumentException("fisher must hold " + n + " x " + n + " entries, had "
          + fisher.length);
    }
    Checks.positive(damping, "damping");
    int[] active = new int[n];
    int m = 0;
    for (int j = 0; j < n; j++) {
      double d = fisher[j * n + j];
      if (!(d >= 0) || !Double.isFinite(d)) {
        throw new IllegalArgumentException("fisher[" + j + "][" + j
            + "] must be finite and >= 0, was " + d);
      }
      if (d > 0) {
        active[m++] = j;
      }
    }
    for (int i = 0; i < fisher.length; i++) {
      if (!Double.isFinite(fisher[i])) {
        throw new IllegalArgumentException("fisher[" + i / n + "][" + i % n
            + "] must be finite, was " + fisher[i]);
      }
    }
    double[] cost = new double[n];
    if (m == 0) {
      return cost;
    }
    DMatrixRMaj a = new DMatrixRMaj(m, m);
    for (int r = 0; r < m; r++) {
      for (int c = 0; c < m; c++) {
        // Symmetrised: a moving average in floating point may differ in the last bits.
        double v = 0.5 * (fisher[active[r] * n + active[c]] + fisher[active[c] * n + active[r]]);
        a.set(r, c, r == c ? v * (1 + damping) : v);
      }
    }
    DMatrixRMaj inverse = new DMatrixRMaj(m, m);
    if (!CommonOps_DDRM.invertSPD(a, inverse)) {
      throw new IllegalArgumentException("the damped Fisher matrix is not positive definite:"
          + " fisher must be positive semi-definite");
    }
    for (int r = 0; r < m; r++) {
      cost[active[r]] = 0.5 / inverse.get(r, r);
    }
    return cost;
  }
}
