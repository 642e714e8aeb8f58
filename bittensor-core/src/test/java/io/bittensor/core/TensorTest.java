package io.bittensor.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ReadOnlyBufferException;
import org.junit.jupiter.api.Test;

class TensorTest {
  @Test
  void floatsRoundTripInRowMajorOrder() {
    float[] values = {1, 2, 3, 4, 5, 6};
    Tensor t = Tensor.ofFloats(values, 1, 2, 3);
    assertEquals(DType.FLOAT32, t.dtype());
    assertArrayEquals(new int[] {1, 2, 3}, t.shape());
    assertEquals(6, t.elementCount());
    assertEquals(24, t.byteSize());
    assertEquals(5f, t.floatAt(4));
    assertArrayEquals(values, t.toFloatArray());
  }

  @Test
  void factoriesCopyTheirArrays() {
    float[] values = {1, 2};
    Tensor t = Tensor.ofFloats(values, 2);
    values[0] = 99;
    assertEquals(1f, t.floatAt(0));
  }

  @Test
  void longsAndBytesKeepTheirTypes() {
    Tensor ids = Tensor.ofLongs(new long[] {101, Long.MAX_VALUE, -1}, 1, 3);
    assertEquals(DType.INT64, ids.dtype());
    assertEquals(Long.MAX_VALUE, ids.longAt(1));
    assertArrayEquals(new long[] {101, Long.MAX_VALUE, -1}, ids.toLongArray());
    Tensor pixels = Tensor.ofBytes(new byte[] {0, (byte) 200, (byte) 255}, 3);
    assertEquals(200, pixels.uint8At(1));
    assertEquals(255, pixels.uint8At(2));
  }

  @Test
  void bytesAreLittleEndian() {
    Tensor t = Tensor.ofLongs(new long[] {1}, 1);
    assertArrayEquals(new byte[] {1, 0, 0, 0, 0, 0, 0, 0}, t.toByteArray());
    assertEquals(ByteOrder.LITTLE_ENDIAN, t.data().order());
  }

  @Test
  void wrapSharesTheBufferAndIgnoresItsByteOrder() {
    ByteBuffer big = ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN);
    big.order(ByteOrder.LITTLE_ENDIAN).putFloat(0, 2.5f).putFloat(4, -1f);
    big.order(ByteOrder.BIG_ENDIAN);
    Tensor t = Tensor.wrap(DType.FLOAT32, big, 2);
    assertEquals(2.5f, t.floatAt(0));
    assertEquals(-1f, t.floatAt(1));
    assertEquals(0, big.position(), "the caller's position is not moved");
  }

  @Test
  void wrapRefusesAByteCountThatDoesNotMatchTheShape() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Tensor.wrap(DType.FLOAT32, ByteBuffer.allocate(10), 2, 2));
    assertTrue(e.getMessage().contains("16 bytes"), e.getMessage());
  }

  @Test
  void shapeMismatchAndNegativeDimensionsAreRefusedWithTheBadValue() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Tensor.ofFloats(new float[5], 2, 3));
    assertTrue(e.getMessage().contains("[2, 3]"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(DType.UINT8, 2, -1));
    assertTrue(e.getMessage().contains("-1"), e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> Tensor.zeros(DType.FLOAT32, 1 << 16, 1 << 16));
  }

  @Test
  void dataViewIsReadOnly() {
    Tensor t = Tensor.ofFloats(new float[] {1}, 1);
    assertThrows(ReadOnlyBufferException.class, () -> t.data().put(0, (byte) 1));
  }

  @Test
  void typedAccessToTheWrongTypeIsRefused() {
    Tensor t = Tensor.ofLongs(new long[] {1}, 1);
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> t.floatAt(0));
    assertTrue(e.getMessage().contains("INT64"), e.getMessage());
  }

  @Test
  void firstNonFiniteFindsNanAndInfinity() {
    assertEquals(-1, Tensor.ofFloats(new float[] {0, -0f, Float.MAX_VALUE}, 3).firstNonFinite());
    assertEquals(2, Tensor.ofFloats(new float[] {0, 1, Float.NaN}, 3).firstNonFinite());
    assertEquals(0,
        Tensor.ofFloats(new float[] {Float.NEGATIVE_INFINITY}, 1).firstNonFinite());
    assertEquals(-1, Tensor.ofLongs(new long[] {-1}, 1).firstNonFinite());
  }

  /**
   * The block scan against the obvious one, over seeded lengths (odd, even, around the 1,024
   * element blocks) with NaNs, infinities and the largest finite values placed at random, in heap,
   * read-only and direct buffers.
   */
  @Test
  void firstNonFiniteAgreesWithAPlainScan() {
    java.util.Random random = new java.util.Random(20261203L);
    float[] specials = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
        Float.intBitsToFloat(0x7fc0_0001), Float.intBitsToFloat(0xff80_0001)};
    for (int trial = 0; trial < 400; trial++) {
      int n = switch (trial % 4) {
        case 0 -> random.nextInt(9);
        case 1 -> 1024 * (1 + random.nextInt(4)) + random.nextInt(5) - 2;
        default -> random.nextInt(10_000);
      };
      n = Math.max(n, 0);
      float[] v = new float[n];
      for (int i = 0; i < n; i++) {
        v[i] = random.nextInt(50) == 0 ? Float.MAX_VALUE * (random.nextBoolean() ? 1 : -1)
            : (float) random.nextGaussian();
      }
      int planted = n == 0 || random.nextInt(3) == 0 ? 0 : 1 + random.nextInt(3);
      for (int k = 0; k < planted; k++) {
        v[random.nextInt(n)] = specials[random.nextInt(specials.length)];
      }
      int expected = -1;
      for (int i = 0; i < n; i++) {
        if (!Float.isFinite(v[i])) {
          expected = i;
          break;
        }
      }
      Tensor heap = Tensor.ofFloats(v, n);
      assertEquals(expected, heap.firstNonFinite(), "heap, n=" + n + ", trial " + trial);
      ByteBuffer direct = ByteBuffer.allocateDirect(4 * n).order(ByteOrder.LITTLE_ENDIAN);
      direct.asFloatBuffer().put(v);
      assertEquals(expected, Tensor.wrap(DType.FLOAT32, direct, n).firstNonFinite(),
          "direct, n=" + n + ", trial " + trial);
      assertEquals(expected,
          Tensor.wrap(DType.FLOAT32, heap.data(), n).firstNonFinite(), "read-only view");
    }
  }

  @Test
  void equalityIsByTypeShapeAndContent() {
    Tensor a = Tensor.ofFloats(new float[] {1, 2}, 1, 2);
    assertEquals(a, Tensor.ofFloats(new float[] {1, 2}, 1, 2));
    assertEquals(a.hashCode(), Tensor.ofFloats(new float[] {1, 2}, 1, 2).hashCode());
    assertNotEquals(a, Tensor.ofFloats(new float[] {1, 2}, 2, 1));
    assertNotEquals(a, Tensor.ofFloats(new float[] {1, 3}, 1, 2));
    assertEquals(a.withShape(2, 1), Tensor.ofFloats(new float[] {1, 2}, 2, 1));
  }

  @Test
  void zerosAreZero() {
    Tensor z = Tensor.zeros(DType.FLOAT32, 2, 3, 4);
    assertEquals(24, z.elementCount());
    for (float f : z.toFloatArray()) {
      assertEquals(0f, f);
    }
  }

  /** The Javadoc promises IndexOutOfBoundsException, also where index * width overflows. */
  @Test
  void anIndexPastTheEndIsOutOfBoundsEvenWhereItsByteOffsetOverflows() {
    Tensor floats = Tensor.ofFloats(new float[] {1, 2}, 2);
    Tensor longs = Tensor.ofLongs(new long[] {1, 2}, 2);
    Tensor bytes = Tensor.ofBytes(new byte[] {1, 2}, 2);
    int[] indexes = {2, -1, 1 << 29, 1 << 30, Integer.MAX_VALUE, Integer.MIN_VALUE};
    for (int index : indexes) {
      assertThrows(IndexOutOfBoundsException.class, () -> floats.floatAt(index), "" + index);
      assertThrows(IndexOutOfBoundsException.class, () -> longs.longAt(index), "" + index);
      assertThrows(IndexOutOfBoundsException.class, () -> bytes.uint8At(index), "" + index);
    }
    for (int index : indexes) {
      String m = assertThrows(IndexOutOfBoundsException.class, () -> floats.floatAt(index))
          .getMessage();
      assertTrue(m != null && m.contains(index + " out of bounds for length 2"), m);
    }
  }

  /**
   * MAX_BYTES is where the factories stop, for every element width: the other modules size their
   * own limits from it. Probed with an empty buffer, so nothing near 2 GiB is allocated.
   */
  @Test
  void maxBytesIsTheLargestTensorTheFactoriesAccept() {
    for (DType dtype : DType.values()) {
      int most = Tensor.MAX_BYTES / dtype.byteSize();
      String fits = assertThrows(IllegalArgumentException.class,
          () -> Tensor.wrap(dtype, ByteBuffer.allocate(0), most)).getMessage();
      assertTrue(fits.startsWith("data must hold " + (long) most * dtype.byteSize() + " bytes"),
          dtype + ": " + fits);
      String over = assertThrows(IllegalArgumentException.class,
          () -> Tensor.wrap(dtype, ByteBuffer.allocate(0), most + 1)).getMessage();
      assertTrue(over.contains("exceeds 2 GiB"), dtype + ": " + over);
    }
  }
}
