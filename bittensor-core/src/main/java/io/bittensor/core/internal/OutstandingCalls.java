package io.bittensor.core.internal;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Calls made and not yet heard back from, so that closing their owner ends them at once:
 * {@link #cancelAll} completes each with its cancelled result (and cancels the call underneath,
 * which over HTTP stops it), and a call made afterwards gets that result without being made. A
 * neuron's step waiting on a peer that does not answer thus ends when the neuron closes, and a
 * client's in-process calls when the client closes, not at the call's deadline.
 *
 * <p>Internal: shared with sibling modules; users must not import it. Thread-safe.
 */
public final class OutstandingCalls {
  /** Each call's future, as handed out, and what ends it. */
  private final Map<CompletableFuture<?>, Runnable> pending = new ConcurrentHashMap<>();
  private volatile boolean cancelled;

  /**
   * Makes {@code call} unless the calls are cancelled, and hands out a future of its result
   * that {@link #cancelAll} completes with {@code whenCancelled}.
   */
  public <T> CompletableFuture<T> track(Supplier<CompletableFuture<T>> call, T whenCancelled) {
    if (cancelled) {
      return CompletableFuture.completedFuture(whenCancelled);
    }
    CompletableFuture<T> underneath = call.get();
    CompletableFuture<T> out = new CompletableFuture<>();
    pending.put(out, () -> {
      out.complete(whenCancelled);
      underneath.cancel(false);
    });
    underneath.whenComplete((result, error) -> {
      pending.remove(out);
      if (error == null) {
        out.complete(result);
      } else {
        out.completeExceptionally(error);
      }
    });
    if (cancelled) {
      // cancelAll ran while this call was being made, and may have missed it.
      end(out);
    }
    return out;
  }

  /** Ends every call in flight with its cancelled result; later calls are not made. Idempotent. */
  public void cancelAll() {
    cancelled = true;
    for (CompletableFuture<?> f : pending.keySet()) {
      end(f);
    }
  }

  private void end(CompletableFuture<?> f) {
    Runnable cancel = pending.remove(f);
    if (cancel != null) {
      cancel.run();
    }
  }
}
