package io.bittensor.transport;

import io.bittensor.core.Experimental;
import io.bittensor.core.PeerId;
import io.bittensor.core.Status;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * One call, as a {@link CallListener} hears it when it is over.
 *
 * @param side whether a server answered it or a client made it (one listener may hear both, as
 *     a neuron's does)
 * @param kind a forward or a backward call
 * @param peer on a server, the caller its request named (its {@code Bittensor-Caller} header),
 *     empty when it named none; on a client, the peer called, empty when it was connected by
 *     its endpoint alone ({@link PeerClient#connect(java.net.URI)}). On a server this is a
 *     claim: anyone can name any caller. {@code verifiedCaller} says whether it was proved.
 * @param status the outcome: what the server answered, or what the client's caller got
 * @param duration on a server, from the request's arrival to its answer being ready to write;
 *     on a client, from the call to its result
 * @param clientCertificate on a server over mutual TLS, the certificate the caller showed in the
 *     handshake (as {@link CallStart#clientCertificate()}); empty otherwise
 * @param verifiedCaller on a server, the caller whose signature over the request the server
 *     checked: the caller its peer heard ({@link io.bittensor.core.ForwardRequest#caller()}),
 *     the same as {@code peer} when the request named one. Empty for an anonymous request, for one
 *     refused before its signature was checked or because it did not check (a caller the server
 *     does not serve, a bad signature, a header that names another caller), and on a client. What
 *     to log or count a caller by, where {@code peer} can be anyone's name.
 */
@Experimental
public record CallEvent(
    Side side,
    Kind kind,
    Optional<PeerId> peer,
    Status status,
    Duration duration,
    Optional<X509Certificate> clientCertificate,
    Optional<PeerId> verifiedCaller) {
  /** Which end of the call heard it. */
  public enum Side {
    /** A {@link PeerServer} answered it. */
    SERVER,
    /** A {@link PeerClient} made it. */
    CLIENT
  }

  /** What was asked. */
  public enum Kind {
    /** A forward call: an input for an answer. */
    FORWARD,
    /** A backward call: a gradient for an acknowledgement. */
    BACKWARD
  }

  /** Checks that no component is null and the duration is not negative. */
  public CallEvent {
    Objects.requireNonNull(side, "side");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(peer, "peer");
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(duration, "duration");
    Objects.requireNonNull(clientCertificate, "clientCertificate");
    Objects.requireNonNull(verifiedCaller, "verifiedCaller");
    if (duration.isNegative()) {
      throw new IllegalArgumentException("duration must not be negative, was " + duration);
    }
  }

  /** A call whose caller no signature proved. */
  public CallEvent(Side side, Kind kind, Optional<PeerId> peer, Status status,
      Duration duration, Optional<X509Certificate> clientCertificate) {
    this(side, kind, peer, status, duration, clientCertificate, Optional.empty());
  }

  /** A call without a client certificate, whose caller no signature proved. */
  public CallEvent(Side side, Kind kind, Optional<PeerId> peer, Status status,
      Duration duration) {
    this(side, kind, peer, status, duration, Optional.empty(), Optional.empty());
  }
}
