package io.bittensor.incentive;

/**
 * The fused first pass of the paper's epoch: one sweep over the weights (and bonds) yields the
 * ranks, the trust, the new bonds and their column sums. Dense and sparse forms perform the same
 * floating-point operations in the same order, so they agree to the last bit.
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

  /** Dense weights: the new bonds are dense; {@code bonds} may be dense or sparse. */
  static Pass dense(
      DenseMatrix weights, PeerMatrix bonds, double[] s, boolean normalize, boolean mask) {
    int n = weights.size();
    double[] w = weights.raw();
    double[] ranks = new double[n];
    double[] trust = new double[n];
    double[] colSums = new double[n];
    double[] out = new double[n * n];
    double[] bondsDense = bonds instanceof DenseMatrix d ? d.raw() : null;
    CsrMatrix bondsCsr = bonds instanceof CsrMatrix c ? c : null;
    for (int i = 0; i < n; i++) {
      int base = i * n;
      if (bondsDense != null) {
        System.arraycopy(bondsDense, base, out, base, n);
      } else {
        int[] bc = bondsCsr.rawCols();
        double[] bv = bondsCsr.rawVals();
        for (int k = bondsCsr.rowStart(i), end = bondsCsr.rowEnd(i); k < end; k++) {
          out[base + bc[k]] = bv[k];
        }
      }
      double si = s[i];
      if (si != 0) {
        // With masking, the diagonal is left out by running the loops either side of it.
        int splitAt = mask ? i : n;
        int resumeAt = mask ? i + 1 : n;
        double rowSum = normalize ? rowSum(w, base, n, mask ? i : -1) : 0;
        double f = rowFactor(si, rowSum, normalize);
        addVotes(w, out, ranks, trust, base, 0, splitAt, f, si);
        addVotes(w, out, ranks, trust, base, resumeAt, n, f, si);
      }
      for (int j = 0; j < n; j++) {
        colSums[j] += out[base + j];
      }
    }
    return new Pass(ranks, trust, colSums, DenseMatrix.adopt(n, out));
  }

  /** The sum of a dense row, left to right, leaving out column {@code skip} (-1: none). */
  private static double rowSum(double[] w, int base, int n, int skip) {
    double s = 0;
    for (int j = 0; j < n; j++) {
      if (j != skip) {
        s += w[base + j];
      }
    }
    return s;
  }

  /** Columns {@code [from, to)} of one row: ranks and bonds gain {@code f w}, trust gains {@code s_i}. */
  private static void addVotes(
      double[] w, double[] out, double[] ranks, double[] trust, int base, int from, int to,
      double f, double si) {
    for (int j = from; j < to; j++) {
      double x = f * w[base + j];
      ranks[j] += x;
      out[base + j] += x;
    }
    for (int j = from; j < to; j++) {
      if (w[base + j] > 0) {
        trust[j] += si;
      }
    }
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
      double f = si == 0 ? 0.0 : rowFactor(si, rowSum(w, cols, start, end, mask ? i : -1), normalize);
      for (int k = start; k < end; k++) {
        int c = cols[k];
        double bo = bondVals == null ? 0.0 : bondVals[k];
        if (si != 0 && !(mask && c == i)) {
          double wv = w[k];
          double x = f * wv;
          acc[3 * c] += x;
          bo += x;
          if (wv > 0) {
            acc[3 * c + 1] += si;
          }
        }
        out[k] = bo;
        acc[3 * c + 2] += bo;
      }
    }
    return unpack(acc, n, weights.withValues(out));
  }

  private static double rowSum(double[] w, int[] cols, int start, int end, int skipCol) {
    double sum = 0;
    for (int k = start; k < end; k++) {
      if (cols[k] != skipCol) {
        sum += w[k];
      }
    }
    return sum;
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
      double f = si == 0 ? 0.0
          : rowFactor(si, rowSum(w, wc, wp[i], wp[i + 1], mask ? i : -1), normalize);
      int kw = wp[i], ew = wp[i + 1], kb = bp[i], eb = bp[i + 1];
      while (kw < ew || kb < eb) {
        int cw = kw < ew ? wc[kw] : Integer.MAX_VALUE;
        int cb = kb < eb ? bc[kb] : Integer.MAX_VALUE;
        int c = Math.min(cw, cb);
        double wv = cw == c ? w[kw++] : 0.0;
        double bo = cb == c ? b[kb++] : 0.0;
        if (si != 0 && !(mask && c == i)) {
          double x = f * wv;
          acc[3 * c] += x;
          bo += x;
          if (wv > 0) {
            acc[3 * c + 1] += si;
          }
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

  /** Second pass: {@code d = B' q}, with {@code q} from {@link PaperOps#perUnitBond}. */
  static void dividends(PeerMatrix bonds, double[] perUnitBond, double[] out) {
    if (bonds instanceof DenseMatrix d) {
      PaperOps.dividendsDense(d.size(), d.raw(), perUnitBond, out);
    } else {
      CsrMatrix c = (CsrMatrix) bonds;
      PaperOps.dividendsCsr(c.size(), c.rawRowPtr(), c.rawCols(), c.rawVals(), perUnitBond, out);
    }
  }
}
