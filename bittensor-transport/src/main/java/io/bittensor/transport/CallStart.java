package io.bittensor.transport;

import io.bittensor.core.Experimental;
import io.bittensor.core.PeerId;
import java.util.Objects;
import java.util.Optional;

/**
 * One call as it starts, which a {@link CallListener.Factory} makes that call's listener for.
 *
 * @param side whether a server is answering it or a client making it
 * @param kind a forward or a backward call
 * @param peer on a server, the caller its request names (its {@code Bittensor-Caller} header),
 *     empty when it names none or names one that is not a peer id; on a client, the peer called,
 *     empty when it was connected by its endpoint alone. The call's {@link CallEvent} names the
 *     same peer.
 */
@Experimental
public record CallStart(CallEvent.Side side, CallEvent.Kind kind, Optional<PeerId> peer) {
  /** Checks that no component is null. */
  public CallStart {
    Objects.requireNonNull(side, "side");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(peer, "peer");
  }
}
