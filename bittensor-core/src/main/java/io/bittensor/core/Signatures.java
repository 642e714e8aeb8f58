package io.bittensor.core;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * Ed25519 (RFC 8032) signing and verification.
 *
 * <p>The arithmetic is Bouncy Castle's {@code rfc8032.Ed25519}, not the JDK's
 * {@code Signature}: Ed25519 signatures are deterministic, so both produce the same bytes for
 * the same key and message ({@code SignaturesTest} checks that, and RFC 8032's own vectors),
 * but the JDK 17 implementation takes about a millisecond to sign and two to verify, which is
 * more than a whole medium-sized request costs on the wire. Keys are still made by the JDK
 * ({@link Keypair}).
 */
final class Signatures {
  /** The length of an Ed25519 signature in bytes. */
  static final int SIGNATURE_LENGTH = 64;

  /**
   * Decoded and validated public points of recent signers (decoding takes a square root);
   * bounded so that a flood of ids cannot grow it forever.
   */
  private static final ConcurrentMap<PeerId, Ed25519.PublicPoint> POINTS =
      new ConcurrentHashMap<>();

  private static final int MAX_CACHED_KEYS = 4096;

  private Signatures() {}

  /** Signs {@code message} with a 32-byte seed whose public key is {@code publicKey}. */
  static byte[] sign(byte[] seed, byte[] publicKey, byte[] message) {
    byte[] signature = new byte[SIGNATURE_LENGTH];
    Ed25519.sign(seed, 0, publicKey, 0, message, 0, message.length, signature, 0);
    return signature;
  }

  /** The public key of a 32-byte seed. */
  static byte[] publicKeyOf(byte[] seed) {
    byte[] publicKey = new byte[Ed25519.PUBLIC_KEY_SIZE];
    Ed25519.generatePublicKey(seed, 0, publicKey, 0);
    return publicKey;
  }

  static boolean verify(PeerId id, byte[] message, byte[] signature) {
    if (message == null || signature == null || signature.length != SIGNATURE_LENGTH) {
      return false;
    }
    Ed25519.PublicPoint point = POINTS.get(id);
    if (point == null) {
      // Full validation: the encoding is canonical and the point is on the curve and not of
      // small order; a key that fails verifies nothing.
      point = Ed25519.validatePublicKeyFullExport(id.rawBytes(), 0);
      if (point == null) {
        return false;
      }
      if (POINTS.size() >= MAX_CACHED_KEYS) {
        POINTS.clear();
      }
      POINTS.put(id, point);
    }
    return Ed25519.verify(signature, 0, point, message, 0, message.length);
  }
}
