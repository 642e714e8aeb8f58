package io.bittensor.core;

import java.util.Objects;

/**
 * A ledger refused a transaction: the {@link RejectReason} and a message naming the value at
 * fault. Nothing changed. The future of {@link Ledger#submit} completes with it.
 *
 * <pre>{@code
 * Ledger ledger = LocalLedger.builder()...openInMemory();
 * SignedTransaction tx = ...;
 * ledger.submit(tx).whenComplete((receipt, error) -> {
 *   if (error instanceof TransactionRejectedException r) {
 *     log.warn("{} rejected: {} {}", tx.hash(), r.reason(), r.getMessage());
 *   }
 * });
 * }</pre>
 *
 * <p>Immutable once thrown.
 */
public final class TransactionRejectedException extends LedgerException {
  private static final long serialVersionUID = 1L;

  private final RejectReason reason;
  private final String detail;

  /**
   * A rejection.
   *
   * @param reason why
   * @param detail what was wrong, naming the value (e.g. {@code "weights[2] is -0.5"})
   */
  public TransactionRejectedException(RejectReason reason, String detail) {
    super(reason + ": " + Objects.requireNonNull(detail, "detail"));
    this.reason = Objects.requireNonNull(reason, "reason");
    this.detail = detail;
  }

  /** Why the transaction was refused. */
  public RejectReason reason() {
    return reason;
  }

  /** What was wrong, without the reason's name. */
  public String detail() {
    return detail;
  }

  /** True when the same transaction may be accepted later unchanged. */
  public boolean retryable() {
    return reason.retryable();
  }
}
