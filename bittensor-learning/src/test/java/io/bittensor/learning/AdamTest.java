package io.bittensor.learning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.bittensor.core.internal.StateFile;
import java.util.List;
import java.util.Random;
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

  /**
   * The second moment of a gradient past about 5.8e20 does not fit a float: kept as one it
   * became infinite, the step {@code m / sqrt(v)} was 0 then and at every later step, and the
   * value never moved again.
   */
  @Test
  void aHugeGradientStillMovesTheValueAndLaterGradientsStillCount() {
    Parameter p = new Parameter("p", new float[] {1f, 1f});
    p.gradients()[0] = 1e21f;
    p.gradients()[1] = -3e38f;
    Adam adam = Adam.over(List.of(p), 0.1);
    adam.step();
    assertEquals(0.9f, p.values()[0], 1e-6, "the first step is lr against the gradient");
    assertEquals(1.1f, p.values()[1], 1e-6);
    for (int i = 0; i < 100; i++) {
      p.gradients()[0] = 1f;
      p.gradients()[1] = 1f;
      adam.step();
    }
    assertTrue(Float.isFinite(p.values()[0]) && p.values()[0] < 0.9f,
        "later gradients still move it: " + p.values()[0]);
  }

  /**
   * Where a float holds the second moment, every step is the one float storage gives, bit for
   * bit: the models trained before the second moment could pass a float's range train the same.
   */
  @Test
  void gradientsAFloatsSquareHoldsStepAsWithFloatStorage() {
    Random random = new Random(5);
    float[] start = new float[64];
    for (int i = 0; i < start.length; i++) {
      start[i] = (float) random.nextGaussian();
    }
    Parameter p = new Parameter("p", start.clone());
    Adam adam = Adam.over(List.of(p), 1e-3);
    float[] x = start.clone();
    float[] m = new float[x.length];
    float[] v = new float[x.length];
    for (int t = 1; t <= 300; t++) {
      float[] g = new float[x.length];
      for (int i = 0; i < g.length; i++) {
        g[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(30) - 15));
      }
      System.arraycopy(g, 0, p.gradients(), 0, g.length);
      adam.step();
      double c1 = 1 - Math.pow(0.9, t);
      double c2 = 1 - Math.pow(0.999, t);
      double stepSize = 1e-3 * Math.sqrt(c2) / c1;
      double eps = 1e-8 * Math.sqrt(c2);
      for (int i = 0; i < x.length; i++) {
        m[i] = (float) (0.9 * m[i] + (1 - 0.9) * g[i]);
        v[i] = (float) (0.999 * v[i] + (1 - 0.999) * g[i] * g[i]);
        x[i] -= (float) (stepSize * m[i] / (Math.sqrt(v[i]) + eps));
      }
      assertArrayEquals(x, p.values(), "step " + t);
    }
  }

  private static byte[] saved(Adam adam) {
    StateFile.Writer w = new StateFile.Writer("ADAMTEST");
    adam.save(w, "a/");
    return w.toBytes();
  }

  private static Adam restored(byte[] checkpoint, Parameter p) throws Exception {
    Adam adam = Adam.over(List.of(p), 0.1);
    StateFile.Reader r = StateFile.Reader.decode(checkpoint, "ADAMTEST", "test");
    adam.restore(r, "a/");
    r.apply();
    return adam;
  }

  /**
   * A checkpoint keeps the second moment as floats ({@code v/NAME}, as always) while a float
   * holds it, and as doubles ({@code v64/NAME}) once it has passed a float's range; either way
   * the restored optimiser takes the same next step.
   */
  @Test
  void aSecondMomentPastAFloatsRangeIsCheckpointedWhole() throws Exception {
    for (float gradient : new float[] {3f, 1e30f}) {
      Parameter p = new Parameter("p", new float[] {1f, 2f});
      Adam adam = Adam.over(List.of(p), 0.1);
      p.gradients()[0] = gradient;
      p.gradients()[1] = 0.5f;
      adam.step();
      byte[] checkpoint = saved(adam);
      StateFile.Reader r = StateFile.Reader.decode(checkpoint, "ADAMTEST", "test");
      boolean huge = gradient > 1e20f;
      assertEquals(huge, r.has("a/v64/p"), "v64 for " + gradient);
      assertFalse(huge == r.has("a/v/p"), "v for " + gradient);
      Parameter q = new Parameter("p", p.values().clone());
      Adam same = restored(checkpoint, q);
      for (int step = 0; step < 3; step++) {
        p.gradients()[0] = -gradient;
        q.gradients()[0] = -gradient;
        adam.step();
        same.step();
        assertArrayEquals(p.values(), q.values(), gradient + ", step " + step);
      }
      assertEquals(4, same.steps());
    }
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
  void aMissingParameterIsNamed() {
    Parameter p = new Parameter("p", new float[1]);
    var e = assertThrows(NullPointerException.class,
        () -> Adam.over(java.util.Arrays.asList(p, null), 0.1));
    assertEquals("params[1]", e.getMessage());
    e = assertThrows(NullPointerException.class, () -> Adam.over(null, 0.1));
    assertEquals("params", e.getMessage());
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
