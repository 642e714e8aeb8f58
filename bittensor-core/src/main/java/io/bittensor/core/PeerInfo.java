package io.bittensor.core;

import java.net.URI;
import java.util.Objects;

/**
 * How to reach a peer and what it serves: its public key, endpoint, modality and the wire
 * protocol version it speaks. This is what the metagraph records for each peer.
 *
 * <pre>{@code
 * Keypair keypair = Keypair.generate();
 * PeerInfo info = new PeerInfo(keypair.id(), URI.create("http://10.0.0.7:8091"),
 *     Modality.TEXT, PeerInfo.PROTOCOL_VERSION);
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 *
 * @param id the peer's public key
 * @param endpoint where it listens: {@code http://host:port} or {@code https://host:port} for
 *     the HTTP transport (without a port, clients go to 80 or 443), {@code inproc://name} for the
 *     in-process one; absolute, with a scheme
 * @param modality the inputs it accepts
 * @param version the wire protocol version it speaks, {@code >= 1}
 */
public record PeerInfo(PeerId id, URI endpoint, Modality modality, int version) {
  /** The wire protocol version this library speaks. */
  public static final int PROTOCOL_VERSION = 1;

  /** Checks for nulls, an absolute endpoint and a positive version. */
  public PeerInfo {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(endpoint, "endpoint");
    Objects.requireNonNull(modality, "modality");
    if (!endpoint.isAbsolute()) {
      throw new IllegalArgumentException(
          "endpoint must be absolute with a scheme (http://host:port), was " + endpoint);
    }
    if (version < 1) {
      throw new IllegalArgumentException("version must be >= 1, was " + version);
    }
  }

  /** A peer at {@code endpoint} speaking this library's protocol version. */
  public static PeerInfo of(PeerId id, URI endpoint, Modality modality) {
    return new PeerInfo(id, endpoint, modality, PROTOCOL_VERSION);
  }
}
