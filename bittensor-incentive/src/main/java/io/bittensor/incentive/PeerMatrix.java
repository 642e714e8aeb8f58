package io.bittensor.incentive;

/**
 * An immutable square matrix over peers, entry {@code (i, j)} being what peer {@code i} holds in
 * or says of peer {@code j}: weights (row {@code i} is peer {@code i}'s vote) or bonds (what peer
 * {@code i} owns of peer {@code j}).
 *
 * <p>Two forms give the same numbers: {@link DenseMatrix} (row-major, for up to a few thousand
 * peers) and {@link CsrMatrix} (compressed sparse rows, for millions). Every entry is finite and
 * non-negative.
 *
 * <pre>{@code
 * PeerMatrix w = PeerMatrix.dense(new double[][] {{0, 1}, {1, 0}});
 * PeerMatrix sparse = w.toCsr();           // same numbers, sparse form
 * PeerMatrix bonds = PeerMatrix.zeros(2);  // no bonds yet
 * }</pre>
 *
 * <p>Thread-safe: immutable.
 */
public sealed interface PeerMatrix permits DenseMatrix, CsrMatrix {

  /** A dense matrix of the given rows (copied, not modified); see {@link DenseMatrix#of}. */
  static DenseMatrix dense(double[][] rows) {
    return DenseMatrix.of(rows);
  }

  /** An {@code n x n} matrix of zeros, in sparse form (it stores nothing). */
  static CsrMatrix zeros(int n) {
    return CsrMatrix.zeros(n);
  }

  /** The number of peers: the matrix is {@code size() x size()}. */
  int size();

  /** Entry {@code (row, col)}. */
  double get(int row, int col);

  /** The number of entries that are not zero. */
  long nonZeroCount();

  /** The sum of row {@code row}. */
  double rowSum(int row);

  /** The same numbers in dense form ({@code this} when already dense). */
  DenseMatrix toDense();

  /** The same numbers in sparse form, zeros dropped ({@code this} when already sparse). */
  CsrMatrix toCsr();

  /** A new {@code double[size][size]} holding the entries. */
  double[][] toArray();

  /**
   * True when the two matrices hold the same numbers to within {@code tolerance} (absolute),
   * whatever their forms.
   */
  default boolean approximatelyEquals(PeerMatrix other, double tolerance) {
    if (other.size() != size()) {
      return false;
    }
    CsrMatrix a = toCsr();
    CsrMatrix b = other.toCsr();
    for (int i = 0; i < size(); i++) {
      int ka = a.rowStart(i), ea = a.rowEnd(i);
      int kb = b.rowStart(i), eb = b.rowEnd(i);
      while (ka < ea || kb < eb) {
        int ca = ka < ea ? a.colAt(ka) : Integer.MAX_VALUE;
        int cb = kb < eb ? b.colAt(kb) : Integer.MAX_VALUE;
        double va = ca <= cb ? a.valueAt(ka++) : 0;
        double vb = cb <= ca ? b.valueAt(kb++) : 0;
        if (Math.abs(va - vb) > tolerance) {
          return false;
        }
      }
    }
    return true;
  }
}
