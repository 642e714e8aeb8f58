package io.bittensor.learning;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.bittensor.core.ForwardRequest;
import io.bittensor.core.Modality;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.learning.TestPeers.FnPeer;
import io.bittensor.onnx.Mlp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The failure cost, on random markets where every peer is asked for every example: after a
 * batch, each peer that failed is charged, per example, the mean of {@code 1/2 d^2} over the
 * batch's answers, which with every peer asked is the answering peers' Fisher diagonal summed and
 * halved, over their number; a peer that answered is charged nothing; the pruning score is the
 * answers' worth less the cost, never below 0. Over two batches the cost is the Fisher's moving
 * average: {@code (decay c1 + c2) / (1 + decay)} once bias-corrected.
 */
class FailureCostProperties {
  private static final double DECAY = 0.98;

  static LongStream seeds() {
    return LongStream.range(0, 60);
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void aFailedSlotCostsTheMeanAnswerWorthAndTheCostDecaysAsTheFisherDoes(long seed) {
    Random r = new Random(seed);
    int n = 3 + r.nextInt(4);
    List<FnPeer> peers = new ArrayList<>();
    for (int j = 0; j < n; j++) {
      var fn = TestPeers.projection(RoutingTask.IN, RoutingTask.CLASSES, seed * 17 + j);
      double scale = 0.2 + 2 * r.nextDouble();
      peers.add(new FnPeer(RoutingTask.CLASSES, x -> {
        float[] y = fn.apply(x);
        for (int i = 0; i < y.length; i++) {
          y[i] *= (float) scale;
        }
        return y;
      }));
    }
    Learner l = Learner.builder()
        .gate(NoisyTopKGate.builder().peers(peers).k(n).noise(false).importanceWeight(0)
            .contextDim(RoutingTask.IN).outputDim(RoutingTask.CLASSES).learningRate(0.01)
            .seed(seed).build())
        .head(TrainableMlp.random(new int[] {RoutingTask.CLASSES, 8, RoutingTask.CLASSES},
            Mlp.Activation.RELU, seed))
        .learningRate(0.01)
        .timeout(Duration.ofSeconds(5))
        .build();
    RoutingTask task = new RoutingTask(seed, 0);

    boolean[] failsFirst = failing(r, n);
    step(l, peers, failsFirst, task, r);
    double[] diag1 = diagonal(l.fisher());
    double[] cost1 = expectedCosts(diag1, failsFirst);
    double[] got1 = l.failureCosts();
    double[] pruning = l.pruningScores();
    for (int j = 0; j < n; j++) {
      assertEquals(cost1[j], got1[j], 1e-12 * (1 + cost1[j]), "seed " + seed + ", peer " + j);
      assertEquals(Math.max(0, diag1[j] / 2 - cost1[j]), pruning[j], 1e-15,
          "seed " + seed + ", peer " + j);
    }

    boolean[] failsSecond = failing(r, n);
    step(l, peers, failsSecond, task, r);
    double[] both = diagonal(l.fisher());
    double[] diag2 = new double[n];
    for (int j = 0; j < n; j++) {
      // Undo the bias-corrected average over two batches to get the second batch's own.
      diag2[j] = both[j] * (1 + DECAY) - DECAY * diag1[j];
    }
    double[] cost2 = expectedCosts(diag2, failsSecond);
    double[] got2 = l.failureCosts();
    for (int j = 0; j < n; j++) {
      double expected = (DECAY * cost1[j] + cost2[j]) / (1 + DECAY);
      assertEquals(expected, got2[j], 1e-9 * (1 + expected), "seed " + seed + ", peer " + j);
    }
  }

  /** At least one peer fails and at least one answers. */
  private static boolean[] failing(Random r, int n) {
    boolean[] fails = new boolean[n];
    int count = 1 + r.nextInt(n - 1);
    for (int picked = 0; picked < count; ) {
      int j = r.nextInt(n);
      if (!fails[j]) {
        fails[j] = true;
        picked++;
      }
    }
    return fails;
  }

  private static void step(Learner l, List<FnPeer> peers, boolean[] fails, RoutingTask task,
      Random r) {
    for (int j = 0; j < fails.length; j++) {
      peers.get(j).failWith = fails[j] ? Status.TIMEOUT : null;
    }
    Tensor x = TestPeers.batch(r, 2 + r.nextInt(15), RoutingTask.IN);
    l.train(new ForwardRequest(Modality.TENSOR, x), task.labels(x));
  }

  /**
   * Every example asks every peer, so each failing peer left every example's slot empty, and an
   * answer's mean worth is {@code sum over the answering peers of F_jj / 2}, over their number.
   */
  private static double[] expectedCosts(double[] diag, boolean[] fails) {
    double worth = 0;
    int answering = 0;
    for (int j = 0; j < diag.length; j++) {
      if (!fails[j]) {
        worth += diag[j] / 2;
        answering++;
      }
    }
    worth /= answering;
    double[] cost = new double[diag.length];
    for (int j = 0; j < diag.length; j++) {
      cost[j] = fails[j] ? worth : 0;
    }
    return cost;
  }

  private static double[] diagonal(double[][] f) {
    double[] d = new double[f.length];
    for (int j = 0; j < f.length; j++) {
      d[j] = f[j][j];
    }
    return d;
  }
}
