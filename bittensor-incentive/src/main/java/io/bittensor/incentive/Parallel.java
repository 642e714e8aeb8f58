package io.bittensor.incentive;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntConsumer;

/**
 * Runs numbered blocks of work on an optional executor, the calling thread taking part. Blocks
 * are claimed from a counter, so the call finishes even when the executor never runs a task
 * (saturated, or its only thread is the caller), or throws from {@code execute}: the caller then
 * does the blocks no task claimed itself.
 */
final class Parallel {
  private Parallel() {}

  /**
   * Runs {@code body} for {@code 0 .. count-1}, each exactly once, and returns when all are done.
   *
   * @param executor where helpers run; {@code null} runs every block on the calling thread
   */
  static void forEach(int count, Executor executor, IntConsumer body) {
    if (executor == null || count <= 1) {
      for (int b = 0; b < count; b++) {
        body.accept(b);
      }
      return;
    }
    AtomicInteger next = new AtomicInteger();
    CountDownLatch done = new CountDownLatch(count);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Runnable worker = () -> {
      for (int b; (b = next.getAndIncrement()) < count; ) {
        try {
          body.accept(b);
        } catch (Throwable t) {
          failure.compareAndSet(null, t);
        } finally {
          done.countDown();
        }
      }
    };
    for (int k = 1; k < count; k++) {
      try {
        executor.execute(worker);
      } catch (RuntimeException e) {
        // Rejected, or an executor breaking its contract (throwing anything else): the caller
        // does the rest, and still waits for the tasks already taken before returning.
        break;
      }
    }
    worker.run();
    boolean interrupted = false;
    while (true) {
      try {
        done.await();
        break;
      } catch (InterruptedException e) {
        interrupted = true; // blocks already claimed are running; wait for them
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    Throwable t = failure.get();
    if (t instanceof RuntimeException r) {
      throw r;
    }
    if (t instanceof Error e) {
      throw e;
    }
  }
}
