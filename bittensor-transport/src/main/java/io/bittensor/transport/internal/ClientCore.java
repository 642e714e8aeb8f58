package io.bittensor.transport.internal;

import io.bittensor.core.BackwardRequest;
import io.bittensor.core.BackwardResult;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Keypair;
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

  /** The signed (or anonymous) wire form of a forward request. */
  public io.bittensor.transport.internal.wire.ForwardRequest message(
      ForwardRequest r, long timeoutMs) {
    io.bittensor.transport.internal.wire.ForwardRequest.Builder b =
        io.bittensor.transport.internal.wire.ForwardRequest.newBuilder()
            .setVersion(PeerInfo.PROTOCOL_VERSION)
            .setModalityValue(r.modality().code())
            .setInput(WireTensors.toWire(r.input()))
            .setTimeoutMs(clampTimeout(timeoutMs));
    if (keypair != null) {
      b.setCaller(signedCaller(c -> CanonicalDigest.of(b.setCaller(c).buildPartial())));
    }
    return b.build();
  }

  /** The signed (or anonymous) wire form of a backward request. */
  public io.bittensor.transport.internal.wire.BackwardRequest message(
      BackwardRequest r, long timeoutMs) {
    io.bittensor.transport.internal.wire.BackwardRequest.Builder b =
        io.bittensor.transport.internal.wire.BackwardRequest.newBuilder()
            .setVersion(PeerInfo.PROTOCOL_VERSION)
            .setModalityValue(r.modality().code())
            .setInput(WireTensors.toWire(r.input()))
            .setGradient(WireTensors.toWire(r.gradient()))
            .setTimeoutMs(clampTimeout(timeoutMs));
    if (keypair != null) {
      b.setCaller(signedCaller(c -> CanonicalDigest.of(b.setCaller(c).buildPartial())));
    }
    return b.build();
  }

  /** The caller's public key in hex, for the admission header; empty when anonymous. */
  public Optional<String> callerHex() {
    return keypair == null ? Optional.empty() : Optional.of(keypair.id().toHex());
  }

  /** Reads a forward response, checking a successful answer against the standard. */
  public ForwardResult forwardResult(Response resp, Tensor input) {
    Optional<Status> status = Status.ofCode(resp.getStatus());
    if (status.isEmpty()) {
      return ForwardResult.failure(Status.INTERNAL_ERROR, unknownStatus(resp));
    }
    if (!status.get().isSuccess()) {
      return ForwardResult.rejected(new Rejection(status.get(), resp.getField(),
          resp.getMessage()));
    }
    if (!resp.hasOutput()) {
      return ForwardResult.failure(Status.BAD_RESPONSE, "a successful answer without output");
    }
    Tensor output;
    try {
      output = WireTensors.fromWire(resp.getOutput(), "output", Status.BAD_RESPONSE);
    } catch (Rejected e) {
      return ForwardResult.rejected(new Rejection(Status.BAD_RESPONSE, e.rejection().field(),
          e.rejection().message()));
    }
    Optional<Rejection> bad = standard.checkOutput(input, output);
    return bad.map(ForwardResult::rejected).orElseGet(() -> ForwardResult.success(output));
  }

  /** Reads a backward response. */
  public BackwardResult backwardResult(Response resp) {
    Optional<Status> status = Status.ofCode(resp.getStatus());
    if (status.isEmpty()) {
      return BackwardResult.failure(Status.INTERNAL_ERROR, unknownStatus(resp));
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
