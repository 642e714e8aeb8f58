package io.bittensor.core;

import java.util.Objects;

/**
 * Why a request or an answer was refused: a status, the field at fault and a message for people.
 *
 * <pre>{@code
 * TensorStandard standard = TensorStandard.of(64);
 * Tensor input = Tensor.ofLongs(new long[] {101, 2023, 102}, 1, 3);   // token ids
 * Optional<Rejection> r = standard.checkInput(Modality.TEXT, input);
 * r.ifPresent(x -> log.warn("{} {}: {}", x.status(), x.field(), x.message()));
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 *
 * @param status never {@link Status#SUCCESS}
 * @param field the request field at fault in the wire format's naming (e.g. {@code
 *     "input.shape"}), or empty when no single field is
 * @param message what was wrong and what was expected
 */
public record Rejection(Status status, String field, String message) {
  /** Checks that the status is a failure; nulls are refused. */
  public Rejection {
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(field, "field");
    Objects.requireNonNull(message, "message");
    if (status.isSuccess()) {
      throw new IllegalArgumentException("a rejection needs a failure status, was SUCCESS");
    }
  }

  /** A {@link Status#BAD_REQUEST} naming {@code field}. */
  public static Rejection badRequest(String field, String message) {
    return new Rejection(Status.BAD_REQUEST, field, message);
  }

  /** A rejection with no particular field. */
  public static Rejection of(Status status, String message) {
    return new Rejection(status, "", message);
  }

  /** E.g. {@code BAD_REQUEST input.dtype: TEXT takes INT64, was FLOAT32}. */
  @Override
  public String toString() {
    return status + (field.isEmpty() ? "" : " " + field) + ": " + message;
  }
}
