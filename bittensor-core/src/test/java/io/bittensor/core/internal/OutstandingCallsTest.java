package io.bittensor.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The calls their owner's close ends at once. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class OutstandingCallsTest {
  @Test
  void aCallInFlightEndsWithItsCancelledResultAndIsCancelledUnderneath() {
    OutstandingCalls calls = new OutstandingCalls();
    CompletableFuture<String> underneath = new CompletableFuture<>();
    CompletableFuture<String> call = calls.track(() -> underneath, "cancelled");
    assertFalse(call.isDone());
    calls.cancelAll();
    assertEquals("cancelled", call.join());
    assertTrue(underneath.isCancelled(), "the call underneath is stopped too");
  }

  @Test
  void aCallThatAnsweredKeepsItsAnswer() {
    OutstandingCalls calls = new OutstandingCalls();
    CompletableFuture<String> underneath = new CompletableFuture<>();
    CompletableFuture<String> call = calls.track(() -> underneath, "cancelled");
    underneath.complete("answer");
    calls.cancelAll();
    assertEquals("answer", call.join());
    assertFalse(underneath.isCancelled());
  }

  @Test
  void aCallAfterCancelAllIsNotMade() {
    OutstandingCalls calls = new OutstandingCalls();
    calls.cancelAll();
    AtomicInteger made = new AtomicInteger();
    CompletableFuture<String> call = calls.track(() -> {
      made.incrementAndGet();
      return new CompletableFuture<>();
    }, "cancelled");
    assertEquals("cancelled", call.join());
    assertEquals(0, made.get());
  }

  @Test
  void aCallMadeWhileCancelAllRunsEndsToo() {
    OutstandingCalls calls = new OutstandingCalls();
    CompletableFuture<String> underneath = new CompletableFuture<>();
    CompletableFuture<String> call = calls.track(() -> {
      calls.cancelAll(); // as if close ran on another thread while the call was being made
      return underneath;
    }, "cancelled");
    assertEquals("cancelled", call.join());
    assertTrue(underneath.isCancelled());
  }
}
