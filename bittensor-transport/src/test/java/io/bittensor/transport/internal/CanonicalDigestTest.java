package io.bittensor.transport.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import io.bittensor.transport.internal.wire.BackwardRequest;
import io.bittensor.transport.internal.wire.Caller;
import io.bittensor.transport.internal.wire.DataType;
import io.bittensor.transport.internal.wire.ForwardRequest;
import io.bittensor.transport.internal.wire.SignatureScope;
import io.bittensor.transport.internal.wire.Tensor;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The digest a signature covers, against the layout {@code peer.proto} specifies, written out
 * here byte by byte: client and server share {@link CanonicalDigest}, so only an independent
 * reading of the specification catches a change to it. Requests are decoded with aliasing, as
 * the server decodes them.
 */
class CanonicalDigestTest {

  private static final class Spec {
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

    Spec raw(byte[] b) {
      bytes.writeBytes(b);
      return this;
    }

    Spec u32(int v) {
      return raw(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
    }

    Spec i64(long v) {
      return raw(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
    }

    Spec tensor(Tensor t) {
      return tensorHead(t).raw(t.getData().toByteArray());
    }

    Spec tensorHead(Tensor t) {
      u32(t.getDtypeValue()).u32(t.getShapeCount());
      t.getShapeList().forEach(this::u32);
      return i64(t.getData().size());
    }

    byte[] sha256() throws Exception {
      return MessageDigest.getInstance("SHA-256").digest(bytes.toByteArray());
    }
  }

  private static Tensor tensor(Random random) {
    Tensor.Builder t = Tensor.newBuilder().setDtype(DataType.forNumber(1 + random.nextInt(3)));
    for (int d = random.nextInt(4); d > 0; d--) {
      t.addShape(1 + random.nextInt(100));
    }
    byte[] data = new byte[random.nextInt(3) == 0 ? random.nextInt(200_000) : random.nextInt(40)];
    random.nextBytes(data);
    return t.setData(ByteString.copyFrom(data)).build();
  }

  private static Caller caller(Random random) {
    byte[] key = new byte[32];
    byte[] nonce = new byte[16 + random.nextInt(49)];
    byte[] signature = new byte[64];
    random.nextBytes(key);
    random.nextBytes(nonce);
    random.nextBytes(signature);
    return Caller.newBuilder().setPublicKey(ByteString.copyFrom(key))
        .setNonce(ByteString.copyFrom(nonce)).setTimestampMs(random.nextLong() >>> 20)
        .setSignature(ByteString.copyFrom(signature)).build();
  }

  private static CodedInputStream aliased(byte[] encoded) {
    CodedInputStream in = CodedInputStream.newInstance(encoded);
    in.enableAliasing(true);
    return in;
  }

  @Test
  void forwardAndBackwardDigestsFollowTheSpecifiedLayout() throws Exception {
    Random random = new Random(20261203L);
    for (int trial = 0; trial < 200; trial++) {
      Caller caller = caller(random);
      int version = random.nextInt(3);
      int modality = random.nextInt(4);
      int timeout = random.nextInt(Integer.MAX_VALUE);
      ForwardRequest f = ForwardRequest.parseFrom(aliased(ForwardRequest.newBuilder()
          .setVersion(version).setModalityValue(modality).setTimeoutMs(timeout)
          .setCaller(caller).setInput(tensor(random)).build().toByteArray()));
      Spec expected = new Spec().raw("bittensor/v1/forward\0".getBytes(StandardCharsets.US_ASCII))
          .u32(version).u32(modality).u32(timeout).raw(caller.getPublicKey().toByteArray())
          .u32(caller.getNonce().size()).raw(caller.getNonce().toByteArray())
          .i64(caller.getTimestampMs()).tensor(f.getInput());
      assertArrayEquals(expected.sha256(), CanonicalDigest.of(f), "forward, trial " + trial);

      BackwardRequest b = BackwardRequest.parseFrom(aliased(BackwardRequest.newBuilder()
          .setVersion(version).setModalityValue(modality).setTimeoutMs(timeout)
          .setCaller(caller).setInput(tensor(random)).setGradient(tensor(random)).build()
          .toByteArray()));
      Spec expectedBackward = new Spec()
          .raw("bittensor/v1/backward\0".getBytes(StandardCharsets.US_ASCII))
          .u32(version).u32(modality).u32(timeout).raw(caller.getPublicKey().toByteArray())
          .u32(caller.getNonce().size()).raw(caller.getNonce().toByteArray())
          .i64(caller.getTimestampMs()).tensor(b.getInput()).tensor(b.getGradient());
      assertArrayEquals(expectedBackward.sha256(), CanonicalDigest.of(b),
          "backward, trial " + trial);
    }
  }

  @Test
  void metadataOnlyDigestsLeaveTheTensorBytesOutUnderTheirOwnDomain() throws Exception {
    Random random = new Random(20261204L);
    for (int trial = 0; trial < 200; trial++) {
      Caller caller = caller(random).toBuilder().setScope(SignatureScope.METADATA_ONLY).build();
      int version = random.nextInt(3);
      int modality = random.nextInt(4);
      int timeout = random.nextInt(Integer.MAX_VALUE);
      ForwardRequest f = ForwardRequest.parseFrom(aliased(ForwardRequest.newBuilder()
          .setVersion(version).setModalityValue(modality).setTimeoutMs(timeout)
          .setCaller(caller).setInput(tensor(random)).build().toByteArray()));
      Spec expected = new Spec()
          .raw("bittensor/v1/forward/metadata\0".getBytes(StandardCharsets.US_ASCII))
          .u32(version).u32(modality).u32(timeout).raw(caller.getPublicKey().toByteArray())
          .u32(caller.getNonce().size()).raw(caller.getNonce().toByteArray())
          .i64(caller.getTimestampMs()).tensorHead(f.getInput());
      assertArrayEquals(expected.sha256(), CanonicalDigest.of(f), "forward, trial " + trial);

      BackwardRequest b = BackwardRequest.parseFrom(aliased(BackwardRequest.newBuilder()
          .setVersion(version).setModalityValue(modality).setTimeoutMs(timeout)
          .setCaller(caller).setInput(tensor(random)).setGradient(tensor(random)).build()
          .toByteArray()));
      Spec expectedBackward = new Spec()
          .raw("bittensor/v1/backward/metadata\0".getBytes(StandardCharsets.US_ASCII))
          .u32(version).u32(modality).u32(timeout).raw(caller.getPublicKey().toByteArray())
          .u32(caller.getNonce().size()).raw(caller.getNonce().toByteArray())
          .i64(caller.getTimestampMs()).tensorHead(b.getInput()).tensorHead(b.getGradient());
      assertArrayEquals(expectedBackward.sha256(), CanonicalDigest.of(b),
          "backward, trial " + trial);
    }
  }

  @Test
  void anUnknownScopeHasNoDigest() {
    ForwardRequest f = ForwardRequest.newBuilder().setCaller(
        caller(new Random(1)).toBuilder().setScopeValue(2)).build();
    Rejected e = assertThrows(Rejected.class, () -> CanonicalDigest.of(f));
    assertEquals("caller.scope", e.rejection().field());
  }
}
