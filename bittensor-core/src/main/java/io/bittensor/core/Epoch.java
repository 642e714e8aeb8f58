package io.bittensor.core;

import java.util.Objects;
import java.util.Optional;

/**
 * What an epoch did on a ledger: the incentive mechanism ran on the peers' stake, weights and
 * bonds, and {@code minted} new tokens went to the peers' stake.
 *
 * <pre>{@code
 * Ledger ledger = LocalLedger.builder()...openInMemory();
 * ledger.subscribe(new LedgerListener() {
 *   public void onEpoch(Epoch epoch, Metagraph after) {
 *     epoch.skipped().ifPresentOrElse(
 *         why -> log.warn("epoch {} skipped: {}", epoch.number(), why),
 *         () -> log.info("epoch {} minted {}, loss {}", epoch.number(), epoch.minted(),
 *             epoch.loss()));
 *   }
 * });
 * }</pre>
 *
 * @param number 1 for the first epoch, then 2, ...
 * @param block the block after whose transactions it ran
 * @param peers the number of peers it scored
 * @param minted the tokens it created, {@code >= 0}: the mechanism's emission rounded to whole
 *     units (largest remainders, ties to the lower uid), so that exactly this many were added
 * @param loss the chain's loss {@code L}; positive means the consensus peg rose
 * @param minAllowedWeights the peg after the epoch
 * @param skipped why the mechanism did not run or its result was not applied (no peers, no
 *     stake, a mechanism that refused the state, an emission that is negative or would overflow),
 *     or empty when it ran; a skipped epoch mints nothing and changes nothing else
 */
public record Epoch(
    long number, long block, int peers, long minted, double loss, int minAllowedWeights,
    Optional<String> skipped) {
  /** Checks for nulls and ranges. */
  public Epoch {
    Objects.requireNonNull(skipped, "skipped");
    if (number < 1) {
      throw new IllegalArgumentException("number must be >= 1, was " + number);
    }
    if (minted < 0) {
      throw new IllegalArgumentException("minted must be >= 0, was " + minted);
    }
  }
}
