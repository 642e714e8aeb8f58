package io.bittensor.incentive;

/**
 * The parts of a Yuma epoch that involve no arithmetic, shared by the float64 and fixed-point
 * kernels: who is active, which weights and bonds survive the masks, and the sparsity patterns the
 * kernels fill with numbers.
 *
 * <p>Weights survive when their row holds a validator permit, they are not a self-weight, they
 * were set after the target's registration ({@code lastUpdate[i] > registeredAt[j]}) and they are
 * not zero. Bonds survive unless their target registered within the last tempo
 * ({@code currentBlock - tempo <= registeredAt[j]}) or they are zero. Every pattern lists a row's
 * columns in increasing order, so the kernels visit entries in the chain's order.
 */
final class YumaLayout {
  final int n;
  /** {@code lastUpdate[i] + activityCutoff < currentBlock}. */
  final boolean[] inactive;

  /** Surviving weights, CSR: row pointers, columns, and each entry's index in the input. */
  final int[] wPtr;
  final int[] wCol;
  final int[] wSrc;
  /** The row of each surviving weight. */
  final int[] wRow;
  /** Surviving weights by column: entries {@code cEntry[cPtr[j] .. cPtr[j+1])}, rows increasing. */
  final int[] cPtr;
  final int[] cEntry;

  /** Surviving bonds, CSR, each entry's index in the input bonds. */
  final int[] bPtr;
  final int[] bCol;
  final int[] bSrc;

  /**
   * The union of both patterns, row by row: the entries the bond moving average produces. For
   * each, the surviving weight and bond it combines ({@code -1}: none).
   */
  final int[] uPtr;
  final int[] uRow;
  final int[] uCol;
  final int[] uW;
  final int[] uB;

  /** The input weights and bonds, sparse. */
  final CsrMatrix weights;
  final CsrMatrix bonds;

  private YumaLayout(YumaState state, YumaParams params) {
    NetworkState network = state.network();
    this.n = network.size();
    this.weights = network.weights().toCsr();
    this.bonds = network.bonds().toCsr();
    long block = state.currentBlock();
    long[] lastUpdate = state.lastUpdateArray();
    long[] registeredAt = state.registeredAtArray();
    boolean[] permits = state.validatorPermitArray();

    inactive = new boolean[n];
    for (int i = 0; i < n; i++) {
      inactive[i] = saturatingAdd(lastUpdate[i], params.activityCutoff()) < block;
    }

    // Each pattern is filled in one pass into arrays sized for the worst case, then trimmed.
    int[] rowPtr = weights.rawRowPtr();
    int[] cols = weights.rawCols();
    double[] vals = weights.rawVals();
    int bound = 0;
    for (int i = 0; i < n; i++) {
      if (permits[i]) {
        bound += rowPtr[i + 1] - rowPtr[i];
      }
    }
    wPtr = new int[n + 1];
    int[] wc = new int[bound];
    int[] ws = new int[bound];
    int[] wr = new int[bound];
    int m = 0;
    for (int i = 0; i < n; i++) {
      if (permits[i]) {
        long updated = lastUpdate[i];
        for (int k = rowPtr[i]; k < rowPtr[i + 1]; k++) {
          int j = cols[k];
          if (j != i && vals[k] != 0 && updated > registeredAt[j]) {
            wc[m] = j;
            ws[m] = k;
            wr[m++] = i;
          }
        }
      }
      wPtr[i + 1] = m;
    }
    wCol = trim(wc, m);
    wSrc = trim(ws, m);
    wRow = trim(wr, m);
    int kept = m;

    cPtr = new int[n + 1];
    for (int k = 0; k < kept; k++) {
      cPtr[wCol[k] + 1]++;
    }
    for (int j = 0; j < n; j++) {
      cPtr[j + 1] += cPtr[j];
    }
    cEntry = new int[kept];
    int[] fill = java.util.Arrays.copyOf(cPtr, n);
    for (int k = 0; k < kept; k++) {
      cEntry[fill[wCol[k]]++] = k;
    }

    long lastTempo = Math.max(0, block - params.tempo());
    int[] bRowPtr = bonds.rawRowPtr();
    int[] bCols = bonds.rawCols();
    double[] bVals = bonds.rawVals();
    bPtr = new int[n + 1];
    int[] bc = new int[bVals.length];
    int[] bs = new int[bVals.length];
    m = 0;
    for (int i = 0; i < n; i++) {
      for (int k = bRowPtr[i]; k < bRowPtr[i + 1]; k++) {
        if (bVals[k] != 0 && lastTempo > registeredAt[bCols[k]]) {
          bc[m] = bCols[k];
          bs[m++] = k;
        }
      }
      bPtr[i + 1] = m;
    }
    bCol = trim(bc, m);
    bSrc = trim(bs, m);

    uPtr = new int[n + 1];
    int union = unionCapacity(kept, m);
    int[] ur = new int[union];
    int[] uc = new int[union];
    int[] uw = new int[union];
    int[] ub = new int[union];
    int u = 0;
    for (int i = 0; i < n; i++) {
      int kw = wPtr[i];
      int ew = wPtr[i + 1];
      int kb = bPtr[i];
      int eb = bPtr[i + 1];
      while (kw < ew || kb < eb) {
        int cw = kw < ew ? wCol[kw] : Integer.MAX_VALUE;
        int cb = kb < eb ? bCol[kb] : Integer.MAX_VALUE;
        int c = Math.min(cw, cb);
        ur[u] = i;
        uc[u] = c;
        uw[u] = cw == c ? kw++ : -1;
        ub[u] = cb == c ? kb++ : -1;
        u++;
      }
      uPtr[i + 1] = u;
    }
    uRow = trim(ur, u);
    uCol = trim(uc, u);
    uW = trim(uw, u);
    uB = trim(ub, u);
  }

  /** Room for the union of weights and bonds; their sum can pass what an array holds. */
  static int unionCapacity(int kept, int bonds) {
    long union = (long) kept + bonds;
    if (union > Integer.MAX_VALUE - 8) {
      throw new ArithmeticException(kept + " weights and " + bonds
          + " bonds would hold more than " + (Integer.MAX_VALUE - 8) + " entries");
    }
    return (int) union;
  }

  private static int[] trim(int[] a, int size) {
    return size == a.length ? a : java.util.Arrays.copyOf(a, size);
  }

  /** The layout of {@code state}'s epoch under {@code params}. */
  static YumaLayout of(YumaState state, YumaParams params) {
    return new YumaLayout(state, params);
  }

  private static long saturatingAdd(long a, long b) {
    long r = a + b;
    return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
  }

  /** The number of surviving weights. */
  int weightCount() {
    return wCol.length;
  }

  /**
   * Validator permits for the next epoch: the {@code k} largest non-zero keys. Ties go to the
   * higher uid, as the chain's stable ascending sort drops the lowest first.
   *
   * @param keys one per peer, each {@code >= 0} and ordered as the stakes they stand for
   */
  static boolean[] topKNonZero(long[] keys, int k) {
    int size = keys.length;
    boolean[] result = new boolean[size];
    for (int i = 0; i < size; i++) {
      result[i] = keys[i] != 0;
    }
    if (size < k) {
      return result;
    }
    int[] order = new int[size];
    for (int i = 0; i < size; i++) {
      order[i] = i;
    }
    sortByKey(keys.clone(), order, 0, size);
    for (int r = 0; r < size - k; r++) {
      result[order[r]] = false;
    }
    return result;
  }

  /**
   * Sorts {@code idx[from, to)} together with {@code keys[from, to)} by key, ties by index:
   * equivalent to a stable sort of an index-ordered input.
   */
  static void sortByKey(long[] keys, int[] idx, int from, int to) {
    while (to - from > 24) {
      int mid = (from + to) >>> 1;
      int p = medianOfThree(keys, idx, from, mid, to - 1);
      long pk = keys[p];
      int pi = idx[p];
      int i = from;
      int j = to - 1;
      while (i <= j) {
        while (less(keys[i], idx[i], pk, pi)) {
          i++;
        }
        while (less(pk, pi, keys[j], idx[j])) {
          j--;
        }
        if (i <= j) {
          swap(keys, idx, i++, j--);
        }
      }
      // Recurse into the smaller side, loop on the larger.
      if (j - from < to - i) {
        sortByKey(keys, idx, from, j + 1);
        from = i;
      } else {
        sortByKey(keys, idx, i, to);
        to = j + 1;
      }
    }
    for (int a = from + 1; a < to; a++) {
      long k = keys[a];
      int v = idx[a];
      int b = a - 1;
      while (b >= from && less(k, v, keys[b], idx[b])) {
        keys[b + 1] = keys[b];
        idx[b + 1] = idx[b];
        b--;
      }
      keys[b + 1] = k;
      idx[b + 1] = v;
    }
  }

  private static boolean less(long ka, int ia, long kb, int ib) {
    return ka < kb || (ka == kb && ia < ib);
  }

  private static int medianOfThree(long[] keys, int[] idx, int a, int b, int c) {
    if (less(keys[a], idx[a], keys[b], idx[b])) {
      if (less(keys[b], idx[b], keys[c], idx[c])) {
        return b;
      }
      return less(keys[a], idx[a], keys[c], idx[c]) ? c : a;
    }
    if (less(keys[a], idx[a], keys[c], idx[c])) {
      return a;
    }
    return less(keys[b], idx[b], keys[c], idx[c]) ? c : b;
  }

  private static void swap(long[] keys, int[] idx, int a, int b) {
    long k = keys[a];
    keys[a] = keys[b];
    keys[b] = k;
    int v = idx[a];
    idx[a] = idx[b];
    idx[b] = v;
  }
}
