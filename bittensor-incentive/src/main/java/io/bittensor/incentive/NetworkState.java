package io.bittensor.incentive;

import java.util.Objects;

/**
 * What an epoch reads: each peer's stake, the weight matrix (row {@code i} is peer {@code i}'s
 * vote) and the bond matrix (row {@code i} is what peer {@code i} owns of each peer).
 *
 * <pre>{@code
 * NetworkState state = NetworkState.of(
 *     PeerVector.of(60, 40),
 *     PeerMatrix.dense(new double[][] {{0, 1}, {1, 0}}));   // bonds start at zero
 * }</pre>
 *
 * @param stake one value per peer, finite and {@code >= 0}
 * @param weights {@code n x n}
 * @param bonds {@code n x n}
 */
public record NetworkState(PeerVector stake, PeerMatrix weights, PeerMatrix bonds) {

  /**
   * Checks that the parts agree in size and that stake is non-negative.
   *
   * @throws IllegalArgumentException naming the part whose size or value is wrong
   */
  public NetworkState {
    Objects.requireNonNull(stake, "stake");
    Objects.requireNonNull(weights, "weights");
    Objects.requireNonNull(bonds, "bonds");
    int n = stake.size();
    if (weights.size() != n) {
      throw new IllegalArgumentException(
          "weights must be " + n + " x " + n + " to match the stake vector, was "
              + weights.size() + " x " + weights.size());
    }
    if (bonds.size() != n) {
      throw new IllegalArgumentException(
          "bonds must be " + n + " x " + n + " to match the stake vector, was "
              + bonds.size() + " x " + bonds.size());
    }
    for (int i = 0; i < n; i++) {
      if (stake.get(i) < 0) {
        throw new IllegalArgumentException(
            "stake[" + i + "] must be finite and >= 0, was " + stake.get(i));
      }
    }
  }

  /** A state with no bonds yet. */
  public static NetworkState of(PeerVector stake, PeerMatrix weights) {
    return new NetworkState(stake, weights, PeerMatrix.zeros(stake.size()));
  }

  /** The number of peers. */
  public int size() {
    return stake.size();
  }

  /** A copy with the stake replaced. */
  public NetworkState withStake(PeerVector stake) {
    return new NetworkState(stake, weights, bonds);
  }

  /** A copy with the weights replaced. */
  public NetworkState withWeights(PeerMatrix weights) {
    return new NetworkState(stake, weights, bonds);
  }

  /** A copy with the bonds replaced. */
  public NetworkState withBonds(PeerMatrix bonds) {
    return new NetworkState(stake, weights, bonds);
  }
}
