package io.bittensor.core.internal;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * Puts a deadline on a future without blocking a thread ({@link Timer#SHARED} fires it).
 *
 * <p>Internal: shared with sibling modules; users must not import it.
 */
public final class Deadlines {
  private Deadlines() {}

  /** Longer timeouts are clamped to this (about 73 years, as {@link Timer} clamps delays). */
  static final long MAX_MILLIS = TimeUnit.NANOSECONDS.toMillis(Long.MAX_VALUE >> 2);

  /**
   * The positive milliseconds of {@code timeout} (at least 1, at most about 73 years: a huge
   * timeout such as {@code Duration.ofSeconds(Long.MAX_VALUE)} means "no deadline to speak of",
   * and leaves callers room to add a margin without overflow).
   */
  public static long millis(Duration timeout) {
    if (timeout == null || timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive, was " + timeout);
    }
    if (timeout.getSeconds() >= MAX_MILLIS / 1000) {
      return MAX_MILLIS; // toMillis() would throw ArithmeticException past Long.MAX_VALUE ms
    }
    return Math.max(1, timeout.toMillis());
  }

  /** {@code d} in nanoseconds, or {@link Long#MAX_VALUE} for one longer than that (no limit). */
  public static long saturatedNanos(Duration d) {
    return d.compareTo(Duration.ofNanos(Long.MAX_VALUE)) >= 0 ? Long.MAX_VALUE : d.toNanos();
  }

  /** {@code d} in milliseconds, or {@link Long#MAX_VALUE} for one longer than that (no limit). */
  public static long saturatedMillis(Duration d) {
    return d.compareTo(Duration.ofMillis(Long.MAX_VALUE)) >= 0 ? Long.MAX_VALUE : d.toMillis();
  }

  /**
   * A future that completes as {@code call} does, or with {@code onTimeout} after {@code ms};
   * then, or when the result is cancelled, {@code call} is cancelled too. At the deadline the
   * call is cancelled before the result completes, so whoever waits on the result finds the call
   * already cancelled.
   */
  public static <T> CompletableFuture<T> bound(CompletableFuture<T> call, long ms, T onTimeout) {
    CompletableFuture<T> out = new CompletableFuture<>();
    AtomicBoolean late = new AtomicBoolean();
    call.whenComplete((r, e) -> {
      if (late.get()) {
        out.complete(onTimeout);
      } else if (e != null) {
        out.completeExceptionally(e);
      } else {
        out.complete(r);
      }
    });
    Timer.Timeout deadline = Timer.SHARED.schedule(ms, TimeUnit.MILLISECONDS, () -> {
      late.set(true);
      call.cancel(true);
      out.complete(onTimeout);
    });
    // An early result cancels the deadline.
    out.whenComplete((r, e) -> {
      deadline.cancel();
      call.cancel(true);
    });
    return out;
  }

  /**
   * Starts {@code start} and waits for its future on the calling thread. A thread already
   * interrupted starts nothing; an interrupt while waiting cancels the call; both set the
   * thread's interrupt flag again and give {@code onInterrupt}. A call that completed
   * exceptionally (which no peer's contract allows) throws as {@code join()} would.
   */
  public static <T> T await(Supplier<CompletableFuture<T>> start, T onInterrupt) {
    if (Thread.currentThread().isInterrupted()) {
      return onInterrupt;
    }
    CompletableFuture<T> call = start.get();
    try {
      return call.get();
    } catch (InterruptedException e) {
      call.cancel(true);
      Thread.currentThread().interrupt();
      return onInterrupt;
    } catch (ExecutionException e) {
      throw new CompletionException(e.getCause());
    }
  }
}
