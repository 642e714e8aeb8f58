package io.bittensor.core;

import java.time.Duration;
import java.util.Objects;

/**
 * When a {@link LocalLedger} seals blocks: on a timer, or only when asked
 * ({@link LocalLedger#produceBlock()}), for tests and simulations that want every block where
 * they put it.
 *
 * <pre>{@code
 * LocalLedger.builder().blocks(BlockPolicy.every(Duration.ofSeconds(1)))...   // a live ledger
 * LocalLedger.builder().blocks(BlockPolicy.manual())...                        // a simulation
 * }</pre>
 *
 * <p>Transactions are acknowledged when the block holding them is durable, so the interval is
 * also the longest a submitter waits (plus one fsync). Every block takes one fsync, whatever it
 * holds: all the transactions that arrived during the interval share it (group commit).
 *
 * <p>Immutable and thread-safe.
 */
public sealed interface BlockPolicy {

  /** Seals a block only on {@link LocalLedger#produceBlock()}. */
  static BlockPolicy manual() {
    return Manual.INSTANCE;
  }

  /**
   * Seals a block every {@code interval}, empty or not.
   *
   * @throws IllegalArgumentException unless {@code interval} is at least one millisecond
   */
  static BlockPolicy every(Duration interval) {
    return new Every(interval);
  }

  /** Blocks on demand only. */
  enum Manual implements BlockPolicy {
    /** The one instance. */
    INSTANCE
  }

  /**
   * Blocks on a timer.
   *
   * @param interval at least one millisecond
   */
  record Every(Duration interval) implements BlockPolicy {
    /** Checks the interval. */
    public Every {
      Objects.requireNonNull(interval, "interval");
      if (interval.compareTo(Duration.ofMillis(1)) < 0) { // toMillis() overflows past 292 My
        throw new IllegalArgumentException(
            "the block interval must be at least 1 ms, was " + interval);
      }
    }
  }
}
