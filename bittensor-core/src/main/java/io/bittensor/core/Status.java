package io.bittensor.core;

import java.util.Optional;

/**
 * The outcome of a call to a {@link Peer}, with a stable numeric code that travels on the wire.
 *
 * <p>Codes never change meaning and are never reused; new outcomes get new codes. A code this
 * version does not know (sent by a newer peer) is read as {@link #INTERNAL_ERROR} by callers,
 * with the number kept in the message.
 *
 * <pre>{@code
 * Peer peer = ...;
 * ForwardRequest request = ...;
 * ForwardResult r = peer.forward(request).join();
 * if (r.status() == Status.BACKOFF && r.status().retryable()) {
 *   // try again later, or another peer
 * }
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public enum Status {
  /** The peer answered, and the answer meets the tensor standard. */
  SUCCESS(0, false),
  /** No answer within the deadline (the caller's, or the server's own limit). */
  TIMEOUT(1, true),
  /** The peer could not be reached: connection refused or reset, the server shutting down. */
  UNAVAILABLE(2, true),
  /** The peer is overloaded and turned the request away; try later or elsewhere. */
  BACKOFF(3, true),
  /** The request is malformed; the result names the field at fault. */
  BAD_REQUEST(4, false),
  /** A tensor's shape breaks the standard or does not match its data (request or answer). */
  BAD_SHAPE(5, false),
  /** The request's signature does not verify against the caller's public key. */
  BAD_SIGNATURE(6, false),
  /** The request's timestamp lies outside the server's window (clocks apart, or a delay). */
  STALE(7, false),
  /** The request's nonce was seen before from the same caller. */
  REPLAYED(8, false),
  /** The peer does not serve the request's modality (or does not know its code). */
  UNKNOWN_MODALITY(9, false),
  /** The request exceeds the server's maximum payload size. */
  PAYLOAD_TOO_LARGE(10, false),
  /** The peer does not implement the call (e.g. it does not learn from gradients). */
  NOT_IMPLEMENTED(11, false),
  /** The peer failed while answering; a bug or a resource problem on its side. */
  INTERNAL_ERROR(12, true),
  /** The request is unsigned and the server does not admit anonymous callers. */
  UNAUTHENTICATED(13, false),
  /** The request's protocol version is one the server does not speak. */
  UNSUPPORTED_VERSION(14, false),
  /** The caller cancelled the call before it completed. */
  CANCELLED(15, false),
  /** The peer's answer could not be decoded. */
  BAD_RESPONSE(16, true);

  private final int code;
  private final boolean retryable;

  Status(int code, boolean retryable) {
    this.code = code;
    this.retryable = retryable;
  }

  /** The stable number of this outcome on the wire. */
  public int code() {
    return code;
  }

  /**
   * The retry hint: true when the same request may succeed later unchanged (timeout,
   * unavailable, backoff, internal error, bad response); false when it must change first.
   */
  public boolean retryable() {
    return retryable;
  }

  /** True for {@link #SUCCESS}. */
  public boolean isSuccess() {
    return this == SUCCESS;
  }

  /**
   * The outcome with the given wire code.
   *
   * @return empty for a code this version does not know
   */
  public static Optional<Status> ofCode(int code) {
    Status[] all = values();
    // Codes are the ordinals; the check keeps that an implementation detail.
    if (code >= 0 && code < all.length && all[code].code == code) {
      return Optional.of(all[code]);
    }
    return Optional.empty();
  }
}
