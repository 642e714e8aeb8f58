package io.bittensor.transport;

import io.bittensor.core.Experimental;
import io.bittensor.core.PeerId;
import io.bittensor.core.Receipt;
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
 * @param receipt where the ledger sealed it (block and position); empty unless sealed
 * @param caller who sent it to the server: the key whose signature on the request the server
 *     checked, which need not be the transaction's signer (a relay, a wallet service); empty for
 *     an unsigned request, which a server built with {@code allowAnonymous} accepts
 * @param detail the ledger's words on a refusal (the nonce it expected, the stake it lacked,
 *     why the bytes did not decode); empty unless refused
 */
@Experimental
public record SubmissionEvent(Optional<SignedTransaction> transaction,
    Optional<RejectReason> refused, Optional<String> failure, Optional<Receipt> receipt,
    Optional<PeerId> caller, Optional<String> detail) {
  /**
   * Checks that no component is null, that a transaction that did not decode is refused, that
   * one was not both refused and failed, that only a sealed one has a receipt (its own), and
   * that only a refused one has a refusal's detail.
   */
  public SubmissionEvent {
    Objects.requireNonNull(transaction, "transaction");
    Objects.requireNonNull(refused, "refused");
    Objects.requireNonNull(failure, "failure");
    Objects.requireNonNull(receipt, "receipt");
    Objects.requireNonNull(caller, "caller");
    Objects.requireNonNull(detail, "detail");
    if (transaction.isEmpty() && refused.isEmpty()) {
      throw new IllegalArgumentException("a transaction that did not decode is refused");
    }
    if (refused.isPresent() && failure.isPresent()) {
      throw new IllegalArgumentException("a transaction is refused or failed, not both");
    }
    if (receipt.isPresent() && (refused.isPresent() || failure.isPresent())) {
      throw new IllegalArgumentException("only a sealed transaction has a receipt");
    }
    if (receipt.isPresent() && !receipt.get().transaction().equals(transaction.get().hash())) {
      throw new IllegalArgumentException("the receipt of " + receipt.get().transaction()
          + " is not that of " + transaction.get().hash());
    }
    if (detail.isPresent() && refused.isEmpty()) {
      throw new IllegalArgumentException("only a refused transaction has a refusal's detail");
    }
  }

  /** Sealed, refused or failed, without the receipt, the caller or a refusal's detail. */
  public SubmissionEvent(Optional<SignedTransaction> transaction, Optional<RejectReason> refused,
      Optional<String> failure) {
    this(transaction, refused, failure, Optional.empty(), Optional.empty(), Optional.empty());
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
