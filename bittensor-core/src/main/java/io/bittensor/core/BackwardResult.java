package io.bittensor.core;

import java.util.Objects;

/**
 * A peer's acknowledgement of a {@link BackwardRequest}: the status, the request field at fault
 * (if any) and a message. A peer that does not learn answers {@link Status#NOT_IMPLEMENTED}.
 *
 * <pre>{@code
 * Peer peer = ...;
 * BackwardRequest request = ...;   // the input and dLoss/dy of an earlier forward
 * BackwardResult r = peer.backward(request).join();
 * if (!r.isSuccess()) {
 *   log.debug("gradient not taken: {}", r);
 * }
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 *
 * @param status the outcome
 * @param field the request field at fault, or empty
 * @param message empty on success; otherwise what went wrong
 */
public record BackwardResult(Status status, String field, String message) {
  /** Refuses nulls. */
  public BackwardResult {
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(field, "field");
    Objects.requireNonNull(message, "message");
  }

  private static final BackwardResult SUCCESS = new BackwardResult(Status.SUCCESS, "", "");

  /** The gradient was taken. */
  public static BackwardResult success() {
    return SUCCESS;
  }

  /** A failed call with no particular field at fault. */
  public static BackwardResult failure(Status status, String message) {
    return new BackwardResult(status, "", message);
  }

  /** A failed call, for the reason given. */
  public static BackwardResult rejected(Rejection why) {
    return new BackwardResult(why.status(), why.field(), why.message());
  }

  /** True when the status is {@link Status#SUCCESS}. */
  public boolean isSuccess() {
    return status.isSuccess();
  }
}
