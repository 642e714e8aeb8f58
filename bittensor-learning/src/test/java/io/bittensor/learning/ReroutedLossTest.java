package io.bittensor.learning;

import static io.bittensor.learning.PairTask.CLASSES;
import static io.bittensor.learning.PairTask.IN;
import static io.bittensor.learning.PairTask.gate;
import static io.bittensor.learning.PairTask.learner;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.ForwardRequest;
import io.bittensor.core.Modality;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.incentive.PeerVector;
import io.bittensor.learning.TestPeers.FnPeer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@link WeightSource#REROUTED_LOSS}: its probes, and what it sees that the Fisher does not. */
@Timeout(120)
class ReroutedLossTest {
  @Test
  void aCopyScoresFarLessThanItsPruningScoreAndAFailingPeerNothing() {
    PairTask task = new PairTask(1);
    Learner l = learner(gate(task.peers, 2, 2), 3).probeEvery(2).build();
    task.train(l, 600, 4);
    double[] rerouted = l.weights(WeightSource.REROUTED_LOSS, 0).toArray();
    double[] pruning = l.weights(WeightSource.PRUNING_SCORE, 0).toArray();
    String rows = "rerouted " + Arrays.toString(rerouted) + ", pruning " + Arrays.toString(pruning);
    // Each copy of "left" is routed about as often as the other, and the pruning score credits
    // each for what its answers carry; removing one, the other steps in.
    assertTrue(pruning[0] + pruning[1] > 0.3, "the copies carry weight by pruning: " + rows);
    assertTrue(rerouted[0] + rerouted[1] < 0.25 * (pruning[0] + pruning[1]), rows);
    for (int j = 0; j < 2; j++) {
      assertTrue(rerouted[j] < 0.5 * pruning[j], "copy " + j + ": " + rows);
    }
    assertTrue(rerouted[2] > 0.8, "the peer no other replaces holds the row: " + rows);
    assertTrue(rerouted[3] < 0.01, "a failing peer is worth nothing: " + rows);
    double[] raw = l.reroutedLossScores();
    assertTrue(raw[3] <= 1e-9, "replacing the failing peer helps: " + raw[3]);
    assertTrue(rerouted[4] < 0.01 && rerouted[5] < 0.01, "noise: " + rows);
    assertEquals(300, l.probedBatches());
  }

  @Test
  void aProbeAsksOnlyTheNextChoiceOfEachExampleAndCountsItsBytes() {
    PairTask task = new PairTask(5);
    Learner l = learner(gate(task.peers, 2, 6), 6).probeEvery(3).build();
    Random r = new Random(7);
    for (int s = 1; s <= 6; s++) {
      Tensor x = TestPeers.batch(r, 20, IN);
      List<Integer> calls = task.peers.stream().map(p -> p.inputs.size()).toList();
      int[] rowsBefore = task.peers.stream().mapToInt(FnPeer::rowsReceived).toArray();
      StepResult step = l.train(new ForwardRequest(Modality.TENSOR, x), task.labels(x));
      boolean probed = s % 3 == 0;
      // Each example's row, identified by its values: how many peers were sent it.
      float[] all = x.toFloatArray();
      for (int b = 0; b < 20; b++) {
        float[] row = Arrays.copyOfRange(all, b * IN, (b + 1) * IN);
        int askedFor = 0;
        for (int j = 0; j < task.peers.size(); j++) {
          List<Tensor> inputs = task.peers.get(j).inputs;
          for (Tensor t : inputs.subList(calls.get(j), inputs.size())) {
            askedFor += contains(t, row) ? 1 : 0;
          }
        }
        assertEquals(probed ? 3 : 2, askedFor, "step " + s + ", example " + b);
      }
      int rows = 0;
      for (int j = 0; j < task.peers.size(); j++) {
        rows += task.peers.get(j).rowsReceived() - rowsBefore[j];
        assertTrue(task.peers.get(j).inputs.size() - calls.get(j) <= (probed ? 2 : 1),
            "peer " + j + ": one call for its routed rows, one for those it stands in for");
      }
      assertEquals(probed ? 60 : 40, rows, "step " + s);
      // The stand-ins that answered: 4 bytes per class; the failing peer answers nothing.
      assertEquals(0, step.probeBytesReceived() % (CLASSES * 4));
      assertEquals(probed ? 20L * IN * 4 : 0, step.probeBytesSent(), "step " + s);
      assertEquals(probed, step.probeBytesReceived() > 0, "step " + s);
    }
    assertEquals(2, l.probedBatches());
  }

  private static boolean contains(Tensor t, float[] row) {
    float[] all = t.toFloatArray();
    for (int r = 0; r < t.dim(0); r++) {
      if (Arrays.equals(Arrays.copyOfRange(all, r * IN, (r + 1) * IN), row)) {
        return true;
      }
    }
    return false;
  }

  @Test
  void probingChangesNothingTheLearnerLearns() {
    PairTask task = new PairTask(8);
    Learner probing = learner(gate(task.peers, 2, 9), 10).probeEvery(1).build();
    Learner plain = learner(gate(new PairTask(8).peers, 2, 9), 10).probeEvery(0).build();
    List<StepResult> a = task.train(probing, 40, 11);
    List<StepResult> b = new PairTask(8).train(plain, 40, 11);
    for (int s = 0; s < 40; s++) {
      assertEquals(b.get(s).loss(), a.get(s).loss(), 0, "step " + s);
      assertEquals(b.get(s).bytesReceived(), a.get(s).bytesReceived(), "step " + s);
    }
    List<Parameter> pa = new ArrayList<>(((NoisyTopKGate) probing.gate()).parameters());
    pa.addAll(probing.head().parameters());
    List<Parameter> pb = new ArrayList<>(((NoisyTopKGate) plain.gate()).parameters());
    pb.addAll(plain.head().parameters());
    for (int i = 0; i < pa.size(); i++) {
      assertArrayEquals(pb.get(i).values(), pa.get(i).values(), pa.get(i).name());
    }
    assertArrayEquals(plain.importance(), probing.importance(), 0);
    assertArrayEquals(plain.pruningScores(), probing.pruningScores(), 0);
    assertEquals(40, probing.probedBatches());
  }

  @Test
  void oneProbedStepScoresEachRoutedPeerInEveryMeasureWithItsStandInInItsPlace() {
    // Zero gate parameters and no noise: every example goes to peers 0 and 1 (the lower indices
    // on ties) with equal logits, and peer 2 stands in; peer 1 fails, so the routed set answers
    // with peer 0 alone. The naive reference joins the sets itself and asks an identical head.
    List<FnPeer> peers = PairTask.projections(3, 40);
    peers.get(1).failWith = Status.INTERNAL_ERROR;
    Learner l = learner(PairTask.tiedGate(peers, 41), 42).probeEvery(1).build();
    TrainableMlp head = PairTask.head(42);
    Tensor x = TestPeers.batch(new Random(43), 10, IN);
    int[] labels = new PairTask(44).labels(x);
    l.train(new ForwardRequest(Modality.TENSOR, x), labels);
    float[] all = x.toFloatArray();
    for (ProbeMeasure m : ProbeMeasure.values()) {
      double[] expected = new double[3];
      for (int b = 0; b < 10; b++) {
        addRerouted(expected, m, head, peers, Arrays.copyOfRange(all, b * IN, (b + 1) * IN),
            labels[b], 10);
      }
      double[] scores = l.reroutedScores(m);
      for (int j = 0; j < 3; j++) {
        assertEquals(expected[j], scores[j], 1e-6 + 1e-5 * Math.abs(expected[j]),
            m + ", peer " + j);
      }
      assertTrue(expected[0] != 0, m + ": a value worth checking");
    }
    assertArrayEquals(l.reroutedScores(ProbeMeasure.LOSS), l.reroutedLossScores());
  }

  /**
   * As above, with three positions an example (a sequence): the gate routes each example once,
   * from its three positions together, and each position is a row for the head, so each peer's
   * score is its loss increase summed over the positions, per row. The evaluation and the
   * predictions count every position too.
   */
  @Test
  void oneProbedStepOverSequencesScoresEveryPosition() {
    int seq = 3;
    List<FnPeer> peers = PairTask.projections(3, 40);
    peers.get(1).failWith = Status.INTERNAL_ERROR;
    NoisyTopKGate gate = NoisyTopKGate.builder().peers(peers).k(2).contextDim(seq * IN)
        .outputDim(CLASSES).noise(false).seed(41).build();
    Learner l = learner(gate, 42).probeEvery(1).build();
    TrainableMlp head = PairTask.head(42);
    Random r = new Random(43);
    float[] all = new float[10 * seq * IN];
    for (int i = 0; i < all.length; i++) {
      all[i] = (float) r.nextGaussian();
    }
    Tensor x = Tensor.ofFloats(all, 10, seq, IN);
    int[] labels = r.ints(10 * seq, 0, CLASSES).toArray();
    ForwardRequest request = new ForwardRequest(Modality.TENSOR, x);
    assertEquals(30, l.train(request, labels).rows());
    for (ProbeMeasure m : ProbeMeasure.values()) {
      double[] expected = new double[3];
      for (int row = 0; row < 10 * seq; row++) {
        addRerouted(expected, m, head, peers,
            Arrays.copyOfRange(all, row * IN, (row + 1) * IN), labels[row], 10 * seq);
      }
      double[] scores = l.reroutedScores(m);
      for (int j = 0; j < 3; j++) {
        assertEquals(expected[j], scores[j], 1e-6 + 1e-5 * Math.abs(expected[j]),
            m + ", peer " + j);
      }
    }
    Evaluation e = l.evaluate(request, labels);
    assertEquals(30, e.rows());
    int[] predicted = l.predict(request);
    assertEquals(30, predicted.length);
    int correct = 0;
    for (int i = 0; i < 30; i++) {
      correct += predicted[i] == labels[i] ? 1 : 0;
    }
    assertEquals(correct, e.correct(), "evaluate and predict see the same rows");
    var wrong = assertThrows(IllegalArgumentException.class,
        () -> l.evaluate(request, Arrays.copyOf(labels, 10)));
    assertTrue(wrong.getMessage().contains("30"), wrong.getMessage());
  }

  /**
   * As above, with a fallback in the gate: the failed peer 1's slot holds the fallback's answer
   * with its gate, in the routed set and in the variant where peer 0 is replaced, as the gate
   * joined them.
   */
  @Test
  void aProbeJoinsTheFallbacksAnswerInAFailedPeersSlotAsTheGateDid() {
    List<FnPeer> peers = PairTask.projections(3, 40);
    peers.get(1).failWith = Status.INTERNAL_ERROR;
    FnPeer fallback = PairTask.projections(4, 50).get(3);
    NoisyTopKGate gate = NoisyTopKGate.builder().peers(peers).k(2).contextDim(IN)
        .outputDim(CLASSES).noise(false).seed(41).fallback(fallback).build();
    Learner l = learner(gate, 42).probeEvery(1).build();
    TrainableMlp head = PairTask.head(42);
    Tensor x = TestPeers.batch(new Random(43), 10, IN);
    int[] labels = new PairTask(44).labels(x);
    l.train(new ForwardRequest(Modality.TENSOR, x), labels);
    float[] all = x.toFloatArray();
    double[] expected = new double[3];
    for (int b = 0; b < 10; b++) {
      float[] row = Arrays.copyOfRange(all, b * IN, (b + 1) * IN);
      float[] f0 = peers.get(0).fn.apply(row);
      float[] f2 = peers.get(2).fn.apply(row);
      float[] s = fallback.fn.apply(row);
      double base = cost(ProbeMeasure.LOSS, head, half(f0, s), labels[b]);
      expected[0] += (cost(ProbeMeasure.LOSS, head, half(f2, s), labels[b]) - base) / 10;
      expected[1] += (cost(ProbeMeasure.LOSS, head, half(f0, f2), labels[b]) - base) / 10;
    }
    double[] scores = l.reroutedLossScores();
    for (int j = 0; j < 3; j++) {
      assertEquals(expected[j], scores[j], 1e-6 + 1e-5 * Math.abs(expected[j]), "peer " + j);
    }
    assertTrue(expected[0] != 0 && expected[1] != 0, "values worth checking");
  }

  private static float[] half(float[] a, float[] b) {
    float[] out = new float[a.length];
    for (int c = 0; c < a.length; c++) {
      out[c] = 0.5f * a[c] + 0.5f * b[c];
    }
    return out;
  }

  /** The measures written out naively, from the head's probabilities. */
  /**
   * Adds one row's loss increases, over {@code rows}, for the routed set {peer 0, peer 1 failed}
   * with peer 2 standing in: peer 0 replaced leaves peer 2 alone; peer 1 replaced joins peers 0
   * and 2 half and half.
   */
  private static void addRerouted(double[] expected, ProbeMeasure m, TrainableMlp head,
      List<FnPeer> peers, float[] in, int label, int rows) {
    float[] f0 = peers.get(0).fn.apply(in);
    float[] f2 = peers.get(2).fn.apply(in);
    float[] mixed = new float[CLASSES];
    for (int c = 0; c < CLASSES; c++) {
      mixed[c] = 0.5f * f0[c] + 0.5f * f2[c];
    }
    double base = cost(m, head, f0, label);
    expected[0] += (cost(m, head, f2, label) - base) / rows;
    expected[1] += (cost(m, head, mixed, label) - base) / rows;
  }

  private static double cost(ProbeMeasure m, TrainableMlp head, float[] answer, int label) {
    float[] z = head.predict(answer, 1);
    double[] p = new double[CLASSES];
    double sum = 0;
    for (int c = 0; c < CLASSES; c++) {
      p[c] = Math.exp(z[c]);
      sum += p[c];
    }
    int top = 0;
    double other = 0;
    for (int c = 0; c < CLASSES; c++) {
      p[c] /= sum;
      top = p[c] > p[top] ? c : top;
      other = c == label ? other : Math.max(other, p[c]);
    }
    return switch (m) {
      case LOSS -> -Math.log(p[label]);
      case PROBABILITY -> 1 - p[label];
      case MARGIN -> (other - p[label] + 1) / 2;
      case ERROR -> top == label ? 0 : 1;
    };
  }

  @Test
  void aGateThatCannotNameItsNextChoicesTrainsAsBeforeAndSaysWhy() {
    PairTask task = new PairTask(12);
    Learner l = learner(new TopKOnly(gate(task.peers, 2, 13)), 14).probeEvery(1).build();
    task.train(l, 3, 15).forEach(s -> assertEquals(0, s.probeBytesReceived()));
    var e = assertThrows(IllegalStateException.class,
        () -> l.weights(WeightSource.REROUTED_LOSS, 0));
    assertTrue(e.getMessage().contains("does not name its next choices"), e.getMessage());
    e = assertThrows(IllegalStateException.class,
        () -> l.weights(WeightSource.STAND_IN_PRUNING_SCORE, 0));
    assertTrue(e.getMessage().contains("does not name its next choices"), e.getMessage());
    l.weights(WeightSource.PRUNING_SCORE, 0);
  }

  @Test
  void misuseNamesTheProblem() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> Learner.builder().probeEvery(-1));
    assertTrue(e.getMessage().contains("probeEvery must be >= 0 (0: never), was -1"),
        e.getMessage());
    PairTask task = new PairTask(16);
    Learner off = learner(gate(task.peers, 2, 17), 18).probeEvery(0).build();
    var s = assertThrows(IllegalStateException.class, off::reroutedLossScores);
    assertTrue(s.getMessage().contains("probeEvery(0)"), s.getMessage());
    assertThrows(IllegalStateException.class, () -> off.weights(WeightSource.REROUTED_LOSS, 0));
    Learner on = learner(gate(task.peers, 2, 19), 20).build();
    assertArrayEquals(new double[6], on.reroutedLossScores(), "zeros before the first probe");
    PeerVector uniform = on.weights(WeightSource.REROUTED_LOSS, 0);
    assertEquals(1.0 / 6, uniform.get(0), 1e-12);
  }
}
