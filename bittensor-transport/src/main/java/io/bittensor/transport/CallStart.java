package io.bittensor.transport;

import io.bittensor.core.Experimental;
import io.bittensor.core.PeerId;
import java.security.cert.X509Certificate;
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
 * @param clientCertificate on a server over mutual TLS, the certificate the caller showed in the
 *     handshake (its own, the first of its chain), which one the server trusts issued; empty in
 *     cleartext, over TLS that asks for none, in process, and on a client. Unlike {@code peer},
 *     which the request only names until its signature is checked, it is proven by then: the
 *     handshake checked that the caller holds its key.
 */
@Experimental
public record CallStart(CallEvent.Side side, CallEvent.Kind kind, Optional<PeerId> peer,
    Optional<X509Certificate> clientCertificate) {
  /** Checks that no component is null. */
  public CallStart {
    Objects.requireNonNull(side, "side");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(peer, "peer");
    Objects.requireNonNull(clientCertificate, "clientCertificate");
  }

  /** A call without a client certificate. */
  public CallStart(CallEvent.Side side, CallEvent.Kind kind, Optional<PeerId> peer) {
    this(side, kind, peer, Optional.empty());
  }
}
