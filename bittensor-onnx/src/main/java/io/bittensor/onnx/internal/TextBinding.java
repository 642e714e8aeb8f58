package io.bittensor.onnx.internal;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import io.bittensor.core.Rejection;
import io.bittensor.core.Tensor;
import io.bittensor.onnx.ModelInfo;
import io.bittensor.onnx.OnnxModelException;
import io.bittensor.onnx.OutputAdapter;
import io.bittensor.onnx.TextInput;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** TEXT: token ids to input ids, attention mask and token type ids; pooled or per-token answers. */
final class TextBinding extends Binding {
  private final TextInput in;
  private final ModelInfo.Port ids;
  private final ModelInfo.Port mask;
  private final ModelInfo.Port types;
  private final Set<String> fed = new HashSet<>();

  TextBinding(SharedSession model, TextInput in, OutputAdapter out, int outputDim,
      Map<String, OnnxTensor> constants) throws OnnxModelException {
    super(model, out, outputDim, constants);
    this.in = in;
    ModelInfo info = model.info();
    this.ids = info.input(in.idsName()).orElseThrow(() -> mismatch(
        "the model has no input \"" + in.idsName() + "\" for token ids; it has " + info.inputs()
            + " (name it with TextInput.withNames)"));
    this.mask = in.maskName().isEmpty() ? null : info.input(in.maskName()).orElse(null);
    this.types = in.typeIdsName().isEmpty() ? null : info.input(in.typeIdsName()).orElse(null);
    for (ModelInfo.Port p : new ModelInfo.Port[] {ids, mask, types}) {
      if (p == null) {
        continue;
      }
      if (!isType(p, "INT64") || p.rank() != 2) {
        throw mismatch("input " + p + " must be INT64 [batch, sequence]");
      }
      fed.add(p.name());
    }
    if (output.rank() != 2 && output.rank() != 3) {
      throw mismatch("output " + output + " must be [batch, hidden] or [batch, sequence, hidden]");
    }
    rowsFrom(ids);
    long staticSeq = ids.dim(1);
    if (staticSeq > 0 && staticSeq != in.maxLength()) { // otherwise some or all lengths fit neither
      throw mismatch(
          "input "
              + ids
              + " takes exactly "
              + staticSeq
              + " tokens, but the adapter accepts up to "
              + in.maxLength()
              + "; set TextInput.withMaxLength("
              + staticSeq
              + ") and pad to it");
    }
  }

  @Override
  Set<String> fedInputs() {
    return fed;
  }

  @Override
  String modalityName() {
    return "TEXT";
  }

  @Override
  public Optional<Rejection> check(Tensor input) {
    Optional<Rejection> rows = checkRows(input.dim(0));
    if (rows.isPresent()) {
      return rows;
    }
    int seq = input.dim(1);
    if (seq > in.maxLength()) {
      return badShape("sequence of " + seq + " tokens exceeds the maximum length " + in.maxLength()
          + " of this peer; truncate to " + in.maxLength());
    }
    long staticSeq = ids.dim(1);
    if (staticSeq > 0 && seq != staticSeq) {
      return badShape("this model takes exactly " + staticSeq + " tokens per sequence, was " + seq);
    }
    LongBuffer b = input.asLongBuffer();
    long vocab = in.vocabularySize();
    for (int i = 0; i < b.limit(); i++) {
      long id = b.get(i);
      if (id < 0 || (vocab > 0 && id >= vocab)) {
        return Optional.of(
            Rejection.badRequest(
                "input.data",
                "element "
                    + i
                    + " is token id "
                    + id
                    + "; ids must be in [0, "
                    + (vocab > 0 ? Long.toString(vocab) : "vocabulary size")
                    + ")"));
      }
    }
    return Optional.empty();
  }


  @Override
  public long inputBytes(Tensor input) {
    return 8L * input.dim(0) * input.dim(1); // ids, and as many for the mask
  }

  @Override
  public Tensor[] run(List<Tensor> inputs, RunGuard guard, Scratch scratch) throws OrtException {
    int batch = totalBatch(inputs);
    int seq = inputs.get(0).dim(1);
    int n = Math.multiplyExact(batch, seq);
    long[] shape = {batch, seq};
    LongBuffer idBuf = scratch.longs("ids", n);
    for (Tensor t : inputs) {
      idBuf.put(t.asLongBuffer());
    }
    idBuf.flip();
    LongBuffer maskBuf = scratch.longs("mask", n);
    for (int i = 0; i < n; i++) {
      maskBuf.put(i, idBuf.get(i) == in.padId() ? 0L : 1L);
    }
    Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
    Map<String, Long> dims = new HashMap<>();
    try {
      feeds.put(ids.name(), OnnxTensor.createTensor(env, idBuf, shape));
      bindDims(ids, shape, dims);
      if (mask != null) {
        feeds.put(mask.name(), OnnxTensor.createTensor(env, maskBuf, shape));
      }
      if (types != null) {
        feeds.put(types.name(), OnnxTensor.createTensor(env, scratch.zeros("types", n), shape));
      }
      try (ModelRun r = runModel(feeds, dims, List.of(), guard, scratch)) {
        return answers(inputs, r, batch, seq, maskBuf);
      }
    } finally {
      feeds.values().forEach(OnnxTensor::close);
    }
  }

  private Tensor[] answers(
      List<Tensor> inputs, ModelRun r, int batch, int seq, LongBuffer maskBuf) {
    int perItem = r.features(batch);
    Tensor[] answers = new Tensor[inputs.size()];
    if (r.shape().length == 2) {
      // Already one vector per sequence (a model with its own pooling).
      return repeatRows(inputs, r.data(), perItem);
    }
    if (r.shape()[1] != seq) {
      throw new IllegalStateException("model output " + java.util.Arrays.toString(r.shape())
          + " does not keep the input's " + seq + " tokens");
    }
    int hidden = perItem / seq;
    if (out.pooling() == OutputAdapter.Pooling.NONE) {
      return answerPerPosition(inputs, r.data(), hidden);
    }
    float[] pooled = new float[batch * hidden];
    FloatBuffer data = r.data();
    for (int b = 0; b < batch; b++) {
      if (out.pooling() == OutputAdapter.Pooling.FIRST) {
        data.get(b * seq * hidden, pooled, b * hidden, hidden);
        continue;
      }
      int count = 0;
      for (int s = 0; s < seq; s++) {
        if (maskBuf.get(b * seq + s) == 0) {
          continue;
        }
        count++;
        int base = (b * seq + s) * hidden;
        for (int h = 0; h < hidden; h++) {
          pooled[b * hidden + h] += data.get(base + h);
        }
      }
      if (count > 0) {
        for (int h = 0; h < hidden; h++) {
          pooled[b * hidden + h] /= count;
        }
      }
    }
    answers = repeatRows(inputs, FloatBuffer.wrap(pooled), hidden);
    return answers;
  }
}
