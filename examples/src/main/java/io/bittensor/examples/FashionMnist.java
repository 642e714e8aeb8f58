package io.bittensor.examples;

import io.bittensor.core.Tensor;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.GZIPInputStream;

/**
 * The Fashion-MNIST test split (Zalando SE, MIT licence; vendored as a class-path resource with
 * its licence, see {@code NOTICE}): 10,000 grey 28x28 images of clothing in 10 classes, 1,000 each,
 * read from the IDX files.
 *
 * <pre>{@code
 * FashionMnist data = FashionMnist.testSplit();
 * Tensor x = data.batch(new int[] {0, 1, 2});    // [3, 1, 784] pixels in [0, 1]
 * int label = data.label(0);                     // 0..9, see CLASSES
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class FashionMnist {
  /** The class names, by label. */
  public static final String[] CLASSES = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
  /** Pixels per image. */
  public static final int PIXELS = 28 * 28;

  private final float[] pixels;
  private final int[] labels;

  private FashionMnist(float[] pixels, int[] labels) {
    this.pixels = pixels;
    this.labels = labels;
  }

  /**
   * Reads the vendored test split.
   *
   * @throws IOException if a resource is missing or not in IDX format
   */
  public static FashionMnist testSplit() throws IOException {
    int[] labels;
    try (DataInputStream in = open("t10k-labels-idx1-ubyte.gz")) {
      expect(in.readInt(), 2049, "labels magic");
      labels = new int[in.readInt()];
      for (int i = 0; i < labels.length; i++) {
        labels[i] = in.readUnsignedByte();
      }
    }
    float[] pixels;
    try (DataInputStream in = open("t10k-images-idx3-ubyte.gz")) {
      expect(in.readInt(), 2051, "images magic");
      expect(in.readInt(), labels.length, "image count");
      expect(in.readInt(), 28, "rows");
      expect(in.readInt(), 28, "columns");
      byte[] raw = new byte[labels.length * PIXELS];
      in.readFully(raw);
      pixels = new float[raw.length];
      for (int i = 0; i < raw.length; i++) {
        pixels[i] = Byte.toUnsignedInt(raw[i]) / 255f;
      }
    }
    return new FashionMnist(pixels, labels);
  }

  /** The number of images. */
  public int size() {
    return labels.length;
  }

  /** The label of image {@code i}. */
  public int label(int i) {
    return labels[i];
  }

  /** The labels of the given images. */
  public int[] labels(int[] idx) {
    int[] out = new int[idx.length];
    for (int i = 0; i < idx.length; i++) {
      out[i] = labels[idx[i]];
    }
    return out;
  }

  /** The given images' pixels, row after row ({@code idx.length * 784} values in [0, 1]). */
  public float[] pixels(int[] idx) {
    float[] out = new float[idx.length * PIXELS];
    for (int i = 0; i < idx.length; i++) {
      System.arraycopy(pixels, idx[i] * PIXELS, out, i * PIXELS, PIXELS);
    }
    return out;
  }

  /** The given images as a TENSOR batch {@code [idx.length, 1, 784]}. */
  public Tensor batch(int[] idx) {
    return Tensor.ofFloats(pixels(idx), idx.length, 1, PIXELS);
  }

  private static DataInputStream open(String name) throws IOException {
    InputStream raw = FashionMnist.class.getResourceAsStream("/fashion-mnist/" + name);
    if (raw == null) {
      throw new IOException("class-path resource /fashion-mnist/" + name + " is missing");
    }
    return new DataInputStream(new GZIPInputStream(raw, 1 << 16));
  }

  private static void expect(int got, int want, String what) throws IOException {
    if (got != want) {
      throw new IOException("Fashion-MNIST " + what + ": expected " + want + ", read " + got);
    }
  }
}
