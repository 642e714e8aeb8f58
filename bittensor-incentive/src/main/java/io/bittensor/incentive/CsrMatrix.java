package io.bittensor.incentive;

import io.bittensor.incentive.internal.Checks;
import java.nio.DoubleBuffer;
import java.nio.IntBuffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * A {@link PeerMatrix} in compressed sparse row form: for each row, the sorted columns of its
 * stored entries and their values. The form for large networks: a million peers with 64 weights
 * each take 64 million entries (12 bytes each), not a trillion.
 *
 * <pre>{@code
 * CsrMatrix w = CsrMatrix.builder(3)
 *     .row(0, new int[] {1, 2}, new double[] {0.5, 0.5})
 *     .row(2, new int[] {0}, new double[] {1.0})
 *     .build();                        // row 1 stores nothing
 * w.get(0, 2);                         // 0.5
 * }</pre>
 *
 * <p>Within a row, columns are strictly increasing; stored values are finite and non-negative
 * (explicit zeros are allowed and count as no edge). At most {@link Integer#MAX_VALUE} entries.
 * Two matrices may share their row pointers and column indices (their <em>pattern</em>): bonds
 * computed from weights share the weights' pattern, so only the values take new memory.
 *
 * <p>Thread-safe: immutable.
 */
public final class CsrMatrix implements PeerMatrix {
  private final int n;
  private final int[] rowPtr;
  private final int[] cols;
  private final double[] vals;

  private CsrMatrix(int n, int[] rowPtr, int[] cols, double[] vals) {
    this.n = n;
    this.rowPtr = rowPtr;
    this.cols = cols;
    this.vals = vals;
  }

  /**
   * A matrix from CSR arrays.
   *
   * @param n the number of peers
   * @param rowPtr {@code n + 1} offsets: row {@code i} is entries {@code [rowPtr[i], rowPtr[i+1])};
   *     copied, not modified
   * @param cols the column of each entry, strictly increasing within a row; copied, not modified
   * @param vals the value of each entry, finite and {@code >= 0}; copied, not modified
   * @throws IllegalArgumentException naming the first row, entry or length that is wrong
   */
  public static CsrMatrix of(int n, int[] rowPtr, int[] cols, double[] vals) {
    checkSize(n);
    Checks.require(
        rowPtr.length == n + 1, "rowPtr must have n + 1 = %d entries, got %d", n + 1,
        rowPtr.length);
    Checks.require(
        cols.length == vals.length, "cols and vals must have the same length, got %d and %d",
        cols.length, vals.length);
    Checks.require(rowPtr[0] == 0, "rowPtr[0] must be 0, was %d", rowPtr[0]);
    Checks.require(
        rowPtr[n] == cols.length, "rowPtr[n] must equal the number of entries %d, was %d",
        cols.length, rowPtr[n]);
    // All the pointers before any entry: a pointer that falls back lets an earlier row reach
    // past the arrays even when the last pointer is right.
    for (int i = 0; i < n; i++) {
      Checks.require(
          rowPtr[i] <= rowPtr[i + 1], "rowPtr must not decrease: rowPtr[%d]=%d > rowPtr[%d]=%d",
          i, rowPtr[i], i + 1, rowPtr[i + 1]);
    }
    for (int i = 0; i < n; i++) {
      int start = rowPtr[i], end = rowPtr[i + 1];
      int previous = -1;
      for (int k = start; k < end; k++) {
        int c = cols[k];
        Checks.require(
            c >= 0 && c < n, "row %d: column %d is out of range [0, %d)", i, c, n);
        Checks.require(
            c > previous, "row %d: columns must be strictly increasing, got %d after %d", i, c,
            previous);
        previous = c;
        double v = vals[k];
        if (!(v >= 0) || v == Double.POSITIVE_INFINITY) {
          throw new IllegalArgumentException(
              "entry (" + i + ", " + c + ") must be finite and >= 0, was " + v);
        }
      }
    }
    return new CsrMatrix(n, rowPtr.clone(), cols.clone(), vals.clone());
  }

  /**
   * An {@code n x n} matrix that stores nothing (all zeros).
   *
   * @throws IllegalArgumentException if {@code n} is negative or {@link Integer#MAX_VALUE}
   */
  public static CsrMatrix zeros(int n) {
    checkSize(n);
    return new CsrMatrix(n, new int[n + 1], new int[0], new double[0]);
  }

  /**
   * A builder of an {@code n x n} matrix, filled row by row.
   *
   * @throws IllegalArgumentException if {@code n} is negative or {@link Integer#MAX_VALUE}
   */
  public static Builder builder(int n) {
    return new Builder(n, 16);
  }

  /**
   * A builder that expects about {@code expectedEntries} entries: when the guess is exact,
   * {@link Builder#build()} copies nothing.
   *
   * @throws IllegalArgumentException if {@code n} is negative or {@link Integer#MAX_VALUE}, or
   *     {@code expectedEntries} is negative
   */
  public static Builder builder(int n, int expectedEntries) {
    return new Builder(n, expectedEntries);
  }

  /** Refuses a size whose {@code n + 1} row pointers would overflow an {@code int} length. */
  private static void checkSize(int n) {
    Checks.require(n >= 0, "n must be >= 0, was %d", n);
    Checks.require(n < Integer.MAX_VALUE, "n must be below %d (it takes n + 1 row pointers),"
        + " was %d", Integer.MAX_VALUE, n);
  }

  /** Takes ownership of valid arrays: for our kernels only. */
  static CsrMatrix adopt(int n, int[] rowPtr, int[] cols, double[] vals) {
    return new CsrMatrix(n, rowPtr, cols, vals);
  }

  /** A matrix with this one's pattern and new values (ownership taken): for our kernels only. */
  CsrMatrix withValues(double[] newVals) {
    return new CsrMatrix(n, rowPtr, cols, newVals);
  }

  static CsrMatrix fromDense(int n, double[] data) {
    int nnz = 0;
    for (double v : data) {
      if (v != 0) {
        nnz++;
      }
    }
    int[] rowPtr = new int[n + 1];
    int[] cols = new int[nnz];
    double[] vals = new double[nnz];
    int k = 0;
    for (int i = 0; i < n; i++) {
      for (int j = 0, base = i * n; j < n; j++) {
        double v = data[base + j];
        if (v != 0) {
          cols[k] = j;
          vals[k++] = v;
        }
      }
      rowPtr[i + 1] = k;
    }
    return new CsrMatrix(n, rowPtr, cols, vals);
  }

  @Override
  public int size() {
    return n;
  }

  /** The number of stored entries (explicit zeros included). */
  public int storedCount() {
    return vals.length;
  }

  @Override
  public long nonZeroCount() {
    long count = 0;
    for (double v : vals) {
      if (v != 0) {
        count++;
      }
    }
    return count;
  }

  /** The index of the first stored entry of {@code row}. */
  public int rowStart(int row) {
    return rowPtr[row];
  }

  /** One past the index of the last stored entry of {@code row}. */
  public int rowEnd(int row) {
    return rowPtr[row + 1];
  }

  /** The column of stored entry {@code k}. */
  public int colAt(int k) {
    return cols[k];
  }

  /** The value of stored entry {@code k}. */
  public double valueAt(int k) {
    return vals[k];
  }

  /** The row pointers, read-only and without a copy. */
  public IntBuffer rowPointers() {
    return IntBuffer.wrap(rowPtr).asReadOnlyBuffer();
  }

  /** The column of each stored entry, read-only and without a copy. */
  public IntBuffer columns() {
    return IntBuffer.wrap(cols).asReadOnlyBuffer();
  }

  /** The value of each stored entry, read-only and without a copy. */
  public DoubleBuffer values() {
    return DoubleBuffer.wrap(vals).asReadOnlyBuffer();
  }

  /** True when both matrices share one pattern (the same arrays, not merely equal ones). */
  public boolean sharesPatternWith(CsrMatrix other) {
    return rowPtr == other.rowPtr && cols == other.cols;
  }

  int[] rawRowPtr() {
    return rowPtr;
  }

  int[] rawCols() {
    return cols;
  }

  double[] rawVals() {
    return vals;
  }

  @Override
  public double get(int row, int col) {
    Objects.checkIndex(row, n);
    Objects.checkIndex(col, n);
    int k = Arrays.binarySearch(cols, rowPtr[row], rowPtr[row + 1], col);
    return k >= 0 ? vals[k] : 0.0;
  }

  @Override
  public double rowSum(int row) {
    Objects.checkIndex(row, n);
    double sum = 0;
    for (int k = rowPtr[row], end = rowPtr[row + 1]; k < end; k++) {
      sum += vals[k];
    }
    return sum;
  }

  @Override
  public DenseMatrix toDense() {
    Checks.require(
        n <= DenseMatrix.MAX_SIZE, "a dense matrix holds at most %d peers, this one has %d",
        DenseMatrix.MAX_SIZE, n);
    double[] data = new double[n * n];
    for (int i = 0; i < n; i++) {
      for (int k = rowPtr[i]; k < rowPtr[i + 1]; k++) {
        data[i * n + cols[k]] = vals[k];
      }
    }
    return DenseMatrix.adopt(n, data);
  }

  @Override
  public CsrMatrix toCsr() {
    return this;
  }

  @Override
  public double[][] toArray() {
    return toDense().toArray();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CsrMatrix other
        && other.n == n
        && Arrays.equals(rowPtr, other.rowPtr)
        && Arrays.equals(cols, other.cols)
        && Arrays.equals(vals, other.vals);
  }

  @Override
  public int hashCode() {
    return Objects.hash(n, Arrays.hashCode(cols), Arrays.hashCode(vals));
  }

  @Override
  public String toString() {
    return "CsrMatrix[n=" + n + ", stored=" + vals.length + "]";
  }

  /**
   * Builds a {@link CsrMatrix} row by row, in increasing row order; rows not given are empty.
   * Not thread-safe; use once.
   */
  /** Entries after adding a row; in int the sum wrapped negative and nothing grew. */
  static int entriesAfter(int size, int row) {
    long after = (long) size + row;
    Checks.require(after <= Integer.MAX_VALUE - 8,
        "%d entries and a row of %d would be more than %d", size, row, Integer.MAX_VALUE - 8);
    return (int) after;
  }

  public static final class Builder {
    private final int n;
    private final int[] rowPtr;
    private int[] cols;
    private double[] vals;
    private int size;
    private int nextRow;
    private boolean built;

    private Builder(int n, int expectedEntries) {
      checkSize(n);
      Checks.require(expectedEntries >= 0, "expectedEntries must be >= 0, was %d",
          expectedEntries);
      this.n = n;
      this.rowPtr = new int[n + 1];
      this.cols = new int[expectedEntries];
      this.vals = new double[expectedEntries];
    }

    /**
     * Sets row {@code row}: its columns (any order, no repeats) and their values.
     *
     * @param row greater than every row given before
     * @param rowCols columns in {@code [0, n)}; not modified
     * @param rowVals finite values {@code >= 0}, one per column; not modified
     * @return this builder
     * @throws IllegalArgumentException naming the bad row, column or value, or the sizes when
     *     the row would take the matrix past {@code 2^31 - 9} entries; the builder is then as it
     *     was before the call
     */
    public Builder row(int row, int[] rowCols, double[] rowVals) {
      Checks.require(!built, "build() was already called");
      Checks.require(row >= nextRow && row < n,
          "rows must be given in increasing order within [0, %d): got %d after %d", n, row,
          nextRow - 1);
      Checks.require(rowCols.length == rowVals.length,
          "row %d: %d columns but %d values", row, rowCols.length, rowVals.length);
      for (int i = nextRow; i <= row; i++) {
        rowPtr[i] = size;
      }
      ensureCapacity(entriesAfter(size, rowCols.length));
      int start = size;
      try {
        for (int k = 0; k < rowCols.length; k++) {
          int c = rowCols[k];
          double v = rowVals[k];
          Checks.require(
              c >= 0 && c < n, "row %d: column %d is out of range [0, %d)", row, c, n);
          if (!(v >= 0) || v == Double.POSITIVE_INFINITY) {
            throw new IllegalArgumentException(
                "entry (" + row + ", " + c + ") must be finite and >= 0, was " + v);
          }
          cols[size] = c;
          vals[size++] = v;
        }
        sortRow(row, start, size);
      } catch (IllegalArgumentException e) {
        size = start; // a refused row leaves nothing behind: the builder stays usable
        throw e;
      }
      nextRow = row + 1;
      return this;
    }

    private void sortRow(int row, int start, int end) {
      boolean sorted = true;
      for (int k = start + 1; k < end; k++) {
        if (cols[k] <= cols[k - 1]) {
          sorted = false;
          break;
        }
      }
      if (sorted) {
        return;
      }
      Integer[] order = new Integer[end - start];
      for (int k = 0; k < order.length; k++) {
        order[k] = start + k;
      }
      Arrays.sort(order, (a, b) -> Integer.compare(cols[a], cols[b]));
      int[] c = new int[order.length];
      double[] v = new double[order.length];
      for (int k = 0; k < order.length; k++) {
        c[k] = cols[order[k]];
        v[k] = vals[order[k]];
        if (k > 0 && c[k] == c[k - 1]) {
          throw new IllegalArgumentException("row " + row + ": column " + c[k] + " given twice");
        }
      }
      System.arraycopy(c, 0, cols, start, c.length);
      System.arraycopy(v, 0, vals, start, v.length);
    }

    private void ensureCapacity(int needed) {
      if (needed > cols.length) {
        int capacity = (int) Math.min(Integer.MAX_VALUE - 8, Math.max(needed, 2L * cols.length));
        Checks.require(needed <= capacity, "more than %d entries", capacity);
        cols = Arrays.copyOf(cols, capacity);
        vals = Arrays.copyOf(vals, capacity);
      }
    }

    /** The matrix; copies the arrays only when the expected size was not exact. */
    public CsrMatrix build() {
      Checks.require(!built, "build() was already called");
      built = true;
      for (int i = nextRow; i <= n; i++) {
        rowPtr[i] = size;
      }
      int[] c = size == cols.length ? cols : Arrays.copyOf(cols, size);
      double[] v = size == vals.length ? vals : Arrays.copyOf(vals, size);
      return new CsrMatrix(n, rowPtr, c, v);
    }
  }
}
