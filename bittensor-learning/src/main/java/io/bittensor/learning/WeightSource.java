package io.bittensor.learning;

import io.bittensor.core.Experimental;

/**
 * Where a {@link Learner}'s weight row comes from (paper, sections 7 and 9).
 *
 * <pre>{@code
 * Learner learner = Learner.builder()...build();
 * LedgerParams params = ledger.metagraph().params();
 * PeerVector row = learner.weights(WeightSource.PRUNING_SCORE, params.minAllowedWeights());
 * }</pre>
 */
@Experimental
public enum WeightSource {
  /**
   * The gate's importance: the moving average of each peer's share of the gate over training
   * batches. Cheap and differentiable; the paper's proxy.
   */
  GATE_IMPORTANCE,
  /**
   * The pruning score: the expected increase in loss were the peer removed, per example and
   * position as the loss is ({@link Learner#pruningScores()}). Its answers' worth,
   * {@code 1/2 E[(dL/df_j . f_j)^2]}, the second-order estimate with the empirical Fisher
   * (squared gradients) standing in for the Hessian: the paper's principled score, as it writes
   * it, the peer's answers removed and everything else held as it is. Less what its failures
   * cost: each example it was asked for and left unanswered had a slot that removing it would
   * give to a peer that answers, worth an answer's mean worth ({@link Learner#failureCosts()}).
   * For peers that always answer, the paper's score exactly.
   */
  PRUNING_SCORE,
  /**
   * The compensated pruning score: the expected increase in loss were the peer's answers removed
   * and the other peers re-weighted to make up for it (Optimal Brain Surgeon, Hassibi and Stork
   * 1993), from the same empirical Fisher matrix over the peers. Peers that answer alike each
   * score little, as what one answers the other still does; a peer no other can stand in for
   * keeps its {@link #PRUNING_SCORE}. Less the same failure costs. See {@link
   * Learner#compensatedPruningScores()}.
   */
  COMPENSATED_PRUNING_SCORE,
  /**
   * The stand-in pruning score: the compensated pruning score with each example's stand-in (the
   * gate's next choice, asked on some training batches, {@link Learner.Builder#probeEvery}) in the
   * Fisher matrix beside its routed peers: removing a peer, the others re-weight and its examples'
   * stand-ins step in, as the gate would send them. So Optimal Brain Surgeon sees the peer that
   * would replace another even when the gate never routes both to one example: a copy that stands
   * in for its original scores little; a peer no stand-in resembles keeps about its {@link
   * #PRUNING_SCORE}. Shares the rerouted loss's probes (no extra bytes); kept for gates of at
   * most 64 peers (its matrices grow as peers^3). Less the same failure costs. See {@link
   * Learner#standInPruningScores()}.
   */
  STAND_IN_PRUNING_SCORE,
  /**
   * The rerouted loss: the cost in loss of removing the peer (the paper's section 9), measured
   * directly rather than expanded: on some training batches ({@link Learner.Builder#probeEvery})
   * the learner also asks each example's next choice, the peer that would really take the routed
   * one's place, and records how much the loss rises with each routed peer replaced by it. A copy
   * of another peer scores about 0, as the original stands in; a peer that fails scores 0, as a
   * working stand-in does better (negative scores count as 0 in the row). Costs one more answer
   * per example on the probed batches. See {@link Learner#reroutedLossScores()}. The same probe
   * measured in accuracy ({@link ProbeMeasure}) ranked the peers no better in the market of
   * {@code docs/learning.md}, so this source is the loss.
   */
  REROUTED_LOSS
}
