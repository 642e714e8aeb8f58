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
import java.util.function.Supplier;

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
    return listened(true, () -> peer.forward(request));
  }

  @Override
  public CompletableFuture<ForwardResult> forward(ForwardRequest request, Duration timeout) {
    return listened(true, () -> peer.forward(request, timeout));
  }

  @Override
  public ForwardResult forwardAndWait(ForwardRequest request, Duration timeout) {
    return listenedNow(true, () -> peer.forwardAndWait(request, timeout));
  }

  @Override
  public CompletableFuture<BackwardResult> backward(BackwardRequest request) {
    return listened(false, () -> peer.backward(request));
  }

  @Override
  public CompletableFuture<BackwardResult> backward(BackwardRequest request, Duration timeout) {
    return listened(false, () -> peer.backward(request, timeout));
  }

  @Override
  public BackwardResult backwardAndWait(BackwardRequest request, Duration timeout) {
    return listenedNow(false, () -> peer.backwardAndWait(request, timeout));
  }

  /**
   * Makes the call, heard from now until its future completes. The peer's own future is handed
   * back, not a dependent, so that its caller's cancellation reaches the call.
   */
  private <T> CompletableFuture<T> listened(boolean forward,
      Supplier<CompletableFuture<T>> call) {
    CallListener listener = CallListeners.start(calls, CallEvent.Side.CLIENT, forward, callee);
    long start = System.nanoTime();
    CompletableFuture<T> future;
    try {
      future = call.get();
    } catch (RuntimeException | Error e) {
      thrown(listener, forward, e, start);
      throw e;
    }
    if (listener != CallListener.NONE) {
      future.whenComplete((r, e) -> heard(listener, forward, r, e, start));
    }
    return future;
  }

  /** Makes a blocking call on this thread, heard from now until it returns. */
  private <T> T listenedNow(boolean forward, Supplier<T> call) {
    CallListener listener = CallListeners.start(calls, CallEvent.Side.CLIENT, forward, callee);
    long start = System.nanoTime();
    T result;
    try {
      result = call.get();
    } catch (RuntimeException | Error e) {
      thrown(listener, forward, e, start);
      throw e;
    }
    heard(listener, forward, result, null, start);
    return result;
  }

  /**
   * The call threw instead of being made: its arguments refused (a timeout that is not
   * positive, a null request). Its listener hears the end all the same, or a count of the calls
   * in flight that it keeps would never come down.
   */
  private void thrown(CallListener listener, boolean forward, Throwable e, long start) {
    CallListeners.end(listener, CallEvent.Side.CLIENT, forward, callee,
        e instanceof RuntimeException ? Status.BAD_REQUEST : Status.INTERNAL_ERROR, start);
  }

  /**
   * @param result a ForwardResult or BackwardResult, or null if the future failed
   * @param failure why it failed (its caller cancelled it: the futures fail by no other way)
   */
  private void heard(CallListener listener, boolean forward, Object result, Throwable failure,
      long start) {
    Status status = result instanceof ForwardResult f ? f.status()
        : result instanceof BackwardResult b ? b.status()
        : failure instanceof java.util.concurrent.CancellationException ? Status.CANCELLED
        : Status.INTERNAL_ERROR;
    CallListeners.end(listener, CallEvent.Side.CLIENT, forward, callee, status, start);
  }

  @Override
  public String toString() {
    return peer.toString();
  }
}
