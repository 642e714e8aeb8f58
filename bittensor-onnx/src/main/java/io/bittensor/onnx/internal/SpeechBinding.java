package io.bittensor.onnx.internal;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import io.bittensor.core.Rejection;
import io.bittensor.core.Tensor;
import io.bittensor.onnx.ModelInfo;
import io.bittensor.onnx.OnnxModelException;
import io.bittensor.onnx.OutputAdapter;
import io.bittensor.onnx.SpeechInput;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * SPEECH: frames of samples with context from the previous frame; stateful models run step by
 * step with their state carried from each step's output to the next step's input.
 */
final class SpeechBinding extends Binding {
  private final SpeechInput in;
  private final ModelInfo.Port port;
  /** State inputs with their declared shapes; the one dynamic dimension is the batch. */
  private final Map<ModelInfo.Port, String> state = new LinkedHashMap<>();
  private final Set<String> fed = new HashSet<>();

  SpeechBinding(SharedSession model, SpeechInput in, OutputAdapter out, int outputDim,
      Map<String, OnnxTensor> constants) throws OnnxModelException {
    super(model, out, outputDim, constants);
    this.in = in;
    ModelInfo info = model.info();
    for (Map.Entry<String, String> s : in.state().entrySet()) {
      ModelInfo.Port p = info.input(s.getKey()).orElseThrow(() -> mismatch(
          "the model has no state input \"" + s.getKey() + "\"; it has " + info.inputs()));
      info.output(s.getValue()).orElseThrow(() -> mismatch(
          "the model has no state output \"" + s.getValue() + "\"; it has " + info.outputs()));
      if (!isType(p, "FLOAT")) {
        throw mismatch("state input " + p + " must be FLOAT");
      }
      int dynamic = 0;
      for (long d : p.shape()) {
        dynamic += d < 0 ? 1 : 0;
      }
      if (dynamic != 1) {
        throw mismatch("state input " + p + " must have exactly one dynamic dimension (the batch)");
      }
      state.put(p, s.getValue());
      fed.add(p.name());
    }
    this.port = pickInput(in.inputName(), in.state().keySet(), "FLOAT");
    fed.add(port.name());
    if (!isType(port, "FLOAT") || port.rank() != 2) {
      throw mismatch("input " + port + " must be FLOAT [batch, samples]");
    }
    rowsFrom(port);
    long width = port.dim(1);
    if (width > 0 && in.frameSize() > 0 && width != in.frameSize() + in.contextSize()) {
      throw mismatch("input " + port + " takes " + width + " samples, the adapter gives "
          + in.contextSize() + " of context + " + in.frameSize());
    }
  }

  @Override
  Set<String> fedInputs() {
    return fed;
  }

  @Override
  String modalityName() {
    return "SPEECH";
  }

  @Override
  public Optional<Rejection> check(Tensor input) {
    // With state a run takes one frame per item; without, every frame of the request.
    Optional<Rejection> rows =
        checkRows(state.isEmpty() ? (long) input.dim(0) * input.dim(1) : input.dim(0));
    if (rows.isPresent()) {
      return rows;
    }
    if (in.frameSize() > 0 && input.dim(2) != in.frameSize()) {
      return badShape("SPEECH input must be [batch, sequence, " + in.frameSize() + "] (frames of "
          + in.frameSize() + " samples), was " + java.util.Arrays.toString(input.shape()));
    }
    if (in.frameSize() == 0 && port.dim(1) > 0 && input.dim(2) != port.dim(1)) {
      return badShape("this model takes " + port.dim(1) + " samples per step, was " + input.dim(2));
    }
    return Optional.empty();
  }


  @Override
  public long inputBytes(Tensor input) {
    // Each frame is copied with its context: a long context makes the copy many times the request.
    long width = (long) in.contextSize() + input.dim(2);
    return 4L * width * input.dim(0) * (state.isEmpty() ? input.dim(1) : 1);
  }

  @Override
  public Tensor[] run(List<Tensor> inputs, RunGuard guard, Scratch scratch) throws OrtException {
    return state.isEmpty() ? runFrames(inputs, guard, scratch) : runSteps(inputs, guard, scratch);
  }

  /**
   * Writes frame {@code step} of item {@code item}, preceded by its context (the samples just
   * before it in the same item, zeros before the item's start), at {@code row} of {@code dst}.
   */
  private void frame(Tensor t, int item, int step, FloatBuffer dst, int row) {
    int frame = t.dim(2);
    int ctx = in.contextSize();
    int width = ctx + frame;
    FloatBuffer src = t.asFloatBuffer();
    int itemStart = item * t.dim(1) * frame;
    int at = itemStart + step * frame;
    for (int k = 0; k < ctx; k++) {
      int i = at - ctx + k;
      dst.put(row * width + k, i >= itemStart ? src.get(i) : 0f);
    }
    for (int k = 0; k < frame; k++) {
      dst.put(row * width + ctx + k, src.get(at + k));
    }
  }

  private Tensor[] runFrames(List<Tensor> inputs, RunGuard guard, Scratch scratch)
      throws OrtException {
    int frameSize = inputs.get(0).dim(2);
    int width = in.contextSize() + frameSize;
    int n = totalPositions(inputs);
    FloatBuffer x = scratch.floats("frames", floats("the frames", n, width));
    int row = 0;
    for (Tensor t : inputs) {
      for (int b = 0; b < t.dim(0); b++) {
        for (int s = 0; s < t.dim(1); s++) {
          frame(t, b, s, x, row++);
        }
      }
    }
    long[] shape = {n, width};
    Map<String, Long> dims = new HashMap<>();
    bindDims(port, shape, dims);
    try (OnnxTensor t = OnnxTensor.createTensor(env, x, shape);
        ModelRun r = runModel(Map.of(port.name(), t), dims, List.of(), guard, scratch)) {
      return answerPerPosition(inputs, r.data(), r.features(n));
    }
  }

  private Tensor[] runSteps(List<Tensor> inputs, RunGuard guard, Scratch scratch)
      throws OrtException {
    int batch = totalBatch(inputs);
    int seq = inputs.get(0).dim(1);
    int width = in.contextSize() + inputs.get(0).dim(2);
    long[] shape = {batch, width};
    Map<String, OnnxTensor> zeros = new LinkedHashMap<>();
    ModelRun previous = null;
    float[] rows = null;
    int features = 0;
    try {
      for (Map.Entry<ModelInfo.Port, String> s : state.entrySet()) {
        long[] dims = s.getKey().shape();
        for (int i = 0; i < dims.length; i++) {
          dims[i] = dims[i] < 0 ? batch : dims[i];
        }
        FloatBuffer z = scratch.floats("state:" + s.getKey().name(),
            floats("state input " + s.getKey().name(), dims));
        for (int i = 0; i < z.limit(); i++) {
          z.put(i, 0f);
        }
        zeros.put(s.getKey().name(), OnnxTensor.createTensor(env, z, dims));
      }
      List<String> stateOutputs = new ArrayList<>(state.values());
      for (int step = 0; step < seq; step++) {
        FloatBuffer x = scratch.floats("frames", floats("the frames", batch, width));
        int row = 0;
        for (Tensor t : inputs) {
          for (int b = 0; b < t.dim(0); b++) {
            frame(t, b, step, x, row++);
          }
        }
        Map<String, OnnxTensor> feeds = new HashMap<>();
        for (Map.Entry<ModelInfo.Port, String> s : state.entrySet()) {
          String name = s.getKey().name();
          feeds.put(name, previous == null ? zeros.get(name)
              : (OnnxTensor) previous.result().get(s.getValue()).orElseThrow());
        }
        ModelRun r;
        try (OnnxTensor t = OnnxTensor.createTensor(env, x, shape)) {
          feeds.put(port.name(), t);
          r = runModel(feeds, Map.of(), stateOutputs, guard, scratch);
        }
        if (previous != null) {
          previous.close();
        }
        previous = r;
        if (rows == null) {
          features = r.features(batch);
          // Counted in long: the steps' outputs together may be more than their answers.
          rows = new float[floats("the model's outputs over the steps", batch, seq, features)];
        }
        FloatBuffer data = r.data();
        for (int b = 0; b < batch; b++) {
          data.get(b * features, rows, (b * seq + step) * features, features);
        }
      }
    } finally {
      if (previous != null) {
        previous.close();
      }
      zeros.values().forEach(OnnxTensor::close);
    }
    return answerPerPosition(inputs, FloatBuffer.wrap(rows), features);
  }
}
