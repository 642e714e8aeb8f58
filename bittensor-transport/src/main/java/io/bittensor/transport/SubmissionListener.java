package io.bittensor.transport;

import io.bittensor.core.Experimental;
import java.util.Objects;

/**
 * Hears each transaction a {@link LedgerServer} is sent, once: when the ledger sealed it in a
 * block, refused it (with the reason), or failed to decide it (it closed with the transaction in
 * its pool, a write failed; {@link SubmissionEvent#failure()}). For metrics of what a ledger's
 * clients get wrong (a stale nonce, too little stake, a row sent too soon) that only the clients
 * would otherwise see, and of what the ledger itself lost.
 *
 * <p>Runs on the thread that decided (the server's, or the ledger's as it seals a block), so it
 * must be fast, thread-safe and must not block; what it throws is ignored.
 */
@Experimental
@FunctionalInterface
public interface SubmissionListener {
  /** Hears nothing; the default. */
  SubmissionListener NONE = submission -> { };

  /** The ledger sealed, refused or failed a transaction. */
  void submitted(SubmissionEvent submission);

  /**
   * A listener that tells this one and then {@code next} every transaction: metrics and a log,
   * say. Each is on its own: what this one throws does not keep {@code next} from hearing it.
   */
  @Experimental
  default SubmissionListener andThen(SubmissionListener next) {
    Objects.requireNonNull(next, "next");
    if (next == NONE) {
      return this;
    }
    if (this == NONE) {
      return next;
    }
    SubmissionListener first = this;
    return submission -> {
      try {
        first.submitted(submission);
      } catch (RuntimeException | Error ignored) { // an Error too: a class missing, say
        // A listener must not throw; one that does must not silence the next.
      }
      next.submitted(submission);
    };
  }
}
