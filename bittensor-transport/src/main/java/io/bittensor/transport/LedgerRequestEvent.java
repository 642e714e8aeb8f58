package io.bittensor.transport;

import io.bittensor.core.Experimental;
import io.bittensor.core.PeerId;
import io.bittensor.core.Status;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * One request a {@link LedgerServer} answered, refused or turned away, as a
 * {@link LedgerRequestListener} hears it once it is over.
 *
 * @param operation what the request asked for ({@link Operation#OTHER} for a path the server
 *     does not serve)
 * @param peer the caller the request names (its signed caller block's key), whether or not its
 *     signature proved it; empty for an unsigned request, or one refused before it was read
 * @param verifiedCaller the caller whose signature the server checked: the one to count or audit
 *     by, since a request can name anyone. Empty for unsigned requests, and for requests refused
 *     before their signature checked or because it did not
 * @param status what the server answered: {@link Status#SUCCESS} also for a submitted
 *     transaction the ledger refused (the request was served; {@link SubmissionListener} hears
 *     the verdict), and for an event stream that ended
 * @param duration from the request's arrival to its answer written; for an event stream, its
 *     whole life
 * @param bytesSent the body's bytes sent (an event stream's, all of them)
 * @param clientCertificate the certificate the caller showed over mutual TLS, if any
 */
@Experimental
public record LedgerRequestEvent(Operation operation, Optional<PeerId> peer,
    Optional<PeerId> verifiedCaller, Status status, Duration duration, long bytesSent,
    Optional<X509Certificate> clientCertificate) {
  /** What a request to a ledger server asks for: the path under {@code /v1/ledger/}. */
  public enum Operation {
    /** A transaction. */
    SUBMIT,
    /** Many transactions. */
    SUBMIT_ALL,
    /** An account. */
    ACCOUNT,
    /** The latest metagraph. */
    METAGRAPH,
    /** The event stream. */
    EVENTS,
    /** A page of sealed blocks. */
    BLOCKS,
    /** The genesis block. */
    GENESIS,
    /** A path the server does not serve. */
    OTHER
  }

  /** Checks that no component is null and that the bytes and the duration are not negative. */
  public LedgerRequestEvent {
    Objects.requireNonNull(operation, "operation");
    Objects.requireNonNull(peer, "peer");
    Objects.requireNonNull(verifiedCaller, "verifiedCaller");
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(duration, "duration");
    Objects.requireNonNull(clientCertificate, "clientCertificate");
    if (duration.isNegative()) {
      throw new IllegalArgumentException("duration must be >= 0, was " + duration);
    }
    if (bytesSent < 0) {
      throw new IllegalArgumentException("bytesSent must be >= 0, was " + bytesSent);
    }
  }
}
