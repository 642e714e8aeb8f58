package io.bittensor.learning;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.DoubleSupplier;

/** Central-difference checks of analytic gradients, for the tests. */
final class GradientCheck {
  private GradientCheck() {}

  /**
   * {@code (up - down)} over the step a float {@code v} actually takes to {@code v + h} and
   * {@code v - h} (not {@code 2h}): the losses' central difference there.
   */
  static double centralDifference(float v, double h, double up, double down) {
    return (up - down) / ((double) (float) (v + h) - (double) (float) (v - h));
  }

  /**
   * Checks {@code analytic[i]} against {@code (L(x + h) - L(x - h)) / 2h} for each (or every
   * {@code stride}-th) element of {@code x}, perturbing it in place and restoring it.
   */
  static void check(String what, float[] x, float[] analytic, DoubleSupplier loss, double h,
      double tolerance, int stride, long seed) {
    for (int i = 0; i < x.length; i += stride) {
      float saved = x[i];
      x[i] = (float) (saved + h);
      double up = loss.getAsDouble();
      x[i] = (float) (saved - h);
      double down = loss.getAsDouble();
      x[i] = saved;
      double numeric = centralDifference(saved, h, up, down);
      double err = Math.abs(numeric - analytic[i]);
      assertTrue(err <= tolerance * Math.max(1, Math.abs(numeric)),
          what + "[" + i + "]: analytic " + analytic[i] + ", numeric " + numeric + " (seed "
              + seed + ")");
    }
  }
}
