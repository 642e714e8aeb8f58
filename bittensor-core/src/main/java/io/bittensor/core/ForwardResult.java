package io.bittensor.core;

import java.util.Objects;
import java.util.Optional;

/**
 * A peer's answer to a {@link ForwardRequest}: on success the output tensor, otherwise the
 * status, the request field at fault (if any) and a message.
 *
 * <pre>{@code
 * Peer peer = ...;
 * ForwardRequest request = ...;
 * TensorStandard standard = TensorStandard.of(64);
 * ForwardResult r = peer.forward(request).join();
 * Tensor y = r.isSuccess() ? r.output().orElseThrow() : standard.zeros(request.input());
 * }</pre>
 *
 * <p>{@code r.output().orElseThrow()} on a failed call throws "No value present", which loses
 * the status and message; where a failure should throw, {@link PeerException#outputOrThrow}
 * throws one that carries them: {@code Tensor y = PeerException.outputOrThrow("bob", r);}.
 *
 * <p>Immutable and thread-safe.
 *
 * @param status the outcome
 * @param output present exactly when the status is {@link Status#SUCCESS}
 * @param field the request field at fault, or empty
 * @param message empty on success; otherwise what went wrong
 */
public record ForwardResult(Status status, Optional<Tensor> output, String field, String message) {
  /** Checks that an output is present exactly on success. */
  public ForwardResult {
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(output, "output");
    Objects.requireNonNull(field, "field");
    Objects.requireNonNull(message, "message");
    if (status.isSuccess() != output.isPresent()) {
      throw new IllegalArgumentException(
          "an output must be present exactly on SUCCESS; status " + status
              + (output.isPresent() ? " with" : " without") + " an output");
    }
  }

  /** A successful answer. */
  public static ForwardResult success(Tensor output) {
    return new ForwardResult(Status.SUCCESS, Optional.of(output), "", "");
  }

  /**
   * A failed call with no particular field at fault.
   *
   * @throws IllegalArgumentException if {@code status} is SUCCESS
   */
  public static ForwardResult failure(Status status, String message) {
    return new ForwardResult(status, Optional.empty(), "", message);
  }

  /** A failed call, for the reason given. */
  public static ForwardResult rejected(Rejection why) {
    return new ForwardResult(why.status(), Optional.empty(), why.field(), why.message());
  }

  /** True when the status is {@link Status#SUCCESS}. */
  public boolean isSuccess() {
    return status.isSuccess();
  }
}
