package io.bittensor.core;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * A peer's identity: its 32-byte Ed25519 public key (RFC 8032 encoding). A ledger account is
 * its public key, so this is also an account id.
 *
 * <pre>{@code
 * Keypair keypair = Keypair.generate();
 * byte[] message = {1, 2, 3}, signature = keypair.sign(message);
 * PeerId id = keypair.id();
 * String hex = id.toHex();                    // 64 hex digits
 * PeerId same = PeerId.fromHex(hex);          // equal to id
 * boolean ok = id.verify(message, signature); // Ed25519 verification
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class PeerId implements Comparable<PeerId> {
  /** The length of an encoded Ed25519 public key in bytes. */
  public static final int LENGTH = 32;

  /** The fixed X.509 SubjectPublicKeyInfo prefix of an Ed25519 key (OID 1.3.101.112). */
  private static final byte[] X509_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");

  private static final HexFormat HEX = HexFormat.of();

  private final byte[] key;

  private PeerId(byte[] key) {
    this.key = key;
  }

  /**
   * The identity with the given encoded public key.
   *
   * @param key 32 bytes; copied, not modified
   * @throws IllegalArgumentException unless {@code key} has 32 bytes
   */
  public static PeerId fromBytes(byte[] key) {
    Objects.requireNonNull(key, "key");
    if (key.length != LENGTH) {
      throw new IllegalArgumentException(
          "an Ed25519 public key has " + LENGTH + " bytes, was " + key.length);
    }
    return new PeerId(key.clone());
  }

  /**
   * The identity with the given 64 hex digits.
   *
   * @throws IllegalArgumentException unless {@code hex} is 64 hex digits
   */
  public static PeerId fromHex(String hex) {
    Objects.requireNonNull(hex, "hex");
    if (hex.length() != 2 * LENGTH) {
      throw new IllegalArgumentException(
          "a peer id has " + 2 * LENGTH + " hex digits, was \"" + hex + "\"");
    }
    try {
      return new PeerId(HEX.parseHex(hex));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("a peer id has only hex digits, was \"" + hex + "\"", e);
    }
  }

  /**
   * The identity of a JDK Ed25519 public key.
   *
   * @throws IllegalArgumentException unless {@code key} is an Ed25519 key
   */
  public static PeerId of(PublicKey key) {
    byte[] encoded = key.getEncoded();
    if (encoded == null
        || encoded.length != X509_PREFIX.length + LENGTH
        || !Arrays.equals(encoded, 0, X509_PREFIX.length, X509_PREFIX, 0, X509_PREFIX.length)) {
      throw new IllegalArgumentException(
          "expected an Ed25519 public key, was " + key.getAlgorithm() + " " + key.getFormat());
    }
    return new PeerId(Arrays.copyOfRange(encoded, X509_PREFIX.length, encoded.length));
  }

  /** The 32 encoded bytes themselves, for this package's signature code: never modify. */
  byte[] rawBytes() {
    return key;
  }

  /** A copy of the 32 encoded bytes. */
  public byte[] toBytes() {
    return key.clone();
  }

  /** The 64 lower-case hex digits of the key. */
  public String toHex() {
    return HEX.formatHex(key);
  }

  /**
   * The JDK public key, for use with {@link java.security.Signature}.
   *
   * @throws IllegalStateException if the bytes are not a valid Ed25519 point encoding
   */
  public PublicKey toPublicKey() {
    byte[] encoded = Arrays.copyOf(X509_PREFIX, X509_PREFIX.length + LENGTH);
    System.arraycopy(key, 0, encoded, X509_PREFIX.length, LENGTH);
    try {
      return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(encoded));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("not a valid Ed25519 public key: " + toHex(), e);
    }
  }

  /**
   * Verifies an Ed25519 signature made by this identity's private key.
   *
   * @param message the signed bytes; not modified
   * @param signature 64 bytes; not modified
   * @return false for a wrong signature, a signature of the wrong length, or a key that is not a
   *     valid point; never throws for bad input
   */
  public boolean verify(byte[] message, byte[] signature) {
    return Signatures.verify(this, message, signature);
  }

  @Override
  public int compareTo(PeerId other) {
    return Arrays.compareUnsigned(key, other.key);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PeerId p && Arrays.equals(key, p.key);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(key);
  }

  /** The 64 hex digits. */
  @Override
  public String toString() {
    return toHex();
  }
}
