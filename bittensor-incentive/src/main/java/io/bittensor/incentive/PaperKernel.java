package io.bittensor.incentive;

import java.util.Arrays;
import java.util.concurrent.Executor;

/**
 * The fused first pass of the paper's epoch: one sweep over the weights (and bonds) yields the
 * ranks, the trust, the new bonds and their column sums; a second sweep over the new bonds yields
 * the dividends. Dense and sparse forms agree to about 1e-15 (they sum in different orders).
 */
final class PaperKernel {
  private PaperKernel() {}

  /** What the first pass computed. */
  record Pass(double[] ranks, double[] trust, double[] bondColumnSums, PeerMatrix bonds) {}

  /**
   * The factor that turns row {@code i}'s raw weights into stake-weighted votes:
   * {@code s_i / rowSum} when rows are normalised (zero for an empty row), else {@code s_i}.
   */
  private static double rowFactor(double si, double rowSum, boolean normalize) {
    if (!normalize) {
      return si;
    }
    return rowSum > 0 ? si / rowSum : 0.0;
  }

  /**
   * Whether a row must be scaled before it is normalised: its sum overflows (the factor would be
   * 0 and its votes lost), or {@code s_i / rowSum} does (a subnormal sum; the votes would be
   * infinite).
   */
  private static boolean outOfRange(double si, double rowSum) {
    return rowSum == Double.POSITIVE_INFINITY || (rowSum > 0 && si / rowSum > Double.MAX_VALUE);
  }

  /**
   * Whether a row's factor {@code s_i / rowSum} underflows (below the normal range, or to zero)
   * where scaling the row down would keep it: a peer with a tiny stake share and a large row.
   * Its votes, {@code s_i w_ij / rowSum}, may be normal numbers even so.
   */
  private static boolean underflows(double si, double rowSum) {
    return rowSum > 2 && si / rowSum < Double.MIN_NORMAL;
  }

  /**
   * 1 for a row that normalises as it is; for one {@link #outOfRange}, the power of two that
   * brings its largest entry into {@code [1, 2)}; for one whose factor {@link #underflows}, the
   * power of two that brings its sum into {@code [1, 2)}.
   */
  private static double rowScale(double si, double rowSum, double max) {
    if (outOfRange(si, rowSum)) {
      return unitScale(max);
    }
    return underflows(si, rowSum) ? unitScale(rowSum) : 1.0;
  }

  /** The power of two that brings {@code max > 0} into {@code [1, 2)}, a subnormal above 1e-16. */
  private static double unitScale(double max) {
    return Math.scalb(1.0, -Math.getExponent(max));
  }

  /**
   * Dense rows are processed in this many fixed blocks, each with its own accumulators, merged
   * in block order: the summation order, hence every bit of the result, is the same whether the
   * blocks run one after another or on an executor's threads.
   */
  static final int DENSE_BLOCKS = 8;

  /**
   * Dense weights: the new bonds are dense; {@code bonds} may be dense or sparse. They are
   * written into {@code out} ({@code n * n}), which may be the dense bonds' own array: each row
   * is read whole before it is written, and no row reads another.
   */
  static Pass dense(
      DenseMatrix weights, PeerMatrix bonds, double[] s, boolean normalize, boolean mask,
      Executor executor, double[] out) {
    int n = weights.size();
    int blocks = Math.min(DENSE_BLOCKS, n);
    double[][] ranks = new double[blocks][n];
    double[][] trust = new double[blocks][n];
    double[][] colSums = new double[blocks][n];
    Parallel.forEach(blocks, executor, b -> {
      int from = (int) ((long) n * b / blocks);
      int to = (int) ((long) n * (b + 1) / blocks);
      denseRows(weights.raw(), bonds, s, normalize, mask, n, from, to, out,
          ranks[b], trust[b], colSums[b]);
    });
    return new Pass(merge(ranks), merge(trust), merge(colSums), DenseMatrix.adopt(n, out));
  }

  private static double[] merge(double[][] partials) {
    double[] total = partials[0];
    for (int b = 1; b < partials.length; b++) {
      double[] p = partials[b];
      for (int j = 0; j < total.length; j++) {
        total[j] += p[j];
      }
    }
    return total;
  }

  /**
   * Rows {@code [fromRow, toRow)}. Each row's weights and bonds are first copied into row
   * buffers: C2 (JDK 17) vectorises a loop only when all its arrays share one index expression,
   * and the accumulators are indexed by column alone, so {@code w[i * n + j]} beside
   * {@code ranks[j]} would keep every loop scalar. The copies are the row's one trip from memory.
   */
  private static void denseRows(
      double[] w, PeerMatrix bonds, double[] s, boolean normalize, boolean mask, int n,
      int fromRow, int toRow, double[] out, double[] ranks, double[] trust, double[] colSums) {
    double[] bondsDense = bonds instanceof DenseMatrix d ? d.raw() : null;
    CsrMatrix bondsCsr = bonds instanceof CsrMatrix c ? c : null;
    double[] wRow = new double[n];
    double[] bRow = new double[n];
    for (int i = fromRow; i < toRow; i++) {
      int base = i * n;
      if (bondsDense != null) {
        System.arraycopy(bondsDense, base, bRow, 0, n);
      } else {
        Arrays.fill(bRow, 0.0);
        int[] bc = bondsCsr.rawCols();
        double[] bv = bondsCsr.rawVals();
        for (int k = bondsCsr.rowStart(i), end = bondsCsr.rowEnd(i); k < end; k++) {
          bRow[bc[k]] = bv[k];
        }
      }
      double si = s[i];
      if (si != 0) {
        System.arraycopy(w, base, wRow, 0, n);
        // With masking the diagonal is left out: its sums run either side of it, and a zero in
        // its place adds exactly nothing below (the stored bond is restored after).
        double rowSum = 0;
        if (normalize) {
          rowSum = mask ? sum(wRow, 0, i) + sum(wRow, i + 1, n) : sum(wRow, 0, n);
        }
        double diagonalBond = bRow[i];
        if (mask) {
          wRow[i] = 0.0;
        }
        addTrust(wRow, trust, si, n);
        if (normalize && (outOfRange(si, rowSum) || underflows(si, rowSum))) {
          // Scaling by a power of two is exact but for entries too small to matter.
          double scale = rowScale(si, rowSum, max(wRow, n));
          for (int j = 0; j < n; j++) {
            wRow[j] *= scale;
          }
          rowSum = sum(wRow, 0, n);
        }
        double f = rowFactor(si, rowSum, normalize);
        addVotes(wRow, bRow, ranks, f, n);
        if (mask) {
          bRow[i] = diagonalBond;
        }
      }
      addRow(bRow, colSums, n);
      System.arraycopy(bRow, 0, out, base, n);
    }
  }

  /** {@code w[from .. to)} summed in four lanes: no chain of dependent additions. */
  private static double sum(double[] w, int from, int to) {
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    int j = from;
    for (; j + 3 < to; j += 4) {
      a0 += w[j];
      a1 += w[j + 1];
      a2 += w[j + 2];
      a3 += w[j + 3];
    }
    for (; j < to; j++) {
      a0 += w[j];
    }
    return (a0 + a1) + (a2 + a3);
  }

  private static double max(double[] w, int n) {
    double max = 0;
    for (int j = 0; j < n; j++) {
      max = Math.max(max, w[j]);
    }
    return max;
  }

  private static void addRow(double[] row, double[] colSums, int n) {
    for (int j = 0; j < n; j++) {
      colSums[j] += row[j];
    }
  }

  /** One row's votes: ranks and bonds gain {@code f w}; {@code bonds} is updated in place. */
  private static void addVotes(double[] w, double[] bonds, double[] ranks, double f, int n) {
    for (int j = 0; j < n; j++) {
      double x = f * w[j];
      ranks[j] += x;
      bonds[j] += x;
    }
  }

  /** One row's trust: {@code s_i} to every column it gives a positive weight. */
  private static void addTrust(double[] w, double[] trust, double si, int n) {
    for (int j = 0; j < n; j++) {
      trust[j] += si * edge(w[j]);
    }
  }

  /**
   * 1 when {@code w > 0}, else 0, for finite {@code w >= 0}, without a branch (random sparsity
   * patterns make a branch mispredict half the time): the smallest positive double times
   * {@code 2^537} twice is exactly 1, anything larger clamps to 1, zero stays zero.
   */
  static double edge(double w) {
    return Math.min(w * 0x1p537 * 0x1p537, 1.0);
  }

  /**
   * Sparse weights and bonds: the new bonds are sparse. When the bonds are empty or share the
   * weights' pattern (as bonds carried forward under fixed weights do), the new bonds reuse that
   * pattern and only their values take new memory.
   */
  static Pass csr(CsrMatrix weights, CsrMatrix bonds, double[] s, boolean normalize, boolean mask) {
    if (bonds.storedCount() == 0 || bonds.sharesPatternWith(weights)) {
      return csrSamePattern(weights, bonds.storedCount() == 0 ? null : bonds.rawVals(), s,
          normalize, mask);
    }
    return csrMerged(weights, bonds, s, normalize, mask);
  }

  private static Pass csrSamePattern(
      CsrMatrix weights, double[] bondVals, double[] s, boolean normalize, boolean mask) {
    int n = weights.size();
    int[] rowPtr = weights.rawRowPtr();
    int[] cols = weights.rawCols();
    double[] w = weights.rawVals();
    double[] out = new double[w.length];
    // Ranks, trust and column sums interleaved: one cache line per scattered column, not three.
    double[] acc = new double[3 * n];
    for (int i = 0; i < n; i++) {
      int start = rowPtr[i], end = rowPtr[i + 1];
      double si = s[i];
      int skip = mask ? i : -1;
      double sum = si == 0 ? 0.0 : rowSum(w, cols, start, end, skip, 1.0);
      double scale = normalize ? rowScale(w, cols, start, end, skip, si, sum) : 1.0;
      if (scale != 1.0) {
        sum = rowSum(w, cols, start, end, skip, scale);
      }
      double f = si == 0 ? 0.0 : rowFactor(si, sum, normalize);
      for (int k = start; k < end; k++) {
        int c = cols[k];
        double bo = bondVals == null ? 0.0 : bondVals[k];
        if (si != 0 && !(mask && c == i)) {
          double wv = w[k];
          double x = f * (wv * scale);
          acc[3 * c] += x;
          bo += x;
          acc[3 * c + 1] += si * edge(wv);
        }
        out[k] = bo;
        acc[3 * c + 2] += bo;
      }
    }
    return unpack(acc, n, weights.withValues(out));
  }

  /** The sum of a row's entries, each times {@code scale}, leaving out column {@code skipCol}. */
  private static double rowSum(
      double[] w, int[] cols, int start, int end, int skipCol, double scale) {
    double sum = 0;
    for (int k = start; k < end; k++) {
      if (cols[k] != skipCol) {
        sum += w[k] * scale;
      }
    }
    return sum;
  }

  /** {@link #rowScale(double, double, double)} of a CSR row, leaving out column {@code skipCol}. */
  private static double rowScale(
      double[] w, int[] cols, int start, int end, int skipCol, double si, double rowSum) {
    if (!outOfRange(si, rowSum)) {
      return underflows(si, rowSum) ? unitScale(rowSum) : 1.0;
    }
    double max = 0;
    for (int k = start; k < end; k++) {
      if (cols[k] != skipCol) {
        max = Math.max(max, w[k]);
      }
    }
    return unitScale(max);
  }

  /** Bonds with a pattern of their own: the new bonds' pattern is the union, row by row. */
  private static Pass csrMerged(
      CsrMatrix weights, CsrMatrix bonds, double[] s, boolean normalize, boolean mask) {
    int n = weights.size();
    int[] wp = weights.rawRowPtr(), wc = weights.rawCols();
    int[] bp = bonds.rawRowPtr(), bc = bonds.rawCols();
    double[] w = weights.rawVals(), b = bonds.rawVals();
    int[] rowPtr = new int[n + 1];
    long total = 0;
    for (int i = 0; i < n; i++) {
      total += unionSize(wc, wp[i], wp[i + 1], bc, bp[i], bp[i + 1]);
      if (total > Integer.MAX_VALUE - 8) {
        throw new ArithmeticException("the new bonds would hold more than 2^31 entries");
      }
      rowPtr[i + 1] = (int) total;
    }
    int[] cols = new int[(int) total];
    double[] out = new double[(int) total];
    double[] acc = new double[3 * n];
    int o = 0;
    for (int i = 0; i < n; i++) {
      double si = s[i];
      int skip = mask ? i : -1;
      double sum = si == 0 ? 0.0 : rowSum(w, wc, wp[i], wp[i + 1], skip, 1.0);
      double scale = normalize ? rowScale(w, wc, wp[i], wp[i + 1], skip, si, sum) : 1.0;
      if (scale != 1.0) {
        sum = rowSum(w, wc, wp[i], wp[i + 1], skip, scale);
      }
      double f = si == 0 ? 0.0 : rowFactor(si, sum, normalize);
      int kw = wp[i], ew = wp[i + 1], kb = bp[i], eb = bp[i + 1];
      while (kw < ew || kb < eb) {
        int cw = kw < ew ? wc[kw] : Integer.MAX_VALUE;
        int cb = kb < eb ? bc[kb] : Integer.MAX_VALUE;
        int c = Math.min(cw, cb);
        double wv = cw == c ? w[kw++] : 0.0;
        double bo = cb == c ? b[kb++] : 0.0;
        if (si != 0 && !(mask && c == i)) {
          double x = f * (wv * scale);
          acc[3 * c] += x;
          bo += x;
          acc[3 * c + 1] += si * edge(wv);
        }
        cols[o] = c;
        out[o++] = bo;
        acc[3 * c + 2] += bo;
      }
    }
    return unpack(acc, n, CsrMatrix.adopt(n, rowPtr, cols, out));
  }

  private static int unionSize(int[] a, int ka, int ea, int[] b, int kb, int eb) {
    int count = 0;
    while (ka < ea && kb < eb) {
      int ca = a[ka], cb = b[kb];
      if (ca <= cb) {
        ka++;
      }
      if (cb <= ca) {
        kb++;
      }
      count++;
    }
    return count + (ea - ka) + (eb - kb);
  }

  private static Pass unpack(double[] acc, int n, CsrMatrix bonds) {
    double[] ranks = new double[n];
    double[] trust = new double[n];
    double[] colSums = new double[n];
    for (int j = 0; j < n; j++) {
      ranks[j] = acc[3 * j];
      trust[j] = acc[3 * j + 1];
      colSums[j] = acc[3 * j + 2];
    }
    return new Pass(ranks, trust, colSums, bonds);
  }

  /**
   * Second pass: {@code d = B' q}, with {@code q} from {@link PaperOps#perUnitBond}. Rows are
   * independent, so running blocks on an executor changes no bit of the result.
   */
  static void dividends(PeerMatrix bonds, double[] perUnitBond, double[] out, Executor executor) {
    int n = bonds.size();
    int blocks = Math.min(DENSE_BLOCKS, Math.max(n, 1));
    Parallel.forEach(blocks, executor, b -> {
      int from = (int) ((long) n * b / blocks);
      int to = (int) ((long) n * (b + 1) / blocks);
      if (bonds instanceof DenseMatrix d) {
        double[] m = d.raw();
        for (int i = from; i < to; i++) {
          out[i] = dot(m, i * n, perUnitBond, n);
        }
      } else {
        CsrMatrix c = (CsrMatrix) bonds;
        int[] rowPtr = c.rawRowPtr();
        int[] cols = c.rawCols();
        double[] vals = c.rawVals();
        for (int i = from; i < to; i++) {
          double d = 0;
          for (int k = rowPtr[i]; k < rowPtr[i + 1]; k++) {
            d += vals[k] * perUnitBond[cols[k]];
          }
          out[i] = d;
        }
      }
    });
  }

  /**
   * Whether column {@code j}'s per-unit bond {@code I_j / colsum_j} is out of the double range:
   * its sum overflows (the column would pay nothing) or is so small (a subnormal sum, from peers
   * with subnormal stake shares) that the quotient overflows (the dividends would be infinite).
   */
  static boolean perUnitBondOutOfRange(double columnSum, double incentive) {
    return columnSum == Double.POSITIVE_INFINITY
        || (columnSum > 0 && incentive / columnSum > Double.MAX_VALUE);
  }

  /**
   * Per-unit bonds and dividends when some column is {@link #perUnitBondOutOfRange}: each such
   * column is scaled by a power of two, its largest entry into {@code [1, 2)} (a subnormal above
   * 1e-16), before its sum and shares are taken; other columns keep their sums. Sequential, for
   * the ends of the double range only.
   *
   * @param columnSums the new bonds' column sums; not modified
   * @param out overwritten with the dividends
   */
  static void dividendsOfOutOfRangeColumns(
      PeerMatrix bonds, double[] columnSums, double[] incentive, double[] out) {
    int n = bonds.size();
    CsrMatrix b = bonds.toCsr();
    int[] cols = b.rawCols();
    double[] vals = b.rawVals();
    double[] scale = new double[n];
    for (int k = 0; k < vals.length; k++) {
      int j = cols[k];
      if (perUnitBondOutOfRange(columnSums[j], incentive[j])) {
        scale[j] = Math.max(scale[j], vals[k]);
      }
    }
    double[] sums = new double[n];
    for (int j = 0; j < n; j++) {
      scale[j] = scale[j] > 0 ? unitScale(scale[j]) : 1.0;
      sums[j] = scale[j] == 1.0 ? columnSums[j] : 0.0;
    }
    for (int k = 0; k < vals.length; k++) {
      int j = cols[k];
      if (scale[j] != 1.0) {
        sums[j] += vals[k] * scale[j];
      }
    }
    double[] perUnitBond = new double[n];
    PaperOps.perUnitBond(sums, incentive, perUnitBond);
    for (int i = 0; i < n; i++) {
      double d = 0;
      for (int k = b.rowStart(i), end = b.rowEnd(i); k < end; k++) {
        d += vals[k] * scale[cols[k]] * perUnitBond[cols[k]];
      }
      out[i] = d;
    }
  }

  /**
   * {@code sum_j m[base + j] q[j]} in eight lanes: the row streams in from memory, and eight
   * independent chains keep more of it in flight than four.
   */
  private static double dot(double[] m, int base, double[] q, int n) {
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    int j = 0;
    for (; j + 7 < n; j += 8) {
      a0 += m[base + j] * q[j];
      a1 += m[base + j + 1] * q[j + 1];
      a2 += m[base + j + 2] * q[j + 2];
      a3 += m[base + j + 3] * q[j + 3];
      a4 += m[base + j + 4] * q[j + 4];
      a5 += m[base + j + 5] * q[j + 5];
      a6 += m[base + j + 6] * q[j + 6];
      a7 += m[base + j + 7] * q[j + 7];
    }
    for (; j < n; j++) {
      a0 += m[base + j] * q[j];
    }
    return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
  }

}
