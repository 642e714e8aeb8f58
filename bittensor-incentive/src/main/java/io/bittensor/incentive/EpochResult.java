package io.bittensor.incentive;

import java.util.Objects;

/**
 * What one epoch of an {@link IncentiveMechanism} computed. For the paper's mechanism (see
 * {@link PaperMechanism} for the formulas):
 *
 * @param ranks {@code R = W^T s}: the stake-weighted votes each peer received
 * @param trust {@code t = T^T s}: the share of stake with an edge to each peer
 * @param consensus {@code C = sigmoid(rho (t - kappa))}
 * @param incentive {@code I = R*C / sum(R*C)}; all zero when that sum is zero
 * @param dividends {@code beta I}: each peer's share, through its bonds, of the others' incentive
 * @param bonds the bonds after the epoch, {@code B' = B + diag(s) W}
 * @param emission the stake minted to each peer; sums to the epoch's {@code tau} whenever any
 *     incentive is non-zero, and is all zero otherwise
 * @param stake the stake after the epoch, {@code S + emission}
 * @param loss {@code L = -R . (C - 0.5)}: negative when most rank flows to peers with consensus
 */
public record EpochResult(
    PeerVector ranks,
    PeerVector trust,
    PeerVector consensus,
    PeerVector incentive,
    PeerVector dividends,
    PeerMatrix bonds,
    PeerVector emission,
    PeerVector stake,
    double loss) {

  /** Checks that every part is present and of one size. */
  public EpochResult {
    int n = Objects.requireNonNull(stake, "stake").size();
    for (PeerVector v :
        new PeerVector[] {ranks, trust, consensus, incentive, dividends, emission}) {
      Objects.requireNonNull(v, "vector");
      if (v.size() != n) {
        throw new IllegalArgumentException("all vectors must have " + n + " entries");
      }
    }
    if (Objects.requireNonNull(bonds, "bonds").size() != n) {
      throw new IllegalArgumentException("bonds must be " + n + " x " + n);
    }
    if (!Double.isFinite(loss)) {
      throw new IllegalArgumentException("loss must be finite, was " + loss);
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
