package io.bittensor.core;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import io.bittensor.core.internal.Deadlines;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Sends one request to many peers at once and collects every answer (paper, section 5, steps
 * 2-3): the query costs about the slowest peer, not the sum, and a dead or slow peer costs at
 * most the timeout and counts as zeros.
 *
 * <pre>{@code
 * List<Peer> peers = ...;
 * ForwardRequest request = ...;
 * FanOut fanOut = FanOut.of(TensorStandard.of(512));
 * List<QueryResult> rs = fanOut.query(peers, request, Duration.ofMillis(500)).join();
 * long answered = rs.stream().filter(QueryResult::isSuccess).count();
 * }</pre>
 *
 * <p>Thread-safe and stateless apart from its settings; it starts no threads of its own
 * (deadlines fire on the library's one shared timer thread). Results come back in the order of
 * {@code peers}.
 */
public final class FanOut {
  private final TensorStandard standard;
  private final LongSupplier nanoTime;

  private FanOut(TensorStandard standard, LongSupplier nanoTime) {
    this.standard = standard;
    this.nanoTime = nanoTime;
  }

  /**
   * A fan-out whose failed peers count as zeros of {@code standard}'s shape.
   *
   * @param standard fixes {@code outputDim}; must not be {@link TensorStandard#anyOutputDim()}
   * @throws IllegalArgumentException if {@code standard.outputDim()} is 0
   */
  public static FanOut of(TensorStandard standard) {
    return of(standard, System::nanoTime);
  }

  /**
   * As {@link #of(TensorStandard)}, with the clock latencies are measured on (for tests).
   *
   * @param nanoTime a monotonic clock in nanoseconds, like {@link System#nanoTime()}
   */
  public static FanOut of(TensorStandard standard, LongSupplier nanoTime) {
    Objects.requireNonNull(standard, "standard");
    Objects.requireNonNull(nanoTime, "nanoTime");
    if (standard.outputDim() == 0) {
      throw new IllegalArgumentException(
          "a fan-out needs a fixed outputDim for the zeros of failed peers, was 0 (any)");
    }
    return new FanOut(standard, nanoTime);
  }

  /**
   * Asks every peer in parallel.
   *
   * @param peers who to ask; not modified; may be empty
   * @param request the batch; its input must have at least rank 2
   * @param timeout how long to wait for each peer; positive
   * @return a result per peer, in the order of {@code peers}; completes within about
   *     {@code timeout}, never exceptionally
   * @throws IllegalArgumentException if {@code timeout} is not positive or the input's rank is
   *     below 2
   */
  public CompletableFuture<List<QueryResult>> query(
      List<? extends Peer> peers, ForwardRequest request, Duration timeout) {
    Objects.requireNonNull(peers, "peers");
    Objects.requireNonNull(request, "request");
    long ms = Deadlines.millis(timeout);
    Tensor zeros = standard.zeros(request.input());
    for (Peer peer : peers) {
      // All checked first: a null found part way would leave the calls made before it running.
      Objects.requireNonNull(peer, "peers contains null");
    }
    long start = nanoTime.getAsLong();
    List<CompletableFuture<QueryResult>> parts = new ArrayList<>(peers.size());
    for (Peer peer : peers) {
      CompletableFuture<ForwardResult> call;
      try {
        call = peer.forward(request, timeout);
      } catch (RuntimeException e) {
        call = CompletableFuture.completedFuture(failed(e));
      }
      CompletableFuture<ForwardResult> bounded = Deadlines.bound(
          call == null ? CompletableFuture.completedFuture(
              ForwardResult.failure(Status.INTERNAL_ERROR, "the peer returned no future"))
              : call,
          ms, ForwardResult.failure(Status.TIMEOUT, "no answer within " + ms + " ms"));
      parts.add(bounded.handle((r, e) -> {
        ForwardResult result = e != null ? failed(e) : r != null ? r
            : ForwardResult.failure(Status.INTERNAL_ERROR, "the peer answered null");
        Tensor output = result.isSuccess() ? result.output().orElseThrow() : zeros;
        Duration latency = Duration.ofNanos(nanoTime.getAsLong() - start);
        return new QueryResult(peer, result, output, latency);
      }));
    }
    return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new))
        .thenApply(v -> parts.stream().map(CompletableFuture::join).toList());
  }

  /**
   * As {@link #query}, waiting for the results on this thread.
   *
   * @throws IllegalArgumentException as {@link #query}
   */
  public List<QueryResult> queryAndWait(
      List<? extends Peer> peers, ForwardRequest request, Duration timeout) {
    // A safety margin past the per-peer deadlines, should a delayer thread be late.
    return query(peers, request, timeout)
        .orTimeout(Deadlines.millis(timeout) + 10_000, TimeUnit.MILLISECONDS)
        .join();
  }

  private static ForwardResult failed(Throwable e) {
    Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    if (cause instanceof java.util.concurrent.CancellationException) {
      return ForwardResult.failure(Status.CANCELLED, "the call was cancelled");
    }
    return ForwardResult.failure(Status.INTERNAL_ERROR,
        "the peer failed: " + cause.getClass().getSimpleName()
            + (cause.getMessage() == null ? "" : ": " + cause.getMessage()));
  }
}
