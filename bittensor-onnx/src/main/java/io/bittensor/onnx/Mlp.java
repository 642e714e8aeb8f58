package io.bittensor.onnx;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Random;

/**
 * A multi-layer perceptron described in Java, with the reference forward pass that its ONNX
 * export ({@link OnnxExport}) reproduces: dense layers ({@code y = x W + b}), ReLU, tanh, softmax
 * over the features, and layer normalisation. The gating layers and distilled students that the
 * market trains are of this shape.
 *
 * <pre>{@code
 * float[][] weights4x8 = new float[4][8], weights8x3 = new float[8][3];   // [in][out]
 * float[] bias8 = new float[8], ones8 = new float[8], zeros8 = new float[8], bias3 = new float[3];
 * Mlp mlp = Mlp.of(4, List.of(
 *     new Mlp.Dense(weights4x8, bias8), Mlp.Activation.RELU,
 *     new Mlp.LayerNorm(ones8, zeros8, 1e-5f),
 *     new Mlp.Dense(weights8x3, bias3), Mlp.Activation.SOFTMAX));
 * float[] y = mlp.forward(new float[] {1, 2, 3, 4});           // 3 probabilities
 * OnnxExport.write(mlp, OnnxExport.Options.defaults(), Path.of("gate.onnx"));
 * }</pre>
 *
 * <p>Immutable and thread-safe: layers copy their arrays in and out.
 */
public final class Mlp {
  /** One layer: {@link Dense}, {@link LayerNorm} or an {@link Activation}. */
  public sealed interface Layer permits Dense, LayerNorm, Activation {}

  /**
   * A dense layer {@code y = x W + b}.
   *
   * @param weights {@code [in][out]}, rectangular, finite; copied
   * @param bias {@code [out]}, finite; copied
   */
  public record Dense(float[][] weights, float[] bias) implements Layer {
    /** Checks shapes and values; copies the arrays. */
    public Dense {
      Objects.requireNonNull(weights, "weights");
      Objects.requireNonNull(bias, "bias");
      for (int i = 0; i < weights.length; i++) {
        Objects.requireNonNull(weights[i], "weights[" + i + "]");
      }
      if (weights.length == 0 || weights[0].length == 0) {
        throw new IllegalArgumentException("weights must be [in >= 1][out >= 1]");
      }
      int out = weights[0].length;
      float[][] w = new float[weights.length][];
      for (int i = 0; i < weights.length; i++) {
        if (weights[i].length != out) {
          throw new IllegalArgumentException(
              "weights must be rectangular: row "
                  + i
                  + " has "
                  + weights[i].length
                  + " columns, row 0 has "
                  + out);
        }
        w[i] = requireFinite(weights[i].clone(), "weights[" + i + "]");
      }
      weights = w;
      if (bias.length != out) {
        throw new IllegalArgumentException(
            "bias must have " + out + " values (the weights' columns), had " + bias.length);
      }
      bias = requireFinite(bias.clone(), "bias");
    }

    /** The input size. */
    public int in() {
      return weights.length;
    }

    /** The output size. */
    public int out() {
      return bias.length;
    }

    /** A copy of the weights. */
    @Override
    public float[][] weights() {
      float[][] w = new float[weights.length][];
      for (int i = 0; i < w.length; i++) {
        w[i] = weights[i].clone();
      }
      return w;
    }

    /** A copy of the bias. */
    @Override
    public float[] bias() {
      return bias.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Dense d
          && Arrays.deepEquals(weights, d.weights)
          && Arrays.equals(bias, d.bias);
    }

    @Override
    public int hashCode() {
      return 31 * Arrays.deepHashCode(weights) + Arrays.hashCode(bias);
    }

    @Override
    public String toString() {
      return "Dense[" + in() + " -> " + out() + "]";
    }
  }

  /**
   * Layer normalisation over the features: {@code (x - mean) / sqrt(var + epsilon) * gamma + beta},
   * with the biased variance (ONNX {@code LayerNormalization}, axis -1).
   *
   * @param gamma scale per feature, at least 2; copied
   * @param beta shift per feature, as many as {@code gamma}; copied
   * @param epsilon added to the variance, {@code > 0}
   */
  public record LayerNorm(float[] gamma, float[] beta, float epsilon) implements Layer {
    /** Checks sizes and values; copies the arrays. */
    public LayerNorm {
      Objects.requireNonNull(gamma, "gamma");
      Objects.requireNonNull(beta, "beta");
      if (gamma.length < 2 || gamma.length != beta.length) {
        // ONNX Runtime's LayerNormalization refuses a single feature (its output would be beta).
        throw new IllegalArgumentException(
            "gamma and beta need the same size >= 2, were " + gamma.length + " and " + beta.length);
      }
      if (!(epsilon > 0) || !Float.isFinite(epsilon)) {
        throw new IllegalArgumentException("epsilon must be finite and > 0, was " + epsilon);
      }
      gamma = requireFinite(gamma.clone(), "gamma");
      beta = requireFinite(beta.clone(), "beta");
    }

    /** Normalisation with scale 1 and shift 0 over {@code size} features, epsilon 1e-5. */
    public static LayerNorm identity(int size) {
      float[] ones = new float[size];
      Arrays.fill(ones, 1f);
      return new LayerNorm(ones, new float[size], 1e-5f);
    }

    /** A copy of the scales. */
    @Override
    public float[] gamma() {
      return gamma.clone();
    }

    /** A copy of the shifts. */
    @Override
    public float[] beta() {
      return beta.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof LayerNorm l
          && Arrays.equals(gamma, l.gamma)
          && Arrays.equals(beta, l.beta)
          && Float.compare(epsilon, l.epsilon) == 0;
    }

    @Override
    public int hashCode() {
      return 31 * (31 * Arrays.hashCode(gamma) + Arrays.hashCode(beta)) + Float.hashCode(epsilon);
    }

    @Override
    public String toString() {
      return "LayerNorm[" + gamma.length + ", epsilon " + epsilon + "]";
    }
  }

  /** Element-wise or per-row activations. */
  public enum Activation implements Layer {
    /** {@code max(0, x)}. */
    RELU,
    /** {@code tanh(x)}. */
    TANH,
    /** {@code exp(x_i) / sum_j exp(x_j)} over the features of a row. */
    SOFTMAX
  }

  private final int inputDim;
  private final List<Layer> layers;
  private final int outputDim;

  private Mlp(int inputDim, List<Layer> layers, int outputDim) {
    this.inputDim = inputDim;
    this.layers = layers;
    this.outputDim = outputDim;
  }

  /**
   * A network over {@code inputDim} features.
   *
   * @param layers applied in order; the sizes must chain (a dense layer's input, a normalisation's
   *     size, equal to the features coming in)
   * @throws IllegalArgumentException naming the first layer whose size does not chain
   * @throws NullPointerException naming a missing layer ({@code "layer 2"})
   */
  public static Mlp of(int inputDim, List<Layer> layers) {
    if (inputDim < 1) {
      throw new IllegalArgumentException("inputDim must be >= 1, was " + inputDim);
    }
    Objects.requireNonNull(layers, "layers");
    int index = 0;
    for (Layer l : layers) {
      // Before List.copyOf, whose own refusal of a null names nothing.
      Objects.requireNonNull(l, "layer " + index++);
    }
    List<Layer> copy = List.copyOf(layers);
    int features = inputDim;
    for (int i = 0; i < copy.size(); i++) {
      Layer l = copy.get(i);
      if (l instanceof Dense d) {
        if (d.in() != features) {
          throw new IllegalArgumentException(
              "layer "
                  + i
                  + " ("
                  + d
                  + ") takes "
                  + d.in()
                  + " features, "
                  + features
                  + " come in");
        }
        features = d.out();
      } else if (l instanceof LayerNorm n && n.gamma.length != features) {
        throw new IllegalArgumentException(
            "layer "
                + i
                + " ("
                + n
                + ") normalises "
                + n.gamma.length
                + " features, "
                + features
                + " come in");
      }
    }
    return new Mlp(inputDim, copy, features);
  }

  /**
   * A network of dense layers of the given sizes with {@code hidden} between them (none after the
   * last), weights drawn from {@code java.util.Random(seed)} with variance {@code 1/in} and biases
   * uniform in [-0.1, 0.1]: a reproducible starting point.
   *
   * @param sizes input size then each layer's output size; at least two, each {@code >= 1}
   * @throws IllegalArgumentException if fewer than two sizes or one below 1
   */
  public static Mlp random(int[] sizes, Activation hidden, long seed) {
    Objects.requireNonNull(hidden, "hidden");
    if (sizes.length < 2) {
      throw new IllegalArgumentException(
          "sizes needs the input size and at least one layer, was " + Arrays.toString(sizes));
    }
    Random random = new Random(seed);
    List<Layer> layers = new ArrayList<>();
    for (int k = 1; k < sizes.length; k++) {
      int in = sizes[k - 1];
      int out = sizes[k];
      if (in < 1 || out < 1) {
        throw new IllegalArgumentException("sizes must be >= 1, was " + Arrays.toString(sizes));
      }
      float[][] w = new float[in][out];
      double scale = 1.0 / Math.sqrt(in);
      for (float[] row : w) {
        for (int j = 0; j < out; j++) {
          row[j] = (float) (random.nextGaussian() * scale);
        }
      }
      float[] b = new float[out];
      for (int j = 0; j < out; j++) {
        b[j] = (float) (random.nextDouble() * 0.2 - 0.1);
      }
      layers.add(new Dense(w, b));
      if (k < sizes.length - 1) {
        layers.add(hidden);
      }
    }
    return of(sizes[0], layers);
  }

  /** Features in. */
  public int inputDim() {
    return inputDim;
  }

  /** Features out. */
  public int outputDim() {
    return outputDim;
  }

  /** The layers in order (unmodifiable). */
  public List<Layer> layers() {
    return layers;
  }

  /**
   * The reference forward pass for one row (sums in double, results in float).
   *
   * @param x {@code inputDim} features; not modified
   * @return {@code outputDim} features
   * @throws IllegalArgumentException if {@code x} has the wrong size
   */
  public float[] forward(float[] x) {
    if (x.length != inputDim) {
      throw new IllegalArgumentException(
          "input must have " + inputDim + " features, had " + x.length);
    }
    float[] v = x.clone();
    for (Layer l : layers) {
      v = apply(l, v);
    }
    return v;
  }

  /** {@link #forward(float[])} for each row; not modified. */
  public float[][] forward(float[][] rows) {
    float[][] out = new float[rows.length][];
    for (int i = 0; i < rows.length; i++) {
      out[i] = forward(rows[i]);
    }
    return out;
  }

  private static float[] apply(Layer l, float[] v) {
    if (l instanceof Dense d) {
      float[] y = new float[d.out()];
      for (int j = 0; j < y.length; j++) {
        double s = d.bias[j];
        for (int i = 0; i < v.length; i++) {
          s += (double) v[i] * d.weights[i][j];
        }
        y[j] = (float) s;
      }
      return y;
    }
    if (l instanceof LayerNorm n) {
      double mean = 0;
      for (float f : v) {
        mean += f;
      }
      mean /= v.length;
      double var = 0;
      for (float f : v) {
        var += (f - mean) * (f - mean);
      }
      var /= v.length;
      double inv = 1.0 / Math.sqrt(var + n.epsilon);
      float[] y = new float[v.length];
      for (int i = 0; i < v.length; i++) {
        y[i] = (float) ((v[i] - mean) * inv * n.gamma[i] + n.beta[i]);
      }
      return y;
    }
    Activation a = (Activation) l;
    float[] y = new float[v.length];
    switch (a) {
      case RELU -> {
        for (int i = 0; i < v.length; i++) {
          y[i] = Math.max(0f, v[i]);
        }
      }
      case TANH -> {
        for (int i = 0; i < v.length; i++) {
          y[i] = (float) Math.tanh(v[i]);
        }
      }
      case SOFTMAX -> {
        double max = Double.NEGATIVE_INFINITY;
        for (float f : v) {
          max = Math.max(max, f);
        }
        double sum = 0;
        double[] e = new double[v.length];
        for (int i = 0; i < v.length; i++) {
          e[i] = Math.exp(v[i] - max);
          sum += e[i];
        }
        for (int i = 0; i < v.length; i++) {
          y[i] = (float) (e[i] / sum);
        }
      }
    }
    return y;
  }

  private static float[] requireFinite(float[] values, String what) {
    for (int i = 0; i < values.length; i++) {
      if (!Float.isFinite(values[i])) {
        throw new IllegalArgumentException(
            what + "[" + i + "] is " + values[i] + "; values must be finite");
      }
    }
    return values;
  }

  @Override
  public String toString() {
    return "Mlp[" + inputDim + " -> " + outputDim + ", " + layers + "]";
  }
}
