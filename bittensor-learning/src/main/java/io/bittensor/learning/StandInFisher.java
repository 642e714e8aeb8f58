package io.bittensor.learning;

import io.bittensor.core.StandIns;
import io.bittensor.core.internal.StateFile;
import io.bittensor.learning.internal.BrainSurgeon;

/**
 * The empirical Fisher matrices behind {@link Learner#standInPruningScores()}: for each peer
 * {@code q}, one over the routed multipliers of all peers and the stand-in multipliers of the
 * peers that step in for {@code q}, from a learner's probed batches.
 *
 * <p>Coordinate {@code j < n} is peer {@code j}'s multiplier where it is routed ({@code alpha_j},
 * nominally 1, as in {@link Learner#fisher()}); coordinate {@code n + s} puts peer {@code s}
 * in {@code q}'s place, with {@code q}'s gate, in the examples routed to {@code q} that {@code s}
 * stands in for ({@code beta_s}, nominally 0). Per example {@code d_alpha_j = g_j dL/dG . f_j}
 * and {@code d_beta_s = g_q dL/dG . f_s}, at the network as it answered. Removing {@code q} sets
 * {@code alpha_q} to 0 while the other peers re-weight and the stand-ins step in where the gate
 * would send {@code q}'s examples: a stand-in that answers as {@code q} did has {@code d_beta_s
 * = d_alpha_q} there, and takes its place at no cost.
 *
 * <p>It keeps the routed block once ({@code n^2} numbers) and, per peer, the cross terms with its
 * stand-ins ({@code n^2}) and their diagonal ({@code n}; an example has one stand-in): {@code
 * n^3 + 2 n^2} numbers, and a probed batch updates all of them: fine for the tens of peers a
 * neuron routes among, which is why a learner keeps it only for gates of at most {@link
 * #MAX_PEERS} peers.
 *
 * <p>Not thread-safe: its learner's thread feeds and reads it.
 */
final class StandInFisher {
  /** The largest gate a learner keeps these matrices for: 64^3 doubles are 2 MiB. */
  static final int MAX_PEERS = 64;

  private final int peers;
  private final double decay;
  /** The routed block, {@code [n * n]}: {@code mean_x d_alpha d_alpha^T}. */
  private final double[] routed;
  /** Per removed peer {@code q}, {@code [n * n]}: {@code alpha_i} by {@code beta_s}. */
  private final double[][] cross;
  /** Per removed peer {@code q}, {@code [n]}: {@code beta_s} by itself. */
  private final double[][] standIn;
  private long batches;

  /**
   * @param peers the gate's peers
   * @param decay per probed batch
   */
  StandInFisher(int peers, double decay) {
    this.peers = peers;
    this.decay = decay;
    this.routed = new double[peers * peers];
    this.cross = new double[peers][peers * peers];
    this.standIn = new double[peers][peers];
  }

  /**
   * Adds a probed batch into the moving averages.
   *
   * @param sel each example's routed peers
   * @param gates their gates, 0 where the answer failed
   * @param answers their answers, by slot of {@code sel}; null where failed
   * @param standIns the probe
   * @param dJoined the gradient of the batch's mean loss with respect to the joined answers
   * @param seq positions per example
   */
  void accumulate(int[][] sel, float[][] gates, float[][][] answers, StandIns standIns,
      float[] dJoined, int seq) {
    int batch = sel.length;
    int rows = batch * seq;
    int m = dJoined.length / batch;
    int[] next = standIns.peers();
    float[][] standInAnswers = standIns.answers();
    // Decay in place, then add this batch's terms scaled by (1 - decay) / rows: the moving
    // average per example and position (as the learner's Fisher) without a peers^3 array of sums
    // per batch.
    scale(routed);
    for (int q = 0; q < peers; q++) {
      scale(cross[q]);
      scale(standIn[q]);
    }
    double w = (1 - decay) / rows;
    for (int b = 0; b < batch; b++) {
      int[] set = new int[sel[b].length];
      double[] share = new double[sel[b].length];
      double[] d = new double[sel[b].length];
      int members = 0;
      for (int s = 0; s < sel[b].length; s++) {
        if (answers[b][s] != null) {
          // Times rows: the gradient is of the batch's mean loss, d of the example's own.
          share[members] = gates[b][s];
          d[members] = gates[b][s] * dot(dJoined, b * m, answers[b][s]) * rows;
          set[members++] = sel[b][s];
        }
      }
      for (int i = 0; i < members; i++) {
        for (int k = 0; k < members; k++) {
          routed[set[i] * peers + set[k]] += w * d[i] * d[k];
        }
      }
      int s = next[b];
      if (s < 0 || standInAnswers[b] == null) {
        continue;
      }
      double standInDot = dot(dJoined, b * m, standInAnswers[b]) * rows;
      // For each routed peer q, the stand-in steps into q's place with q's gate.
      for (int r = 0; r < members; r++) {
        int q = set[r];
        double beta = share[r] * standInDot;
        for (int i = 0; i < members; i++) {
          cross[q][set[i] * peers + s] += w * d[i] * beta;
        }
        standIn[q][s] += w * beta * beta;
      }
    }
    batches++;
  }

  /** Writes the moving averages and the batch count under {@code prefix}. */
  void save(StateFile.Writer w, String prefix) {
    w.doubles(prefix + "routed", routed);
    for (int q = 0; q < peers; q++) {
      w.doubles(prefix + "cross/" + q, cross[q]);
      w.doubles(prefix + "stand-in/" + q, standIn[q]);
    }
    w.longs(prefix + "batches", batches);
  }

  /** Stages reading what {@link #save} wrote. */
  void restore(StateFile.Reader r, String prefix) {
    r.doubles(prefix + "routed", routed);
    for (int q = 0; q < peers; q++) {
      r.doubles(prefix + "cross/" + q, cross[q]);
      r.doubles(prefix + "stand-in/" + q, standIn[q]);
    }
    long count = r.longs(prefix + "batches", 1)[0];
    if (count < 0) {
      throw new IllegalArgumentException("the checkpoint's " + prefix + "batches is " + count);
    }
    r.then(() -> batches = count);
  }

  private void scale(double[] values) {
    for (int i = 0; i < values.length; i++) {
      values[i] *= decay;
    }
  }

  /**
   * Peer {@code q}'s matrix, bias-corrected, row-major {@code [2n * 2n]}: the routed block, then
   * the stand-ins of {@code q}'s examples; zeros before a probe.
   */
  double[] matrix(int q) {
    int size = 2 * peers;
    double[] out = new double[size * size];
    if (batches == 0) {
      return out;
    }
    double c = 1 - Math.pow(decay, batches);
    for (int i = 0; i < peers; i++) {
      for (int k = 0; k < peers; k++) {
        out[i * size + k] = routed[i * peers + k] / c;
        out[i * size + peers + k] = cross[q][i * peers + k] / c;
        out[(peers + k) * size + i] = cross[q][i * peers + k] / c;
      }
      out[(peers + i) * size + peers + i] = standIn[q][i] / c;
    }
    return out;
  }

  /** Each peer's removal cost, Optimal Brain Surgeon on its own matrix. */
  double[] removalCosts(double damping) {
    double[] out = new double[peers];
    for (int q = 0; q < peers; q++) {
      out[q] = BrainSurgeon.removalCosts(matrix(q), 2 * peers, damping)[q];
    }
    return out;
  }

  private static double dot(float[] a, int from, float[] b) {
    double total = 0;
    for (int i = 0; i < b.length; i++) {
      total += (double) a[from + i] * b[i];
    }
    return total;
  }
}
