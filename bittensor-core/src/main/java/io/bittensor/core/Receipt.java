package io.bittensor.core;

import java.util.Objects;

/**
 * Proof of acceptance: the transaction is in block {@code block} at position {@code index}, and
 * that block is durable (for {@link LocalLedger}, on disk and fsync'ed).
 *
 * <pre>{@code
 * Ledger ledger = LocalLedger.builder()...openInMemory();
 * SignedTransaction tx = ...;
 * Receipt r = ledger.submit(tx).join();
 * System.out.println(r.transaction().toShortHex() + " in block " + r.block());
 * }</pre>
 *
 * @param transaction the transaction's {@link SignedTransaction#hash()}
 * @param block the number of the block holding it, {@code >= 1}
 * @param index its position in that block, {@code >= 0}
 */
public record Receipt(Hash256 transaction, long block, int index) {
  /** Checks for nulls and ranges. */
  public Receipt {
    Objects.requireNonNull(transaction, "transaction");
    if (block < 1) {
      throw new IllegalArgumentException("block must be >= 1, was " + block);
    }
    if (index < 0) {
      throw new IllegalArgumentException("index must be >= 0, was " + index);
    }
  }
}
