package io.bittensor.transport.internal;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.UnsafeByteOperations;
import io.bittensor.core.DType;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.transport.internal.wire.DataType;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Converts tensors between {@link Tensor} and the wire's {@code bittensor.v1.Tensor} without
 * copying element bytes: the wire message aliases the tensor's buffer and back.
 */
public final class WireTensors {
  /** The most dimensions a tensor on the wire may have. */
  static final int MAX_RANK = 16;

  private WireTensors() {}

  /**
   * A decoder over {@code length} bytes of {@code array} from {@code offset} whose bytes fields
   * (tensor data) alias the array instead of copying it. Protobuf aliases only input it may treat
   * as immutable: over {@code CodedInputStream.newInstance(byte[])}, {@code enableAliasing} alone
   * still copied every tensor. The caller must not change the array afterwards.
   */
  public static CodedInputStream aliasingInput(byte[] array, int offset, int length) {
    CodedInputStream in = UnsafeByteOperations.unsafeWrap(array, offset, length).newCodedInput();
    in.enableAliasing(true);
    return in;
  }

  /** The wire form of {@code t}; its data aliases {@code t}'s buffer (no copy). */
  public static io.bittensor.transport.internal.wire.Tensor toWire(Tensor t) {
    io.bittensor.transport.internal.wire.Tensor.Builder b =
        io.bittensor.transport.internal.wire.Tensor.newBuilder()
            .setDtypeValue(t.dtype().code())
            .setData(UnsafeByteOperations.unsafeWrap(t.data()));
    for (int i = 0; i < t.rank(); i++) {
      b.addShape(t.dim(i));
    }
    return b.build();
  }

  /**
   * The tensor a wire message holds; its buffer aliases the message's bytes (no copy).
   *
   * @param field names the tensor in rejections, e.g. "input"
   * @param shapeStatus the status for a shape that does not match the data (BAD_SHAPE for
   *     requests, BAD_RESPONSE for answers)
   * @throws Rejected for a missing or unknown dtype (BAD_REQUEST), a dimension beyond 2^31 - 1
   *     or a byte count that does not match the shape
   */
  public static Tensor fromWire(
      io.bittensor.transport.internal.wire.Tensor w, String field, Status shapeStatus) {
    if (w.getRowsRepeated()) {
      throw new Rejected(Status.BAD_REQUEST, field + ".rows_repeated",
          "rows_repeated is for outputs, not for " + field);
    }
    return decode(w, field, shapeStatus);
  }

  /**
   * As {@link #fromWire}, for an output that may come with its rows repeated ({@link
   * #withRowsRepeated}): such a tensor is expanded, each example's row copied to every position
   * of its sequence.
   *
   * @param batch the batch a compact output must have (the request's), checked before it is
   *     expanded, so that a small message cannot ask for a large allocation
   * @param sequence the sequence a compact output must have (the request's)
   * @throws Rejected as {@link #fromWire}, and for a compact tensor that is not [batch,
   *     sequence, dim] of the request's batch and sequence, or whose data is not one row per
   *     example
   */
  public static Tensor outputFromWire(io.bittensor.transport.internal.wire.Tensor w,
      String field, Status shapeStatus, int batch, int sequence) {
    if (!w.getRowsRepeated()) {
      return decode(w, field, shapeStatus);
    }
    if (w.getShapeCount() != 3 || w.getShape(0) != batch || w.getShape(1) != sequence) {
      throw new Rejected(shapeStatus, field + ".shape", field + " has rows_repeated and shape "
          + w.getShapeList() + "; it needs [" + batch + ", " + sequence + ", dim]");
    }
    // As sent: one row per example.
    Tensor once = decode(w.toBuilder().setShape(1, 1).build(), field, shapeStatus);
    int rowBytes = once.byteSize() / Math.max(1, batch);
    if ((long) batch * sequence * rowBytes > Tensor.MAX_BYTES) {
      throw new Rejected(shapeStatus, field + ".shape", field + " with its rows repeated "
          + sequence + " times would exceed 2 GiB");
    }
    ByteBuffer rows = once.data();
    byte[] full = new byte[batch * sequence * rowBytes];
    int perExample = sequence * rowBytes;
    for (int b = 0; b < batch; b++) {
      int at = b * perExample;
      rows.get(b * rowBytes, full, at, rowBytes);
      // Doubling copies: the row, then two, four, ... until the example's sequence is full.
      for (int filled = rowBytes; filled < perExample; ) {
        int n = Math.min(filled, perExample - filled);
        System.arraycopy(full, at, full, at + filled, n);
        filled += n;
      }
    }
    return Tensor.wrap(once.dtype(), ByteBuffer.wrap(full), batch, sequence, w.getShape(2));
  }

  /**
   * {@code t} in the compact form when it is [batch, sequence, dim] with sequence above 1 and
   * each example's rows all the same, bit for bit (then its data is one row per example and
   * {@code rows_repeated} is set); else {@code t} itself. Reads each example until a row
   * differs.
   */
  public static io.bittensor.transport.internal.wire.Tensor withRowsRepeated(
      io.bittensor.transport.internal.wire.Tensor t) {
    if (t.getShapeCount() != 3 || t.getShape(1) < 2 || t.getRowsRepeated()) {
      return t;
    }
    int batch = t.getShape(0);
    int sequence = t.getShape(1);
    long rowBytes = t.getData().size() / Math.max(1L, (long) batch * sequence);
    if (rowBytes == 0 || rowBytes * batch * sequence != t.getData().size()) {
      return t; // empty, or not what its shape says: left for the reader to refuse
    }
    ByteBuffer data = t.getData().asReadOnlyByteBuffer();
    int row = (int) rowBytes;
    for (int b = 0; b < batch; b++) {
      int first = b * sequence * row;
      ByteBuffer firstRow = data.slice(first, row);
      for (int s = 1; s < sequence; s++) {
        if (firstRow.mismatch(data.slice(first + s * row, row)) != -1) {
          return t;
        }
      }
    }
    byte[] once = new byte[batch * row];
    for (int b = 0; b < batch; b++) {
      data.get(b * sequence * row, once, b * row, row);
    }
    return t.toBuilder().setData(UnsafeByteOperations.unsafeWrap(once)).setRowsRepeated(true)
        .build();
  }

  private static Tensor decode(
      io.bittensor.transport.internal.wire.Tensor w, String field, Status shapeStatus) {
    if (w.getDtype() == DataType.DATA_TYPE_UNSPECIFIED) {
      throw new Rejected(Status.BAD_REQUEST, field + ".dtype", field + " has no dtype");
    }
    DType dtype =
        DType.ofCode(w.getDtypeValue())
            .orElseThrow(
                () ->
                    new Rejected(
                        Status.BAD_REQUEST,
                        field + ".dtype",
                        "unknown dtype "
                            + w.getDtypeValue()
                            + "; this peer knows "
                            + Arrays.toString(DType.values())));
    int rank = w.getShapeCount();
    if (rank > MAX_RANK) {
      throw new Rejected(shapeStatus, field + ".shape",
          field + " has rank " + rank + " > " + MAX_RANK);
    }
    int[] shape = new int[rank];
    long count = 1;
    for (int i = 0; i < rank; i++) {
      int d = w.getShape(i); // uint32 on the wire: above 2^31 - 1 reads negative
      if (d < 0) {
        throw new Rejected(shapeStatus, field + ".shape",
            field + ".shape[" + i + "] is " + Integer.toUnsignedString(d) + ", above 2^31 - 1");
      }
      shape[i] = d;
      // Saturating at 2^40 without computing count * d past it: 2^40 * 2^24 wraps to 0.
      count = count > (1L << 40) / Math.max(d, 1) ? 1L << 40 : count * d;
    }
    ByteString data = w.getData();
    if (count * dtype.byteSize() != data.size()) {
      throw new Rejected(shapeStatus, field + ".shape",
          field + " shape " + Arrays.toString(shape) + " of " + dtype + " needs "
              + count * dtype.byteSize() + " bytes, data has " + data.size());
    }
    ByteBuffer bytes = data.asReadOnlyByteBuffer();
    return Tensor.wrap(dtype, bytes, shape);
  }
}
