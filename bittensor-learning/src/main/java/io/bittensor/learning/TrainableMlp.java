package io.bittensor.learning;

import io.bittensor.core.Experimental;
import io.bittensor.onnx.Mlp;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A multi-layer perceptron that trains: dense layers, ReLU, tanh and softmax over a batch of
 * rows, with back-propagation into accumulated gradients. It starts from, and ends as, an
 * {@link Mlp}, the immutable description that {@code OnnxExport} writes as ONNX.
 *
 * <pre>{@code
 * TrainableMlp net = TrainableMlp.random(new int[] {784, 64, 10}, Mlp.Activation.RELU, 42);
 * Adam adam = Adam.over(net.parameters(), 1e-3);
 * int rows = 32;
 * float[] x = new float[rows * 784];                           // a batch, row-major
 * int[] labels = new int[rows];
 * float[] logits = net.forward(x, rows);                       // x: rows * 784, row-major
 * float[] dLogits = new float[rows * 10];
 * NnOps.softmaxCrossEntropy(logits, rows, 10, labels, dLogits);
 * net.backward(dLogits, false);
 * adam.step();
 * Mlp trained = net.toMlp();                                   // ready for OnnxExport
 * }</pre>
 *
 * <p>Layer normalisation is not trainable here; {@link #of} refuses it.
 *
 * <p>Not thread-safe while training ({@link #forward}, {@link #backward}); {@link #predict} keeps
 * no state and may run on many threads while nothing trains.
 */
@Experimental
public final class TrainableMlp {
  private sealed interface Step permits DenseStep, ActStep {}

  private record DenseStep(int in, int out, Parameter w, Parameter b) implements Step {}

  private record ActStep(Mlp.Activation kind) implements Step {}

  private final int inputDim;
  private final int outputDim;
  private final List<Step> steps;
  private final List<Parameter> parameters;
  /** acts[i]: the input of step i (acts[0] a copy of x); acts[steps]: the output. */
  private final float[][] acts;
  private final int[] widths;
  private float[] grad;
  private float[] gradOther;
  private int rows = -1;

  private TrainableMlp(int inputDim, List<Step> steps) {
    this.inputDim = inputDim;
    this.steps = steps;
    this.widths = new int[steps.size() + 1];
    widths[0] = inputDim;
    List<Parameter> ps = new ArrayList<>();
    for (int i = 0; i < steps.size(); i++) {
      Step s = steps.get(i);
      if (s instanceof DenseStep d) {
        ps.add(d.w());
        ps.add(d.b());
        widths[i + 1] = d.out();
      } else {
        widths[i + 1] = widths[i];
      }
    }
    this.outputDim = widths[steps.size()];
    this.parameters = List.copyOf(ps);
    this.acts = new float[steps.size() + 1][];
  }

  /**
   * A trainable copy of {@code mlp}: its weights are copied, the description is not changed.
   *
   * @throws IllegalArgumentException if the network has a layer normalisation
   */
  public static TrainableMlp of(Mlp mlp) {
    Objects.requireNonNull(mlp, "mlp");
    List<Step> steps = new ArrayList<>();
    int n = 0;
    for (Mlp.Layer l : mlp.layers()) {
      if (l instanceof Mlp.Dense d) {
        float[][] w = d.weights();
        float[] flat = new float[d.in() * d.out()];
        for (int i = 0; i < d.in(); i++) {
          System.arraycopy(w[i], 0, flat, i * d.out(), d.out());
        }
        steps.add(new DenseStep(d.in(), d.out(), new Parameter("dense" + n + ".weight", flat),
            new Parameter("dense" + n + ".bias", d.bias())));
      } else if (l instanceof Mlp.Activation a) {
        steps.add(new ActStep(a));
      } else {
        throw new IllegalArgumentException(
            "layer " + n + " (" + l + ") is not trainable here: only dense layers and activations");
      }
      n++;
    }
    return new TrainableMlp(mlp.inputDim(), List.copyOf(steps));
  }

  /**
   * A network of dense layers of the given sizes with {@code hidden} between them, initialised as
   * {@link Mlp#random} does (reproducible from {@code seed}).
   *
   * @param sizes the input size, then each layer's output size; at least two, each {@code >= 1}
   * @throws IllegalArgumentException if fewer than two sizes or one below 1
   */
  public static TrainableMlp random(int[] sizes, Mlp.Activation hidden, long seed) {
    return of(Mlp.random(sizes, hidden, seed));
  }

  /** Features in. */
  public int inputDim() {
    return inputDim;
  }

  /** Features out. */
  public int outputDim() {
    return outputDim;
  }

  /** The trainable arrays, weights then bias of each dense layer, in order (unmodifiable). */
  public List<Parameter> parameters() {
    return parameters;
  }

  /**
   * The training forward pass: keeps what {@link #backward} needs.
   *
   * @param x {@code rows * inputDim()} values, row-major; not modified
   * @param rows the batch size, {@code >= 1}
   * @return {@code rows * outputDim()} values, owned by this network and valid until the next
   *     forward; callers must not modify it
   * @throws IllegalArgumentException if {@code x} holds fewer than {@code rows * inputDim()}
   */
  public float[] forward(float[] x, int rows) {
    checkInput(x, rows);
    if (rows != this.rows) {
      for (int i = 0; i <= steps.size(); i++) {
        acts[i] = new float[rows * widths[i]];
      }
      int widest = 0;
      for (int w : widths) {
        widest = Math.max(widest, w);
      }
      grad = new float[rows * widest];
      gradOther = new float[rows * widest];
      this.rows = rows;
    }
    System.arraycopy(x, 0, acts[0], 0, rows * inputDim);
    for (int i = 0; i < steps.size(); i++) {
      apply(steps.get(i), acts[i], rows, widths[i], acts[i + 1]);
    }
    return acts[steps.size()];
  }

  /**
   * Back-propagates the gradient of the loss with respect to the last forward's output,
   * accumulating each parameter's gradient.
   *
   * @param dOutput {@code rows * outputDim()} values; not modified
   * @param inputGradient whether to compute the gradient with respect to the input
   * @return the input's gradient ({@code rows * inputDim()} values, owned by this network and
   *     valid until the next call), or null when not asked for
   * @throws IllegalStateException if no forward came first
   * @throws IllegalArgumentException if {@code dOutput} holds fewer than {@code rows *
   *     outputDim()} values, rows those of the last forward; nothing is accumulated then
   */
  public float[] backward(float[] dOutput, boolean inputGradient) {
    if (rows < 0) {
      throw new IllegalStateException("backward needs a forward first");
    }
    if ((long) rows * outputDim > dOutput.length) {
      throw new IllegalArgumentException("dOutput must hold rows * outputDim = " + rows + " * "
          + outputDim + " values (the last forward's), had " + dOutput.length);
    }
    float[] g = grad;
    float[] other = gradOther;
    System.arraycopy(dOutput, 0, g, 0, rows * outputDim);
    for (int i = steps.size() - 1; i >= 0; i--) {
      Step s = steps.get(i);
      int n = rows * widths[i + 1];
      boolean needDx = i > 0 || inputGradient;
      if (s instanceof DenseStep d) {
        NnOps.denseBackward(acts[i], rows, d.in(), d.w().values(), d.out(), g,
            d.w().gradients(), d.b().gradients(), needDx ? other : null);
      } else {
        switch (((ActStep) s).kind()) {
          case RELU -> NnOps.reluBackward(acts[i + 1], g, n, other);
          case TANH -> NnOps.tanhBackward(acts[i + 1], g, n, other);
          case SOFTMAX -> NnOps.softmaxBackward(acts[i + 1], g, rows, widths[i + 1], other);
        }
      }
      float[] t = g;
      g = other;
      other = t;
    }
    if (!inputGradient) {
      return null;
    }
    // The last swap left the input's gradient in g; hand out a stable copy of its rows.
    float[] dx = new float[rows * inputDim];
    System.arraycopy(g, 0, dx, 0, dx.length);
    return dx;
  }

  /**
   * The forward pass for inference: keeps no state.
   *
   * @param x {@code rows * inputDim()} values; not modified
   * @return a new array of {@code rows * outputDim()} values
   * @throws IllegalArgumentException if {@code x} holds fewer than {@code rows * inputDim()}
   */
  public float[] predict(float[] x, int rows) {
    checkInput(x, rows);
    float[] v = x;
    for (int i = 0; i < steps.size(); i++) {
      float[] y = new float[rows * widths[i + 1]];
      apply(steps.get(i), v, rows, widths[i], y);
      v = y;
    }
    return v == x ? x.clone() : v;
  }

  /** The network as it is now, as an immutable {@link Mlp} (weights copied). */
  public Mlp toMlp() {
    List<Mlp.Layer> layers = new ArrayList<>();
    for (Step s : steps) {
      if (s instanceof DenseStep d) {
        float[][] w = new float[d.in()][d.out()];
        float[] flat = d.w().values();
        for (int i = 0; i < d.in(); i++) {
          System.arraycopy(flat, i * d.out(), w[i], 0, d.out());
        }
        layers.add(new Mlp.Dense(w, d.b().values()));
      } else {
        layers.add(((ActStep) s).kind());
      }
    }
    return Mlp.of(inputDim, layers);
  }

  private void checkInput(float[] x, int rows) {
    if (rows < 1) {
      throw new IllegalArgumentException("rows must be >= 1, was " + rows);
    }
    if ((long) rows * inputDim > x.length) {
      throw new IllegalArgumentException("x must hold rows * inputDim = " + rows + " * " + inputDim
          + " values, had " + x.length);
    }
  }

  private static void apply(Step s, float[] x, int rows, int width, float[] y) {
    if (s instanceof DenseStep d) {
      NnOps.denseForward(x, rows, d.in(), d.w().values(), d.b().values(), d.out(), y);
      return;
    }
    int n = rows * width;
    switch (((ActStep) s).kind()) {
      case RELU -> NnOps.relu(x, n, y);
      case TANH -> NnOps.tanh(x, n, y);
      case SOFTMAX -> NnOps.softmaxRows(x, rows, width, y);
    }
  }

  @Override
  public String toString() {
    return "TrainableMlp[" + inputDim + " -> " + outputDim + ", " + steps.size() + " layers]";
  }
}
