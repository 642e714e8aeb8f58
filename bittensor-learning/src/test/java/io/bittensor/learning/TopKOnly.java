package io.bittensor.learning;

import io.bittensor.core.ForwardRequest;
import io.bittensor.core.Gated;
import io.bittensor.core.GatingLayer;
import io.bittensor.core.Peer;
import io.bittensor.core.PeerGradient;
import io.bittensor.core.Tensor;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A gate of someone else's: {@link NoisyTopKGate}'s behaviour through the interface alone, so
 * without its stand-ins and its checkpoints.
 */
final class TopKOnly implements GatingLayer {
  private final NoisyTopKGate inner;

  TopKOnly(NoisyTopKGate inner) {
    this.inner = inner;
  }

  @Override
  public List<Peer> peers() {
    return inner.peers();
  }

  @Override
  public int k() {
    return inner.k();
  }

  @Override
  public CompletableFuture<Gated> forward(
      ForwardRequest request, Tensor context, boolean training, Duration timeout) {
    return inner.forward(request, context, training, timeout);
  }

  @Override
  public List<PeerGradient> backward(Gated forward, Tensor gradient) {
    return inner.backward(forward, gradient);
  }

  @Override
  public void step() {
    inner.step();
  }

  @Override
  public double[] importance() {
    return inner.importance();
  }
}
