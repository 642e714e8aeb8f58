package io.bittensor.core;

import java.util.Objects;

/**
 * One peer's row of a {@link Metagraph}: who it is, its stake, when it registered and last set
 * weights, and what the last epoch that ran (not skipped) said of it.
 *
 * <pre>{@code
 * Ledger ledger = LocalLedger.builder()...openInMemory();
 * for (PeerState p : ledger.metagraph().peers()) {
 *   System.out.printf("%d %s stake %d incentive %.4f%n", p.uid(), p.info().endpoint(),
 *       p.stake(), p.incentive());
 * }
 * }</pre>
 *
 * @param uid its index in every vector and matrix of the metagraph
 * @param info its key, endpoint, modality and protocol version
 * @param stake tokens staked on it
 * @param registeredAt the block it registered in
 * @param lastUpdate the block it last set weights in, or -1 if never
 * @param rank its rank in the last epoch (0 before its first epoch)
 * @param trust its trust in the last epoch
 * @param consensus its consensus in the last epoch
 * @param incentive its incentive in the last epoch
 * @param dividends its dividends (bond share of others' incentive) in the last epoch
 * @param emission the tokens it was minted in the last epoch that ran (not skipped): its
 *     pruning score
 */
public record PeerState(
    int uid, PeerInfo info, long stake, long registeredAt, long lastUpdate, double rank,
    double trust, double consensus, double incentive, double dividends, long emission) {
  /** Checks for nulls and ranges. */
  public PeerState {
    Objects.requireNonNull(info, "info");
    if (uid < 0) {
      throw new IllegalArgumentException("uid must be >= 0, was " + uid);
    }
    if (stake < 0) {
      throw new IllegalArgumentException("stake must be >= 0, was " + stake);
    }
  }

  /** The peer's key. */
  public PeerId id() {
    return info.id();
  }
}
