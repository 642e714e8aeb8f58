package io.bittensor.learning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.BackwardRequest;
import io.bittensor.core.BackwardResult;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.Gated;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.incentive.PeerVector;
import io.bittensor.learning.TestPeers.FnPeer;
import io.bittensor.onnx.Mlp;
import io.bittensor.transport.InProcessNetwork;
import io.bittensor.transport.PeerClient;
import io.bittensor.transport.PeerServer;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;

@Timeout(120)
class LearnerTest {
  private static Learner learner(List<? extends Peer> peers, int k, long seed) {
    return builder(peers, k, seed).build();
  }

  private static Learner.Builder builder(List<? extends Peer> peers, int k, long seed) {
    return Learner.builder()
        .gate(NoisyTopKGate.builder().peers(peers).k(k).contextDim(RoutingTask.IN)
            .outputDim(RoutingTask.CLASSES).learningRate(0.01).seed(seed).build())
        .head(TrainableMlp.random(new int[] {4, 16, 4}, Mlp.Activation.RELU, seed))
        .learningRate(0.01)
        .timeout(Duration.ofSeconds(5));
  }

  private static void train(Learner l, RoutingTask task, int steps, long seed) {
    Random r = new Random(seed);
    for (int s = 0; s < steps; s++) {
      Tensor x = TestPeers.batch(r, 32, RoutingTask.IN);
      l.train(new ForwardRequest(Modality.TENSOR, x), task.labels(x));
    }
  }

  private static double singlePeerAccuracy(FnPeer p, RoutingTask task, Tensor x) {
    float[] all = x.toFloatArray();
    int[] labels = task.labels(x);
    int ok = 0;
    for (int r = 0; r < x.dim(0); r++) {
      float[] y = p.fn.apply(java.util.Arrays.copyOfRange(all, r * 8, r * 8 + 8));
      ok += NnOps.argmax(y, 0, 4) == labels[r] ? 1 : 0;
    }
    return ok / (double) x.dim(0);
  }

  @Test
  void learnsToRouteAndBeatsEverySinglePeerWhileNoiseEarnsLittle() {
    RoutingTask task = new RoutingTask(1, 3);
    Learner l = learner(task.peers, 2, 1);
    train(l, task, 400, 2);
    Tensor x = TestPeers.batch(new Random(99), 400, RoutingTask.IN);
    Evaluation e = l.evaluate(new ForwardRequest(Modality.TENSOR, x), task.labels(x));
    double best = 0;
    for (FnPeer p : task.peers) {
      best = Math.max(best, singlePeerAccuracy(p, task, x));
    }
    assertTrue(e.accuracy() > 0.9 && e.accuracy() > best + 0.2,
        "gated " + e.accuracy() + " vs best single peer " + best);
    double[] imp = l.importance();
    double[] fisher = l.pruningScores();
    for (int j = 2; j < 5; j++) {
      assertTrue(imp[j] < 0.05, "noise peer " + j + " importance " + imp[j]);
      assertTrue(fisher[j] < 0.25 * Math.min(fisher[0], fisher[1]),
          "noise peer " + j + " pruning score " + fisher[j] + " vs experts " + fisher[0] + ", "
              + fisher[1]);
    }
    PeerVector row = l.weights(WeightSource.PRUNING_SCORE, 5);
    assertEquals(1, row.sum(), 1e-9);
    for (int j = 0; j < 5; j++) {
      assertTrue(row.get(j) > 0, "at least minAllowedWeights = 5 non-zero entries");
    }
  }

  /**
   * A timeout too long to matter, which the builder takes, is no limit: the step's waits (the
   * gate's forward, the stand-ins, the acknowledgements) added their margin to toMillis(), which
   * overflowed.
   */
  @Test
  void aTimeoutTooLongToMatterTrainsAsNoLimit() {
    RoutingTask task = new RoutingTask(3, 2);
    Learner l = Learner.builder()
        .gate(NoisyTopKGate.builder().peers(task.peers).k(2).contextDim(RoutingTask.IN)
            .outputDim(RoutingTask.CLASSES).seed(3).build())
        .head(TrainableMlp.random(new int[] {4, 16, 4}, Mlp.Activation.RELU, 3))
        .timeout(Duration.ofSeconds(Long.MAX_VALUE))
        .probeEvery(1)
        .build();
    Tensor x = TestPeers.batch(new Random(4), 16, RoutingTask.IN);
    StepResult s = l.train(new ForwardRequest(Modality.TENSOR, x), task.labels(x));
    assertTrue(s.failedPeers().isEmpty(), s.toString());
    assertTrue(s.gradientsAcknowledged() > 0 && s.probeBytesReceived() > 0, s.toString());
  }

  /**
   * An example with a NaN feature is refused before any peer is asked: through the default
   * context it reached the gate's logits, and its gradient made every gate parameter NaN for
   * good (the peers refuse such an input anyway).
   */
  @Test
  void aNonFiniteContextIsRefusedAndLeavesTheGateAsItWas() {
    RoutingTask task = new RoutingTask(6, 1);
    NoisyTopKGate gate = NoisyTopKGate.builder().peers(task.peers).k(2)
        .contextDim(RoutingTask.IN).outputDim(RoutingTask.CLASSES).seed(6).build();
    Learner l = Learner.builder().gate(gate)
        .head(TrainableMlp.random(new int[] {4, 16, 4}, Mlp.Activation.RELU, 6)).build();
    Tensor clean = TestPeers.batch(new Random(7), 8, RoutingTask.IN);
    float[] v = clean.toFloatArray();
    v[3 * RoutingTask.IN + 2] = Float.NaN;
    Tensor x = Tensor.ofFloats(v, clean.shape());
    IllegalArgumentException refused = null;
    try {
      l.train(new ForwardRequest(Modality.TENSOR, x), task.labels(clean));
    } catch (IllegalArgumentException e) {
      refused = e;
    }
    for (Parameter p : gate.parameters()) {
      for (int i = 0; i < p.size(); i++) {
        assertTrue(Float.isFinite(p.values()[i]), p.name() + "[" + i + "] " + p.values()[i]);
      }
    }
    // The learner's own check of the input comes first; the gate's of the context is behind it.
    assertTrue(refused != null && refused.getMessage().contains("input element 26 is NaN"),
        String.valueOf(refused));
    assertEquals(0, l.trainedSteps());
  }

  @Test
  void eachPeerAskedGetsTheGradientOfItsOwnAnswer() {
    RoutingTask task = new RoutingTask(3, 2);
    Learner l = learner(task.peers, 2, 3);
    Tensor x = TestPeers.batch(new Random(4), 16, RoutingTask.IN);
    StepResult s = l.train(new ForwardRequest(Modality.TENSOR, x), task.labels(x));
    int asked = 0;
    for (FnPeer p : task.peers) {
      assertEquals(p.inputs.size(), p.gradients.size(), "one gradient per answered call");
      for (int i = 0; i < p.inputs.size(); i++) {
        BackwardRequest g = p.gradients.get(i);
        assertEquals(p.inputs.get(i), g.input(), "the gradient comes with the rows it answered");
        assertArrayEquals(new int[] {p.inputs.get(i).dim(0), 1, 4}, g.gradient().shape());
        asked++;
      }
    }
    assertEquals(asked, s.gradientsAcknowledged());
    assertEquals(32, s.rows() * 2, "16 examples, 2 peers each");
    assertEquals(16L * 2 * 4 * 4, s.bytesReceived());
  }

  @Test
  void worksThroughTheInProcessTransportAndSurvivesAFailingPeer() throws Exception {
    RoutingTask task = new RoutingTask(5, 1);
    task.peers.get(2).failWith = Status.INTERNAL_ERROR;
    InProcessNetwork net = new InProcessNetwork();
    List<PeerServer> servers = new ArrayList<>();
    // Anonymous callers: the JDK's Ed25519 costs milliseconds per signature, and the transport's
    // own tests cover signing; the checks, admission and statuses here are the same.
    try (PeerClient client = PeerClient.newBuilder().inProcess(net).build()) {
      List<Peer> remote = new ArrayList<>();
      for (int j = 0; j < task.peers.size(); j++) {
        servers.add(PeerServer.newBuilder(task.peers.get(j)).allowAnonymous(true)
            .startInProcess(net, "peer-" + j));
        remote.add(client.connect(URI.create("inproc://peer-" + j)));
      }
      Learner l = learner(remote, 2, 5);
      Random r = new Random(6);
      List<Integer> failed = new ArrayList<>();
      for (int s = 0; s < 150; s++) {
        Tensor x = TestPeers.batch(r, 32, RoutingTask.IN);
        failed.addAll(l.train(new ForwardRequest(Modality.TENSOR, x), task.labels(x))
            .failedPeers());
      }
      assertTrue(failed.contains(2), "the failing peer is reported");
      assertTrue(failed.stream().allMatch(j -> j == 2), "and only it: " + failed);
      Tensor x = TestPeers.batch(new Random(7), 300, RoutingTask.IN);
      Evaluation e = l.evaluate(new ForwardRequest(Modality.TENSOR, x), task.labels(x));
      assertTrue(e.accuracy() > 0.85, "learned through the transport: " + e.accuracy());
      assertTrue(l.importance()[2] < 0.02, "a peer that never answers earns no importance: "
          + l.importance()[2]);
      assertTrue(task.peers.get(0).gradients.size() > 0, "gradients travelled back");
    } finally {
      servers.forEach(PeerServer::close);
    }
  }

  /**
   * Peers 2 and 3 answer as peer 0 does, and peer 3 fails every other call. The join renormalises
   * over the peers that answered, so only the failure loss tells the gate that peer 3 fails: with
   * it the gate sends peer 0's kind of example to peers 0 and 2; without it all three share them.
   */
  @Test
  void theFailureLossMovesExamplesAwayFromAPeerThatFails() {
    double[] shareOfTheFailing = new double[2];
    for (int side = 0; side < 2; side++) {
      RoutingTask task = new RoutingTask(12, 1);
      FnPeer copy = new FnPeer(RoutingTask.CLASSES, task.peers.get(0).fn);
      AtomicInteger flakyRows = new AtomicInteger();
      List<Peer> peers = new ArrayList<>(task.peers);
      peers.add(2, copy);
      peers.add(3, failingEveryOtherCall(new FnPeer(RoutingTask.CLASSES, task.peers.get(0).fn),
          flakyRows));
      Learner l = Learner.builder()
          .gate(NoisyTopKGate.builder().peers(peers).k(2).contextDim(RoutingTask.IN)
              .outputDim(RoutingTask.CLASSES).learningRate(0.01).failureWeight(side == 0 ? 0 : 1)
              .seed(12).build())
          .head(TrainableMlp.random(new int[] {4, 16, 4}, Mlp.Activation.RELU, 12))
          .learningRate(0.01)
          .timeout(Duration.ofSeconds(5))
          .build();
      train(l, task, 300, 13);
      int before = task.peers.get(0).rowsReceived() + copy.rowsReceived();
      int beforeFlaky = flakyRows.get();
      train(l, task, 50, 14);
      int reliable = task.peers.get(0).rowsReceived() + copy.rowsReceived() - before;
      int flaky = flakyRows.get() - beforeFlaky;
      shareOfTheFailing[side] = flaky / (double) (reliable + flaky);
      // The step says what its failure loss was: 0 when off, above 0 where a routed peer failed.
      Tensor x = TestPeers.batch(new Random(15), 32, RoutingTask.IN);
      StepResult last = l.train(new ForwardRequest(Modality.TENSOR, x), task.labels(x));
      assertEquals(side == 1 && last.failedPeers().contains(3), last.failureLoss() > 0,
          last.toString());
      assertEquals(0, last.fallbackRows());
    }
    assertTrue(shareOfTheFailing[1] < 0.15, "with the failure loss the failing peer gets under"
        + " 15% of the three's examples: " + shareOfTheFailing[1]);
    assertTrue(shareOfTheFailing[0] > 2 * shareOfTheFailing[1], "without it, more than twice"
        + " that: " + shareOfTheFailing[0] + " against " + shareOfTheFailing[1]);
  }

  /**
   * {@code peer}, answering TIMEOUT at once on every other call (the first one answered); {@code
   * rows} counts the rows of every call.
   */
  private static Peer failingEveryOtherCall(FnPeer peer, AtomicInteger rows) {
    AtomicInteger calls = new AtomicInteger();
    return new Peer() {
      @Override
      public CompletableFuture<ForwardResult> forward(ForwardRequest request) {
        rows.addAndGet(request.input().dim(0));
        return calls.getAndIncrement() % 2 == 0 ? peer.forward(request)
            : CompletableFuture.completedFuture(ForwardResult.failure(Status.TIMEOUT, "flaky"));
      }

      @Override
      public CompletableFuture<BackwardResult> backward(BackwardRequest request) {
        return peer.backward(request);
      }
    };
  }

  /**
   * A learner with a student, trained on the task and then distilled on unlabelled data; with
   * {@code fallback}, the student is the gate's fallback too.
   */
  private static Learner trainedWithStudent(RoutingTask task, boolean fallback) {
    Learner l = withStudent(task, fallback);
    train(l, task, 300, 9);
    Random r = new Random(10);
    for (int s = 0; s < 200; s++) {
      l.distill(new ForwardRequest(Modality.TENSOR, TestPeers.batch(r, 32, RoutingTask.IN)));
    }
    return l;
  }

  /** The learner of {@link #trainedWithStudent}, before any training. */
  private static Learner withStudent(RoutingTask task, boolean fallback) {
    MlpDistiller student = MlpDistiller.builder().inputDim(RoutingTask.IN).hidden(32)
        .outputDim(RoutingTask.CLASSES).learningRate(0.01).seed(8).build();
    NoisyTopKGate.Builder gate = NoisyTopKGate.builder().peers(task.peers).k(2)
        .contextDim(RoutingTask.IN).outputDim(RoutingTask.CLASSES).learningRate(0.01).seed(8);
    if (fallback) {
      gate.fallback(student.asPeer());
    }
    return Learner.builder()
        .gate(gate.build())
        .head(TrainableMlp.random(new int[] {4, 16, 4}, Mlp.Activation.RELU, 8))
        .learningRate(0.01)
        .distiller(student)
        .build();
  }

  /**
   * A peer answering negative numbers (an embedding, or a hostile peer's bounded answer) puts
   * values below 0 into the join. The default KL student takes them as 0, as its loss does, and
   * the learner trains on: a negative target must not stop every step.
   */
  @Test
  void aPeerAnsweringNegativeValuesDoesNotStopAStudentsLearner() {
    RoutingTask task = new RoutingTask(60, 0);
    task.peers.add(new FnPeer(RoutingTask.CLASSES, x -> new float[] {-0.5f, -0.5f, 0.25f, -2f}));
    Learner l = withStudent(task, false);
    Random r = new Random(61);
    for (int s = 0; s < 60; s++) {
      Tensor x = TestPeers.batch(r, 32, RoutingTask.IN);
      StepResult step = l.train(new ForwardRequest(Modality.TENSOR, x), task.labels(x));
      assertTrue(Double.isFinite(step.loss()), "step " + s + ": " + step.loss());
    }
    assertTrue(l.distiller().orElseThrow().fit(TestPeers.batch(r, 4, RoutingTask.IN),
        Tensor.ofFloats(new float[] {-1, 0, 0, 1, 0, 1, 0, 0, 0.5f, 0.5f, 0, 0, 0, 0, 0, 1}, 4,
            1, 4)) >= 0, "a negative target is fitted as 0");
  }

  /**
   * Training alone distils: each step fits the student to the answers the peers gave, with no
   * call to {@code distill}, so the head on the student's answers, offline, does nearly as well
   * as on the network's. (A student never fitted answers at random: a quarter right, 4 classes.)
   */
  @Test
  void eachTrainingStepFitsTheStudentToTheNetworksAnswers() {
    RoutingTask task = new RoutingTask(8, 1);
    Learner l = withStudent(task, false);
    Tensor x = TestPeers.batch(new Random(11), 300, RoutingTask.IN);
    ForwardRequest req = new ForwardRequest(Modality.TENSOR, x);
    double untrained = l.evaluateOffline(req, task.labels(x)).accuracy();
    train(l, task, 300, 9);
    Evaluation online = l.evaluate(req, task.labels(x));
    Evaluation offline = l.evaluateOffline(req, task.labels(x));
    assertTrue(online.accuracy() > 0.7, "the network learned: " + online.accuracy());
    assertTrue(offline.accuracy() > 0.8 * online.accuracy(),
        "distilled while training: " + offline.accuracy() + " of " + online.accuracy()
            + " (before training " + untrained + ")");
  }

  @Test
  void theStudentStandsInWhenThePeersAreOffline() {
    RoutingTask task = new RoutingTask(8, 1);
    Learner l = trainedWithStudent(task, false);
    Tensor x = TestPeers.batch(new Random(11), 300, RoutingTask.IN);
    ForwardRequest req = new ForwardRequest(Modality.TENSOR, x);
    Evaluation online = l.evaluate(req, task.labels(x));
    Evaluation offline = l.evaluateOffline(req, task.labels(x));
    assertTrue(offline.accuracy() > 0.8 * online.accuracy(),
        "student " + offline.accuracy() + " vs network " + online.accuracy());
    task.peers.forEach(p -> p.failWith = Status.UNAVAILABLE);
    Evaluation down = l.evaluate(req, task.labels(x));
    assertEquals(300, down.studentRows(), "every example answered by the student");
    assertEquals(offline.correct(), down.correct(), "exactly as offline");
    int[] predicted = l.predict(req);
    assertEquals(300, predicted.length);
  }

  /**
   * The student as the gate's fallback: with one expert offline, its examples are answered by the
   * student in its slot rather than by the other routed peer alone. Two learners alike but for
   * the fallback train bit-identically while every peer answers (the fallback is never asked);
   * then expert 0 goes down, and only the one with the fallback keeps most of its accuracy.
   */
  @Test
  void theStudentAnswersInAFailedPeersSlotWhenItIsTheGatesFallback() {
    RoutingTask task = new RoutingTask(8, 1);
    Evaluation[] healthy = new Evaluation[2];
    Evaluation[] down = new Evaluation[2];
    double[][] importance = new double[2][];
    for (int side = 0; side < 2; side++) {
      task.peers.forEach(p -> p.failWith = null);
      Learner l = trainedWithStudent(task, side == 1);
      importance[side] = l.importance();
      Tensor x = TestPeers.batch(new Random(11), 300, RoutingTask.IN);
      ForwardRequest req = new ForwardRequest(Modality.TENSOR, x);
      healthy[side] = l.evaluate(req, task.labels(x));
      task.peers.get(0).failWith = Status.UNAVAILABLE;
      down[side] = l.evaluate(req, task.labels(x));
      Gated g = l.gate().forwardAndWait(req, Learner.flatten(x), false, Duration.ofSeconds(5));
      int routedToExpert0 = 0;
      for (int[] sel : g.selected()) {
        routedToExpert0 += sel[0] == 0 || sel[1] == 0 ? 1 : 0;
      }
      assertEquals(0, healthy[side].fallbackRows());
      assertEquals(side == 1 ? routedToExpert0 : 0, down[side].fallbackRows());
      if (side == 1) {
        assertEquals(routedToExpert0, g.fallback().rows().length,
            "the student is asked for every example routed to the expert that is down");
      } else {
        assertEquals(null, g.fallback());
      }
    }
    assertArrayEquals(importance[0], importance[1], "with every peer up, training is the same");
    assertEquals(healthy[0].correct(), healthy[1].correct());
    assertTrue(healthy[1].accuracy() > 0.9, "healthy " + healthy[1].accuracy());
    assertTrue(down[1].accuracy() > healthy[1].accuracy() - 0.15, "with the student in its slot"
        + " the network loses little: " + down[1].accuracy() + " of " + healthy[1].accuracy());
    assertTrue(down[1].accuracy() > down[0].accuracy() + 0.15, "without it, much more: "
        + down[0].accuracy() + " against " + down[1].accuracy());
    task.peers.forEach(p -> p.failWith = null);
  }

  @Test
  void weightRowsOfScoresWhoseSumPassesTheDoubleRangeAreNormalised() {
    // Each score is finite and accepted, but their sum is not: the row is still the scores'
    // shares, summing to 1.
    double big = Double.MAX_VALUE;
    assertArrayEquals(new double[] {0.75, 0.25, 0}, Learner.weightRow(
        new double[] {big * 0.9, big * 0.3, 0}, 0), 1e-12);
    double[] row = Learner.weightRow(new double[] {big, big, big, 0}, 4);
    assertEquals(1, row[0] + row[1] + row[2] + row[3], 1e-12);
    assertTrue(row[3] > 0 && row[3] < 1e-5, () -> Arrays.toString(row));
  }

  @Test
  void weightRowsAreNormalisedWithEnoughEntries() {
    assertArrayEquals(new double[] {0.75, 0.25, 0, 0}, Learner.weightRow(new double[] {3, 1, 0, 0},
        2), 1e-12);
    double[] row = Learner.weightRow(new double[] {3, 1, 0, 0}, 3);
    assertTrue(row[2] > 0 && row[3] == 0, "the best of the rest gets a token weight");
    assertEquals(1, row[0] + row[1] + row[2] + row[3], 1e-12);
    assertArrayEquals(new double[] {0.25, 0.25, 0.25, 0.25}, Learner.weightRow(new double[4], 4),
        1e-12);
    // The token weights go to the zeros of the lowest uids: 1e-6 each added to the normalised
    // row, then normalised again.
    double sum = 1 + 2e-6;
    assertArrayEquals(new double[] {1e-6 / sum, 1e-6 / sum, 1 / sum, 0},
        Learner.weightRow(new double[] {0, 0, 5, 0}, 3), 1e-15);
    // Enough non-zero entries already: nothing added, exactly the scores normalised.
    assertArrayEquals(new double[] {0, 0.5, 0.5}, Learner.weightRow(new double[] {0, 2, 2}, 2));
    var e = assertThrows(IllegalArgumentException.class,
        () -> Learner.weightRow(new double[] {1, 2}, 3));
    assertTrue(e.getMessage().contains("minAllowedWeights must be in [0, 2]"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> Learner.weightRow(new double[] {1, -2}, 1));
    assertTrue(e.getMessage().contains("score[1]"), e.getMessage());
  }

  /**
   * A positive score too small beside the others for its share to be a double (1e-300 of
   * 1e300) counts as a zero: the row still has {@code minAllowedWeights} non-zero entries, the
   * token weight going to that score first, as the best of the rest.
   */
  @Test
  void aScoreWhoseShareUnderflowsStillLeavesEnoughNonZeroEntries() {
    double[] row = Learner.weightRow(new double[] {1e300, 1e-300, 0}, 2);
    assertEquals(2, Arrays.stream(row).filter(v -> v > 0).count(), Arrays.toString(row));
    assertTrue(row[1] > 0 && row[2] == 0, Arrays.toString(row));
    assertEquals(1, row[0] + row[1] + row[2], 1e-12);
  }

  @Test
  void misuseNamesTheProblem() {
    RoutingTask task = new RoutingTask(12, 1);
    Learner l = learner(task.peers, 1, 12);
    Tensor x = TestPeers.batch(new Random(13), 4, RoutingTask.IN);
    ForwardRequest req = new ForwardRequest(Modality.TENSOR, x);
    var e = assertThrows(IllegalArgumentException.class, () -> l.train(req, new int[3]));
    assertTrue(e.getMessage().contains("one class per example and position, 4, had 3"),
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> l.train(req, new int[] {0, 1, 9, 0}));
    assertTrue(e.getMessage().contains("labels[2] must be in [0, 4), was 9"), e.getMessage());
    assertThrows(IllegalStateException.class, () -> l.evaluateOffline(req, new int[4]));
    assertThrows(IllegalStateException.class, () -> Learner.builder().build());
  }

  /**
   * A head (or student) whose size does not fit the gate's answers is refused when the learner is
   * built, naming both sizes: no peer is ever asked for a step that could not train.
   */
  @Test
  void aHeadOrStudentOfAnotherSizeThanTheAnswersIsRefusedBeforeAnyPeerIsAsked() {
    RoutingTask task = new RoutingTask(12, 1);
    NoisyTopKGate gate = NoisyTopKGate.builder().peers(task.peers).k(1)
        .contextDim(RoutingTask.IN).outputDim(RoutingTask.CLASSES).seed(1).build();
    Learner.Builder wrongHead = Learner.builder().gate(gate)
        .head(TrainableMlp.random(new int[] {5, 8, 4}, Mlp.Activation.RELU, 1));
    var e = assertThrows(IllegalStateException.class, wrongHead::build);
    assertTrue(e.getMessage().contains("the head takes 5 features, the gate answers 4"),
        e.getMessage());
    Learner.Builder wrongStudent = Learner.builder().gate(gate)
        .head(TrainableMlp.random(new int[] {4, 8, 4}, Mlp.Activation.RELU, 1))
        .distiller(MlpDistiller.builder().inputDim(RoutingTask.IN).outputDim(3).build());
    e = assertThrows(IllegalStateException.class, wrongStudent::build);
    assertTrue(e.getMessage().contains("the student answers 3 features, the gate answers 4"),
        e.getMessage());
    assertEquals(0, task.peers.stream().mapToInt(p -> p.inputs.size()).sum(),
        "no peer was asked");
  }

  /**
   * An input the student cannot read (here 8 features for a student of 6) is refused before the
   * gate's training forward asks any peer: fitting the student is part of the step.
   */
  @Test
  void anInputTheStudentCannotReadIsRefusedBeforeAnyPeerIsAsked() {
    RoutingTask task = new RoutingTask(12, 1);
    Learner l = Learner.builder()
        .gate(NoisyTopKGate.builder().peers(task.peers).k(1).contextDim(RoutingTask.IN)
            .outputDim(RoutingTask.CLASSES).seed(1).build())
        .head(TrainableMlp.random(new int[] {4, 8, 4}, Mlp.Activation.RELU, 1))
        .distiller(MlpDistiller.builder().inputDim(6).outputDim(RoutingTask.CLASSES).build())
        .build();
    Tensor x = TestPeers.batch(new Random(13), 4, RoutingTask.IN);
    assertRefused("the student takes 6 features per position",
        () -> l.train(new ForwardRequest(Modality.TENSOR, x), task.labels(x)));
    assertNothingAsked(task, l);
  }

  /**
   * An evaluation or a prediction with an input the student cannot read is refused before any
   * peer is asked, as a step is: it used to pass while every example had a peer's answer and
   * fail only once one had none and the student was asked, when it is needed.
   */
  @Test
  void anInputTheStudentCannotReadIsRefusedBeforeAnEvaluationAsksAnyPeer() {
    RoutingTask task = new RoutingTask(21, 1);
    Learner l = builder(task.peers, 1, 21)
        .distiller(MlpDistiller.builder().inputDim(6).outputDim(RoutingTask.CLASSES).build())
        .build();
    Tensor x = TestPeers.batch(new Random(21), 4, RoutingTask.IN);
    ForwardRequest req = new ForwardRequest(Modality.TENSOR, x);
    assertRefused("the student takes 6 features per position",
        () -> l.evaluate(req, task.labels(x)));
    assertRefused("the student takes 6 features per position", () -> l.predict(req));
    assertEquals(0, task.peers.stream().mapToInt(p -> p.inputs.size()).sum(),
        "no peer was asked");
  }

  /** Labels that do not fit are refused before an evaluation asks any peer, as a step's are. */
  @Test
  void anEvaluationWithLabelsThatDoNotFitAsksNoPeer() {
    RoutingTask task = new RoutingTask(12, 1);
    Learner l = learner(task.peers, 1, 12);
    Tensor x = TestPeers.batch(new Random(13), 4, RoutingTask.IN);
    ForwardRequest req = new ForwardRequest(Modality.TENSOR, x);
    var e = assertThrows(IllegalArgumentException.class, () -> l.evaluate(req, new int[3]));
    assertTrue(e.getMessage().contains("one class per example and position, 4, had 3"),
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> l.evaluate(req, new int[] {0, 4, 0, 0}));
    assertTrue(e.getMessage().contains("labels[1] must be in [0, 4), was 4"), e.getMessage());
    assertEquals(0, task.peers.stream().mapToInt(p -> p.inputs.size()).sum(),
        "no peer was asked");
  }

  /**
   * A step refused for its labels or an empty batch asks no peer and changes nothing: the learner
   * then trains as one that never saw it, bit for bit.
   */
  @Test
  void aRefusedStepLeavesTheLearnerAsItWas() {
    RoutingTask task = new RoutingTask(14, 2);
    Learner refused = learner(task.peers, 2, 15);
    Learner plain = learner(task.peers, 2, 15);
    Tensor x = TestPeers.batch(new Random(16), 8, RoutingTask.IN);
    ForwardRequest req = new ForwardRequest(Modality.TENSOR, x);
    int asked = task.peers.stream().mapToInt(p -> p.inputs.size()).sum();
    assertThrows(IllegalArgumentException.class, () -> refused.train(req, new int[7]));
    int[] bad = task.labels(x);
    bad[5] = -1;
    assertThrows(IllegalArgumentException.class, () -> refused.train(req, bad));
    var e = assertThrows(IllegalArgumentException.class, () -> refused.train(
        new ForwardRequest(Modality.TENSOR, Tensor.ofFloats(new float[0], 0, 1, RoutingTask.IN)),
        new int[0]));
    assertTrue(e.getMessage().contains("at least one example"), e.getMessage());
    assertEquals(asked, task.peers.stream().mapToInt(p -> p.inputs.size()).sum(),
        "no peer was asked");
    assertEquals(0, refused.trainedSteps());
    for (int s = 0; s < 3; s++) {
      Tensor b = TestPeers.batch(new Random(17 + s), 8, RoutingTask.IN);
      StepResult a = refused.train(new ForwardRequest(Modality.TENSOR, b), task.labels(b));
      StepResult p = plain.train(new ForwardRequest(Modality.TENSOR, b), task.labels(b));
      assertEquals(p.loss(), a.loss(), 0, "step " + s);
    }
    assertArrayEquals(plain.importance(), refused.importance(), 0);
    for (int i = 0; i < plain.head().parameters().size(); i++) {
      assertArrayEquals(plain.head().parameters().get(i).values(),
          refused.head().parameters().get(i).values(), 0);
    }
  }

  /** A learner whose context is zeros of the gate's size, whatever the input holds. */
  private static Learner blindContext(RoutingTask task, int k, long seed) {
    return builder(task.peers, k, seed)
        .context(in -> Tensor.ofFloats(new float[in.dim(0) * RoutingTask.IN], in.dim(0),
            RoutingTask.IN))
        .build();
  }

  /**
   * A batch of examples with no positions ({@code [2, 0, 8]}) is as empty as one with no
   * examples: with a context function that makes rows for it anyway, a step is refused before
   * any peer is asked and counts no step, and an evaluation says why rather than naming the
   * head's rows.
   */
  @Test
  void aBatchWithNoPositionsIsRefusedBeforeAnyPeerIsAsked() {
    RoutingTask task = new RoutingTask(18, 1);
    Learner l = blindContext(task, 1, 18);
    ForwardRequest req = new ForwardRequest(Modality.TENSOR,
        Tensor.ofFloats(new float[0], 2, 0, RoutingTask.IN));
    var e = assertThrows(IllegalArgumentException.class, () -> l.train(req, new int[0]));
    assertTrue(e.getMessage().contains("at least one example and position), was [2, 0, 8]"),
        e.getMessage());
    assertEquals(0, task.peers.stream().mapToInt(p -> p.inputs.size()).sum(),
        "no peer was asked");
    assertEquals(0, l.trainedSteps());
    e = assertThrows(IllegalArgumentException.class, () -> l.evaluate(req, new int[0]));
    assertTrue(e.getMessage().contains("at least one example and position), was [2, 0, 8]"),
        e.getMessage());
  }

  /**
   * An input no peer would take, a value that is not finite or a dimension of 0 past the
   * positions, is refused before any peer is asked when a context function hides it from the
   * gate's own check: the peers would refuse or fail on it, and the step would count the
   * neuron's own bad input as their failures, its failure loss routing away from them.
   */
  @Test
  void anInputNoPeerWouldTakeIsRefusedBeforeAnyPeerIsAsked() {
    RoutingTask task = new RoutingTask(19, 1);
    Learner l = blindContext(task, 2, 19);
    float[] x = new float[4 * RoutingTask.IN];
    x[5] = Float.NaN;
    ForwardRequest nan = new ForwardRequest(Modality.TENSOR,
        Tensor.ofFloats(x, 4, 1, RoutingTask.IN));
    var e = assertThrows(IllegalArgumentException.class, () -> l.train(nan, new int[4]));
    assertTrue(e.getMessage().contains("input element 5 is NaN"), e.getMessage());
    ForwardRequest noFeatures = new ForwardRequest(Modality.TENSOR,
        Tensor.ofFloats(new float[0], 4, 1, 0));
    e = assertThrows(IllegalArgumentException.class, () -> l.train(noFeatures, new int[4]));
    assertTrue(e.getMessage().contains("every dimension >= 1"), e.getMessage());
    assertEquals(0, task.peers.stream().mapToInt(p -> p.inputs.size()).sum(),
        "no peer was asked");
    assertEquals(0, l.trainedSteps());
    e = assertThrows(IllegalArgumentException.class, () -> l.evaluate(nan, new int[4]));
    assertTrue(e.getMessage().contains("input element 5 is NaN"), e.getMessage());
  }

  /** Asserts that {@code call} throws an IllegalArgumentException saying {@code part}. */
  private static void assertRefused(String part, Executable call) {
    var e = assertThrows(IllegalArgumentException.class, call);
    assertTrue(e.getMessage().contains(part), e.getMessage());
  }

  /** Asserts that no peer of {@code task} was asked and {@code l} counts no step. */
  private static void assertNothingAsked(RoutingTask task, Learner l) {
    assertEquals(0, task.peers.stream().mapToInt(p -> p.inputs.size()).sum(),
        "no peer was asked");
    assertEquals(0, l.trainedSteps());
  }

  /**
   * A request whose input its own modality refuses (TEXT takes INT64 token ids, TENSOR FLOAT32
   * features) is refused before any peer is asked: every peer would refuse it (BAD_REQUEST), and
   * each refusal was counted as that peer's failure.
   */
  @Test
  void anInputItsOwnModalityRefusesIsRefusedBeforeAnyPeerIsAsked() {
    RoutingTask task = new RoutingTask(60, 1);
    Learner l = learner(task.peers, 2, 60);
    Tensor x = TestPeers.batch(new Random(61), 4, RoutingTask.IN);
    ForwardRequest text = new ForwardRequest(Modality.TEXT, x);
    String floats = "input.dtype: TEXT takes [INT64], was FLOAT32";
    assertRefused(floats, () -> l.train(text, task.labels(x)));
    assertRefused(floats, () -> l.evaluate(text, task.labels(x)));
    ForwardRequest ids = new ForwardRequest(Modality.TENSOR,
        Tensor.ofLongs(new long[] {1, 2, 3, 4}, 4, 1));
    assertRefused("input.dtype: TENSOR takes [FLOAT32], was INT64", () -> l.predict(ids));
    assertNothingAsked(task, l);
  }

  /**
   * A request that every peer asked refuses as wrong (here a modality none of them serves, the
   * input fitting its own) fails the step, naming what each said, and is charged to no peer: no
   * failure cost, no gradient, the gate neither moved nor steered away from them. One peer alone
   * calling it wrong while the others answer is charged as a failure (next test): else a peer
   * could answer BAD_REQUEST to dodge the blame.
   */
  @Test
  void aRequestEveryAskedPeerRefusesAsWrongFailsTheStepAndChargesNoPeer() {
    RoutingTask task = new RoutingTask(62, 1);
    Learner l = learner(task.peers, 2, 62);
    Learner plain = learner(task.peers, 2, 62);
    Tensor first = TestPeers.batch(new Random(64), 8, RoutingTask.IN);
    for (Learner each : List.of(l, plain)) {
      each.train(new ForwardRequest(Modality.TENSOR, first), task.labels(first));
    }
    int gradients = task.peers.stream().mapToInt(p -> p.gradients.size()).sum();
    task.peers.forEach(p -> p.failWith = Status.UNKNOWN_MODALITY);
    Tensor x = TestPeers.batch(new Random(63), 8, RoutingTask.IN);
    ForwardRequest req = new ForwardRequest(Modality.TENSOR, x);
    String all = "every peer asked refused the request as wrong";
    assertRefused(all, () -> l.train(req, task.labels(x)));
    assertRefused(": told to fail", () -> l.train(req, task.labels(x)));
    assertRefused("UNKNOWN_MODALITY", () -> l.train(req, task.labels(x)));
    assertEquals(gradients, task.peers.stream().mapToInt(p -> p.gradients.size()).sum(),
        "no gradient sent");
    assertEquals(1, l.trainedSteps());
    assertArrayEquals(new double[3], l.failureCosts(), "no peer charged");
    assertArrayEquals(plain.pruningScores(), l.pruningScores(), 0);
    // An all-failed batch decays every peer's importance alike: the shares stay.
    assertArrayEquals(plain.importance(), l.importance(), 1e-12);
    List<Parameter> before = ((NoisyTopKGate) plain.gate()).parameters();
    List<Parameter> after = ((NoisyTopKGate) l.gate()).parameters();
    for (int i = 0; i < before.size(); i++) {
      assertArrayEquals(before.get(i).values(), after.get(i).values(), 0, "gate parameter " + i);
    }
    assertRefused(all, () -> l.evaluate(req, task.labels(x)));
  }

  /** A peer alone in refusing a request the others answer is charged with its failure. */
  @Test
  void aPeerAloneInCallingTheRequestWrongIsChargedWithItsFailure() {
    RoutingTask task = new RoutingTask(64, 0);
    List<FnPeer> peers = twinsAndOne(new double[] {1, 1, 1});
    peers.get(2).failWith = Status.BAD_REQUEST;
    Learner l = denseLearner(peers, 65);
    Tensor x = TestPeers.batch(new Random(66), 8, RoutingTask.IN);
    StepResult s = l.train(new ForwardRequest(Modality.TENSOR, x), task.labels(x));
    assertEquals(List.of(2), s.failedPeers());
    assertTrue(l.failureCosts()[2] > 0, Arrays.toString(l.failureCosts()));
    assertEquals(1, l.trainedSteps());
  }

  /**
   * Offline, the student answers alone, and the same batches are refused: a NaN gave a NaN loss
   * (the student answers what it is given), an empty batch the head's "rows must be >= 1".
   */
  @Test
  void anOfflineEvaluationRefusesWhatAStepRefuses() {
    RoutingTask task = new RoutingTask(20, 1);
    Learner l = withStudent(task, false);
    float[] x = new float[4 * RoutingTask.IN];
    x[5] = Float.NaN;
    var e = assertThrows(IllegalArgumentException.class, () -> l.evaluateOffline(
        new ForwardRequest(Modality.TENSOR, Tensor.ofFloats(x, 4, 1, RoutingTask.IN)),
        new int[4]));
    assertTrue(e.getMessage().contains("input element 5 is NaN"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> l.evaluateOffline(
        new ForwardRequest(Modality.TENSOR, Tensor.ofFloats(new float[0], 0, 1, RoutingTask.IN)),
        new int[0]));
    assertTrue(e.getMessage().contains("every dimension >= 1"), e.getMessage());
  }

  /** Three peers asked for every example, without noise: the twins answer exactly alike. */
  /**
   * A peer answering +-1e38 (finite, so within the tensor standard) in a pattern that says
   * nothing. The gate bounds each answer's scale before it joins them, so the peer neither
   * wrecks the head nor takes the weight row: its gradients are those of an answer of RMS 1.
   */
  @Test
  void aPeerAnsweringHugeNumbersNeitherBreaksTheLearnerNorTakesItsWeights() {
    RoutingTask task = new RoutingTask(50, 0);
    List<FnPeer> peers = new ArrayList<>(task.peers);
    FnPeer hostile = new FnPeer(RoutingTask.CLASSES, x -> {
      float[] y = new float[RoutingTask.CLASSES];
      for (int i = 0; i < y.length; i++) {
        y[i] = (Float.floatToIntBits(x[i]) & 1) == 0 ? 1e38f : -1e38f;
      }
      return y;
    });
    peers.add(hostile);
    Learner l = learner(peers, 2, 51);
    Random r = new Random(52);
    for (int s = 0; s < 300; s++) {
      Tensor x = TestPeers.batch(r, 32, RoutingTask.IN);
      StepResult step = l.train(new ForwardRequest(Modality.TENSOR, x), task.labels(x));
      assertTrue(step.loss() < 10, "step " + s + ": loss " + step.loss());
    }
    for (BackwardRequest g : hostile.gradients) {
      for (float v : g.gradient().toFloatArray()) {
        assertTrue(Math.abs(v) < 1e-30, "a gradient for answers of that size is tiny: " + v);
      }
    }
    Tensor x = TestPeers.batch(new Random(53), 400, RoutingTask.IN);
    Evaluation e = l.evaluate(new ForwardRequest(Modality.TENSOR, x), task.labels(x));
    assertTrue(e.accuracy() > 0.85, "accuracy " + e.accuracy());
    for (WeightSource source : new WeightSource[] {WeightSource.PRUNING_SCORE,
        WeightSource.COMPENSATED_PRUNING_SCORE, WeightSource.GATE_IMPORTANCE}) {
      PeerVector row = l.weights(source, 1);
      assertTrue(row.get(2) < 0.1 && row.get(2) < Math.min(row.get(0), row.get(1)),
          source + ": " + row);
    }
  }

  private static Learner denseLearner(List<FnPeer> peers, long seed) {
    return denseBuilder(peers, seed).build();
  }

  private static Learner.Builder denseBuilder(List<FnPeer> peers, long seed) {
    return Learner.builder()
        .gate(NoisyTopKGate.builder().peers(peers).k(peers.size()).noise(false)
            .importanceWeight(0).contextDim(RoutingTask.IN).outputDim(RoutingTask.CLASSES)
            .learningRate(0.01).seed(seed).build())
        .head(TrainableMlp.random(new int[] {4, 16, 4}, Mlp.Activation.RELU, seed))
        .learningRate(0.01)
        .timeout(Duration.ofSeconds(5));
  }

  /** A dense learner on sequences, routing each example on its first position's features. */
  private static Learner denseSequenceLearner(List<FnPeer> peers, long seed) {
    return denseBuilder(peers, seed)
        .context(in -> Tensor.ofFloats(Arrays.copyOf(in.toFloatArray(), RoutingTask.IN), 1,
            RoutingTask.IN))
        .build();
  }

  private static List<FnPeer> twinsAndOne(double[] scale) {
    var twin = TestPeers.projection(RoutingTask.IN, RoutingTask.CLASSES, 21);
    var other = TestPeers.projection(RoutingTask.IN, RoutingTask.CLASSES, 22);
    List<FnPeer> peers = new ArrayList<>();
    for (int j = 0; j < 3; j++) {
      var fn = j < 2 ? twin : other;
      double s = scale[j];
      peers.add(new FnPeer(RoutingTask.CLASSES, x -> {
        float[] y = fn.apply(x);
        for (int i = 0; i < y.length; i++) {
          y[i] *= (float) s;
        }
        return y;
      }));
    }
    return peers;
  }

  /**
   * {@code dL/d(alpha_j)} of the three peers' multipliers by central differences: scaling peer
   * j's answer by {@code 1 + h} is moving {@code alpha_j} to {@code 1 + h}; {@code learner} makes
   * an untrained learner whose peers' answers are scaled so.
   */
  private static double[] multiplierGradients(Function<double[], Learner> learner,
      ForwardRequest req, int[] labels) {
    // The loss is computed in floats: a step of 1e-2 keeps rounding well under the tolerance.
    double h = 1e-2;
    double[] d = new double[3];
    for (int j = 0; j < 3; j++) {
      double[] up = {1, 1, 1};
      double[] down = {1, 1, 1};
      up[j] += h;
      down[j] -= h;
      double lossUp = learner.apply(up).evaluate(req, labels).loss();
      double lossDown = learner.apply(down).evaluate(req, labels).loss();
      d[j] = (lossUp - lossDown) / (2 * h);
    }
    return d;
  }

  @Test
  void theFisherIsTheOuterProductOfTheLossGradientsInEachPeersMultiplier() {
    // One example: after one step the matrix is d d^T, d_j = dL/d(alpha_j), and scaling peer j's
    // answer by 1 + h is moving its multiplier alpha_j to 1 + h.
    RoutingTask task = new RoutingTask(30, 0);
    Tensor x = TestPeers.batch(new Random(31), 1, RoutingTask.IN);
    ForwardRequest req = new ForwardRequest(Modality.TENSOR, x);
    int[] labels = task.labels(x);
    Learner l = denseLearner(twinsAndOne(new double[] {1, 1, 1}), 32);
    l.train(req, labels);
    double[][] f = l.fisher();
    double[] d = multiplierGradients(scale -> denseLearner(twinsAndOne(scale), 32), req, labels);
    assertTrue(Math.abs(d[2]) > 1e-3, "a gradient worth checking: " + d[2]);
    for (int j = 0; j < 3; j++) {
      for (int k = 0; k < 3; k++) {
        assertEquals(d[j] * d[k], f[j][k], 1e-2 * Math.abs(d[j] * d[k]) + 1e-8,
            "fisher[" + j + "][" + k + "]");
      }
      assertEquals(f[j][j] / 2, l.pruningScores()[j], 1e-15);
    }
  }

  /**
   * On sequences the scores are per example and position, as the loss is: one multiplier scales
   * the peer's answer at every position of an example, so {@code d_j} is the gradient of the
   * example's loss summed over its positions, and the matrix is {@code d d^T} over the batch's
   * rows (examples times positions). With one example of three positions and {@code L} the mean
   * over them, that is {@code 3 (dL/d(alpha_j)) (dL/d(alpha_k))}: three times the outer product
   * per example, not the whole of it.
   */
  @Test
  void onSequencesTheFisherIsPerExampleAndPosition() {
    RoutingTask task = new RoutingTask(33, 0);
    int positions = 3;
    Tensor rows = TestPeers.batch(new Random(34), positions, RoutingTask.IN);
    Tensor x = Tensor.ofFloats(rows.toFloatArray(), 1, positions, RoutingTask.IN);
    ForwardRequest req = new ForwardRequest(Modality.TENSOR, x);
    int[] labels = task.labels(rows);
    Learner l = denseSequenceLearner(twinsAndOne(new double[] {1, 1, 1}), 35);
    l.train(req, labels);
    double[][] f = l.fisher();
    double[] d = multiplierGradients(
        scale -> denseSequenceLearner(twinsAndOne(scale), 35), req, labels);
    assertTrue(Math.abs(d[2]) > 1e-3, "a gradient worth checking: " + d[2]);
    for (int j = 0; j < 3; j++) {
      for (int k = 0; k < 3; k++) {
        double expected = positions * d[j] * d[k];
        assertEquals(expected, f[j][k], 1e-2 * Math.abs(expected) + 1e-8,
            "fisher[" + j + "][" + k + "]");
      }
    }
  }

  /**
   * Every example asks all three peers and peer 2 fails: each example had a slot without an
   * answer, which costs the batch's mean answer worth, {@code 1/2 d^2} over the two answers per
   * example, so {@code (F_00 + F_11) / 4} per example. The peers that answered keep their
   * answers' worth; the failing one scores 0. The next batch, answered, halves nothing at once:
   * the cost decays as the Fisher does.
   */
  @Test
  void aFailedCallCostsTheMeanWorthOfAnAnswerPerExampleItLeftUnanswered() {
    RoutingTask task = new RoutingTask(36, 0);
    List<FnPeer> peers = twinsAndOne(new double[] {1, 0.5, 2});
    peers.get(2).failWith = Status.TIMEOUT;
    Learner l = denseLearner(peers, 37);
    Tensor x = TestPeers.batch(new Random(38), 8, RoutingTask.IN);
    l.train(new ForwardRequest(Modality.TENSOR, x), task.labels(x));
    double[][] f = l.fisher();
    double[] cost = l.failureCosts();
    assertEquals(0, f[2][2], "no answer, no gradient");
    assertTrue(f[0][0] > 0 && f[1][1] > 0, "answers worth something: " + f[0][0] + ", " + f[1][1]);
    assertEquals((f[0][0] + f[1][1]) / 4, cost[2], 1e-12 * cost[2]);
    assertEquals(0, cost[0]);
    assertEquals(0, cost[1]);
    assertArrayEquals(new double[] {f[0][0] / 2, f[1][1] / 2, 0}, l.pruningScores(), 1e-15);
    double[] compensated = l.compensatedPruningScores();
    assertEquals(0, compensated[2], "never below 0");

    peers.get(2).failWith = null;
    Tensor y = TestPeers.batch(new Random(39), 8, RoutingTask.IN);
    l.train(new ForwardRequest(Modality.TENSOR, y), task.labels(y));
    double decay = 0.98;
    // Bias-corrected over two batches: (decay (1 - decay) c + (1 - decay) 0) / (1 - decay^2).
    assertEquals(cost[2] * decay / (1 + decay), l.failureCosts()[2], 1e-12 * cost[2]);
    double[][] g = l.fisher();
    assertEquals(Math.max(0, g[2][2] / 2 - l.failureCosts()[2]), l.pruningScores()[2], 1e-15);
  }

  /** Where a fallback answers in the failed peer's slot, no slot was left empty: no cost. */
  @Test
  void aFailureTheFallbackAnsweredForCostsNothing() {
    RoutingTask task = new RoutingTask(40, 0);
    List<FnPeer> peers = twinsAndOne(new double[] {1, 1, 1});
    peers.get(2).failWith = Status.UNAVAILABLE;
    FnPeer fallback = new FnPeer(RoutingTask.CLASSES, peers.get(0).fn);
    Learner l = Learner.builder()
        .gate(NoisyTopKGate.builder().peers(peers).k(3).noise(false).importanceWeight(0)
            .contextDim(RoutingTask.IN).outputDim(RoutingTask.CLASSES).learningRate(0.01)
            .seed(41).fallback(fallback).build())
        .head(TrainableMlp.random(new int[] {4, 16, 4}, Mlp.Activation.RELU, 41))
        .learningRate(0.01)
        .timeout(Duration.ofSeconds(5))
        .build();
    Tensor x = TestPeers.batch(new Random(42), 8, RoutingTask.IN);
    StepResult s = l.train(new ForwardRequest(Modality.TENSOR, x), task.labels(x));
    assertEquals(List.of(2), s.failedPeers());
    assertEquals(8, s.fallbackRows(), "the fallback answered every example's third slot");
    assertArrayEquals(new double[3], l.failureCosts());
    assertTrue(l.pruningScores()[0] > 0, "the answers still count");
  }

  @Test
  void twinsEachScoreLittleWhenCompensatedWhileTheUniquePeerKeepsItsScore() {
    List<FnPeer> peers = twinsAndOne(new double[] {1, 1, 1});
    RoutingTask task = new RoutingTask(33, 0);
    Learner l = denseLearner(peers, 34);
    train(l, task, 60, 35);
    double[] plain = l.pruningScores();
    double[] compensated = l.compensatedPruningScores();
    assertEquals(plain[0], plain[1], 1e-12 * plain[0], "the twins look alike to the plain score");
    assertTrue(plain[0] > 0.2 * plain[2], "and each is credited in full: " + plain[0] + " vs "
        + plain[2]);
    for (int j = 0; j < 2; j++) {
      assertTrue(compensated[j] < 0.01 * plain[j], "twin " + j + ": " + compensated[j]
          + ", plain " + plain[j]);
    }
    assertTrue(compensated[2] > 0.5 * plain[2] && compensated[2] <= plain[2] * 1.001,
        "the unique peer keeps its score: " + compensated[2] + ", plain " + plain[2]);
    PeerVector row = l.weights(WeightSource.COMPENSATED_PRUNING_SCORE, 0);
    assertTrue(row.get(2) > 0.9, "the unique peer holds the row: " + row);
  }
}
