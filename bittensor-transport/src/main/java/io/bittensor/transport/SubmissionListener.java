package io.bittensor.transport;

import io.bittensor.core.Experimental;

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
}
