package io.bittensor.onnx;

import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.onnx.internal.Binding;
import io.bittensor.onnx.internal.Engine;
import io.bittensor.onnx.internal.ModelSource;
import io.bittensor.onnx.internal.SessionSettings;
import io.bittensor.onnx.internal.SharedSession;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * An ONNX model served as a {@link Peer}: requests in the network's layout go through an {@link
 * InputAdapter} into an ONNX Runtime session, and the model's output comes back through an {@link
 * OutputAdapter} as the standard {@code [batch, sequence, outputDim]} float32 answer.
 *
 * <pre>{@code
 * TextTokenizer tokenizer = TextTokenizer.fromFile(Path.of("tokenizer.json"), 256);
 * try (OnnxPeer peer = OnnxPeer.builder()
 *     .model(Path.of("all-minilm-l6-v2-q.onnx"))
 *     .input(TextInput.bert().withMaxLength(256))
 *     .output(OutputAdapter.first().withPooling(OutputAdapter.Pooling.MEAN).withL2Normalize(true))
 *     .outputDim(384)
 *     .build()) {
 *   Tensor ids = tokenizer.encode(List.of("a sentence"));
 *   ForwardResult r = peer.forward(new ForwardRequest(Modality.TEXT, ids)).join();
 * }
 * }</pre>
 *
 * <p>Behaviour. Bad input is answered with a failed {@link ForwardResult} naming the field and
 * the limit (a wrong modality UNKNOWN_MODALITY; wrong rank, sizes, sequence over the maximum
 * length, batch over {@link Builder#maxBatch} BAD_SHAPE; NaN values, out-of-range token ids
 * BAD_REQUEST; an answer larger than a tensor holds PAYLOAD_TOO_LARGE); a full queue BACKOFF; a
 * passed deadline TIMEOUT (the model run is cancelled); a closed peer UNAVAILABLE. The returned
 * futures never complete exceptionally.
 *
 * <p>Speed. Concurrent requests of the same shape are run together, up to {@link
 * Builder#maxBatch} rows, by one worker thread (or {@link Builder#workers}); a worker waits at
 * most {@link Builder#batchWindow} for more (0 by default: it takes what is queued when it is
 * free). A run of several requests that fails is run again in halves, so that a request the
 * model refuses fails alone. Inputs are written once into direct native-order buffers that ONNX
 * Runtime reads in place; answers whose shape follows from the inputs are written by ONNX Runtime
 * straight into a pre-allocated buffer.
 *
 * <p>Thread-safety: thread-safe; {@code forward} may be called from any number of threads. The
 * futures complete on the peer's worker or timer thread: dependent stages that block should run on
 * an executor of their own.
 *
 * <p>Lifecycle: {@link #close()} refuses new requests, answers queued ones UNAVAILABLE, waits for
 * the model runs in progress, then frees the session (when no peer derived with {@link
 * #toBuilder()} still uses it). It is idempotent and registers no shutdown hook.
 */
public final class OnnxPeer implements Peer, AutoCloseable {
  private final Engine engine;
  private final SharedSession session;
  private final Builder recipe;

  private OnnxPeer(Engine engine, SharedSession session, Builder recipe) {
    this.engine = engine;
    this.session = session;
    this.recipe = recipe;
  }

  /** A builder with the defaults: CPU, ONNX Runtime's threads, all optimisations, batches of 64. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * A builder with this peer's settings that shares its loaded session (no second copy of the
   * model): change the adapters, output size or batching and build a variant. The session is
   * freed when the last peer using it is closed; a variant built after that loads the model again.
   * A variant whose session settings differ (device, threads, optimisation, determinism,
   * spinning) cannot share it and loads the model again.
   *
   * @throws IllegalStateException if this peer is closed
   */
  public Builder toBuilder() {
    if (engine.isClosed()) {
      throw new IllegalStateException(this + " is closed: build a variant before closing it");
    }
    Builder b = recipe.copy();
    b.shared = session;
    b.sharedRecipe = b.sessionRecipe();
    return b;
  }

  /**
   * Answers a batch; see the class documentation for the statuses.
   *
   * @param request the batch; not modified
   * @return the answer or the reason there is none; never completes exceptionally
   */
  @Override
  public CompletableFuture<ForwardResult> forward(ForwardRequest request) {
    Objects.requireNonNull(request, "request");
    return engine.submit(request, Long.MAX_VALUE);
  }

  /**
   * Answers a batch within {@code timeout}: when it passes the answer is TIMEOUT, and a model run
   * that no caller waits for any more is cancelled ({@code RunOptions.setTerminate}).
   *
   * @param request the batch; not modified
   * @param timeout how long to wait; positive
   * @return the answer, or TIMEOUT; never completes exceptionally
   * @throws IllegalArgumentException if {@code timeout} is not positive
   */
  public CompletableFuture<ForwardResult> forward(ForwardRequest request, Duration timeout) {
    Objects.requireNonNull(request, "request");
    return engine.submit(request, positiveNanos(timeout));
  }

  /**
   * A timeout in nanoseconds, saturated below {@code Long.MAX_VALUE} (which means none).
   *
   * @throws IllegalArgumentException if it is not positive
   */
  private static long positiveNanos(Duration timeout) {
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive, was " + timeout);
    }
    try {
      return timeout.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE - 1;
    }
  }

  /**
   * Answers a batch within {@code timeout}, running the model on the calling thread when one of
   * the peer's run slots (one per worker) is free and no request is queued; otherwise it queues
   * like {@link #forward(ForwardRequest, Duration)} and waits. Running here saves handing the
   * request to a worker and the answer back, two thread wake-ups, which is most of the time a
   * small model takes. A run on the calling thread is not stopped by an interrupt: it ends with
   * its answer or at the deadline (ONNX Runtime's run is terminated then), and the flag stays set.
   *
   * @throws IllegalArgumentException if {@code timeout} is not positive
   */
  @Override
  public ForwardResult forwardAndWait(ForwardRequest request, Duration timeout) {
    Objects.requireNonNull(request, "request");
    long nanos = positiveNanos(timeout);
    if (Thread.currentThread().isInterrupted()) {
      return ForwardResult.failure(Status.CANCELLED, "interrupted before the call");
    }
    ForwardResult here = engine.runOnCaller(request, nanos);
    return here != null ? here : Peer.super.forwardAndWait(request, timeout);
  }

  /** The device the model really runs on: the CPU when CUDA was asked for but could not be used. */
  public Device device() {
    return session.device();
  }

  /** Why the CUDA device asked for was not used, or empty. */
  public String deviceFallbackReason() {
    return session.fallback();
  }

  /** The model's declared inputs, outputs and metadata. */
  public ModelInfo modelInfo() {
    return session.info();
  }

  /** The modality this peer serves. */
  public Modality modality() {
    return recipe.input.modality();
  }

  /** The size of the last dimension of every answer. */
  public int outputDim() {
    return recipe.outputDim;
  }

  /** Requests queued and not yet running (for monitoring). */
  public int queued() {
    return engine.queued();
  }

  /** Model runs started so far; requests run together count once (for tests and monitoring). */
  long modelRuns() {
    return engine.runs();
  }

  /** Of {@link #modelRuns()}, those made on a caller's thread by {@link #forwardAndWait}. */
  long callerRuns() {
    return engine.callerRuns();
  }

  /** Of {@link #modelRuns()}, those a passed deadline ended before the model did (for tests). */
  long cancelledRuns() {
    return engine.cancelledRuns();
  }

  /** Frees what this peer holds once its runs in progress end; idempotent. */
  @Override
  public void close() {
    engine.close();
  }

  @Override
  public String toString() {
    return "OnnxPeer["
        + session.source()
        + ", "
        + modality()
        + " -> "
        + recipe.outputDim
        + ", "
        + device()
        + "]";
  }

  /**
   * Configures and builds an {@link OnnxPeer}. The model, the modality and {@link #outputDim} are
   * required, except that a model written by {@link OnnxExport} supplies the last two from its
   * metadata; {@link #modality} picks the modality's default adapter, {@link #input} a configured
   * one.
   *
   * <pre>{@code
   * OnnxPeer vad = OnnxPeer.builder()
   *     .model(Path.of("silero_vad_v5.onnx"))
   *     .input(SpeechInput.frames(512).withContext(64).withState("state", "stateN"))
   *     .constantInput("sr", Tensor.ofLongs(new long[] {16000}))
   *     .outputDim(1)
   *     .intraOpThreads(1)
   *     .build();
   * }</pre>
   *
   * <p>Not thread-safe; build from one thread. A builder may build several peers.
   */
  public static final class Builder {
    private ModelSource source;
    private SharedSession shared;
    /** The session settings {@code shared} was opened with. */
    private List<Object> sharedRecipe;
    private InputAdapter input;
    private OutputAdapter output = OutputAdapter.first();
    private int outputDim;
    private final Map<String, Tensor> constants = new LinkedHashMap<>();
    private Device device = Device.cpu();
    private int intraOpThreads;
    private int interOpThreads;
    private boolean sharedThreadPool;
    private Optimization optimization = Optimization.ALL;
    private boolean deterministic;
    private boolean spinning = true;
    private int maxBatch = 64;
    private Duration batchWindow = Duration.ZERO;
    private int queueCapacity = 1024;
    private int workers = 1;
    private boolean combine = true;
    private SharedSession.CudaInstaller cuda = SharedSession.CudaInstaller.ORT;

    private Builder() {}

    private Builder copy() {
      Builder b = new Builder();
      b.source = source;
      b.input = input;
      b.output = output;
      b.outputDim = outputDim;
      b.constants.putAll(constants);
      b.device = device;
      b.intraOpThreads = intraOpThreads;
      b.interOpThreads = interOpThreads;
      b.sharedThreadPool = sharedThreadPool;
      b.optimization = optimization;
      b.deterministic = deterministic;
      b.spinning = spinning;
      b.maxBatch = maxBatch;
      b.batchWindow = batchWindow;
      b.queueCapacity = queueCapacity;
      b.workers = workers;
      b.combine = combine;
      b.cuda = cuda;
      return b;
    }

    /** The model file. */
    public Builder model(Path file) {
      this.source = ModelSource.of(file);
      this.shared = null;
      return this;
    }

    /** The model's bytes; copied. */
    public Builder model(byte[] bytes) {
      this.source = ModelSource.of(bytes);
      this.shared = null;
      return this;
    }

    /**
     * A model on the class path, e.g. {@code "/all-minilm-l6-v2-q.onnx"}, looked up through the
     * thread's context class loader (or this library's when there is none).
     */
    public Builder modelResource(String name) {
      ClassLoader loader = Thread.currentThread().getContextClassLoader();
      this.source =
          ModelSource.ofResource(name, loader != null ? loader : OnnxPeer.class.getClassLoader());
      this.shared = null;
      return this;
    }

    /** The modality served, with its default adapter ({@link InputAdapter#defaultFor}). */
    public Builder modality(Modality modality) {
      this.input = InputAdapter.defaultFor(Objects.requireNonNull(modality, "modality"));
      return this;
    }

    /** The input adapter, and with it the modality served. */
    public Builder input(InputAdapter adapter) {
      this.input = Objects.requireNonNull(adapter, "adapter");
      return this;
    }

    /** The output adapter; {@link OutputAdapter#first()} by default. */
    public Builder output(OutputAdapter adapter) {
      this.output = Objects.requireNonNull(adapter, "adapter");
      return this;
    }

    /**
     * The network's output size, the last dimension of every answer.
     *
     * @throws IllegalArgumentException if {@code dim < 1}
     */
    public Builder outputDim(int dim) {
      if (dim < 1) {
        throw new IllegalArgumentException("outputDim must be >= 1, was " + dim);
      }
      this.outputDim = dim;
      return this;
    }

    /**
     * A model input fed with the same value on every run (e.g. Silero VAD's sample rate {@code
     * sr}). A one-element tensor feeds a scalar input; a tensor of another type or shape than the
     * input declares fails {@link #build} naming it.
     */
    public Builder constantInput(String name, Tensor value) {
      constants.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(value, "value"));
      return this;
    }

    /** The device asked for; {@link Device#cpu()} by default. CUDA falls back to the CPU. */
    public Builder device(Device device) {
      this.device = Objects.requireNonNull(device, "device");
      return this;
    }

    /**
     * Threads within one operator for this peer's own pool; 0 (the default) lets ONNX Runtime pick.
     *
     * @throws IllegalArgumentException if {@code threads < 0}
     */
    public Builder intraOpThreads(int threads) {
      this.intraOpThreads = requireNonNegative(threads, "intraOpThreads");
      return this;
    }

    /**
     * Threads across operators for this peer's own pool; 0 (the default) lets ONNX Runtime pick.
     *
     * @throws IllegalArgumentException if {@code threads < 0}
     */
    public Builder interOpThreads(int threads) {
      this.interOpThreads = requireNonNegative(threads, "interOpThreads");
      return this;
    }

    /**
     * Use the process-wide ONNX Runtime thread pool (one thread per core) instead of a pool per
     * peer, so that many peers in one JVM do not oversubscribe the cores. Needs this library to
     * create the ONNX Runtime environment, i.e. a peer built before other ONNX Runtime users in
     * the JVM; otherwise {@link #build} fails with an {@link IllegalStateException} saying so.
     */
    public Builder sharedThreadPool(boolean shared) {
      this.sharedThreadPool = shared;
      return this;
    }

    /** The graph optimisation level; {@link Optimization#ALL} by default. */
    public Builder optimization(Optimization level) {
      this.optimization = Objects.requireNonNull(level, "level");
      return this;
    }

    /** Ask ONNX Runtime for deterministic kernels (for tests); off by default. */
    public Builder deterministic(boolean on) {
      this.deterministic = on;
      return this;
    }

    /**
     * Whether ONNX Runtime's idle pool threads spin waiting for work (its default, true) or sleep.
     * Spinning shaves latency on a machine of one's own; on a shared or oversubscribed one (more
     * busy threads than cores, several peers in one JVM) it burns the cores other work needs, so
     * turn it off there.
     */
    public Builder spinning(boolean on) {
      this.spinning = on;
      return this;
    }

    /**
     * The most rows (batch items) one model run takes, and the largest batch one request may
     * have; 64 by default.
     *
     * @throws IllegalArgumentException if {@code rows < 1}
     */
    public Builder maxBatch(int rows) {
      if (rows < 1) {
        throw new IllegalArgumentException("maxBatch must be >= 1, was " + rows);
      }
      this.maxBatch = rows;
      return this;
    }

    /**
     * How long a worker waits for more requests to join a batch; zero by default.
     *
     * @throws IllegalArgumentException if negative or over one second
     */
    public Builder batchWindow(Duration window) {
      if (window.isNegative() || window.compareTo(Duration.ofSeconds(1)) > 0) {
        throw new IllegalArgumentException("batchWindow must be in [0, 1 s], was " + window);
      }
      this.batchWindow = window;
      return this;
    }

    /**
     * Requests that may wait; more are answered BACKOFF. 1024 by default.
     *
     * @throws IllegalArgumentException if {@code requests < 1}
     */
    public Builder queueCapacity(int requests) {
      if (requests < 1) {
        throw new IllegalArgumentException("queueCapacity must be >= 1, was " + requests);
      }
      this.queueCapacity = requests;
      return this;
    }

    /**
     * Worker threads running batches concurrently on the shared session; 1 by default (ONNX
     * Runtime's own threads do the parallel work).
     *
     * @throws IllegalArgumentException if {@code threads < 1}
     */
    public Builder workers(int threads) {
      if (threads < 1) {
        throw new IllegalArgumentException("workers must be >= 1, was " + threads);
      }
      this.workers = threads;
      return this;
    }

    /**
     * Whether concurrent requests may share one model run; true by default. Turn it off for
     * answers that must not depend on what else was in the batch: a dynamically quantised model
     * (such as the int8 MiniLM) computes its quantisation scales over the whole batch, so its
     * numbers move slightly (about 1e-3) when requests are run together.
     */
    public Builder combineRequests(boolean on) {
      this.combine = on;
      return this;
    }

    /** Replaces how CUDA is added to the session options (tests drive the fallback with it). */
    Builder cudaInstaller(SharedSession.CudaInstaller installer) {
      this.cuda = Objects.requireNonNull(installer, "installer");
      return this;
    }

    /**
     * Loads the model (or shares the session of the peer this builder came from), checks the
     * adapters against it and starts the peer.
     *
     * @throws OnnxModelException if the model cannot be read or loaded, or does not fit the
     *     adapters
     * @throws IllegalStateException if no model, adapter or output size was given (a model
     *     written by {@link OnnxExport} supplies the last two from its metadata), or a shared
     *     thread pool was asked for and cannot be had
     */
    public OnnxPeer build() throws OnnxModelException {
      if (source == null) {
        throw new IllegalStateException(
            "no model: call model(path), model(bytes) or modelResource(name)");
      }
      SharedSession session = null;
      if (shared != null && sessionRecipe().equals(sharedRecipe)) {
        session = shared.tryRetain(); // null once every peer sharing it closed: load it again
      }
      if (session == null) {
        session = SharedSession.open(source, settings(), device, cuda);
      }
      try {
        // A model written by OnnxExport says what it serves; explicit settings win.
        Map<String, String> meta = session.info().metadata();
        InputAdapter in = input;
        int dim = outputDim;
        try {
          if (in == null && meta.containsKey(OnnxExport.MODALITY_KEY)) {
            in = InputAdapter.defaultFor(Modality.valueOf(meta.get(OnnxExport.MODALITY_KEY)));
          }
          if (dim == 0 && meta.containsKey(OnnxExport.OUTPUT_DIM_KEY)) {
            dim = Integer.parseInt(meta.get(OnnxExport.OUTPUT_DIM_KEY));
            if (dim < 1) { // the file is at fault, not the caller
              throw new IllegalArgumentException(OnnxExport.OUTPUT_DIM_KEY + " must be >= 1");
            }
          }
        } catch (IllegalArgumentException bad) {
          throw new OnnxModelException(
              session.source() + ": unreadable bittensor metadata " + meta, bad);
        }
        if (in == null) {
          throw new IllegalStateException("no modality: call modality(m) or input(adapter)");
        }
        if (dim < 1) {
          throw new IllegalStateException(
              "no outputDim: call outputDim(n) with the network's output size");
        }
        Builder recipe = copy();
        recipe.input = in;
        recipe.outputDim = dim;
        Binding binding = Binding.create(session, in, output, dim, constants);
        Engine engine;
        try {
          engine = new Engine(binding, session, in.modality(), dim,
              new Engine.Limits(maxBatch, batchWindow.toNanos(), queueCapacity, workers, combine));
        } catch (Throwable e) { // its constant tensors are the binding's until an engine runs it
          binding.close();
          throw e;
        }
        return new OnnxPeer(engine, session, recipe);
      } catch (Throwable e) { // an Error too (no memory, no thread): nothing is left open
        session.release();
        throw e;
      }
    }

    private SessionSettings settings() {
      return new SessionSettings(intraOpThreads, interOpThreads, sharedThreadPool, optimization,
          deterministic, spinning);
    }

    /** What a session is opened with: a variant shares its peer's only while these are equal. */
    private List<Object> sessionRecipe() {
      return List.of(settings(), device, cuda);
    }

    private static int requireNonNegative(int value, String what) {
      if (value < 0) {
        throw new IllegalArgumentException(
            what + " must be >= 0 (0: ONNX Runtime's choice), was " + value);
      }
      return value;
    }
  }
}
