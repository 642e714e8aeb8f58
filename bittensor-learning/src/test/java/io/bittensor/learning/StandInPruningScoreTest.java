package io.bittensor.learning;

import static io.bittensor.learning.PairTask.CLASSES;
import static io.bittensor.learning.PairTask.IN;
import static io.bittensor.learning.PairTask.gate;
import static io.bittensor.learning.PairTask.learner;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.ForwardRequest;
import io.bittensor.core.Modality;
import io.bittensor.core.Tensor;
import io.bittensor.learning.TestPeers.FnPeer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link WeightSource#STAND_IN_PRUNING_SCORE}: Optimal Brain Surgeon with the peers that would
 * replace a removed one in the Fisher matrix.
 */
@Timeout(120)
class StandInPruningScoreTest {
  @Test
  void aCopyThatStandsInForItsTwinTakesLittleWhileThePeerNoOneReplacesKeepsItsScore() {
    // Peers: left, right, a copy of left, noise. The gate's biases, fixed (no noise, a learning
    // rate too small to reorder them), route every example to left and right, and the copy is
    // every example's stand-in: never asked with left, so the compensated score cannot see that
    // the two are one.
    PairTask task = new PairTask(1);
    List<FnPeer> peers = new ArrayList<>();
    for (int j : new int[] {0, 2, 1, 4}) {
      peers.add(new FnPeer(CLASSES, task.peers.get(j).fn));
    }
    NoisyTopKGate g = NoisyTopKGate.builder().peers(peers).k(2).contextDim(IN).outputDim(CLASSES)
        .noise(false).learningRate(1e-6).seed(2).build();
    System.arraycopy(new float[] {4, 4, 2, -4}, 0, g.parameters().get(1).values(), 0, 4);
    Learner l = learner(g, 3).probeEvery(2).build();
    task.train(l, 200, 4);
    double[] plain = l.pruningScores();
    double[] compensated = l.compensatedPruningScores();
    double[] standIn = l.standInPruningScores();
    String scores = "plain " + Arrays.toString(plain) + ", compensated "
        + Arrays.toString(compensated) + ", stand-in " + Arrays.toString(standIn);
    // Left and right, always asked together, partly make up for each other; the compensated
    // score cannot tell the one with a copy from the one without.
    assertEquals(compensated[0], compensated[1], 0.1 * compensated[1], scores);
    assertTrue(compensated[0] > 0.1 * plain[0], scores);
    assertTrue(standIn[0] < 0.02 * compensated[0], "left's copy takes its place: " + scores);
    assertTrue(standIn[1] > 0.5 * compensated[1] && standIn[1] < 2 * compensated[1],
        "no stand-in answers as right does: " + scores);
    assertEquals(0, standIn[2], "the copy is never routed: " + scores);
    assertEquals(0, standIn[3], "nor is the noise: " + scores);
    double[] row = l.weights(WeightSource.STAND_IN_PRUNING_SCORE, 0).toArray();
    assertTrue(row[1] > 0.95, "right holds the row: " + Arrays.toString(row));
  }

  @Test
  void withProbesOnEveryBatchTheRoutedBlockIsTheFisher() {
    PairTask task = new PairTask(5);
    Learner l = learner(gate(task.peers, 2, 6), 7).probeEvery(1).build();
    task.train(l, 30, 8);
    double[][] fisher = l.fisher();
    int n = task.peers.size();
    for (int q = 0; q < n; q++) {
      double[][] f = l.standInFisher(q);
      assertEquals(2 * n, f.length);
      for (int i = 0; i < n; i++) {
        for (int k = 0; k < n; k++) {
          assertEquals(fisher[i][k], f[i][k], 1e-5 * fisher[i][i] + 1e-12,
              "peer " + q + ", [" + i + "][" + k + "]");
        }
        assertEquals(f[i][n + q], 0, "peer " + q + " never stands in for itself");
      }
    }
  }

  @Test
  void eachEntryIsTheLossGradientInItsMultiplier() {
    // Zero gate parameters and no noise: the example goes to peers 0 and 1 (the lower indices on
    // ties) with gates 1/2, and peer 2 stands in, in either one's place with its gate. One probed
    // step: each peer's matrix is d d^T, and a multiplier's gradient is a central difference of
    // the loss with that peer's part of the answer scaled. The naive reference joins the answers
    // itself and asks an identical head.
    List<FnPeer> peers = PairTask.projections(3, 50);
    Learner l = learner(PairTask.tiedGate(peers, 51), 52).probeEvery(1).build();
    TrainableMlp head = PairTask.head(52);
    Tensor x = TestPeers.batch(new Random(53), 1, IN);
    int[] labels = new PairTask(54).labels(x);
    l.train(new ForwardRequest(Modality.TENSOR, x), labels);
    float[][] f = new float[3][];
    for (int j = 0; j < 3; j++) {
      f[j] = peers.get(j).fn.apply(x.toFloatArray());
    }
    double[] share = {0.5, 0.5, 0.5};
    double h = 1e-2;
    double[] d = new double[3];
    for (int j = 0; j < 3; j++) {
      d[j] = (loss(head, f, j, share[j] * h, labels[0]) - loss(head, f, j, -share[j] * h,
          labels[0])) / (2 * h);
    }
    assertTrue(Math.abs(d[2]) > 1e-3, "a gradient worth checking: " + d[2]);
    int n = 3;
    for (int q = 0; q < 2; q++) {
      double[][] m = l.standInFisher(q);
      // Coordinates: alpha_0, alpha_1 routed; beta_2 at n + 2.
      int[] at = {0, 1, n + 2};
      for (int i = 0; i < 3; i++) {
        for (int k = 0; k < 3; k++) {
          assertEquals(d[i] * d[k], m[at[i]][at[k]], 1e-2 * Math.abs(d[i] * d[k]) + 1e-8,
              "peer " + q + ", [" + at[i] + "][" + at[k] + "]");
        }
      }
    }
    double[][] m2 = l.standInFisher(2);
    assertEquals(0, m2[n + 2][n + 2], "peer 2 was routed nowhere, so no one stood in for it");
    assertEquals(0, l.standInPruningScores()[2], "a peer never routed costs nothing to remove,"
        + " however often it stands in");
  }

  /** The loss of the example with peer j's part of the joined answer changed by {@code by}. */
  private static double loss(TrainableMlp head, float[][] f, int j, double by, int label) {
    float[] joined = new float[CLASSES];
    for (int c = 0; c < CLASSES; c++) {
      joined[c] = (float) (0.5 * f[0][c] + 0.5 * f[1][c] + by * f[j][c]);
    }
    return NnOps.softmaxCrossEntropy(head.predict(joined, 1), 1, CLASSES, new int[] {label},
        null);
  }

  @Test
  void withoutProbesItSaysWhy() {
    PairTask task = new PairTask(9);
    Learner l = learner(gate(task.peers, 2, 10), 11).probeEvery(0).build();
    task.train(l, 2, 12);
    var e = assertThrows(IllegalStateException.class,
        () -> l.weights(WeightSource.STAND_IN_PRUNING_SCORE, 0));
    assertTrue(e.getMessage().contains("probeEvery(0)"), e.getMessage());
    Learner probing = learner(gate(task.peers, 2, 10), 11).build();
    assertEquals(0, Arrays.stream(probing.standInPruningScores()).sum(), "before any probe");
    var bad = assertThrows(IllegalArgumentException.class, () -> probing.standInFisher(6));
    assertTrue(bad.getMessage().contains("[0, 6), was 6"), bad.getMessage());
  }

  @Test
  void aGateOfMoreThan64PeersKeepsNoMatricesAndSaysSo() {
    PairTask task = new PairTask(9);
    Learner large = learner(gate(PairTask.projections(65, 3), 2, 10), 11).probeEvery(1).build();
    task.train(large, 2, 12);
    var e = assertThrows(IllegalStateException.class,
        () -> large.weights(WeightSource.STAND_IN_PRUNING_SCORE, 0));
    assertTrue(e.getMessage().contains("at most 64 peers; this gate has 65"), e.getMessage());
    // The probes still run: the rerouted loss of the same learner is there.
    assertTrue(large.probedBatches() == 2 && Arrays.stream(large.reroutedLossScores())
        .anyMatch(v -> v != 0), "the rerouted loss saw the probes");
    Learner at64 = learner(gate(PairTask.projections(64, 3), 2, 10), 11).probeEvery(1).build();
    task.train(at64, 2, 12);
    assertTrue(Arrays.stream(at64.standInPruningScores()).anyMatch(v -> v > 0), "64 peers: kept");
  }
}
