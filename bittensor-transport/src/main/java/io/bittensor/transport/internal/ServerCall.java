package io.bittensor.transport.internal;

import io.bittensor.core.PeerId;
import io.bittensor.core.Status;
import io.bittensor.transport.CallEvent;
import io.bittensor.transport.CallListener;
import io.bittensor.transport.internal.wire.Response;
import java.security.cert.X509Certificate;
import java.util.Optional;

/**
 * A call a server is answering, from its arrival: the listener that hears its end and what its
 * {@link CallEvent} names. Made by {@link Serving#started}; each end of the call calls one
 * {@code heard}.
 */
public final class ServerCall {
  private final CallListener listener;
  private final boolean forward;
  private final Optional<PeerId> caller;
  private final Optional<X509Certificate> clientCertificate;
  private final long startNanos;
  /** The caller once its signature checked; null until then, and for an anonymous call. */
  private volatile PeerId verified;

  ServerCall(CallListener listener, boolean forward, Optional<PeerId> caller,
      Optional<X509Certificate> clientCertificate, long startNanos) {
    this.listener = listener;
    this.forward = forward;
    this.caller = caller;
    this.clientCertificate = clientCertificate;
    this.startNanos = startNanos;
  }

  /** When the call arrived ({@link System#nanoTime}): its timeout runs from then. */
  public long startNanos() {
    return startNanos;
  }

  /**
   * The request's signature checked: {@code caller} signed it (the caller it names). Called by
   * the serving pipeline before the peer hears the request.
   */
  public void proved(PeerId caller) {
    verified = caller;
  }

  /** The call was answered with {@code r}. What the listener throws is ignored. */
  public void heard(Response r) {
    heard(Status.ofCode(r.getStatus()).orElse(Status.INTERNAL_ERROR));
  }

  /** The call ended with {@code status} (no answer was written, or this one). */
  public void heard(Status status) {
    CallListeners.end(listener, CallEvent.Side.SERVER, forward, caller, clientCertificate,
        Optional.ofNullable(verified), status, startNanos);
  }
}
