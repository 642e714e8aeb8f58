package io.bittensor.core;

import java.time.Instant;
import java.util.Objects;

/**
 * A sealed block: its number, its hash and its parent's (the chain), when it was sealed, how
 * many transactions it holds and whether an epoch ran after it.
 *
 * <pre>{@code
 * Ledger ledger = LocalLedger.builder()...openInMemory();
 * ledger.subscribe(new LedgerListener() {
 *   public void onBlock(Block block, Metagraph after) {
 *     log.info("block {} {} with {} transactions", block.number(), block.hash().toShortHex(),
 *         block.transactions());
 *   }
 * });
 * }</pre>
 *
 * @param number 0 for the genesis block, then 1, 2, ...
 * @param hash the SHA-256 of the block's encoding, which includes {@code parent}
 * @param parent the previous block's hash ({@link Hash256#ZERO} for the genesis block)
 * @param timestamp when it was sealed, by the ledger's clock (to the millisecond)
 * @param transactions the number of transactions in it, {@code >= 0}
 * @param epoch true when its number is a multiple of the epoch length, so an epoch ran after
 *     its transactions
 */
public record Block(
    long number, Hash256 hash, Hash256 parent, Instant timestamp, int transactions,
    boolean epoch) {
  /** Checks for nulls and ranges. */
  public Block {
    Objects.requireNonNull(hash, "hash");
    Objects.requireNonNull(parent, "parent");
    Objects.requireNonNull(timestamp, "timestamp");
    if (number < 0) {
      throw new IllegalArgumentException("number must be >= 0, was " + number);
    }
    if (transactions < 0) {
      throw new IllegalArgumentException("transactions must be >= 0, was " + transactions);
    }
  }
}
