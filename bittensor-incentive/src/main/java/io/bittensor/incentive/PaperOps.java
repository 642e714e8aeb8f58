package io.bittensor.incentive;

/**
 * The paper's formulas as allocation-free static operations on arrays, for research code that
 * wants one step of the mechanism on its own data (the layer under {@link PaperMechanism}).
 *
 * <pre>{@code
 * int n = 64;
 * double[] stake = new double[n], weights = new double[n * n];   // the network's
 * double[] s = new double[n], r = new double[n], t = new double[n], c = new double[n];
 * PaperOps.normalize(stake, s);
 * PaperOps.ranksDense(n, weights, s, r);      // weights row-major, n * n
 * PaperOps.trustDense(n, weights, s, t);
 * PaperOps.consensus(t, 10, 0.5, c);
 * double loss = PaperOps.loss(r, c);
 * }</pre>
 *
 * <p>Dense matrices are row-major {@code double[n * n]}; sparse ones are CSR arrays
 * ({@code rowPtr}, {@code cols}, {@code vals}). Inputs are not modified; outputs are written into
 * the {@code out} arrays the caller passes (overwritten, not accumulated). Nothing is validated:
 * these are the raw formulas; {@link PaperMechanism} validates. Thread-safe: stateless.
 */
public final class PaperOps {
  private PaperOps() {}

  /**
   * {@code out = v / sum(v)}.
   *
   * @param v not modified
   * @param out overwritten; may be {@code v} itself
   * @return {@code sum(v)}; when it is zero {@code out} is all zero; when it overflows a double
   *     ({@code Infinity}), {@code out} still holds the shares
   */
  public static double normalize(double[] v, double[] out) {
    double sum = 0;
    for (double x : v) {
      sum += x;
    }
    if (sum == 0) {
      java.util.Arrays.fill(out, 0, v.length, 0.0);
      return 0;
    }
    if (sum == Double.POSITIVE_INFINITY) {
      // Finite entries whose sum overflows: divided by it, all would be 0. Their shares are
      // those of v scaled by a power of two (exactly), its largest entry into [1, 2).
      double max = 0;
      for (double x : v) {
        max = Math.max(max, x);
      }
      double scale = Math.scalb(1.0, -Math.getExponent(max));
      double scaledSum = 0;
      for (double x : v) {
        scaledSum += x * scale;
      }
      for (int i = 0; i < v.length; i++) {
        out[i] = v[i] * scale / scaledSum;
      }
      return sum;
    }
    for (int i = 0; i < v.length; i++) {
      out[i] = v[i] / sum;
    }
    return sum;
  }

  /** Ranks {@code r_j = sum_i w_ij s_i} of a dense row-major {@code n x n} matrix. */
  public static void ranksDense(int n, double[] w, double[] s, double[] out) {
    java.util.Arrays.fill(out, 0, n, 0.0);
    for (int i = 0; i < n; i++) {
      double si = s[i];
      for (int j = 0, base = i * n; j < n; j++) {
        out[j] += w[base + j] * si;
      }
    }
  }

  /** Ranks {@code r_j = sum_i w_ij s_i} of a CSR matrix. */
  public static void ranksCsr(
      int n, int[] rowPtr, int[] cols, double[] vals, double[] s, double[] out) {
    java.util.Arrays.fill(out, 0, n, 0.0);
    for (int i = 0; i < n; i++) {
      double si = s[i];
      for (int k = rowPtr[i]; k < rowPtr[i + 1]; k++) {
        out[cols[k]] += vals[k] * si;
      }
    }
  }

  /** Trust {@code t_j = sum_i [w_ij > 0] s_i} of a dense row-major {@code n x n} matrix. */
  public static void trustDense(int n, double[] w, double[] s, double[] out) {
    java.util.Arrays.fill(out, 0, n, 0.0);
    for (int i = 0; i < n; i++) {
      double si = s[i];
      for (int j = 0, base = i * n; j < n; j++) {
        if (w[base + j] > 0) {
          out[j] += si;
        }
      }
    }
  }

  /** Trust {@code t_j = sum_i [w_ij > 0] s_i} of a CSR matrix (explicit zeros are no edge). */
  public static void trustCsr(
      int n, int[] rowPtr, int[] cols, double[] vals, double[] s, double[] out) {
    java.util.Arrays.fill(out, 0, n, 0.0);
    for (int i = 0; i < n; i++) {
      double si = s[i];
      for (int k = rowPtr[i]; k < rowPtr[i + 1]; k++) {
        if (vals[k] > 0) {
          out[cols[k]] += si;
        }
      }
    }
  }

  /** The logistic function {@code 1 / (1 + e^-x)}, computed without overflow for any finite x. */
  public static double sigmoid(double x) {
    if (x >= 0) {
      return 1.0 / (1.0 + Math.exp(-x));
    }
    double e = Math.exp(x);
    return e / (1.0 + e);
  }

  /** Consensus {@code c_j = sigmoid(rho (t_j - kappa))}. */
  public static void consensus(double[] trust, double rho, double kappa, double[] out) {
    for (int j = 0; j < trust.length; j++) {
      out[j] = sigmoid(rho * (trust[j] - kappa));
    }
  }

  /**
   * Incentive {@code I = R*C / sum(R*C)}.
   *
   * @return {@code sum(R*C)}; when it is zero {@code out} is all zero (nothing to reward)
   */
  public static double incentive(double[] ranks, double[] consensus, double[] out) {
    double sum = 0;
    for (int j = 0; j < ranks.length; j++) {
      double rc = ranks[j] * consensus[j];
      out[j] = rc;
      sum += rc;
    }
    if (sum > 0) {
      for (int j = 0; j < ranks.length; j++) {
        out[j] /= sum;
      }
    } else {
      java.util.Arrays.fill(out, 0, ranks.length, 0.0);
    }
    return sum;
  }

  /** The chain's loss {@code L = -R . (C - 0.5)}; negative when rank flows to trusted peers. */
  public static double loss(double[] ranks, double[] consensus) {
    double dot = 0;
    for (int j = 0; j < ranks.length; j++) {
      dot += ranks[j] * (consensus[j] - 0.5);
    }
    return 0.0 - dot; // not -dot: no negative zero when nothing is ranked
  }

  /**
   * Column sums of a dense row-major {@code n x n} matrix.
   *
   * @param out overwritten with {@code n} sums
   */
  public static void columnSumsDense(int n, double[] m, double[] out) {
    java.util.Arrays.fill(out, 0, n, 0.0);
    for (int i = 0; i < n; i++) {
      for (int j = 0, base = i * n; j < n; j++) {
        out[j] += m[base + j];
      }
    }
  }

  /**
   * The incentive one unit of bond in each peer earns: {@code q_j = I_j / colsum_j}, zero where
   * the column sums to zero. With {@code beta = B / colsum(B)}, {@code beta I = B q}.
   *
   * @param out overwritten with {@code n} values
   */
  public static void perUnitBond(double[] columnSums, double[] incentive, double[] out) {
    for (int j = 0; j < incentive.length; j++) {
      double c = columnSums[j];
      out[j] = c > 0 ? incentive[j] / c : 0.0;
    }
  }

  /**
   * Dividends {@code d_i = sum_j b_ij q_j} of a dense row-major {@code n x n} bond matrix, with
   * {@code q} from {@link #perUnitBond}: each peer's share of the others' incentive.
   */
  public static void dividendsDense(int n, double[] bonds, double[] perUnitBond, double[] out) {
    for (int i = 0; i < n; i++) {
      double d = 0;
      for (int j = 0, base = i * n; j < n; j++) {
        d += bonds[base + j] * perUnitBond[j];
      }
      out[i] = d;
    }
  }

  /** As {@link #dividendsDense}, for a CSR bond matrix. */
  public static void dividendsCsr(
      int n, int[] rowPtr, int[] cols, double[] bonds, double[] perUnitBond, double[] out) {
    for (int i = 0; i < n; i++) {
      double d = 0;
      for (int k = rowPtr[i]; k < rowPtr[i + 1]; k++) {
        d += bonds[k] * perUnitBond[cols[k]];
      }
      out[i] = d;
    }
  }
}
