package io.bittensor.learning.internal;

/**
 * Argument checks shared by the builders, with messages naming the setting.
 *
 * <p>Internal: users must not import it.
 */
public final class Checks {
  private Checks() {}

  /** {@code value} when finite and {@code > 0}; otherwise an IllegalArgumentException naming it. */
  public static double positive(double value, String name) {
    if (!(value > 0) || !Double.isFinite(value)) {
      throw new IllegalArgumentException(name + " must be finite and > 0, was " + value);
    }
    return value;
  }

  /**
   * {@code value} when finite and {@code >= 0}; otherwise an IllegalArgumentException naming it.
   */
  public static double nonNegative(double value, String name) {
    if (!(value >= 0) || !Double.isFinite(value)) {
      throw new IllegalArgumentException(name + " must be finite and >= 0, was " + value);
    }
    return value;
  }

  /** {@code value} when in [0, 1); otherwise an IllegalArgumentException naming it. */
  public static double decay(double value, String name) {
    if (!(value >= 0 && value < 1)) {
      throw new IllegalArgumentException(name + " must be in [0, 1), was " + value);
    }
    return value;
  }

  /** {@code value} when {@code >= 1}; otherwise an IllegalArgumentException naming it. */
  public static int atLeastOne(int value, String name) {
    if (value < 1) {
      throw new IllegalArgumentException(name + " must be >= 1, was " + value);
    }
    return value;
  }
}
