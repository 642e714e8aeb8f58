package io.bittensor.learning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.Distiller;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.onnx.Mlp;
import io.bittensor.onnx.OnnxPeer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

@Timeout(120)
class MlpDistillerTest {
  /** A fixed teacher: a random network, a distribution (KL) or an embedding (MSE, cosine). */
  private static Tensor teach(Mlp teacher, Tensor x, Distiller.Objective objective) {
    float[] all = x.toFloatArray();
    int rows = x.dim(0);
    int in = teacher.inputDim();
    int out = teacher.outputDim();
    float[] y = new float[rows * out];
    for (int r = 0; r < rows; r++) {
      float[] t = teacher.forward(java.util.Arrays.copyOfRange(all, r * in, (r + 1) * in));
      if (objective == Distiller.Objective.KL) {
        NnOps.softmaxRows(t, 1, out, t);
      }
      System.arraycopy(t, 0, y, r * out, out);
    }
    return Tensor.ofFloats(y, rows, 1, out);
  }

  @ParameterizedTest
  @EnumSource(Distiller.Objective.class)
  void theStudentLearnsToMimicItsTeacher(Distiller.Objective objective) {
    Mlp teacher = Mlp.random(new int[] {6, 12, 5}, Mlp.Activation.TANH, 1);
    MlpDistiller student = MlpDistiller.builder().inputDim(6).hidden(24).outputDim(5)
        .objective(objective).learningRate(0.01).seed(2).build();
    Random r = new Random(3);
    Tensor probe = TestPeers.batch(new Random(4), 200, 6);
    double before = student.fit(probe, teach(teacher, probe, objective));
    for (int s = 0; s < 600; s++) {
      Tensor x = TestPeers.batch(r, 32, 6);
      student.fit(x, teach(teacher, x, objective));
    }
    MlpDistiller fresh = MlpDistiller.builder().inputDim(6).hidden(24).outputDim(5)
        .objective(objective).seed(2).build();
    double after = student.fit(probe, teach(teacher, probe, objective));
    assertTrue(after < 0.25 * before, objective + ": objective " + before + " -> " + after);
    assertTrue(fresh.fit(probe, teach(teacher, probe, objective)) > after);
  }

  @Test
  void theOnnxExportServedAsAPeerAnswersAsTheStudentDoes(@TempDir Path dir) throws Exception {
    MlpDistiller student = MlpDistiller.builder().inputDim(7).hidden(9, 5).outputDim(4)
        .seed(5).build();
    Random r = new Random(6);
    for (int s = 0; s < 20; s++) {
      Tensor x = TestPeers.batch(r, 8, 7);
      student.fit(x, teach(Mlp.random(new int[] {7, 4}, Mlp.Activation.RELU, 7), x,
          Distiller.Objective.KL));
    }
    Path file = dir.resolve("student.onnx");
    student.writeOnnx(file);
    assertTrue(Files.size(file) > 0);
    Tensor x = TestPeers.batch(r, 10, 7);
    Tensor expected = student.predict(x);
    try (OnnxPeer peer = OnnxPeer.builder().model(file).build();
        OnnxPeer direct = student.toOnnxPeer()) {
      for (Peer p : new Peer[] {peer, direct, student.asPeer()}) {
        ForwardResult got = p.forward(new ForwardRequest(Modality.TENSOR, x)).join();
        assertEquals(Status.SUCCESS, got.status(), got.message());
        float[] a = expected.toFloatArray();
        float[] b = got.output().orElseThrow().toFloatArray();
        assertEquals(a.length, b.length);
        for (int i = 0; i < a.length; i++) {
          assertEquals(a[i], b[i], 1e-5, p + " element " + i);
        }
      }
    }
  }

  @Test
  void asAPeerItAnswersBadInputWithAStatus() {
    MlpDistiller student = MlpDistiller.builder().inputDim(3).outputDim(2).build();
    Peer p = student.asPeer();
    ForwardResult r = p.forward(new ForwardRequest(Modality.TEXT,
        Tensor.ofLongs(new long[] {1, 2}, 1, 2))).join();
    assertEquals(Status.UNKNOWN_MODALITY, r.status());
    r = p.forward(new ForwardRequest(Modality.TENSOR, TestPeers.batch(new Random(1), 2, 5))).join();
    assertEquals(Status.BAD_SHAPE, r.status());
    assertTrue(r.message().contains("takes 3 features per position"), r.message());
  }

  @Test
  void misuseNamesTheProblem() {
    MlpDistiller student = MlpDistiller.builder().inputDim(3).outputDim(2).build();
    var e = assertThrows(IllegalArgumentException.class, () -> student.fit(
        TestPeers.batch(new Random(1), 2, 3), TestPeers.batch(new Random(1), 2, 3)));
    assertTrue(e.getMessage().contains("target must be FLOAT32 [2, 1, 2]"), e.getMessage());
    assertThrows(IllegalStateException.class, () -> MlpDistiller.builder().inputDim(3).build());
    assertThrows(IllegalArgumentException.class, () -> MlpDistiller.builder().hidden(0));
    assertThrows(IllegalArgumentException.class,
        () -> MlpDistiller.builder().modality(Modality.TEXT));
  }

  /**
   * A batch with no rows: no positions is answered with no positions, and is not fitted (its
   * mean objective is 0 / 0, and an optimiser step on no data would still move the values).
   */
  @Test
  void aBatchWithNoRowsIsAnsweredEmptyAndNotFitted() {
    MlpDistiller student = MlpDistiller.builder().inputDim(3).outputDim(2).seed(1).build();
    Tensor noPositions = Tensor.ofFloats(new float[0], 2, 0, 3);
    assertArrayEquals(new int[] {2, 0, 2}, student.predict(noPositions).shape());
    var e = assertThrows(IllegalArgumentException.class,
        () -> student.fit(noPositions, Tensor.ofFloats(new float[0], 2, 0, 2)));
    assertTrue(e.getMessage().contains("at least one example and position, was [2, 0, 3]"),
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> student.fit(
        Tensor.ofFloats(new float[0], 0, 1, 3), Tensor.ofFloats(new float[0], 0, 1, 2)));
    assertTrue(e.getMessage().contains("at least one example and position, was [0, 1, 3]"),
        e.getMessage());
  }

  /**
   * One NaN or infinity in a batch would make every weight NaN for good: such a batch is
   * refused, naming the element, and the student answers as before.
   */
  @Test
  void aBatchWithAValueThatIsNotFiniteIsRefusedAndLeavesTheStudentAsItWas() {
    MlpDistiller student = MlpDistiller.builder().inputDim(3).outputDim(2).seed(1)
        .objective(Distiller.Objective.MSE).build();
    Tensor x = TestPeers.batch(new Random(2), 4, 3);
    float[] before = student.predict(x).toFloatArray();
    float[] t = new float[8];
    t[5] = Float.NaN;
    var e = assertThrows(IllegalArgumentException.class,
        () -> student.fit(x, Tensor.ofFloats(t, 4, 1, 2)));
    assertTrue(e.getMessage().contains("target element 5 is NaN"), e.getMessage());
    float[] in = x.toFloatArray();
    in[7] = Float.POSITIVE_INFINITY;
    e = assertThrows(IllegalArgumentException.class,
        () -> student.fit(Tensor.ofFloats(in, 4, 1, 3), Tensor.ofFloats(new float[8], 4, 1, 2)));
    assertTrue(e.getMessage().contains("input element 7 is Infinity"), e.getMessage());
    assertArrayEquals(before, student.predict(x).toFloatArray());
  }

  /**
   * KL compares distributions: a negative target (an embedding, say, under the default
   * objective) has no KL term, and counts as 0 in the gradient too, rather than pulling the
   * student towards nothing its loss measures. Refusing it would stop a learner's every step.
   */
  @Test
  void aKlStudentTakesANegativeTargetAsZero() {
    MlpDistiller negative = MlpDistiller.builder().inputDim(3).outputDim(2).seed(1).build();
    MlpDistiller zero = MlpDistiller.builder().inputDim(3).outputDim(2).seed(1).build();
    Tensor x = TestPeers.batch(new Random(2), 2, 3);
    for (int step = 0; step < 5; step++) {
      double a = negative.fit(x, Tensor.ofFloats(new float[] {0.5f, 0.5f, 1.5f, -0.5f}, 2, 1, 2));
      double b = zero.fit(x, Tensor.ofFloats(new float[] {0.5f, 0.5f, 1.5f, 0f}, 2, 1, 2));
      assertEquals(b, a, 0, "step " + step);
    }
    assertArrayEquals(zero.predict(x).toFloatArray(), negative.predict(x).toFloatArray());
  }

  @Test
  void anImageStudentReadsPixelsScaledToOneAndDoesNotExport(@TempDir Path dir) {
    // The same seed and shape: the IMAGE student reading bytes must answer as the TENSOR student
    // reading the bytes / 255, before and after each takes the same training step.
    MlpDistiller pixels = MlpDistiller.builder().modality(Modality.IMAGE).inputDim(12).hidden(5)
        .outputDim(3).seed(9).build();
    MlpDistiller floats = MlpDistiller.builder().inputDim(12).hidden(5).outputDim(3).seed(9)
        .build();
    assertEquals(Modality.IMAGE, pixels.modality());
    assertEquals(12, pixels.inputDim());
    assertEquals(3, pixels.outputDim());
    Random r = new Random(10);
    byte[] raw = new byte[4 * 12];
    r.nextBytes(raw);
    float[] scaled = new float[raw.length];
    for (int i = 0; i < raw.length; i++) {
      scaled[i] = (raw[i] & 0xff) / 255f;
    }
    Tensor image = Tensor.ofBytes(raw, 4, 1, 3, 2, 2); // [batch, sequence, channels, h, w]
    Tensor tensor = Tensor.ofFloats(scaled, 4, 1, 12);
    assertArrayEquals(floats.predict(tensor).toFloatArray(), pixels.predict(image).toFloatArray());
    Tensor target = teach(Mlp.random(new int[] {12, 3}, Mlp.Activation.RELU, 11), tensor,
        Distiller.Objective.KL);
    assertEquals(floats.fit(tensor, target), pixels.fit(image, target));
    assertArrayEquals(floats.predict(tensor).toFloatArray(), pixels.predict(image).toFloatArray());
    // Only TENSOR students export: an ONNX peer serving IMAGE would need the scaling too.
    var e = assertThrows(IllegalStateException.class,
        () -> pixels.writeOnnx(dir.resolve("image.onnx")));
    assertTrue(e.getMessage().contains("this student takes IMAGE"), e.getMessage());
    assertTrue(Files.notExists(dir.resolve("image.onnx")));
    assertThrows(IllegalStateException.class, pixels::toOnnxPeer);
  }

  @Test
  void itsParametersAreTheStudentLiveAndCopyIntoAnother() {
    MlpDistiller trained = MlpDistiller.builder().inputDim(4).hidden(6).outputDim(3)
        .objective(Distiller.Objective.MSE).seed(1).build();
    MlpDistiller other = MlpDistiller.builder().inputDim(4).hidden(6).outputDim(3)
        .objective(Distiller.Objective.MSE).seed(2).build();
    List<Parameter> params = trained.parameters();
    // Weights then bias of each layer: 4x6, 6, 6x3, 3.
    assertEquals(List.of(24, 6, 18, 3), params.stream().map(Parameter::size).toList());
    Random r = new Random(3);
    for (int s = 0; s < 10; s++) {
      Tensor x = TestPeers.batch(r, 8, 4);
      trained.fit(x, TestPeers.batch(r, 8, 3));
    }
    Tensor x = TestPeers.batch(r, 5, 4);
    float[] want = trained.predict(x).toFloatArray();
    assertTrue(!java.util.Arrays.equals(want, other.predict(x).toFloatArray()));
    for (int i = 0; i < params.size(); i++) {
      float[] from = params.get(i).values();
      System.arraycopy(from, 0, other.parameters().get(i).values(), 0, from.length);
    }
    assertArrayEquals(want, other.predict(x).toFloatArray());
    assertThrows(UnsupportedOperationException.class, () -> params.remove(0));
    // MSE answers are the last dense layer's, with no softmax: a row need not sum to 1.
    float[] row = java.util.Arrays.copyOfRange(want, 0, 3);
    assertTrue(Math.abs(row[0] + row[1] + row[2] - 1) > 1e-3, java.util.Arrays.toString(row));
    assertEquals(3, trained.toMlp().layers().size(), "dense, activation, dense: no softmax");
  }
}
