package io.bittensor.onnx.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtException;
import io.bittensor.core.DType;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Rejection;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.onnx.Device;
import io.bittensor.onnx.Mlp;
import io.bittensor.onnx.OnnxExport;
import io.bittensor.onnx.OnnxModelException;
import io.bittensor.onnx.Optimization;
import io.bittensor.onnx.OutputAdapter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The engine's queue at moments no real model can be made to hit on time: a binding whose runs
 * and batch keys wait on latches holds the worker exactly where the test needs it.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EngineQueueTest {
  private static final int OUT = 2;

  /** A key by sequence length; comparing the gated one waits for {@code release}. */
  private record Key(int sequence, Gate gate) {
    @Override
    public boolean equals(Object o) {
      if (sequence == gate.gatedSequence) {
        gate.comparing.countDown();
        await(gate.release);
      }
      return o instanceof Key k && k.sequence == sequence;
    }

    @Override
    public int hashCode() {
      return sequence;
    }
  }

  private static final class Gate {
    final int gatedSequence;
    final CountDownLatch comparing = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    final CountDownLatch firstRunStarted = new CountDownLatch(1);
    final CountDownLatch firstRunMayEnd = new CountDownLatch(1);

    Gate(int gatedSequence) {
      this.gatedSequence = gatedSequence;
    }
  }

  /** What a run after the first does before it answers. */
  @FunctionalInterface
  private interface Later {
    void run(RunGuard guard) throws OrtException;
  }

  /**
   * Answers zeros without touching the session; the first run waits for the gate, later ones do
   * what {@code later} does.
   */
  private static final class GatedBinding extends Binding {
    private final Gate gate;
    private final Later later;
    private boolean first = true;

    GatedBinding(SharedSession model, Gate gate) throws OnnxModelException {
      this(model, gate, guard -> { });
    }

    GatedBinding(SharedSession model, Gate gate, Later later) throws OnnxModelException {
      super(model, OutputAdapter.first(), OUT, new LinkedHashMap<>());
      this.gate = gate;
      this.later = later;
    }

    @Override
    Set<String> fedInputs() {
      return Set.of("input");
    }

    @Override
    String modalityName() {
      return "TENSOR";
    }

    @Override
    public Optional<Rejection> check(Tensor input) {
      return Optional.empty();
    }

    @Override
    public Object batchKey(Tensor input) {
      return new Key(input.dim(1), gate);
    }

    @Override
    public Tensor[] run(List<Tensor> inputs, RunGuard guard, Scratch scratch) throws OrtException {
      if (first) { // one worker: no other thread runs
        first = false;
        gate.firstRunStarted.countDown();
        await(gate.firstRunMayEnd);
      } else {
        later.run(guard);
      }
      Tensor[] answers = new Tensor[inputs.size()];
      for (int i = 0; i < answers.length; i++) {
        answers[i] = Tensor.zeros(DType.FLOAT32, inputs.get(i).dim(0), inputs.get(i).dim(1), OUT);
      }
      return answers;
    }
  }

  private static void await(CountDownLatch latch) {
    try {
      assertTrue(latch.await(30, TimeUnit.SECONDS), "the test never opened a latch");
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  /** A run that says it started, then lasts until its guard is terminated or {@code seconds}. */
  private static Later untilTerminatedOr(int seconds, CountDownLatch started) {
    return guard -> {
      started.countDown();
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
      while (!guard.terminated() && System.nanoTime() - end < 0) {
        try {
          Thread.sleep(1);
        } catch (InterruptedException e) {
          throw new AssertionError(e);
        }
      }
      if (guard.terminated()) {
        throw new OrtException("terminated"); // as ONNX Runtime ends a terminated run
      }
    };
  }

  private static SharedSession session() throws OnnxModelException {
    byte[] model = OnnxExport.toBytes(Mlp.random(new int[] {4, OUT}, Mlp.Activation.RELU, 1),
        OnnxExport.Options.defaults());
    return SharedSession.open(ModelSource.of(model),
        new SessionSettings(1, 1, false, Optimization.ALL, false, false), Device.cpu(),
        SharedSession.CudaInstaller.ORT);
  }

  private static ForwardRequest request(int sequence) {
    return new ForwardRequest(Modality.TENSOR,
        Tensor.ofFloats(new float[sequence * 4], 1, sequence, 4));
  }

  private static ForwardResult answer(CompletableFuture<ForwardResult> f, String which)
      throws Exception {
    try {
      return f.get(10, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      throw new AssertionError(which + " was never answered", e);
    }
  }

  @Test
  void aRequestThatCannotJoinABatchWhenTheQueueHasFilledIsStillAnswered() throws Exception {
    Gate gate = new Gate(2);
    SharedSession session = session();
    try (Engine engine = new Engine(new GatedBinding(session, gate), session, Modality.TENSOR, OUT,
        new Engine.Limits(64, 0, 2, 1, true))) {
      CompletableFuture<ForwardResult> running = engine.submit(request(1), Long.MAX_VALUE);
      await(gate.firstRunStarted);
      CompletableFuture<ForwardResult> a = engine.submit(request(3), Long.MAX_VALUE);
      CompletableFuture<ForwardResult> b = engine.submit(request(2), Long.MAX_VALUE);
      gate.firstRunMayEnd.countDown();
      // The worker took a and then b, which does not batch with a; while it compares their
      // keys the queue is empty and fills again.
      await(gate.comparing);
      CompletableFuture<ForwardResult> c = engine.submit(request(3), Long.MAX_VALUE);
      CompletableFuture<ForwardResult> d = engine.submit(request(4), Long.MAX_VALUE);
      assertEquals(2, engine.queued());
      gate.release.countDown();
      assertTrue(answer(running, "the first request").isSuccess());
      assertTrue(answer(a, "a").isSuccess());
      ForwardResult rb = answer(b, "b, taken out of the queue and not put back");
      assertTrue(rb.isSuccess(), rb::toString);
      assertEquals(2, rb.output().orElseThrow().dim(1));
      assertTrue(answer(c, "c").isSuccess());
      assertTrue(answer(d, "d").isSuccess());
    }
  }

  @Test
  void closeFromATimeoutsCallbackLetsTheTimerEndTheRunInProgressAtItsDeadline() throws Exception {
    // The TIMEOUT answer completes on the shared timer's thread, which also ends runs at their
    // deadlines: a close there that waited for the run held up the very task that ends it.
    Gate gate = new Gate(-1);
    CountDownLatch slowRunStarted = new CountDownLatch(1);
    Later untilTerminatedOrFiveSeconds = untilTerminatedOr(5, slowRunStarted);
    SharedSession session = session();
    try (Engine engine = new Engine(new GatedBinding(session, gate, untilTerminatedOrFiveSeconds),
        session, Modality.TENSOR, OUT, new Engine.Limits(64, 0, 16, 1, true))) {
      gate.firstRunMayEnd.countDown();
      assertTrue(answer(engine.submit(request(1), Long.MAX_VALUE), "the first").isSuccess());
      long t0 = System.nanoTime();
      CompletableFuture<ForwardResult> slow =
          engine.submit(request(1), TimeUnit.MILLISECONDS.toNanos(300));
      await(slowRunStarted);
      CountDownLatch closed = new CountDownLatch(1);
      CompletableFuture<ForwardResult> queued =
          engine.submit(request(1), TimeUnit.MILLISECONDS.toNanos(50));
      queued.thenRun(() -> { // on the timer's thread, when the deadline passes
        engine.close();
        closed.countDown();
      });
      assertEquals(Status.TIMEOUT, answer(queued, "the queued request").status());
      ForwardResult r = answer(slow, "the slow request");
      long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      assertEquals(Status.TIMEOUT, r.status(), () -> r + " after " + ms + " ms");
      assertTrue(ms < 3000, "the slow request was answered after " + ms + " ms, its deadline 300");
      assertTrue(closed.await(10, TimeUnit.SECONDS), "close never returned");
    }
  }

  @Test
  void aTimeoutTooLongToAddToTheClockDoesNotCutShortTheRunItShares() throws Exception {
    // forward(request, Duration.ofMillis(Long.MAX_VALUE)) passes this; now + it overflowed, and
    // the batch's latest deadline, a plain max, became the other request's.
    long forever = Long.MAX_VALUE - 1;
    Gate gate = new Gate(-1);
    SharedSession session = session();
    Later untilTerminatedOrTwoSeconds = untilTerminatedOr(2, new CountDownLatch(1));
    try (Engine engine = new Engine(new GatedBinding(session, gate, untilTerminatedOrTwoSeconds),
        session, Modality.TENSOR, OUT, new Engine.Limits(64, 0, 16, 1, true))) {
      CompletableFuture<ForwardResult> running = engine.submit(request(1), Long.MAX_VALUE);
      await(gate.firstRunStarted);
      CompletableFuture<ForwardResult> patient = engine.submit(request(1), forever);
      CompletableFuture<ForwardResult> hasty =
          engine.submit(request(1), TimeUnit.MILLISECONDS.toNanos(50));
      gate.firstRunMayEnd.countDown(); // the two run together
      assertTrue(answer(running, "the first request").isSuccess());
      assertEquals(Status.TIMEOUT, answer(hasty, "the hasty request").status());
      ForwardResult r = answer(patient, "the patient request");
      assertTrue(r.isSuccess(), r::toString);
      assertEquals(2, engine.runs());
    }
  }
}
