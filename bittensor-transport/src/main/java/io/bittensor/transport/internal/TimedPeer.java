package io.bittensor.transport.internal;

import io.bittensor.core.BackwardRequest;
import io.bittensor.core.BackwardResult;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Peer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/** A remote peer whose calls without a deadline get the client's default one. */
abstract class TimedPeer implements Peer {
  private final Duration defaultTimeout;

  TimedPeer(Duration defaultTimeout) {
    this.defaultTimeout = defaultTimeout;
  }

  @Override
  public final CompletableFuture<ForwardResult> forward(ForwardRequest request) {
    return forward(request, defaultTimeout);
  }

  @Override
  public final CompletableFuture<BackwardResult> backward(BackwardRequest request) {
    return backward(request, defaultTimeout);
  }

  @Override
  public abstract CompletableFuture<ForwardResult> forward(ForwardRequest r, Duration timeout);

  @Override
  public abstract CompletableFuture<BackwardResult> backward(BackwardRequest r, Duration timeout);
}
