package io.bittensor.core;

/**
 * Hears of a ledger's new blocks and epochs, in order. Subscribe with {@link
 * Ledger#subscribe}; every method has an empty default, so override only what you need.
 *
 * <pre>{@code
 * Ledger ledger = LocalLedger.builder()...openInMemory();
 * Ledger.Subscription s = ledger.subscribe(new LedgerListener() {
 *   public void onEpoch(Epoch epoch, Metagraph after) {
 *     chart.add(epoch.number(), after.incentive());
 *   }
 * });
 * ...
 * s.close();
 * }</pre>
 *
 * <p><b>Threads.</b> For {@link LocalLedger}, callbacks run on the thread that sealed the block
 * (the block timer's thread, or the caller of {@link LocalLedger#produceBlock()}), after the
 * block is durable and after the futures of its transactions completed, one at a time and in
 * block order. Keep them fast and non-throwing: a slow callback delays the next block; an
 * exception is caught and dropped. Hand heavy work to an executor of your own.
 */
public interface LedgerListener {
  /** A listener that does nothing. */
  LedgerListener NONE = new LedgerListener() {};

  /**
   * A block is durable.
   *
   * @param block the block
   * @param after the metagraph as of that block (after its epoch, if it had one)
   */
  default void onBlock(Block block, Metagraph after) {}

  /**
   * An epoch ran (or was skipped, see {@link Epoch#skipped()}); called before {@link #onBlock}
   * for the same block.
   *
   * @param epoch what it did
   * @param after the metagraph as of the block it ran after
   */
  default void onEpoch(Epoch epoch, Metagraph after) {}
}
