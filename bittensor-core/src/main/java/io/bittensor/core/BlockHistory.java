package io.bittensor.core;

import java.util.Objects;
import java.util.function.Predicate;

/**
 * A ledger's sealed blocks, read back in order, each with its transactions, the epoch that ran
 * after it and the metagraph after it ({@link BlockRecord}): for followers that missed blocks,
 * indexers and explorers. {@link LocalLedger} reads its journal (and the archive of compacted
 * ones); {@code RemoteLedger} asks a ledger server, which reads its ledger's.
 *
 * <pre>{@code
 * BlockHistory history = LocalLedger.builder().openReadOnly(Path.of("ledger-data"));
 * history.readBlocks(1, Long.MAX_VALUE, r -> {
 *   System.out.println(r.block().number() + ": " + r.transactions().size() + " transactions");
 *   return true;
 * });
 * }</pre>
 *
 * <p>Implementations are thread-safe: reads may run at once, beside the ledger's writes.
 */
@Experimental
public interface BlockHistory {
  /**
   * Hands {@code visitor} blocks {@code from} to {@code to} in order, on the calling thread.
   *
   * @param from the first block wanted, {@code >= 1}
   * @param to the last block wanted; blocks past the latest durable one are not read
   * @param visitor takes each block in turn; false stops the read
   * @return the number of the last block the visitor took, or {@code from - 1} if none
   * @throws LedgerException if the blocks cannot be read (the history no longer holds them, or
   *     cannot be reached)
   * @throws IllegalArgumentException if {@code from < 1}
   * @throws IllegalStateException if the ledger is closed
   */
  long readBlocks(long from, long to, Predicate<BlockRecord> visitor) throws LedgerException;

  /**
   * Hands {@code visitor} blocks {@code from} to {@code to} in order with their transactions
   * only, without the state after each: for whoever replays them itself ({@link ChainAudit},
   * {@link AuditedLedger}). A {@link LocalLedger} reads them straight from its journal, with no
   * replay, so each costs a read and a decode however far the latest snapshot is; by default
   * they come from {@link #readBlocks}.
   *
   * @return the number of the last block the visitor took, or {@code from - 1} if none
   * @throws LedgerException as {@link #readBlocks}
   * @throws IllegalArgumentException if {@code from < 1}
   * @throws IllegalStateException if the ledger is closed
   */
  default long readBlockBodies(long from, long to, Predicate<BlockBody> visitor)
      throws LedgerException {
    Objects.requireNonNull(visitor, "visitor");
    return readBlocks(from, to, r -> visitor.test(new BlockBody(r.block(), r.transactions())));
  }

  /**
   * The chain's genesis block, encoded as the journal holds it (docs/ledger.md, "The journal
   * format"): the genesis, the mechanism and its parameters, and the time it was made. Its SHA-256
   * is the chain id, so with the id known beforehand it is the anchor {@link ChainAudit} replays
   * from.
   *
   * @throws LedgerException if it cannot be read
   * @throws IllegalStateException if the ledger is closed
   */
  byte[] genesisBlock() throws LedgerException;

  /**
   * Whether there are blocks to read back at all. False for a ledger that keeps none (a {@link
   * LocalLedger} in memory), whose {@link #readBlocks} always fails: a ledger server then sends
   * a client that fell behind the current state instead.
   */
  default boolean keepsBlocks() {
    return true;
  }

  /**
   * Checks {@link #readBlocks}' and {@link #readBlockBodies}' arguments, for implementations.
   *
   * @throws IllegalArgumentException if {@code from < 1}
   */
  static void checkArguments(long from, Predicate<?> visitor) {
    Objects.requireNonNull(visitor, "visitor");
    if (from < 1) {
      throw new IllegalArgumentException("from must be >= 1, was " + from);
    }
  }
}
