package io.bittensor.transport;

/**
 * What a request's Ed25519 signature covers.
 *
 * <p>{@link #WHOLE_REQUEST}, the default, binds every field and every tensor byte to the caller:
 * nobody on the path can change the batch without the server refusing it. It costs a SHA-256 of
 * the tensors on each side, about 0.6 ms per MiB on one core here, which is more than the rest of
 * a loopback call of that size ({@code benchmarks/TRANSPORT.md}).
 *
 * <p>{@link #METADATA_ONLY} binds the caller, nonce, time, modality, deadline and each tensor's
 * dtype, shape and length, but not the tensor bytes, as the original Bittensor signed only its
 * metadata. It still proves who calls (for admission by stake) and stops replays; it does not stop
 * someone on the path from changing the numbers. Use it only where the channel already protects
 * the bytes (a VPN, WireGuard, a mesh with mutual TLS, or this transport's own: {@link
 * PeerServer.Builder#requireClientCertificates(java.nio.file.Path)}). Servers refuse it unless
 * built with {@link PeerServer.Builder#acceptMetadataOnlySignatures(boolean)}.
 *
 * <p>A signature made in one scope never verifies in the other: the scopes hash under different
 * domain strings ({@code bittensor/v1/peer.proto}).
 */
public enum SignatureScope {
  /** Every field and every tensor byte; the default. */
  WHOLE_REQUEST,
  /** Every field but the tensors' bytes (their dtype, shape and length are covered). */
  METADATA_ONLY;

  io.bittensor.transport.internal.wire.SignatureScope wire() {
    return this == WHOLE_REQUEST
        ? io.bittensor.transport.internal.wire.SignatureScope.WHOLE_REQUEST
        : io.bittensor.transport.internal.wire.SignatureScope.METADATA_ONLY;
  }
}
