package io.bittensor.incentive;

import java.util.Objects;

/**
 * What one epoch of a {@link PaperSimulation} computed: everything in {@link EpochResult} but the
 * bonds, which the simulation keeps (and updates in place); {@link PaperSimulation#bonds()} copies
 * them when wanted.
 *
 * @param ranks {@code R = W^T s}
 * @param trust {@code t = T^T s}
 * @param consensus {@code C = sigmoid(rho (t - kappa))}
 * @param incentive {@code I = R*C / sum(R*C)}
 * @param dividends {@code beta I}
 * @param emission the stake minted to each peer
 * @param stake the stake after the epoch
 * @param loss {@code L = -R . (C - 0.5)}
 */
public record EpochSummary(
    PeerVector ranks,
    PeerVector trust,
    PeerVector consensus,
    PeerVector incentive,
    PeerVector dividends,
    PeerVector emission,
    PeerVector stake,
    double loss) {

  /** Checks that every part is present and of one size. */
  public EpochSummary {
    int n = Objects.requireNonNull(stake, "stake").size();
    for (PeerVector v :
        new PeerVector[] {ranks, trust, consensus, incentive, dividends, emission}) {
      if (Objects.requireNonNull(v, "vector").size() != n) {
        throw new IllegalArgumentException("all vectors must have " + n + " entries");
      }
    }
  }

  /** The number of peers. */
  public int size() {
    return stake.size();
  }

  /** The total stake minted this epoch: the sum of {@link #emission()}. */
  public double minted() {
    return emission.sum();
  }
}
