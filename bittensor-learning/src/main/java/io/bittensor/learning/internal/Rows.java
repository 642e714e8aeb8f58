package io.bittensor.learning.internal;

import io.bittensor.core.DType;
import io.bittensor.core.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Row (first-dimension) operations on tensors: picking the rows routed to a peer, and viewing a
 * FLOAT32 tensor as {@code [rows, features]}.
 *
 * <p>Internal: users must not import it.
 */
public final class Rows {
  private Rows() {}

  /** The given rows of {@code t}, in that order, as a new tensor of any element type. */
  public static Tensor gather(Tensor t, int[] rows) {
    int n = t.dim(0);
    int rowBytes = n == 0 ? 0 : t.byteSize() / n;
    ByteBuffer src = t.data();
    ByteBuffer dst = ByteBuffer.allocate(rows.length * rowBytes).order(ByteOrder.LITTLE_ENDIAN);
    for (int r : rows) {
      dst.put(dst.position(), src, r * rowBytes, rowBytes);
      dst.position(dst.position() + rowBytes);
    }
    dst.flip();
    int[] shape = t.shape();
    shape[0] = rows.length;
    return Tensor.wrap(t.dtype(), dst, shape);
  }

  /** The number of values per row: the product of the dimensions after the first. */
  public static int width(Tensor t) {
    int w = 1;
    for (int i = 1; i < t.rank(); i++) {
      w *= t.dim(i);
    }
    return w;
  }

  /**
   * The elements as floats: FLOAT32 as they are, UINT8 pixels scaled to [0, 1].
   *
   * @throws IllegalArgumentException for other element types
   */
  public static float[] floats(Tensor t, String what) {
    if (t.dtype() == DType.FLOAT32) {
      return t.toFloatArray();
    }
    if (t.dtype() == DType.UINT8) {
      float[] out = new float[t.elementCount()];
      for (int i = 0; i < out.length; i++) {
        out[i] = t.uint8At(i) / 255f;
      }
      return out;
    }
    throw new IllegalArgumentException(what + " must be FLOAT32 or UINT8, was " + t.dtype());
  }
}
