package io.bittensor.learning;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** {@link ProbeMeasure}: each cost on a row worked out by hand. */
class ProbeMeasureTest {
  /** Logits {@code ln(1, 2, 1)}, shifted: softmax {@code (1/4, 1/2, 1/4)} whatever the shift. */
  private static final float[] Z = {
      9f, 9f, 9f,
      3f, 3f + (float) Math.log(2), 3f};

  private static double cost(ProbeMeasure m, int y) {
    // The second row, so that a measure reading the wrong row or offset is caught.
    int o = 3;
    double logZ = 3 + Math.log(4);
    return m.cost(Z, o, 3, y, new double[] {0.25, 0.5, 0.25}, logZ);
  }

  @Test
  void theHeadsTopClassCostsLittleInEveryMeasure() {
    assertEquals(Math.log(2), cost(ProbeMeasure.LOSS, 1), 1e-6);
    assertEquals(0.5, cost(ProbeMeasure.PROBABILITY, 1), 1e-12);
    // (max other p - p_y + 1) / 2 = (0.25 - 0.5 + 1) / 2
    assertEquals(0.375, cost(ProbeMeasure.MARGIN, 1), 1e-12);
    assertEquals(0, cost(ProbeMeasure.ERROR, 1));
  }

  @Test
  void anotherClassCostsMoreAndCountsAsAnError() {
    assertEquals(Math.log(4), cost(ProbeMeasure.LOSS, 0), 1e-6);
    assertEquals(0.75, cost(ProbeMeasure.PROBABILITY, 0), 1e-12);
    assertEquals(0.625, cost(ProbeMeasure.MARGIN, 2), 1e-12);
    assertEquals(1, cost(ProbeMeasure.ERROR, 2));
  }
}
