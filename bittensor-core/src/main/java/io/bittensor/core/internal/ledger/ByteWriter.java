package io.bittensor.core.internal.ledger;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A growable big-endian byte buffer for our binary encodings (transactions, blocks, states).
 * Not thread-safe.
 */
public final class ByteWriter {
  private byte[] buf;
  private int size;

  /** A writer with room for {@code capacity} bytes before it grows. */
  public ByteWriter(int capacity) {
    this.buf = new byte[Math.max(16, capacity)];
  }

  private void ensure(int more) {
    if (size + more > buf.length) {
      long wanted = Math.max((long) size + more, 2L * buf.length);
      if (wanted > Integer.MAX_VALUE - 8) {
        if ((long) size + more > Integer.MAX_VALUE - 8) {
          throw new IllegalStateException("an encoding may not exceed 2 GiB");
        }
        wanted = Integer.MAX_VALUE - 8;
      }
      buf = Arrays.copyOf(buf, (int) wanted);
    }
  }

  /** Appends one byte. */
  public ByteWriter u8(int v) {
    ensure(1);
    buf[size++] = (byte) v;
    return this;
  }

  /** Appends two bytes. */
  public ByteWriter u16(int v) {
    ensure(2);
    buf[size++] = (byte) (v >>> 8);
    buf[size++] = (byte) v;
    return this;
  }

  /** Appends four bytes. */
  public ByteWriter i32(int v) {
    ensure(4);
    buf[size++] = (byte) (v >>> 24);
    buf[size++] = (byte) (v >>> 16);
    buf[size++] = (byte) (v >>> 8);
    buf[size++] = (byte) v;
    return this;
  }

  /** Appends eight bytes. */
  public ByteWriter i64(long v) {
    ensure(8);
    for (int shift = 56; shift >= 0; shift -= 8) {
      buf[size++] = (byte) (v >>> shift);
    }
    return this;
  }

  /** Appends the IEEE 754 bits of {@code v}, exactly (NaN payloads too). */
  public ByteWriter f64(double v) {
    return i64(Double.doubleToRawLongBits(v));
  }

  /** Appends the bytes. */
  public ByteWriter bytes(byte[] b) {
    return bytes(b, 0, b.length);
  }

  /** Appends {@code length} bytes of {@code b} from {@code offset}. */
  public ByteWriter bytes(byte[] b, int offset, int length) {
    ensure(length);
    System.arraycopy(b, offset, buf, size, length);
    size += length;
    return this;
  }

  /** Appends a string as a 16-bit length and its UTF-8 bytes. */
  public ByteWriter string(String s) {
    byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
    if (utf8.length > 0xffff) {
      throw new IllegalArgumentException("a string may have at most 65535 UTF-8 bytes, had "
          + utf8.length);
    }
    return u16(utf8.length).bytes(utf8);
  }

  /** Appends a 32-bit length and the bytes. */
  public ByteWriter blob(byte[] b) {
    return i32(b.length).bytes(b);
  }

  /** The number of bytes written. */
  public int size() {
    return size;
  }

  /** The array written into, valid up to {@link #size()}; not a copy. */
  public byte[] array() {
    return buf;
  }

  /** A copy of exactly the bytes written. */
  public byte[] toByteArray() {
    return Arrays.copyOf(buf, size);
  }
}
