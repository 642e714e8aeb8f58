package io.bittensor.learning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class AdamTest {
  @Test
  void theFirstStepMovesEachValueByTheLearningRateAgainstItsGradient() {
    // Bias correction makes the first step lr * g / (|g| + eps): lr in the gradient's direction.
    Parameter p = new Parameter("p", new float[] {1f, -2f, 0.5f});
    p.gradients()[0] = 3f;
    p.gradients()[1] = -0.01f;
    Adam adam = Adam.over(List.of(p), 0.1);
    adam.step();
    assertEquals(0.9f, p.values()[0], 1e-6);
    assertEquals(-1.9f, p.values()[1], 1e-5);
    assertEquals(0.5f, p.values()[2], 0, "no gradient, no move");
    assertEquals(0f, p.gradients()[0], "the step clears the gradients");
    assertEquals(1, adam.steps());
  }

  @Test
  void minimisesAQuadratic() {
    Parameter p = new Parameter("x", new float[] {5f, -3f});
    Adam adam = Adam.over(List.of(p), 0.05);
    for (int i = 0; i < 2000; i++) {
      // f = (x0 - 1)^2 + 10 (x1 + 2)^2
      p.gradients()[0] = 2 * (p.values()[0] - 1);
      p.gradients()[1] = 20 * (p.values()[1] + 2);
      adam.step();
    }
    assertEquals(1, p.values()[0], 1e-2);
    assertEquals(-2, p.values()[1], 1e-2);
  }

  @Test
  void refusesSettingsOutOfRange() {
    var e = assertThrows(IllegalArgumentException.class, () -> Adam.over(List.of(), 0));
    assertTrue(e.getMessage().contains("learningRate"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> Adam.over(List.of(), 0.1, 1.0, 0.999, 1e-8));
    assertTrue(e.getMessage().contains("beta1"), e.getMessage());
  }
}
