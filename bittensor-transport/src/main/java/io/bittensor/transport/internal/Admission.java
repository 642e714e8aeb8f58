package io.bittensor.transport.internal;

import io.bittensor.core.Rejection;
import io.bittensor.core.Status;
import io.bittensor.core.internal.Timer;
import java.util.Comparator;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
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

  private static final Runnable NOTHING = () -> { };

  private final int maxConcurrent;
  private final int maxQueued;
  private final long maxWaitNanos;
  private final LongSupplier nanoTime;
  /** Turns away a call that waited too long while no slot frees; null: only as one frees. */
  private final Timer timer;
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
    this(maxConcurrent, maxQueued, maxWaitNanos, nanoTime, null);
  }

  /**
   * An admission that turns a waiting call away once it has waited {@code maxWaitNanos}, whether
   * or not a slot frees meanwhile.
   *
   * @param timer runs those turnings away (they run on its thread); null turns a call away only
   *     when a slot frees and finds it waited too long (for tests with a clock of their own)
   */
  public Admission(int maxConcurrent, int maxQueued, long maxWaitNanos, LongSupplier nanoTime,
      Timer timer) {
    this.maxConcurrent = maxConcurrent;
    this.maxQueued = maxQueued;
    this.maxWaitNanos = maxWaitNanos;
    this.nanoTime = nanoTime;
    this.timer = timer;
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
    Waiter queued = null;
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
        queued = new Waiter(priority, sequence++, nanoTime.getAsLong(), start, reject);
        queue.add(queued);
      } else if (!queue.isEmpty() && queue.last().priority < priority) {
        evicted = queue.pollLast();
        queued = new Waiter(priority, sequence++, nanoTime.getAsLong(), start, reject);
        queue.add(queued);
      } else {
        rejectNew = true;
      }
    } finally {
      lock.unlock();
    }
    if (queued != null && timer != null) {
      Waiter w = queued;
      // Scheduled after the lock: if a slot took the call meanwhile, expire() finds it gone.
      long wait = Math.max(maxWaitNanos, maxWaitNanos + 1); // "longer than", saturating
      w.timeout = timer.schedule(wait, TimeUnit.NANOSECONDS, () -> expire(w));
    }
    if (runNow) {
      start.run();
    } else if (rejectNew) {
      reject.accept(refused != null ? refused : overloaded());
    } else if (evicted != null) {
      evicted.cancelTimeout();
      evicted.reject.accept(overloaded());
    }
  }

  /** Turns {@code w} away if it is still waiting (the timer's task). */
  private void expire(Waiter w) {
    boolean removed;
    lock.lock();
    try {
      removed = queue.remove(w);
    } finally {
      lock.unlock();
    }
    if (removed) {
      w.reject.accept(waitedTooLong());
    }
  }

  /** Frees a slot and starts the best waiting call, turning away those that waited too long. */
  public void release() {
    handOver().run();
  }

  /**
   * As {@link #release()}, but the call the slot passes to is started by whoever runs the
   * returned task, so that the releasing thread can finish its own call first (the slot is the
   * next call's already). The task does nothing when no call was waiting; it must be run.
   */
  public Runnable handOver() {
    while (true) {
      Waiter next;
      boolean expired;
      lock.lock();
      try {
        next = queue.pollFirst();
        if (next == null) {
          running--;
          return NOTHING;
        }
        expired = nanoTime.getAsLong() - next.since > maxWaitNanos;
      } finally {
        lock.unlock();
      }
      next.cancelTimeout();
      if (!expired) {
        return next.start; // the slot passes to it
      }
      next.reject.accept(waitedTooLong());
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
      w.cancelTimeout();
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

  private Rejection waitedTooLong() {
    return Rejection.of(Status.BACKOFF,
        "waited longer than " + maxWaitNanos / 1_000_000 + " ms for a free slot");
  }

  private Rejection overloaded() {
    return Rejection.of(Status.BACKOFF,
        "overloaded: " + maxConcurrent + " calls running and " + maxQueued
            + " waiting with as much stake or more"); // ties keep their place: equal counts
  }

  private static final class Waiter {
    final double priority;
    final long sequence;
    final long since;
    final Runnable start;
    final Consumer<Rejection> reject;
    /** Turns it away at its deadline; null without a timer, and until scheduled. */
    volatile Timer.Timeout timeout;

    Waiter(double priority, long sequence, long since, Runnable start,
        Consumer<Rejection> reject) {
      this.priority = priority;
      this.sequence = sequence;
      this.since = since;
      this.start = start;
      this.reject = reject;
    }

    /** It leaves the queue: its deadline's task, and what that holds, are dropped. */
    void cancelTimeout() {
      Timer.Timeout t = timeout;
      if (t != null) {
        t.cancel();
      }
    }
  }
}
