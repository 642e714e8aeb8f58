package io.bittensor.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.onnx.internal.ir.OnnxIr.AttributeProto;
import io.bittensor.onnx.internal.ir.OnnxIr.GraphProto;
import io.bittensor.onnx.internal.ir.OnnxIr.ModelProto;
import io.bittensor.onnx.internal.ir.OnnxIr.TensorProto;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Models that cannot be used, and inputs that must be refused: clear errors, never a crash. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BadModelTest {
  @TempDir
  Path dir;

  @Test
  void garbageBytesAreRefusedAsAModelError() {
    byte[] junk = new byte[4096];
    new Random(1).nextBytes(junk);
    OnnxModelException e = assertThrows(OnnxModelException.class,
        () -> OnnxPeer.builder().model(junk).modality(Modality.TENSOR).outputDim(4).build());
    assertTrue(e.getMessage().contains("could not be loaded"), e.getMessage());
    assertTrue(e.getCause() instanceof ai.onnxruntime.OrtException, "the OrtException is kept");
  }

  @Test
  void aTruncatedFileIsRefusedNamingTheFile() throws Exception {
    byte[] full = TestModels.resource(TestModels.VAD);
    Path half = dir.resolve("half.onnx");
    Files.write(half, Arrays.copyOf(full, full.length / 2));
    OnnxModelException e = assertThrows(OnnxModelException.class,
        () -> OnnxPeer.builder().model(half).modality(Modality.SPEECH).outputDim(1).build());
    assertTrue(e.getMessage().contains(half.toString()), e.getMessage());
  }

  @Test
  void aMissingFileOrResourceIsRefused() {
    OnnxModelException file = assertThrows(OnnxModelException.class,
        () -> OnnxPeer.builder().model(dir.resolve("none.onnx")).modality(Modality.TENSOR).outputDim(4).build());
    assertTrue(file.getMessage().contains("does not exist"), file.getMessage());
    OnnxModelException resource = assertThrows(OnnxModelException.class,
        () -> OnnxPeer.builder().modelResource("/no/such.onnx").modality(Modality.TENSOR).outputDim(4).build());
    assertTrue(resource.getMessage().contains("/no/such.onnx"), resource.getMessage());
  }

  /**
   * A folder given as the model file (the folder a model was downloaded into) is named a folder,
   * with the models in it; it read "does not exist or cannot be read", which it does and can.
   */
  @Test
  void aFolderGivenAsTheModelFileIsSaidToBeAFolder() throws Exception {
    Path folder = Files.createDirectory(dir.resolve("minilm"));
    OnnxModelException empty = assertThrows(OnnxModelException.class, () -> OnnxPeer.builder()
        .model(folder).modality(Modality.TENSOR).outputDim(4).build());
    assertEquals("model file " + folder + " is a folder; give the .onnx file in it",
        empty.getMessage());
    Files.write(folder.resolve("model.onnx"), new byte[0]);
    Files.write(folder.resolve("model_quantized.onnx"), new byte[0]);
    OnnxModelException holding = assertThrows(OnnxModelException.class, () -> OnnxPeer.builder()
        .model(folder).modality(Modality.TENSOR).outputDim(4).build());
    assertEquals("model file " + folder + " is a folder; give the .onnx file in it (it holds"
        + " model.onnx, model_quantized.onnx)", holding.getMessage());
  }

  @Test
  void aModelWhoseInputsDoNotFitTheAdapterIsRefusedNamingTheInput() {
    byte[] ocr = TestModels.resource(TestModels.OCR);
    OnnxModelException text = assertThrows(OnnxModelException.class,
        () -> OnnxPeer.builder().model(ocr).modality(Modality.TEXT).outputDim(2).build());
    assertTrue(text.getMessage().contains("input_ids") && text.getMessage().contains("x FLOAT"), text.getMessage());
    OnnxModelException size = assertThrows(OnnxModelException.class,
        () -> OnnxPeer.builder().model(ocr).input(ImageInput.of(1, 48, 192)).outputDim(2).build());
    assertTrue(size.getMessage().contains("channels"), size.getMessage());
    byte[] vad = TestModels.resource(TestModels.VAD);
    OnnxModelException unfed = assertThrows(OnnxModelException.class, () -> OnnxPeer.builder().model(vad)
        .input(SpeechInput.frames(512).withContext(64).withState("state", "stateN")).outputDim(1).build());
    assertTrue(unfed.getMessage().contains("sr") && unfed.getMessage().contains("constantInput"), unfed.getMessage());
    OnnxModelException badOut = assertThrows(OnnxModelException.class, () -> OnnxPeer.builder().model(ocr)
        .input(ImageInput.of(3, 48, 192)).output(OutputAdapter.named("logits")).outputDim(2).build());
    assertTrue(badOut.getMessage().contains("logits"), badOut.getMessage());
    // Channels from the model: the normalisation is checked against them.
    OnnxModelException norm = assertThrows(OnnxModelException.class, () -> OnnxPeer.builder()
        .model(ocr).input(ImageInput.any().withNormalization(new float[] {0.5f, 0.5f},
            new float[] {0.5f, 0.5f})).outputDim(2).build());
    assertTrue(norm.getMessage().endsWith("mean and std have 2 values for an image of 3"
        + " channels: give one value (for every channel) or one per channel"), norm.getMessage());
  }

  @Test
  void aConstantInputOfTheWrongShapeIsRefusedAtBuildNamingIt() throws Exception {
    // output = input + bias, bias a constant FLOAT [4]
    GraphProto.Builder g = GraphProto.newBuilder().setName("add")
        .addInput(TestModels.value("input", TensorProto.DataType.FLOAT_VALUE, "batch", 4))
        .addInput(TestModels.value("bias", TensorProto.DataType.FLOAT_VALUE, 4))
        .addNode(TestModels.node("Add", "output", "input", "bias"))
        .addOutput(TestModels.value("output", TensorProto.DataType.FLOAT_VALUE, "batch", 4));
    byte[] add = TestModels.model(g);
    OnnxPeer.Builder b = OnnxPeer.builder().model(add).modality(Modality.TENSOR).outputDim(4);
    for (Tensor wrong : new Tensor[] {Tensor.ofFloats(new float[3], 3),
        Tensor.ofFloats(new float[4], 1, 4)}) {
      OnnxModelException e = assertThrows(OnnxModelException.class,
          () -> b.constantInput("bias", wrong).build().close());
      assertTrue(e.getMessage().contains("bias FLOAT [4]")
          && e.getMessage().contains(Arrays.toString(wrong.shape())), e.getMessage());
    }
    try (OnnxPeer peer = b.constantInput("bias", Tensor.ofFloats(new float[] {1, 2, 3, 4}, 4))
        .build()) {
      ForwardResult r =
          TestModels.forward(peer, Modality.TENSOR, Tensor.ofFloats(new float[4], 1, 1, 4));
      assertTrue(r.isSuccess(), r::toString);
      assertArrayEquals(new float[] {1, 2, 3, 4}, r.output().orElseThrow().toFloatArray());
    }
  }

  @Test
  void aConstantForAnInputTheAdapterFeedsIsRefused() {
    byte[] mlp = OnnxExport.toBytes(Mlp.random(new int[] {4, 3}, Mlp.Activation.RELU, 5),
        OnnxExport.Options.defaults());
    // Were it taken, the constant would replace every request's features: one answer for all.
    OnnxModelException e = assertThrows(OnnxModelException.class, () -> OnnxPeer.builder()
        .model(mlp).input(new TensorInput("input")).outputDim(3)
        .constantInput("input", Tensor.ofFloats(new float[4], 1, 4)).build().close());
    assertTrue(e.getMessage().contains("\"input\" is fed by the TENSOR adapter"), e.getMessage());
  }

  @Test
  void aTextModelOfFixedLengthLongerThanTheAdaptersMaximumIsRefused() throws Exception {
    // output = Cast<float>(input_ids), input_ids INT64 [batch, 8]
    GraphProto.Builder g = GraphProto.newBuilder().setName("cast")
        .addInput(TestModels.value("input_ids", TensorProto.DataType.INT64_VALUE, "batch", 8))
        .addNode(TestModels.node("Cast", "output", "input_ids").toBuilder()
            .addAttribute(AttributeProto.newBuilder().setName("to")
                .setType(AttributeProto.AttributeType.INT).setI(TensorProto.DataType.FLOAT_VALUE)))
        .addOutput(TestModels.value("output", TensorProto.DataType.FLOAT_VALUE, "batch", 8));
    byte[] cast = TestModels.model(g);
    // Requests of 8 tokens would be over the maximum of 4, shorter ones not the 8 it takes.
    OnnxModelException e = assertThrows(OnnxModelException.class, () -> OnnxPeer.builder()
        .model(cast).input(TextInput.bert().withMaxLength(4)).outputDim(8).build().close());
    assertTrue(e.getMessage().contains("withMaxLength(8)"), e.getMessage());
    try (OnnxPeer peer = OnnxPeer.builder().model(cast).input(TextInput.bert().withMaxLength(8))
        .outputDim(8).build()) {
      ForwardResult r = TestModels.forward(peer, Modality.TEXT,
          Tensor.ofLongs(new long[] {1, 2, 3, 4, 5, 6, 7, 8}, 1, 8));
      assertTrue(r.isSuccess(), r::toString);
    }
  }

  @Test
  void aModelOfFixedBatchRunsEachRequestAloneAndRefusesOtherSizes() throws Exception {
    // output = Relu(input), input FLOAT [1, 4]: ONNX Runtime refuses any other batch
    GraphProto.Builder g = GraphProto.newBuilder().setName("one")
        .addInput(TestModels.value("input", TensorProto.DataType.FLOAT_VALUE, 1, 4))
        .addNode(TestModels.node("Relu", "output", "input"))
        .addOutput(TestModels.value("output", TensorProto.DataType.FLOAT_VALUE, 1, 4));
    try (OnnxPeer peer = OnnxPeer.builder().model(TestModels.model(g)).modality(Modality.TENSOR)
        .outputDim(4).batchWindow(Duration.ofMillis(500)).build()) {
      // The worker waits half a second for more requests to join the first: run together, these
      // two would be a batch of 2.
      CompletableFuture<ForwardResult> a = peer.forward(new ForwardRequest(Modality.TENSOR,
          Tensor.ofFloats(new float[] {1, 2, 3, 4}, 1, 1, 4)));
      CompletableFuture<ForwardResult> b = peer.forward(new ForwardRequest(Modality.TENSOR,
          Tensor.ofFloats(new float[] {-1, -2, -3, -4}, 1, 1, 4)));
      for (CompletableFuture<ForwardResult> f : List.of(a, b)) {
        assertTrue(f.join().isSuccess(), f.join()::toString);
      }
      assertArrayEquals(new float[] {1, 2, 3, 4}, a.join().output().orElseThrow().toFloatArray());
      assertArrayEquals(new float[4], b.join().output().orElseThrow().toFloatArray());
      ForwardResult two =
          TestModels.forward(peer, Modality.TENSOR, Tensor.ofFloats(new float[8], 2, 1, 4));
      assertEquals(Status.BAD_SHAPE, two.status(), two::toString);
      assertTrue(two.message().contains("exactly 1 rows"), two.message());
    }
  }

  @Test
  void anInputWhoseAnswerNoTensorHoldsIsRefusedBeforeTheModelRuns() throws Exception {
    // 2M positions of one feature (8 MB) answered at 1024 floats each would be 8 GiB.
    try (OnnxPeer peer = OnnxPeer.builder().model(TestModels.flattenModel("batch", null))
        .modality(Modality.TENSOR).outputDim(1024).build()) {
      ForwardResult big = TestModels.forward(peer, Modality.TENSOR,
          Tensor.ofFloats(new float[2_000_000], 1, 2_000_000, 1));
      assertEquals(Status.PAYLOAD_TOO_LARGE, big.status(), big::toString);
      assertTrue(big.message().contains("1024"), big.message());
      assertEquals(0, peer.modelRuns(), "no model run for an answer that cannot be sent");
      ForwardResult good =
          TestModels.forward(peer, Modality.TENSOR, Tensor.ofFloats(new float[3], 1, 3, 1));
      assertTrue(good.isSuccess(), good::toString);
    }
  }

  /**
   * Frames of one sample with 1,000 of context: a request of 2.4 MB is copied for the model as
   * 2.4 GB, more than a buffer holds (as UINT8 pixels widened to floats past 2 GiB). It failed as
   * INTERNAL_ERROR; it is refused before the model runs now, as too large.
   */
  @Test
  void anInputWhoseCopyForTheModelNoBufferHoldsIsRefusedBeforeTheModelRuns() throws Exception {
    try (OnnxPeer peer = OnnxPeer.builder().model(TestModels.flattenModel("batch", null))
        .input(SpeechInput.frames(1).withContext(1000)).outputDim(1).build()) {
      ForwardResult big = TestModels.forward(peer, Modality.SPEECH,
          Tensor.ofFloats(new float[600_000], 1, 600_000, 1));
      assertEquals(Status.PAYLOAD_TOO_LARGE, big.status(), big::toString);
      assertTrue(big.message().contains("2402400000 bytes"), big.message());
      assertEquals(0, peer.modelRuns(), "no model run for an input that cannot be copied");
      ForwardResult good =
          TestModels.forward(peer, Modality.SPEECH, Tensor.ofFloats(new float[3], 1, 3, 1));
      assertTrue(good.isSuccess(), good::toString);
    }
  }

  /**
   * A stateful SPEECH model of 2^20 features per step: 2,048 steps of one sample are 2^31 floats
   * to keep, which the size in {@code int} wrapped to a negative array size (INTERNAL_ERROR). Now
   * refused as too large after the first step, and a short request is still answered.
   */
  @Test
  void stepsWhoseOutputsNoBufferHoldsAreRefusedAsTooLarge() throws Exception {
    assertTooLargeThenServed(SpeechInput.frames(1).withState("h", "hN"), 2048,
        "[1, 2048, 1048576]");
  }

  /** A model of 2^20 features a sample: {@code frames} of them too large, 3 answered. */
  private static void assertTooLargeThenServed(SpeechInput in, int frames, String shape)
      throws Exception {
    byte[] model = TestModels.widenModel(1 << 20, !in.state().isEmpty());
    try (OnnxPeer peer = OnnxPeer.builder().model(model).input(in).outputDim(1).build()) {
      ForwardResult big = TestModels.forward(peer, Modality.SPEECH,
          Tensor.ofFloats(new float[frames], 1, frames, 1));
      assertEquals(Status.PAYLOAD_TOO_LARGE, big.status(), big::toString);
      assertTrue(big.message().contains(shape), big.message());
      ForwardResult good =
          TestModels.forward(peer, Modality.SPEECH, Tensor.ofFloats(new float[3], 1, 3, 1));
      assertTrue(good.isSuccess(), good::toString);
      assertArrayEquals(new int[] {1, 3, 1}, good.output().orElseThrow().shape());
    }
  }

  /**
   * An output pinned to a scratch buffer, its shape known from the input's: 512 frames of 2^20
   * features are 2 GiB, past what a buffer holds, sized in {@code int} (INTERNAL_ERROR, integer
   * overflow). Now refused as too large before the model runs, and a short request is answered.
   */
  @Test
  void aPinnedOutputNoBufferHoldsIsRefusedAsTooLarge() throws Exception {
    assertTooLargeThenServed(SpeechInput.frames(1), 512, "[512, 1048576]");
  }

  /**
   * A model whose rows are as wide as the request's (a flatten) lets a caller pick the width of
   * the projection: 1.1M features to 64 was a matrix of 70M floats (282 MB), drawn anew for each
   * such request since too large to keep. It is refused now before the matrix is drawn.
   */
  @Test
  void aProjectionTooLargeForOneRequestIsRefusedBeforeItIsDrawn() throws Exception {
    try (OnnxPeer peer = OnnxPeer.builder().model(TestModels.flattenModel("batch", null))
        .modality(Modality.TENSOR).output(OutputAdapter.first().withFit(OutputAdapter.Fit.PROJECT))
        .outputDim(64).build()) {
      ForwardResult wide = TestModels.forward(peer, Modality.TENSOR,
          Tensor.ofFloats(new float[1_100_000], 1, 1, 1_100_000));
      assertEquals(Status.PAYLOAD_TOO_LARGE, wide.status(), wide::toString);
      assertTrue(wide.message().contains("1100000 features"), wide.message());
      ForwardResult good =
          TestModels.forward(peer, Modality.TENSOR, Tensor.ofFloats(new float[3], 1, 1, 3));
      assertTrue(good.isSuccess(), good::toString);
    }
  }

  @Test
  void aRequestTheModelRefusesFailsAloneNotTheRequestsRunWithIt() throws Exception {
    // output = Gather(table [10, 4], input_ids): ONNX Runtime refuses an id of 10 or more, and
    // the adapter does not know the vocabulary's size.
    float[] table = new float[40];
    for (int i = 0; i < table.length; i++) {
      table[i] = i;
    }
    GraphProto.Builder g = GraphProto.newBuilder().setName("embed")
        .addInput(TestModels.value("input_ids", TensorProto.DataType.INT64_VALUE, "batch", "seq"))
        .addInitializer(TestModels.floats("table", table, 10, 4))
        .addNode(TestModels.node("Gather", "output", "table", "input_ids"))
        .addOutput(TestModels.value("output", TensorProto.DataType.FLOAT_VALUE, "batch", "seq", 4));
    try (OnnxPeer peer = OnnxPeer.builder().model(TestModels.model(g))
        .input(TextInput.bert().withMaxLength(8)).outputDim(4)
        .batchWindow(Duration.ofMillis(500)).build()) {
      // The worker waits half a second for more requests to join the first: one batch of three.
      CompletableFuture<ForwardResult> a = peer.forward(new ForwardRequest(Modality.TEXT,
          Tensor.ofLongs(new long[] {1, 2}, 1, 2)));
      CompletableFuture<ForwardResult> bad = peer.forward(new ForwardRequest(Modality.TEXT,
          Tensor.ofLongs(new long[] {3, 1_000_000}, 1, 2)));
      CompletableFuture<ForwardResult> b = peer.forward(new ForwardRequest(Modality.TEXT,
          Tensor.ofLongs(new long[] {4, 5}, 1, 2)));
      assertEquals(Status.BAD_REQUEST, bad.join().status(), bad.join()::toString);
      assertTrue(a.join().isSuccess(), a.join()::toString);
      assertTrue(b.join().isSuccess(), b.join()::toString);
      assertArrayEquals(new float[] {4, 5, 6, 7, 8, 9, 10, 11},
          a.join().output().orElseThrow().toFloatArray());
      assertArrayEquals(new float[] {16, 17, 18, 19, 20, 21, 22, 23},
          b.join().output().orElseThrow().toFloatArray());
    }
  }

  @Test
  void aModelWhoseMetadataGivesNoUsableOutputDimIsAModelError() throws Exception {
    byte[] mlp = OnnxExport.toBytes(Mlp.random(new int[] {4, 3}, Mlp.Activation.RELU, 5),
        OnnxExport.Options.defaults());
    for (String dim : new String[] {"0", "-3", "x"}) {
      ModelProto.Builder m = ModelProto.parseFrom(mlp).toBuilder();
      for (int i = 0; i < m.getMetadataPropsCount(); i++) {
        if (m.getMetadataProps(i).getKey().equals(OnnxExport.OUTPUT_DIM_KEY)) {
          m.setMetadataProps(i, m.getMetadataProps(i).toBuilder().setValue(dim));
        }
      }
      byte[] bad = m.build().toByteArray();
      // The file is at fault, not the caller: a model error naming the metadata.
      OnnxModelException e = assertThrows(OnnxModelException.class,
          () -> OnnxPeer.builder().model(bad).build().close(), dim);
      assertTrue(e.getMessage().contains(OnnxExport.OUTPUT_DIM_KEY), e.getMessage());
      try (OnnxPeer peer = OnnxPeer.builder().model(bad).outputDim(3).build()) {
        assertEquals(3, peer.outputDim(), "an explicit outputDim wins");
      }
    }
  }

  @Test
  void missingSettingsAreMisuse() {
    assertThrows(IllegalStateException.class, () -> OnnxPeer.builder().modality(Modality.TENSOR).outputDim(1).build());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OnnxPeer.builder().outputDim(0));
    assertTrue(e.getMessage().contains("0"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> OnnxPeer.builder().maxBatch(0));
    assertThrows(IllegalArgumentException.class, () -> Device.parse("tpu"));
  }

  @Test
  void nanInputsAreRefusedAndTheNextGoodRequestIsServed() throws Exception {
    Mlp mlp = Mlp.random(new int[] {4, 3}, Mlp.Activation.RELU, 5);
    try (OnnxPeer peer = OnnxPeer.builder().model(OnnxExport.toBytes(mlp, OnnxExport.Options.defaults()))
        .modality(Modality.TENSOR).outputDim(3).build()) {
      ForwardResult nan = TestModels.forward(peer, Modality.TENSOR,
          Tensor.ofFloats(new float[] {1, Float.NaN, 0, 0}, 1, 1, 4));
      assertEquals(Status.BAD_REQUEST, nan.status());
      assertEquals("input.data", nan.field());
      ForwardResult wide = TestModels.forward(peer, Modality.TENSOR, Tensor.ofFloats(new float[5], 1, 1, 5));
      assertEquals(Status.BAD_SHAPE, wide.status());
      assertTrue(wide.message().contains("inputDim 4"), wide.message());
      ForwardResult rank = TestModels.forward(peer, Modality.TENSOR, Tensor.ofFloats(new float[4], 1, 4));
      assertEquals(Status.BAD_SHAPE, rank.status());
      ForwardResult good = TestModels.forward(peer, Modality.TENSOR, Tensor.ofFloats(new float[] {1, 2, 3, 4}, 1, 1, 4));
      assertTrue(good.isSuccess(), good::toString);
    }
  }
}
