package io.bittensor.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Seeded random MLPs written as ONNX give the Java forward pass's outputs in ONNX Runtime. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MlpExportProperties {
  static LongStream seeds() {
    return LongStream.range(0, 24);
  }

  /** A random network: dense layers of 1..24 features with activations and normalisations between. */
  static Mlp randomMlp(Random r) {
    int in = 1 + r.nextInt(24);
    List<Mlp.Layer> layers = new ArrayList<>();
    int features = in;
    int depth = 1 + r.nextInt(4);
    for (int d = 0; d < depth; d++) {
      int out = 1 + r.nextInt(24);
      float[][] w = new float[features][out];
      for (float[] row : w) {
        for (int j = 0; j < out; j++) {
          row[j] = (float) (r.nextGaussian() / Math.sqrt(features));
        }
      }
      float[] b = new float[out];
      for (int j = 0; j < out; j++) {
        b[j] = (float) r.nextGaussian() * 0.1f;
      }
      layers.add(new Mlp.Dense(w, b));
      features = out;
      switch (r.nextInt(5)) {
        case 0 -> layers.add(Mlp.Activation.RELU);
        case 1 -> layers.add(Mlp.Activation.TANH);
        case 2 -> layers.add(Mlp.Activation.SOFTMAX);
        case 3 -> {
          if (features < 2) {
            break;
          }
          float[] g = new float[features];
          float[] beta = new float[features];
          for (int j = 0; j < features; j++) {
            g[j] = 0.5f + r.nextFloat();
            beta[j] = (float) r.nextGaussian() * 0.1f;
          }
          layers.add(new Mlp.LayerNorm(g, beta, 1e-5f));
        }
        default -> { }
      }
    }
    return Mlp.of(in, layers);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void exportedModelsMatchTheJavaForwardPass(long seed) throws Exception {
    Random r = new Random(seed);
    Mlp mlp = randomMlp(r);
    boolean sequence = r.nextInt(3) == 0;
    OnnxExport.Options options = OnnxExport.Options.defaults().withGemm(r.nextBoolean()).withSequenceAxis(sequence);
    int batch = 1 + r.nextInt(5);
    int seq = sequence ? 1 + r.nextInt(3) : 1;
    float[][] rows = new float[batch * seq][mlp.inputDim()];
    for (float[] row : rows) {
      for (int i = 0; i < row.length; i++) {
        row[i] = (float) r.nextGaussian() * 2;
      }
    }
    float[][] expected = mlp.forward(rows);
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession s = env.createSession(OnnxExport.toBytes(mlp, options))) {
      Object input = sequence ? reshape(rows, batch, seq) : rows;
      try (OnnxTensor x = OnnxTensor.createTensor(env, input); OrtSession.Result out = s.run(Map.of("input", x))) {
        float[] got = ((OnnxTensor) out.get(0)).getFloatBuffer().array();
        for (int k = 0; k < rows.length; k++) {
          for (int j = 0; j < mlp.outputDim(); j++) {
            assertEquals(expected[k][j], got[k * mlp.outputDim() + j], 1e-5,
                "seed " + seed + " (" + mlp + ", " + options + ") row " + k + " feature " + j);
          }
        }
      }
    }
  }

  private static float[][][] reshape(float[][] rows, int batch, int seq) {
    float[][][] x = new float[batch][seq][];
    for (int i = 0; i < rows.length; i++) {
      x[i / seq][i % seq] = rows[i];
    }
    return x;
  }

  @Test
  void anExportedModelServesAsATensorPeer(@TempDir Path dir) throws Exception {
    Mlp mlp = Mlp.random(new int[] {6, 10, 4}, Mlp.Activation.RELU, 11);
    Path file = dir.resolve("student.onnx");
    OnnxExport.write(mlp, OnnxExport.Options.defaults().withModelVersion(3).withOutputDim(8), file);
    assertTrue(Files.size(file) > 0);
    try (OnnxPeer peer = OnnxPeer.builder().model(file).modality(Modality.TENSOR).outputDim(8).build()) {
      ModelInfo info = peer.modelInfo();
      assertEquals(OnnxExport.PRODUCER, info.producer());
      assertEquals(3, info.version());
      assertEquals("TENSOR", info.metadata().get(OnnxExport.MODALITY_KEY));
      assertEquals("8", info.metadata().get(OnnxExport.OUTPUT_DIM_KEY));
      assertEquals(List.of(OnnxExport.BATCH_AXIS, ""), info.input("input").orElseThrow().dimNames());
      Random r = new Random(4);
      float[] x = new float[2 * 3 * 6];
      for (int i = 0; i < x.length; i++) {
        x[i] = (float) r.nextGaussian();
      }
      ForwardResult result = TestModels.forward(peer, Modality.TENSOR, Tensor.ofFloats(x, 2, 3, 6));
      Tensor y = result.output().orElseThrow();
      assertEquals(List.of(2, 3, 8), Arrays.stream(y.shape()).boxed().toList());
      for (int p = 0; p < 6; p++) {
        float[] expected = mlp.forward(Arrays.copyOfRange(x, p * 6, p * 6 + 6));
        for (int j = 0; j < 8; j++) {
          assertEquals(j < 4 ? expected[j] : 0f, y.floatAt(p * 8 + j), 1e-5, "position " + p + " feature " + j);
        }
      }
    }
  }

  @Test
  void anExportedModelSaysWhatItServes() throws Exception {
    Mlp mlp = Mlp.random(new int[] {5, 3}, Mlp.Activation.RELU, 2);
    byte[] bytes = OnnxExport.toBytes(mlp, OnnxExport.Options.defaults().withOutputDim(7));
    try (OnnxPeer peer = OnnxPeer.builder().model(bytes).build()) {
      assertEquals(Modality.TENSOR, peer.modality());
      assertEquals(7, peer.outputDim());
      Tensor y = TestModels.forward(peer, Modality.TENSOR, Tensor.ofFloats(new float[5], 1, 1, 5)).output().orElseThrow();
      assertEquals(7, y.dim(2));
    }
  }

  @Test
  void theBatchAxisIsDynamicAndNamed() throws Exception {
    Mlp mlp = Mlp.random(new int[] {3, 2}, Mlp.Activation.TANH, 1);
    try (OrtSession s = OrtEnvironment.getEnvironment().createSession(
        OnnxExport.toBytes(mlp, OnnxExport.Options.defaults().withSequenceAxis(true)))) {
      NodeInfo in = s.getInputInfo().get("input");
      TensorInfo t = (TensorInfo) in.getInfo();
      assertEquals(List.of(-1L, -1L, 3L), Arrays.stream(t.getShape()).boxed().toList());
      assertEquals(List.of("batch", "sequence", ""), Arrays.asList(t.getDimensionNames()));
    }
  }
}
