package io.bittensor.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** What an {@link Mlp} and its layers refuse, and how they say so. */
class MlpTest {
  private static void refusedNaming(String name, Executable e) {
    NullPointerException npe = assertThrows(NullPointerException.class, e);
    assertEquals(name, npe.getMessage());
  }

  @Test
  void aMissingLayerOrArrayIsRefusedByName() {
    float[][] w = {{1f, 2f}, {3f, 4f}};
    float[] b = {0f, 0f};
    refusedNaming("layer 1", () -> Mlp.of(2, Arrays.asList(new Mlp.Dense(w, b), null)));
    refusedNaming("layers", () -> Mlp.of(2, null));
    refusedNaming("hidden", () -> Mlp.random(new int[] {2, 3, 2}, null, 1));
    refusedNaming("weights", () -> new Mlp.Dense(null, b));
    refusedNaming("weights[1]", () -> new Mlp.Dense(new float[][] {{1f, 2f}, null}, b));
    refusedNaming("bias", () -> new Mlp.Dense(w, null));
    refusedNaming("gamma", () -> new Mlp.LayerNorm(null, b, 1e-5f));
    refusedNaming("beta", () -> new Mlp.LayerNorm(b, null, 1e-5f));
    assertEquals(2, Mlp.of(2, List.of(new Mlp.Dense(w, b), Mlp.Activation.RELU)).outputDim());
  }
}
