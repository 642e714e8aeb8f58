package io.bittensor.core.internal.ledger;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Reads what {@link ByteWriter} wrote. Every read checks the bounds: running past the end, or a
 * length that cannot fit, throws {@link IllegalArgumentException} naming the field. Not
 * thread-safe.
 */
public final class ByteReader {
  private final byte[] buf;
  private int pos;
  private final int limit;

  /** A reader of all of {@code buf} (not copied; must not change while read). */
  public ByteReader(byte[] buf) {
    this(buf, 0, buf.length);
  }

  /** A reader of {@code length} bytes of {@code buf} from {@code offset}. */
  public ByteReader(byte[] buf, int offset, int length) {
    this.buf = buf;
    this.pos = offset;
    this.limit = offset + length;
  }

  private void need(int n, String field) {
    if (n < 0 || limit - pos < n) {
      throw new IllegalArgumentException(
          "truncated: " + field + " needs " + n + " bytes, " + (limit - pos) + " left");
    }
  }

  /** One unsigned byte. */
  public int u8(String field) {
    need(1, field);
    return buf[pos++] & 0xff;
  }

  /**
   * One byte that is 0 (false) or 1 (true).
   *
   * @throws IllegalArgumentException naming the field if the byte is anything else
   */
  public boolean flag(String field) {
    int v = u8(field);
    if (v > 1) {
      throw new IllegalArgumentException(field + " must be 0 or 1, was " + v);
    }
    return v == 1;
  }

  /** Two bytes, unsigned. */
  public int u16(String field) {
    need(2, field);
    int v = (buf[pos] & 0xff) << 8 | (buf[pos + 1] & 0xff);
    pos += 2;
    return v;
  }

  /** Four bytes. */
  public int i32(String field) {
    need(4, field);
    int v = (buf[pos] & 0xff) << 24 | (buf[pos + 1] & 0xff) << 16 | (buf[pos + 2] & 0xff) << 8
        | (buf[pos + 3] & 0xff);
    pos += 4;
    return v;
  }

  /** Eight bytes. */
  public long i64(String field) {
    need(8, field);
    long v = 0;
    for (int i = 0; i < 8; i++) {
      v = v << 8 | (buf[pos + i] & 0xff);
    }
    pos += 8;
    return v;
  }

  /** Eight bytes as IEEE 754 bits. */
  public double f64(String field) {
    return Double.longBitsToDouble(i64(field));
  }

  /** {@code n} bytes, copied. */
  public byte[] bytes(int n, String field) {
    need(n, field);
    byte[] out = Arrays.copyOfRange(buf, pos, pos + n);
    pos += n;
    return out;
  }

  /** A 16-bit length and that many bytes of well-formed UTF-8. */
  public String string(String field) {
    int n = u16(field + " length");
    need(n, field);
    try {
      String s = StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(buf, pos, n))
          .toString();
      pos += n;
      return s;
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException(field + " is not well-formed UTF-8", e);
    }
  }

  /** A 32-bit length (at most {@code max}) and that many bytes. */
  public byte[] blob(int max, String field) {
    int n = i32(field + " length");
    if (n < 0 || n > max) {
      throw new IllegalArgumentException(field + " length must be in [0, " + max + "], was " + n);
    }
    return bytes(n, field);
  }

  /**
   * A count for {@code field}, checked against {@code max} and against the bytes left, given
   * that each element takes at least {@code minBytesEach}.
   */
  public int count(int max, int minBytesEach, String field) {
    int n = i32(field + " count");
    if (n < 0 || n > max || (long) n * minBytesEach > limit - pos) {
      throw new IllegalArgumentException(
          field + " count " + n + " is out of range [0, " + max + "] or longer than the input");
    }
    return n;
  }

  /** The bytes not yet read. */
  public int remaining() {
    return limit - pos;
  }

  /** The position in the underlying array. */
  public int position() {
    return pos;
  }

  /**
   * Checks that everything was read.
   *
   * @throws IllegalArgumentException naming {@code what} if bytes are left over
   */
  public void requireEnd(String what) {
    if (pos != limit) {
      throw new IllegalArgumentException(what + " has " + (limit - pos) + " trailing bytes");
    }
  }
}
