package io.bittensor.learning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.onnx.Mlp;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TrainableMlpTest {
  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4, 5, 6})
  void backPropagationMatchesDifferencesThroughEveryLayer(long seed) {
    Random r = new Random(seed);
    Mlp.Activation[] acts = Mlp.Activation.values();
    TrainableMlp net = TrainableMlp.of(Mlp.of(5, List.of(
        Mlp.random(new int[] {5, 7}, Mlp.Activation.RELU, seed).layers().get(0),
        acts[r.nextInt(acts.length)],
        Mlp.random(new int[] {7, 4}, Mlp.Activation.RELU, seed + 1).layers().get(0),
        Mlp.Activation.TANH,
        Mlp.random(new int[] {4, 3}, Mlp.Activation.RELU, seed + 2).layers().get(0))));
    int rows = 3;
    float[] x = new float[rows * 5];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) r.nextGaussian();
    }
    int[] labels = {0, 2, 1};
    float[] y = net.forward(x, rows);
    float[] dy = new float[y.length];
    NnOps.softmaxCrossEntropy(y, rows, 3, labels, dy);
    float[] dx = net.backward(dy, true);
    java.util.function.DoubleSupplier loss =
        () -> NnOps.softmaxCrossEntropy(net.predict(x, rows), rows, 3, labels, null);
    for (Parameter p : net.parameters()) {
      GradientCheck.check(p.name(), p.values(), p.gradients().clone(), loss, 1e-3, 5e-3, 1, seed);
    }
    GradientCheck.check("input", x, dx, loss, 1e-3, 5e-3, 1, seed);
  }

  @Test
  void backwardWithoutTheInputGradientReturnsNullAndStillAccumulates() {
    TrainableMlp net = TrainableMlp.random(new int[] {3, 4, 2}, Mlp.Activation.TANH, 9);
    net.forward(new float[] {1, 2, 3}, 1);
    assertNull(net.backward(new float[] {1, -1}, false));
    float total = 0;
    for (float g : net.parameters().get(0).gradients()) {
      total += Math.abs(g);
    }
    assertTrue(total > 0, "the first layer's weights got a gradient");
  }

  @Test
  void roundTripsThroughMlpAndAgreesWithItsForwardPass() {
    Mlp mlp = Mlp.random(new int[] {6, 8, 5}, Mlp.Activation.RELU, 3);
    TrainableMlp net = TrainableMlp.of(mlp);
    float[] x = {0.1f, -0.4f, 2f, 0f, 1f, -1f, 3f, 0.5f, 0f, 0f, -2f, 1f};
    float[] batch = net.predict(x, 2);
    for (int r = 0; r < 2; r++) {
      float[] row = java.util.Arrays.copyOfRange(x, r * 6, r * 6 + 6);
      float[] ref = mlp.forward(row);
      for (int j = 0; j < 5; j++) {
        assertEquals(ref[j], batch[r * 5 + j], 1e-5, "row " + r + " output " + j);
      }
    }
    assertEquals(mlp.layers(), net.toMlp().layers(), "the same layers and weights back");
    assertArrayEquals(batch, net.forward(x, 2), "the training pass computes the same");
  }

  @Test
  void learnsASeparableProblem() {
    Random r = new Random(11);
    int rows = 200;
    float[] x = new float[rows * 2];
    int[] labels = new int[rows];
    for (int i = 0; i < rows; i++) {
      x[2 * i] = (float) r.nextGaussian();
      x[2 * i + 1] = (float) r.nextGaussian();
      labels[i] = x[2 * i] * x[2 * i + 1] > 0 ? 1 : 0; // XOR of the signs: not linear
    }
    TrainableMlp net = TrainableMlp.random(new int[] {2, 16, 2}, Mlp.Activation.TANH, 5);
    Adam adam = Adam.over(net.parameters(), 0.02);
    float[] dy = new float[rows * 2];
    for (int step = 0; step < 400; step++) {
      NnOps.softmaxCrossEntropy(net.forward(x, rows), rows, 2, labels, dy);
      net.backward(dy, false);
      adam.step();
    }
    float[] y = net.predict(x, rows);
    int ok = 0;
    for (int i = 0; i < rows; i++) {
      ok += NnOps.argmax(y, i, 2) == labels[i] ? 1 : 0;
    }
    assertTrue(ok >= 0.95 * rows, "XOR of signs learned: " + ok + " of " + rows);
  }

  @Test
  void misuseNamesTheProblem() {
    Mlp withNorm = Mlp.of(2, List.of(Mlp.LayerNorm.identity(2)));
    var e = assertThrows(IllegalArgumentException.class, () -> TrainableMlp.of(withNorm));
    assertTrue(e.getMessage().contains("LayerNorm"), e.getMessage());
    TrainableMlp net = TrainableMlp.random(new int[] {3, 2}, Mlp.Activation.RELU, 1);
    e = assertThrows(IllegalArgumentException.class, () -> net.forward(new float[5], 2));
    assertTrue(e.getMessage().contains("rows * inputDim = 2 * 3"), e.getMessage());
    assertThrows(IllegalStateException.class, () -> TrainableMlp.random(new int[] {3, 2},
        Mlp.Activation.RELU, 1).backward(new float[2], false));
  }

  @Test
  void aGradientShorterThanTheLastOutputNamesTheProblemAndLeavesTheGradients() {
    TrainableMlp net = TrainableMlp.random(new int[] {3, 4, 2}, Mlp.Activation.TANH, 1);
    net.forward(new float[] {1, 2, 3, 4, 5, 6}, 2);
    var e = assertThrows(IllegalArgumentException.class, () -> net.backward(new float[3], true));
    assertTrue(e.getMessage().contains("rows * outputDim = 2 * 2"), e.getMessage());
    for (Parameter p : net.parameters()) {
      for (float g : p.gradients()) {
        assertEquals(0f, g, p.name());
      }
    }
  }
}
