package io.bittensor.core;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * An immutable n-dimensional array of {@link DType} elements, stored little-endian in a
 * {@link ByteBuffer}, row-major (the last dimension varies fastest).
 *
 * <pre>{@code
 * Tensor x = Tensor.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 1, 2, 3);   // [batch 1, seq 2, dim 3]
 * float f = x.floatAt(4);                                                 // 5.0
 * Tensor ids = Tensor.ofLongs(new long[] {101, 2023, 102}, 1, 3);         // TEXT token ids
 * Tensor view = Tensor.wrap(DType.FLOAT32, someLittleEndianBuffer, 4, 8, 16);  // no copy
 * }</pre>
 *
 * <p>Copies: the {@code of...} factories copy their array once into a new buffer;
 * {@link #wrap} and {@link #withShape} copy nothing; {@link #data()} returns a read-only view of
 * the same memory. Transports hand received bytes to {@link #wrap} so a tensor that arrives over
 * the network is not copied again.
 *
 * <p>Thread-safe: a tensor never changes after construction, provided the buffer given to
 * {@link #wrap} is not modified afterwards (that buffer is the caller's promise).
 */
public final class Tensor {
  /**
   * The most bytes of element data a tensor holds, {@value}: its data is one buffer, and the
   * largest the JVM allocates is a few bytes under {@code Integer.MAX_VALUE}. The factories
   * refuse a shape past it; peers check their answers against it before building them, and say
   * PAYLOAD_TOO_LARGE rather than fail mid-run.
   */
  @Experimental
  public static final int MAX_BYTES = Integer.MAX_VALUE - 8;

  private final DType dtype;
  private final int[] shape;
  /** Little-endian, position 0, limit = byteSize. Never handed out; only read-only duplicates. */
  private final ByteBuffer data;

  /** The exponent bits of a float32, and the lowest of them. */
  private static final int FLOAT_EXPONENT = 0x7f80_0000;
  private static final int FLOAT_EXPONENT_LSB = 0x0080_0000;
  /** Elements scanned branch-free before checking for a hit. */
  private static final int NON_FINITE_BLOCK = 1024;

  private Tensor(DType dtype, int[] shape, ByteBuffer data) {
    this.dtype = dtype;
    this.shape = shape;
    this.data = data;
  }

  /**
   * A float32 tensor holding a copy of {@code values}.
   *
   * @param values the elements in row-major order; not modified
   * @param shape the dimensions, each {@code >= 0}; their product must equal {@code values.length}
   * @throws IllegalArgumentException if a dimension is negative or the sizes differ
   */
  public static Tensor ofFloats(float[] values, int... shape) {
    int[] dims = checkShape(shape, values.length, DType.FLOAT32);
    ByteBuffer buf = allocate(DType.FLOAT32, values.length);
    buf.asFloatBuffer().put(values);
    return new Tensor(DType.FLOAT32, dims, buf);
  }

  /**
   * An int64 tensor holding a copy of {@code values}, e.g. TEXT token ids.
   *
   * @param values the elements in row-major order; not modified
   * @param shape the dimensions; their product must equal {@code values.length}
   * @throws IllegalArgumentException if a dimension is negative or the sizes differ
   */
  public static Tensor ofLongs(long[] values, int... shape) {
    int[] dims = checkShape(shape, values.length, DType.INT64);
    ByteBuffer buf = allocate(DType.INT64, values.length);
    buf.asLongBuffer().put(values);
    return new Tensor(DType.INT64, dims, buf);
  }

  /**
   * A uint8 tensor holding a copy of {@code values}, e.g. raw pixels. Each byte is read as an
   * unsigned value in {@code [0, 255]}.
   *
   * @param values the elements in row-major order; not modified
   * @param shape the dimensions; their product must equal {@code values.length}
   * @throws IllegalArgumentException if a dimension is negative or the sizes differ
   */
  public static Tensor ofBytes(byte[] values, int... shape) {
    int[] dims = checkShape(shape, values.length, DType.UINT8);
    ByteBuffer buf = allocate(DType.UINT8, values.length);
    buf.put(values).flip();
    return new Tensor(DType.UINT8, dims, buf);
  }

  /**
   * A tensor of zeros (an all-zero answer stands in for a peer that failed).
   *
   * @throws IllegalArgumentException if a dimension is negative or the size exceeds
   *     {@link #MAX_BYTES}
   */
  public static Tensor zeros(DType dtype, int... shape) {
    Objects.requireNonNull(dtype, "dtype");
    long count = elementCount(shape);
    checkBytes(count, dtype);
    return new Tensor(dtype, shape.clone(), allocate(dtype, (int) count));
  }

  /**
   * A tensor over the remaining bytes of {@code data}, without copying them. The byte order of
   * {@code data} is ignored: its bytes are read little-endian. The caller must not modify those
   * bytes afterwards.
   *
   * @param data exactly {@code product(shape) * dtype.byteSize()} remaining bytes; its position
   *     and limit are not modified
   * @throws IllegalArgumentException if a dimension is negative or the byte count differs
   */
  public static Tensor wrap(DType dtype, ByteBuffer data, int... shape) {
    Objects.requireNonNull(dtype, "dtype");
    Objects.requireNonNull(data, "data");
    long count = elementCount(shape);
    long expected = checkBytes(count, dtype);
    if (data.remaining() != expected) {
      throw new IllegalArgumentException(
          "data must hold " + expected + " bytes for " + dtype + " " + Arrays.toString(shape)
              + ", has " + data.remaining());
    }
    ByteBuffer view = data.slice().order(ByteOrder.LITTLE_ENDIAN);
    return new Tensor(dtype, shape.clone(), view);
  }

  /** The element type. */
  public DType dtype() {
    return dtype;
  }

  /** A copy of the dimensions. */
  public int[] shape() {
    return shape.clone();
  }

  /** The number of dimensions. */
  public int rank() {
    return shape.length;
  }

  /**
   * The size of dimension {@code axis}.
   *
   * @throws IndexOutOfBoundsException unless {@code 0 <= axis < rank()}
   */
  public int dim(int axis) {
    return shape[axis];
  }

  /** The number of elements: the product of the dimensions (1 for rank 0). */
  public int elementCount() {
    return data.limit() / dtype.byteSize();
  }

  /** The number of bytes of element data. */
  public int byteSize() {
    return data.limit();
  }

  /** True when this tensor's shape is exactly {@code dims}. */
  public boolean hasShape(int... dims) {
    return Arrays.equals(shape, dims);
  }

  /**
   * A read-only little-endian view of the element bytes, position 0 and limit
   * {@link #byteSize()}. The view shares this tensor's memory; each call returns a new view.
   */
  public ByteBuffer data() {
    return data.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
  }

  /**
   * A read-only float view of the elements.
   *
   * @throws IllegalStateException unless the type is FLOAT32
   */
  public FloatBuffer asFloatBuffer() {
    requireType(DType.FLOAT32);
    return data().asFloatBuffer();
  }

  /**
   * A read-only long view of the elements.
   *
   * @throws IllegalStateException unless the type is INT64
   */
  public LongBuffer asLongBuffer() {
    requireType(DType.INT64);
    return data().asLongBuffer();
  }

  /**
   * The float32 element at row-major position {@code index}.
   *
   * @throws IllegalStateException unless the type is FLOAT32
   * @throws IndexOutOfBoundsException unless {@code 0 <= index < elementCount()}
   */
  public float floatAt(int index) {
    requireType(DType.FLOAT32);
    return data.getFloat(4 * Objects.checkIndex(index, elementCount()));
  }

  /**
   * The int64 element at row-major position {@code index}.
   *
   * @throws IllegalStateException unless the type is INT64
   * @throws IndexOutOfBoundsException unless {@code 0 <= index < elementCount()}
   */
  public long longAt(int index) {
    requireType(DType.INT64);
    return data.getLong(8 * Objects.checkIndex(index, elementCount()));
  }

  /**
   * The uint8 element at row-major position {@code index}, in {@code [0, 255]}.
   *
   * @throws IllegalStateException unless the type is UINT8
   * @throws IndexOutOfBoundsException unless {@code 0 <= index < elementCount()}
   */
  public int uint8At(int index) {
    requireType(DType.UINT8);
    return Byte.toUnsignedInt(data.get(Objects.checkIndex(index, elementCount())));
  }

  /**
   * The elements as a new float array.
   *
   * @throws IllegalStateException unless the type is FLOAT32
   */
  public float[] toFloatArray() {
    float[] out = new float[elementCount()];
    asFloatBuffer().get(out);
    return out;
  }

  /**
   * The elements as a new long array.
   *
   * @throws IllegalStateException unless the type is INT64
   */
  public long[] toLongArray() {
    long[] out = new long[elementCount()];
    asLongBuffer().get(out);
    return out;
  }

  /** The element bytes (little-endian) as a new array; for UINT8, the elements themselves. */
  public byte[] toByteArray() {
    byte[] out = new byte[byteSize()];
    data().get(out);
    return out;
  }

  /**
   * The row-major position of the first NaN or infinite element, or -1 when every element is
   * finite (always -1 for the integer types).
   */
  public int firstNonFinite() {
    if (dtype != DType.FLOAT32) {
      return -1;
    }
    int n = elementCount();
    // The elements' bits as ints, a block at a time: one bulk copy per block (a memory copy where
    // the platform is little-endian), then a loop over an int[] that C2 vectorises. Reading the
    // buffer element by element instead is a virtual call on the buffer's class, and once a JVM
    // has seen heap, read-only and direct tensors (protobuf, ONNX Runtime and our own make
    // different ones) that call site runs at about 2 GB/s. NaN and infinity have all exponent
    // bits set: (x & EXP) + 2^23 carries into the sign bit for exactly those, so one OR over the
    // block says whether it holds any; a block with a hit is searched again.
    IntBuffer bits = data.asIntBuffer();
    int[] block = new int[NON_FINITE_BLOCK];
    for (int base = 0; base < n; base += NON_FINITE_BLOCK) {
      int count = Math.min(n - base, NON_FINITE_BLOCK);
      bits.get(base, block, 0, count);
      int any = 0;
      for (int i = 0; i < count; i++) {
        any |= (block[i] & FLOAT_EXPONENT) + FLOAT_EXPONENT_LSB;
      }
      if (any < 0) {
        for (int i = 0; i < count; i++) {
          if (!Float.isFinite(Float.intBitsToFloat(block[i]))) {
            return base + i;
          }
        }
      }
    }
    return -1;
  }

  /**
   * The same elements under another shape with the same element count; nothing is copied.
   *
   * @throws IllegalArgumentException if a dimension is negative or the counts differ
   */
  public Tensor withShape(int... newShape) {
    int[] dims = checkShape(newShape, elementCount(), dtype);
    return new Tensor(dtype, dims, data);
  }

  /** Equal when type, shape and every element byte are equal. */
  @Override
  public boolean equals(Object o) {
    return o instanceof Tensor t
        && dtype == t.dtype
        && Arrays.equals(shape, t.shape)
        && data.equals(t.data);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * dtype.hashCode() + Arrays.hashCode(shape)) + data.hashCode();
  }

  /** E.g. {@code Tensor[FLOAT32 [1, 2, 3]]}; the elements are not printed. */
  @Override
  public String toString() {
    return "Tensor[" + dtype + " " + Arrays.toString(shape) + "]";
  }

  private void requireType(DType expected) {
    if (dtype != expected) {
      throw new IllegalStateException("tensor holds " + dtype + ", not " + expected);
    }
  }

  private static ByteBuffer allocate(DType dtype, int count) {
    return ByteBuffer.allocate(count * dtype.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
  }

  private static int[] checkShape(int[] shape, int count, DType dtype) {
    long product = elementCount(shape);
    checkBytes(product, dtype);
    if (product != count) {
      throw new IllegalArgumentException(
          "shape " + Arrays.toString(shape) + " holds " + product + " elements, data has " + count);
    }
    return shape.clone();
  }

  /** The product of the dimensions, saturating at 2^32. */
  static long elementCount(int[] shape) {
    Objects.requireNonNull(shape, "shape");
    long product = 1;
    for (int i = 0; i < shape.length; i++) {
      if (shape[i] < 0) {
        throw new IllegalArgumentException(
            "shape[" + i + "] must be >= 0, was " + shape[i] + " in " + Arrays.toString(shape));
      }
      product = Math.min(product * shape[i], 1L << 32); // no overflow: both factors < 2^32
    }
    return product;
  }

  private static long checkBytes(long count, DType dtype) {
    long bytes = count * dtype.byteSize();
    if (count > Integer.MAX_VALUE || bytes > MAX_BYTES) {
      throw new IllegalArgumentException(
          "tensor of " + count + " " + dtype + " elements exceeds 2 GiB");
    }
    return bytes;
  }
}
