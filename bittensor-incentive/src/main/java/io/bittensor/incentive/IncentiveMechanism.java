package io.bittensor.incentive;

import java.util.ArrayList;
import java.util.List;

/**
 * Turns stake and weights into ranks, trust, consensus, incentive and newly minted stake: one
 * epoch at a time, or many with the state carried forward.
 *
 * <pre>{@code
 * NetworkState state = SyntheticNetworks.dense(64, 7, true);
 * IncentiveMechanism mechanism = IncentiveMechanism.paper();
 * EpochResult epoch = mechanism.step(state);
 * List<EpochResult> history = mechanism.run(state, 100);   // stake and bonds carried forward
 * }</pre>
 *
 * <p>Two implementations: the paper's ({@link #paper()}, {@link PaperMechanism}) and the chain's
 * Yuma Consensus ({@link YumaConsensus#defaults()}, or {@link YumaConsensus#of(YumaParams)} for
 * Yuma 3 and other parameters).
 *
 * <p>Implementations are immutable and thread-safe: one instance may run epochs of different
 * networks at once. Implementations never return NaN: bad input gets an exception naming it.
 */
public interface IncentiveMechanism {

  /** The paper's mechanism with default parameters (rho 10, kappa 0.5, tau 1, bondShare 0.5). */
  static PaperMechanism paper() {
    return PaperMechanism.of(PaperParams.defaults());
  }

  /** The paper's mechanism with the given parameters. */
  static PaperMechanism paper(PaperParams params) {
    return PaperMechanism.of(params);
  }

  /** A short, stable name: {@code "paper"}, ... */
  String name();

  /**
   * Runs one epoch.
   *
   * @param state stake, weights and bonds before the epoch; not modified
   * @return what the epoch computed, including the stake and bonds after it
   * @throws IllegalArgumentException if the state cannot be scored (all stake zero, weight rows
   *     that break the mechanism's rules); the message names the problem
   * @throws ArithmeticException if a result would overflow a double
   */
  EpochResult step(NetworkState state);

  /**
   * The state the next epoch reads: the result's stake and bonds, with the same weights.
   *
   * @param state the state {@code result} was computed from; not modified
   * @param result its epoch; not modified
   */
  default NetworkState advance(NetworkState state, EpochResult result) {
    return new NetworkState(result.stake(), state.weights(), result.bonds());
  }

  /**
   * Runs {@code epochs} epochs, each on the state the previous one left (weights unchanged).
   * Keeps every result: for very large networks, loop over {@link #step} and {@link #advance},
   * or (the paper's mechanism) step a {@link PaperSimulation}, which updates its bonds in place.
   *
   * @param initial the state before the first epoch; not modified
   * @param epochs {@code >= 0}
   * @return one result per epoch, in order
   * @throws IllegalArgumentException as {@link #step}, or if {@code epochs < 0}
   * @throws ArithmeticException as {@link #step}
   */
  default List<EpochResult> run(NetworkState initial, int epochs) {
    if (epochs < 0) {
      throw new IllegalArgumentException("epochs must be >= 0, was " + epochs);
    }
    List<EpochResult> results = new ArrayList<>(epochs);
    NetworkState state = initial;
    for (int e = 0; e < epochs; e++) {
      EpochResult result = step(state);
      results.add(result);
      state = advance(state, result);
    }
    return results;
  }
}
