package io.bittensor.learning;

import io.bittensor.core.BackwardResult;
import io.bittensor.core.Distiller;
import io.bittensor.core.Experimental;
import io.bittensor.core.FallbackCall;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.Gated;
import io.bittensor.core.GatingLayer;
import io.bittensor.core.PeerCall;
import io.bittensor.core.PeerGradient;
import io.bittensor.core.Rejection;
import io.bittensor.core.StandIns;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.core.TensorStandard;
import io.bittensor.core.internal.Deadlines;
import io.bittensor.core.internal.DurableFiles;
import io.bittensor.core.internal.StateFile;
import io.bittensor.incentive.PeerVector;
import io.bittensor.learning.internal.BrainSurgeon;
import io.bittensor.learning.internal.Checks;
import io.bittensor.learning.internal.Rows;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * What a neuron runs to learn from the network (paper, section 5): for each batch of its own
 * labelled data it routes and queries peers through its {@link GatingLayer}, applies its local
 * head to the joined answer {@code G(x)}, computes the cross-entropy against the labels,
 * back-propagates into the head and the gate, and sends each peer it asked the gradient for its
 * answer. Meanwhile it learns what each peer is worth: its weight row, from the gate's
 * importance, from a pruning score, or from what replacing it by the gate's next choice costs
 * (see {@link WeightSource}).
 *
 * <pre>{@code
 * List<Peer> peers = ...;                      // clients of other neurons, or in process
 * record Batch(Tensor images, int[] labels) {}  // your data
 * List<Batch> batches = ...;
 * Learner learner = Learner.builder()
 *     .gate(NoisyTopKGate.builder().peers(peers).k(2).contextDim(784).outputDim(10).build())
 *     .head(TrainableMlp.random(new int[] {10, 32, 10}, Mlp.Activation.RELU, 1))
 *     .timeout(Duration.ofMillis(500))
 *     .build();
 * for (int epoch = 0; epoch < 10; epoch++) {
 *   for (Batch b : batches) {
 *     learner.train(new ForwardRequest(Modality.TENSOR, b.images()), b.labels());
 *   }
 * }
 * Evaluation e = learner.evaluate(new ForwardRequest(Modality.TENSOR, heldOut), heldOutLabels);
 * PeerVector row = learner.weights(WeightSource.PRUNING_SCORE, 4);   // ready for the ledger
 * }</pre>
 *
 * <p>Labels: one class per example and sequence position, row-major, in {@code [0,
 * head.outputDim())}. The context the gate routes on is, by default, each example's input
 * flattened (FLOAT32, or UINT8 scaled to [0, 1]); {@link Builder#context} changes it.
 *
 * <p>Offline. With a {@link Builder#distiller}, the student is fitted to {@code G(x)} at each
 * training step (on the examples the peers alone answered), and answers in place of the network
 * for an example none of whose peers answered; {@link #evaluateOffline} uses it alone (queries go
 * one hop deep at most). Given to the gate as its fallback too ({@code
 * NoisyTopKGate.Builder.fallback(student.asPeer())}), it answers in each failed peer's slot, so
 * a peer that is offline for some examples costs the network little.
 *
 * <p>The caller's own bad request is not the peers' failure. An input its own modality refuses
 * ({@link TensorStandard#checkInput}: TEXT float features, TENSOR token ids) is refused before any
 * peer is asked. A request every peer asked refuses as wrong (BAD_REQUEST, UNKNOWN_MODALITY, or
 * BAD_SHAPE naming the input: a modality none of them serves, say) fails the call with an {@link
 * IllegalArgumentException} naming what each said, and is charged to none of them. A refusal is
 * the caller's fault only when every peer asked says so: one peer alone in refusing what others
 * answer is charged with its failure, so a peer cannot dodge the blame by answering BAD_REQUEST.
 * The price: peers that are all the peers asked for a batch can stop that step (charging none
 * and gaining nothing; the exception names them, {@link NoisyTopKGate.Builder#exclude} drops
 * them).
 *
 * <p>Not thread-safe: one thread trains and evaluates a learner.
 */
@Experimental
public final class Learner {
  /**
   * The relative damping of the Fisher matrix's diagonal in {@link #compensatedPruningScores()}:
   * enough for a stable solve when peers answer exactly alike, small against every score.
   */
  public static final double COMPENSATION_DAMPING = 1e-3;

  /**
   * How often a learner probes by default: every 4th training batch, which with top-2 routing
   * costs 12.5% more answer bytes than training alone (see {@link Builder#probeEvery}).
   */
  public static final int DEFAULT_PROBE_EVERY = 4;

  /** The first bytes of a learner's checkpoint ({@link #checkpoint()}). */
  private static final String CHECKPOINT_MAGIC = "BTLEARN\0";

  private final GatingLayer gate;
  private final TrainableMlp head;
  private final Adam adam;
  private final Duration timeout;
  private final Function<Tensor, Tensor> context;
  private final boolean sendGradients;
  private final Distiller distiller;
  private final double decay;
  private final int peers;
  /** The moving average of E[d d^T], d_j = dL/d(alpha_j): the peers' empirical Fisher, n x n. */
  private final double[] fisher;
  /** The moving average of each peer's failure cost (see {@link #failureCosts()}). */
  private final double[] failureCost;
  private long fisherBatches;
  private final int probeEvery;
  /** The moving average of each peer's rerouted cost increase, per measure, over probed batches. */
  private final double[][] rerouted;
  /** The Fisher matrix over routed and stand-in multipliers, from probed batches; null if none. */
  private final StandInFisher standInFisher;
  private long probedBatches;
  private long trainSteps;
  /** Why probing stopped: the gate cannot name its next choices (null while it can). */
  private UnsupportedOperationException probeUnsupported;

  private Learner(Builder b) {
    this.gate = b.gate;
    this.head = b.head;
    this.adam = Adam.over(head.parameters(), b.learningRate);
    this.timeout = b.timeout;
    this.context = b.context;
    this.sendGradients = b.sendGradients;
    this.distiller = b.distiller;
    this.decay = b.scoreDecay;
    this.peers = gate.peers().size();
    this.fisher = new double[peers * peers];
    this.failureCost = new double[peers];
    this.probeEvery = b.probeEvery;
    this.rerouted = new double[ProbeMeasure.values().length][peers];
    this.standInFisher = probeEvery == 0 || peers > StandInFisher.MAX_PEERS ? null
        : new StandInFisher(peers, Math.pow(decay, probeEvery));
  }

  /** A builder; {@link Builder#gate} and {@link Builder#head} are required. */
  public static Builder builder() {
    return new Builder();
  }

  /** The gate. */
  public GatingLayer gate() {
    return gate;
  }

  /** The local head (live: it is what trains). */
  public TrainableMlp head() {
    return head;
  }

  /** The student fitted at each step, if the learner has one (live: it is what trains). */
  public Optional<Distiller> distiller() {
    return Optional.ofNullable(distiller);
  }

  /**
   * One training step on a labelled batch. Every {@link Builder#probeEvery}-th step also asks
   * each example's stand-in for the {@link #reroutedLossScores()}; the step's gradients and
   * updates are the same either way.
   *
   * @param request the batch as sent to the peers; not modified
   * @param labels one class per example and position; not modified
   * @return what the step did
   * @throws IllegalArgumentException if the labels, the context or the answers' size do not fit,
   *     the batch has a dimension of 0 (no example, no position), a value that is not finite or
   *     an element type or rank its modality refuses, or the student cannot read the input;
   *     refused labels, such a batch and an input an {@link MlpDistiller} cannot read are refused
   *     before any peer is asked, and change nothing. Also if every peer asked refused the request
   *     as wrong (see the class's doc): the step then trains nothing and charges no peer
   */
  public StepResult train(ForwardRequest request, int[] labels) {
    Objects.requireNonNull(request, "request");
    Tensor input = request.input();
    // Checked before the gate's training forward, which asks the peers and moves the gate's
    // importance and noise: a refused step changes nothing.
    checkRequest(request);
    checkLabelsBeforeAsking(input, labels);
    checkStudentReads(input);
    Gated gated = gate.forwardAndWait(request, contextOf(request), true, timeout);
    // Before anything learns from the calls: a refusal by all is no peer's failure.
    checkNotRefusedByAll(gated);
    int[] shape = gated.output().shape();
    int rows = shape[0] * shape[1];
    int dim = shape[2];
    checkLabels(labels, rows, dim);
    trainSteps++;
    // Asked before backward (which ends the gate's record of the forward); answered while the
    // head trains. Nothing of it reaches the step's gradients.
    CompletableFuture<StandIns> probe = isProbeStep() ? askStandIns(gated, request) : null;
    float[] joined = gated.output().toFloatArray();
    if (distiller != null) {
      fitAndFillIn(request.input(), gated, joined, shape);
    }
    float[] logits = head.forward(joined, rows);
    float[] dLogits = new float[logits.length];
    double loss = NnOps.softmaxCrossEntropy(logits, rows, head.outputDim(), labels, dLogits);
    int correct = correct(logits, rows, labels);
    float[] dJoined = head.backward(dLogits, true);
    List<PeerGradient> grads = gate.backward(gated, Tensor.ofFloats(dJoined, shape));
    accumulateFisher(gated, dJoined, rows);
    StandIns standIns = probe == null ? null : waitFor(probe);
    if (standIns != null) {
      float[][][] answers = routedAnswers(gated, gated.selected(), shape[1] * dim);
      // The head as it answered this batch: before its step.
      accumulateRerouted(gated, answers, standIns, labels, shape);
      if (standInFisher != null) {
        standInFisher.accumulate(gated.selected(), gated.gates(), answers, standIns, dJoined,
            shape[1]);
      }
    }
    double balance = gate instanceof NoisyTopKGate g ? g.balanceLoss() : 0;
    double failure = gate instanceof NoisyTopKGate g ? g.failureLoss() : 0;
    gate.step();
    adam.step();
    int acknowledged = sendGradients ? send(grads) : 0;
    List<Integer> failed = gated.failed().stream().map(PeerCall::peer).toList();
    return new StepResult(loss, balance, correct, rows, gated.bytesReceived(), gated.bytesSent(),
        failed, acknowledged, standIns == null ? 0 : standIns.bytesReceived(),
        standIns == null ? 0 : standIns.bytesSent(), failure, fallbackRows(gated, shape[1]));
  }

  /** The rows (examples times positions) whose join holds some of the fallback's answer. */
  private static int fallbackRows(Gated gated, int positions) {
    int count = 0;
    for (float share : gated.fallbackShares()) {
      count += share > 0 ? 1 : 0;
    }
    return count * positions;
  }

  private boolean isProbeStep() {
    return probeEvery > 0 && probeUnsupported == null && trainSteps % probeEvery == 0;
  }

  private CompletableFuture<StandIns> askStandIns(Gated gated, ForwardRequest request) {
    try {
      return gate.askStandIns(gated, request, timeout);
    } catch (UnsupportedOperationException e) {
      // A gate of its own that cannot rank past its top k: train as before, and say why at
      // reroutedLossScores().
      probeUnsupported = e;
      return null;
    }
  }

  private StandIns waitFor(CompletableFuture<StandIns> probe) {
    // A safety margin past the per-peer deadlines, as GatingLayer.forwardAndWait has.
    return probe.orTimeout(Deadlines.millis(timeout) + 10_000, TimeUnit.MILLISECONDS).join();
  }

  /**
   * The head's accuracy and loss on a labelled batch, routing without noise; nothing trains.
   *
   * @throws IllegalArgumentException as {@link #train}; labels that do not fit, a batch
   *     {@link #train} refuses and an input an {@link MlpDistiller} cannot read are refused
   *     before any peer is asked; a request every peer asked refused as wrong after
   */
  public Evaluation evaluate(ForwardRequest request, int[] labels) {
    Objects.requireNonNull(request, "request");
    checkRequest(request);
    checkLabelsBeforeAsking(request.input(), labels);
    checkStudentReads(request.input());
    Gated gated = gate.forwardAndWait(request, contextOf(request), false, timeout);
    checkNotRefusedByAll(gated);
    int[] shape = gated.output().shape();
    int rows = shape[0] * shape[1];
    checkLabels(labels, rows, shape[2]);
    float[] joined = gated.output().toFloatArray();
    int students = distiller == null ? 0 : fillIn(request.input(), gated, joined, shape);
    float[] logits = head.predict(joined, rows);
    double loss = NnOps.softmaxCrossEntropy(logits, rows, head.outputDim(), labels, null);
    return new Evaluation(loss, correct(logits, rows, labels), rows, gated.bytesReceived(),
        gated.bytesSent(), students, fallbackRows(gated, shape[1]));
  }

  /**
   * The head's predicted class for each example and position, routing without noise.
   *
   * @throws IllegalArgumentException if the context or the answers' size do not fit, the batch
   *     has a dimension of 0, a value that is not finite or an element type or rank its modality
   *     refuses, or an {@link MlpDistiller} student cannot read it (refused before any peer is
   *     asked); or if every peer asked refused the request as wrong
   */
  public int[] predict(ForwardRequest request) {
    Objects.requireNonNull(request, "request");
    checkRequest(request);
    checkStudentReads(request.input());
    Gated gated = gate.forwardAndWait(request, contextOf(request), false, timeout);
    checkNotRefusedByAll(gated);
    int[] shape = gated.output().shape();
    float[] joined = gated.output().toFloatArray();
    if (distiller != null) {
      fillIn(request.input(), gated, joined, shape);
    }
    return classes(head.predict(joined, shape[0] * shape[1]), shape[0] * shape[1]);
  }

  /**
   * The head on the student's answers alone: no network at all.
   *
   * @throws IllegalStateException if the learner has no distiller
   * @throws IllegalArgumentException as {@link #train}
   */
  public Evaluation evaluateOffline(ForwardRequest request, int[] labels) {
    Distiller student = requireDistiller();
    Objects.requireNonNull(request, "request");
    checkBatch(request.input());
    Tensor answer = student.predict(request.input());
    int rows = answer.dim(0) * answer.dim(1);
    checkLabels(labels, rows, answer.dim(2));
    float[] logits = head.predict(answer.toFloatArray(), rows);
    double loss = NnOps.softmaxCrossEntropy(logits, rows, head.outputDim(), labels, null);
    return new Evaluation(loss, correct(logits, rows, labels), rows, 0, 0, rows);
  }

  /**
   * One distillation step: asks the network (routing without noise) and fits the student to the
   * joined answers of the examples some peer answered. Unlabelled data will do.
   *
   * @return the student's objective on those examples before the step; 0 when none was answered
   * @throws IllegalStateException if the learner has no distiller
   * @throws IllegalArgumentException if every peer asked refused the request as wrong
   */
  public double distill(ForwardRequest request) {
    Distiller student = requireDistiller();
    Gated gated = gate.forwardAndWait(request, contextOf(request), false, timeout);
    checkNotRefusedByAll(gated);
    int[] answered = answeredRows(gated);
    if (answered.length == 0) {
      return 0;
    }
    return student.fit(Rows.gather(request.input(), answered),
        Rows.gather(gated.output(), answered));
  }

  /**
   * Writes everything this learner has learned to {@code file}, whole or not at all: the head, the
   * gate and the student with their optimisers' state, the gate's importance and noise, and every
   * moving average the weight sources read (the Fisher matrix, the failure costs, the rerouted
   * and stand-in scores) with their batch counts. A crash while writing leaves the file as it
   * was; {@link #restoreCheckpoint} into a learner built the same way continues training exactly
   * where this one stands, step for step.
   *
   * <p>Call it between training steps. The peers are not part of it: the restoring learner's
   * gate must list the same peers in the same order. The format is documented in
   * {@code docs/learning.md} (a checksummed file of named arrays).
   *
   * @throws IOException if the file cannot be written
   * @throws UnsupportedOperationException if the gate is not a {@link NoisyTopKGate} or the
   *     student not an {@link MlpDistiller}, whose state this learner cannot read
   */
  public void saveCheckpoint(Path file) throws IOException {
    Objects.requireNonNull(file, "file");
    DurableFiles.replace(file, checkpoint());
  }

  /**
   * The bytes {@link #saveCheckpoint} writes, for a caller that keeps them elsewhere.
   *
   * @throws UnsupportedOperationException as {@link #saveCheckpoint} does
   */
  public byte[] checkpoint() {
    StateFile.Writer w = new StateFile.Writer(CHECKPOINT_MAGIC);
    noisyTopKGate().save(w, "gate/");
    Parameter.save(head.parameters(), w, "head/");
    adam.save(w, "head/adam/");
    if (distiller != null) {
      mlpDistiller().save(w, "distiller/");
    }
    w.doubles("scores/fisher", fisher);
    w.doubles("scores/failure-cost", failureCost);
    for (ProbeMeasure m : ProbeMeasure.values()) {
      w.doubles("scores/rerouted/" + m.name(), rerouted[m.ordinal()]);
    }
    if (standInFisher != null) {
      standInFisher.save(w, "scores/stand-in/");
    }
    w.longs("steps", trainSteps, fisherBatches, probedBatches);
    return w.toBytes();
  }

  /**
   * Replaces this learner's state with a checkpoint's ({@link #saveCheckpoint}). The learner must
   * be built as the one that wrote it: the same peers in the same order, the same head and
   * student shapes, the same probing. Settings that are not state (learning rates, decays,
   * timeouts) are this learner's own. All or nothing: a file that is damaged or does not fit
   * leaves the learner as it was.
   *
   * @throws IOException if the file cannot be read, or is not a whole checkpoint (another
   *     format, another version, truncated, failing its checksum)
   * @throws IllegalArgumentException if it was written by a learner of another shape, naming the
   *     first array that differs
   * @throws UnsupportedOperationException as {@link #saveCheckpoint} does
   */
  public void restoreCheckpoint(Path file) throws IOException {
    restoreFrom(file, this::restoreCheckpoint);
  }

  /** Restores a checkpoint from its bytes. */
  interface Restore {
    void restore(byte[] checkpoint) throws IOException;
  }

  /**
   * Reads {@code file} and restores it, the file named in a refusal: the decoder's message
   * speaks of "the checkpoint", and a caller restoring several (or a torn copy) must tell which.
   */
  static void restoreFrom(Path file, Restore restore) throws IOException {
    Objects.requireNonNull(file, "file");
    byte[] bytes = Files.readAllBytes(file);
    try {
      restore.restore(bytes);
    } catch (IOException e) {
      throw new IOException("cannot restore " + file + ": " + e.getMessage(), e);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("cannot restore " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * {@link #restoreCheckpoint(Path)} from the bytes {@link #checkpoint()} gave.
   *
   * @throws IOException if they are not a whole checkpoint
   * @throws IllegalArgumentException if they were written by a learner of another shape
   */
  public void restoreCheckpoint(byte[] checkpoint) throws IOException {
    StateFile.Reader r = StateFile.Reader.decode(checkpoint, CHECKPOINT_MAGIC, "learner");
    noisyTopKGate().restore(r, "gate/");
    Parameter.restore(head.parameters(), r, "head/");
    adam.restore(r, "head/adam/");
    if (distiller != null) {
      mlpDistiller().restore(r, "distiller/");
    }
    r.doubles("scores/fisher", fisher);
    r.doubles("scores/failure-cost", failureCost);
    for (ProbeMeasure m : ProbeMeasure.values()) {
      r.doubles("scores/rerouted/" + m.name(), rerouted[m.ordinal()]);
    }
    if (standInFisher != null) {
      standInFisher.restore(r, "scores/stand-in/");
    }
    long[] steps = r.longs("steps", 3);
    for (long v : steps) {
      if (v < 0) {
        throw new IllegalArgumentException("the checkpoint's steps are negative: "
            + Arrays.toString(steps));
      }
    }
    r.then(() -> {
      trainSteps = steps[0];
      fisherBatches = steps[1];
      probedBatches = steps[2];
      probeUnsupported = null;
    });
    r.apply();
  }

  /** How many training steps this learner has taken, those of a restored checkpoint included. */
  public long trainedSteps() {
    return trainSteps;
  }

  private NoisyTopKGate noisyTopKGate() {
    if (gate instanceof NoisyTopKGate g) {
      return g;
    }
    throw new UnsupportedOperationException("checkpoints hold a NoisyTopKGate's state; this"
        + " learner's gate is " + gate.getClass().getName());
  }

  private MlpDistiller mlpDistiller() {
    if (distiller instanceof MlpDistiller d) {
      return d;
    }
    throw new UnsupportedOperationException("checkpoints hold an MlpDistiller's state; this"
        + " learner's student is " + distiller.getClass().getName());
  }

  /** The gate's importance per peer, summing to 1 (see {@link GatingLayer#importance()}). */
  public double[] importance() {
    return gate.importance();
  }

  /**
   * Each peer's pruning score: the expected increase in the loss were it removed, per example
   * and position as the loss is (per example where examples have one position). What its
   * answers are worth, the moving average over training batches of {@code 1/2 (dL_x/df_j(x) .
   * f_j(x))^2} summed over the batch's examples {@code x} and divided by its rows (examples
   * times positions), with the empirical Fisher standing in for the Hessian (per-example
   * gradients, {@code L_x} the example's loss summed over its positions; the diagonal of {@link
   * #fisher()}, halved: the paper's score as it writes it), less what its failures cost ({@link
   * #failureCosts()}), and never below 0. A peer not asked adds 0 for that example. For peers
   * that always answer it is the paper's score exactly.
   *
   * @return a new array, one score per peer, in nats per example and position
   */
  public double[] pruningScores() {
    double[][] f = fisher();
    double[] out = new double[peers];
    for (int j = 0; j < peers; j++) {
      out[j] = f[j][j] / 2;
    }
    return lessFailureCosts(out);
  }

  /**
   * Each peer's failure cost: the moving average over training batches (decay {@link
   * Builder#scoreDecay}, bias-corrected, as for the {@link #fisher()}) of what its failed calls
   * left unanswered, per example and position as the {@link #pruningScores()} are. An example
   * routed to a peer that failed (and that no fallback answered in its place) had a slot with no
   * answer in it, which removing the peer would give to a peer that answers: the gate's next
   * choice. Each such slot costs what an answer is worth in that batch: the mean of {@code 1/2
   * (dL/df_j(x) . f_j(x))^2} over the batch's answers, the pruning score's own measure of an
   * answer, since a stand-in is not asked. The pruning scores subtract it; without it a peer that
   * fails half its calls is credited for the answers it gives and charged nothing for the examples
   * it leaves with one answer instead of two.
   *
   * @return a new array, one cost per peer, in nats per example and position; all zeros before
   *     the first training step and for peers that never failed
   */
  public double[] failureCosts() {
    return biasCorrected(failureCost);
  }

  /** {@code scores} less each peer's failure cost, at least 0; in place. */
  private double[] lessFailureCosts(double[] scores) {
    double[] cost = failureCosts();
    for (int j = 0; j < peers; j++) {
      scores[j] = Math.max(0, scores[j] - cost[j]);
    }
    return scores;
  }

  /**
   * Each peer's compensated pruning score: the expected increase in the loss (per example and
   * position, as the {@link #pruningScores()}) were its answers removed and the other peers'
   * contributions re-weighted to make up for it as well as they can (Optimal Brain Surgeon, Hassibi
   * and Stork 1993), {@code 1 / (2 [A^-1]_jj)} with {@code A} the {@link #fisher()} matrix damped
   * by {@value #COMPENSATION_DAMPING} times its diagonal. Peers that answer alike make {@code A}
   * nearly singular along their difference, so each of them costs little to remove: what one
   * answers, the other still does. Without correlations it is the {@link #pruningScores()} (the
   * answers' part times {@code 1 + }{@value #COMPENSATION_DAMPING}). Less the {@link
   * #failureCosts()}, never below 0, as the pruning score.
   *
   * @return a new array, one score per peer, in nats per example and position
   */
  public double[] compensatedPruningScores() {
    return lessFailureCosts(BrainSurgeon.removalCosts(correctedFisher(), peers,
        COMPENSATION_DAMPING));
  }

  /**
   * Each peer's rerouted loss score: the moving average over probed training batches (one in
   * {@link Builder#probeEvery} = m; decay {@link Builder#scoreDecay} per training batch as for the
   * {@link #fisher()}, so {@code scoreDecay^m} per probed batch; bias-corrected) of the increase in
   * the batch's mean loss were the peer replaced, in every example routed to it, by that example's
   * stand-in ({@link GatingLayer#askStandIns}: the gate's next choice, the
   * peer that would really take its place), the gate renormalised over the new set and failed
   * answers masked as the gate masks them, with the head as it was for that batch. A direct,
   * measured estimate of the paper's "cost in loss of removing a peer", not a second-order
   * approximation: a peer whose stand-in answers as well (a copy) scores about 0, and one whose
   * stand-in does better (a peer that fails) scores below 0. A peer seldom routed to scores
   * little, as the increase is per example of the batch. The student, if any, plays no part.
   *
   * @return a new array, one score per peer, in nats per example and position; may be negative;
   *     all zeros before the first probed batch
   * @throws IllegalStateException if probing is off ({@code probeEvery(0)}) or the gate cannot
   *     name its next choices
   */
  public double[] reroutedLossScores() {
    return reroutedScores(ProbeMeasure.LOSS);
  }

  /**
   * As {@link #reroutedLossScores()}, with the difference taken in {@code measure} rather than
   * in the loss; {@code reroutedScores(ProbeMeasure.LOSS)} is {@link #reroutedLossScores()}. The
   * same probes score every measure (no more bytes), each with its own moving average.
   *
   * @return a new array, one score per peer, in {@code measure}'s units per example and
   *     position; may be negative; all zeros before the first probed batch
   * @throws IllegalStateException as {@link #reroutedLossScores()}
   */
  public double[] reroutedScores(ProbeMeasure measure) {
    Objects.requireNonNull(measure, "measure");
    requireProbes("rerouted loss scores");
    double[] out = new double[peers];
    if (probedBatches == 0) {
      return out;
    }
    double correction = 1 - Math.pow(decay, (double) probeEvery * probedBatches);
    for (int j = 0; j < peers; j++) {
      out[j] = rerouted[measure.ordinal()][j] / correction;
    }
    return out;
  }

  /**
   * Each peer's stand-in pruning score: its compensated pruning score with the peers that would
   * take its place in the Fisher matrix. On each probed batch every example has, besides a
   * multiplier {@code alpha_j} on each routed peer's part of the joined answer (nominally 1, as in
   * {@link #fisher()}), for each routed peer {@code q} one {@code beta_s} that puts its stand-in
   * {@code s} ({@link GatingLayer#askStandIns}) in {@code q}'s place with {@code q}'s own gate
   * (nominally 0). Per example {@code d_alpha_j = g_j dL/dG . f_j} and {@code d_beta_s = g_q dL/dG
   * . f_s}, at the network as it answered. Removing peer {@code q} is {@code delta_alpha_q = -1}
   * with every other {@code alpha} free and the stand-ins free to step in where the gate would
   * send {@code q}'s examples: {@link #standInFisher(int)} {@code q} has the {@code beta} entries
   * of the examples routed to {@code q} only. Its cost is {@code 1 / (2 [A^-1]_qq)}, {@code A}
   * that matrix damped as in {@link #compensatedPruningScores()}: Optimal Brain Surgeon over the
   * routed peers and their stand-ins. A stand-in that answers as {@code q} does has {@code d_beta_s
   * = d_alpha_q}, so {@code q} costs little to remove, even when the gate never routes both to one
   * example; a peer no stand-in resembles keeps about its compensated score; a peer never routed
   * scores 0, however often it stands in. A second-order estimate from gradients, beside the
   * {@link #reroutedLossScores()} that the same probes measure directly; it costs no extra bytes.
   * The matrices take {@code peers^3 + 2 peers^2} numbers, so they are kept for gates of at most
   * 64 peers. Less the {@link #failureCosts()}, never below 0, as the pruning score.
   *
   * @return a new array, one score per peer, in nats per example and position; all zeros before
   *     the first probed batch
   * @throws IllegalStateException as {@link #reroutedLossScores()}, and for a gate of more than
   *     64 peers
   */
  public double[] standInPruningScores() {
    requireStandInFisher("stand-in pruning scores");
    return lessFailureCosts(standInFisher.removalCosts(COMPENSATION_DAMPING));
  }

  /**
   * The Fisher matrix behind peer {@code q}'s {@link #standInPruningScores()}: {@code [2
   * peers][2 peers]}, the first {@code peers} coordinates each peer's routed multiplier {@code
   * alpha_j}, the next each peer's stand-in multiplier {@code beta_s} in the examples routed to
   * {@code q}; the moving average over probed batches (decay {@link Builder#scoreDecay} per
   * training batch, bias-corrected) of {@code sum_x d(x) d(x)^T} over the batch's rows, per
   * example and position as the {@link #fisher()} is. The {@code alpha} block is the same for
   * every {@code q}, and with {@code probeEvery(1)} it is the {@link #fisher()}.
   *
   * @param q a peer's index in the gate
   * @return a new array; all zeros before the first probed batch
   * @throws IllegalArgumentException if {@code q} is not a peer's index
   * @throws IllegalStateException as {@link #reroutedLossScores()}
   */
  public double[][] standInFisher(int q) {
    if (q < 0 || q >= peers) {
      throw new IllegalArgumentException("q must be a peer's index in [0, " + peers + "), was "
          + q);
    }
    requireStandInFisher("the stand-in Fisher matrix");
    double[] flat = standInFisher.matrix(q);
    int size = 2 * peers;
    double[][] out = new double[size][];
    for (int j = 0; j < size; j++) {
      out[j] = Arrays.copyOfRange(flat, j * size, (j + 1) * size);
    }
    return out;
  }

  private void requireStandInFisher(String what) {
    requireProbes(what);
    if (standInFisher == null) {
      throw new IllegalStateException(what + " keep peers^3 numbers, so a learner keeps them for"
          + " gates of at most " + StandInFisher.MAX_PEERS + " peers; this gate has " + peers
          + ": use COMPENSATED_PRUNING_SCORE or REROUTED_LOSS");
    }
  }

  private void requireProbes(String what) {
    if (probeEvery == 0) {
      throw new IllegalStateException(what + " need probing; this learner was built with"
          + " probeEvery(0)");
    }
    if (probeUnsupported != null) {
      throw new IllegalStateException(what + " need a gate that names its next choices: "
          + probeUnsupported.getMessage(), probeUnsupported);
    }
  }

  /** How many training batches were probed so far (see {@link Builder#probeEvery}). */
  public long probedBatches() {
    return probedBatches;
  }

  /**
   * The peers' empirical Fisher matrix: with a multiplier {@code alpha_j} (nominally 1) on each
   * peer's part of the joined answer, {@code d_j(x) = dL_x/d(alpha_j) = g_j(x) dL_x/dG(x) .
   * f_j(x)} for the loss {@code L_x} of example {@code x} summed over its positions (one
   * multiplier scales the answer at all of them), and the matrix is the moving average over
   * training batches (decay {@link Builder#scoreDecay}, bias-corrected) of {@code sum_x d(x)
   * d(x)^T} divided by the batch's rows (examples times positions): per example and position, as
   * the loss the head trains on is a mean over rows, and so in the units of the {@link
   * #reroutedLossScores()}. A peer not asked, or failing, has {@code d_j(x) = 0}.
   *
   * @return a new {@code [peers][peers]} array; all zeros before the first training step
   */
  public double[][] fisher() {
    double[] flat = correctedFisher();
    double[][] out = new double[peers][];
    for (int j = 0; j < peers; j++) {
      out[j] = Arrays.copyOfRange(flat, j * peers, (j + 1) * peers);
    }
    return out;
  }

  /**
   * The bias-corrected moving average, row-major {@code [peers * peers]}; zeros before training.
   */
  private double[] correctedFisher() {
    return biasCorrected(fisher);
  }

  /**
   * A moving average kept per training batch (as the Fisher is), bias-corrected; zeros before
   * training.
   */
  private double[] biasCorrected(double[] average) {
    double[] out = new double[average.length];
    if (fisherBatches == 0) {
      return out;
    }
    double correction = 1 - Math.pow(decay, fisherBatches);
    for (int i = 0; i < out.length; i++) {
      out[i] = average[i] / correction;
    }
    return out;
  }

  /**
   * The neuron's weight row from {@code source}: non-negative, summing to 1, with at least
   * {@code minAllowedWeights} non-zero entries. Negative {@link WeightSource#REROUTED_LOSS}
   * scores (peers whose removal helps) count as 0. When fewer peers have a positive score, the best
   * of the rest (by score, then index) get a token weight of 1e-6 before normalising; all-zero
   * scores give the uniform row.
   *
   * @param minAllowedWeights the ledger's minimum number of non-zero entries, {@code 0 <= m <=
   *     peers}
   * @throws IllegalArgumentException if {@code minAllowedWeights} is out of range
   * @throws IllegalStateException for {@link WeightSource#REROUTED_LOSS} and {@link
   *     WeightSource#STAND_IN_PRUNING_SCORE} without probing (see {@link #reroutedLossScores()})
   */
  public PeerVector weights(WeightSource source, int minAllowedWeights) {
    Objects.requireNonNull(source, "source");
    double[] s = switch (source) {
      case GATE_IMPORTANCE -> importance();
      case PRUNING_SCORE -> pruningScores();
      case COMPENSATED_PRUNING_SCORE -> compensatedPruningScores();
      case STAND_IN_PRUNING_SCORE -> standInPruningScores();
      case REROUTED_LOSS -> Arrays.stream(reroutedLossScores()).map(v -> Math.max(0, v))
          .toArray();
    };
    return PeerVector.of(weightRow(s, minAllowedWeights));
  }

  /**
   * Scores to a weight row, as {@link #weights} does: normalised, at least {@code
   * minAllowedWeights} non-zero entries.
   *
   * @param scores non-negative, finite; not modified
   * @throws IllegalArgumentException if a score is negative or not finite, or
   *     {@code minAllowedWeights} is out of range
   */
  public static double[] weightRow(double[] scores, int minAllowedWeights) {
    int n = scores.length;
    if (minAllowedWeights < 0 || minAllowedWeights > n) {
      throw new IllegalArgumentException("minAllowedWeights must be in [0, " + n + "] (the peers),"
          + " was " + minAllowedWeights);
    }
    double total = 0;
    for (int j = 0; j < n; j++) {
      if (!(scores[j] >= 0) || !Double.isFinite(scores[j])) {
        throw new IllegalArgumentException("score[" + j + "] must be finite and >= 0, was "
            + scores[j]);
      }
      total += scores[j];
    }
    double[] row = new double[n];
    if (total <= 0) {
      Arrays.fill(row, n == 0 ? 0 : 1.0 / n);
      return row;
    }
    double scale = 1;
    if (total == Double.POSITIVE_INFINITY) {
      // Finite scores whose sum is not: their shares from the scores scaled down.
      scale = 0x1p-64;
      total = 0;
      for (double v : scores) {
        total += v * scale;
      }
    }
    int positive = 0;
    for (int j = 0; j < n; j++) {
      row[j] = scores[j] * scale / total;
      // Counted in the row: a share far below the others' underflows to 0.
      positive += row[j] > 0 ? 1 : 0;
    }
    if (positive < minAllowedWeights) {
      Integer[] order = new Integer[n];
      for (int j = 0; j < n; j++) {
        order[j] = j;
      }
      Arrays.sort(order, (a, b) -> scores[a] != scores[b]
          ? Double.compare(scores[b], scores[a]) : Integer.compare(a, b));
      for (int i = 0; i < minAllowedWeights; i++) {
        if (row[order[i]] == 0) {
          row[order[i]] = 1e-6;
        }
      }
      double sum = 0;
      for (double v : row) {
        sum += v;
      }
      for (int j = 0; j < n; j++) {
        row[j] /= sum;
      }
    }
    return row;
  }

  /**
   * The default context: each example's input flattened to one row, FLOAT32 as it is, UINT8
   * scaled to [0, 1].
   *
   * @throws IllegalArgumentException for other element types (give a context function)
   */
  public static Tensor flatten(Tensor input) {
    float[] x = Rows.floats(input, "the input (for the default context)");
    return Tensor.ofFloats(x, input.dim(0), Rows.width(input));
  }

  private Tensor contextOf(ForwardRequest request) {
    Objects.requireNonNull(request, "request");
    return Objects.requireNonNull(context.apply(request.input()), "the context function's result");
  }

  /**
   * {@code d_j = dL/d(alpha_j)} per example, alpha_j multiplying peer j's part of the join: the
   * join's gradient times the peer's gate, against the answer as the gate joined it (bounded in
   * scale; not the gradient sent to the peer, which goes through the bound).
   */
  private void accumulateFisher(Gated gated, float[] dJoined, int rows) {
    float[][] gates = gated.gates();
    int[][] selected = gated.selected();
    int batch = gates.length;
    double[] d = new double[batch * peers];
    for (PeerCall call : gated.calls()) {
      if (!call.isSuccess()) {
        continue;
      }
      float[] f = call.result().output().toFloatArray();
      int[] at = call.rows();
      int m = f.length / at.length;
      for (int r = 0; r < at.length; r++) {
        int b = at[r];
        float gate = gates[b][slotOf(selected[b], call.peer())];
        double dot = 0;
        for (int e = 0; e < m; e++) {
          float g = gate * dJoined[b * m + e]; // as the gate's backward makes it, in floats
          dot += (double) g * f[r * m + e];
        }
        // The gradient is of the batch's mean loss: times rows, the example's own.
        d[b * peers + call.peer()] = dot * rows;
      }
    }
    double[] cost = batchFailureCosts(gated, d);
    double[] sum = new double[peers * peers];
    for (int b = 0; b < batch; b++) {
      int o = b * peers;
      for (int j = 0; j < peers; j++) {
        if (d[o + j] == 0) {
          continue;
        }
        for (int k = 0; k < peers; k++) {
          sum[j * peers + k] += d[o + j] * d[o + k];
        }
      }
    }
    fisherBatches++;
    for (int i = 0; i < fisher.length; i++) {
      fisher[i] = decay * fisher[i] + (1 - decay) * (sum[i] / rows);
    }
    for (int j = 0; j < peers; j++) {
      failureCost[j] = decay * failureCost[j] + (1 - decay) * (cost[j] / rows);
    }
  }

  /**
   * This batch's failure cost per peer, summed over its examples: each routed example a peer's
   * failed call left unanswered (no fallback in its place) costs the batch's mean answer worth,
   * {@code 1/2 d^2} over the answered slots ({@code d} as in {@link #accumulateFisher}).
   */
  private double[] batchFailureCosts(Gated gated, double[] d) {
    double worth = 0;
    int answers = 0;
    for (PeerCall c : gated.calls()) {
      if (c.isSuccess()) {
        for (int b : c.rows()) {
          double x = d[b * peers + c.peer()];
          worth += x * x / 2;
          answers++;
        }
      }
    }
    double[] cost = new double[peers];
    if (answers == 0) {
      return cost;
    }
    worth /= answers;
    float[] fallback = gated.fallbackShares();
    for (PeerCall c : gated.failed()) {
      for (int b : c.rows()) {
        cost[c.peer()] += fallback[b] > 0 ? 0 : worth;
      }
    }
    return cost;
  }

  /**
   * Per example: its routed set's joined answer, then one with each routed peer replaced by the
   * stand-in, through the head; each peer's summed loss increase over the batch's rows goes into
   * the moving average.
   */
  private void accumulateRerouted(Gated gated, float[][][] answers, StandIns standIns,
      int[] labels, int[] shape) {
    int batch = shape[0];
    int seq = shape[1];
    int m = seq * shape[2];
    int[][] sel = gated.selected();
    float[][] standIn = standIns.answers();
    int[] next = standIns.peers();
    float[][] h = standIns.logits();
    int variants = 0;
    for (int[] s : sel) {
      variants += 1 + s.length;
    }
    float[] joined = new float[variants * m];
    int[] variantLabels = new int[variants * seq];
    int v = 0;
    for (int b = 0; b < batch; b++) {
      for (int r = 0; r <= sel[b].length; r++) {
        int[] set = sel[b].clone();
        float[][] f = answers[b].clone();
        if (r > 0) {
          // Slot r - 1 replaced by the stand-in (or by nobody where there is none).
          set[r - 1] = next[b];
          f[r - 1] = next[b] < 0 ? null : standIn[b];
        }
        join(set, f, h[b], joined, v * m);
        System.arraycopy(labels, b * seq, variantLabels, v * seq, seq);
        v++;
      }
    }
    float[] logits = head.predict(joined, variants * seq);
    ProbeMeasure[] measures = ProbeMeasure.values();
    double[][] cost = costs(logits, variants * seq, variantLabels, measures);
    probedBatches++;
    int rows = batch * seq;
    // Decayed per training batch, as the Fisher is: the same window whatever probeEvery is.
    double d = Math.pow(decay, probeEvery);
    for (ProbeMeasure measure : measures) {
      double[] c = cost[measure.ordinal()];
      double[] increase = new double[peers];
      v = 0;
      for (int b = 0; b < batch; b++) {
        double base = sum(c, v * seq, seq);
        for (int r = 1; r <= sel[b].length; r++) {
          increase[sel[b][r - 1]] += sum(c, (v + r) * seq, seq) - base;
        }
        v += 1 + sel[b].length;
      }
      double[] avg = rerouted[measure.ordinal()];
      for (int j = 0; j < peers; j++) {
        avg[j] = d * avg[j] + (1 - d) * (increase[j] / rows);
      }
    }
  }

  /** Each row's cost in each measure, {@code [measure][row]}. */
  private double[][] costs(float[] logits, int rows, int[] labels, ProbeMeasure[] measures) {
    int cols = head.outputDim();
    double[][] out = new double[measures.length][rows];
    double[] p = new double[cols];
    for (int r = 0; r < rows; r++) {
      int o = r * cols;
      // The loss as softmaxCrossEntropyRows computes it, the probabilities in double.
      double logZ = NnOps.logSumExp(logits, o, cols);
      for (int c = 0; c < cols; c++) {
        p[c] = Math.exp(logits[o + c] - logZ);
      }
      for (ProbeMeasure m : measures) {
        out[m.ordinal()][r] = m.cost(logits, o, cols, labels[r], p, logZ);
      }
    }
    return out;
  }

  /**
   * Each example's routed answers, by slot of {@code sel}: the peer's, or the gate's fallback's in
   * a failed peer's slot (as the gate joined them); null where neither answered.
   */
  private static float[][][] routedAnswers(Gated gated, int[][] sel, int m) {
    float[][][] out = new float[sel.length][][];
    for (int b = 0; b < sel.length; b++) {
      out[b] = new float[sel[b].length][];
    }
    for (PeerCall c : gated.calls()) {
      if (!c.isSuccess()) {
        continue;
      }
      float[] all = c.result().output().toFloatArray();
      int[] rows = c.rows();
      for (int i = 0; i < rows.length; i++) {
        int b = rows[i];
        for (int s = 0; s < sel[b].length; s++) {
          if (sel[b][s] == c.peer()) {
            out[b][s] = Arrays.copyOfRange(all, i * m, (i + 1) * m);
          }
        }
      }
    }
    FallbackCall fallback = gated.fallback();
    if (fallback != null && fallback.isSuccess()) {
      float[] all = fallback.result().output().toFloatArray();
      int[] rows = fallback.rows();
      for (int i = 0; i < rows.length; i++) {
        for (int s = 0; s < out[rows[i]].length; s++) {
          if (out[rows[i]][s] == null) {
            out[rows[i]][s] = Arrays.copyOfRange(all, i * m, (i + 1) * m);
          }
        }
      }
    }
    return out;
  }

  /**
   * {@code sum_s g_s f_s} into {@code out[o, o + m)}, the gates the softmax of {@code h} over the
   * members that answered, in the gate's own arithmetic (NoisyTopKGate's join); zeros when none
   * did.
   */
  private static void join(int[] set, float[][] f, float[] h, float[] out, int o) {
    boolean[] answered = new boolean[set.length];
    for (int s = 0; s < set.length; s++) {
      answered[s] = f[s] != null;
    }
    float[] gates = NoisyTopKGate.softmaxOver(h, 0, set, answered);
    for (int s = 0; s < set.length; s++) {
      if (answered[s]) {
        for (int i = 0; i < f[s].length; i++) {
          out[o + i] += gates[s] * f[s][i];
        }
      }
    }
  }

  private static int slotOf(int[] selected, int peer) {
    for (int s = 0; s < selected.length; s++) {
      if (selected[s] == peer) {
        return s;
      }
    }
    throw new IllegalStateException("peer " + peer + " answered for an example not routed to it");
  }

  private static double sum(double[] x, int from, int count) {
    double total = 0;
    for (int i = from; i < from + count; i++) {
      total += x[i];
    }
    return total;
  }

  private int send(List<PeerGradient> grads) {
    List<CompletableFuture<BackwardResult>> acks = new ArrayList<>();
    for (PeerGradient pg : grads) {
      acks.add(gate.peers().get(pg.peer()).backward(pg.request(), timeout)
          .exceptionally(e -> BackwardResult.failure(io.bittensor.core.Status.INTERNAL_ERROR,
              String.valueOf(e))));
    }
    try {
      CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new))
          .get(Deadlines.millis(timeout) + 10_000, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      // Acknowledgements are best effort: what did not come back counts as not taken.
    }
    int ok = 0;
    for (CompletableFuture<BackwardResult> a : acks) {
      ok += a.isDone() && !a.isCompletedExceptionally() && a.join().isSuccess() ? 1 : 0;
    }
    return ok;
  }

  /** Fits the student to the answered rows, then fills in the rows nobody answered. */
  private void fitAndFillIn(Tensor input, Gated gated, float[] joined, int[] shape) {
    int[] answered = answeredRows(gated);
    if (answered.length > 0) {
      distiller.fit(Rows.gather(input, answered), Rows.gather(gated.output(), answered));
    }
    fillIn(input, gated, joined, shape);
  }

  /** Writes the student's answer into the rows of {@code joined} that no peer answered. */
  private int fillIn(Tensor input, Gated gated, float[] joined, int[] shape) {
    int[] missing = missingRows(gated);
    if (missing.length == 0) {
      return 0;
    }
    Tensor student = distiller.predict(Rows.gather(input, missing));
    float[] s = student.toFloatArray();
    int m = shape[1] * shape[2];
    if (s.length != missing.length * m) {
      throw new IllegalArgumentException("the student answers " + student + ", the network "
          + Arrays.toString(shape));
    }
    for (int i = 0; i < missing.length; i++) {
      System.arraycopy(s, i * m, joined, missing[i] * m, m);
    }
    return missing.length * shape[1];
  }

  private static int[] answeredRows(Gated gated) {
    return rowsWhere(gated, true);
  }

  private static int[] missingRows(Gated gated) {
    return rowsWhere(gated, false);
  }

  /**
   * The rows the peers alone answered ({@code answered} true: some peer answered, and no fallback
   * took a failed peer's place), or that nothing answered (false).
   */
  private static int[] rowsWhere(Gated gated, boolean answered) {
    float[][] gates = gated.gates();
    float[] fallback = gated.fallbackShares();
    int[] out = new int[gates.length];
    int count = 0;
    for (int b = 0; b < gates.length; b++) {
      double sum = 0;
      for (float g : gates[b]) {
        sum += g;
      }
      if (fallback[b] == 0 && (sum > 0) == answered) {
        out[count++] = b;
      }
    }
    return Arrays.copyOf(out, count);
  }

  private Distiller requireDistiller() {
    if (distiller == null) {
      throw new IllegalStateException("this learner has no distiller (Builder.distiller)");
    }
    return distiller;
  }

  /**
   * Refuses, before any peer is asked, a batch {@link #checkBatch} refuses or whose element type
   * or rank its own modality refuses: every peer would refuse it, and each refusal would count
   * as that peer's failure.
   */
  private static void checkRequest(ForwardRequest request) {
    checkBatch(request.input());
    Optional<Rejection> bad =
        TensorStandard.anyOutputDim().checkInput(request.modality(), request.input());
    if (bad.isPresent()) {
      throw new IllegalArgumentException("no peer takes this request's input as its modality "
          + request.modality() + ": " + bad.get());
    }
  }

  /**
   * Refuses a forward every peer asked refused as the request's fault, naming each answer: the
   * caller's bug, not the peers' failures. One peer alone saying so stays its own failure.
   */
  private static void checkNotRefusedByAll(Gated gated) {
    List<PeerCall> calls = gated.calls();
    if (calls.isEmpty() || !calls.stream().allMatch(Learner::refusedAsWrong)) {
      return;
    }
    StringBuilder why = new StringBuilder("every peer asked refused the request as wrong, the"
        + " caller's fault (charged to no peer):");
    for (PeerCall c : calls) {
      var r = c.result().result();
      // A peer's message is its own text: kept short.
      String message = r.message().length() > 200 ? r.message().substring(0, 200) + "..."
          : r.message();
      why.append(" peer ").append(c.peer()).append(' ').append(r.status())
          .append(r.field().isEmpty() ? "" : " " + r.field()).append(": ").append(message)
          .append(';');
    }
    why.setLength(why.length() - 1);
    throw new IllegalArgumentException(why.toString());
  }

  /**
   * A peer's refusal that blames the request: BAD_REQUEST, UNKNOWN_MODALITY, or a BAD_SHAPE of
   * the input (the gate marks an answer outside the standard BAD_SHAPE too, naming the output).
   */
  private static boolean refusedAsWrong(PeerCall c) {
    Status s = c.status();
    return s == Status.BAD_REQUEST || s == Status.UNKNOWN_MODALITY
        || s == Status.BAD_SHAPE && c.result().result().field().startsWith("input");
  }

  /**
   * Refuses, before any peer is asked, a batch with a dimension of 0 or a value that is not
   * finite. The head would have no row, or every peer would refuse the input (as the tensor
   * standard asks) or fail on it, and a context function may hide either from the gate's check:
   * the step would then count the neuron's own bad input as the peers' failures.
   */
  private static void checkBatch(Tensor input) {
    for (int i = 0; i < input.rank(); i++) {
      if (input.dim(i) == 0) {
        throw new IllegalArgumentException("a batch has every dimension >= 1 (at least one"
            + " example and position), was " + Arrays.toString(input.shape()));
      }
    }
    int bad = input.firstNonFinite();
    if (bad >= 0) {
      throw new IllegalArgumentException("input element " + bad + " is " + input.floatAt(bad)
          + "; values must be finite");
    }
  }

  /**
   * Refuses an input an {@link MlpDistiller} student cannot read before any peer is asked: a
   * step fits the student, and an evaluation asks it wherever no peer answered, so the input
   * would otherwise fail only once a peer did not answer.
   */
  private void checkStudentReads(Tensor input) {
    if (distiller instanceof MlpDistiller d) {
      d.checkInput(input);
    }
  }

  /**
   * Checks the labels against the input's examples and positions, which the answer will have by
   * the tensor standard, before any peer is asked for it.
   */
  private void checkLabelsBeforeAsking(Tensor input, int[] labels) {
    if (input.rank() >= 2) {
      checkLabelValues(labels, input.dim(0) * input.dim(1));
    }
  }

  private void checkLabels(int[] labels, int rows, int dim) {
    Objects.requireNonNull(labels, "labels");
    if (dim != head.inputDim()) {
      throw new IllegalArgumentException("the head takes " + head.inputDim()
          + " features, the network answers " + dim);
    }
    checkLabelValues(labels, rows);
  }

  private void checkLabelValues(int[] labels, int rows) {
    Objects.requireNonNull(labels, "labels");
    if (labels.length != rows) {
      throw new IllegalArgumentException("labels must hold one class per example and position, "
          + rows + ", had " + labels.length);
    }
    for (int i = 0; i < labels.length; i++) {
      if (labels[i] < 0 || labels[i] >= head.outputDim()) {
        throw new IllegalArgumentException("labels[" + i + "] must be in [0, "
            + head.outputDim() + "), was " + labels[i]);
      }
    }
  }

  private int correct(float[] logits, int rows, int[] labels) {
    int[] c = classes(logits, rows);
    int ok = 0;
    for (int r = 0; r < rows; r++) {
      ok += c[r] == labels[r] ? 1 : 0;
    }
    return ok;
  }

  private int[] classes(float[] logits, int rows) {
    int[] out = new int[rows];
    for (int r = 0; r < rows; r++) {
      out[r] = NnOps.argmax(logits, r, head.outputDim());
    }
    return out;
  }

  @Override
  public String toString() {
    return "Learner[" + gate + ", head " + head + "]";
  }

  /**
   * Settings of a {@link Learner}.
   *
   * <p>Not thread-safe. The gate, head and distiller given are used, not copied: build one
   * learner from them.
   */
  public static final class Builder {
    private GatingLayer gate;
    private TrainableMlp head;
    private double learningRate = 1e-3;
    private Duration timeout = Duration.ofSeconds(1);
    private Function<Tensor, Tensor> context = Learner::flatten;
    private boolean sendGradients = true;
    private Distiller distiller;
    private double scoreDecay = 0.98;
    private int probeEvery = DEFAULT_PROBE_EVERY;

    private Builder() {}

    /** The gate that routes, queries and joins (required). */
    public Builder gate(GatingLayer gate) {
      this.gate = Objects.requireNonNull(gate, "gate");
      return this;
    }

    /**
     * The local head on {@code G(x)} (required): {@code outputDim} features in, one logit per
     * class out.
     */
    public Builder head(TrainableMlp head) {
      this.head = Objects.requireNonNull(head, "head");
      return this;
    }

    /**
     * Adam's step size for the head (default 1e-3).
     *
     * @throws IllegalArgumentException if not finite and positive
     */
    public Builder learningRate(double rate) {
      this.learningRate = Checks.positive(rate, "learningRate");
      return this;
    }

    /**
     * How long to wait for each peer's answer and acknowledgement (default 1 s).
     *
     * @throws IllegalArgumentException if not positive
     */
    public Builder timeout(Duration timeout) {
      io.bittensor.core.internal.Deadlines.millis(timeout);
      this.timeout = timeout;
      return this;
    }

    /**
     * How each example's context vector, FLOAT32 {@code [batch, contextDim]}, is made from the
     * input (default {@link Learner#flatten}).
     */
    public Builder context(Function<Tensor, Tensor> context) {
      this.context = Objects.requireNonNull(context, "context");
      return this;
    }

    /** Whether each step sends the peers their gradients (default true). */
    public Builder sendGradients(boolean on) {
      this.sendGradients = on;
      return this;
    }

    /**
     * A student fitted to {@code G(x)} at each step, answering where no peer did (default none).
     * To have it answer in each failed peer's slot as well, give the gate {@code
     * student.asPeer()} as its {@link NoisyTopKGate.Builder#fallback}.
     */
    public Builder distiller(Distiller distiller) {
      this.distiller = Objects.requireNonNull(distiller, "distiller");
      return this;
    }

    /**
     * The decay per training batch of the moving averages behind the pruning scores (the {@link
     * Learner#fisher()} matrix) and the {@link Learner#reroutedLossScores()}, in [0, 1) (default
     * 0.98: about the last 50 batches count).
     *
     * @throws IllegalArgumentException if outside [0, 1)
     */
    public Builder scoreDecay(double decay) {
      this.scoreDecay = Checks.decay(decay, "scoreDecay");
      return this;
    }

    /**
     * Probe every {@code m}-th training batch for the {@link Learner#reroutedLossScores()}
     * (default {@value Learner#DEFAULT_PROBE_EVERY}; 0: never). A probed batch also asks each
     * example's stand-in ({@link GatingLayer#askStandIns}), one more peer per example: with top
     * {@code k} routing that is {@code 1/k} more answer and input bytes on that batch, {@code
     * 1/(k m)} over the run (12.5% at the default with k = 2). The step's gradients and updates are
     * the same with and without probes.
     *
     * @throws IllegalArgumentException if {@code m < 0}
     */
    public Builder probeEvery(int m) {
      if (m < 0) {
        throw new IllegalArgumentException("probeEvery must be >= 0 (0: never), was " + m);
      }
      this.probeEvery = m;
      return this;
    }

    /**
     * The learner.
     *
     * @throws IllegalStateException if the gate or head is missing, or the head's input or the
     *     student's output differs from the answers of a {@link NoisyTopKGate}, or the head's
     *     input from the student's output
     */
    public Learner build() {
      if (gate == null || head == null) {
        throw new IllegalStateException("a learner needs a gate and a head");
      }
      // Known before any peer is asked: a step that could not train must not move the gate.
      if (gate instanceof NoisyTopKGate g && head.inputDim() != g.outputDim()) {
        throw new IllegalStateException("the head takes " + head.inputDim()
            + " features, the gate answers " + g.outputDim());
      }
      if (distiller != null && gate instanceof NoisyTopKGate g
          && distiller.outputDim() != g.outputDim()) {
        throw new IllegalStateException("the student answers " + distiller.outputDim()
            + " features, the gate answers " + g.outputDim());
      }
      if (distiller != null && head.inputDim() != distiller.outputDim()) {
        throw new IllegalStateException("the head takes " + head.inputDim()
            + " features, the student answers " + distiller.outputDim());
      }
      return new Learner(this);
    }
  }
}
