package io.bittensor.incentive;

import java.util.Arrays;
import java.util.stream.DoubleStream;

/**
 * An immutable vector with one finite value per peer (uid): stake, ranks, trust, consensus,
 * incentive, emission.
 *
 * <pre>{@code
 * PeerVector stake = PeerVector.of(10, 5, 0, 85);
 * double share = stake.get(3) / stake.sum();   // 0.85
 * }</pre>
 *
 * <p>Values are finite (never NaN or infinite), and so is their sum; {@link #of} copies its
 * argument, so later changes to the caller's array do not show. Thread-safe: immutable.
 */
public final class PeerVector {
  private final double[] values;
  private final double sum;

  private PeerVector(double[] values, boolean computed) {
    double total = 0;
    for (int i = 0; i < values.length; i++) {
      double v = values[i];
      if (!Double.isFinite(v)) {
        String message = "value[" + i + "] must be finite, was " + v;
        throw computed ? new ArithmeticException(message) : new IllegalArgumentException(message);
      }
      total += v;
    }
    if (!Double.isFinite(total)) {
      String message = "the sum of the vector overflows a double";
      throw computed ? new ArithmeticException(message) : new IllegalArgumentException(message);
    }
    this.values = values;
    this.sum = total;
  }

  /**
   * A vector of the given values.
   *
   * @param values one per peer; copied, not modified
   * @throws IllegalArgumentException if a value is NaN or infinite, or their sum overflows a
   *     double
   */
  public static PeerVector of(double... values) {
    return new PeerVector(values.clone(), false);
  }

  /** A vector of {@code n} zeros. */
  public static PeerVector zeros(int n) {
    if (n < 0) {
      throw new IllegalArgumentException("size must be >= 0, was " + n);
    }
    return new PeerVector(new double[n], false);
  }

  /**
   * Takes ownership of {@code values} without copying: for our kernels' fresh arrays only. A
   * non-finite value there is an overflow, reported as {@link ArithmeticException}.
   */
  static PeerVector adopt(double[] values) {
    return new PeerVector(values, true);
  }

  /** The number of peers. */
  public int size() {
    return values.length;
  }

  /** The value of peer {@code uid}. */
  public double get(int uid) {
    return values[uid];
  }

  /** The sum of all values (computed once, left to right). */
  public double sum() {
    return sum;
  }

  /** A copy of the values. */
  public double[] toArray() {
    return values.clone();
  }

  /** The values as a stream, in uid order. */
  public DoubleStream stream() {
    return Arrays.stream(values);
  }

  /** The array itself, for kernels in this package; callers must not modify it. */
  double[] raw() {
    return values;
  }

  /** True when every value is at least zero. */
  public boolean isNonNegative() {
    for (double v : values) {
      if (v < 0) {
        return false;
      }
    }
    return true;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PeerVector other && Arrays.equals(values, other.values);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(values);
  }

  @Override
  public String toString() {
    if (values.length <= 16) {
      return Arrays.toString(values);
    }
    return "PeerVector[n=" + values.length + ", sum=" + sum + "]";
  }
}
