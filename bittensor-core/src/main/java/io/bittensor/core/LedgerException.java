package io.bittensor.core;

import java.io.IOException;

/**
 * A ledger operation failed: its journal could not be read or written, its files are corrupt,
 * or (for a remote ledger) the server could not be reached. Subclasses say more.
 *
 * <pre>{@code
 * Path dir = Path.of("ledger-data");
 * try (LocalLedger ledger = LocalLedger.builder().open(dir)) {
 *   ...
 * } catch (LedgerException e) {
 *   log.error("ledger at {} unusable: {}", dir, e.getMessage());
 * }
 * }</pre>
 *
 * <p>Immutable once thrown.
 */
public class LedgerException extends IOException {
  private static final long serialVersionUID = 1L;

  /**
   * A failure with a message and the underlying exception.
   *
   * @param message what failed, naming the file, block or transaction
   * @param cause the underlying exception, or null
   */
  public LedgerException(String message, Throwable cause) {
    super(message, cause);
  }

  /** A failure with a message only. */
  public LedgerException(String message) {
    super(message);
  }
}
