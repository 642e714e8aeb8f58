package io.bittensor.transport;

import io.bittensor.core.BackwardRequest;
import io.bittensor.core.BackwardResult;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Peer;
import io.bittensor.core.Tensor;
import io.bittensor.core.TensorStandard;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/** Peers that misbehave on purpose, for tests. */
final class TestPeers {
  private TestPeers() {}

  /** Never completes its futures, forward or backward. */
  static Peer silent() {
    return new Peer() {
      @Override
      public CompletableFuture<ForwardResult> forward(ForwardRequest request) {
        return new CompletableFuture<>();
      }

      @Override
      public CompletableFuture<BackwardResult> backward(BackwardRequest request) {
        return new CompletableFuture<>();
      }
    };
  }

  /** As {@link #silent()}, counting {@code asked} down at each forward it is asked. */
  static Peer silent(java.util.concurrent.CountDownLatch asked) {
    return request -> {
      asked.countDown();
      return new CompletableFuture<>();
    };
  }

  /** Answers zeros of the standard shape after {@code millis}, without holding a thread. */
  static Peer delayed(long millis, int outputDim) {
    Executor later = CompletableFuture.delayedExecutor(millis, TimeUnit.MILLISECONDS);
    return request -> CompletableFuture.supplyAsync(
        () -> ForwardResult.success(TensorStandard.of(outputDim).zeros(request.input())), later);
  }

  /** Throws from forward. */
  static Peer throwing() {
    return request -> {
      throw new IllegalStateException("model exploded");
    };
  }

  /** Answers a tensor of the given (wrong) shape. */
  static Peer answering(Tensor answer) {
    return request -> CompletableFuture.completedFuture(ForwardResult.success(answer));
  }

  /** Records the first element of every input it is asked, then answers like {@code inner}. */
  static final class Recording implements Peer {
    final List<Long> seen = new CopyOnWriteArrayList<>();
    private final Peer inner;

    Recording(Peer inner) {
      this.inner = inner;
    }

    @Override
    public CompletableFuture<ForwardResult> forward(ForwardRequest request) {
      seen.add(request.input().longAt(0));
      return inner.forward(request);
    }
  }
}
