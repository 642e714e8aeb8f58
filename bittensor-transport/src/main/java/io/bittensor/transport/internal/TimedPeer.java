package io.bittensor.transport.internal;

import io.bittensor.core.BackwardRequest;
import io.bittensor.core.BackwardResult;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Peer;
import io.bittensor.core.Rejection;
import io.bittensor.core.Status;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;

/**
 * A remote peer whose calls without a deadline get the client's default one, and whose calls
 * once its client is closed are UNAVAILABLE without being made.
 */
abstract class TimedPeer implements Peer {
  private final Duration defaultTimeout;
  private final BooleanSupplier clientClosed;

  /** @param clientClosed whether the client this peer came from is closed */
  TimedPeer(Duration defaultTimeout, BooleanSupplier clientClosed) {
    this.defaultTimeout = defaultTimeout;
    this.clientClosed = clientClosed;
  }

  /** Why a call is not made: its client is closed; or null to make it. */
  final Rejection closed(Object endpoint) {
    return clientClosed.getAsBoolean()
        ? Rejection.of(Status.UNAVAILABLE, "the client is closed: " + endpoint + " is not called")
        : null;
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
