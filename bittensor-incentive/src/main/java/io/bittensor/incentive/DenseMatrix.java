package io.bittensor.incentive;

import io.bittensor.incentive.internal.Checks;
import java.util.Arrays;
import java.util.Objects;

/**
 * A {@link PeerMatrix} stored densely, row-major in one {@code double[]}.
 *
 * <pre>{@code
 * DenseMatrix w = DenseMatrix.of(new double[][] {{0.0, 1.0}, {0.5, 0.5}});
 * w.get(1, 0);  // 0.5
 * }</pre>
 *
 * <p>Sizes up to 46,340 peers (the largest {@code n} with {@code n * n} entries in one array); use
 * {@link CsrMatrix} beyond a few thousand. Thread-safe: immutable.
 */
public final class DenseMatrix implements PeerMatrix {
  /** The largest {@code n} whose {@code n * n} entries fit one Java array. */
  public static final int MAX_SIZE = 46_340;

  private final int n;
  private final double[] data;

  private DenseMatrix(int n, double[] data) {
    this.n = n;
    this.data = data;
  }

  /**
   * A matrix of the given rows.
   *
   * @param rows a square array; copied, not modified
   * @throws IllegalArgumentException if {@code rows} is not square, or an entry is negative, NaN
   *     or infinite (the message names the entry)
   */
  public static DenseMatrix of(double[][] rows) {
    int n = rows.length;
    Checks.require(n <= MAX_SIZE, "dense matrices hold at most %d peers, got %d", MAX_SIZE, n);
    double[] data = new double[n * n];
    for (int i = 0; i < n; i++) {
      double[] row = rows[i];
      if (row == null || row.length != n) {
        throw new IllegalArgumentException(
            "matrix must be square: row " + i + " has " + (row == null ? "no" : row.length)
                + " entries, expected " + n);
      }
      System.arraycopy(row, 0, data, i * n, n);
    }
    checkEntries(n, data);
    return new DenseMatrix(n, data);
  }

  /**
   * A matrix of {@code n * n} entries in row-major order.
   *
   * @param data {@code n * n} entries; copied, not modified
   * @throws IllegalArgumentException if the length is not {@code n * n} or an entry is negative,
   *     NaN or infinite
   */
  public static DenseMatrix ofRowMajor(int n, double[] data) {
    Checks.require(n >= 0 && n <= MAX_SIZE, "n must be in [0, %d], was %d", MAX_SIZE, n);
    Checks.require(
        data.length == n * n, "row-major data for n=%d needs %d entries, got %d",
        n, n * n, data.length);
    double[] copy = data.clone();
    checkEntries(n, copy);
    return new DenseMatrix(n, copy);
  }

  /** Takes ownership of a fresh, valid array: for our kernels only. */
  static DenseMatrix adopt(int n, double[] data) {
    return new DenseMatrix(n, data);
  }

  private static void checkEntries(int n, double[] data) {
    for (int k = 0; k < data.length; k++) {
      double v = data[k];
      if (!(v >= 0) || v == Double.POSITIVE_INFINITY) {
        throw new IllegalArgumentException(
            "entry (" + (k / n) + ", " + (k % n) + ") must be finite and >= 0, was " + v);
      }
    }
  }

  @Override
  public int size() {
    return n;
  }

  @Override
  public double get(int row, int col) {
    Objects.checkIndex(row, n);
    Objects.checkIndex(col, n);
    return data[row * n + col];
  }

  @Override
  public long nonZeroCount() {
    long count = 0;
    for (double v : data) {
      if (v != 0) {
        count++;
      }
    }
    return count;
  }

  @Override
  public double rowSum(int row) {
    Objects.checkIndex(row, n);
    double sum = 0;
    for (int k = row * n, end = k + n; k < end; k++) {
      sum += data[k];
    }
    return sum;
  }

  /** A copy of row {@code row}. */
  public double[] row(int row) {
    Objects.checkIndex(row, n);
    return Arrays.copyOfRange(data, row * n, row * n + n);
  }

  /** A copy of all entries, row-major. */
  public double[] toRowMajor() {
    return data.clone();
  }

  /** The array itself, for kernels in this package; callers must not modify it. */
  double[] raw() {
    return data;
  }

  @Override
  public DenseMatrix toDense() {
    return this;
  }

  @Override
  public CsrMatrix toCsr() {
    return CsrMatrix.fromDense(n, data);
  }

  @Override
  public double[][] toArray() {
    double[][] rows = new double[n][];
    for (int i = 0; i < n; i++) {
      rows[i] = Arrays.copyOfRange(data, i * n, i * n + n);
    }
    return rows;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof DenseMatrix other && other.n == n && Arrays.equals(data, other.data);
  }

  @Override
  public int hashCode() {
    return 31 * n + Arrays.hashCode(data);
  }

  @Override
  public String toString() {
    return n <= 8 ? "DenseMatrix" + Arrays.deepToString(toArray()) : "DenseMatrix[n=" + n + "]";
  }
}
