package io.bittensor.learning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;

/** {@link NnOps} at the edges of the float range. */
class NnOpsStabilityTest {
  /**
   * A row shorter than about 2.9e-39 (subnormal floats) has a length whose inverse is past the
   * float range: scaled by that inverse as a float, it became Infinity and NaN.
   */
  @Test
  void aTinyRowScalesToUnitLength() {
    float[] x = {3e-40f, -4e-40f, 0f, 1f, 0f, 0f, 0f, 0f, 0f};
    NnOps.unitRows(x, 3, 3);
    assertArrayEquals(new float[] {0.6f, -0.8f, 0f, 1f, 0f, 0f, 0f, 0f, 0f}, x, 1e-6f);
  }
}
