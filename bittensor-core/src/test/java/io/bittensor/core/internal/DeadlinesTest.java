package io.bittensor.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

class DeadlinesTest {
  /**
   * Whoever wakes on the timed-out result finds the call cancelled already. Before the fix the
   * waiter could wake first; a few hundred 1 ms deadlines showed it now and then.
   */
  @Test
  void aTimedOutCallIsCancelledBeforeItsResultCompletes() {
    for (int i = 0; i < 300; i++) {
      CompletableFuture<String> never = new CompletableFuture<>();
      String r = Deadlines.bound(never, 1, "timeout").join();
      assertEquals("timeout", r);
      assertTrue(never.isCancelled(), "trial " + i + ": the call was cancelled first");
    }
  }

  @Test
  void answersAndFailuresBeforeTheDeadlinePassThrough() {
    CompletableFuture<String> call = new CompletableFuture<>();
    CompletableFuture<String> out = Deadlines.bound(call, 60_000, "timeout");
    call.complete("answer");
    assertEquals("answer", out.join());

    CompletableFuture<String> failing = new CompletableFuture<>();
    CompletableFuture<String> failed = Deadlines.bound(failing, 60_000, "timeout");
    IllegalStateException boom = new IllegalStateException("boom");
    failing.completeExceptionally(boom);
    CompletionException e = assertThrows(CompletionException.class, failed::join);
    assertSame(boom, e.getCause());
  }

  @Test
  void cancellingTheResultCancelsTheCall() {
    CompletableFuture<String> call = new CompletableFuture<>();
    CompletableFuture<String> out = Deadlines.bound(call, 60_000, "timeout");
    out.cancel(true);
    assertTrue(call.isCancelled());
  }

  @Test
  void anInterruptedCallerStartsNothing() {
    Thread.currentThread().interrupt();
    boolean[] started = {false};
    String r;
    try {
      r = Deadlines.await(() -> {
        started[0] = true;
        return CompletableFuture.completedFuture("answer");
      }, "cancelled");
    } finally {
      assertTrue(Thread.interrupted(), "the flag stays set (cleared here)");
    }
    assertEquals("cancelled", r);
    assertFalse(started[0], "nothing was started");
  }

  /** A huge timeout means "wait about forever": clamped, never wrapped or refused. */
  @Test
  void hugeTimeoutsAreClampedNotWrapped() {
    long max = Deadlines.millis(Duration.ofSeconds(Long.MAX_VALUE, 999_999_999));
    assertTrue(max > 0 && max <= Long.MAX_VALUE / 2, "clamped, was " + max);
    assertEquals(max, Deadlines.millis(Duration.ofMillis(Long.MAX_VALUE)));
    assertTrue(max + 10_000 > 0, "room for a caller's safety margin");
    assertEquals(5_000, Deadlines.millis(Duration.ofSeconds(5)));
    assertEquals(1, Deadlines.millis(Duration.ofNanos(1)));
  }
}
