package io.bittensor.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.onnx.Mlp;
import io.bittensor.onnx.OnnxExport;
import io.bittensor.onnx.TextTokenizer;
import io.bittensor.transport.HttpProtocol;
import io.bittensor.transport.PeerClient;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@code peer serve --model/--preset} serving real ONNX models through the real HTTP server, and
 * {@code peer query --text} asking them. One MiniLM server is shared by the tests that only query.
 */
@Timeout(120)
class PeerServeModelTest {
  private static final List<String> SENTENCES = List.of(
      "A cat is sleeping on the sofa.", "A kitten naps on the couch.", "The stock market fell sharply on Monday.");

  private static ServingCli minilm;

  @TempDir Path dir;

  @BeforeAll
  static void serveMiniLm() throws InterruptedException {
    minilm = ServingCli.start("--preset", "minilm", "--threads", "1");
  }

  @AfterAll
  static void stopMiniLm() throws InterruptedException {
    if (minilm != null) {
      minilm.close();
    }
  }

  @Test
  void presetPrintsTheModelAndWhatItServes() {
    String out = minilm.out.toString();
    assertTrue(out.contains("model   minilm (classpath:/all-minilm-l6-v2-q.onnx) on cpu"), out);
    assertTrue(out.contains("input_ids INT64 [batch_size, sequence_length]"), out);
    assertTrue(out.contains("serving TEXT -> [batch, sequence, 384] at http://127.0.0.1:"), out);
    assertEquals("", minilm.err.toString());
  }

  @ParameterizedTest
  @EnumSource(HttpProtocol.class)
  void servedMiniLmPutsRelatedSentencesCloser(HttpProtocol protocol) throws IOException {
    Tensor ids;
    try (TextTokenizer tok = TextTokenizer.fromResource("/all-minilm-l6-v2-q-tokenizer.json", 256)) {
      ids = tok.encode(SENTENCES);
    }
    try (PeerClient client = PeerClient.newBuilder().protocol(protocol).build()) {
      ForwardResult r = client.connect(minilm.endpoint)
          .forward(new ForwardRequest(Modality.TEXT, ids), Duration.ofSeconds(30)).join();
      assertTrue(r.isSuccess(), r.toString());
      Tensor y = r.output().orElseThrow();
      assertArrayEquals(new int[] {3, ids.dim(1), 384}, y.shape());
      float[] v = y.toFloatArray();
      int row = ids.dim(1) * 384;
      double catKitten = dot(v, 0, row);
      double catMarket = dot(v, 0, 2 * row);
      assertTrue(catKitten > catMarket + 0.3, "cat~kitten " + catKitten + " vs cat~market " + catMarket);
      assertEquals(1.0, dot(v, 0, 0), 1e-3, "the preset normalises");
    }
  }

  @Test
  void queryTextPrintsShapeValuesAndSimilarities() {
    CliRunner q = CliRunner.run("peer", "query", "--endpoint", minilm.endpoint.toString(), "--preset", "minilm",
        "--text", SENTENCES.get(0), "--text", SENTENCES.get(1), "--text", SENTENCES.get(2), "--repeat", "2");
    assertEquals(0, q.exitCode(), q.out() + q.err());
    assertTrue(q.out().contains("status  SUCCESS (0)"), q.out());
    assertTrue(q.out().matches("(?s).*shape   \\[3, \\d+, 384].*"), q.out());
    assertTrue(q.out().matches("(?s).*values  text 0: \\[-?\\d\\.\\d{4}, .*, \\.\\.\\. 384 in all].*"), q.out());
    assertTrue(q.out().contains("then median"), q.out());
    double related = cosine(q.out(), "0~1");
    double unrelated = cosine(q.out(), "0~2");
    assertTrue(related > unrelated + 0.3, q.out());
  }

  @Test
  void textLongerThanTheServedMaximumIsRefusedWithItsStatus() {
    CliRunner q = CliRunner.run("peer", "query", "--endpoint", minilm.endpoint.toString(), "--preset", "minilm",
        "--max-length", "400", "--text", "word ".repeat(300));
    assertEquals(1, q.exitCode(), q.out() + q.err());
    assertTrue(q.out().contains("BAD_SHAPE") && q.out().contains("256"), q.out());
  }

  @Test
  void modelFileWithExplicitOptionsProjectsToTheOutputDim() throws Exception {
    Path model = dir.resolve("minilm.onnx");
    try (InputStream in = PeerServeModelTest.class.getResourceAsStream("/all-minilm-l6-v2-q.onnx")) {
      Files.copy(in, model);
    }
    try (ServingCli s = ServingCli.start("--model", model.toString(), "--modality", "TEXT", "--max-length", "64",
        "--pool", "first", "--normalize", "--fit", "project", "--seed", "7", "--output-dim", "32",
        "--max-batch", "4", "--threads", "1")) {
      CliRunner q = CliRunner.run("peer", "query", "--endpoint", s.endpoint.toString(), "--h2",
          "--tokenizer", "classpath:/all-minilm-l6-v2-q-tokenizer.json", "--text", "one", "--text", "two words");
      assertEquals(0, q.exitCode(), q.out() + q.err());
      assertTrue(q.out().matches("(?s).*shape   \\[2, \\d+, 32].*"), q.out());
      CliRunner tooMany = CliRunner.run("peer", "query", "--endpoint", s.endpoint.toString(),
          "--modality", "TEXT", "--shape", "5,3");
      assertEquals(1, tooMany.exitCode(), tooMany.out());
      assertTrue(tooMany.out().contains("BAD_SHAPE"), tooMany.out());
    }
  }

  @Test
  void exportedModelNamesItsOwnModalityAndOutputDim() throws Exception {
    Path model = dir.resolve("mlp.onnx");
    OnnxExport.write(Mlp.random(new int[] {16, 8, 12}, Mlp.Activation.RELU, 3), OnnxExport.Options.defaults(), model);
    try (ServingCli s = ServingCli.start("--model", model.toString())) {
      assertTrue(s.out.toString().contains("serving TENSOR -> [batch, sequence, 12]"), s.out.toString());
      CliRunner q = CliRunner.run("peer", "query", "--endpoint", s.endpoint.toString(), "--shape", "2,3,16");
      assertEquals(0, q.exitCode(), q.out() + q.err());
      assertTrue(q.out().contains("shape   [2, 3, 12]"), q.out());
      assertTrue(q.out().contains("values  row 0: ["), q.out());

      // NaN crosses the wire and comes back a status (the server checks before the model runs); serving goes on.
      float[] x = new float[2 * 3 * 16];
      x[17] = Float.NaN;
      try (PeerClient client = PeerClient.newBuilder().protocol(HttpProtocol.H2_PRIOR_KNOWLEDGE).build()) {
        ForwardResult nan = client.connect(s.endpoint)
            .forward(new ForwardRequest(Modality.TENSOR, Tensor.ofFloats(x, 2, 3, 16)), Duration.ofSeconds(30)).join();
        assertEquals(Status.BAD_REQUEST, nan.status(), nan.toString());
        assertEquals("input.data", nan.field(), nan.toString());
      }
      CliRunner after = CliRunner.run("peer", "query", "--endpoint", s.endpoint.toString(), "--shape", "1,1,16");
      assertEquals(0, after.exitCode(), after.out() + after.err());
    }
  }

  @Test
  void cudaThatCannotBeLoadedServesOnTheCpuAndSaysWhy() throws Exception {
    Path model = dir.resolve("mlp.onnx");
    OnnxExport.write(Mlp.random(new int[] {16, 8}, Mlp.Activation.RELU, 5), OnnxExport.Options.defaults(), model);
    try (ServingCli s = ServingCli.start("--model", model.toString(), "--device", "cuda")) {
      String out = s.out.toString();
      // The CPU build of ONNX Runtime (the default profile) has no CUDA provider; under -Pcuda on a
      // machine with a GPU the model runs there instead.
      boolean onGpu = out.contains(" on cuda:0\n");
      assertTrue(onGpu || out.contains(" on cpu\n        (not cuda: CUDA device 0 could not be used"), out);
      CliRunner q = CliRunner.run("peer", "query", "--endpoint", s.endpoint.toString(), "--shape", "1,2,16");
      assertEquals(0, q.exitCode(), q.out() + q.err());
      assertTrue(q.out().contains("shape   [1, 2, 8]"), q.out());
    }
  }

  @Test
  void speechOptionsServeSileroVadWithStateAndSampleRate() throws Exception {
    Path vad = vendored("silero_vad_v5.onnx");
    try (ServingCli s = ServingCli.start("--model", vad.toString(), "--modality", "SPEECH", "--frame", "512",
        "--context", "64", "--state", "state=stateN", "--constant", "sr=16000:int64", "--output-dim", "1",
        "--threads", "1")) {
      CliRunner q = CliRunner.run("peer", "query", "--endpoint", s.endpoint.toString(), "--modality", "SPEECH",
          "--shape", "2,3,512");
      assertEquals(0, q.exitCode(), q.out() + q.err());
      assertTrue(q.out().contains("shape   [2, 3, 1]"), q.out());
    }
    String[] noRate = {"--model", vad.toString(), "--modality", "SPEECH", "--frame", "512", "--context", "64",
        "--state", "state=stateN", "--output-dim", "1"};
    assertBadModel("input sr INT64 [] is not fed by the SPEECH adapter; give it a fixed value with "
        + "constantInput(\"sr\", ...) (on the command line: --constant NAME=VALUE:TYPE)", noRate);
    String[] named = java.util.Arrays.copyOf(noRate, noRate.length + 2);
    named[noRate.length] = "--input-name";
    named[noRate.length + 1] = "input";
    assertBadModel("input sr INT64 [] is not fed by the SPEECH adapter; give it a fixed value with "
        + "constantInput(\"sr\", ...) (on the command line: --constant NAME=VALUE:TYPE)", named);
    String[] floatRate = java.util.Arrays.copyOf(named, named.length + 2);
    floatRate[named.length] = "--constant";
    floatRate[named.length + 1] = "sr=16000:float32";
    assertBadModel("constant input sr INT64 [] needs INT64, was FLOAT (on the command line: end"
        + " the value with :int64)", floatRate);
  }

  @Test
  void imageOptionsServeThePaddleOcrClassifier() throws Exception {
    Path cls = vendored("ch_ppocr_mobile_v2.0_cls_infer.onnx");
    try (ServingCli s = ServingCli.start("--model", cls.toString(), "--modality", "IMAGE", "--image", "3,48,192",
        "--mean", "0.5", "--std", "0.5", "--input-name", "x", "--output-dim", "2", "--threads", "1")) {
      CliRunner q = CliRunner.run("peer", "query", "--endpoint", s.endpoint.toString(), "--modality", "IMAGE",
          "--shape", "1,2,3,48,192");
      assertEquals(0, q.exitCode(), q.out() + q.err());
      assertTrue(q.out().contains("shape   [1, 2, 2]"), q.out());
      CliRunner small = CliRunner.run("peer", "query", "--endpoint", s.endpoint.toString(), "--modality", "IMAGE",
          "--shape", "1,1,3,8,8");
      assertEquals(1, small.exitCode(), small.out());
      assertTrue(small.out().contains("BAD_SHAPE") && small.out().contains("48"), small.out());
    }
  }

  /**
   * A normalisation of another channel count than the model's, with no --image to say the
   * channels, is refused as the model loads, in the library's words and then the options'.
   */
  @Test
  void aNormalisationForAnotherChannelCountThanTheModelsNamesTheOptions() {
    Path cls = vendored("ch_ppocr_mobile_v2.0_cls_infer.onnx");
    assertBadModel("mean and std have 2 values for an image of 3 channels: give one value (for"
        + " every channel) or one per channel (on the command line: --mean and --std)",
        "--model", cls.toString(), "--modality", "IMAGE", "--mean", "0.5,0.5", "--std",
        "0.5,0.5", "--input-name", "x", "--output-dim", "2", "--threads", "1");
  }

  @Test
  void modelThatCannotBeLoadedExitsTwoWithOneLine() throws IOException {
    Path garbage = Files.writeString(dir.resolve("garbage.onnx"), "this is not an ONNX model");
    assertBadModel(garbage.toString(), "--model", garbage.toString(), "--modality", "TEXT");

    Path truncated = dir.resolve("truncated.onnx");
    try (InputStream in = PeerServeModelTest.class.getResourceAsStream("/all-minilm-l6-v2-q.onnx")) {
      Files.write(truncated, in.readNBytes(64 * 1024));
    }
    assertBadModel("truncated.onnx", "--model", truncated.toString(), "--modality", "TEXT");
    assertBadModel("does not exist", "--model", dir.resolve("missing.onnx").toString(), "--modality", "TEXT");
    assertBadModel("/nope.onnx", "--model", "classpath:/nope.onnx", "--modality", "TEXT");
  }

  @Test
  void modelThatDoesNotFitTheModalityExitsTwoNamingTheMismatch() throws IOException {
    Path model = dir.resolve("mlp.onnx");
    OnnxExport.write(Mlp.random(new int[] {16, 4}, Mlp.Activation.RELU, 3), OnnxExport.Options.defaults(), model);
    assertBadModel("TEXT", "--model", model.toString(), "--modality", "TEXT");
  }

  /** A model vendored in bittensor-onnx's test resources (the tests run in this module's folder). */
  private static Path vendored(String name) {
    Path p = Path.of("..", "bittensor-onnx", "src", "test", "resources", "models", name);
    assumeTrue(Files.isRegularFile(p), "vendored model " + p + " (run from bittensor-cli/)");
    return p;
  }

  private static void assertBadModel(String mention, String... serveArgs) {
    String[] args = new String[serveArgs.length + 4];
    System.arraycopy(new String[] {"peer", "serve", "--port", "0"}, 0, args, 0, 4);
    System.arraycopy(serveArgs, 0, args, 4, serveArgs.length);
    CliRunner r = CliRunner.run(args);
    assertEquals(2, r.exitCode(), r.out() + r.err());
    assertEquals("", r.out(), "nothing is served");
    assertEquals(1, r.err().lines().count(), r.err());
    assertTrue(r.err().startsWith("bittensor: ") && r.err().contains(mention), r.err());
  }

  private static double dot(float[] v, int a, int b) {
    double s = 0;
    for (int k = 0; k < 384; k++) {
      s += v[a + k] * v[b + k];
    }
    return s;
  }

  private static double cosine(String out, String pair) {
    Matcher m = Pattern.compile(Pattern.quote(pair) + "\\s+(-?\\d\\.\\d+)").matcher(out);
    assertTrue(m.find(), "cosine " + pair + " in " + out);
    return Double.parseDouble(m.group(1));
  }
}
