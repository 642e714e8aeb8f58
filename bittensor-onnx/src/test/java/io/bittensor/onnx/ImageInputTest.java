package io.bittensor.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ImageInputTest {
  @Test
  void aSubnormalStdIsRefusedAsItTurnsPixelsIntoInfinities() {
    // 1 / Float.MIN_VALUE overflows: every pixel off the mean would normalise to +-Infinity.
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ImageInput.of(1, 2, 2)
            .withNormalization(new float[] {0.5f}, new float[] {Float.MIN_VALUE}));
    // Float.MIN_NORMAL as the running JDK prints it: JDK 19 prints floats in fewer digits.
    assertEquals("std[0] = " + Float.MIN_VALUE + " is below Float.MIN_NORMAL ("
        + Float.MIN_NORMAL + "): a pixel would normalise to infinity or lose its precision",
        e.getMessage());
  }

  @Test
  void aStdThatMakesAPixelInfiniteWithItsMeanIsRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ImageInput.of(2, 2, 2)
            .withNormalization(new float[] {0f, 1e30f}, new float[] {1f, 1e-10f}));
    assertEquals("std[1] = 1.0E-10 with mean[1] = 1.0E30 would normalise a pixel in [0, 1] to"
        + " infinity: (1 + |mean|) / std must be finite", e.getMessage());
  }

  @Test
  void smallButSafeStdsAreAccepted() {
    ImageInput in = ImageInput.of(1, 2, 2)
        .withNormalization(new float[] {0.5f}, new float[] {Float.MIN_NORMAL * 4});
    assertArrayEquals(new float[] {Float.MIN_NORMAL * 4}, in.std());
  }
}
