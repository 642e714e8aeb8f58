package io.bittensor.learning;

import io.bittensor.core.Tensor;
import io.bittensor.learning.TestPeers.FnPeer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A seeded task where routing matters: 8 Gaussian features, 4 classes from a fixed linear map.
 * Expert 0 knows the answer where feature 0 is positive, expert 1 where it is negative (each is
 * confidently wrong elsewhere), and the noise peers know nothing: a gate that routes on the
 * sign of feature 0 beats every single peer.
 */
final class RoutingTask {
  static final int IN = 8;
  static final int CLASSES = 4;
  final float[][] w = new float[CLASSES][IN];
  final List<FnPeer> peers = new ArrayList<>();

  RoutingTask(long seed, int noisePeers) {
    Random r = new Random(seed);
    for (float[] row : w) {
      for (int i = 0; i < IN; i++) {
        row[i] = (float) r.nextGaussian();
      }
    }
    peers.add(new FnPeer(CLASSES, x -> x[0] > 0 ? oneHot(label(x)) : oneHot((label(x) + 1) % 4)));
    peers.add(new FnPeer(CLASSES, x -> x[0] <= 0 ? oneHot(label(x)) : oneHot((label(x) + 2) % 4)));
    for (int j = 0; j < noisePeers; j++) {
      var proj = TestPeers.projection(IN, CLASSES, seed * 31 + j);
      peers.add(new FnPeer(CLASSES, x -> soft(proj.apply(x))));
    }
  }

  int label(float[] x) {
    return linearClass(w, x);
  }

  /** The class {@code c} with the largest {@code w[c] . x} (the lowest on ties). */
  static int linearClass(float[][] w, float[] x) {
    int best = 0;
    double bestV = Double.NEGATIVE_INFINITY;
    for (int c = 0; c < w.length; c++) {
      double v = 0;
      for (int i = 0; i < x.length; i++) {
        v += w[c][i] * x[i];
      }
      if (v > bestV) {
        bestV = v;
        best = c;
      }
    }
    return best;
  }

  int[] labels(Tensor x) {
    float[] all = x.toFloatArray();
    int rows = x.dim(0);
    int[] out = new int[rows];
    for (int r = 0; r < rows; r++) {
      out[r] = label(java.util.Arrays.copyOfRange(all, r * IN, (r + 1) * IN));
    }
    return out;
  }

  static float[] oneHot(int c) {
    float[] y = new float[CLASSES];
    y[c] = 1;
    return y;
  }

  static float[] soft(float[] z) {
    float[] y = new float[z.length];
    NnOps.softmaxRows(z, 1, z.length, y);
    for (int i = 0; i < y.length; i++) {
      y[i] = (float) Math.pow(y[i], 4); // sharper: a confident, uninformed answer
    }
    double s = 0;
    for (float v : y) {
      s += v;
    }
    for (int i = 0; i < y.length; i++) {
      y[i] /= s;
    }
    return y;
  }
}
