package io.bittensor.learning;

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
}
