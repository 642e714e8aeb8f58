package io.bittensor.core;

import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/** Ed25519 signing and verification with one reusable {@link Signature} per thread. */
final class Signatures {
  /** The length of an Ed25519 signature in bytes. */
  static final int SIGNATURE_LENGTH = 64;

  private static final ThreadLocal<Signature> ED25519 =
      ThreadLocal.withInitial(
          () -> {
            try {
              return Signature.getInstance("Ed25519");
            } catch (GeneralSecurityException e) {
              throw new IllegalStateException("this JDK has no Ed25519 (Java 15+ has)", e);
            }
          });

  /** Decoded keys of recent callers; bounded so that a flood of ids cannot grow it forever. */
  private static final ConcurrentMap<PeerId, PublicKey> KEYS = new ConcurrentHashMap<>();

  private static final int MAX_CACHED_KEYS = 4096;

  private Signatures() {}

  static byte[] sign(PrivateKey key, byte[] message) {
    try {
      Signature s = ED25519.get();
      s.initSign(key);
      s.update(message);
      return s.sign();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("Ed25519 signing failed", e);
    }
  }

  static boolean verify(PeerId id, byte[] message, byte[] signature) {
    if (message == null || signature == null || signature.length != SIGNATURE_LENGTH) {
      return false;
    }
    try {
      PublicKey key = KEYS.get(id);
      if (key == null) {
        key = id.toPublicKey();
        if (KEYS.size() >= MAX_CACHED_KEYS) {
          KEYS.clear();
        }
        KEYS.put(id, key);
      }
      Signature s = ED25519.get();
      s.initVerify(key);
      s.update(message);
      return s.verify(signature);
    } catch (GeneralSecurityException | RuntimeException e) {
      // A key that is not a valid point, or a malformed signature: not verified. A JDK
      // Signature whose first initVerify threw has failed to pick its provider and refuses
      // every later key ("No installed provider supports this key"), so this thread takes a
      // fresh one next time.
      ED25519.remove();
      return false;
    }
  }
}
