package io.bittensor.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One sealed block as a ledger's journal holds it, read back by {@link LocalLedger#readBlocks}:
 * the block, its transactions in order, the epoch that ran after them (if one was due) and the
 * metagraph after it all, the same as a {@link LedgerListener} heard when it was sealed.
 *
 * <p>Immutable, thread-safe.
 *
 * @param block the block
 * @param transactions its transactions, in the order they were applied
 * @param epoch the epoch that ran after the block's transactions, if one did
 * @param after the metagraph after the block
 */
@Experimental
public record BlockRecord(Block block, List<SignedTransaction> transactions,
    Optional<Epoch> epoch, Metagraph after) {
  /** Checks for nulls and that the block and the rest agree; copies the list. */
  public BlockRecord {
    Objects.requireNonNull(block, "block");
    transactions = List.copyOf(transactions);
    Objects.requireNonNull(epoch, "epoch");
    Objects.requireNonNull(after, "after");
    if (transactions.size() != block.transactions()) {
      throw new IllegalArgumentException("block " + block.number() + " holds "
          + block.transactions() + " transactions, not " + transactions.size());
    }
    if (epoch.isPresent() != block.epoch()) {
      throw new IllegalArgumentException("block " + block.number()
          + (block.epoch() ? " ran an epoch, but none is given" : " ran no epoch"));
    }
    if (after.block().number() != block.number()) {
      throw new IllegalArgumentException("the metagraph is at block "
          + after.block().number() + ", not " + block.number());
    }
  }

  /** Each transaction's receipt, in block order. */
  public List<Receipt> receipts() {
    List<Receipt> receipts = new ArrayList<>(transactions.size());
    for (int i = 0; i < transactions.size(); i++) {
      receipts.add(new Receipt(transactions.get(i).hash(), block.number(), i));
    }
    return receipts;
  }
}
