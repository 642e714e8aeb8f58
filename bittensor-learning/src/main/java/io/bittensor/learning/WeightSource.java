package io.bittensor.learning;

/**
 * Where a {@link Learner}'s weight row comes from (paper, sections 7 and 9).
 *
 * <pre>{@code
 * PeerVector row = learner.weights(WeightSource.PRUNING_SCORE, peg.minAllowedWeights());
 * }</pre>
 */
public enum WeightSource {
  /**
   * The gate's importance: the moving average of each peer's share of the gate over training
   * batches. Cheap and differentiable; the paper's proxy.
   */
  GATE_IMPORTANCE,
  /**
   * The pruning score: the expected increase in loss were the peer's answers removed, {@code
   * 1/2 E[(dL/df_j . f_j)^2]}, the second-order estimate with the empirical Fisher (squared
   * gradients) standing in for the Hessian. The paper's principled score.
   */
  PRUNING_SCORE
}
