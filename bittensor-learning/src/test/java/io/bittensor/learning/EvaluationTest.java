package io.bittensor.learning;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link Evaluation#plus} and the accuracies, which callers sum over their batches. */
class EvaluationTest {
  @Test
  void theSumOfTwoEvaluationsIsTheEvaluationOfTheirDataTogether() {
    Evaluation a = new Evaluation(0.5, 3, 4, 100, 1000, 1, 2);
    Evaluation b = new Evaluation(2.0, 1, 6, 50, 700, 4, 0);
    Evaluation sum = a.plus(b);
    // The loss is a mean over rows: weighted by each side's rows, not averaged.
    assertEquals((0.5 * 4 + 2.0 * 6) / 10, sum.loss(), 1e-15);
    assertEquals(new Evaluation(sum.loss(), 4, 10, 150, 1700, 5, 2), sum);
    assertEquals(0.4, sum.accuracy(), 1e-15);
    assertEquals(sum, b.plus(a));
    Evaluation none = new Evaluation(0, 0, 0, 0, 0, 0);
    assertEquals(a, a.plus(none));
    assertEquals(new Evaluation(0, 0, 0, 0, 0, 0, 0), none.plus(none), "no rows: loss 0");
    assertEquals(0, none.accuracy());
  }

  @Test
  void aStepsAccuracyIsItsCorrectRowsOverItsRows() {
    assertEquals(0.75, new StepResult(1, 0, 3, 4, 0, 0, List.of(), 0).accuracy());
    assertEquals(0, new StepResult(0, 0, 0, 0, 0, 0, List.of(), 0).accuracy());
  }
}
