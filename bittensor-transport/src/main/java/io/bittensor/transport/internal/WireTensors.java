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
    if (w.getDtype() == DataType.DATA_TYPE_UNSPECIFIED) {
      throw new Rejected(Status.BAD_REQUEST, field + ".dtype", field + " has no dtype");
    }
    DType dtype = DType.ofCode(w.getDtypeValue()).orElseThrow(() -> new Rejected(
        Status.BAD_REQUEST, field + ".dtype",
        "unknown dtype " + w.getDtypeValue() + "; this peer knows " + Arrays.toString(DType.values())));
    int rank = w.getShapeCount();
    if (rank > 16) {
      throw new Rejected(shapeStatus, field + ".shape", field + " has rank " + rank + " > 16");
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
      count = Math.min(count * d, 1L << 40);
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
