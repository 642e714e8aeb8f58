package io.bittensor.transport;

import io.bittensor.core.Experimental;
import io.bittensor.transport.internal.CallListeners;
import java.util.Objects;

/**
 * Hears each call once it is over: on a {@link PeerServer}, every request it answered (served,
 * refused or turned away); on a {@link PeerClient}, every call it made, with the status its
 * caller got. For metrics and logs: a call's kind, the peer on the other side, its status and
 * how long it took are in the {@link CallEvent}.
 *
 * <p>Runs on the thread that finished the call (a server thread, the peer's thread, or the
 * client's dispatcher), so it must be fast, thread-safe and must not block; what it throws is
 * ignored. With Micrometer, for example:
 *
 * <pre>{@code
 * CallListener metrics = call -> registry.timer("bittensor.peer.calls",
 *         "kind", call.kind().name(), "status", call.status().name())
 *     .record(call.duration());
 * }</pre>
 *
 * <p>Where each call needs state of its own from its start (a tracing span, a gauge of calls in
 * flight), give the server or client a {@link Factory} instead: it makes a listener for each
 * call as the call starts.
 */
@Experimental
@FunctionalInterface
public interface CallListener {
  /** Hears nothing; the default. */
  CallListener NONE = call -> { };

  /** A call is over. */
  void callEnd(CallEvent call);

  /**
   * Makes each call's own listener as the call starts; that listener, and no other, hears the
   * call's end, exactly once. A server starts a call when a request for one of the peer's two
   * paths arrives, before anything about it is checked; a client when its caller calls the peer.
   * So every call made counts between the two, the refused and the failed included: on a server
   * a request whose caller went away before its body arrived ends as {@code CANCELLED}.
   *
   * <p>Runs on the thread that starts the call (a server thread, or the client's caller), before
   * the call goes on, so it must be fast, thread-safe and must not block. When it throws, or
   * returns null, the call goes on unheard. For example, the calls in flight (a tracing span
   * would start where this counts up, and end where it counts down):
   *
   * <pre>{@code
   * AtomicInteger inFlight = new AtomicInteger();
   * CallListener.Factory counting = start -> {
   *   inFlight.incrementAndGet();
   *   return call -> inFlight.decrementAndGet();
   * };
   * }</pre>
   */
  @Experimental
  @FunctionalInterface
  interface Factory {
    /** Makes no listener: calls go unheard, at the cost of a field check. The default. */
    Factory NONE = start -> CallListener.NONE;

    /** A factory that gives every call the one {@code listener}. */
    static Factory of(CallListener listener) {
      Objects.requireNonNull(listener, "listener");
      return listener == CallListener.NONE ? NONE : start -> listener;
    }

    /** The listener of the call that {@code start} describes, which is starting now. */
    CallListener create(CallStart start);

    /**
     * A factory that gives each call a listener from this factory and one from {@code next},
     * and tells both its end: metrics and an access log, say. Each is on its own: one that
     * throws, or makes no listener, leaves the other's listener hearing the call.
     */
    @Experimental
    default Factory andThen(Factory next) {
      Objects.requireNonNull(next, "next");
      if (next == NONE) {
        return this;
      }
      if (this == NONE) {
        return next;
      }
      Factory first = this;
      return start -> {
        CallListener a = CallListeners.start(first, start);
        CallListener b = CallListeners.start(next, start);
        if (a == CallListener.NONE) {
          return b;
        }
        return b == CallListener.NONE ? a : call -> {
          CallListeners.end(a, call);
          CallListeners.end(b, call);
        };
      };
    }
  }
}
