package io.bittensor.examples;

import io.bittensor.core.BackwardRequest;
import io.bittensor.core.BackwardResult;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Peer;
import io.bittensor.core.Status;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

/**
 * A peer that often does not answer in time: each call, with a seeded probability, either never
 * answers (the caller's deadline turns it into TIMEOUT, as a stalled server's would) or answers
 * TIMEOUT at once (as a server whose own deadline passed in its queue does, and costs no waiting).
 * Otherwise the wrapped peer answers.
 *
 * <pre>{@code
 * OnnxPeer onnxPeer = OnnxPeer.builder().model(Path.of("mlp.onnx"))...build();
 * Peer flaky = new FlakyPeer(onnxPeer, 0.5, 7, true);
 * }</pre>
 *
 * <p>Thread-safe. Whether a call fails is drawn from the seed and the request's input, not from
 * the order of the calls, so the same request meets the same fate in every run and through every
 * transport.
 */
public final class FlakyPeer implements Peer {
  private final Peer inner;
  private final double failRate;
  private final boolean hang;
  private final long seed;

  /**
   * A flaky wrapper.
   *
   * @param failRate the probability that a call times out, in [0, 1]
   * @param seed the seed of the draws
   * @param hang true: a failing call never answers; false: it answers TIMEOUT at once
   * @throws IllegalArgumentException if {@code failRate} is outside [0, 1]
   */
  public FlakyPeer(Peer inner, double failRate, long seed, boolean hang) {
    if (!(failRate >= 0 && failRate <= 1)) {
      throw new IllegalArgumentException("failRate must be in [0, 1], was " + failRate);
    }
    this.inner = inner;
    this.failRate = failRate;
    this.hang = hang;
    this.seed = seed;
  }

  @Override
  public CompletableFuture<ForwardResult> forward(ForwardRequest request) {
    return fails(request) ? timeout() : inner.forward(request);
  }

  @Override
  public CompletableFuture<ForwardResult> forward(ForwardRequest request, Duration timeout) {
    // A failure goes through Peer's own deadline, which checks the timeout and ends a hang.
    return fails(request) ? Peer.super.forward(request, timeout)
        : inner.forward(request, timeout);
  }

  @Override
  public CompletableFuture<BackwardResult> backward(BackwardRequest request) {
    return inner.backward(request);
  }

  private boolean fails(ForwardRequest request) {
    int content = request.input().data().hashCode();  // the bytes, not identity
    return new SplittableRandom(seed * 31 + content).nextDouble() < failRate;
  }

  private CompletableFuture<ForwardResult> timeout() {
    return hang ? new CompletableFuture<>() : CompletableFuture.completedFuture(
        ForwardResult.failure(Status.TIMEOUT, "the answer did not come in time"));
  }

  @Override
  public String toString() {
    return "FlakyPeer[" + failRate + ", " + inner + "]";
  }
}
