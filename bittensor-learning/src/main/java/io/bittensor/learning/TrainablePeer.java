package io.bittensor.learning;

import io.bittensor.core.BackwardRequest;
import io.bittensor.core.BackwardResult;
import io.bittensor.core.DType;
import io.bittensor.core.Experimental;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Peer;
import io.bittensor.core.PeerId;
import io.bittensor.core.Rejection;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.core.internal.DurableFiles;
import io.bittensor.core.internal.StateFile;
import io.bittensor.learning.internal.Checks;
import io.bittensor.learning.internal.Rows;
import io.bittensor.onnx.Mlp;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * A peer that learns from the gradients its callers send back: the paper's peers, whose
 * parameters the network trains (section 5: each caller returns the gradient of its loss with
 * respect to the peer's answer). It answers each example with its network's output on the
 * example's features, the same at every position of the sequence; for a gradient it runs the
 * example forward again, back-propagates the gradient (summed over the positions, which all hold
 * that one answer) and takes one Adam step.
 *
 * <pre>{@code
 * TrainablePeer peer = TrainablePeer.builder()
 *     .network(TrainableMlp.random(new int[] {784, 64, 10}, Mlp.Activation.RELU, 1))
 *     .learningRate(1e-3)
 *     .build();
 * // serve it as any peer (PeerServer, a Neuron); a Learner's backward calls train it
 * Mlp now = peer.toMlp();                       // what it has learned, ready for OnnxExport
 * }</pre>
 *
 * <p>With {@link Builder#normalize} each answer is a unit vector, as the market's other peers
 * answer, and the gradient goes back through the scaling.
 *
 * <p>Callers are not trusted. A gradient holding a NaN or an infinity is refused (BAD_REQUEST,
 * field {@code gradient}), one whose shape is not the answer's too (BAD_SHAPE), and each
 * example's gradient is scaled down to at most {@link Builder#maxGradientNorm} (1 by default), so
 * that no caller moves the network by more than a bounded step. With {@link
 * Builder#gradientsFrom} it learns only from the callers it names: those its server proved
 * ({@link BackwardRequest#caller()}), for example the keys that hold stake on the ledger.
 *
 * <p>Thread-safe. Answers are computed concurrently; a gradient step excludes them while it runs,
 * so every answer comes from one version of the network.
 */
@Experimental
public final class TrainablePeer implements Peer {
  private static final String CHECKPOINT_MAGIC = "BTTPEER\0";

  private final TrainableMlp network;
  private final Adam adam;
  private final Function<Tensor, Tensor> features;
  private final double maxGradientNorm;
  private final boolean normalize;
  private final Predicate<PeerId> gradientsFrom;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private long steps;

  private TrainablePeer(Builder b) {
    this.network = b.network;
    this.adam = Adam.over(network.parameters(), b.learningRate);
    this.features = b.features;
    this.maxGradientNorm = b.maxGradientNorm;
    this.normalize = b.normalize;
    this.gradientsFrom = b.gradientsFrom;
  }

  /** A builder; {@link Builder#network} is required. */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public CompletableFuture<ForwardResult> forward(ForwardRequest request) {
    Objects.requireNonNull(request, "request");
    float[] x;
    try {
      x = featuresOf(request.input());
    } catch (Refused e) {
      return CompletableFuture.completedFuture(ForwardResult.rejected(e.why));
    }
    Tensor input = request.input();
    int rows = input.dim(0);
    int seq = input.dim(1);
    int dim = network.outputDim();
    float[] y;
    lock.readLock().lock();
    try {
      y = network.predict(x, rows);
    } finally {
      lock.readLock().unlock();
    }
    if (normalize) {
      NnOps.unitRows(y, rows, dim);
    }
    float[] out = new float[rows * seq * dim];
    for (int r = 0; r < rows; r++) {
      for (int t = 0; t < seq; t++) {
        System.arraycopy(y, r * dim, out, (r * seq + t) * dim, dim);
      }
    }
    return CompletableFuture.completedFuture(ForwardResult.success(
        Tensor.ofFloats(out, rows, seq, dim)));
  }

  @Override
  public CompletableFuture<BackwardResult> backward(BackwardRequest request) {
    Objects.requireNonNull(request, "request");
    try {
      checkCaller(request);
      Tensor input = request.input();
      float[] x = featuresOf(input);
      float[] dy = perExample(input, request.gradient());
      int rows = input.dim(0);
      lock.writeLock().lock();
      try {
        float[] z = network.forward(x, rows);
        if (normalize) {
          NnOps.unitRowsBackward(z, dy, rows, network.outputDim());
        }
        network.backward(dy, false);
        adam.step();
        steps++;
      } finally {
        lock.writeLock().unlock();
      }
      return CompletableFuture.completedFuture(BackwardResult.success());
    } catch (Refused e) {
      return CompletableFuture.completedFuture(BackwardResult.rejected(e.why));
    }
  }

  /** How many gradients it has learned from. */
  public long steps() {
    lock.readLock().lock();
    try {
      return steps;
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * Writes what it has learned to {@code file}, whole or not at all: the network's parameters,
   * Adam's moments and step count, and its step count. {@link #restoreCheckpoint} into a peer
   * built the same way goes on where this one stands; a crash while writing leaves the file as
   * it was.
   *
   * @throws IOException if the file cannot be written
   */
  public void saveCheckpoint(Path file) throws IOException {
    Objects.requireNonNull(file, "file");
    DurableFiles.replace(file, checkpoint());
  }

  /** The bytes {@link #saveCheckpoint} writes, for a caller that keeps them elsewhere. */
  public byte[] checkpoint() {
    lock.readLock().lock();
    try {
      StateFile.Writer w = new StateFile.Writer(CHECKPOINT_MAGIC);
      Parameter.save(network.parameters(), w, "network/");
      adam.save(w, "network/adam/");
      w.longs("steps", steps);
      return w.toBytes();
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * Replaces what it has learned with a checkpoint's ({@link #saveCheckpoint}), all or nothing:
   * a file that is damaged or does not fit leaves the peer as it was.
   *
   * @throws IOException if the file cannot be read or is not a whole checkpoint
   * @throws IllegalArgumentException if it was written by a peer whose network has another
   *     shape, naming the first array that differs
   */
  public void restoreCheckpoint(Path file) throws IOException {
    Learner.restoreFrom(file, this::restoreCheckpoint);
  }

  /**
   * {@link #restoreCheckpoint(Path)} from the bytes {@link #checkpoint()} gave.
   *
   * @throws IOException if they are not a whole checkpoint
   * @throws IllegalArgumentException if they were written by a peer of another shape
   */
  public void restoreCheckpoint(byte[] checkpoint) throws IOException {
    StateFile.Reader r = StateFile.Reader.decode(checkpoint, CHECKPOINT_MAGIC, "trainable peer");
    Parameter.restore(network.parameters(), r, "network/");
    adam.restore(r, "network/adam/");
    long restored = r.longs("steps", 1)[0];
    if (restored < 0) {
      throw new IllegalArgumentException("the checkpoint's steps are " + restored);
    }
    r.then(() -> steps = restored);
    lock.writeLock().lock();
    try {
      r.apply();
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Its network as it is now, as an immutable {@link Mlp} (for {@code OnnxExport}). */
  public Mlp toMlp() {
    lock.readLock().lock();
    try {
      return network.toMlp();
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public String toString() {
    return "TrainablePeer[" + network + ", " + steps() + " steps]";
  }

  private void checkCaller(BackwardRequest request) throws Refused {
    if (gradientsFrom == null) {
      return;
    }
    PeerId caller = request.caller().orElseThrow(() -> new Refused(new Rejection(
        Status.UNAUTHENTICATED, "caller", "this peer learns only from callers it knows; the "
            + "gradient came from no proven caller (anonymous, or not through a server)")));
    boolean accepted;
    try {
      accepted = gradientsFrom.test(caller);
    } catch (RuntimeException e) { // the contract: a result, never an exception
      throw new Refused(new Rejection(Status.INTERNAL_ERROR, "caller",
          "gradientsFrom failed on " + caller.toHex() + ": " + e));
    }
    if (!accepted) {
      throw new Refused(new Rejection(Status.UNAUTHENTICATED, "caller",
          "this peer does not learn from " + caller.toHex()));
    }
  }

  private float[] featuresOf(Tensor input) throws Refused {
    if (input.rank() < 2) {
      throw new Refused(Rejection.of(Status.BAD_SHAPE, "an input has at least [batch, sequence],"
          + " was " + Arrays.toString(input.shape())));
    }
    if (input.dim(0) == 0) {
      throw new Refused(Rejection.of(Status.BAD_SHAPE, "a batch holds at least one example, was "
          + Arrays.toString(input.shape())));
    }
    Tensor f;
    float[] x;
    try {
      f = Objects.requireNonNull(features.apply(input), "the features function's result");
      x = Rows.floats(f, "the features");
    } catch (IllegalArgumentException e) {
      throw new Refused(Rejection.of(Status.BAD_SHAPE, e.getMessage()));
    }
    if (f.rank() < 1 || f.dim(0) != input.dim(0) || Rows.width(f) != network.inputDim()) {
      throw new Refused(Rejection.of(Status.BAD_SHAPE, "the input gives features of shape "
          + Arrays.toString(f.shape()) + "; this network takes [" + input.dim(0) + ", "
          + network.inputDim() + "]"));
    }
    return x;
  }

  /**
   * The gradient with respect to each example's one answer: the sum over its positions, scaled
   * down to at most {@code maxGradientNorm}.
   */
  private float[] perExample(Tensor input, Tensor gradient) throws Refused {
    int rows = input.dim(0);
    int seq = input.dim(1);
    int dim = network.outputDim();
    int[] expected = {rows, seq, dim};
    if (gradient.dtype() != DType.FLOAT32 || !Arrays.equals(gradient.shape(), expected)) {
      throw new Refused(Rejection.of(Status.BAD_SHAPE, "the gradient must be FLOAT32 "
          + Arrays.toString(expected) + " (the answer's shape), was " + gradient.dtype() + " "
          + Arrays.toString(gradient.shape())));
    }
    float[] g = gradient.toFloatArray();
    for (int i = 0; i < g.length; i++) {
      if (!Float.isFinite(g[i])) {
        throw new Refused(Rejection.badRequest("gradient",
            "gradient[" + i + "] is " + g[i] + "; gradients must be finite"));
      }
    }
    float[] dy = new float[rows * dim];
    double[] sum = new double[dim];
    for (int r = 0; r < rows; r++) {
      double norm2 = 0;
      for (int c = 0; c < dim; c++) {
        double s = 0;
        for (int t = 0; t < seq; t++) {
          s += g[(r * seq + t) * dim + c];
        }
        sum[c] = s;
        dy[r * dim + c] = (float) s;
        norm2 += s * s;
      }
      double norm = Math.sqrt(norm2);
      if (norm > maxGradientNorm) {
        float scale = (float) (maxGradientNorm / norm);
        for (int c = 0; c < dim; c++) {
          // A sum over the positions past the float range is scaled before it is rounded.
          dy[r * dim + c] = Float.isFinite(dy[r * dim + c]) ? dy[r * dim + c] * scale
              : (float) (sum[c] * (maxGradientNorm / norm));
        }
      }
    }
    return dy;
  }

  /** A request refused with a status, not an error of ours. */
  private static final class Refused extends Exception {
    private final transient Rejection why;

    Refused(Rejection why) {
      super(why.message(), null, false, false);
      this.why = why;
    }
  }

  /** Configures a {@link TrainablePeer}. Not thread-safe. */
  public static final class Builder {
    private TrainableMlp network;
    private double learningRate = 1e-3;
    private Function<Tensor, Tensor> features = Learner::flatten;
    private double maxGradientNorm = 1.0;
    private boolean normalize;
    private Predicate<PeerId> gradientsFrom;

    private Builder() {}

    /**
     * The network it answers with and trains; the peer owns it from here on (train it nowhere
     * else).
     */
    public Builder network(TrainableMlp network) {
      this.network = Objects.requireNonNull(network, "network");
      return this;
    }

    /**
     * Adam's step size. Default 1e-3.
     *
     * @throws IllegalArgumentException unless finite and {@code > 0}
     */
    public Builder learningRate(double rate) {
      Checks.positive(rate, "learningRate");
      this.learningRate = rate;
      return this;
    }

    /**
     * What the network sees of an input: a {@code [batch, network.inputDim()]} tensor, FLOAT32
     * (or UINT8 pixels, read as [0, 1]). Default {@link Learner#flatten}: every value of each
     * example, in order.
     */
    public Builder features(Function<Tensor, Tensor> features) {
      this.features = Objects.requireNonNull(features, "features");
      return this;
    }

    /**
     * The largest norm of one example's gradient; larger ones are scaled down to it. Default 1.
     *
     * @throws IllegalArgumentException unless {@code > 0} (infinity turns clipping off)
     */
    public Builder maxGradientNorm(double norm) {
      if (!(norm > 0)) {
        throw new IllegalArgumentException("maxGradientNorm must be > 0, was " + norm);
      }
      this.maxGradientNorm = norm;
      return this;
    }

    /**
     * Whether each answer is scaled to unit length, as the pretrained encoders and the
     * bag-of-words peer answer; the gradient then goes back through the scaling. Default false.
     * Without it, a network trained by its callers tends to answer ever larger vectors (larger
     * answers lower their loss), which other callers' heads, fitted to smaller ones, misread.
     */
    public Builder normalize(boolean on) {
      this.normalize = on;
      return this;
    }

    /**
     * Learns only from the gradients of callers that {@code callers} accepts; the others, and
     * gradients with no proven caller (anonymous requests, calls made in process without a
     * server), are refused with UNAUTHENTICATED (field {@code caller}) and change nothing. It
     * runs on the thread that delivers the gradient, before the step's lock, and must be quick:
     * a set of keys, or a look at the ledger's last metagraph. Default: every caller's gradient,
     * anonymous ones too.
     *
     * <pre>{@code
     * Ledger ledger = RemoteLedger.connect(URI.create("http://10.0.0.2:8092"));
     * TrainablePeer.builder().gradientsFrom(LedgerMembers.follow(ledger, 1))...   // staked keys
     * }</pre>
     */
    @Experimental
    public Builder gradientsFrom(Predicate<PeerId> callers) {
      this.gradientsFrom = Objects.requireNonNull(callers, "callers");
      return this;
    }

    /**
     * The peer.
     *
     * @throws IllegalStateException if no network was given
     */
    public TrainablePeer build() {
      if (network == null) {
        throw new IllegalStateException("a trainable peer needs a network: call network(...)");
      }
      return new TrainablePeer(this);
    }
  }
}
