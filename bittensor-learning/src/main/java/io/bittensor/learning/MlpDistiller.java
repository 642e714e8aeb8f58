package io.bittensor.learning;

import io.bittensor.core.DType;
import io.bittensor.core.Distiller;
import io.bittensor.core.Experimental;
import io.bittensor.core.Modality;
import io.bittensor.core.Tensor;
import io.bittensor.core.internal.StateFile;
import io.bittensor.learning.internal.Checks;
import io.bittensor.learning.internal.Rows;
import io.bittensor.onnx.Mlp;
import io.bittensor.onnx.OnnxExport;
import io.bittensor.onnx.OnnxModelException;
import io.bittensor.onnx.OnnxPeer;
import io.bittensor.onnx.TensorInput;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A {@link Distiller} whose student is a small multi-layer perceptron on the neuron's own input,
 * trained with Adam; it exports as ONNX and serves as an {@link OnnxPeer} that answers like the
 * network with no network at all.
 *
 * <pre>{@code
 * MlpDistiller student = MlpDistiller.builder()
 *     .inputDim(784).hidden(64).outputDim(10)
 *     .objective(Distiller.Objective.KL)       // G(x) rows are distributions
 *     .seed(3)
 *     .build();
 * NoisyTopKGate gate = NoisyTopKGate.builder()...build();
 * TrainableMlp head = TrainableMlp.random(new int[] {10, 32, 10}, Mlp.Activation.RELU, 1);
 * Learner learner = Learner.builder().gate(gate).head(head).distiller(student).build();
 * ...                                          // training fits the student too
 * student.writeOnnx(Path.of("student.onnx"));
 * try (OnnxPeer offline = student.toOnnxPeer()) { ... }
 * }</pre>
 *
 * <p>Inputs: TENSOR {@code [batch, sequence, inputDim]} FLOAT32 (or IMAGE pixels, flattened per
 * position, UINT8 scaled to [0, 1]); each position is one row for the student. With {@link
 * Distiller.Objective#KL} the student's last layer is a softmax (training works on its logits),
 * with MSE and COSINE it is the last dense layer.
 *
 * <p>Not thread-safe while training; {@link #predict} keeps no state and may be called from many
 * threads once training stops.
 */
@Experimental
public final class MlpDistiller implements Distiller {
  private final Modality modality;
  private final Objective objective;
  private final TrainableMlp net;
  private final Adam adam;

  private MlpDistiller(Builder b) {
    this.modality = b.modality;
    this.objective = b.objective;
    int[] sizes = new int[b.hidden.size() + 2];
    sizes[0] = b.inputDim;
    for (int i = 0; i < b.hidden.size(); i++) {
      sizes[i + 1] = b.hidden.get(i);
    }
    sizes[sizes.length - 1] = b.outputDim;
    this.net = TrainableMlp.random(sizes, b.activation, b.seed);
    this.adam = Adam.over(net.parameters(), b.learningRate);
  }

  /** A builder; {@link Builder#inputDim} and {@link Builder#outputDim} are required. */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public Objective objective() {
    return objective;
  }

  @Override
  public Modality modality() {
    return modality;
  }

  @Override
  public int outputDim() {
    return net.outputDim();
  }

  /** The student's input size per position. */
  public int inputDim() {
    return net.inputDim();
  }

  /**
   * The student's trainable arrays, weights then bias of each layer, live (unmodifiable list): to
   * copy a trained student into another of the same shape, or to inspect it.
   */
  public List<Parameter> parameters() {
    return net.parameters();
  }

  /**
   * {@inheritDoc}
   *
   * @throws IllegalArgumentException if the shapes do not fit the student, the batch has no rows,
   *     or a value of the input or the target is not finite; the student is then as it was.
   *     Under {@link Objective#KL} a negative target value counts as 0, in the loss and the
   *     gradient alike (KL compares distributions; use MSE or COSINE for embeddings)
   */
  @Override
  public double fit(Tensor input, Tensor target) {
    float[] x = rowsOf(input);
    int rows = x.length / net.inputDim();
    if (rows == 0) {
      // Its mean objective would be 0 / 0, and a step on no data would still move the values.
      throw new IllegalArgumentException("a batch to fit holds at least one example and"
          + " position, was " + Arrays.toString(input.shape()));
    }
    Objects.requireNonNull(target, "target");
    if (target.dtype() != DType.FLOAT32 || target.rank() != 3 || target.dim(0) != input.dim(0)
        || target.dim(1) != input.dim(1) || target.dim(2) != net.outputDim()) {
      throw new IllegalArgumentException("target must be FLOAT32 [" + input.dim(0) + ", "
          + input.dim(1) + ", " + net.outputDim() + "], was " + target.dtype() + " "
          + Arrays.toString(target.shape()));
    }
    // One NaN or infinity would make every weight NaN for good.
    requireFinite(input, "input");
    requireFinite(target, "target");
    float[] t = target.toFloatArray();
    if (objective == Objective.KL) {
      // A negative value has no KL term, and must not pull on the gradient either: it counts
      // as 0. Refusing it would stop every step of a learner one peer answers negatives to.
      for (int i = 0; i < t.length; i++) {
        if (t[i] < 0) {
          t[i] = 0;
        }
      }
    }
    float[] y = net.forward(x, rows);
    float[] dy = new float[y.length];
    int cols = net.outputDim();
    double loss = switch (objective) {
      case KL -> NnOps.softmaxKl(y, t, rows, cols, dy);
      case MSE -> NnOps.meanSquaredError(y, t, rows, cols, dy);
      case COSINE -> NnOps.cosineDistance(y, t, rows, cols, dy);
    };
    net.backward(dy, false);
    adam.step();
    return loss;
  }

  @Override
  public Tensor predict(Tensor input) {
    float[] x = rowsOf(input);
    int rows = x.length / net.inputDim();
    if (rows == 0) {
      return Tensor.ofFloats(new float[0], input.dim(0), input.dim(1), net.outputDim());
    }
    float[] y = net.predict(x, rows);
    if (objective == Objective.KL) {
      NnOps.softmaxRows(y, rows, net.outputDim(), y);
    }
    return Tensor.ofFloats(y, input.dim(0), input.dim(1), net.outputDim());
  }

  /**
   * The student as it is now, as the network a peer would serve: the trained layers, and a final
   * softmax under {@link Distiller.Objective#KL}.
   */
  public Mlp toMlp() {
    Mlp trained = net.toMlp();
    if (objective != Objective.KL) {
      return trained;
    }
    List<Mlp.Layer> layers = new ArrayList<>(trained.layers());
    layers.add(Mlp.Activation.SOFTMAX);
    return Mlp.of(trained.inputDim(), layers);
  }

  /**
   * Writes the student as an ONNX model (TENSOR modality and this output size in its metadata).
   *
   * @throws IOException if the file cannot be written
   * @throws IllegalStateException unless the student's modality is TENSOR
   */
  public void writeOnnx(Path file) throws IOException {
    requireTensor();
    OnnxExport.write(toMlp(), exportOptions(), file);
  }

  /**
   * The student served as an {@link OnnxPeer}, from its ONNX export (the caller closes it).
   *
   * @throws OnnxModelException if ONNX Runtime refuses the model (a bug here)
   * @throws IllegalStateException unless the student's modality is TENSOR
   */
  public OnnxPeer toOnnxPeer() throws OnnxModelException {
    requireTensor();
    return OnnxPeer.builder()
        .model(OnnxExport.toBytes(toMlp(), exportOptions()))
        .input(TensorInput.passThrough())
        .build();
  }

  private OnnxExport.Options exportOptions() {
    return OnnxExport.Options.defaults().withOutputDim(net.outputDim());
  }

  private void requireTensor() {
    if (modality != Modality.TENSOR) {
      throw new IllegalStateException("ONNX export serves TENSOR inputs; this student takes "
          + modality);
    }
  }

  private float[] rowsOf(Tensor input) {
    checkInput(input);
    return Rows.floats(input, "input");
  }

  /**
   * Checks that the student reads {@code input}, as {@link #fit} and {@link #predict} do first.
   *
   * @throws IllegalArgumentException if it does not
   */
  void checkInput(Tensor input) {
    Objects.requireNonNull(input, "input");
    if (input.rank() != modality.inputRank() || !modality.accepts(input.dtype())) {
      throw new IllegalArgumentException("input must be " + modality + " of rank "
          + modality.inputRank() + " " + modality.inputTypes() + ", was " + input.dtype() + " "
          + Arrays.toString(input.shape()));
    }
    // The dimensions after the sequence, counted even where the batch or sequence is empty.
    long features = 1;
    for (int i = 2; i < input.rank() && features <= Integer.MAX_VALUE; i++) {
      features *= input.dim(i);
    }
    if (features != net.inputDim()) {
      throw new IllegalArgumentException("the student takes " + net.inputDim()
          + " features per position, the input has " + features + " "
          + Arrays.toString(input.shape()));
    }
  }

  private static void requireFinite(Tensor t, String what) {
    int bad = t.firstNonFinite();
    if (bad >= 0) {
      throw new IllegalArgumentException(what + " element " + bad + " is " + t.floatAt(bad)
          + "; values must be finite");
    }
  }

  /** Writes the student's parameters and optimiser under {@code prefix}. */
  void save(StateFile.Writer w, String prefix) {
    Parameter.save(net.parameters(), w, prefix);
    adam.save(w, prefix + "adam/");
  }

  /** Stages reading what {@link #save} wrote. */
  void restore(StateFile.Reader r, String prefix) {
    Parameter.restore(net.parameters(), r, prefix);
    adam.restore(r, prefix + "adam/");
  }

  @Override
  public String toString() {
    return "MlpDistiller[" + objective + ", " + net + "]";
  }

  /**
   * Settings of an {@link MlpDistiller}.
   *
   * <p>Not thread-safe; each {@link #build} gives a fresh student.
   */
  public static final class Builder {
    private Modality modality = Modality.TENSOR;
    private Objective objective = Objective.KL;
    private int inputDim;
    private int outputDim;
    private List<Integer> hidden = List.of(64);
    private Mlp.Activation activation = Mlp.Activation.RELU;
    private double learningRate = 1e-3;
    private long seed;

    private Builder() {}

    /**
     * The input's modality (default TENSOR; IMAGE pixels also work, but only TENSOR exports).
     *
     * @throws IllegalArgumentException for TEXT and SPEECH
     */
    public Builder modality(Modality modality) {
      Objects.requireNonNull(modality, "modality");
      if (modality != Modality.TENSOR && modality != Modality.IMAGE) {
        throw new IllegalArgumentException("a student reads TENSOR or IMAGE inputs, was "
            + modality);
      }
      this.modality = modality;
      return this;
    }

    /** How answers are compared (default KL). */
    public Builder objective(Objective objective) {
      this.objective = Objects.requireNonNull(objective, "objective");
      return this;
    }

    /**
     * Features per position (required).
     *
     * @throws IllegalArgumentException if below 1
     */
    public Builder inputDim(int dim) {
      this.inputDim = Checks.atLeastOne(dim, "inputDim");
      return this;
    }

    /**
     * The network's answer size (required).
     *
     * @throws IllegalArgumentException if below 1
     */
    public Builder outputDim(int dim) {
      this.outputDim = Checks.atLeastOne(dim, "outputDim");
      return this;
    }

    /**
     * Hidden layer sizes (default one of 64; none for a linear student).
     *
     * @throws IllegalArgumentException if a size is below 1
     */
    public Builder hidden(int... sizes) {
      List<Integer> h = new ArrayList<>();
      for (int s : sizes) {
        h.add(Checks.atLeastOne(s, "hidden size"));
      }
      this.hidden = List.copyOf(h);
      return this;
    }

    /** The activation between layers (default ReLU). */
    public Builder activation(Mlp.Activation activation) {
      this.activation = Objects.requireNonNull(activation, "activation");
      return this;
    }

    /**
     * Adam's step size (default 1e-3).
     *
     * @throws IllegalArgumentException if not finite and positive
     */
    public Builder learningRate(double rate) {
      this.learningRate = Checks.positive(rate, "learningRate");
      return this;
    }

    /** The seed of the initial weights (default 0). */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /**
     * A fresh student.
     *
     * @throws IllegalStateException if inputDim or outputDim is missing
     */
    public MlpDistiller build() {
      if (inputDim == 0 || outputDim == 0) {
        throw new IllegalStateException("inputDim and outputDim are required, were " + inputDim
            + " and " + outputDim);
      }
      return new MlpDistiller(this);
    }
  }
}
