package io.bittensor.transport.internal;

import com.google.protobuf.ByteOutput;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.bittensor.core.Status;
import io.bittensor.transport.internal.wire.BackwardRequest;
import io.bittensor.transport.internal.wire.Caller;
import io.bittensor.transport.internal.wire.ForwardRequest;
import io.bittensor.transport.internal.wire.LedgerRequest;
import io.bittensor.transport.internal.wire.Response;
import io.bittensor.transport.internal.wire.SignatureScope;
import io.bittensor.transport.internal.wire.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The canonical digest a request's signature covers, as specified in {@code peer.proto}: SHA-256
 * over the field values (not the encoded bytes), every integer little-endian; in the
 * METADATA_ONLY scope, over everything but the tensors' bytes.
 *
 * <p>Thread-safe: one {@link MessageDigest} per thread.
 */
public final class CanonicalDigest {
  private static final byte[] FORWARD =
      "bittensor/v1/forward\0".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] BACKWARD =
      "bittensor/v1/backward\0".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] FORWARD_METADATA =
      "bittensor/v1/forward/metadata\0".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] BACKWARD_METADATA =
      "bittensor/v1/backward/metadata\0".getBytes(StandardCharsets.US_ASCII);

  private static final byte[] FORWARD_ANSWER =
      "bittensor/v1/forward/answer\0".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] BACKWARD_ANSWER =
      "bittensor/v1/backward/answer\0".getBytes(StandardCharsets.US_ASCII);

  private static final ThreadLocal<MessageDigest> SHA256 =
      ThreadLocal.withInitial(
          () -> {
            try {
              return MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
              throw new IllegalStateException("every JDK has SHA-256", e);
            }
          });

  private CanonicalDigest() {}

  /**
   * The digest of a forward request in the scope its caller block names; its {@code
   * caller.signature} is not part of it.
   *
   * @throws Rejected with BAD_REQUEST for a scope this version does not define
   */
  public static byte[] of(ForwardRequest r) {
    boolean whole = wholeRequest(r.getCaller());
    MessageDigest md = start(whole ? FORWARD : FORWARD_METADATA, r.getVersion(),
        r.getModalityValue(), r.getTimeoutMs(), r.getCaller());
    tensor(md, r.getInput(), whole);
    return md.digest();
  }

  /**
   * The digest of a backward request in the scope its caller block names; its {@code
   * caller.signature} is not part of it.
   *
   * @throws Rejected with BAD_REQUEST for a scope this version does not define
   */
  public static byte[] of(BackwardRequest r) {
    boolean whole = wholeRequest(r.getCaller());
    MessageDigest md = start(whole ? BACKWARD : BACKWARD_METADATA, r.getVersion(),
        r.getModalityValue(), r.getTimeoutMs(), r.getCaller());
    tensor(md, r.getInput(), whole);
    tensor(md, r.getGradient(), whole);
    return md.digest();
  }

  private static boolean wholeRequest(Caller caller) {
    return switch (caller.getScopeValue()) {
      case SignatureScope.WHOLE_REQUEST_VALUE -> true;
      case SignatureScope.METADATA_ONLY_VALUE -> false;
      default -> throw unknownScope(caller.getScopeValue());
    };
  }

  /**
   * The digest an answer's signature covers ("Signed answers" in {@code peer.proto}): the request
   * it answers, the signing key, and every field of the answer but its {@code signer} block.
   *
   * @param forward whether the answer is to a forward request (else a backward)
   * @param requestDigest the canonical digest of the request answered (32 bytes). Not modified.
   * @param publicKey the key that signs (32 bytes). Not modified.
   * @param answer the answer. Not modified.
   */
  public static byte[] ofAnswer(boolean forward, byte[] requestDigest, byte[] publicKey,
      Response answer) {
    MessageDigest md = SHA256.get();
    md.reset();
    md.update(forward ? FORWARD_ANSWER : BACKWARD_ANSWER);
    md.update(requestDigest);
    md.update(publicKey);
    ByteBuffer head = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
    md.update(head.putInt(answer.getVersion()).putInt(answer.getStatus())
        .putInt(answer.getRetryAfterMs()).flip());
    ByteString field = answer.getFieldBytes();
    md.update(head.clear().putInt(field.size()).flip());
    update(md, field);
    ByteString message = answer.getMessageBytes();
    md.update(head.clear().putInt(message.size()).flip());
    update(md, message);
    md.update((byte) (answer.hasOutput() ? 1 : 0));
    if (answer.hasOutput()) {
      tensor(md, answer.getOutput(), true);
      if (answer.getOutput().getRowsRepeated()) {
        md.update((byte) 1); // its data is then the compact form: say so
      }
    }
    return md.digest();
  }

  /** The rejection of a {@code caller.scope} this version does not define. */
  static Rejected unknownScope(int scope) {
    return new Rejected(Status.BAD_REQUEST, "caller.scope",
        "unknown signature scope " + Integer.toUnsignedString(scope)
            + "; version 1 defines 0 (WHOLE_REQUEST) and 1 (METADATA_ONLY)");
  }

  /**
   * The digest of a ledger request to {@code /v1/ledger/<op>}; its {@code caller.signature} is
   * not part of it.
   */
  public static byte[] ofLedger(String op, LedgerRequest r) {
    MessageDigest md = SHA256.get();
    md.reset();
    md.update(("bittensor/v1/ledger/" + op + "\0").getBytes(StandardCharsets.US_ASCII));
    Caller caller = r.getCaller();
    ByteBuffer head = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    md.update(head.putInt(r.getVersion()).flip());
    update(md, caller.getPublicKey());
    md.update(head.clear().putInt(caller.getNonce().size()).flip());
    update(md, caller.getNonce());
    md.update(head.clear().putLong(caller.getTimestampMs()).flip());
    md.update(head.clear().putLong(r.getBody().size()).flip());
    update(md, r.getBody());
    return md.digest();
  }

  private static MessageDigest start(
      byte[] domain, int version, int modality, int timeoutMs, Caller caller) {
    MessageDigest md = SHA256.get();
    md.reset();
    md.update(domain);
    ByteBuffer head = ByteBuffer.allocate(12 + 32 + 4 + 64 + 8).order(ByteOrder.LITTLE_ENDIAN);
    head.putInt(version).putInt(modality).putInt(timeoutMs);
    md.update(head.flip());
    update(md, caller.getPublicKey());
    head.clear().putInt(caller.getNonce().size());
    md.update(head.flip());
    update(md, caller.getNonce());
    head.clear().putLong(caller.getTimestampMs());
    md.update(head.flip());
    return md;
  }

  /**
   * The METADATA_ONLY digest of a forward request from its fields, the input tensor given by its
   * dtype, shape and data length: the same bytes as {@link #of(ForwardRequest)} for a request
   * with those fields whose caller names that scope.
   */
  static byte[] forwardMetadata(int version, int modality, int timeoutMs, Caller caller,
      int dtype, int[] shape, long dataLength) {
    MessageDigest md = start(FORWARD_METADATA, version, modality, timeoutMs, caller);
    tensorHeader(md, dtype, shape, dataLength);
    return md.digest();
  }

  private static void tensor(MessageDigest md, Tensor t, boolean withData) {
    int[] shape = new int[t.getShapeCount()];
    for (int i = 0; i < shape.length; i++) {
      shape[i] = t.getShape(i);
    }
    tensorHeader(md, t.getDtypeValue(), shape, t.getData().size());
    if (withData) {
      update(md, t.getData());
    }
  }

  private static void tensorHeader(MessageDigest md, int dtype, int[] shape, long dataLength) {
    ByteBuffer head = ByteBuffer.allocate(8 + 4 * shape.length + 8).order(ByteOrder.LITTLE_ENDIAN);
    head.putInt(dtype).putInt(shape.length);
    for (int dim : shape) {
      head.putInt(dim);
    }
    head.putLong(dataLength);
    md.update(head.flip());
  }

  private static void update(MessageDigest md, ByteString bytes) {
    // The bytes go to the digest from the array they live in: a read-only ByteBuffer view would
    // have MessageDigest copy them through a small buffer first.
    try {
      UnsafeByteOperations.unsafeWriteTo(bytes, new DigestOutput(md));
    } catch (IOException e) {
      throw new UncheckedIOException("a digest does not fail", e);
    }
  }

  /** Feeds whatever protobuf writes to a digest; nothing is kept. */
  private static final class DigestOutput extends ByteOutput {
    private final MessageDigest md;

    DigestOutput(MessageDigest md) {
      this.md = md;
    }

    @Override
    public void write(byte value) {
      md.update(value);
    }

    @Override
    public void write(byte[] value, int offset, int length) {
      md.update(value, offset, length);
    }

    @Override
    public void writeLazy(byte[] value, int offset, int length) {
      md.update(value, offset, length);
    }

    @Override
    public void write(ByteBuffer value) {
      md.update(value);
    }

    @Override
    public void writeLazy(ByteBuffer value) {
      md.update(value);
    }
  }
}
