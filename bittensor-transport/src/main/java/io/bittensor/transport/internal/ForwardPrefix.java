package io.bittensor.transport.internal;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;
import io.bittensor.transport.internal.wire.Caller;
import io.bittensor.transport.internal.wire.ForwardRequest;
import java.io.IOException;
import java.util.Arrays;

/**
 * Everything of a forward request that its metadata-only signature covers, read from the first
 * bytes of its body before the tensor's bytes have arrived, so that a server can check the
 * signature while the rest of a large request is still on its way.
 *
 * <p>That works when the body puts every top-level field before {@code input} and the tensor's
 * {@code data} last inside it. Protobuf lets fields come in any order, and {@link #write} is the
 * order our client sends: version, caller, modality, timeout_ms, then input (dtype, shape, data).
 * A body cut before the tensor's data, with a field this version does not know before it, or
 * malformed gives no prefix. A body in another order (the generated one puts {@code timeout_ms}
 * after the tensor) or with a field repeated after the tensor gives a prefix that is not the whole
 * request's: so a server uses an answer checked from a prefix only when the request it finally
 * reads has the same caller block and the same digest, and checks the signature again otherwise.
 */
public record ForwardPrefix(int version, Caller caller, int modality, int timeoutMs, int dtype,
    int[] shape, long dataLength) {

  /** The metadata-only digest of the request this prefix begins. */
  public byte[] metadataDigest() {
    return CanonicalDigest.forwardMetadata(version, modality, timeoutMs, caller, dtype, shape,
        dataLength);
  }

  /**
   * Reads the prefix from {@code length} bytes at {@code offset}: null when they do not hold one
   * (too few bytes yet, another field order, unknown fields, malformed). Never throws.
   */
  public static ForwardPrefix read(byte[] buf, int offset, int length) {
    try {
      CodedInputStream in = CodedInputStream.newInstance(buf, offset, length);
      int version = 0;
      int modality = 0;
      int timeoutMs = 0;
      Caller caller = null;
      while (true) {
        int tag = in.readTag();
        switch (tag) {
          case 0:
            return null; // the body ended, or is cut here: no tensor header seen
          case 1 << 3 | WireFormat.WIRETYPE_VARINT:
            version = in.readUInt32();
            break;
          case 2 << 3 | WireFormat.WIRETYPE_LENGTH_DELIMITED:
            caller = Caller.parseFrom(in.readBytes());
            break;
          case 3 << 3 | WireFormat.WIRETYPE_VARINT:
            modality = in.readEnum();
            break;
          case 5 << 3 | WireFormat.WIRETYPE_VARINT:
            timeoutMs = in.readUInt32();
            break;
          case 4 << 3 | WireFormat.WIRETYPE_LENGTH_DELIMITED:
            in.readUInt32(); // the tensor's length
            return caller == null ? null : tensorHeader(in, version, caller, modality, timeoutMs);
          default:
            return null;
        }
      }
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  private static ForwardPrefix tensorHeader(CodedInputStream in, int version, Caller caller,
      int modality, int timeoutMs) throws IOException {
    int dtype = 0;
    int[] shape = new int[0];
    while (true) {
      int tag = in.readTag();
      switch (tag) {
        case 1 << 3 | WireFormat.WIRETYPE_VARINT:
          dtype = in.readEnum();
          break;
        case 2 << 3 | WireFormat.WIRETYPE_LENGTH_DELIMITED: {
          int limit = in.pushLimit(in.readRawVarint32());
          while (in.getBytesUntilLimit() > 0) {
            if (shape.length == WireTensors.MAX_RANK) {
              return null; // refused once read whole; growing by one is quadratic in the count
            }
            shape = Arrays.copyOf(shape, shape.length + 1);
            shape[shape.length - 1] = in.readUInt32();
          }
          in.popLimit(limit);
          break;
        }
        case 2 << 3 | WireFormat.WIRETYPE_VARINT:
          if (shape.length == WireTensors.MAX_RANK) {
            return null; // as above
          }
          shape = Arrays.copyOf(shape, shape.length + 1);
          shape[shape.length - 1] = in.readUInt32();
          break;
        case 3 << 3 | WireFormat.WIRETYPE_LENGTH_DELIMITED:
          long dataLength = Integer.toUnsignedLong(in.readRawVarint32());
          return new ForwardPrefix(version, caller, modality, timeoutMs, dtype, shape, dataLength);
        default:
          return null;
      }
    }
  }

  /**
   * Writes {@code m} with the input tensor last, so that a server can read this prefix from the
   * first bytes; the same bytes in another order as {@code m.writeTo}, as many of them.
   */
  public static void write(ForwardRequest m, CodedOutputStream out) throws IOException {
    if (!m.getUnknownFields().isEmpty()) {
      m.writeTo(out); // not a message of ours; keep it exactly as it is
      return;
    }
    if (m.getVersion() != 0) {
      out.writeUInt32(ForwardRequest.VERSION_FIELD_NUMBER, m.getVersion());
    }
    if (m.hasCaller()) {
      out.writeMessage(ForwardRequest.CALLER_FIELD_NUMBER, m.getCaller());
    }
    if (m.getModalityValue() != 0) {
      out.writeEnum(ForwardRequest.MODALITY_FIELD_NUMBER, m.getModalityValue());
    }
    if (m.getTimeoutMs() != 0) {
      out.writeUInt32(ForwardRequest.TIMEOUT_MS_FIELD_NUMBER, m.getTimeoutMs());
    }
    if (m.hasInput()) {
      out.writeMessage(ForwardRequest.INPUT_FIELD_NUMBER, m.getInput()); // dtype, shape, data
    }
  }
}
