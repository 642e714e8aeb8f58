package io.bittensor.transport.internal;

import io.bittensor.core.BackwardRequest;
import io.bittensor.core.BackwardResult;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Peer;
import io.bittensor.core.PeerId;
import io.bittensor.core.Status;
import io.bittensor.transport.CallEvent;
import io.bittensor.transport.CallListener;
import io.bittensor.transport.CallStart;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * A remote peer whose calls are heard: each gets a listener from the client's {@link
 * CallListener.Factory} as it starts, which hears it once it is over, with the status the caller
 * got. Wraps the client's own peer, so the blocking calls stay on the caller's thread.
 */
public final class ListenedPeer implements Peer {
  private final Peer peer;
  private final Optional<PeerId> callee;
  private final CallListener.Factory calls;

  /** @param callee the peer called, or null when it was connected by endpoint only */
  public ListenedPeer(Peer peer, PeerId callee, CallListener.Factory calls) {
    this.peer = peer;
    this.callee = Optional.ofNullable(callee);
    this.calls = calls;
  }

  @Override
  public CompletableFuture<ForwardResult> forward(ForwardRequest request) {
    CallListener call = started(true);
    long start = System.nanoTime();
    return listened(peer.forward(request), call, true, start);
  }

  @Override
  public CompletableFuture<ForwardResult> forward(ForwardRequest request, Duration timeout) {
    CallListener call = started(true);
    long start = System.nanoTime();
    return listened(peer.forward(request, timeout), call, true, start);
  }

  @Override
  public ForwardResult forwardAndWait(ForwardRequest request, Duration timeout) {
    CallListener call = started(true);
    long start = System.nanoTime();
    ForwardResult r = peer.forwardAndWait(request, timeout);
    heard(call, true, r, null, start);
    return r;
  }

  @Override
  public CompletableFuture<BackwardResult> backward(BackwardRequest request) {
    CallListener call = started(false);
    long start = System.nanoTime();
    return listened(peer.backward(request), call, false, start);
  }

  @Override
  public CompletableFuture<BackwardResult> backward(BackwardRequest request, Duration timeout) {
    CallListener call = started(false);
    long start = System.nanoTime();
    return listened(peer.backward(request, timeout), call, false, start);
  }

  @Override
  public BackwardResult backwardAndWait(BackwardRequest request, Duration timeout) {
    CallListener call = started(false);
    long start = System.nanoTime();
    BackwardResult r = peer.backwardAndWait(request, timeout);
    heard(call, false, r, null, start);
    return r;
  }

  /**
   * The peer's own future, heard when it completes: handing back that one, not a dependent,
   * keeps its caller's cancellation reaching the call.
   */
  private <T> CompletableFuture<T> listened(CompletableFuture<T> future,
      CallListener call, boolean forward, long start) {
    if (call != CallListener.NONE) {
      future.whenComplete((r, e) -> heard(call, forward, r, e, start));
    }
    return future;
  }

  /** The listener of a call starting now; NONE when the factory threw or made none. */
  private CallListener started(boolean forward) {
    try {
      CallListener call = calls.create(new CallStart(CallEvent.Side.CLIENT,
          forward ? CallEvent.Kind.FORWARD : CallEvent.Kind.BACKWARD, callee));
      return call != null ? call : CallListener.NONE;
    } catch (RuntimeException ignored) {
      return CallListener.NONE; // A factory must not throw; one that does must not stop the call.
    }
  }

  /**
   * @param result a ForwardResult or BackwardResult, or null if the future failed
   * @param failure why it failed (its caller cancelled it: the futures fail by no other way)
   */
  private void heard(CallListener call, boolean forward, Object result, Throwable failure,
      long start) {
    if (call == CallListener.NONE) {
      return;
    }
    Status status = result instanceof ForwardResult f ? f.status()
        : result instanceof BackwardResult b ? b.status()
        : failure instanceof java.util.concurrent.CancellationException ? Status.CANCELLED
        : Status.INTERNAL_ERROR;
    try {
      call.callEnd(new CallEvent(CallEvent.Side.CLIENT,
          forward ? CallEvent.Kind.FORWARD : CallEvent.Kind.BACKWARD, callee, status,
          Duration.ofNanos(Math.max(0, System.nanoTime() - start))));
    } catch (RuntimeException ignored) {
      // A listener must not throw; one that does must not break the call.
    }
  }

  @Override
  public String toString() {
    return peer.toString();
  }
}
