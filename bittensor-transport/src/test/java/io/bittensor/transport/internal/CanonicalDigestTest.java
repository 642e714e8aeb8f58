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
import io.bittensor.transport.internal.wire.LedgerRequest;
import io.bittensor.transport.internal.wire.Response;
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

    /** A tensor's dtype, rank, shape and length, then (in the whole-request scope) its bytes. */
    Spec tensor(Tensor t, boolean withData) {
      u32(t.getDtypeValue()).u32(t.getShapeCount());
      t.getShapeList().forEach(this::u32);
      i64(t.getData().size());
      return withData ? raw(t.getData().toByteArray()) : this;
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
    checkLayout(new Random(20261203L), SignatureScope.WHOLE_REQUEST, "", true);
  }

  @Test
  void metadataOnlyDigestsLeaveTheTensorBytesOutUnderTheirOwnDomain() throws Exception {
    checkLayout(new Random(20261204L), SignatureScope.METADATA_ONLY, "/metadata", false);
  }

  /** 200 random requests in {@code scope}, digested by the code and by the layout written out. */
  private static void checkLayout(Random random, SignatureScope scope, String domainSuffix,
      boolean withData) throws Exception {
    for (int trial = 0; trial < 200; trial++) {
      Caller caller = caller(random).toBuilder().setScope(scope).build();
      int version = random.nextInt(3);
      int modality = random.nextInt(4);
      int timeout = random.nextInt(Integer.MAX_VALUE);
      ForwardRequest f = ForwardRequest.parseFrom(aliased(ForwardRequest.newBuilder()
          .setVersion(version).setModalityValue(modality).setTimeoutMs(timeout)
          .setCaller(caller).setInput(tensor(random)).build().toByteArray()));
      Spec expected = head("forward" + domainSuffix, version, modality, timeout, caller)
          .tensor(f.getInput(), withData);
      assertArrayEquals(expected.sha256(), CanonicalDigest.of(f), "forward, trial " + trial);

      BackwardRequest b = BackwardRequest.parseFrom(aliased(BackwardRequest.newBuilder()
          .setVersion(version).setModalityValue(modality).setTimeoutMs(timeout)
          .setCaller(caller).setInput(tensor(random)).setGradient(tensor(random)).build()
          .toByteArray()));
      Spec expectedBackward = head("backward" + domainSuffix, version, modality, timeout, caller)
          .tensor(b.getInput(), withData).tensor(b.getGradient(), withData);
      assertArrayEquals(expectedBackward.sha256(), CanonicalDigest.of(b),
          "backward, trial " + trial);
    }
  }

  private static Spec head(String domain, int version, int modality, int timeout, Caller caller) {
    return new Spec()
        .raw(("bittensor/v1/" + domain + "\0").getBytes(StandardCharsets.US_ASCII))
        .u32(version).u32(modality).u32(timeout).raw(caller.getPublicKey().toByteArray())
        .u32(caller.getNonce().size()).raw(caller.getNonce().toByteArray())
        .i64(caller.getTimestampMs());
  }

  /** 200 random answers, digested by the code and by the layout of "Signed answers" written out. */
  @Test
  void answerDigestsFollowTheSpecifiedLayout() throws Exception {
    Random random = new Random(20261205L);
    for (int trial = 0; trial < 200; trial++) {
      boolean forward = random.nextBoolean();
      byte[] request = new byte[32];
      byte[] key = new byte[32];
      random.nextBytes(request);
      random.nextBytes(key);
      Response.Builder rb = Response.newBuilder().setVersion(random.nextInt(3))
          .setStatus(random.nextInt(17)).setRetryAfterMs(random.nextInt(Integer.MAX_VALUE))
          .setField(random.nextBoolean() ? "" : "input.shape")
          .setMessage(random.nextBoolean() ? "" : "\u00e9t\u00e9 " + random.nextInt());
      boolean hasOutput = random.nextBoolean();
      boolean repeated = hasOutput && random.nextBoolean();
      if (hasOutput) {
        rb.setOutput(tensor(random).toBuilder().setRowsRepeated(repeated));
      }
      Response r = Response.parseFrom(aliased(rb.build().toByteArray()));
      byte[] field = r.getField().getBytes(StandardCharsets.UTF_8);
      byte[] message = r.getMessage().getBytes(StandardCharsets.UTF_8);
      Spec expected = new Spec()
          .raw(("bittensor/v1/" + (forward ? "forward" : "backward") + "/answer\0")
              .getBytes(StandardCharsets.US_ASCII))
          .raw(request).raw(key)
          .u32(r.getVersion()).u32(r.getStatus()).u32(r.getRetryAfterMs())
          .u32(field.length).raw(field).u32(message.length).raw(message)
          .raw(new byte[] {(byte) (hasOutput ? 1 : 0)});
      if (hasOutput) {
        expected.tensor(r.getOutput(), true);
      }
      if (repeated) {
        expected.raw(new byte[] {1}); // the data is the compact form: "Signed answers" says so
      }
      assertArrayEquals(expected.sha256(), CanonicalDigest.ofAnswer(forward, request, key, r),
          "trial " + trial);
    }
  }

  /**
   * 200 random ledger requests, digested by the code and by the layout {@code ledger.proto}
   * gives ("Signatures"): no test of the ledger's signatures could see a field left out, since
   * the client and the server would leave it out alike.
   */
  @Test
  void ledgerDigestsFollowTheSpecifiedLayout() throws Exception {
    Random random = new Random(20261206L);
    String[] ops = {"submit", "account", "metagraph", "events", "blocks", "genesis"};
    for (int trial = 0; trial < 200; trial++) {
      String op = ops[random.nextInt(ops.length)];
      byte[] body = new byte[random.nextInt(3) == 0 ? random.nextInt(5_000) : random.nextInt(40)];
      random.nextBytes(body);
      LedgerRequest r = LedgerRequest.parseFrom(aliased(LedgerRequest.newBuilder()
          .setVersion(random.nextInt(3)).setCaller(caller(random))
          .setBody(ByteString.copyFrom(body)).build().toByteArray()));
      Caller c = r.getCaller();
      Spec expected = new Spec()
          .raw(("bittensor/v1/ledger/" + op + "\0").getBytes(StandardCharsets.US_ASCII))
          .u32(r.getVersion()).raw(c.getPublicKey().toByteArray())
          .u32(c.getNonce().size()).raw(c.getNonce().toByteArray())
          .i64(c.getTimestampMs()).i64(body.length).raw(body);
      assertArrayEquals(expected.sha256(), CanonicalDigest.ofLedger(op, r),
          "trial " + trial + " (" + op + ")");
      // The signature is not part of what it signs.
      LedgerRequest resigned = r.toBuilder().setCaller(c.toBuilder()
          .setSignature(ByteString.copyFrom(new byte[64]))).build();
      assertArrayEquals(expected.sha256(), CanonicalDigest.ofLedger(op, resigned));
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
