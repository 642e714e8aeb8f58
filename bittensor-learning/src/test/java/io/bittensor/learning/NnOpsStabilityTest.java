package io.bittensor.learning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@link NnOps} at the edges: of the float range, and of its arguments' ranges. */
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

  /**
   * A class label of -1 in the second row read the first row's last logit: a plausible loss and
   * a gradient with no -1 in it, and no error. Labels out of range are refused, naming the row.
   */
  @Test
  void aLabelOutOfRangeIsRefusedNotReadFromAnotherRow() {
    float[] logits = {1f, 2f, 3f, 4f, 5f, 6f};
    for (int[] labels : new int[][] {{0, -1}, {3, 0}}) {
      String bad = labels[0] == 0 ? "labels[1] must be in [0, 3), was -1"
          : "labels[0] must be in [0, 3), was 3";
      var e = assertThrows(IllegalArgumentException.class,
          () -> NnOps.softmaxCrossEntropy(logits, 2, 3, labels, new float[6]));
      assertTrue(e.getMessage().contains(bad), e.getMessage());
      e = assertThrows(IllegalArgumentException.class,
          () -> NnOps.softmaxCrossEntropyRows(logits, 2, 3, labels, new double[2]));
      assertTrue(e.getMessage().contains(bad), e.getMessage());
    }
  }
}
