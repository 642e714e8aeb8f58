package io.bittensor.transport.internal;

import io.bittensor.core.BackwardRequest;
import io.bittensor.core.BackwardResult;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Keypair;
import io.bittensor.core.PeerId;
import io.bittensor.core.PeerInfo;
import io.bittensor.core.Rejection;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.core.TensorStandard;
import io.bittensor.transport.internal.wire.Caller;
import io.bittensor.transport.internal.wire.Response;
import io.bittensor.transport.internal.wire.SignatureScope;
import java.time.Clock;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The caller's half of the protocol, shared by the HTTP client and the in-process transport:
 * builds (and signs) request messages, and reads responses back into results, checking answers
 * against the tensor standard.
 *
 * <p>Thread-safe.
 */
public final class ClientCore {
  private final Keypair keypair;
  private final Clock clock;
  private final TensorStandard standard;
  private final CallerSigner signer;
  private final SignatureScope scope;

  /**
   * A caller that signs over the whole request.
   *
   * @param keypair signs requests; null sends them anonymous
   * @param clock stamps requests
   * @param standard what answers must meet
   */
  public ClientCore(Keypair keypair, Clock clock, TensorStandard standard) {
    this(keypair, clock, standard, SignatureScope.WHOLE_REQUEST);
  }

  /**
   * @param keypair signs requests; null sends them anonymous
   * @param clock stamps requests
   * @param standard what answers must meet
   * @param scope what the signatures cover
   */
  public ClientCore(Keypair keypair, Clock clock, TensorStandard standard,
      SignatureScope scope) {
    this.keypair = keypair;
    this.clock = clock;
    this.standard = standard;
    this.signer = keypair == null ? null : new CallerSigner(keypair, clock);
    this.scope = scope;
  }

  /**
   * A request message as sent, with the canonical digest its signature was made over (null for
   * an anonymous request): a signed answer is checked against it without hashing the request
   * again.
   */
  public record Outgoing(com.google.protobuf.MessageLite message, byte[] signedDigest) {
    /** The request's canonical digest: the signed one, or computed now for an anonymous one. */
    public byte[] digest() {
      if (signedDigest != null) {
        return signedDigest;
      }
      if (message instanceof io.bittensor.transport.internal.wire.ForwardRequest f) {
        return CanonicalDigest.of(f);
      }
      return CanonicalDigest.of((io.bittensor.transport.internal.wire.BackwardRequest) message);
    }
  }

  /** The signed (or anonymous) wire form of a forward request. */
  public io.bittensor.transport.internal.wire.ForwardRequest message(
      ForwardRequest r, long timeoutMs) {
    return (io.bittensor.transport.internal.wire.ForwardRequest) outgoing(r, timeoutMs).message();
  }

  /** The signed (or anonymous) wire form of a backward request. */
  public io.bittensor.transport.internal.wire.BackwardRequest message(
      BackwardRequest r, long timeoutMs) {
    return (io.bittensor.transport.internal.wire.BackwardRequest) outgoing(r, timeoutMs).message();
  }

  /** The signed (or anonymous) wire form of a forward request, with its digest. */
  public Outgoing outgoing(ForwardRequest r, long timeoutMs) {
    io.bittensor.transport.internal.wire.ForwardRequest.Builder b =
        io.bittensor.transport.internal.wire.ForwardRequest.newBuilder()
            .setVersion(PeerInfo.PROTOCOL_VERSION)
            .setModalityValue(r.modality().code())
            .setInput(WireTensors.toWire(r.input()))
            .setTimeoutMs(clampTimeout(timeoutMs));
    byte[][] digest = new byte[1][];
    if (keypair != null) {
      b.setCaller(signedCaller(
          c -> digest[0] = CanonicalDigest.of(b.setCaller(c).buildPartial())));
    }
    return new Outgoing(b.build(), digest[0]);
  }

  /** The signed (or anonymous) wire form of a backward request, with its digest. */
  public Outgoing outgoing(BackwardRequest r, long timeoutMs) {
    io.bittensor.transport.internal.wire.BackwardRequest.Builder b =
        io.bittensor.transport.internal.wire.BackwardRequest.newBuilder()
            .setVersion(PeerInfo.PROTOCOL_VERSION)
            .setModalityValue(r.modality().code())
            .setInput(WireTensors.toWire(r.input()))
            .setGradient(WireTensors.toWire(r.gradient()))
            .setTimeoutMs(clampTimeout(timeoutMs));
    byte[][] digest = new byte[1][];
    if (keypair != null) {
      b.setCaller(signedCaller(
          c -> digest[0] = CanonicalDigest.of(b.setCaller(c).buildPartial())));
    }
    return new Outgoing(b.build(), digest[0]);
  }

  /** The caller's public key in hex, for the admission header; empty when anonymous. */
  public Optional<String> callerHex() {
    return keypair == null ? Optional.empty() : Optional.of(keypair.id().toHex());
  }

  /** Reads a forward response, checking a successful answer against the standard. */
  public ForwardResult forwardResult(Response resp, Tensor input) {
    return forwardResult(resp, input, null, null, null);
  }

  /**
   * Reads a forward response, checking a successful answer's signature ({@link AnswerSigning})
   * and then its output against the standard.
   *
   * @param signer the key a successful answer must be signed with; null checks no signature
   * @param requestDigest the canonical digest of the request as sent; called only to check
   * @param peer names the peer in messages
   */
  public ForwardResult forwardResult(Response resp, Tensor input, PeerId signer,
      Supplier<byte[]> requestDigest, Object peer) {
    Optional<Status> status = Status.ofCode(resp.getStatus());
    if (status.isEmpty()) {
      return ForwardResult.failure(Status.INTERNAL_ERROR, unknownStatus(resp));
    }
    if (!status.get().isSuccess()) {
      return ForwardResult.rejected(new Rejection(status.get(), resp.getField(),
          resp.getMessage()));
    }
    if (signer != null) {
      Optional<Rejection> unsigned =
          AnswerSigning.check(resp, true, signer, requestDigest, peer);
      if (unsigned.isPresent()) {
        return ForwardResult.rejected(unsigned.get());
      }
    }
    if (!resp.hasOutput()) {
      return ForwardResult.failure(Status.BAD_RESPONSE, "a successful answer without output");
    }
    Tensor output;
    try {
      output = WireTensors.outputFromWire(resp.getOutput(), "output", Status.BAD_RESPONSE,
          input.rank() >= 2 ? input.dim(0) : -1, input.rank() >= 2 ? input.dim(1) : -1);
    } catch (Rejected e) {
      return ForwardResult.rejected(new Rejection(Status.BAD_RESPONSE, e.rejection().field(),
          e.rejection().message()));
    }
    Optional<Rejection> bad = standard.checkOutput(input, output);
    return bad.map(ForwardResult::rejected).orElseGet(() -> ForwardResult.success(output));
  }

  /** Reads a backward response. */
  public BackwardResult backwardResult(Response resp) {
    return backwardResult(resp, null, null, null);
  }

  /**
   * Reads a backward response, checking a successful acknowledgement's signature as {@link
   * #forwardResult(Response, Tensor, PeerId, Supplier, Object)} does.
   */
  public BackwardResult backwardResult(Response resp, PeerId signer,
      Supplier<byte[]> requestDigest, Object peer) {
    Optional<Status> status = Status.ofCode(resp.getStatus());
    if (status.isEmpty()) {
      return BackwardResult.failure(Status.INTERNAL_ERROR, unknownStatus(resp));
    }
    if (signer != null) {
      Optional<Rejection> unsigned =
          AnswerSigning.check(resp, false, signer, requestDigest, peer);
      if (unsigned.isPresent()) {
        Rejection r = unsigned.get();
        return new BackwardResult(r.status(), r.field(), r.message());
      }
    }
    return new BackwardResult(status.get(), resp.getField(), resp.getMessage());
  }

  private static String unknownStatus(Response resp) {
    return "unknown status code " + Integer.toUnsignedString(resp.getStatus()) + ": "
        + resp.getMessage();
  }

  private Caller signedCaller(Function<Caller, byte[]> digestWith) {
    return signer.sign(scope, digestWith);
  }

  private static int clampTimeout(long timeoutMs) {
    return (int) Math.max(0, Math.min(timeoutMs, Integer.MAX_VALUE));
  }
}
