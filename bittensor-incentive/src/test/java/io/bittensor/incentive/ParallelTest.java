package io.bittensor.incentive;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class ParallelTest {

  @Test
  void everyBlockRunsExactlyOnceOnARealPool() throws Exception {
    var pool = Executors.newFixedThreadPool(3);
    try {
      AtomicIntegerArray runs = new AtomicIntegerArray(50);
      Parallel.forEach(50, pool, runs::incrementAndGet);
      for (int b = 0; b < 50; b++) {
        assertEquals(1, runs.get(b), "block " + b);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void anExecutorThatNeverRunsItsTasksStillFinishes() {
    AtomicIntegerArray runs = new AtomicIntegerArray(8);
    Parallel.forEach(8, task -> { }, runs::incrementAndGet);
    for (int b = 0; b < 8; b++) {
      assertEquals(1, runs.get(b));
    }
  }

  @Test
  void anExecutorThatRejectsLeavesTheWorkToTheCaller() {
    AtomicIntegerArray runs = new AtomicIntegerArray(8);
    Parallel.forEach(8, task -> {
      throw new RejectedExecutionException("full");
    }, runs::incrementAndGet);
    for (int b = 0; b < 8; b++) {
      assertEquals(1, runs.get(b));
    }
  }

  @Test
  void anExecutorThatBreaksItsContractMidwayStillLeavesEveryBlockDoneOnReturn() {
    // Takes one task, then throws what no executor should (a custom pool being shut down): the
    // caller must still do the rest and must not return while the taken task is running.
    AtomicIntegerArray runs = new AtomicIntegerArray(20);
    AtomicInteger finished = new AtomicInteger();
    AtomicInteger offered = new AtomicInteger();
    Parallel.forEach(20, task -> {
      if (offered.getAndIncrement() > 0) {
        throw new IllegalStateException("executor closed");
      }
      new Thread(task).start();
    }, b -> {
      runs.incrementAndGet(b);
      LockSupport.parkNanos(1_000_000);
      finished.incrementAndGet();
    });
    assertEquals(20, finished.get(), "blocks still running when forEach returned");
    for (int b = 0; b < 20; b++) {
      assertEquals(1, runs.get(b), "block " + b);
    }
  }

  @Test
  void aFailingBlockIsRethrownToTheCaller() {
    var pool = Executors.newFixedThreadPool(2);
    try {
      var e = assertThrows(IllegalStateException.class, () -> Parallel.forEach(8, pool, b -> {
        if (b == 5) {
          throw new IllegalStateException("block 5");
        }
      }));
      assertEquals("block 5", e.getMessage());
    } finally {
      pool.shutdownNow();
    }
  }
}
