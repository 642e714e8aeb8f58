package io.bittensor.learning;

import io.bittensor.core.Experimental;

/**
 * What a {@link Learner}'s rerouted probe measures of each example, with a routed peer and with its
 * stand-in in its place: the difference is what the peer is worth to that example. Each is a cost
 * per example and position, from the head's logits {@code z} and the label {@code y}, with {@code
 * p = softmax(z)}. One probe scores the peers in every measure at once.
 *
 * <pre>{@code
 * Learner learner = Learner.builder()...build();
 * double[] byError = learner.reroutedScores(ProbeMeasure.ERROR);   // accuracy lost per example
 * }</pre>
 *
 * <p>{@link WeightSource#REROUTED_LOSS} is the {@link #LOSS}. The others measure something closer
 * to the accuracy a peer is paid for, but in the Fashion-MNIST market of {@code
 * docs/learning.md} none ranks the peers better than the loss: a neuron's own row by any of them
 * ranks the peers worse than by the loss. They are here to measure, not as weight sources.
 */
@Experimental
public enum ProbeMeasure {
  /** The cross-entropy {@code -log p_y}: what the head trains on. */
  LOSS {
    @Override
    double cost(float[] z, int o, int cols, int y, double[] p, double logZ) {
      return logZ - z[o + y];
    }
  },
  /**
   * One minus the probability of the right class, {@code 1 - p_y}: the expected error were the
   * answer drawn from {@code p}. Bounded, so an example the head gets confidently wrong weighs
   * no more than one it gets narrowly wrong.
   */
  PROBABILITY {
    @Override
    double cost(float[] z, int o, int cols, int y, double[] p, double logZ) {
      return 1 - p[y];
    }
  },
  /**
   * The probability margin lost, {@code (max_{c != y} p_c - p_y + 1) / 2} in [0, 1]: above 1/2
   * exactly when the head's answer is wrong.
   */
  MARGIN {
    @Override
    double cost(float[] z, int o, int cols, int y, double[] p, double logZ) {
      double other = 0;
      for (int c = 0; c < cols; c++) {
        other = c == y ? other : Math.max(other, p[c]);
      }
      return (other - p[y] + 1) / 2;
    }
  },
  /** The 0/1 error: 1 where the head's top class is not the label. */
  ERROR {
    @Override
    double cost(float[] z, int o, int cols, int y, double[] p, double logZ) {
      return NnOps.argmax(z, o / cols, cols) == y ? 0 : 1;
    }
  };

  /**
   * The cost of row {@code o / cols} of {@code z}, whose softmax is {@code p} (length {@code
   * cols}) and log-sum-exp {@code logZ}.
   */
  abstract double cost(float[] z, int o, int cols, int y, double[] p, double logZ);
}
