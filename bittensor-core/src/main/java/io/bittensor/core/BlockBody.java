package io.bittensor.core;

import java.util.List;
import java.util.Objects;

/**
 * A sealed block and its transactions, as the journal holds them: what {@link
 * BlockHistory#readBlockBodies} reads back, without the state after it. The block's hash covers
 * the transactions and the epoch's result, so whoever replays them from the block before can
 * check both, and compute the state for itself.
 *
 * @param block the block
 * @param transactions its transactions, in order
 */
@Experimental
public record BlockBody(Block block, List<SignedTransaction> transactions) {
  /** Checks for nulls and that the block counts the transactions given; copies the list. */
  public BlockBody {
    Objects.requireNonNull(block, "block");
    transactions = List.copyOf(transactions);
    if (transactions.size() != block.transactions()) {
      throw new IllegalArgumentException("block " + block.number() + " holds "
          + block.transactions() + " transactions, not " + transactions.size());
    }
  }
}
