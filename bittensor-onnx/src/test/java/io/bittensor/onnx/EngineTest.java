package io.bittensor.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.onnx.internal.Ort;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Queueing, batching, deadlines and closing, on a deliberately slow generated model. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class EngineTest {
  private static byte[] slow;
  private static long fullRunNanos;

  @BeforeAll
  static void calibrate() throws Exception {
    slow = TestModels.slowModel(60);
    try (OnnxPeer peer = peer().build()) {
      TestModels.forward(peer, Modality.TENSOR, heavy()); // warm-up
      long t0 = System.nanoTime();
      assertTrue(TestModels.forward(peer, Modality.TENSOR, heavy()).isSuccess());
      fullRunNanos = System.nanoTime() - t0;
    }
  }

  private static OnnxPeer.Builder peer() {
    return OnnxPeer.builder().model(slow).modality(Modality.TENSOR).outputDim(512).intraOpThreads(1)
        .spinning(false).maxBatch(256);
  }

  /** 256 rows: one slow run. */
  private static Tensor heavy() {
    return Tensor.ofFloats(new float[256 * 512], 256, 1, 512);
  }

  private static Tensor light() {
    return Tensor.ofFloats(new float[512], 1, 1, 512);
  }

  private static void awaitRunning(OnnxPeer peer, long runs) throws InterruptedException {
    while (peer.modelRuns() < runs || peer.queued() > 0) {
      Thread.sleep(1);
    }
  }

  @Test
  void requestsQueuedBehindARunShareTheNextRun() throws Exception {
    try (OnnxPeer peer = peer().maxBatch(256).build()) {
      CompletableFuture<ForwardResult> first = peer.forward(new ForwardRequest(Modality.TENSOR, heavy()));
      awaitRunning(peer, 1);
      List<CompletableFuture<ForwardResult>> queued = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        queued.add(peer.forward(new ForwardRequest(Modality.TENSOR, light())));
      }
      assertTrue(first.join().isSuccess());
      for (CompletableFuture<ForwardResult> f : queued) {
        ForwardResult r = f.join();
        assertTrue(r.isSuccess(), r::toString);
        assertEquals(1, r.output().orElseThrow().dim(0));
      }
      assertEquals(2, peer.modelRuns(), "the six light requests ran as one batch");
    }
  }

  @Test
  void aPassedDeadlineAnswersTimeoutAndCancelsTheRun() throws Exception {
    try (OnnxPeer peer = peer().build()) {
      // The deadline a tenth of the shorter of two full runs, the calibration's and one timed
      // now: a calibration timed under load alone gave a deadline the run then beat.
      long t = System.nanoTime();
      assertTrue(TestModels.forward(peer, Modality.TENSOR, heavy()).isSuccess());
      long shortest = Math.min(fullRunNanos, System.nanoTime() - t);
      Duration deadline = Duration.ofNanos(Math.max(shortest / 10, 1_000_000));
      long runsBefore = peer.modelRuns();
      ForwardResult late = peer.forward(new ForwardRequest(Modality.TENSOR, heavy()), deadline).join();
      assertEquals(Status.TIMEOUT, late.status());
      ForwardResult next = TestModels.forward(peer, Modality.TENSOR, light());
      assertTrue(next.isSuccess(), next::toString);
      // Counted, not timed: the worker ended the run at the deadline's termination, not at the
      // model's end (a time against a full run's failed once at load 6, the light run late).
      // A worker too busy to start it before its deadline passed it over: no run, none to end.
      long lateRuns = peer.modelRuns() - runsBefore - 1;
      assertEquals(lateRuns, peer.cancelledRuns(),
          "the run past its deadline was cancelled, not run to its end (" + lateRuns + " run)");
      assertTrue(lateRuns == 1 || lateRuns == 0, () -> lateRuns + " runs of one request");
    }
  }

  @Test
  void closeWaitsForTheRunInProgressAndRefusesTheRest() throws Exception {
    OnnxPeer peer = peer().build();
    CompletableFuture<ForwardResult> running = peer.forward(new ForwardRequest(Modality.TENSOR, heavy()));
    awaitRunning(peer, 1);
    CompletableFuture<ForwardResult> queued = peer.forward(new ForwardRequest(Modality.TENSOR, Tensor.ofFloats(
        new float[2 * 512], 1, 2, 512)));
    peer.close();
    assertTrue(running.isDone(), "close returned before the run in progress ended");
    assertTrue(running.join().isSuccess(), running.join()::toString);
    assertEquals(Status.UNAVAILABLE, queued.join().status());
    assertEquals(Status.UNAVAILABLE, TestModels.forward(peer, Modality.TENSOR, light()).status());
    peer.close(); // idempotent
  }

  @Test
  void closeDoesNotWaitOutTheBatchWindowOfARequestTakenForABatch() throws Exception {
    OnnxPeer peer = peer().batchWindow(Duration.ofSeconds(1)).build();
    CompletableFuture<ForwardResult> taken =
        peer.forward(new ForwardRequest(Modality.TENSOR, light()));
    while (peer.queued() > 0) {
      Thread.sleep(1); // until the worker took it and waits for more to join it
    }
    long t0 = System.nanoTime();
    peer.close();
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    assertTrue(taken.isDone(), "close returned before the request taken ended");
    assertTrue(taken.join().isSuccess(), taken.join()::toString);
    assertTrue(ms < 500, "close took " + ms + " ms, the batch window is 1000 ms");
  }

  @Test
  void aRequestArrivingLateInTheBatchWindowStillJoinsTheBatch() throws Exception {
    try (OnnxPeer peer = peer().batchWindow(Duration.ofSeconds(1)).build()) {
      CompletableFuture<ForwardResult> a =
          peer.forward(new ForwardRequest(Modality.TENSOR, light()));
      while (peer.queued() > 0) {
        Thread.sleep(1); // until the worker took it and waits for more to join it
      }
      Thread.sleep(200); // the arrival tested: after the worker's first 50 ms slice of the window
      CompletableFuture<ForwardResult> b =
          peer.forward(new ForwardRequest(Modality.TENSOR, light()));
      assertTrue(a.join().isSuccess(), a.join()::toString);
      assertTrue(b.join().isSuccess(), b.join()::toString);
      assertEquals(1, peer.modelRuns(), "the two requests ran as one batch");
    }
  }

  @Test
  void aFullQueueAnswersBackoff() throws Exception {
    try (OnnxPeer peer = peer().queueCapacity(1).build()) {
      CompletableFuture<ForwardResult> running = peer.forward(new ForwardRequest(Modality.TENSOR, heavy()));
      awaitRunning(peer, 1);
      Tensor other = Tensor.ofFloats(new float[2 * 512], 1, 2, 512); // another shape: no batching
      CompletableFuture<ForwardResult> waiting = peer.forward(new ForwardRequest(Modality.TENSOR, other));
      ForwardResult refused = TestModels.forward(peer, Modality.TENSOR, other);
      assertEquals(Status.BACKOFF, refused.status());
      assertTrue(refused.status().retryable());
      assertTrue(running.join().isSuccess());
      assertTrue(waiting.join().isSuccess());
    }
  }

  @Test
  void aQueuedRequestPastItsDeadlineGivesUpItsPlace() throws Exception {
    try (OnnxPeer peer = peer().queueCapacity(1).build()) {
      CompletableFuture<ForwardResult> running =
          peer.forward(new ForwardRequest(Modality.TENSOR, heavy()));
      awaitRunning(peer, 1);
      ForwardResult late = peer.forward(new ForwardRequest(Modality.TENSOR, light()),
          Duration.ofMillis(1)).join();
      assertEquals(Status.TIMEOUT, late.status(), late::toString);
      assertEquals(0, peer.queued(), "nothing waits any more");
      ForwardResult next = peer.forward(new ForwardRequest(Modality.TENSOR, light())).join();
      assertTrue(next.isSuccess(), "its place was free: " + next);
      assertTrue(running.join().isSuccess());
    }
  }

  @Test
  void derivedPeersShareTheSessionUntilTheLastCloses() throws Exception {
    OnnxPeer first = peer().build();
    OnnxPeer second = first.toBuilder().outputDim(16).build();
    first.close();
    ForwardResult r = TestModels.forward(second, Modality.TENSOR, light());
    assertTrue(r.isSuccess(), r::toString);
    assertEquals(16, r.output().orElseThrow().dim(2));
    second.close();
  }

  @Test
  void aClosedPeerDerivesNoBuilder() throws Exception {
    OnnxPeer first = peer().build();
    try (OnnxPeer second = first.toBuilder().outputDim(16).build()) {
      first.close();
      IllegalStateException e = assertThrows(IllegalStateException.class, first::toBuilder);
      assertTrue(e.getMessage().contains("closed"), e.getMessage());
      try (OnnxPeer third = second.toBuilder().outputDim(8).build()) {
        ForwardResult r = TestModels.forward(third, Modality.TENSOR, light());
        assertEquals(8, r.output().orElseThrow().dim(2), r::toString);
      }
    }
  }

  @Test
  void aDerivedBuilderStillBuildsOnceEveryPeerSharingTheSessionIsClosed() throws Exception {
    OnnxPeer first = peer().build();
    OnnxPeer.Builder variant = first.toBuilder().outputDim(16);
    first.close(); // the session is freed: the variant must load the model again
    try (OnnxPeer second = variant.build()) {
      ForwardResult r = TestModels.forward(second, Modality.TENSOR, light());
      assertTrue(r.isSuccess(), r::toString);
      assertEquals(16, r.output().orElseThrow().dim(2));
    }
  }

  @Test
  void peersCanShareOneThreadPool() throws Exception {
    OnnxPeer.Builder shared = peer().sharedThreadPool(true);
    if (!Ort.hasGlobalPool()) {
      IllegalStateException e = assertThrows(IllegalStateException.class, shared::build);
      assertTrue(e.getMessage().contains("shared thread pool"), e.getMessage());
      return;
    }
    try (OnnxPeer a = shared.build(); OnnxPeer b = shared.build()) {
      assertTrue(TestModels.forward(a, Modality.TENSOR, light()).isSuccess());
      assertTrue(TestModels.forward(b, Modality.TENSOR, light()).isSuccess());
    }
  }

  @Test
  void aBlockingCallRunsOnTheCallersThreadWhenNothingIsQueued() throws Exception {
    try (OnnxPeer peer = peer().build()) {
      ForwardRequest req = new ForwardRequest(Modality.TENSOR, light());
      ForwardResult here = peer.forwardAndWait(req, Duration.ofSeconds(30));
      assertTrue(here.isSuccess(), here::toString);
      assertEquals(1, peer.callerRuns());
      ForwardResult queued = peer.forward(req).join();
      assertArrayEquals(queued.output().orElseThrow().toFloatArray(),
          here.output().orElseThrow().toFloatArray(), 0f, "the same answer either way");
      assertEquals(1, peer.callerRuns(), "forward() still goes through a worker");
      ForwardResult wrong = peer.forwardAndWait(new ForwardRequest(Modality.TEXT,
          Tensor.ofLongs(new long[] {1, 2}, 1, 2)), Duration.ofSeconds(30));
      assertEquals(Status.UNKNOWN_MODALITY, wrong.status(), "checked as forward() checks");
      assertEquals(1, peer.callerRuns());
    }
  }

  @Test
  void aBlockingCallQueuesBehindABusyWorker() throws Exception {
    try (OnnxPeer peer = peer().build()) {
      CompletableFuture<ForwardResult> running =
          peer.forward(new ForwardRequest(Modality.TENSOR, heavy()));
      awaitRunning(peer, 1);
      ForwardResult r = peer.forwardAndWait(new ForwardRequest(Modality.TENSOR, light()),
          Duration.ofSeconds(30));
      assertTrue(r.isSuccess(), r::toString);
      assertTrue(running.isDone(), "it waited for the worker's run");
      assertEquals(0, peer.callerRuns(), "the one slot was the worker's");
    }
  }

  @Test
  void aWorkerWaitsForTheSlotACallerHolds() throws Exception {
    // One worker, one slot: a queued request may not run beside a caller's run. Were it to, the
    // light request would end long before the heavy one.
    try (OnnxPeer peer = peer().build()) {
      long[] heavyEnd = new long[1];
      Thread caller = new Thread(() -> {
        ForwardResult r = peer.forwardAndWait(new ForwardRequest(Modality.TENSOR, heavy()),
            Duration.ofSeconds(60));
        heavyEnd[0] = System.nanoTime();
        assertTrue(r.isSuccess(), r::toString);
      });
      caller.start();
      while (peer.callerRuns() < 1) {
        Thread.onSpinWait();
      }
      ForwardResult light = peer.forward(new ForwardRequest(Modality.TENSOR, light())).join();
      long lightEnd = System.nanoTime();
      caller.join();
      assertTrue(light.isSuccess(), light::toString);
      // The caller stamps its end after the slot is free, so the light request may finish a
      // moment before that stamp (15 us was seen); beside the heavy run it would finish about a
      // whole run before it.
      assertTrue(lightEnd - heavyEnd[0] >= -fullRunNanos / 2,
          "the queued request ran " + (heavyEnd[0] - lightEnd) / 1e6 + " ms before the caller's"
              + " run ended (a whole run is " + fullRunNanos / 1e6 + " ms)");
    }
  }

  @Test
  void aBlockingCallPastItsDeadlineIsATimeout() throws Exception {
    try (OnnxPeer peer = peer().build()) {
      ForwardResult late = peer.forwardAndWait(new ForwardRequest(Modality.TENSOR, heavy()),
          Duration.ofNanos(Math.max(fullRunNanos / 10, 1_000_000)));
      assertEquals(Status.TIMEOUT, late.status(), late::toString);
      assertEquals(1, peer.callerRuns());
    }
  }

  @Test
  void anInterruptedCallerIsCancelledBeforeAnythingRuns() throws Exception {
    try (OnnxPeer peer = peer().build()) {
      Thread.currentThread().interrupt();
      ForwardResult r = peer.forwardAndWait(new ForwardRequest(Modality.TENSOR, light()),
          Duration.ofSeconds(30));
      assertTrue(Thread.interrupted(), "the flag stays set");
      assertEquals(Status.CANCELLED, r.status());
      assertEquals(0, peer.modelRuns());
    }
  }

  @Test
  void closeWaitsForACallersRunAndThenRefusesBlockingCalls() throws Exception {
    OnnxPeer peer = peer().build();
    ForwardResult[] result = new ForwardResult[1];
    long[] runEnd = new long[1];
    Thread caller = new Thread(() -> {
      result[0] = peer.forwardAndWait(new ForwardRequest(Modality.TENSOR, heavy()),
          Duration.ofSeconds(60));
      runEnd[0] = System.nanoTime();
    });
    caller.start();
    while (peer.callerRuns() < 1) {
      Thread.onSpinWait();
    }
    peer.close();
    long closed = System.nanoTime();
    caller.join();
    assertTrue(result[0].isSuccess(), result[0]::toString);
    assertTrue(closed - runEnd[0] >= 0, "close returned before the caller's run ended: freeing"
        + " the model under it would crash the JVM");
    assertEquals(Status.UNAVAILABLE, peer.forwardAndWait(
        new ForwardRequest(Modality.TENSOR, light()), Duration.ofSeconds(5)).status());
  }

  @Test
  void manyCallersAndACloseEndWithAnswersOrUnavailable() throws Exception {
    OnnxPeer peer = peer().workers(2).build();
    List<Thread> threads = new ArrayList<>();
    List<String> bad = java.util.Collections.synchronizedList(new ArrayList<>());
    java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(4);
    for (int t = 0; t < 4; t++) {
      Thread th = new Thread(() -> {
        started.countDown();
        for (int i = 0; i < 200; i++) {
          ForwardResult r = peer.forwardAndWait(new ForwardRequest(Modality.TENSOR, light()),
              Duration.ofSeconds(30));
          if (!r.isSuccess() && r.status() != Status.UNAVAILABLE) {
            bad.add(r.toString());
          }
        }
      });
      threads.add(th);
      th.start();
    }
    started.await();
    // Closed once a call has run on its caller's thread: 20 ms after the threads started, a
    // loaded machine may not have run one yet.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (peer.callerRuns() < 1 && System.nanoTime() < deadline) {
      Thread.sleep(1);
    }
    assertTrue(peer.callerRuns() > 0, "none ran on its caller's thread in 10 s");
    peer.close();
    for (Thread th : threads) {
      th.join();
    }
    assertEquals(List.of(), bad);
  }

  @Test
  void timeoutsMustBePositive() throws Exception {
    try (OnnxPeer peer = peer().build()) {
      assertThrows(IllegalArgumentException.class,
          () -> peer.forward(new ForwardRequest(Modality.TENSOR, light()), Duration.ZERO));
      assertThrows(IllegalArgumentException.class,
          () -> peer.forwardAndWait(new ForwardRequest(Modality.TENSOR, light()), Duration.ZERO));
    }
  }
}
