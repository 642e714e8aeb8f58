package io.bittensor.transport.internal;

import com.google.protobuf.InvalidProtocolBufferException;
import io.bittensor.core.BackwardResult;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.PeerInfo;
import io.bittensor.core.Rejection;
import io.bittensor.core.Status;
import io.bittensor.transport.internal.wire.Response;

/** Builds wire responses, and maps a status to the HTTP status that mirrors it. */
public final class Responses {
  private Responses() {}

  public static Response of(Rejection r) {
    return Response.newBuilder()
        .setVersion(PeerInfo.PROTOCOL_VERSION)
        .setStatus(r.status().code())
        .setField(r.field())
        .setMessage(r.message())
        .build();
  }

  /** A BACKOFF response with a retry hint. */
  public static Response backoff(Rejection r, long retryAfterMs) {
    return of(r).toBuilder().setRetryAfterMs((int) Math.min(retryAfterMs, Integer.MAX_VALUE))
        .build();
  }

  public static Response of(ForwardResult r, String note) {
    Response.Builder b = Response.newBuilder()
        .setVersion(PeerInfo.PROTOCOL_VERSION)
        .setStatus(r.status().code())
        .setField(r.field())
        .setMessage(r.isSuccess() ? note : r.message());
    r.output().ifPresent(t -> b.setOutput(WireTensors.toWire(t)));
    return b.build();
  }

  public static Response of(BackwardResult r, String note) {
    return Response.newBuilder()
        .setVersion(PeerInfo.PROTOCOL_VERSION)
        .setStatus(r.status().code())
        .setField(r.field())
        .setMessage(r.isSuccess() ? note : r.message())
        .build();
  }

  public static Response timeout(long ms) {
    return of(Rejection.of(Status.TIMEOUT, "the peer did not answer within " + ms + " ms"));
  }

  /** An INTERNAL_ERROR naming the exception's type and message, never its stack. */
  public static Response internal(Throwable e) {
    return of(Rejection.of(Status.INTERNAL_ERROR,
        "the peer failed: " + e.getClass().getSimpleName()
            + (e.getMessage() == null ? "" : ": " + e.getMessage())));
  }

  /** A BAD_REQUEST for a body that is not the expected protobuf message. */
  public static Response undecodable(InvalidProtocolBufferException e) {
    return of(Rejection.badRequest("body", "not a valid protobuf message: " + e.getMessage()));
  }

  /** The HTTP status mirroring a protocol status (the body always carries the exact one). */
  public static int httpStatus(int code) {
    Status s = Status.ofCode(code).orElse(Status.INTERNAL_ERROR);
    return switch (s) {
      case SUCCESS -> 200;
      case BAD_REQUEST, BAD_SHAPE, UNKNOWN_MODALITY, UNSUPPORTED_VERSION -> 400;
      case BAD_SIGNATURE, STALE, REPLAYED, UNAUTHENTICATED -> 401;
      case PAYLOAD_TOO_LARGE -> 413;
      case BACKOFF -> 429;
      case NOT_IMPLEMENTED -> 501;
      case UNAVAILABLE -> 503;
      case TIMEOUT -> 504;
      case INTERNAL_ERROR, CANCELLED, BAD_RESPONSE -> 500;
    };
  }
}
