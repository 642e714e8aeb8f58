package io.bittensor.transport;

import io.bittensor.core.Experimental;
import java.util.Objects;

/**
 * Hears each request a {@link LedgerServer} answered, refused or turned away, once it is over:
 * an event stream when it ends. For access logs and metrics of who reads the ledger, how often
 * and how much: the operation, the caller, the status, the time and the bytes are in the
 * {@link LedgerRequestEvent}. What became of a submitted transaction is a
 * {@link SubmissionListener}'s.
 *
 * <p>Runs on the server's threads, so it must be fast, thread-safe and must not block; what it
 * throws is ignored.
 */
@Experimental
@FunctionalInterface
public interface LedgerRequestListener {
  /** Hears nothing; the default. */
  LedgerRequestListener NONE = request -> { };

  /** A request is over. */
  void requestEnd(LedgerRequestEvent request);

  /**
   * A listener that tells this one and then {@code next} every request: metrics and an access
   * log, say. Each is on its own: what this one throws does not keep {@code next} from hearing.
   */
  default LedgerRequestListener andThen(LedgerRequestListener next) {
    Objects.requireNonNull(next, "next");
    if (next == NONE) {
      return this;
    }
    if (this == NONE) {
      return next;
    }
    LedgerRequestListener first = this;
    return request -> {
      try {
        first.requestEnd(request);
      } catch (RuntimeException | Error ignored) { // an Error too: a class missing, say
        // A listener must not throw; one that does must not silence the next.
      }
      next.requestEnd(request);
    };
  }
}
