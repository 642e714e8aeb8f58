package io.bittensor.learning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.Distiller;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Gated;
import io.bittensor.core.Modality;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.incentive.PeerVector;
import io.bittensor.learning.TestPeers.FnPeer;
import io.bittensor.onnx.Mlp;
import io.bittensor.onnx.OnnxPeer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The code of docs/learning.md, run on small seeded peers: the calls there compile and work. */
@Timeout(120)
class LearningSnippetsTest {
  private static final int CLASSES = 10;
  private static final int IN = 784;

  /** Peers answering a distribution over the classes: a softmax of a random projection. */
  private static List<FnPeer> peers(int n) {
    List<FnPeer> ps = new ArrayList<>();
    for (int j = 0; j < n; j++) {
      Function<float[], float[]> f = TestPeers.projection(IN, CLASSES, 40 + j);
      ps.add(new FnPeer(CLASSES, x -> {
        float[] y = f.apply(x);
        float[] p = new float[CLASSES];
        NnOps.softmaxRows(y, 1, CLASSES, p);
        return p;
      }));
    }
    return ps;
  }

  private static int[] labels(Tensor x) {
    // A label the peers' answers carry: the sign pattern of two pixels.
    float[] v = x.toFloatArray();
    int[] y = new int[x.dim(0)];
    for (int i = 0; i < y.length; i++) {
      y[i] = (v[i * IN] > 0 ? 1 : 0) + (v[i * IN + 1] > 0 ? 2 : 0);
    }
    return y;
  }

  @Test
  void theGateLearnerWeightsAndStudentOfTheDocsRun(@TempDir Path dir) throws Exception {
    Random r = new Random(8);
    List<FnPeer> peers = peers(4);
    Tensor x = TestPeers.batch(r, 32, IN);
    ForwardRequest request = new ForwardRequest(Modality.TENSOR, x);
    Tensor context = Learner.flatten(x);

    // The gate.
    NoisyTopKGate gate = NoisyTopKGate.builder()
        .peers(peers)
        .k(2)
        .contextDim(784)
        .outputDim(10)
        .seed(7)
        .build();
    Gated g = gate.forwardAndWait(request, context, true, Duration.ofMillis(500));
    assertArrayEquals(new int[] {32, 1, 10}, g.output().shape());
    assertTrue(g.failed().isEmpty());

    // The gate that routes away from peers that fail: a failing peer's logit goes down.
    NoisyTopKGate wary = NoisyTopKGate.builder().peers(peers).k(2).contextDim(784).outputDim(10)
        .failureWeight(1)             // route away from peers that fail
        .build();
    peers.get(0).failWith = Status.UNAVAILABLE;
    Gated warily = wary.forwardAndWait(request, context, true, Duration.ofMillis(500));
    wary.backward(warily, Tensor.ofFloats(new float[32 * 10], 32, 1, 10));
    assertTrue(wary.failureLoss() > 0 && warily.failed().stream().anyMatch(c -> c.peer() == 0),
        "" + warily.failed());
    assertTrue(wary.parameters().get(1).gradients()[0] > 0, "peer 0's bias is pushed down");

    // The student in a failed peer's slot.
    MlpDistiller standInStudent = MlpDistiller.builder().inputDim(784).hidden(64).outputDim(10)
        .seed(3).build();
    NoisyTopKGate covered = NoisyTopKGate.builder().peers(peers).k(2).contextDim(784)
        .outputDim(10)
        .fallback(standInStudent.asPeer())   // answers where a routed peer failed
        .build();
    Gated withStudent = covered.forwardAndWait(request, context, true, Duration.ofMillis(500));
    float[] shares = withStudent.fallbackShares();     // of each example's join
    int[][] selected = withStudent.selected();
    for (int b = 0; b < 32; b++) {
      boolean routedTo0 = selected[b][0] == 0 || selected[b][1] == 0;
      assertEquals(routedTo0, shares[b] > 0, "example " + b);
    }
    assertTrue(withStudent.fallback().isSuccess());
    peers.get(0).failWith = null;

    // The learner, with the student.
    MlpDistiller student = MlpDistiller.builder()
        .inputDim(784).hidden(64).outputDim(10)
        .objective(Distiller.Objective.KL)
        .seed(3)
        .build();
    TrainableMlp head = TrainableMlp.random(new int[] {10, 32, 10}, Mlp.Activation.RELU, 7);
    Learner learner = Learner.builder()
        .gate(NoisyTopKGate.builder().peers(peers).k(2).contextDim(784).outputDim(10).seed(7)
            .build())
        .head(head)
        .learningRate(3e-3)
        .timeout(Duration.ofMillis(500))
        .distiller(student)
        .build();
    StepResult first = null;
    StepResult last = null;
    for (int epoch = 0; epoch < 30; epoch++) {
      last = learner.train(request, labels(x));
      first = first == null ? last : first;
    }
    assertTrue(last.loss() < first.loss(), first.loss() + " -> " + last.loss());
    Evaluation e = learner.evaluate(request, labels(x));
    assertEquals(32, e.rows());
    assertTrue(e.bytesReceived() > 0 && e.bytesSent() > 0);

    // A peer the network trains.
    TrainablePeer taught = TrainablePeer.builder()
        .network(TrainableMlp.random(new int[] {IN, 64, 10}, Mlp.Activation.RELU, 1))
        .learningRate(1e-3)
        .maxGradientNorm(1)                 // per example: no caller moves it more than this
        .build();
    Learner teacher = Learner.builder()
        .gate(NoisyTopKGate.builder().peers(List.of(taught)).k(1).contextDim(IN).outputDim(10)
            .seed(7).build())
        .head(TrainableMlp.random(new int[] {10, 10}, Mlp.Activation.RELU, 7))
        .build();
    teacher.train(request, labels(x));
    assertEquals(1, taught.steps());
    Mlp learned = taught.toMlp();             // what the callers taught it, for OnnxExport
    assertEquals(10, learned.outputDim());

    // The weight rows.
    PeerVector row = learner.weights(WeightSource.PRUNING_SCORE, 3);
    PeerVector proxy = learner.weights(WeightSource.GATE_IMPORTANCE, 3);
    PeerVector surgeon = learner.weights(WeightSource.COMPENSATED_PRUNING_SCORE, 3);
    // Measured on every 4th batch, by asking each example one more peer.
    PeerVector rerouted = learner.weights(WeightSource.REROUTED_LOSS, 3);
    // The surgeon again, with those stand-ins in its Fisher matrix.
    PeerVector surgeonWithStandIns = learner.weights(WeightSource.STAND_IN_PRUNING_SCORE, 3);
    for (PeerVector v : List.of(row, proxy, surgeon, rerouted, surgeonWithStandIns)) {
      double[] w = v.toArray();
      assertEquals(1, Arrays.stream(w).sum(), 1e-9);
      assertTrue(Arrays.stream(w).filter(a -> a > 0).count() >= 3);
    }
    assertArrayEquals(new double[] {0.75, 0.25, 0}, Learner.weightRow(new double[] {3, 1, 0}, 2),
        1e-6);

    // The student: distilled, offline, written as ONNX, served as an OnnxPeer.
    learner.distill(request);
    Evaluation offline = learner.evaluateOffline(request, labels(x));
    assertEquals(32, offline.studentRows());
    Path file = dir.resolve("student.onnx");
    student.writeOnnx(file);
    assertTrue(Files.size(file) > 0);
    try (OnnxPeer standIn = student.toOnnxPeer()) {
      ForwardResult answer = standIn.forward(request).join();
      assertArrayEquals(student.predict(x).toFloatArray(),
          answer.output().orElseThrow().toFloatArray(), 1e-4f);
    }

    // Checkpoints: saved between steps, restored into a learner built the same way.
    Path checkpoint = dir.resolve("neuron.ckpt");
    learner.saveCheckpoint(checkpoint);                 // whole or not at all
    Learner restarted = Learner.builder()
        .gate(NoisyTopKGate.builder().peers(peers).k(2).contextDim(784).outputDim(10).seed(7)
            .build())
        .head(TrainableMlp.random(new int[] {10, 32, 10}, Mlp.Activation.RELU, 7))
        .learningRate(3e-3)
        .timeout(Duration.ofMillis(500))
        .distiller(MlpDistiller.builder().inputDim(784).hidden(64).outputDim(10).seed(3).build())
        .build();
    restarted.restoreCheckpoint(checkpoint);
    assertArrayEquals(learner.weights(WeightSource.PRUNING_SCORE, 3).toArray(),
        restarted.weights(WeightSource.PRUNING_SCORE, 3).toArray(), 0.0);
    assertArrayEquals(learner.predict(request), restarted.predict(request));
  }
}
