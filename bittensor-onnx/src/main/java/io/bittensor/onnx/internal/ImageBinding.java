package io.bittensor.onnx.internal;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import io.bittensor.core.DType;
import io.bittensor.core.Rejection;
import io.bittensor.core.Tensor;
import io.bittensor.onnx.ImageInput;
import io.bittensor.onnx.ModelInfo;
import io.bittensor.onnx.OnnxModelException;
import io.bittensor.onnx.OutputAdapter;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** IMAGE: uint8 or float pixels, normalised per channel, to an NCHW float input. */
final class ImageBinding extends Binding {
  private final ImageInput in;
  private final ModelInfo.Port port;
  /** Channels, height, width: fixed sizes, or 0 where any is accepted. */
  private final int[] size = new int[3];

  ImageBinding(SharedSession model, ImageInput in, OutputAdapter out, int outputDim,
      Map<String, OnnxTensor> constants) throws OnnxModelException {
    super(model, out, outputDim, constants);
    this.in = in;
    this.port = pickInput(in.inputName(), Set.of(), "FLOAT");
    if (!isType(port, "FLOAT") || port.rank() != 4) {
      throw mismatch("input " + port + " must be FLOAT [batch, channels, height, width]");
    }
    rowsFrom(port);
    int[] asked = {in.channels(), in.height(), in.width()};
    String[] what = {"channels", "height", "width"};
    for (int i = 0; i < 3; i++) {
      long declared = port.dim(i + 1);
      if (asked[i] > 0 && declared > 0 && asked[i] != declared) {
        throw mismatch(
            "the adapter's "
                + what[i]
                + " is "
                + asked[i]
                + " but input "
                + port
                + " has "
                + declared);
      }
      size[i] = asked[i] > 0 ? asked[i] : (int) Math.max(declared, 0);
    }
    int m = in.mean().length;
    if (m != 1 && size[0] > 0 && m != size[0]) {
      throw mismatch("mean and std have " + m + " values for an image of " + size[0]
          + " channels: give one value (for every channel) or one per channel");
    }
  }

  @Override
  Set<String> fedInputs() {
    return Set.of(port.name());
  }

  @Override
  String modalityName() {
    return "IMAGE";
  }

  @Override
  public Optional<Rejection> check(Tensor input) {
    Optional<Rejection> rows = checkRows((long) input.dim(0) * input.dim(1)); // one per picture
    if (rows.isPresent()) {
      return rows;
    }
    for (int i = 0; i < 3; i++) {
      if (size[i] > 0 && input.dim(i + 2) != size[i]) {
        return badShape(
            "IMAGE input must be [batch, sequence, "
                + dim(0)
                + ", "
                + dim(1)
                + ", "
                + dim(2)
                + "], was "
                + Arrays.toString(input.shape()));
      }
    }
    int m = in.mean().length;
    if (m != 1 && input.dim(2) != m) {
      return badShape("this peer normalises " + m + " channels, the input has " + input.dim(2));
    }
    return Optional.empty();
  }

  private String dim(int i) {
    return size[i] > 0
        ? Integer.toString(size[i])
        : new String[] {"channels", "height", "width"}[i];
  }


  @Override
  public Tensor[] run(List<Tensor> inputs, RunGuard guard, Scratch scratch) throws OrtException {
    Tensor first = inputs.get(0);
    int c = first.dim(2);
    int plane = first.dim(3) * first.dim(4);
    int n = totalPositions(inputs);
    long[] shape = {n, c, first.dim(3), first.dim(4)};
    FloatBuffer pixels =
        scratch.floats("pixels", Math.multiplyExact(n, Math.multiplyExact(c, plane)));
    float[] mean = in.mean();
    float[] std = in.std();
    int at = 0;
    for (Tensor t : inputs) {
      ByteBuffer data = t.data();
      boolean bytes = t.dtype() == DType.UINT8;
      int count = t.elementCount();
      for (int i = 0; i < count; i++) {
        int ch = (i / plane) % c;
        float m = mean[mean.length == 1 ? 0 : ch];
        float s = std[std.length == 1 ? 0 : ch];
        float x = bytes ? (data.get(i) & 0xff) / 255f : data.getFloat(i << 2);
        pixels.put(at++, (x - m) / s);
      }
    }
    Map<String, Long> dims = new HashMap<>();
    bindDims(port, shape, dims);
    try (OnnxTensor x = OnnxTensor.createTensor(env, pixels, shape);
        ModelRun r = runModel(Map.of(port.name(), x), dims, List.of(), guard, scratch)) {
      return answerPerPosition(inputs, r.data(), r.features(n));
    }
  }
}
