package io.bittensor.learning;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.DoubleSupplier;

/** Central-difference checks of analytic gradients, for the tests. */
final class GradientCheck {
  private GradientCheck() {}

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
      // The step actually taken in float, not h.
      double step = ((double) (float) (saved + h)) - ((double) (float) (saved - h));
      double numeric = (up - down) / step;
      double err = Math.abs(numeric - analytic[i]);
      assertTrue(err <= tolerance * Math.max(1, Math.abs(numeric)),
          what + "[" + i + "]: analytic " + analytic[i] + ", numeric " + numeric + " (seed "
              + seed + ")");
    }
  }
}
