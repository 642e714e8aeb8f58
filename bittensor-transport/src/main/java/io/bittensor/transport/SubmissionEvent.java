package io.bittensor.transport;

import io.bittensor.core.Experimental;
import io.bittensor.core.RejectReason;
import io.bittensor.core.SignedTransaction;
import java.util.Objects;
import java.util.Optional;

/**
 * One transaction sent to a {@link LedgerServer}, as a {@link SubmissionListener} hears it: sealed,
 * refused, or failed.
 *
 * @param transaction what was sent; empty when it did not decode (then refused as MALFORMED)
 * @param refused the ledger's verdict against it; empty when it was sealed in a block or failed
 * @param failure why the ledger decided nothing (it closed with the transaction in its pool, a
 *     write failed, a replicated ledger lost it); empty when it was sealed or refused. Not a
 *     verdict: the transaction may be valid, and its sender may send it again
 */
@Experimental
public record SubmissionEvent(Optional<SignedTransaction> transaction,
    Optional<RejectReason> refused, Optional<String> failure) {
  /**
   * Checks that no component is null, that a transaction that did not decode is refused, and that
   * one was not both refused and failed.
   */
  public SubmissionEvent {
    Objects.requireNonNull(transaction, "transaction");
    Objects.requireNonNull(refused, "refused");
    Objects.requireNonNull(failure, "failure");
    if (transaction.isEmpty() && refused.isEmpty()) {
      throw new IllegalArgumentException("a transaction that did not decode is refused");
    }
    if (refused.isPresent() && failure.isPresent()) {
      throw new IllegalArgumentException("a transaction is refused or failed, not both");
    }
  }

  /** A transaction the ledger sealed ({@code refused} empty) or refused: no failure. */
  public SubmissionEvent(Optional<SignedTransaction> transaction, Optional<RejectReason> refused) {
    this(transaction, refused, Optional.empty());
  }

  /** Whether the ledger sealed it. */
  public boolean sealed() {
    return refused.isEmpty() && failure.isEmpty();
  }

  /** Whether the ledger failed to decide it ({@link #failure()}). */
  public boolean failed() {
    return failure.isPresent();
  }
}
