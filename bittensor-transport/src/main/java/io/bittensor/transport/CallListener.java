package io.bittensor.transport;

import io.bittensor.core.Experimental;

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
 */
@Experimental
@FunctionalInterface
public interface CallListener {
  /** Hears nothing; the default. */
  CallListener NONE = call -> { };

  /** A call is over. */
  void callEnd(CallEvent call);
}
