package io.bittensor.core.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Runs tasks at their deadlines on one daemon thread, for deadlines that are almost always
 * cancelled before they fire (a call's timeout).
 *
 * <p>Why not a {@code ScheduledThreadPoolExecutor} (or {@code CompletableFuture}'s timeouts,
 * which use one): each call's deadline lands in a queue that the call before it left empty, so
 * every schedule wakes the executor's parked thread only for it to go back to sleep. With calls
 * 50 us apart that cost 5 to 8 us of the caller's time and 5 to 6 us of CPU elsewhere per call
 * on our 2-core machine, against 0.6 to 1.2 us and 0 to 3 us here ({@code DeadlineCost} in
 * benchmarks/). Here the thread is woken only when a new deadline is earlier than the one it
 * already sleeps towards; a steady stream of calls with one timeout wakes it about once per
 * timeout. Cancelling marks the entry and drops its task
 * (so nothing the task holds stays reachable); cancelled entries leave the queue when they reach
 * its head, or all at once when they outnumber the live ones.
 *
 * <p>Thread-safe. Tasks run on the timer's thread and must be short; one that throws is
 * reported through {@link System.Logger} and the others still run.
 *
 * <p>Internal: shared with sibling modules; users must not import it.
 */
public final class Timer {
  /** The process-wide timer (its thread starts at the first schedule). */
  public static final Timer SHARED = new Timer("bittensor-timer");

  /** Below this many queued entries, cancelled ones are only dropped when they reach the head. */
  private static final int PURGE_FLOOR = 1024;

  /** Delays are clamped to this (about 73 years) so that deadlines cannot overflow. */
  private static final long MAX_DELAY_NANOS = Long.MAX_VALUE >> 2;

  private static final System.Logger LOG = System.getLogger("io.bittensor.core");

  private final String name;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final PriorityQueue<Timeout> queue = new PriorityQueue<>();
  private final AtomicInteger cancelledQueued = new AtomicInteger();
  /** What the thread is doing: running, or waiting until {@link #armed}, or for any entry. */
  private Waiting waiting = Waiting.RUNNING;
  /** The deadline the thread waits for while {@link #waiting} is UNTIL. */
  private long armed;
  private Thread thread;

  private enum Waiting { RUNNING, UNTIL, FOREVER }

  /** A timer whose thread is named {@code name}; started at its first schedule. */
  public Timer(String name) {
    this.name = Objects.requireNonNull(name, "name");
  }

  /** A scheduled task; {@link #cancel()} stops it if it has not started. */
  public static final class Timeout implements Comparable<Timeout> {
    private static final int PENDING = 0;
    private static final int CANCELLED = 1;
    private static final int FIRED = 2;
    private static final VarHandle STATE;

    static {
      try {
        STATE = MethodHandles.lookup().findVarHandle(Timeout.class, "state", int.class);
      } catch (ReflectiveOperationException e) {
        throw new ExceptionInInitializerError(e);
      }
    }

    private final Timer timer;
    private final long deadline;
    private volatile int state;
    private Runnable task;

    private Timeout(Timer timer, long deadline, Runnable task) {
      this.timer = timer;
      this.deadline = deadline;
      this.task = task;
    }

    /**
     * Stops the task unless it has already started.
     *
     * @return true if this call stopped it
     */
    public boolean cancel() {
      // Counted before the state changes: a purge that sees the entry cancelled (and subtracts
      // it) must find it counted already, or the count would drift up for good.
      timer.cancelledQueued.incrementAndGet();
      if (!STATE.compareAndSet(this, PENDING, CANCELLED)) {
        timer.cancelledQueued.decrementAndGet();
        return false;
      }
      task = null;
      return true;
    }

    /** Whether the task was cancelled before it started. */
    public boolean isCancelled() {
      return state == CANCELLED;
    }

    /** Whether the deadline passed and the task was started. */
    public boolean hasFired() {
      return state == FIRED;
    }

    private boolean claim() {
      return STATE.compareAndSet(this, PENDING, FIRED);
    }

    @Override
    public int compareTo(Timeout other) {
      return Long.compare(deadline - other.deadline, 0); // nanoTime order, overflow-safe
    }
  }

  /**
   * Runs {@code task} once {@code delay} has passed, unless the returned timeout is cancelled
   * first. A delay of zero or less runs it as soon as the timer's thread gets to it.
   */
  public Timeout schedule(long delay, TimeUnit unit, Runnable task) {
    Objects.requireNonNull(task, "task");
    long nanos = Math.min(Math.max(0, unit.toNanos(delay)), MAX_DELAY_NANOS);
    Timeout t = new Timeout(this, System.nanoTime() + nanos, task);
    lock.lock();
    try {
      if (thread == null) {
        thread = new Thread(this::run, name);
        thread.setDaemon(true);
        thread.start();
      }
      purgeIfCrowded();
      queue.add(t);
      // Wake the thread only if it would otherwise sleep past this deadline. A running thread
      // looks at the queue again before it waits.
      if (waiting == Waiting.FOREVER || (waiting == Waiting.UNTIL && t.deadline - armed < 0)) {
        waiting = Waiting.UNTIL;
        armed = t.deadline;
        changed.signal();
      }
    } finally {
      lock.unlock();
    }
    return t;
  }

  /**
   * Whether the calling thread is this timer's, i.e. a task's: such a caller must not wait for
   * what another task of this timer ends (a deadline), which could not run meanwhile.
   */
  public boolean isTimerThread() {
    lock.lock();
    try {
      return thread == Thread.currentThread();
    } finally {
      lock.unlock();
    }
  }

  /** The entries queued, cancelled ones included (for tests). */
  int queued() {
    lock.lock();
    try {
      return queue.size();
    } finally {
      lock.unlock();
    }
  }

  private void purgeIfCrowded() {
    int size = queue.size();
    if (size >= PURGE_FLOOR && cancelledQueued.get() > size / 2) {
      queue.removeIf(Timeout::isCancelled);
      cancelledQueued.addAndGet(queue.size() - size);
    }
  }

  private void run() {
    List<Timeout> due = new ArrayList<>();
    while (true) {
      lock.lock();
      try {
        collectDue(due);
      } finally {
        lock.unlock();
      }
      for (Timeout t : due) {
        Runnable task = t.task;
        t.task = null;
        try {
          if (task != null) {
            task.run();
          }
        } catch (RuntimeException | Error e) {
          LOG.log(System.Logger.Level.WARNING, "a timer task failed", e);
        }
      }
      due.clear();
    }
  }

  /** Waits (holding the lock between waits) until some entries are due, and moves them out. */
  private void collectDue(List<Timeout> due) {
    while (true) {
      Timeout head = queue.peek();
      if (head != null && head.state != Timeout.PENDING) {
        queue.poll();
        if (head.state == Timeout.CANCELLED) {
          cancelledQueued.decrementAndGet();
        }
        continue;
      }
      long now = System.nanoTime();
      if (head != null && head.deadline - now <= 0) {
        queue.poll();
        if (head.claim()) {
          due.add(head);
        } else {
          cancelledQueued.decrementAndGet(); // cancelled since it was read
        }
        continue;
      }
      if (!due.isEmpty()) {
        return;
      }
      if (head == null) {
        waiting = Waiting.FOREVER;
        changed.awaitUninterruptibly();
      } else {
        waiting = Waiting.UNTIL;
        armed = head.deadline;
        try {
          changed.awaitNanos(head.deadline - now);
        } catch (InterruptedException e) {
          // A daemon no one interrupts on purpose; look at the queue again.
        }
      }
      waiting = Waiting.RUNNING;
    }
  }
}
