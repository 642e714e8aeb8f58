package io.bittensor.transport;

import io.bittensor.core.Experimental;
import io.bittensor.core.RejectReason;
import io.bittensor.core.SignedTransaction;
import java.util.Objects;
import java.util.Optional;

/**
 * One transaction sent to a {@link LedgerServer}, as a {@link SubmissionListener} hears it.
 *
 * @param transaction what was sent; empty when it did not decode (then refused as MALFORMED)
 * @param refused empty when the ledger sealed it in a block, else why it refused it
 */
@Experimental
public record SubmissionEvent(Optional<SignedTransaction> transaction,
    Optional<RejectReason> refused) {
  /** Checks that no component is null, and that a transaction that did not decode is refused. */
  public SubmissionEvent {
    Objects.requireNonNull(transaction, "transaction");
    Objects.requireNonNull(refused, "refused");
    if (transaction.isEmpty() && refused.isEmpty()) {
      throw new IllegalArgumentException("a transaction that did not decode is refused");
    }
  }

  /** Whether the ledger sealed it. */
  public boolean sealed() {
    return refused.isEmpty();
  }
}
