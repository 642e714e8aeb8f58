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
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * A remote peer whose calls a {@link CallListener} hears when they are over, with the status the
 * caller got. Wraps the client's own peer, so the blocking calls stay on the caller's thread.
 */
public final class ListenedPeer implements Peer {
  private final Peer peer;
  private final Optional<PeerId> callee;
  private final CallListener listener;

  /** @param callee the peer called, or null when it was connected by endpoint only */
  public ListenedPeer(Peer peer, PeerId callee, CallListener listener) {
    this.peer = peer;
    this.callee = Optional.ofNullable(callee);
    this.listener = listener;
  }

  @Override
  public CompletableFuture<ForwardResult> forward(ForwardRequest request) {
    long start = System.nanoTime();
    return listened(peer.forward(request), true, start);
  }

  @Override
  public CompletableFuture<ForwardResult> forward(ForwardRequest request, Duration timeout) {
    long start = System.nanoTime();
    return listened(peer.forward(request, timeout), true, start);
  }

  @Override
  public ForwardResult forwardAndWait(ForwardRequest request, Duration timeout) {
    long start = System.nanoTime();
    ForwardResult r = peer.forwardAndWait(request, timeout);
    heard(true, r, null, start);
    return r;
  }

  @Override
  public CompletableFuture<BackwardResult> backward(BackwardRequest request) {
    long start = System.nanoTime();
    return listened(peer.backward(request), false, start);
  }

  @Override
  public CompletableFuture<BackwardResult> backward(BackwardRequest request, Duration timeout) {
    long start = System.nanoTime();
    return listened(peer.backward(request, timeout), false, start);
  }

  @Override
  public BackwardResult backwardAndWait(BackwardRequest request, Duration timeout) {
    long start = System.nanoTime();
    BackwardResult r = peer.backwardAndWait(request, timeout);
    heard(false, r, null, start);
    return r;
  }

  /**
   * The peer's own future, heard when it completes: handing back that one, not a dependent,
   * keeps its caller's cancellation reaching the call.
   */
  private <T> CompletableFuture<T> listened(CompletableFuture<T> call, boolean forward,
      long start) {
    call.whenComplete((r, e) -> heard(forward, r, e, start));
    return call;
  }

  /**
   * @param result a ForwardResult or BackwardResult, or null if the future failed
   * @param failure why it failed (its caller cancelled it: the futures fail by no other way)
   */
  private void heard(boolean forward, Object result, Throwable failure, long start) {
    Status status = result instanceof ForwardResult f ? f.status()
        : result instanceof BackwardResult b ? b.status()
        : failure instanceof java.util.concurrent.CancellationException ? Status.CANCELLED
        : Status.INTERNAL_ERROR;
    try {
      listener.callEnd(new CallEvent(CallEvent.Side.CLIENT,
          forward ? CallEvent.Kind.FORWARD : CallEvent.Kind.BACKWARD, callee, status, Duration.ofNanos(Math.max(0, System.nanoTime() - start))));
    } catch (RuntimeException ignored) {
      // A listener must not throw; one that does must not break the call.
    }
  }

  @Override
  public String toString() {
    return peer.toString();
  }
}
