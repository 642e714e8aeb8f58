package io.bittensor.onnx.internal;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import io.bittensor.core.Rejection;
import io.bittensor.core.Tensor;
import io.bittensor.onnx.ModelInfo;
import io.bittensor.onnx.OnnxModelException;
import io.bittensor.onnx.OutputAdapter;
import io.bittensor.onnx.TensorInput;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** TENSOR: float features passed through, flattened for a rank-2 model input. */
final class TensorBinding extends Binding {
  private final ModelInfo.Port port;

  TensorBinding(SharedSession model, TensorInput in, OutputAdapter out, int outputDim,
      Map<String, OnnxTensor> constants) throws OnnxModelException {
    super(model, out, outputDim, constants);
    this.port = pickInput(in.inputName(), Set.of(), "FLOAT");
    if (!isType(port, "FLOAT") || (port.rank() != 2 && port.rank() != 3)) {
      throw mismatch(
          "input " + port + " must be FLOAT [batch, inputDim] or [batch, sequence, inputDim]");
    }
    rowsFrom(port);
  }

  @Override
  Set<String> fedInputs() {
    return Set.of(port.name());
  }

  @Override
  String modalityName() {
    return "TENSOR";
  }

  @Override
  public Optional<Rejection> check(Tensor input) {
    Optional<Rejection> rows =
        checkRows(port.rank() == 2 ? (long) input.dim(0) * input.dim(1) : input.dim(0));
    if (rows.isPresent()) {
      return rows;
    }
    long want = port.dim(port.rank() - 1);
    if (want > 0 && input.dim(2) != want) {
      return badShape("this model takes inputDim " + want + ", the input is "
          + java.util.Arrays.toString(input.shape()));
    }
    if (port.rank() == 3 && port.dim(1) > 0 && input.dim(1) != port.dim(1)) {
      return badShape(
          "this model takes sequences of exactly " + port.dim(1) + ", was " + input.dim(1));
    }
    return Optional.empty();
  }


  @Override
  public Tensor[] run(List<Tensor> inputs, RunGuard guard, Scratch scratch) throws OrtException {
    int seq = inputs.get(0).dim(1);
    int dim = inputs.get(0).dim(2);
    int positions = totalPositions(inputs);
    FloatBuffer x = scratch.floats("features", Math.multiplyExact(positions, dim));
    for (Tensor t : inputs) {
      x.put(t.asFloatBuffer());
    }
    x.flip();
    long[] shape = port.rank() == 2
        ? new long[] {positions, dim}
        : new long[] {positions / seq, seq, dim};
    Map<String, Long> dims = new HashMap<>();
    bindDims(port, shape, dims);
    try (OnnxTensor t = OnnxTensor.createTensor(env, x, shape);
        ModelRun r = runModel(Map.of(port.name(), t), dims, List.of(), guard, scratch)) {
      if (port.rank() == 2) {
        return answerPerPosition(inputs, r.data(), r.features(positions));
      }
      int perItem = r.features(positions / seq);
      if (r.shape().length <= 2) { // one row per item, pooled by the model: at every position
        return repeatRows(inputs, r.data(), perItem);
      }
      if (r.shape()[1] != seq) {
        throw new IllegalStateException("model output " + java.util.Arrays.toString(r.shape())
            + " does not keep the input's " + seq + " positions");
      }
      return answerPerPosition(inputs, r.data(), perItem / seq);
    }
  }
}
