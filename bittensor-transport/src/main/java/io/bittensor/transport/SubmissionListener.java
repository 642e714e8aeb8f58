package io.bittensor.transport;

import io.bittensor.core.Experimental;

/**
 * Hears each transaction a {@link LedgerServer} is sent, once the ledger decided: sealed it in a
 * block, or refused it, with the reason. For metrics of what a ledger's clients get wrong (a stale
 * nonce, too little stake, a row sent too soon) that only the clients would otherwise see. A
 * transaction the ledger failed to decide (it closed, or lost it) is not heard.
 *
 * <p>Runs on the thread that decided (the server's, or the ledger's as it seals a block), so it
 * must be fast, thread-safe and must not block; what it throws is ignored.
 */
@Experimental
@FunctionalInterface
public interface SubmissionListener {
  /** Hears nothing; the default. */
  SubmissionListener NONE = submission -> { };

  /** The ledger sealed or refused a transaction. */
  void submitted(SubmissionEvent submission);
}
