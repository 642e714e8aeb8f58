package io.bittensor.neuron.internal;

import io.bittensor.core.BackwardRequest;
import io.bittensor.core.BackwardResult;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Peer;
import io.bittensor.core.PeerInfo;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * A peer in a learner's list whose connection can be replaced when its endpoint changes, so that
 * the learner keeps its place and its scores. Thread-safe.
 */
public final class Slot implements Peer {
  private volatile PeerInfo info;
  private volatile Peer target;

  /** A slot for {@code info}, connected through {@code target}. */
  public Slot(PeerInfo info, Peer target) {
    this.info = Objects.requireNonNull(info, "info");
    this.target = Objects.requireNonNull(target, "target");
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
    return target.forward(request);
  }

  @Override
  public CompletableFuture<ForwardResult> forward(ForwardRequest request, Duration timeout) {
    return target.forward(request, timeout);
  }

  @Override
  public CompletableFuture<BackwardResult> backward(BackwardRequest request) {
    return target.backward(request);
  }

  @Override
  public CompletableFuture<BackwardResult> backward(BackwardRequest request, Duration timeout) {
    return target.backward(request, timeout);
  }

  @Override
  public String toString() {
    return "slot " + info.endpoint();
  }
}
