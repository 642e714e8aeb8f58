package io.bittensor.core;

import java.io.IOException;
import java.util.Objects;

/**
 * A call to a peer failed: it carries the peer, the {@link Status} and with it the retry hint.
 *
 * <pre>{@code
 * ForwardResult result = ...;
 * try {
 *   Tensor y = PeerException.outputOrThrow("http://10.0.0.7:8091", result);
 * } catch (PeerException e) {
 *   if (e.retryable()) retryLater(e.peer());
 * }
 * }</pre>
 *
 * <p>Immutable once thrown.
 */
public class PeerException extends IOException {
  private static final long serialVersionUID = 1L;

  private final String peer;
  private final Status status;

  /**
   * A failure of {@code peer} with the given status.
   *
   * @param peer the endpoint or id of the peer, for messages and retries
   * @param status the outcome; not SUCCESS
   * @param message what went wrong
   * @param cause the underlying exception, or null
   */
  public PeerException(String peer, Status status, String message, Throwable cause) {
    super(peer + ": " + status + ": " + message, cause);
    this.peer = Objects.requireNonNull(peer, "peer");
    this.status = Objects.requireNonNull(status, "status");
    if (status.isSuccess()) {
      throw new IllegalArgumentException("a PeerException needs a failure status, was SUCCESS");
    }
  }

  /**
   * The output of a successful result.
   *
   * @param peer names the peer in the exception
   * @throws PeerException carrying the result's status and message unless it succeeded
   */
  public static Tensor outputOrThrow(String peer, ForwardResult result) throws PeerException {
    if (result.isSuccess()) {
      return result.output().orElseThrow();
    }
    String where = result.field().isEmpty() ? "" : result.field() + ": ";
    throw new PeerException(peer, result.status(), where + result.message(), null);
  }

  /** The endpoint or id of the peer that failed. */
  public String peer() {
    return peer;
  }

  /** The outcome. */
  public Status status() {
    return status;
  }

  /** The retry hint: true when the same call may succeed later unchanged. */
  public boolean retryable() {
    return status.retryable();
  }
}
