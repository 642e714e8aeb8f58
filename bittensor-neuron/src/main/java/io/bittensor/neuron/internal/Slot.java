package io.bittensor.neuron.internal;

import io.bittensor.core.BackwardRequest;
import io.bittensor.core.BackwardResult;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Peer;
import io.bittensor.core.PeerInfo;
import io.bittensor.core.Status;
import io.bittensor.core.internal.OutstandingCalls;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * A peer in a learner's list whose connection can be replaced when its endpoint changes, so that
 * the learner keeps its place and its scores. Its calls are tracked by the neuron's {@link
 * OutstandingCalls}: once the neuron closes they answer CANCELLED at once. Thread-safe.
 */
public final class Slot implements Peer {
  private static final ForwardResult CLOSED =
      ForwardResult.failure(Status.CANCELLED, "the neuron is closing");
  private static final BackwardResult CLOSED_BACKWARD =
      BackwardResult.failure(Status.CANCELLED, "the neuron is closing");

  private final OutstandingCalls calls;
  private volatile PeerInfo info;
  private volatile Peer target;

  /** A slot for {@code info}, connected through {@code target}, its calls kept in {@code calls}. */
  public Slot(PeerInfo info, Peer target, OutstandingCalls calls) {
    this.info = Objects.requireNonNull(info, "info");
    this.target = Objects.requireNonNull(target, "target");
    this.calls = Objects.requireNonNull(calls, "calls");
  }

  /** The peer's latest known info. */
  public PeerInfo info() {
    return info;
  }

  /** Points the slot at a new connection for the same peer. */
  public void rebind(PeerInfo info, Peer target) {
    this.target = Objects.requireNonNull(target, "target");
    this.info = Objects.requireNonNull(info, "info");
  }

  @Override
  public CompletableFuture<ForwardResult> forward(ForwardRequest request) {
    return calls.track(() -> target.forward(request), CLOSED);
  }

  @Override
  public CompletableFuture<ForwardResult> forward(ForwardRequest request, Duration timeout) {
    return calls.track(() -> target.forward(request, timeout), CLOSED);
  }

  @Override
  public CompletableFuture<BackwardResult> backward(BackwardRequest request) {
    return calls.track(() -> target.backward(request), CLOSED_BACKWARD);
  }

  @Override
  public CompletableFuture<BackwardResult> backward(BackwardRequest request, Duration timeout) {
    return calls.track(() -> target.backward(request, timeout), CLOSED_BACKWARD);
  }

  @Override
  public String toString() {
    return "slot " + info.endpoint();
  }
}
