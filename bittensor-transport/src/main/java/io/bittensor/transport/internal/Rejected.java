package io.bittensor.transport.internal;

import io.bittensor.core.Rejection;
import io.bittensor.core.Status;

/**
 * Carries a {@link Rejection} out of the decoding and checking steps of a request; caught at the
 * edge of the serving pipeline and turned into a response. Never escapes this module.
 */
public final class Rejected extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final transient Rejection rejection;

  public Rejected(Rejection rejection) {
    super(rejection.toString(), null, false, false);
    this.rejection = rejection;
  }

  public Rejected(Status status, String field, String message) {
    this(new Rejection(status, field, message));
  }

  public Rejection rejection() {
    return rejection;
  }
}
