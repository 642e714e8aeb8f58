package io.bittensor.learning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

  /**
   * Rows are ints: summing the evaluations of billions of positions (text, say) wrapped to a
   * negative count, with a negative accuracy and loss. The sum now refuses to wrap.
   */
  @Test
  void aSumOfMoreRowsThanAnIntHoldsIsRefused() {
    Evaluation big = new Evaluation(0.5, 7, Integer.MAX_VALUE, 0, 0, 0);
    Evaluation one = new Evaluation(0.5, 1, 1, 0, 0, 0);
    var e = assertThrows(ArithmeticException.class, () -> big.plus(one));
    assertTrue(e.getMessage().contains("more than " + Integer.MAX_VALUE + " rows"),
        e.getMessage());
    assertEquals(Integer.MAX_VALUE, big.plus(new Evaluation(0, 0, 0, 0, 0, 0)).rows());
  }

  @Test
  void aStepsAccuracyIsItsCorrectRowsOverItsRows() {
    assertEquals(0.75, new StepResult(1, 0, 3, 4, 0, 0, List.of(), 0).accuracy());
    assertEquals(0, new StepResult(0, 0, 0, 0, 0, 0, List.of(), 0).accuracy());
  }
}
