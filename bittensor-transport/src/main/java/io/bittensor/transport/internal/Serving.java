package io.bittensor.transport.internal;

import io.bittensor.core.PeerId;
import io.bittensor.core.Rejection;
import io.bittensor.core.Status;
import io.bittensor.transport.CallEvent;
import io.bittensor.transport.CallListener;
import io.bittensor.transport.StakeSource;
import io.bittensor.transport.internal.wire.Response;
import java.security.cert.X509Certificate;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * What a server front-end (HTTP or in-process) does before and around the pipeline: the payload
 * limit, admission by stake, and the slot's release when the answer is ready.
 *
 * <p>Thread-safe.
 */
public final class Serving {
  private final ServingCore core;
  private final Admission admission;
  private final StakeSource stakes;
  private final long maxPayloadBytes;
  private final long retryAfterMs;
  private final CallListener.Factory calls;

  public Serving(ServingCore core, Admission admission, StakeSource stakes, long maxPayloadBytes,
      long retryAfterMs) {
    this(core, admission, stakes, maxPayloadBytes, retryAfterMs, CallListener.Factory.NONE);
  }

  /** @param calls makes a listener for every call as it starts ({@link #started}) */
  public Serving(ServingCore core, Admission admission, StakeSource stakes, long maxPayloadBytes,
      long retryAfterMs, CallListener.Factory calls) {
    this.calls = calls;
    this.core = core;
    this.admission = admission;
    this.stakes = stakes;
    this.maxPayloadBytes = maxPayloadBytes;
    this.retryAfterMs = retryAfterMs;
  }

  public ServingCore core() {
    return core;
  }

  public long maxPayloadBytes() {
    return maxPayloadBytes;
  }

  /** A PAYLOAD_TOO_LARGE response for a body of {@code bytes}, or null when it fits. */
  public Response checkSize(long bytes) {
    if (bytes > maxPayloadBytes) {
      return Responses.of(Rejection.of(Status.PAYLOAD_TOO_LARGE,
          "the request has " + bytes + " bytes; this peer takes at most " + maxPayloadBytes));
    }
    return null;
  }

  /**
   * Admits a call by the stake of {@code hint}: {@code start} runs when a slot is free and must
   * lead to exactly one {@link #release()}; {@code reject} gets a BACKOFF response otherwise.
   */
  public void admit(PeerId hint, Runnable start, Consumer<Response> reject) {
    admission.submit(priority(hint), start,
        r -> reject.accept(Responses.backoff(r, retryAfterMs)));
  }

  /** Frees the slot of a call that {@link #admit} started. */
  public void release() {
    admission.release();
  }

  /**
   * Admits and serves a decoded request in one step (the in-process front-end's path).
   *
   * @param serve runs the pipeline once admitted
   */
  public <M> CompletableFuture<Response> admitAndServe(PeerId hint, M msg,
      Function<M, CompletableFuture<Response>> serve) {
    CompletableFuture<Response> out = new CompletableFuture<>();
    admit(hint, () -> {
      CompletableFuture<Response> r;
      try {
        r = serve.apply(msg);
      } catch (RuntimeException | Error e) { // the slot is released either way
        r = CompletableFuture.completedFuture(Responses.internal(e));
      }
      r.whenComplete((resp, e) -> {
        // The slot passes on first, but the call it passes to runs once this caller has its
        // answer: it must not wait for that call's peer (a model on this thread, say).
        Runnable next = admission.handOver();
        try {
          out.complete(resp != null ? resp : Responses.internal(e));
        } finally {
          next.run();
        }
      });
    }, out::complete);
    return out;
  }

  /**
   * A call arrived at {@code startNanos} ({@link System#nanoTime}): its listener, made now
   * ({@link CallListeners#start}), which each end of the call tells through the returned call.
   *
   * @param caller the caller the request names, or null
   * @param clientCertificate the certificate the caller showed in the TLS handshake, or null
   */
  public ServerCall started(boolean forward, PeerId caller, X509Certificate clientCertificate,
      long startNanos) {
    Optional<PeerId> named = Optional.ofNullable(caller);
    Optional<X509Certificate> shown = Optional.ofNullable(clientCertificate);
    CallListener listener =
        CallListeners.start(calls, CallEvent.Side.SERVER, forward, named, shown);
    return new ServerCall(listener, forward, named, shown, startNanos);
  }

  /** Whether anything hears calls: what only their events name need not be read otherwise. */
  public boolean listening() {
    return calls != CallListener.Factory.NONE;
  }

  /** The calls holding a slot now. */
  public int activeCalls() {
    return admission.running();
  }

  /** The calls waiting for a slot now. */
  public int queuedCalls() {
    return admission.queued();
  }

  /**
   * Turns away every waiting call with UNAVAILABLE, and every call that reaches admission from
   * now on (the server is closing).
   */
  public void shutdown() {
    admission.close(Rejection.of(Status.UNAVAILABLE, "the server is shutting down"));
  }

  private double priority(PeerId hint) {
    if (hint == null) {
      return Admission.ANONYMOUS;
    }
    try {
      double stake = stakes.stakeOf(hint);
      return Double.isNaN(stake) ? 0.0 : stake;
    } catch (RuntimeException | Error e) { // an Error too, so that the call is still heard
      return 0.0; // documented: a failing stake source counts as stake 0
    }
  }
}
