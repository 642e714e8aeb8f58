package io.bittensor.incentive.internal;

/**
 * Argument checks whose messages name the bad value and what was expected.
 *
 * <p>Internal: not part of the public API; users must not import it.
 */
public final class Checks {
  private Checks() {}

  /** Throws {@link IllegalArgumentException} with a formatted message when {@code ok} is false. */
  public static void require(boolean ok, String format, Object... args) {
    if (!ok) {
      throw new IllegalArgumentException(String.format(java.util.Locale.ROOT, format, args));
    }
  }

  /** Throws unless {@code value} is finite and at least zero; {@code what} names it. */
  public static double nonNegativeFinite(double value, String what) {
    if (!(value >= 0) || value == Double.POSITIVE_INFINITY) {
      throw new IllegalArgumentException(what + " must be finite and >= 0, was " + value);
    }
    return value;
  }

  /** Throws unless {@code value} is finite and within {@code [lo, hi]}; {@code what} names it. */
  public static double inRange(double value, double lo, double hi, String what) {
    if (!(value >= lo && value <= hi)) {
      throw new IllegalArgumentException(
          what + " must be in [" + lo + ", " + hi + "], was " + value);
    }
    return value;
  }

  /**
   * Checks that every entry of {@code values} is finite and non-negative.
   *
   * @param what names the array in the message, e.g. "stake"
   */
  public static void allNonNegativeFinite(double[] values, String what) {
    for (int i = 0; i < values.length; i++) {
      double v = values[i];
      if (!(v >= 0) || v == Double.POSITIVE_INFINITY) {
        throw new IllegalArgumentException(
            what + "[" + i + "] must be finite and >= 0, was " + v);
      }
    }
  }
}
