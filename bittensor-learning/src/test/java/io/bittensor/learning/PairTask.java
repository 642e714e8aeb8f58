package io.bittensor.learning;

import io.bittensor.core.ForwardRequest;
import io.bittensor.core.GatingLayer;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.learning.TestPeers.FnPeer;
import io.bittensor.onnx.Mlp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

/**
 * A task that needs two peers per example: labels from a fixed linear map of 8 Gaussian
 * features; peer "left" answers half on the label and half on a confuser drawn from the row's
 * feature 1, "right" likewise with feature 2, so each alone is a coin toss and together they are
 * right unless the confusers agree. Peers 0 and 1 are "left" twice (a copy), 2 is "right", 3
 * always fails, 4 and 5 are confident noise. With the learners and gates the tests train on it.
 */
final class PairTask {
  static final int IN = 8;
  static final int CLASSES = 6;

  final float[][] w = new float[CLASSES][IN];
  final List<FnPeer> peers = new ArrayList<>();

  PairTask(long seed) {
    Random r = new Random(seed);
    for (float[] row : w) {
      for (int i = 0; i < IN; i++) {
        row[i] = (float) r.nextGaussian();
      }
    }
    Function<float[], float[]> left = x -> halfAndHalf(label(x), confuser(x, 1));
    peers.add(new FnPeer(CLASSES, left));
    peers.add(new FnPeer(CLASSES, left));
    peers.add(new FnPeer(CLASSES, x -> halfAndHalf(label(x), confuser(x, 2))));
    FnPeer failing = new FnPeer(CLASSES, left);
    failing.failWith = Status.UNAVAILABLE;
    peers.add(failing);
    for (int j = 0; j < 2; j++) {
      var proj = TestPeers.projection(IN, CLASSES, seed * 31 + j);
      peers.add(new FnPeer(CLASSES, x -> RoutingTask.soft(proj.apply(x))));
    }
  }

  int label(float[] x) {
    return RoutingTask.linearClass(w, x);
  }

  /** Another class than the label, fixed by feature {@code f} of the row. */
  int confuser(float[] x, int f) {
    int shift = 1 + Math.floorMod((long) Math.floor(Math.abs(x[f]) * 1000), CLASSES - 1);
    return (label(x) + shift) % CLASSES;
  }

  int[] labels(Tensor x) {
    float[] all = x.toFloatArray();
    int[] out = new int[x.dim(0)];
    for (int r = 0; r < out.length; r++) {
      out[r] = label(Arrays.copyOfRange(all, r * IN, (r + 1) * IN));
    }
    return out;
  }

  static float[] halfAndHalf(int a, int b) {
    float[] y = new float[CLASSES];
    y[a] += 0.5f;
    y[b] += 0.5f;
    return y;
  }

  /** {@code steps} batches of 32 seeded examples. */
  List<StepResult> train(Learner l, int steps, long seed) {
    Random r = new Random(seed);
    List<StepResult> out = new ArrayList<>();
    for (int s = 0; s < steps; s++) {
      Tensor x = TestPeers.batch(r, 32, IN);
      out.add(l.train(new ForwardRequest(Modality.TENSOR, x), labels(x)));
    }
    return out;
  }

  static Learner.Builder learner(GatingLayer gate, long seed) {
    return Learner.builder()
        .gate(gate)
        .head(head(seed))
        .learningRate(0.01)
        .timeout(Duration.ofSeconds(5));
  }

  /** The learners' head, 6-32-6; the same seed gives the same weights. */
  static TrainableMlp head(long seed) {
    return TrainableMlp.random(new int[] {CLASSES, 32, CLASSES}, Mlp.Activation.RELU, seed);
  }

  /** {@code count} peers answering seeded projections of the features. */
  static List<FnPeer> projections(int count, long seed) {
    List<FnPeer> peers = new ArrayList<>();
    for (int j = 0; j < count; j++) {
      peers.add(new FnPeer(CLASSES, TestPeers.projection(IN, CLASSES, seed + j)));
    }
    return peers;
  }

  /**
   * A top-2 gate with zero parameters and no noise: every example goes to peers 0 and 1 (the lower
   * indices on ties) with equal logits, and peer 2 is its stand-in.
   */
  static NoisyTopKGate tiedGate(List<? extends Peer> peers, long seed) {
    return NoisyTopKGate.builder().peers(peers).k(2).contextDim(IN).outputDim(CLASSES)
        .noise(false).seed(seed).build();
  }

  static NoisyTopKGate gate(List<? extends Peer> peers, int k, long seed) {
    return NoisyTopKGate.builder().peers(peers).k(k).contextDim(IN).outputDim(CLASSES)
        .learningRate(0.01).seed(seed).build();
  }
}
