package io.bittensor.core.internal.ledger;

import io.bittensor.incentive.CsrMatrix;

/** Sparse-matrix chores of the ledger: rows to CSR, growing, and dropping a peer. */
final class Matrices {
  private Matrices() {}

  /**
   * The {@code n x n} matrix whose row {@code i} has columns {@code uids[i]}, values {@code
   * vals[i]}.
   */
  static CsrMatrix fromRows(int n, int[][] uids, double[][] vals) {
    long nnz = 0;
    for (int[] u : uids) {
      nnz += u.length;
    }
    if (nnz > Integer.MAX_VALUE - 8) {
      throw new IllegalStateException("more than 2^31 weights");
    }
    CsrMatrix.Builder b = CsrMatrix.builder(n, (int) nnz);
    for (int i = 0; i < n; i++) {
      if (uids[i].length > 0) {
        b.row(i, uids[i], vals[i]);
      }
    }
    return b.build();
  }

  /** {@code m} grown to {@code n x n} with empty rows and columns (or {@code m} itself). */
  static CsrMatrix resize(CsrMatrix m, int n) {
    int size = m.size();
    if (size == n) {
      return m;
    }
    if (size > n) {
      throw new IllegalStateException("cannot shrink a " + size + " x " + size + " matrix to "
          + n);
    }
    int[] rowPtr = new int[n + 1];
    m.rowPointers().get(rowPtr, 0, size + 1);
    for (int i = size + 1; i <= n; i++) {
      rowPtr[i] = rowPtr[size];
    }
    int[] cols = new int[m.storedCount()];
    m.columns().get(cols);
    double[] vals = new double[cols.length];
    m.values().get(vals);
    return CsrMatrix.of(n, rowPtr, cols, vals);
  }

  /** {@code m} with row {@code uid} and column {@code uid} emptied (or {@code m} itself). */
  static CsrMatrix withoutPeer(CsrMatrix m, int uid) {
    int n = m.size();
    if (uid >= n) {
      return m;
    }
    CsrMatrix.Builder b = CsrMatrix.builder(n, m.storedCount());
    for (int i = 0; i < n; i++) {
      if (i == uid) {
        continue;
      }
      int start = m.rowStart(i);
      int end = m.rowEnd(i);
      int keep = 0;
      for (int k = start; k < end; k++) {
        if (m.colAt(k) != uid) {
          keep++;
        }
      }
      if (keep == 0) {
        continue;
      }
      int[] c = new int[keep];
      double[] v = new double[keep];
      for (int k = start, j = 0; k < end; k++) {
        if (m.colAt(k) != uid) {
          c[j] = m.colAt(k);
          v[j++] = m.valueAt(k);
        }
      }
      b.row(i, c, v);
    }
    return b.build();
  }
}
