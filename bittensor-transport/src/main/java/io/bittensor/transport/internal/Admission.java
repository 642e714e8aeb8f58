package io.bittensor.transport.internal;

import io.bittensor.core.Rejection;
import io.bittensor.core.Status;
import java.util.Comparator;
import java.util.TreeSet;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Bounded concurrency with a priority queue: at most {@code maxConcurrent} calls run; the next
 * ones wait, highest priority (the caller's stake) first and first come first within a priority;
 * when the queue is full the lowest-priority call is turned away with BACKOFF.
 *
 * <p>Thread-safe. One lock guards the counters and the queue; callbacks always run after it is
 * released, never under it.
 */
public final class Admission {
  /** The priority of an anonymous caller: below any stake. */
  public static final double ANONYMOUS = Double.NEGATIVE_INFINITY;

  private final int maxConcurrent;
  private final int maxQueued;
  private final long maxWaitNanos;
  private final LongSupplier nanoTime;
  private final ReentrantLock lock = new ReentrantLock();
  private final TreeSet<Waiter> queue =
      new TreeSet<>(Comparator.comparingDouble((Waiter w) -> -w.priority)
          .thenComparingLong(w -> w.sequence));
  private int running;
  private long sequence;
  /** What every call is told once {@link #close} ran; null until then. */
  private Rejection closed;

  /**
   * @param maxConcurrent calls that run at once, {@code >= 1}
   * @param maxQueued calls that may wait, {@code >= 0}
   * @param maxWaitNanos how long a call may wait before it is turned away
   * @param nanoTime the clock for waiting times
   */
  public Admission(int maxConcurrent, int maxQueued, long maxWaitNanos, LongSupplier nanoTime) {
    this.maxConcurrent = maxConcurrent;
    this.maxQueued = maxQueued;
    this.maxWaitNanos = maxWaitNanos;
    this.nanoTime = nanoTime;
  }

  /**
   * Runs {@code start} now when a slot is free, later when one frees up, or calls
   * {@code reject} with BACKOFF (or, once {@link #close} ran, with its rejection). Whoever gets
   * {@code start} called must call {@link #release()} exactly once when the call is done.
   *
   * @param priority higher runs first; {@link #ANONYMOUS} for anonymous callers
   * @param start runs the call; on this thread or on the thread that releases a slot
   * @param reject tells the caller to back off; on this thread or a releasing thread
   */
  public void submit(double priority, Runnable start, Consumer<Rejection> reject) {
    Waiter evicted = null;
    boolean runNow = false;
    boolean rejectNew = false;
    Rejection refused;
    lock.lock();
    try {
      refused = closed;
      if (refused != null) {
        rejectNew = true;
      } else if (running < maxConcurrent) {
        running++;
        runNow = true;
      } else if (queue.size() < maxQueued) {
        queue.add(new Waiter(priority, sequence++, nanoTime.getAsLong(), start, reject));
      } else if (!queue.isEmpty() && queue.last().priority < priority) {
        evicted = queue.pollLast();
        queue.add(new Waiter(priority, sequence++, nanoTime.getAsLong(), start, reject));
      } else {
        rejectNew = true;
      }
    } finally {
      lock.unlock();
    }
    if (runNow) {
      start.run();
    } else if (rejectNew) {
      reject.accept(refused != null ? refused : overloaded());
    } else if (evicted != null) {
      evicted.reject.accept(overloaded());
    }
  }

  /** Frees a slot and starts the best waiting call, turning away those that waited too long. */
  public void release() {
    while (true) {
      Waiter next;
      boolean expired;
      lock.lock();
      try {
        next = queue.pollFirst();
        if (next == null) {
          running--;
          return;
        }
        expired = nanoTime.getAsLong() - next.since > maxWaitNanos;
      } finally {
        lock.unlock();
      }
      if (!expired) {
        next.start.run(); // the slot passes to it
        return;
      }
      next.reject.accept(Rejection.of(Status.BACKOFF,
          "waited longer than " + maxWaitNanos / 1_000_000 + " ms for a free slot"));
    }
  }

  /**
   * Turns away every waiting call, and from now on every call submitted, with {@code why} (the
   * server is closing). Calls running keep their slots until they release them.
   */
  public void close(Rejection why) {
    while (true) {
      Waiter w;
      lock.lock();
      try {
        closed = why;
        w = queue.pollFirst();
      } finally {
        lock.unlock();
      }
      if (w == null) {
        return;
      }
      w.reject.accept(why);
    }
  }

  /** The number of calls running now. */
  public int running() {
    lock.lock();
    try {
      return running;
    } finally {
      lock.unlock();
    }
  }

  /** The number of calls waiting for a slot. */
  public int queued() {
    lock.lock();
    try {
      return queue.size();
    } finally {
      lock.unlock();
    }
  }

  private Rejection overloaded() {
    return Rejection.of(Status.BACKOFF,
        "overloaded: " + maxConcurrent + " calls running and " + maxQueued
            + " waiting with a higher stake");
  }

  private record Waiter(
      double priority, long sequence, long since, Runnable start, Consumer<Rejection> reject) {}
}
