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

  /** Known channels: refused when given, not when a model is loaded, and not as the file's. */
  @Test
  void aNormalisationOfAnotherChannelCountIsRefusedWhereItIsGiven() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ImageInput.of(3, 48, 192)
            .withNormalization(new float[] {0.5f, 0.5f}, new float[] {0.5f, 0.5f}));
    assertEquals("mean and std have 2 values for an image of 3 channels: give one value (for"
        + " every channel) or one per channel", e.getMessage());
    assertArrayEquals(new float[] {0.5f, 0.5f, 0.5f}, ImageInput.of(3, 48, 192)
        .withNormalization(new float[] {0.5f, 0.5f, 0.5f}, new float[] {1, 1, 1}).mean());
    assertArrayEquals(new float[] {0.5f}, ImageInput.of(3, 48, 192)
        .withNormalization(new float[] {0.5f}, new float[] {1}).mean());
  }

  @Test
  void smallButSafeStdsAreAccepted() {
    ImageInput in = ImageInput.of(1, 2, 2)
        .withNormalization(new float[] {0.5f}, new float[] {Float.MIN_NORMAL * 4});
    assertArrayEquals(new float[] {Float.MIN_NORMAL * 4}, in.std());
  }
}
