package io.bittensor.transport.internal;

import static com.google.protobuf.WireFormat.WIRETYPE_LENGTH_DELIMITED;

import com.google.protobuf.CodedOutputStream;
import io.bittensor.transport.internal.wire.Response;
import io.bittensor.transport.internal.wire.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;

/**
 * A {@link Response} encoded as two buffers, everything but the output tensor's bytes and then
 * those bytes themselves, so that a large answer goes to the socket from the tensor's own buffer
 * instead of through a copy the size of the tensor.
 *
 * <p>Protobuf lets fields come in any order, so the output field (number 5) goes last, after
 * {@code retry_after_ms} (6), and its {@code data} (3) last inside it: the bytes that follow the
 * head are exactly the tensor's. A decoder reads the same message either way.
 */
final class SplitEncoding {
  /** Below this the copy costs less than a second write. */
  static final int MIN_SPLIT_BYTES = 32 * 1024;

  private SplitEncoding() {}

  /**
   * The message as {head, data} when its output tensor holds at least {@link #MIN_SPLIT_BYTES},
   * else as one buffer. The buffers together hold exactly {@code r.getSerializedSize()} bytes.
   */
  static ByteBuffer[] encode(Response r) {
    Tensor output = r.getOutput();
    int dataLength = output.getData().size();
    if (!r.hasOutput() || dataLength < MIN_SPLIT_BYTES) {
      return new ByteBuffer[] {ByteBuffer.wrap(r.toByteArray())};
    }
    Response rest = r.toBuilder().clearOutput().build();
    Tensor header = output.toBuilder().clearData().build();
    int tensorLength = header.getSerializedSize()
        + CodedOutputStream.computeTagSize(Tensor.DATA_FIELD_NUMBER)
        + CodedOutputStream.computeUInt32SizeNoTag(dataLength) + dataLength;
    int headLength = rest.getSerializedSize()
        + CodedOutputStream.computeTagSize(Response.OUTPUT_FIELD_NUMBER)
        + CodedOutputStream.computeUInt32SizeNoTag(tensorLength)
        + tensorLength - dataLength;
    byte[] head = new byte[headLength];
    CodedOutputStream out = CodedOutputStream.newInstance(head);
    try {
      rest.writeTo(out);
      out.writeTag(Response.OUTPUT_FIELD_NUMBER, WIRETYPE_LENGTH_DELIMITED);
      out.writeUInt32NoTag(tensorLength);
      header.writeTo(out);
      out.writeTag(Tensor.DATA_FIELD_NUMBER, WIRETYPE_LENGTH_DELIMITED);
      out.writeUInt32NoTag(dataLength);
    } catch (IOException e) {
      throw new UncheckedIOException("encoding into an array of the computed size", e);
    }
    out.checkNoSpaceLeft();
    return new ByteBuffer[] {ByteBuffer.wrap(head), output.getData().asReadOnlyByteBuffer()};
  }
}
