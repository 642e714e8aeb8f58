package io.bittensor.core;

import io.bittensor.core.internal.Ed25519Tables;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicInteger;
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
 *
 * <p>Verification is faster still for a key that signs again (a peer calling, a validator setting
 * weights every epoch): from its second verification the key has a table of its multiples, and a
 * signature is checked in about half of Bouncy Castle's time ({@code Ed25519Tables}), with the
 * same answers.
 */
final class Signatures {
  /** The length of an Ed25519 signature in bytes. */
  static final int SIGNATURE_LENGTH = 64;

  /**
   * Recent signers, their decoded and validated points (decoding takes a square root). Bounded so
   * that a flood of ids cannot grow it forever.
   */
  private static final ConcurrentMap<PeerId, Signer> SIGNERS = new ConcurrentHashMap<>();

  private static final int MAX_CACHED_KEYS = 4096;

  /** A key's table is built at its second verification: a key seen once costs nothing more. */
  static final int TABLE_AFTER = 2;

  /**
   * At most this many tables (49 KiB each, 12.5 MiB in all) are kept, the least recently used
   * dropped first.
   */
  static final int MAX_TABLES = 256;

  /** Tables of the keys that sign most, in access order; guarded by itself. */
  private static final Map<PeerId, Ed25519Tables.Table> TABLES =
      new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<PeerId, Ed25519Tables.Table> eldest) {
          return size() > MAX_TABLES;
        }
      };

  private Signatures() {}

  /** A validated key, and when its table is (re)built. */
  private static final class Signer {
    final Ed25519.PublicPoint point;
    final AtomicInteger verifications = new AtomicInteger();
    /**
     * Doubles at each build, so that when more keys sign than there are tables, a key whose table
     * was dropped waits twice as long for the next: n verifications build at most log2(n) times.
     */
    volatile int buildAt = TABLE_AFTER;

    Signer(Ed25519.PublicPoint point) {
      this.point = point;
    }
  }

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

  /**
   * Verifies with Bouncy Castle's answer. For a key with a table, the exact equation is tried
   * first ({@link Ed25519Tables}); what passes it passes Bouncy Castle's check, and what does not
   * is handed to Bouncy Castle, so only invalid signatures pay for both.
   */
  static boolean verify(PeerId id, byte[] message, byte[] signature) {
    if (message == null || signature == null || signature.length != SIGNATURE_LENGTH) {
      return false;
    }
    Signer signer = SIGNERS.get(id);
    if (signer == null) {
      // Full validation: the encoding is canonical and the point is on the curve and in the
      // prime-order group; a key that fails verifies nothing.
      Ed25519.PublicPoint point = Ed25519.validatePublicKeyFullExport(id.rawBytes(), 0);
      if (point == null) {
        return false;
      }
      if (SIGNERS.size() >= MAX_CACHED_KEYS) {
        SIGNERS.clear();
      }
      signer = new Signer(point);
      Signer earlier = SIGNERS.putIfAbsent(id, signer);
      if (earlier != null) {
        signer = earlier;
      }
    }
    Ed25519Tables.Table table = tableOf(id, signer);
    if (table != null && Ed25519Tables.verifiesExactly(table, message, signature)) {
      return true;
    }
    return Ed25519.verify(signature, 0, signer.point, message, 0, message.length);
  }

  /** The key's table, built here when the key has signed often enough; null without one. */
  private static Ed25519Tables.Table tableOf(PeerId id, Signer signer) {
    Ed25519Tables.Table table;
    synchronized (TABLES) {
      table = TABLES.get(id);
    }
    if (table != null) {
      return table;
    }
    int seen = signer.verifications.incrementAndGet();
    if (seen < signer.buildAt) {
      return null;
    }
    signer.buildAt = 2 * seen;
    table = Ed25519Tables.Table.of(id.rawBytes());
    if (table != null) { // always, for a validated key
      synchronized (TABLES) {
        TABLES.put(id, table);
      }
    }
    return table;
  }

  /** Whether {@code id} has a table now: for tests. */
  static boolean hasTable(PeerId id) {
    synchronized (TABLES) {
      return TABLES.containsKey(id);
    }
  }
}
