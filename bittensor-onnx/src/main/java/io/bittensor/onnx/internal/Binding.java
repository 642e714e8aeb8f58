package io.bittensor.onnx.internal;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.bittensor.core.Rejection;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.onnx.ImageInput;
import io.bittensor.onnx.InputAdapter;
import io.bittensor.onnx.ModelInfo;
import io.bittensor.onnx.OnnxModelException;
import io.bittensor.onnx.OutputAdapter;
import io.bittensor.onnx.SpeechInput;
import io.bittensor.onnx.TensorInput;
import io.bittensor.onnx.TextInput;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * An input adapter and an output adapter bound to one model: checked against the model's declared
 * inputs and outputs when built, then used for every batch. Thread-safe: all per-run state lives
 * in the worker's {@link Scratch}.
 */
public abstract class Binding implements AutoCloseable {
  /** The most floats of a buffer or array a run fills: what one tensor (one buffer) holds. */
  static final long MAX_FLOATS = Tensor.MAX_BYTES / 4;

  /** A run whose outputs no buffer holds: its requests fail PAYLOAD_TOO_LARGE. */
  public static final class TooLarge extends RuntimeException {
    TooLarge(String message) {
      super(message, null, false, false);
    }
  }

  protected final SharedSession model;
  protected final OrtEnvironment env;
  protected final Shaper shaper;
  protected final OutputAdapter out;
  protected final ModelInfo.Port output;
  private final Map<String, OnnxTensor> constants;
  /** The data input when its first dimension, the rows of every model run, is fixed; or null. */
  private ModelInfo.Port fixedRows;

  Binding(SharedSession model, OutputAdapter out, int outputDim, Map<String, OnnxTensor> constants)
      throws OnnxModelException {
    this.model = model;
    this.env = model.env();
    this.out = out;
    this.shaper = new Shaper(out, outputDim);
    this.constants = constants;
    ModelInfo info = model.info();
    if (out.outputName().isEmpty()) {
      if (info.outputs().isEmpty()) {
        throw mismatch("the model declares no outputs");
      }
      this.output = info.outputs().get(0);
    } else {
      this.output = info.output(out.outputName()).orElseThrow(() -> mismatch(
          "the model has no output \"" + out.outputName() + "\"; it has " + info.outputs()));
    }
    if (!output.type().equals("FLOAT")) {
      throw mismatch("output " + output + " must be FLOAT to answer with float32 tensors");
    }
  }

  /**
   * Binds {@code in} and {@code out} to {@code model}.
   *
   * @param constants model inputs given as fixed values; converted here, closed with the binding
   * @throws OnnxModelException naming the input or output that does not fit
   */
  public static Binding create(
      SharedSession model,
      InputAdapter in,
      OutputAdapter out,
      int outputDim,
      Map<String, Tensor> constants)
      throws OnnxModelException {
    Map<String, OnnxTensor> values = new LinkedHashMap<>();
    try {
      for (Map.Entry<String, Tensor> c : constants.entrySet()) {
        ModelInfo.Port port =
            model
                .info()
                .input(c.getKey())
                .orElseThrow(
                    () ->
                        new OnnxModelException(
                            model.source()
                                + ": constant input \""
                                + c.getKey()
                                + "\" is not an input of the model; it has "
                                + model.info().inputs()));
        values.put(c.getKey(), constant(model.env(), port, c.getValue(), model.source()));
      }
      Binding b = switch (in.modality()) {
        case TEXT -> new TextBinding(model, (TextInput) in, out, outputDim, values);
        case IMAGE -> new ImageBinding(model, (ImageInput) in, out, outputDim, values);
        case SPEECH -> new SpeechBinding(model, (SpeechInput) in, out, outputDim, values);
        case TENSOR -> new TensorBinding(model, (TensorInput) in, out, outputDim, values);
      };
      b.checkAllFed();
      return b;
    } catch (Throwable e) { // an Error too: the tensors made so far are native memory
      values.values().forEach(OnnxTensor::close);
      throw e;
    }
  }

  private static OnnxTensor constant(
      OrtEnvironment env, ModelInfo.Port port, Tensor t, String source) throws OnnxModelException {
    long[] shape = Arrays.stream(t.shape()).asLongStream().toArray();
    if (port.rank() == 0 && t.elementCount() == 1) {
      shape = new long[0];
    }
    String want = port.type();
    String have = switch (t.dtype()) {
      case FLOAT32 -> "FLOAT";
      case INT64 -> "INT64";
      case UINT8 -> "UINT8";
    };
    if (!want.equals(have)) {
      throw new OnnxModelException(
          source + ": constant input " + port + " needs " + want + ", was " + have);
    }
    // ONNX Runtime would refuse every run for it; a rank-0 port may also be one of unknown shape.
    boolean fits = port.rank() == 0 || port.rank() == shape.length;
    for (int i = 0; fits && port.rank() > 0 && i < shape.length; i++) {
      fits = port.dim(i) < 0 || port.dim(i) == shape[i];
    }
    if (!fits) {
      throw new OnnxModelException(source + ": constant input " + port + " was given shape "
          + Arrays.toString(t.shape()));
    }
    ByteBuffer direct = ByteBuffer.allocateDirect(t.byteSize()).order(ByteOrder.nativeOrder());
    direct.put(t.data().order(ByteOrder.LITTLE_ENDIAN)).flip();
    try {
      return switch (t.dtype()) {
        case FLOAT32 -> OnnxTensor.createTensor(env, direct.asFloatBuffer(), shape);
        case INT64 -> OnnxTensor.createTensor(env, direct.asLongBuffer(), shape);
        case UINT8 -> OnnxTensor.createTensor(env, direct, shape, OnnxJavaType.UINT8);
      };
    } catch (OrtException e) {
      throw new OnnxModelException(
          source + ": constant input " + port + " was refused: " + e.getMessage(), e);
    }
  }

  /** The model inputs this binding feeds itself (not constants). */
  abstract Set<String> fedInputs();

  private void checkAllFed() throws OnnxModelException {
    for (String name : constants.keySet()) {
      if (fedInputs().contains(name)) { // the constant would replace what the requests send
        throw mismatch("model input \"" + name + "\" is fed by the " + modalityName()
            + " adapter; it cannot also be a constant input");
      }
    }
    for (ModelInfo.Port p : model.info().inputs()) {
      if (!fedInputs().contains(p.name()) && !constants.containsKey(p.name())) {
        throw mismatch("model input " + p + " is not fed by the " + modalityName()
            + " adapter; give it a fixed value with constantInput(\"" + p.name() + "\", ...)");
      }
    }
  }

  abstract String modalityName();

  /**
   * The bytes of the largest buffer a run copies {@code input} into for the model, in {@code
   * long}: the engine refuses a request whose copy no buffer holds before the model runs. Here a
   * float per element (UINT8 pixels widen four times); adapters that copy more say so.
   */
  public long inputBytes(Tensor input) {
    return 4L * input.elementCount();
  }

  /** Checks a request beyond the tensor standard's own checks; empty when acceptable. */
  public abstract Optional<Rejection> check(Tensor input);

  /**
   * Requests with equal keys may share a model run: the same element type and the same
   * dimensions after the batch.
   */
  public Object batchKey(Tensor input) {
    List<Object> key = new ArrayList<>(input.rank());
    key.add(input.dtype());
    for (int i = 1; i < input.rank(); i++) {
      key.add(input.dim(i));
    }
    return key;
  }

  /**
   * Runs the model on a batch of compatible requests.
   *
   * @return one answer per request, in order
   */
  public abstract Tensor[] run(List<Tensor> inputs, RunGuard guard, Scratch scratch)
      throws OrtException;

  /** The model's declared inputs and outputs. */
  public ModelInfo info() {
    return model.info();
  }

  /** Closes the constant inputs; idempotent. */
  @Override
  public synchronized void close() {
    constants.values().forEach(OnnxTensor::close);
    constants.clear();
  }

  OnnxModelException mismatch(String what) {
    return new OnnxModelException(
        model.source() + " does not fit the " + modalityName() + " adapter: " + what);
  }

  /**
   * The named input, or the only input not excluded of the {@code type} the adapter feeds (else
   * the only one not excluded, of any type); fails naming the candidates.
   */
  ModelInfo.Port pickInput(String name, Set<String> excluded, String type)
      throws OnnxModelException {
    if (!name.isEmpty()) {
      return model.info().input(name).orElseThrow(() -> mismatch(
          "the model has no input \"" + name + "\"; it has " + model.info().inputs()));
    }
    List<ModelInfo.Port> free = new ArrayList<>();
    for (ModelInfo.Port p : model.info().inputs()) {
      if (!excluded.contains(p.name()) && !constants.containsKey(p.name())) {
        free.add(p);
      }
    }
    // An input of another type cannot take the data (Silero VAD's INT64 sr beside its FLOAT
    // samples): it is left to the check of the inputs not fed, which names constantInput.
    List<ModelInfo.Port> typed = free.stream().filter(p -> isType(p, type)).toList();
    if (typed.size() == 1) {
      return typed.get(0);
    }
    if (free.size() != 1) {
      throw mismatch("cannot tell which input takes the data: candidates " + free
          + "; name it on the adapter, or give the others with constantInput");
    }
    return free.get(0);
  }

  /** False when every model run has a fixed size: then each request runs alone. */
  public boolean combinable() {
    return fixedRows == null;
  }

  /** Notes that {@code data}'s first dimension, where fixed, is the size of every model run. */
  void rowsFrom(ModelInfo.Port data) {
    fixedRows = data.rank() > 0 && data.dim(0) > 0 ? data : null;
  }

  /** Refuses a request that would not make a model run of the fixed size exactly. */
  Optional<Rejection> checkRows(long rows) {
    if (fixedRows != null && rows != fixedRows.dim(0)) {
      return badShape("this model runs exactly " + fixedRows.dim(0) + " rows at a time (input "
          + fixedRows + "), the request makes " + rows);
    }
    return Optional.empty();
  }

  /** A rejection of the input's shape. */
  static Optional<Rejection> badShape(String message) {
    return Optional.of(new Rejection(Status.BAD_SHAPE, "input.shape", message));
  }

  /** The values of named dimensions given the shapes actually fed. */
  static void bindDims(ModelInfo.Port port, long[] shape, Map<String, Long> dims) {
    List<String> names = port.dimNames();
    for (int i = 0; i < names.size() && i < shape.length; i++) {
      if (!names.get(i).isEmpty()) {
        dims.put(names.get(i), shape[i]);
      }
    }
  }

  /**
   * Runs the session on {@code inputs} (plus the constants) for the answer output and {@code
   * extra} outputs. The answer goes into a pinned scratch buffer when its shape follows from the
   * inputs' named dimensions; otherwise ONNX Runtime allocates it.
   */
  ModelRun runModel(Map<String, OnnxTensor> inputs, Map<String, Long> dims, List<String> extra,
      RunGuard guard, Scratch scratch) throws OrtException {
    Map<String, OnnxTensor> all = new HashMap<>(inputs);
    all.putAll(constants);
    long[] pinnedShape = resolve(output, dims);
    OrtSession session = model.session();
    if (pinnedShape != null && extra.isEmpty()) {
      FloatBuffer buffer = scratch.floats("output", floats("the model's output", pinnedShape));
      OnnxTensor pinned = OnnxTensor.createTensor(env, buffer, pinnedShape);
      try {
        // Requested and pinned outputs must not overlap: the answer is only pinned.
        OrtSession.Result r =
            session.run(all, Set.of(), Map.of(output.name(), pinned), guard.options());
        r.close();
      } finally {
        pinned.close();
      }
      return new ModelRun(buffer, pinnedShape, null);
    }
    Set<String> wanted = new java.util.LinkedHashSet<>();
    wanted.add(output.name());
    wanted.addAll(extra);
    OrtSession.Result r = session.run(all, wanted, guard.options());
    try {
      OnnxValue v = r.get(output.name()).orElseThrow();
      if (!(v instanceof OnnxTensor t)) {
        throw new OrtException("output " + output.name() + " is not a tensor");
      }
      long[] shape = t.getInfo().getShape();
      return new ModelRun(t.getFloatBuffer(), shape, r);
    } catch (OrtException | RuntimeException e) {
      r.close();
      throw e;
    }
  }

  private static long[] resolve(ModelInfo.Port port, Map<String, Long> dims) {
    long[] shape = port.shape();
    List<String> names = port.dimNames();
    for (int i = 0; i < shape.length; i++) {
      if (shape[i] < 0) {
        Long v = i < names.size() && !names.get(i).isEmpty() ? dims.get(names.get(i)) : null;
        if (v == null) {
          return null;
        }
        shape[i] = v;
      }
    }
    return shape;
  }

  /**
   * One run's answer output: its floats (by absolute index from 0), its shape, and the ONNX
   * Runtime result that holds any other outputs (null when the answer was pinned); close it.
   */
  record ModelRun(FloatBuffer data, long[] shape, OrtSession.Result result)
      implements AutoCloseable {
    @Override
    public void close() {
      if (result != null) {
        result.close();
      }
    }

    /** Floats per leading row when the output's first dimension has {@code rows} rows. */
    int features(int rows) {
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      if (shape.length == 0 || shape[0] != rows || n % rows != 0) {
        throw new IllegalStateException(
            "model output shape " + Arrays.toString(shape) + " does not have " + rows + " rows");
      }
      return Math.toIntExact(n / rows);
    }
  }

  /** Answers requests whose rows follow one another in {@code rows}, one row per position. */
  Tensor[] answerPerPosition(List<Tensor> inputs, FloatBuffer rows, int features) {
    Tensor[] answers = new Tensor[inputs.size()];
    int row = 0;
    for (int i = 0; i < answers.length; i++) {
      Tensor x = inputs.get(i);
      answers[i] = shaper.answer(rows, row, x.dim(0), x.dim(1), features, false);
      row += x.dim(0) * x.dim(1);
    }
    return answers;
  }

  /** Answers requests whose items follow one another in {@code rows}, one row per item. */
  Tensor[] repeatRows(List<Tensor> inputs, FloatBuffer rows, int features) {
    Tensor[] answers = new Tensor[inputs.size()];
    int row = 0;
    for (int i = 0; i < answers.length; i++) {
      Tensor x = inputs.get(i);
      answers[i] = shaper.answer(rows, row, x.dim(0), x.dim(1), features, true);
      row += x.dim(0);
    }
    return answers;
  }

  /** Total of dimension 0 over the requests; ArithmeticException past an int. */
  static int totalBatch(List<Tensor> inputs) {
    int n = 0;
    for (Tensor t : inputs) {
      n = Math.addExact(n, t.dim(0));
    }
    return n;
  }

  /**
   * Total of {@code dim(0) * dim(1)} over the requests; ArithmeticException past an int (then
   * the engine runs the batch in parts).
   */
  static int totalPositions(List<Tensor> inputs) {
    int n = 0;
    for (Tensor t : inputs) {
      n = Math.addExact(n, Math.multiplyExact(t.dim(0), t.dim(1)));
    }
    return n;
  }

  /**
   * The floats of {@code dims}, counted in {@code long}: past {@link #MAX_FLOATS}, {@link
   * TooLarge} naming {@code what}, before anything is allocated.
   */
  static int floats(String what, long... dims) {
    long n = 1;
    for (long d : dims) {
      n = d <= 0 ? 0 : n > MAX_FLOATS / d ? MAX_FLOATS + 1 : n * d; // never wraps
    }
    if (n > MAX_FLOATS) {
      throw new TooLarge(what + " " + Arrays.toString(dims) + " would be more floats than a"
          + " buffer holds (" + MAX_FLOATS + "); send fewer rows or positions per request");
    }
    return (int) n;
  }

  static boolean isType(ModelInfo.Port p, String type) {
    return p.type().equals(type);
  }
}
