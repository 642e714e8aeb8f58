package io.bittensor.core;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * A SHA-256 digest: the identity of a block, a transaction, a chain (its genesis block's hash)
 * or a ledger state.
 *
 * <pre>{@code
 * byte[] bytes = {1, 2, 3};
 * Hash256 h = Hash256.of(bytes);            // SHA-256 of bytes
 * String hex = h.toHex();                   // 64 hex digits
 * Hash256 same = Hash256.fromHex(hex);      // equal to h
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class Hash256 implements Comparable<Hash256> {
  /** The length of a digest in bytes. */
  public static final int LENGTH = 32;

  /** The digest of nothing in particular: 32 zero bytes (the parent of the genesis block). */
  public static final Hash256 ZERO = new Hash256(new byte[LENGTH]);

  private static final HexFormat HEX = HexFormat.of();

  private final byte[] bytes;

  private Hash256(byte[] bytes) {
    this.bytes = bytes;
  }

  /**
   * The SHA-256 digest of {@code data}.
   *
   * @param data not modified
   */
  public static Hash256 of(byte[] data) {
    Objects.requireNonNull(data, "data");
    return new Hash256(sha256().digest(data));
  }

  /**
   * The SHA-256 digest of {@code length} bytes of {@code data} from {@code offset}.
   *
   * @param data not modified
   * @throws IndexOutOfBoundsException if the range is outside {@code data}
   */
  public static Hash256 of(byte[] data, int offset, int length) {
    Objects.checkFromIndexSize(offset, length, data.length);
    MessageDigest md = sha256();
    md.update(data, offset, length);
    return new Hash256(md.digest());
  }

  /**
   * The digest with the given 32 bytes.
   *
   * @param bytes 32 bytes; copied, not modified
   * @throws IllegalArgumentException unless {@code bytes} has 32 bytes
   */
  public static Hash256 fromBytes(byte[] bytes) {
    Objects.requireNonNull(bytes, "bytes");
    if (bytes.length != LENGTH) {
      throw new IllegalArgumentException("a SHA-256 digest has 32 bytes, was " + bytes.length);
    }
    return new Hash256(bytes.clone());
  }

  /**
   * The digest with the given 64 hex digits.
   *
   * @throws IllegalArgumentException unless {@code hex} is 64 hex digits
   */
  public static Hash256 fromHex(String hex) {
    Objects.requireNonNull(hex, "hex");
    if (hex.length() != 2 * LENGTH) {
      throw new IllegalArgumentException("a digest has 64 hex digits, was \"" + hex + "\"");
    }
    try {
      return new Hash256(HEX.parseHex(hex));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("a digest has only hex digits, was \"" + hex + "\"", e);
    }
  }

  /** A new SHA-256 {@link MessageDigest}, which every Java platform has. */
  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }

  /** A copy of the 32 bytes. */
  public byte[] toBytes() {
    return bytes.clone();
  }

  /** The 64 lower-case hex digits. */
  public String toHex() {
    return HEX.formatHex(bytes);
  }

  /** The first 8 hex digits, for tables and logs. */
  public String toShortHex() {
    return toHex().substring(0, 8);
  }

  @Override
  public int compareTo(Hash256 other) {
    return Arrays.compareUnsigned(bytes, other.bytes);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Hash256 h && Arrays.equals(bytes, h.bytes);
  }

  @Override
  public int hashCode() {
    // The bytes are already uniformly distributed.
    return (bytes[0] & 0xff) << 24 | (bytes[1] & 0xff) << 16 | (bytes[2] & 0xff) << 8
        | (bytes[3] & 0xff);
  }

  /** The 64 hex digits. */
  @Override
  public String toString() {
    return toHex();
  }
}
