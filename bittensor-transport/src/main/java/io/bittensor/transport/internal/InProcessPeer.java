package io.bittensor.transport.internal;

import io.bittensor.core.BackwardRequest;
import io.bittensor.core.BackwardResult;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.PeerId;
import io.bittensor.core.Rejection;
import io.bittensor.core.Status;
import io.bittensor.core.internal.Deadlines;
import io.bittensor.core.internal.OutstandingCalls;
import io.bittensor.transport.internal.wire.Response;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * A peer served in this JVM, reached through the same request messages, signatures, checks and
 * admission as over HTTP, minus the bytes: messages are handed over as objects.
 *
 * <p>Thread-safe.
 */
public final class InProcessPeer extends TimedPeer {
  private static final String CLOSED = "the client was closed with the call in flight";
  private final URI endpoint;
  private final Function<String, Serving> lookup;
  private final ClientCore core;
  private final PeerId caller;
  private final PeerId signer;
  private final OutstandingCalls inFlight;

  /**
   * @param caller the client's key, or null when it calls anonymous
   * @param signer the key successful answers must be signed with, or null to check none
   * @param clientClosed whether the client is closed: then every call is UNAVAILABLE unmade
   * @param inFlight where calls are tracked, for the client's close() to cancel them
   */
  public InProcessPeer(URI endpoint, Function<String, Serving> lookup, ClientCore core,
      Duration defaultTimeout, PeerId caller, PeerId signer, BooleanSupplier clientClosed,
      OutstandingCalls inFlight) {
    super(defaultTimeout, clientClosed);
    this.inFlight = inFlight;
    this.endpoint = endpoint;
    this.lookup = lookup;
    this.core = core;
    this.caller = caller;
    this.signer = signer;
  }


  @Override
  public CompletableFuture<ForwardResult> forward(ForwardRequest request, Duration timeout) {
    Rejection closed = closed(endpoint);
    if (closed != null) {
      return CompletableFuture.completedFuture(ForwardResult.rejected(closed));
    }
    long ms = Deadlines.millis(timeout);
    ClientCore.Outgoing sent = core.outgoing(request, ms);
    var msg = (io.bittensor.transport.internal.wire.ForwardRequest) sent.message();
    CompletableFuture<ForwardResult> out =
        serve(true, msg.getSerializedSize(), msg,
            (s, m, call) -> s.core().forward(m, caller, null, false, call.startNanos(),
                call::proved))
            .thenApply(r -> core.forwardResult(r, request.input(), signer, sent::digest,
                endpoint));
    return inFlight.track(() -> Deadlines.bound(out, ms,
        ForwardResult.failure(Status.TIMEOUT, "no answer within " + ms + " ms")),
        ForwardResult.failure(Status.CANCELLED, CLOSED));
  }

  @Override
  public CompletableFuture<BackwardResult> backward(BackwardRequest request, Duration timeout) {
    Rejection closed = closed(endpoint);
    if (closed != null) {
      return CompletableFuture.completedFuture(BackwardResult.rejected(closed));
    }
    long ms = Deadlines.millis(timeout);
    ClientCore.Outgoing sent = core.outgoing(request, ms);
    var msg = (io.bittensor.transport.internal.wire.BackwardRequest) sent.message();
    CompletableFuture<BackwardResult> out =
        serve(false, msg.getSerializedSize(), msg,
            (s, m, call) -> s.core().backward(m, caller, call.startNanos(), call::proved))
            .thenApply(r -> core.backwardResult(r, signer, sent::digest, endpoint));
    return inFlight.track(() -> Deadlines.bound(out, ms,
        BackwardResult.failure(Status.TIMEOUT, "no acknowledgement within " + ms + " ms")),
        BackwardResult.failure(Status.CANCELLED, CLOSED));
  }

  private <M> CompletableFuture<Response> serve(boolean forward, long size, M msg,
      Pipeline<M> pipeline) {
    long start = System.nanoTime();
    Serving s = lookup.apply(endpoint.getAuthority());
    if (s == null) {
      return CompletableFuture.completedFuture(Responses.of(io.bittensor.core.Rejection.of(
          Status.UNAVAILABLE, "nothing is served at " + endpoint)));
    }
    ServerCall call = s.started(forward, caller, null, start);
    Response tooLarge = s.checkSize(size);
    if (tooLarge != null) {
      call.heard(tooLarge);
      return CompletableFuture.completedFuture(tooLarge);
    }
    // The server's listener hears the answer before this client's caller gets it, as over HTTP.
    return s.admitAndServe(caller, msg, m -> pipeline.serve(s, m, call))
        .thenApply(r -> {
          call.heard(r);
          return r;
        });
  }


  /** The serving core's step for one kind of request, told the call it serves. */
  @FunctionalInterface
  private interface Pipeline<M> {
    CompletableFuture<Response> serve(Serving serving, M msg, ServerCall call);
  }

  @Override
  public String toString() {
    return "InProcessPeer[" + endpoint + "]";
  }
}
