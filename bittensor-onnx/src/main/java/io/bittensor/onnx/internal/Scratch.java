package io.bittensor.onnx.internal;

import io.bittensor.core.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.Map;

/**
 * Direct, native-order buffers owned by one worker thread and reused from run to run, so that
 * model inputs (and pinned outputs) cost no allocation once warm. ONNX Runtime reads direct
 * buffers in place. Not thread-safe: one per worker.
 */
public final class Scratch {
  private final Map<String, ByteBuffer> buffers = new HashMap<>();

  /**
   * A buffer of exactly {@code size} bytes for {@code role}; its old contents are left as they
   * were.
   */
  public ByteBuffer bytes(String role, int size) {
    ByteBuffer b = buffers.get(role);
    if (b == null || b.capacity() < size) {
      int capacity =
          Math.max(size, b == null ? 0 : (int) Math.min(Tensor.MAX_BYTES, 2L * b.capacity()));
      b = ByteBuffer.allocateDirect(capacity).order(ByteOrder.nativeOrder());
      buffers.put(role, b);
    }
    ByteBuffer view = b.duplicate();
    view.clear().limit(size);
    return view.slice().order(ByteOrder.nativeOrder());
  }

  /** {@code count} floats for {@code role}. */
  public FloatBuffer floats(String role, int count) {
    return bytes(role, Math.multiplyExact(count, 4)).asFloatBuffer();
  }

  /** {@code count} longs for {@code role}. */
  public LongBuffer longs(String role, int count) {
    return bytes(role, Math.multiplyExact(count, 8)).asLongBuffer();
  }

  /** {@code count} longs, all zero; the role must be used for zeros only. */
  public LongBuffer zeros(String role, int count) {
    return longs("zeros:" + role, count);
  }
}
