package io.bittensor.transport.internal;

import io.bittensor.core.PeerId;
import io.bittensor.core.Status;
import io.bittensor.transport.CallEvent;
import io.bittensor.transport.CallListener;
import io.bittensor.transport.CallStart;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Optional;

/**
 * How a server or a client tells a call's listener of its start and end, alike on both sides:
 * a factory or a listener that throws never breaks the call.
 */
public final class CallListeners {
  private CallListeners() {}

  /**
   * The listener of a call starting now: {@link CallListener#NONE} when nothing listens, or when
   * the factory threw or made none (the call goes on unheard).
   */
  public static CallListener start(CallListener.Factory calls, CallEvent.Side side,
      boolean forward, Optional<PeerId> peer) {
    return start(calls, side, forward, peer, Optional.empty());
  }

  /**
   * As {@link #start(CallListener.Factory, CallEvent.Side, boolean, Optional)}, on a server that
   * may know the certificate the caller showed.
   */
  public static CallListener start(CallListener.Factory calls, CallEvent.Side side,
      boolean forward, Optional<PeerId> peer, Optional<X509Certificate> clientCertificate) {
    if (calls == CallListener.Factory.NONE) {
      return CallListener.NONE;
    }
    return start(calls, new CallStart(side, kind(forward), peer, clientCertificate));
  }

  /**
   * Tells {@code call} that its call ended with {@code status}, {@code startNanos} ({@link
   * System#nanoTime}) after it started. What the listener throws is ignored.
   */
  public static void end(CallListener call, CallEvent.Side side, boolean forward,
      Optional<PeerId> peer, Status status, long startNanos) {
    end(call, side, forward, peer, Optional.empty(), Optional.empty(), status, startNanos);
  }

  /**
   * As {@link #end(CallListener, CallEvent.Side, boolean, Optional, Status, long)}, on a server
   * that may know the certificate the caller showed and the caller its signature proved.
   */
  public static void end(CallListener call, CallEvent.Side side, boolean forward,
      Optional<PeerId> peer, Optional<X509Certificate> clientCertificate,
      Optional<PeerId> verifiedCaller, Status status, long startNanos) {
    if (call == CallListener.NONE) {
      return;
    }
    end(call, new CallEvent(side, kind(forward), peer, status,
        Duration.ofNanos(Math.max(0, System.nanoTime() - startNanos)), clientCertificate,
        verifiedCaller));
  }

  /**
   * {@code calls}' listener for {@code start}: {@link CallListener#NONE} when it throws or makes
   * none.
   */
  public static CallListener start(CallListener.Factory calls, CallStart start) {
    if (calls == CallListener.Factory.NONE) {
      return CallListener.NONE;
    }
    try {
      CallListener call = calls.create(start);
      return call != null ? call : CallListener.NONE;
    } catch (RuntimeException | Error ignored) { // an Error too: a class missing, say
      return CallListener.NONE; // A factory must not throw; one that does must not stop the call.
    }
  }

  /** Tells {@code call} the event; what it throws is ignored. */
  public static void end(CallListener call, CallEvent event) {
    try {
      call.callEnd(event);
    } catch (RuntimeException | Error ignored) { // an Error too: the answer must still go out
      // A listener must not throw; one that does must not stop the server or break the call.
    }
  }

  private static CallEvent.Kind kind(boolean forward) {
    return forward ? CallEvent.Kind.FORWARD : CallEvent.Kind.BACKWARD;
  }
}
