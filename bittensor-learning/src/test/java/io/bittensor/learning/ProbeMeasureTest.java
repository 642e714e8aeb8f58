package io.bittensor.learning;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** {@link ProbeMeasure}: each cost on a row worked out by hand. */
class ProbeMeasureTest {
  /** Logits {@code ln(1, 2, 1)}, shifted: softmax {@code (1/4, 1/2, 1/4)} whatever the shift. */
  private static final float[] Z = {
      9f, 9f, 9f,
      3f, 3f + (float) Math.log(2), 3f};

  @Test
  void eachMeasureCostsTheTopClassLessThanAnother() {
    // {label, loss, 1 - p_y, (max other p - p_y + 1) / 2, 0/1 error}, on the second row, so that
    // a measure reading the wrong row or offset is caught.
    double[][] cases = {
        {1, Math.log(2), 0.5, (0.25 - 0.5 + 1) / 2, 0},
        {0, Math.log(4), 0.75, (0.5 - 0.25 + 1) / 2, 1},
        {2, Math.log(4), 0.75, (0.5 - 0.25 + 1) / 2, 1}};
    double logZ = 3 + Math.log(4);
    for (double[] c : cases) {
      int y = (int) c[0];
      for (ProbeMeasure m : ProbeMeasure.values()) {
        double cost = m.cost(Z, 3, 3, y, new double[] {0.25, 0.5, 0.25}, logZ);
        assertEquals(c[1 + m.ordinal()], cost, 1e-6, m + ", label " + y);
      }
    }
  }
}
