package io.bittensor.onnx.internal;

import ai.onnxruntime.OrtException;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Rejection;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.core.TensorStandard;
import io.bittensor.core.internal.Timer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs a binding for many callers: a bounded queue, worker threads that take compatible requests
 * together into one model run (up to {@code maxBatch} rows, waiting at most {@code window} for
 * more), per-request deadlines that cancel the run through its run options, and a close that lets
 * running batches finish before anything native is freed. A blocking caller may run its request on
 * its own thread ({@link #runOnCaller}) when the engine is idle; every run, a worker's or a
 * caller's, holds one of {@code workers} slots, so the workers count still bounds runs at once.
 *
 * <p>Thread-safe. Futures complete on a worker thread, a caller's thread or {@link Timer#SHARED}'s
 * thread (deadlines).
 */
public final class Engine implements AutoCloseable {
  private static final AtomicInteger IDS = new AtomicInteger();
  private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
  private static final long MAX_TIMEOUT_NANOS = TimeUnit.DAYS.toNanos(365);
  /** The most bytes an answer may have: what one tensor (one Java array) holds. */
  private static final long MAX_ANSWER_BYTES = Tensor.MAX_BYTES;
  /** The most bytes of a request's copy for the model: what one direct buffer holds. */
  private static final long MAX_INPUT_BYTES = Tensor.MAX_BYTES;

  /** Batching and queue limits. */
  public record Limits(
      int maxBatch, long windowNanos, int queueCapacity, int workers, boolean combine) {
    /** Checks each is in range. */
    public Limits {
      if (maxBatch < 1 || windowNanos < 0 || queueCapacity < 1 || workers < 1) {
        throw new IllegalArgumentException(
            "limits out of range: maxBatch "
                + maxBatch
                + " (>= 1), window "
                + windowNanos
                + " ns (>= 0), queue "
                + queueCapacity
                + " (>= 1), workers "
                + workers
                + " (>= 1)");
      }
    }
  }

  private final Binding binding;
  private final SharedSession session;
  private final Modality modality;
  private final TensorStandard standard;
  private final Limits limits;
  private final LinkedBlockingDeque<Pending> queue;
  private final List<Thread> workers = new ArrayList<>();
  private final Object lifecycle = new Object();
  private final AtomicLong runs = new AtomicLong();
  private final AtomicLong callerRuns = new AtomicLong();
  private final AtomicLong cancelledRuns = new AtomicLong();
  /** One per worker: a run, on a worker or a caller's thread, holds one. */
  private final Semaphore slots;
  /** Threads of callers running a model here now; close waits for them. */
  private final Set<Thread> callersRunning = ConcurrentHashMap.newKeySet();
  /** Buffers for runs on callers' threads, at most one per slot. */
  private final ConcurrentLinkedQueue<Scratch> spareScratch = new ConcurrentLinkedQueue<>();
  private volatile boolean closing;
  private boolean closed;

  /**
   * Starts the workers. The engine owns {@code binding} and one reference to {@code session}, and
   * releases both on close.
   */
  public Engine(
      Binding binding, SharedSession session, Modality modality, int outputDim, Limits limits) {
    this.binding = binding;
    this.session = session;
    this.modality = modality;
    this.standard = TensorStandard.of(outputDim);
    this.limits = limits;
    this.queue = new LinkedBlockingDeque<>(limits.queueCapacity());
    this.slots = new Semaphore(limits.workers());
    int id = IDS.incrementAndGet();
    for (int i = 0; i < limits.workers(); i++) {
      Thread t = daemon(this::work, "bittensor-onnx-" + id + "-worker-" + i);
      workers.add(t);
    }
    try {
      workers.forEach(Thread::start);
    } catch (Throwable e) { // no thread to be had: those started end at their next poll
      closing = true;
      throw e;
    }
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  /**
   * Checks and queues a request.
   *
   * @param timeoutNanos the caller's deadline from now, or {@code Long.MAX_VALUE} for none
   */
  public CompletableFuture<ForwardResult> submit(ForwardRequest request, long timeoutNanos) {
    if (closing) {
      return done(ForwardResult.failure(Status.UNAVAILABLE, "this peer is closed"));
    }
    Object key;
    try {
      key = admit(request);
    } catch (Refused r) {
      return done(r.result);
    }
    long now = System.nanoTime();
    // Clamped so that the sum cannot wrap: a batch's runs stop at the latest of its deadlines.
    long deadline = timeoutNanos == Long.MAX_VALUE ? Long.MAX_VALUE
        : now + Math.min(timeoutNanos, MAX_TIMEOUT_NANOS);
    Pending p = new Pending(request.input(), key, deadline);
    if (deadline != Long.MAX_VALUE) {
      p.timeout = Timer.SHARED.schedule(timeoutNanos, TimeUnit.NANOSECONDS, () -> {
        queue.remove(p); // its place goes to a request that still waits
        p.future.complete(ForwardResult.failure(Status.TIMEOUT,
            "no answer within " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms"));
      });
      p.future.whenComplete((r, e) -> p.timeout.cancel());
    }
    if (!queue.offerLast(p)) {
      p.future.complete(ForwardResult.failure(Status.BACKOFF,
          "the queue is full (" + limits.queueCapacity() + " requests waiting); try later"));
    } else if (closing && queue.remove(p)) {
      p.future.complete(ForwardResult.failure(Status.UNAVAILABLE, "this peer is closed"));
    }
    return p.future;
  }

  /**
   * Runs {@code request} on the calling thread when a run slot is free and nobody is queued (who
   * would go first, and might batch with it); otherwise returns null and the caller queues it.
   * The run is not interrupted: it ends with its answer or at the deadline.
   *
   * @param timeoutNanos the caller's deadline from now; positive
   * @return the answer (TIMEOUT if the deadline passed first), or null when it must queue
   */
  public ForwardResult runOnCaller(ForwardRequest request, long timeoutNanos) {
    if (closing) {
      return ForwardResult.failure(Status.UNAVAILABLE, "this peer is closed");
    }
    Object key;
    try {
      key = admit(request);
    } catch (Refused r) {
      return r.result;
    }
    if (!queue.isEmpty() || !slots.tryAcquire()) {
      return null;
    }
    Thread me = Thread.currentThread();
    callersRunning.add(me);
    Scratch scratch = spareScratch.poll();
    try {
      if (closing) { // close() saw us registered or we see it closing: never run under release()
        return ForwardResult.failure(Status.UNAVAILABLE, "this peer is closed");
      }
      // Clamped so that the sum cannot wrap; deadlines are compared by difference.
      long deadline = System.nanoTime() + Math.min(timeoutNanos, MAX_TIMEOUT_NANOS);
      Pending p = new Pending(request.input(), key, deadline);
      List<Pending> batch = new ArrayList<>(1);
      batch.add(p);
      callerRuns.incrementAndGet();
      try {
        execute(batch, scratch == null ? scratch = new Scratch() : scratch);
      } catch (Throwable t) {
        fail(batch, Status.INTERNAL_ERROR, "the model run failed: " + t);
      }
      ForwardResult r = p.future.getNow(null);
      if (r == null) {
        return ForwardResult.failure(Status.INTERNAL_ERROR, "the model run gave no answer");
      }
      if (r.isSuccess() && System.nanoTime() - deadline > 0) {
        return ForwardResult.failure(Status.TIMEOUT, "no answer within "
            + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms");
      }
      return r;
    } finally {
      if (scratch != null) {
        spareScratch.offer(scratch);
      }
      callersRunning.remove(me);
      slots.release();
    }
  }

  /** The request's batch key once it passes the checks. */
  private Object admit(ForwardRequest request) {
    Optional<Rejection> bad;
    try {
      bad = check(request);
      if (bad.isEmpty()) {
        return binding.batchKey(request.input());
      }
    } catch (RuntimeException e) {
      throw new Refused(ForwardResult.failure(Status.INTERNAL_ERROR,
          "checking the request failed: " + e));
    }
    throw new Refused(ForwardResult.rejected(bad.get()));
  }

  /** A request answered before it runs. */
  private static final class Refused extends RuntimeException {
    final transient ForwardResult result;

    Refused(ForwardResult result) {
      super(null, null, false, false);
      this.result = result;
    }
  }

  private Optional<Rejection> check(ForwardRequest request) {
    if (request.modality() != modality) {
      return Optional.of(new Rejection(Status.UNKNOWN_MODALITY, "modality",
          "this peer serves " + modality + ", the request is " + request.modality()));
    }
    Tensor x = request.input();
    Optional<Rejection> r = standard.checkInput(modality, x);
    if (r.isPresent()) {
      return r;
    }
    if (x.dim(0) > limits.maxBatch()) {
      return Optional.of(
          new Rejection(
              Status.BAD_SHAPE,
              "input.shape",
              "batch of "
                  + x.dim(0)
                  + " exceeds this peer's limit of "
                  + limits.maxBatch()
                  + "; split it"));
    }
    // Refused before the model runs: building the answer would overflow after it.
    long answerFloats = (long) x.dim(0) * x.dim(1) * standard.outputDim(); // < 2^62
    if (answerFloats > MAX_ANSWER_BYTES / 4) {
      return Optional.of(new Rejection(Status.PAYLOAD_TOO_LARGE, "input.shape",
          "the answer to [" + x.dim(0) + ", " + x.dim(1) + ", ...] at outputDim "
              + standard.outputDim() + " would have " + answerFloats
              + " floats, more than a tensor holds (" + MAX_ANSWER_BYTES + " bytes); split it"));
    }
    // Refused before the copy: a widened or framed copy past a buffer failed as INTERNAL_ERROR.
    long copy = binding.inputBytes(x);
    if (copy > MAX_INPUT_BYTES) {
      return Optional.of(new Rejection(Status.PAYLOAD_TOO_LARGE, "input.shape",
          "the model's input for " + java.util.Arrays.toString(x.shape()) + " " + x.dtype()
              + " would take " + copy + " bytes, more than a buffer holds (" + MAX_INPUT_BYTES
              + " bytes); split it"));
    }
    return binding.check(x);
  }

  private static CompletableFuture<ForwardResult> done(ForwardResult r) {
    return CompletableFuture.completedFuture(r);
  }

  private void work() {
    Scratch scratch = new Scratch();
    // A request gather() took and could not put back (the queue had filled again): it goes next.
    Pending[] held = new Pending[1];
    while (true) {
      Pending first = held[0];
      held[0] = null;
      if (first != null && closing) {
        first.future.complete(ForwardResult.failure(Status.UNAVAILABLE, "this peer is closed"));
        continue;
      }
      if (first == null) {
        try {
          first = queue.pollFirst(POLL_NANOS, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
          continue; // close() decides when to stop, not interrupts
        }
        if (first == null) {
          if (closing) {
            return;
          }
          continue;
        }
      }
      if (first.future.isDone()) {
        continue;
      }
      List<Pending> batch = gather(first, held);
      slots.acquireUninterruptibly(); // callers running on their own threads count too
      try {
        execute(batch, scratch);
      } catch (Throwable t) {
        fail(batch, Status.INTERNAL_ERROR, "the model run failed: " + t);
      } finally {
        slots.release();
      }
    }
  }

  /** The batch that {@code first} starts; a request taken and not put back goes in {@code held}. */
  private List<Pending> gather(Pending first, Pending[] held) {
    List<Pending> batch = new ArrayList<>();
    batch.add(first);
    int rows = first.input.dim(0);
    if (!limits.combine() || !binding.combinable()) {
      return batch;
    }
    long until = System.nanoTime() + limits.windowNanos();
    while (rows < limits.maxBatch()) {
      Pending next;
      long wait = until - System.nanoTime();
      try {
        // In slices, so that a close does not wait out the window: it refuses what would join.
        next = wait > 0 ? queue.pollFirst(Math.min(wait, POLL_NANOS), TimeUnit.NANOSECONDS)
            : queue.pollFirst();
      } catch (InterruptedException e) {
        break;
      }
      if (next == null) {
        if (wait > POLL_NANOS && !closing) {
          continue; // a slice ended, not the window
        }
        break;
      }
      if (next.future.isDone()) {
        continue;
      }
      if (!next.key.equals(first.key) || rows + next.input.dim(0) > limits.maxBatch()) {
        if (!queue.offerFirst(next)) {
          held[0] = next; // submit() filled the place it left: run it next instead of losing it
        }
        break;
      }
      batch.add(next);
      rows += next.input.dim(0);
    }
    return batch;
  }

  private void execute(List<Pending> batch, Scratch scratch) throws OrtException {
    batch.removeIf(p -> p.future.isDone());
    if (batch.isEmpty()) {
      return;
    }
    long lastDeadline = Long.MIN_VALUE;
    List<Tensor> inputs = new ArrayList<>(batch.size());
    for (Pending p : batch) {
      inputs.add(p.input);
      lastDeadline = Math.max(lastDeadline, p.deadline);
    }
    boolean split = false;
    try (RunGuard guard = new RunGuard()) {
      Timer.Timeout cancel = null;
      if (lastDeadline != Long.MAX_VALUE) {
        // Nobody waits past the last deadline: stop the run there.
        cancel = Timer.SHARED.schedule(lastDeadline - System.nanoTime(), TimeUnit.NANOSECONDS,
            guard::terminate);
      }
      try {
        runs.incrementAndGet();
        Tensor[] answers = binding.run(inputs, guard, scratch);
        for (int i = 0; i < answers.length; i++) {
          batch.get(i).future.complete(ForwardResult.success(answers[i]));
        }
      } catch (Shaper.ProjectionTooLarge e) {
        // Every request of the batch has the rows' width (its dimensions after the batch).
        fail(batch, Status.PAYLOAD_TOO_LARGE, e.getMessage());
      } catch (OrtException | RuntimeException e) {
        if (guard.terminated()) {
          cancelledRuns.incrementAndGet();
          fail(
              batch,
              Status.TIMEOUT,
              "the deadline passed during the model run, which was cancelled");
        } else if (batch.size() > 1) {
          split = true; // one request's input may be at fault: it must not fail the others
        } else if (e instanceof Binding.TooLarge) {
          fail(batch, Status.PAYLOAD_TOO_LARGE, e.getMessage());
        } else if (e instanceof RuntimeException r) {
          throw r;
        } else if (((OrtException) e).getCode() == OrtException.OrtErrorCode.ORT_INVALID_ARGUMENT) {
          fail(batch, Status.BAD_REQUEST, "the model refused the input: " + e.getMessage());
        } else {
          fail(batch, Status.INTERNAL_ERROR, "the model run failed ("
              + ((OrtException) e).getCode() + "): " + e.getMessage());
        }
      } finally {
        if (cancel != null) {
          cancel.cancel();
        }
      }
    }
    if (split) { // halves, so that one bad request costs about one batch more, not one per row
      int half = batch.size() / 2;
      runPart(new ArrayList<>(batch.subList(0, half)), scratch);
      runPart(new ArrayList<>(batch.subList(half, batch.size())), scratch);
    }
  }

  /** Runs part of a failed batch; what it throws fails that part alone. */
  private void runPart(List<Pending> part, Scratch scratch) {
    try {
      execute(part, scratch);
    } catch (Throwable t) {
      fail(part, Status.INTERNAL_ERROR, "the model run failed: " + t);
    }
  }

  private static void fail(List<Pending> batch, Status status, String message) {
    for (Pending p : batch) {
      p.future.complete(ForwardResult.failure(status, message));
    }
  }

  /** The binding, for its model description. */
  public Binding binding() {
    return binding;
  }

  /** Of {@link #runs()}, those made on a caller's thread. */
  public long callerRuns() {
    return callerRuns.get();
  }

  /** Model runs started so far (a batch of requests counts once). */
  public long runs() {
    return runs.get();
  }

  /** Of {@link #runs()}, those ended early by their deadline's termination. */
  public long cancelledRuns() {
    return cancelledRuns.get();
  }

  /** True once {@link #close} was called. */
  public boolean isClosed() {
    return closing;
  }

  /** Requests waiting, not yet running. */
  public int queued() {
    return queue.size();
  }

  /**
   * Refuses new requests, answers queued ones UNAVAILABLE, waits for running batches, then frees
   * the binding's constants and this engine's reference to the session. Idempotent; a second
   * caller returns at once. Called from a worker thread (a callback), it does not wait for that
   * worker's own batch. Called on {@link Timer#SHARED}'s thread (a TIMEOUT answer's callback), it
   * does not wait at all: that thread ends the runs at their deadlines, and a helper thread frees
   * the native memory once they have ended.
   */
  @Override
  public void close() {
    synchronized (lifecycle) {
      if (closed) {
        return;
      }
      closed = true;
      closing = true;
    }
    for (Pending p; (p = queue.pollFirst()) != null; ) {
      p.future.complete(ForwardResult.failure(Status.UNAVAILABLE, "this peer is closed"));
    }
    if (Timer.SHARED.isTimerThread()) {
      // Waiting here would hold up the terminations that end the runs waited for.
      daemon(this::awaitRunsAndRelease, "bittensor-onnx-close").start();
      return;
    }
    awaitRunsAndRelease();
  }

  /** Waits for the runs in progress (not the caller's own), then frees what the engine holds. */
  private void awaitRunsAndRelease() {
    boolean interrupted = false;
    for (Thread t : workers) {
      if (t == Thread.currentThread()) {
        continue;
      }
      while (t.isAlive()) {
        try {
          t.join();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
    }
    boolean selfCaller = callersRunning.contains(Thread.currentThread());
    while (!othersDone()) {
      try {
        Thread.sleep(1); // a caller's run in progress; close is rare, a short poll will do
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    boolean self = workers.contains(Thread.currentThread()) || selfCaller;
    if (self) {
      // Our own batch is still on the stack: free native memory after it, on a helper thread.
      Thread me = Thread.currentThread();
      daemon(() -> {
        if (selfCaller) {
          while (callersRunning.contains(me)) { // the run that called close() returns first
            Thread.onSpinWait();
            Thread.yield();
          }
        } else {
          joinQuietly(me);
        }
        release();
      }, me.getName() + "-close").start();
    } else {
      release();
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /** Whether no thread but this one is running a model on a caller's behalf. */
  private boolean othersDone() {
    for (Thread t : callersRunning) {
      if (t != Thread.currentThread()) {
        return false;
      }
    }
    return true;
  }

  private void release() {
    binding.close();
    session.release();
  }

  private static void joinQuietly(Thread t) {
    while (t.isAlive()) {
      try {
        t.join();
      } catch (InterruptedException e) {
        // keep waiting: freeing memory under a running batch would crash the JVM
      }
    }
  }

  /** A queued request. */
  private static final class Pending {
    final Tensor input;
    final Object key;
    final long deadline;
    final CompletableFuture<ForwardResult> future = new CompletableFuture<>();
    volatile Timer.Timeout timeout;

    Pending(Tensor input, Object key, long deadline) {
      this.input = input;
      this.key = key;
      this.deadline = deadline;
    }
  }
}
