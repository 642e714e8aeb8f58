package io.bittensor.transport.internal;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.bittensor.core.Keypair;
import io.bittensor.core.PeerId;
import io.bittensor.core.Rejection;
import io.bittensor.core.Status;
import io.bittensor.transport.internal.wire.AnswerSigner;
import io.bittensor.transport.internal.wire.Response;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Signed answers ("Signed answers" in {@code peer.proto}): a server signs each SUCCESS answer
 * with its peer's key over the answer digest, which names the request answered; a client that
 * knows the key checks it.
 *
 * <p>Thread-safe (stateless).
 */
public final class AnswerSigning {
  private AnswerSigning() {}

  /**
   * The answer with its signer block when it is a SUCCESS and there is a key; otherwise the answer
   * as it is (failures are not signed).
   *
   * @param key signs; null signs nothing
   * @param requestDigest computes the request's canonical digest; called only to sign
   */
  public static Response sign(Response answer, boolean forward, Keypair key,
      Supplier<byte[]> requestDigest) {
    if (key == null || answer.getStatus() != Status.SUCCESS.code()) {
      return answer;
    }
    byte[] publicKey = key.id().toBytes();
    // The digest leaves the signer block out, so the answer is signed as it is.
    byte[] signature =
        key.sign(CanonicalDigest.ofAnswer(forward, requestDigest.get(), publicKey, answer));
    return answer.toBuilder().setSigner(AnswerSigner.newBuilder()
        .setPublicKey(ByteString.copyFrom(publicKey))
        .setSignature(UnsafeByteOperations.unsafeWrap(signature))).build();
  }

  /**
   * Why a SUCCESS answer is not {@code expected}'s own answer to the request, or empty when it is
   * (and for any answer that is not a SUCCESS: those are not signed).
   *
   * @param requestDigest computes the canonical digest of the request as sent; called only to
   *     check a signature
   * @param peer names the peer in the messages
   * @return a BAD_RESPONSE naming field {@code signer} when the answer is unsigned, signed by
   *     another key, or its signature does not verify
   */
  public static Optional<Rejection> check(Response answer, boolean forward, PeerId expected,
      Supplier<byte[]> requestDigest, Object peer) {
    if (answer.getStatus() != Status.SUCCESS.code()) {
      return Optional.empty();
    }
    if (!answer.hasSigner() || answer.getSigner().getPublicKey().isEmpty()) {
      return bad(peer + " answered without signing; answers from " + expected.toHex()
          + " must be signed by it");
    }
    ByteString key = answer.getSigner().getPublicKey();
    if (key.size() != PeerId.LENGTH) {
      return bad(peer + " signed its answer with a " + key.size()
          + "-byte key; an Ed25519 key has 32 bytes");
    }
    byte[] keyBytes = key.toByteArray();
    PeerId signer = PeerId.fromBytes(keyBytes);
    if (!signer.equals(expected)) {
      return bad(peer + " answered signed by " + signer.toHex() + ", not by the peer's key "
          + expected.toHex());
    }
    byte[] digest = CanonicalDigest.ofAnswer(forward, requestDigest.get(), keyBytes, answer);
    if (!signer.verify(digest, answer.getSigner().getSignature().toByteArray())) {
      return bad("the signature of " + peer + "'s answer does not verify against "
          + expected.toHex() + ": the answer was changed on the way, or answers another request");
    }
    return Optional.empty();
  }

  private static Optional<Rejection> bad(String message) {
    return Optional.of(new Rejection(Status.BAD_RESPONSE, "signer", message));
  }
}
