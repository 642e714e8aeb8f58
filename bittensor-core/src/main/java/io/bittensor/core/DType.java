package io.bittensor.core;

import java.util.Optional;

/**
 * The element type of a {@link Tensor}: float32 for activations and gradients, int64 for token
 * ids, uint8 for raw pixels. Elements are stored little-endian.
 *
 * <pre>{@code
 * DType t = DType.FLOAT32;
 * int bytes = t.byteSize();   // 4
 * int wire = t.code();        // 1, stable across versions
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public enum DType {
  /** IEEE 754 single precision, 4 bytes. */
  FLOAT32(1, 4),
  /** Signed 64-bit integer, 8 bytes. */
  INT64(2, 8),
  /** Unsigned 8-bit integer, 1 byte. */
  UINT8(3, 1);

  private final int code;
  private final int byteSize;

  DType(int code, int byteSize) {
    this.code = code;
    this.byteSize = byteSize;
  }

  /** The stable number of this type on the wire (FLOAT32 1, INT64 2, UINT8 3). */
  public int code() {
    return code;
  }

  /** The size of one element in bytes. */
  public int byteSize() {
    return byteSize;
  }

  /**
   * The type with the given wire code.
   *
   * @return empty for a code this version does not know
   */
  public static Optional<DType> ofCode(int code) {
    for (DType t : values()) {
      if (t.code == code) {
        return Optional.of(t);
      }
    }
    return Optional.empty();
  }
}
