package io.bittensor.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class TimerTest {

  @Test
  void aTaskRunsOnceItsDelayHasPassedAndNotBefore() throws Exception {
    Timer timer = new Timer("test-timer");
    CountDownLatch ran = new CountDownLatch(1);
    long start = System.nanoTime();
    long[] at = new long[1];
    Timer.Timeout timeout = timer.schedule(50, TimeUnit.MILLISECONDS, () -> {
      at[0] = System.nanoTime();
      ran.countDown();
    });
    assertFalse(timeout.hasFired());
    assertTrue(ran.await(5, TimeUnit.SECONDS));
    assertTrue(timeout.hasFired());
    assertTrue(at[0] - start >= TimeUnit.MILLISECONDS.toNanos(50), (at[0] - start) + " ns");
  }

  @Test
  void onlyTheTimersOwnThreadIsTheTimerThread() throws Exception {
    Timer timer = new Timer("test-timer");
    assertFalse(timer.isTimerThread(), "no thread yet");
    boolean[] inTask = new boolean[2];
    CountDownLatch ran = new CountDownLatch(1);
    timer.schedule(0, TimeUnit.MILLISECONDS, () -> {
      inTask[0] = timer.isTimerThread();
      inTask[1] = Timer.SHARED.isTimerThread();
      ran.countDown();
    });
    assertTrue(ran.await(5, TimeUnit.SECONDS));
    assertTrue(inTask[0], "a task runs on the timer's thread");
    assertFalse(inTask[1], "another timer's thread is not SHARED's");
    assertFalse(timer.isTimerThread(), "the test's thread is not the timer's");
  }

  @Test
  void anEarlierDeadlineWakesAThreadAsleepTowardsALaterOne() throws Exception {
    Timer timer = new Timer("test-timer");
    timer.schedule(1, TimeUnit.HOURS, () -> { });
    Thread.sleep(20); // the timer's thread is now asleep towards the hour
    CountDownLatch ran = new CountDownLatch(1);
    timer.schedule(10, TimeUnit.MILLISECONDS, ran::countDown);
    assertTrue(ran.await(2, TimeUnit.SECONDS), "the 10 ms task waited for the hour");
  }

  @Test
  void aTimerWithNothingQueuedWakesForTheNextTask() throws Exception {
    Timer timer = new Timer("test-timer");
    CountDownLatch first = new CountDownLatch(1);
    timer.schedule(0, TimeUnit.MILLISECONDS, first::countDown);
    assertTrue(first.await(2, TimeUnit.SECONDS));
    Thread.sleep(20); // now it waits for any task
    CountDownLatch second = new CountDownLatch(1);
    timer.schedule(5, TimeUnit.MILLISECONDS, second::countDown);
    assertTrue(second.await(2, TimeUnit.SECONDS));
  }

  @Test
  void cancelledTasksNeverRunAndTheOthersRunOnce() throws Exception {
    Timer timer = new Timer("test-timer");
    int n = 2_000;
    AtomicIntegerArray runs = new AtomicIntegerArray(n);
    CountDownLatch kept = new CountDownLatch(n / 2);
    List<Timer.Timeout> timeouts = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int id = i;
      // Half a second ahead: every task is scheduled and every odd one cancelled before the
      // first runs, even on a loaded machine (at 20 ms, a load of 16 let task 1 start first).
      timeouts.add(timer.schedule(500 + i % 30, TimeUnit.MILLISECONDS, () -> {
        runs.incrementAndGet(id);
        if (id % 2 == 0) {
          kept.countDown();
        }
      }));
    }
    for (int i = 1; i < n; i += 2) {
      assertTrue(timeouts.get(i).cancel(), "task " + i + " had not started");
      assertTrue(timeouts.get(i).isCancelled());
      assertFalse(timeouts.get(i).cancel(), "a second cancel does nothing");
    }
    assertTrue(kept.await(10, TimeUnit.SECONDS));
    Thread.sleep(100);
    for (int i = 0; i < n; i++) {
      assertEquals(i % 2 == 0 ? 1 : 0, runs.get(i), "task " + i);
    }
    assertFalse(timeouts.get(0).cancel(), "a task that ran cannot be cancelled");
  }

  @Test
  void tasksRunInDeadlineOrderWhateverTheOrderTheyCameIn() throws Exception {
    for (long seed = 1; seed <= 5; seed++) {
      // Every task must be scheduled before the first deadline, or a late one rightly runs
      // after an earlier-scheduled task whose deadline passed meanwhile. The deadlines start
      // 200 ms out; a run whose scheduling still took longer (a loaded machine) is run again.
      List<Integer> order = null;
      for (int attempt = 0; attempt < 5 && order == null; attempt++) {
        order = deadlineOrder(new Random(seed));
      }
      assertTrue(order != null, "seed " + seed + ": scheduling 40 tasks never took under 200 ms"
          + " with each call under 2 ms");
      List<Integer> sorted = new ArrayList<>(order);
      Collections.sort(sorted);
      assertEquals(sorted, order, "seed " + seed);
    }
  }

  /** The order 40 shuffled tasks 5 ms apart ran in, or null if scheduling overran. */
  private static List<Integer> deadlineOrder(Random random) throws InterruptedException {
    Timer timer = new Timer("test-timer");
    int n = 40;
    List<Integer> delays = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      delays.add(i * 5);
    }
    Collections.shuffle(delays, random);
    List<Integer> order = Collections.synchronizedList(new ArrayList<>());
    CountDownLatch all = new CountDownLatch(n);
    long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
    long slowest = 0;
    for (int delay : delays) {
      long deadline = start + TimeUnit.MILLISECONDS.toNanos(delay);
      long before = System.nanoTime();
      timer.schedule(deadline - before, TimeUnit.NANOSECONDS, () -> {
        order.add(delay);
        all.countDown();
      });
      slowest = Math.max(slowest, System.nanoTime() - before);
    }
    // The timer adds the delay to its own clock reading: a call held up between the two
    // readings (the machine busy) moves that task's deadline as much, past its neighbour's
    // 5 ms away. Such a run says nothing about the order, so it is run again too.
    boolean inTime = System.nanoTime() - start < 0 && slowest < TimeUnit.MILLISECONDS.toNanos(2);
    assertTrue(all.await(5, TimeUnit.SECONDS));
    return inTime ? new ArrayList<>(order) : null;
  }

  @Test
  void cancelledEntriesDoNotPileUp() {
    Timer timer = new Timer("test-timer");
    for (int i = 0; i < 100_000; i++) {
      timer.schedule(1, TimeUnit.HOURS, () -> { }).cancel();
    }
    // Purged whenever the cancelled outnumber the live, once past the floor.
    assertTrue(timer.queued() < 2_100, timer.queued() + " entries queued");
    Timer.Timeout live = timer.schedule(1, TimeUnit.HOURS, () -> { });
    assertFalse(live.isCancelled());
  }

  @Test
  void aTaskThatThrowsDoesNotStopTheOthers() throws Exception {
    Timer timer = new Timer("test-timer");
    timer.schedule(0, TimeUnit.MILLISECONDS, () -> {
      throw new IllegalStateException("planted");
    });
    CountDownLatch ran = new CountDownLatch(1);
    timer.schedule(10, TimeUnit.MILLISECONDS, ran::countDown);
    assertTrue(ran.await(2, TimeUnit.SECONDS));
  }

  @Test
  void manyThreadsSchedulingAndCancellingAtOnceLoseNoTask() throws Exception {
    Timer timer = new Timer("test-timer");
    int threads = 4;
    int each = 5_000;
    AtomicInteger ran = new AtomicInteger();
    AtomicInteger expected = new AtomicInteger();
    AtomicInteger wronglyRan = new AtomicInteger();
    List<Thread> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      long seed = t;
      workers.add(new Thread(() -> {
        Random random = new Random(seed);
        for (int i = 0; i < each; i++) {
          boolean[] cancelled = new boolean[1];
          Timer.Timeout timeout = timer.schedule(random.nextInt(20), TimeUnit.MILLISECONDS, () -> {
            if (cancelled[0]) {
              wronglyRan.incrementAndGet();
            }
            ran.incrementAndGet();
          });
          if (random.nextBoolean()) {
            if (timeout.cancel()) {
              cancelled[0] = true;
            } else {
              expected.incrementAndGet(); // it had already started
            }
          } else {
            expected.incrementAndGet();
          }
        }
      }));
    }
    workers.forEach(Thread::start);
    for (Thread w : workers) {
      w.join();
    }
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (ran.get() < expected.get() && System.nanoTime() < until) {
      Thread.sleep(5);
    }
    Thread.sleep(50);
    assertEquals(expected.get(), ran.get());
    assertEquals(0, wronglyRan.get());
  }
}
