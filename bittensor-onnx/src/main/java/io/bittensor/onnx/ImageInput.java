package io.bittensor.onnx;

import io.bittensor.core.Modality;
import java.util.Arrays;
import java.util.Objects;

/**
 * IMAGE input: pixels {@code [batch, sequence, channels, height, width]}, UINT8 in {@code [0,
 * 255]} or FLOAT32 in {@code [0, 1]}, fed to a model input {@code [N, channels, height, width]}
 * FLOAT as {@code (pixel / 255 - mean[c]) / std[c]} (float pixels skip the division by 255).
 * Batch and sequence are flattened into the model's batch; the answer has one row per picture.
 *
 * <pre>{@code
 * // PaddleOCR's text-direction classifier: RGB 48 x 192, (px/255 - 0.5) / 0.5
 * ImageInput in = ImageInput.of(3, 48, 192)
 *     .withNormalization(new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.5f, 0.5f, 0.5f});
 * }</pre>
 *
 * <p>Sizes of 0 are taken from the model when it declares them; a request of another size is
 * refused with {@code BAD_SHAPE} naming the expected one. Immutable and thread-safe.
 *
 * @param inputName the model input; empty for the model's only input not given as a constant
 * @param channels channels per pixel, or 0 for the model's
 * @param height rows, or 0 for the model's
 * @param width columns, or 0 for the model's
 * @param mean per-channel mean subtracted after scaling to [0, 1] (one value: every channel);
 *     copied
 * @param std per-channel divisor, each at least {@link Float#MIN_NORMAL} and small enough that
 *     {@code (1 + |mean[c]|) / std[c]} is finite, so no pixel in [0, 1] normalises to infinity
 *     (one value: every channel); copied
 */
public record ImageInput(
    String inputName, int channels, int height, int width, float[] mean, float[] std)
    implements InputAdapter {
  /**
   * Checks sizes and normalisation; copies the arrays.
   *
   * @throws IllegalArgumentException if a size is negative, mean and std differ in length or are
   *     empty or (channels given) have neither one value nor one per channel, a mean is not
   *     finite, or a std is not finite, below {@link Float#MIN_NORMAL}, or so small for its mean
   *     that a pixel would normalise to infinity
   */
  public ImageInput {
    Objects.requireNonNull(inputName, "inputName");
    if (channels < 0 || height < 0 || width < 0) {
      throw new IllegalArgumentException(
          "image sizes must be >= 0 (0: the model's), was " + channels + "x" + height + "x"
              + width);
    }
    mean = mean.clone();
    std = std.clone();
    if (mean.length == 0 || mean.length != std.length) {
      throw new IllegalArgumentException(
          "mean and std need the same number (>= 1) of values, were " + mean.length + " and "
              + std.length);
    }
    if (channels > 0 && mean.length != 1 && mean.length != channels) {
      // Known here; left to build() it read as a fault of the model file.
      throw new IllegalArgumentException("mean and std have " + mean.length + " values for an"
          + " image of " + channels + " channels: give one value (for every channel) or one per"
          + " channel");
    }
    for (float s : std) {
      if (!(s > 0) || Float.isInfinite(s)) {
        throw new IllegalArgumentException(
            "std values must be finite and > 0, was " + Arrays.toString(std));
      }
    }
    for (float m : mean) {
      if (!Float.isFinite(m)) {
        throw new IllegalArgumentException(
            "mean values must be finite, was " + Arrays.toString(mean));
      }
    }
    for (int c = 0; c < std.length; c++) {
      // A tiny std turns pixels into infinities, and the model's answer into NaN.
      if (std[c] < Float.MIN_NORMAL) {
        throw new IllegalArgumentException("std[" + c + "] = " + std[c]
            + " is below Float.MIN_NORMAL (" + Float.MIN_NORMAL + "): a pixel would normalise to"
            + " infinity or lose its precision");
      }
      if (!Float.isFinite((1 + Math.abs(mean[c])) / std[c])) {
        throw new IllegalArgumentException("std[" + c + "] = " + std[c] + " with mean[" + c
            + "] = " + mean[c] + " would normalise a pixel in [0, 1] to infinity: (1 + |mean|)"
            + " / std must be finite");
      }
    }
  }

  /** Sizes from the model, pixels scaled to [0, 1] and not normalised further. */
  public static ImageInput any() {
    return new ImageInput("", 0, 0, 0, new float[] {0f}, new float[] {1f});
  }

  /** The given size, pixels scaled to [0, 1] and not normalised further. */
  public static ImageInput of(int channels, int height, int width) {
    return new ImageInput("", channels, height, width, new float[] {0f}, new float[] {1f});
  }

  /** This adapter with per-channel normalisation {@code (x - mean[c]) / std[c]}. */
  public ImageInput withNormalization(float[] mean, float[] std) {
    return new ImageInput(inputName, channels, height, width, mean, std);
  }

  /** This adapter feeding the model input {@code name}. */
  public ImageInput withInputName(String name) {
    return new ImageInput(name, channels, height, width, mean, std);
  }

  /** A copy of the means. */
  @Override
  public float[] mean() {
    return mean.clone();
  }

  /** A copy of the divisors. */
  @Override
  public float[] std() {
    return std.clone();
  }

  /** {@link Modality#IMAGE}. */
  @Override
  public Modality modality() {
    return Modality.IMAGE;
  }

  /** Equal when every component is equal (arrays by content). */
  @Override
  public boolean equals(Object o) {
    return o instanceof ImageInput i
        && inputName.equals(i.inputName)
        && channels == i.channels
        && height == i.height
        && width == i.width
        && Arrays.equals(mean, i.mean)
        && Arrays.equals(std, i.std);
  }

  @Override
  public int hashCode() {
    return Objects.hash(
        inputName, channels, height, width, Arrays.hashCode(mean), Arrays.hashCode(std));
  }

  @Override
  public String toString() {
    return "ImageInput[" + (inputName.isEmpty() ? "" : inputName + " ") + channels + "x"
        + height + "x" + width + ", mean " + Arrays.toString(mean) + ", std "
        + Arrays.toString(std) + "]";
  }
}
