package io.bittensor.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Tensor;
import io.bittensor.onnx.internal.Shaper;
import io.bittensor.onnx.internal.ir.OnnxIr.AttributeProto;
import io.bittensor.onnx.internal.ir.OnnxIr.GraphProto;
import io.bittensor.onnx.internal.ir.OnnxIr.TensorProto;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The IMAGE and SPEECH adapters and the output fitting, checked against naive references through
 * generated models that only flatten their input (so the answer is what the model was fed).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AdapterProperties {
  static LongStream seeds() {
    return LongStream.range(0, 16);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void imagePixelsAreNormalisedPerChannel(long seed) throws Exception {
    Random r = new Random(seed);
    int c = 1 + r.nextInt(3);
    int h = 1 + r.nextInt(5);
    int w = 1 + r.nextInt(5);
    int batch = 1 + r.nextInt(3);
    int seq = 1 + r.nextInt(2);
    float[] mean = new float[c];
    float[] std = new float[c];
    for (int i = 0; i < c; i++) {
      mean[i] = r.nextFloat();
      std[i] = 0.1f + r.nextFloat();
    }
    boolean bytes = r.nextBoolean();
    int n = batch * seq * c * h * w;
    byte[] px = new byte[n];
    r.nextBytes(px);
    float[] fx = new float[n];
    for (int i = 0; i < n; i++) {
      fx[i] = (px[i] & 0xff) / 255f;
    }
    Tensor x = bytes ? Tensor.ofBytes(px, batch, seq, c, h, w) : Tensor.ofFloats(fx, batch, seq, c, h, w);
    byte[] model = TestModels.flattenModel("batch", c, null, null);
    try (OnnxPeer peer = OnnxPeer.builder().model(model)
        .input(ImageInput.of(c, h, w).withNormalization(mean, std)).outputDim(c * h * w).build()) {
      ForwardResult result = TestModels.forward(peer, Modality.IMAGE, x);
      Tensor y = result.output().orElseThrow(() -> new AssertionError("seed " + seed + ": " + result));
      for (int i = 0; i < n; i++) {
        int ch = (i / (h * w)) % c;
        float want = (fx[i] - mean[ch]) / std[ch];
        assertEquals(want, y.floatAt(i), 1e-5, "seed " + seed + " element " + i);
      }
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void speechFramesCarryTheirContext(long seed) throws Exception {
    Random r = new Random(seed);
    int frame = 1 + r.nextInt(8);
    int ctx = r.nextInt(12);
    int batch = 1 + r.nextInt(3);
    int seq = 1 + r.nextInt(4);
    float[] s = new float[batch * seq * frame];
    for (int i = 0; i < s.length; i++) {
      s[i] = (float) r.nextGaussian();
    }
    int width = ctx + frame;
    try (OnnxPeer peer = OnnxPeer.builder().model(TestModels.flattenModel("batch", width))
        .input(SpeechInput.frames(frame).withContext(ctx)).outputDim(width).build()) {
      ForwardResult result = TestModels.forward(peer, Modality.SPEECH, Tensor.ofFloats(s, batch, seq, frame));
      Tensor y = result.output().orElseThrow(() -> new AssertionError("seed " + seed + ": " + result));
      for (int b = 0; b < batch; b++) {
        for (int t = 0; t < seq; t++) {
          int start = (b * seq + t) * frame; // this frame's first sample in s
          for (int k = 0; k < width; k++) {
            int i = start - ctx + k;
            float want = i >= b * seq * frame ? s[i] : 0f;
            assertEquals(want, y.floatAt(((b * seq + t) * width) + k),
                "seed " + seed + " item " + b + " step " + t + " column " + k);
          }
        }
      }
    }
  }

  /** {@code output [batch, dim] = ReduceMean(input [batch, seq, dim])} over the sequence. */
  private static byte[] sequenceMeanModel(int dim) {
    GraphProto.Builder g = GraphProto.newBuilder().setName("mean")
        .addInput(TestModels.value("input", TensorProto.DataType.FLOAT_VALUE, "batch", "seq", dim))
        .addNode(TestModels.node("ReduceMean", "output", "input").toBuilder()
            .addAttribute(AttributeProto.newBuilder().setName("axes")
                .setType(AttributeProto.AttributeType.INTS).addInts(1))
            .addAttribute(AttributeProto.newBuilder().setName("keepdims")
                .setType(AttributeProto.AttributeType.INT).setI(0)))
        .addOutput(TestModels.value("output", TensorProto.DataType.FLOAT_VALUE, "batch", dim));
    return TestModels.model(g);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void aTensorModelsPooledRowIsRepeatedAtEveryPosition(long seed) throws Exception {
    Random r = new Random(seed);
    int dim = 1 + r.nextInt(6);
    int batch = 1 + r.nextInt(3);
    int seq = 2 + r.nextInt(4);
    float[] x = new float[batch * seq * dim];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) r.nextGaussian();
    }
    try (OnnxPeer peer = OnnxPeer.builder().model(sequenceMeanModel(dim))
        .modality(Modality.TENSOR).outputDim(dim).build()) {
      ForwardResult result =
          TestModels.forward(peer, Modality.TENSOR, Tensor.ofFloats(x, batch, seq, dim));
      Tensor y =
          result.output().orElseThrow(() -> new AssertionError("seed " + seed + ": " + result));
      for (int b = 0; b < batch; b++) {
        for (int k = 0; k < dim; k++) {
          double mean = 0;
          for (int t = 0; t < seq; t++) {
            mean += x[(b * seq + t) * dim + k];
          }
          mean /= seq;
          for (int t = 0; t < seq; t++) {
            assertEquals(mean, y.floatAt((b * seq + t) * dim + k), 1e-5,
                "seed " + seed + " item " + b + " position " + t + " feature " + k);
          }
        }
      }
    }
  }

  @Test
  void projectionsKeptForRowWidthsThatFollowTheInputAreBounded() {
    // A model whose output width follows the input's (a flatten, a per-feature op) lets a caller
    // pick the width: each new one must not keep another width x outputDim matrix for good.
    Shaper shaper = new Shaper(OutputAdapter.first().withFit(OutputAdapter.Fit.PROJECT), 64);
    float[] a = null;
    for (int width = 1; width <= 200; width++) {
      float[] row = new float[width];
      java.util.Arrays.fill(row, 1f);
      Tensor y = shaper.answer(java.nio.FloatBuffer.wrap(row), 0, 1, 1, width, false);
      if (width == 7) {
        a = y.toFloatArray();
      }
    }
    assertTrue(shaper.projectionsKept() <= 16, "kept " + shaper.projectionsKept());
    // Fewer still when they are large: at most 4096 floats here, 64 per input feature.
    Shaper small = new Shaper(OutputAdapter.first().withFit(OutputAdapter.Fit.PROJECT), 64, 4096);
    for (int width = 20; width <= 30; width++) {
      small.answer(java.nio.FloatBuffer.wrap(new float[width]), 0, 1, 1, width, false);
    }
    assertEquals(2, small.projectionsKept(), "30 and 29 features: 3776 floats");
    float[] row = new float[7];
    java.util.Arrays.fill(row, 1f);
    assertTrue(java.util.Arrays.equals(a,
        shaper.answer(java.nio.FloatBuffer.wrap(row), 0, 1, 1, 7, false).toFloatArray()),
        "a width made again projects as before");
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void projectionIsSeededAndKeepsLengthsOnAverage(long seed) {
    Random r = new Random(seed);
    int in = 8 + r.nextInt(64);
    int out = 64 + r.nextInt(64);
    float[] a = Shaper.projectionMatrix(in, out, seed);
    float[] b = Shaper.projectionMatrix(in, out, seed);
    assertTrue(java.util.Arrays.equals(a, b), "seed " + seed + ": the same seed gives the same matrix");
    double sum = 0;
    for (float v : a) {
      sum += (double) v * v;
    }
    // E[sum of squares] = in * out * (1/out) = in; within 25% for these sizes.
    assertEquals(in, sum, in * 0.25, "seed " + seed);
    float[] v = new float[in];
    for (int i = 0; i < in; i++) {
      v[i] = (float) r.nextGaussian();
    }
    Shaper.l2Normalize(v);
    double norm = 0;
    for (float f : v) {
      norm += f * f;
    }
    assertEquals(1.0, norm, 1e-5, "seed " + seed);
  }
}
