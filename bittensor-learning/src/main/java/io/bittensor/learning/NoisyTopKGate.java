package io.bittensor.learning;

import io.bittensor.core.BackwardRequest;
import io.bittensor.core.DType;
import io.bittensor.core.Experimental;
import io.bittensor.core.FallbackCall;
import io.bittensor.core.FanOut;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Gated;
import io.bittensor.core.GatingLayer;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.PeerCall;
import io.bittensor.core.PeerGradient;
import io.bittensor.core.QueryResult;
import io.bittensor.core.Rejection;
import io.bittensor.core.StandIns;
import io.bittensor.core.Tensor;
import io.bittensor.core.TensorStandard;
import io.bittensor.core.internal.Deadlines;
import io.bittensor.core.internal.StateFile;
import io.bittensor.learning.internal.AnswerScale;
import io.bittensor.learning.internal.Checks;
import io.bittensor.learning.internal.Rows;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;

/**
 * The noisily gated top-k layer of Shazeer et al. (2017, "Outrageously large neural networks")
 * over the network's peers: {@code H(x) = x W_g + b_g + N(0, 1) softplus(x W_n + b_n)}, the top
 * {@code k} entries of {@code H(x)} per example, a softmax over those, and {@code G(x) = sum_j
 * g_j(x) f_j(x)}. Its training adds the importance and load balancing losses ({@code w CV^2} of
 * the gates' and of the smooth selection probabilities' sums over the batch), and a failure loss
 * of our own that lowers the logit of each peer that failed where it was asked, so that the gate
 * learns to route away from a peer that times out ({@link Builder#failureWeight}).
 *
 * <pre>{@code
 * List<Peer> peers = ...;
 * NoisyTopKGate gate = NoisyTopKGate.builder()
 *     .peers(peers)                          // asked through any transport
 *     .k(2)
 *     .contextDim(784)                       // the neuron's own view of an example
 *     .outputDim(10)                         // the network's answer size
 *     .seed(7)
 *     .build();
 * ForwardRequest request = ...;
 * Tensor context = ...;                      // [batch, 784]
 * Gated g = gate.forwardAndWait(request, context, true, Duration.ofMillis(500));
 * Tensor dLdG = ...;                         // the loss's gradient at g.output()
 * List<PeerGradient> back = gate.backward(g, dLdG);
 * gate.step();
 * double[] importance = gate.importance();   // moving average, sums to 1
 * }</pre>
 *
 * <p>Behaviour. Each peer is asked once per batch, with exactly the rows routed to it. A peer
 * that fails, times out or answers outside the tensor standard is masked and the gate
 * renormalised over those that answered (the result's {@link Gated#calls()} says who failed and
 * why); an example with no answering peer joins to zeros. With a {@link Builder#fallback} (the
 * neuron's student, say), the fallback answers in each failed peer's slot instead, with that
 * peer's gate. Each answer's scale is bounded before it is joined: an answer vector (one
 * position of one example) whose root mean square passes 1 is divided by it, so that a peer
 * answering huge finite numbers can neither take the head nor the learner's weight row; answers
 * of RMS at most 1 (probabilities, normalised embeddings) join as sent. The result's calls hold
 * each answer as it was joined (each call's {@code result().result()} keeps what the peer sent),
 * and the gradient a peer is sent is that of its own answer, through the bound. A training
 * result is kept for {@link #backward} until it is back-propagated or 64 newer ones are waiting.
 * In inference ({@code training} false)
 * there is no noise, routing is deterministic, and nothing is remembered. The parameters start at
 * zero, as in the paper: every peer is equally likely at first, and the noise explores. {@link
 * #askStandIns} asks, after a training forward, each example's next choice by the noiseless
 * logits: one more peer per example, for the learner's {@link WeightSource#REROUTED_LOSS}.
 *
 * <p>Not thread-safe: one thread trains the gate, and forwards of one thread run one at a time.
 * The returned futures complete on a peer's or a timer's thread.
 */
@Experimental
public final class NoisyTopKGate implements GatingLayer {
  /** The most training results kept for {@link #backward}; past it the oldest is forgotten. */
  private static final int MAX_PENDING = 64;

  private static final String NOT_PENDING = "forward is not a pending training result of this"
      + " gate (an inference result, another gate's, already back-propagated, or forgotten as the"
      + " oldest of more than " + MAX_PENDING + " not back-propagated)";

  private final List<Peer> peers;
  private final int n;
  private final int k;
  private final int d;
  private final TensorStandard standard;
  private final FanOut fanOut;
  private final boolean noise;
  private final double importanceWeight;
  private final double loadWeight;
  private final double warmupWeight;
  private final long warmupBatches;
  private final double failureWeight;
  private final Peer fallback;
  private final double decay;
  private final Parameter wg;
  private final Parameter bg;
  private final Parameter wn;
  private final Parameter bn;
  private final List<Parameter> parameters;
  private final Adam adam;
  /** The routing noise; replaced whole by {@link #restore}. */
  private Random random;
  /** Peers never routed to (null: none). */
  private final boolean[] excluded;
  /** The peers not excluded: with k of them, every example goes to all and no load differs. */
  private final int routable;
  /** In the order made, so that the oldest is the one forgotten past 64. */
  private final Map<Identity, Tape> pending = new LinkedHashMap<>();
  private final double[] importanceAverage;
  private long importanceBatches;
  /** Training batches back-propagated, for the balancing warm-up. */
  private long backwardBatches;
  private double balanceLoss;
  private double failureLoss;

  /** A result as a key by identity: records compare by value. */
  private record Identity(Gated gated) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Identity other && other.gated == gated;
    }

    @Override
    public int hashCode() {
      return System.identityHashCode(gated);
    }
  }

  private NoisyTopKGate(Builder b) {
    this.peers = List.copyOf(b.peers);
    this.n = peers.size();
    this.k = b.k;
    this.d = b.contextDim;
    this.standard = TensorStandard.of(b.outputDim);
    this.fanOut = FanOut.of(standard);
    this.noise = b.noise;
    this.importanceWeight = b.importanceWeight;
    this.loadWeight = b.loadWeight;
    this.warmupWeight = b.warmupWeight;
    this.warmupBatches = b.warmupBatches;
    this.failureWeight = b.failureWeight;
    this.fallback = b.fallback;
    this.decay = b.importanceDecay;
    this.wg = new Parameter("gate.weight", new float[d * n]);
    this.bg = new Parameter("gate.bias", new float[n]);
    this.wn = new Parameter("noise.weight", new float[d * n]);
    this.bn = new Parameter("noise.bias", new float[n]);
    this.parameters = List.of(wg, bg, wn, bn);
    this.adam = Adam.over(parameters, b.learningRate);
    this.random = new Random(b.seed);
    this.excluded = b.excluded.isEmpty() ? null : new boolean[n];
    b.excluded.forEach(j -> excluded[j] = true);
    this.routable = n - b.excluded.size();
    this.importanceAverage = new double[n];
  }

  /**
   * A builder; {@link Builder#peers}, {@link Builder#contextDim} and {@link Builder#outputDim} are
   * required.
   */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public List<Peer> peers() {
    return peers;
  }

  @Override
  public int k() {
    return k;
  }

  /** The size of the context vector per example. */
  public int contextDim() {
    return d;
  }

  /** The network's answer size. */
  public int outputDim() {
    return standard.outputDim();
  }

  /**
   * The trainable arrays: gate weights {@code [contextDim][peers]} and bias, noise weights and
   * bias (live; for inspection and research code).
   */
  public List<Parameter> parameters() {
    return parameters;
  }

  /** The importance and load balancing losses of the last {@link #backward}. */
  public double balanceLoss() {
    return balanceLoss;
  }

  /** The failure loss of the last {@link #backward} ({@link Builder#failureWeight}). */
  public double failureLoss() {
    return failureLoss;
  }

  @Override
  public CompletableFuture<Gated> forward(
      ForwardRequest request, Tensor context, boolean training, Duration timeout) {
    Objects.requireNonNull(request, "request");
    Objects.requireNonNull(context, "context");
    Deadlines.millis(timeout);
    Tensor input = request.input();
    int[] outShape = standard.outputShape(input);
    int batch = input.dim(0);
    if (context.dtype() != DType.FLOAT32 || context.rank() != 2 || context.dim(1) != d
        || context.dim(0) != batch) {
      throw new IllegalArgumentException("context must be FLOAT32 [" + batch + ", " + d
          + "] (a row per example of the input), was " + context.dtype() + " "
          + Arrays.toString(context.shape()));
    }
    int bad = context.firstNonFinite();
    if (bad >= 0) {
      // One would make the routing NaN, and a training step every gate parameter, for good.
      throw new IllegalArgumentException("context element " + bad + " is "
          + context.floatAt(bad) + "; values must be finite");
    }
    Tape t = new Tape(batch, outShape[1] * outShape[2], outShape);
    t.modality = request.modality();
    t.ctx = context.toFloatArray();
    t.clean = new float[batch * n];
    NnOps.denseForward(t.ctx, batch, d, wg.values(), bg.values(), n, t.clean);
    t.h = t.clean;
    if (training && noise) {
      t.u = new float[batch * n];
      NnOps.denseForward(t.ctx, batch, d, wn.values(), bn.values(), n, t.u);
      t.std = new float[batch * n];
      t.eps = new float[batch * n];
      t.h = new float[batch * n];
      for (int i = 0; i < batch * n; i++) {
        t.std[i] = (float) NnOps.softplus(t.u[i]);
        t.eps[i] = (float) random.nextGaussian();
        t.h[i] = t.clean[i] + t.eps[i] * t.std[i];
      }
    }
    t.sel = topK(t.h, batch, n, k, excluded);
    t.route = new float[batch][];
    for (int b = 0; b < batch; b++) {
      t.route[b] = softmaxOver(t.h, b * n, t.sel[b], null);
    }
    return ask(request, t.sel, timeout).thenCompose(calls -> askFallback(request, calls, timeout)
        .thenApply(asked -> join(t, calls, asked, training)));
  }

  /** The fallback's call for the rows where a routed peer failed, if the gate has one. */
  private record Asked(int[] rows, Tensor input, QueryResult result) {}

  /** Asks the fallback, once, for every row with a failed routed peer; null when none is asked. */
  private CompletableFuture<Asked> askFallback(
      ForwardRequest request, List<PeerCall> calls, Duration timeout) {
    if (fallback == null) {
      return CompletableFuture.completedFuture(null);
    }
    boolean[] failed = new boolean[request.input().dim(0)];
    for (PeerCall c : calls) {
      if (!c.isSuccess()) {
        for (int b : c.rows()) {
          failed[b] = true;
        }
      }
    }
    int[] rows = IntStream.range(0, failed.length).filter(b -> failed[b]).toArray();
    if (rows.length == 0) {
      return CompletableFuture.completedFuture(null);
    }
    Tensor sub = Rows.gather(request.input(), rows);
    return fanOut.query(List.of(fallback), new ForwardRequest(request.modality(), sub), timeout)
        .thenApply(rs -> new Asked(rows, sub, checked(rs.get(0), sub)));
  }

  /** Asks each peer once, in parallel, with the rows whose {@code routes} name it. */
  private CompletableFuture<List<PeerCall>> ask(
      ForwardRequest request, int[][] routes, Duration timeout) {
    List<CompletableFuture<PeerCall>> calls = new ArrayList<>();
    for (int j = 0; j < n; j++) {
      int[] rows = rowsOf(routes, j);
      if (rows.length == 0) {
        continue;
      }
      int peer = j;
      Tensor sub = Rows.gather(request.input(), rows);
      calls.add(fanOut.query(List.of(peers.get(j)), new ForwardRequest(request.modality(), sub),
          timeout).thenApply(rs -> new PeerCall(peer, rows, sub, checked(rs.get(0), sub))));
    }
    return CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new))
        .thenApply(v -> calls.stream().map(CompletableFuture::join).toList());
  }

  /**
   * {@inheritDoc}
   *
   * <p>Here the stand-in of an example is the best peer by the noiseless logits {@code x W_g +
   * b_g} among those neither routed to for it nor {@linkplain Builder#exclude excluded} (the lower
   * index on ties); the logits returned are those the forward routed with (noisy in training).
   */
  @Override
  public CompletableFuture<StandIns> askStandIns(
      Gated forward, ForwardRequest request, Duration timeout) {
    Objects.requireNonNull(forward, "forward");
    Objects.requireNonNull(request, "request");
    Deadlines.millis(timeout);
    Tape t;
    synchronized (this) {
      t = pending.get(new Identity(forward));
    }
    if (t == null) {
      throw new IllegalArgumentException(NOT_PENDING);
    }
    if (request.input().rank() < 1 || request.input().dim(0) != t.batch) {
      throw new IllegalArgumentException("request must be the forward's batch of " + t.batch
          + " examples, was " + request.input());
    }
    int[][] next = new int[t.batch][];
    int[] standIn = new int[t.batch];
    float[][] logits = new float[t.batch][];
    for (int b = 0; b < t.batch; b++) {
      int best = -1;
      for (int j = 0; j < n; j++) {
        if (slot(t.sel[b], j) < 0 && !isExcluded(j)
            && (best < 0 || t.clean[b * n + j] > t.clean[b * n + best])) {
          best = j;
        }
      }
      standIn[b] = best;
      next[b] = best < 0 ? new int[0] : new int[] {best};
      logits[b] = Arrays.copyOfRange(t.h, b * n, (b + 1) * n);
    }
    int dim = t.shape[2];
    return ask(request, next, timeout).thenApply(calls -> new StandIns(standIn, logits,
        calls.stream().map(c -> new PeerCall(c.peer(), c.rows(), c.input(),
            AnswerScale.bound(c.result(), dim))).toList()));
  }

  /** A successful answer outside the standard becomes a failure, with zeros in its place. */
  private QueryResult checked(QueryResult r, Tensor sub) {
    if (!r.isSuccess()) {
      return r;
    }
    Optional<Rejection> bad = standard.checkOutput(sub, r.output());
    return bad.isEmpty() ? r : new QueryResult(r.peer(), ForwardResult.rejected(bad.get()),
        standard.zeros(sub), r.latency());
  }

  private Gated join(Tape t, List<PeerCall> answers, Asked asked, boolean training) {
    int batch = t.batch;
    int m = t.width;
    int dim = t.shape[2];
    t.f = new float[batch][k][];
    t.failed = new boolean[batch][k];
    t.scales = new float[n][];
    // Each answer's scale bounded first: the calls the result names hold what was joined.
    List<PeerCall> calls = new ArrayList<>(answers.size());
    for (PeerCall c : answers) {
      if (!c.isSuccess()) {
        calls.add(c);
        continue;
      }
      float[] out = c.result().output().toFloatArray();
      t.scales[c.peer()] = AnswerScale.bound(out, dim);
      calls.add(t.scales[c.peer()] == null ? c : new PeerCall(c.peer(), c.rows(), c.input(),
          AnswerScale.withAnswer(c.result(), out)));
      int[] rows = c.rows();
      for (int i = 0; i < rows.length; i++) {
        int b = rows[i];
        t.f[b][slot(t.sel[b], c.peer())] = Arrays.copyOfRange(out, i * m, (i + 1) * m);
      }
    }
    for (int b = 0; b < batch; b++) {
      for (int s = 0; s < t.sel[b].length; s++) {
        t.failed[b][s] = t.f[b][s] == null;
      }
    }
    // The fallback's answer takes each failed peer's slot, and with it that peer's gate.
    boolean[][] stoodIn = new boolean[batch][k];
    if (asked != null) {
      asked = new Asked(asked.rows(), asked.input(), AnswerScale.bound(asked.result(), dim));
    }
    if (asked != null && asked.result().isSuccess()) {
      float[] out = asked.result().output().toFloatArray();
      int[] rows = asked.rows();
      for (int i = 0; i < rows.length; i++) {
        int b = rows[i];
        for (int s = 0; s < t.sel[b].length; s++) {
          if (t.failed[b][s]) {
            t.f[b][s] = Arrays.copyOfRange(out, i * m, (i + 1) * m);
            stoodIn[b][s] = true;
          }
        }
      }
    }
    float[] g = new float[batch * m];
    t.gates = new float[batch][];
    for (int b = 0; b < batch; b++) {
      boolean[] answered = new boolean[k];
      for (int s = 0; s < t.sel[b].length; s++) {
        answered[s] = t.f[b][s] != null;
      }
      t.gates[b] = softmaxOver(t.h, b * n, t.sel[b], answered);
      for (int s = 0; s < t.sel[b].length; s++) {
        if (answered[s]) {
          float gv = t.gates[b][s];
          float[] f = t.f[b][s];
          for (int e = 0; e < m; e++) {
            g[b * m + e] += gv * f[e];
          }
        }
      }
    }
    // Gated's gates are the peers' own shares: a slot the fallback filled holds none of its peer's.
    float[][] own = new float[batch][];
    float[] fallbackShare = new float[batch];
    for (int b = 0; b < batch; b++) {
      own[b] = t.gates[b].clone();
      for (int s = 0; s < own[b].length; s++) {
        if (stoodIn[b][s]) {
          fallbackShare[b] += own[b][s];
          own[b][s] = 0;
        }
      }
    }
    FallbackCall fallbackCall = null;
    if (asked != null) {
      int[] rows = asked.rows();
      float[] shares = new float[rows.length];
      for (int i = 0; i < rows.length; i++) {
        shares[i] = Math.min(1f, fallbackShare[rows[i]]);
      }
      fallbackCall = new FallbackCall(rows, shares, asked.input(), asked.result());
    }
    Gated result = new Gated(Tensor.ofFloats(g, t.shape), t.sel, own, calls, fallbackCall);
    if (training) {
      synchronized (this) {
        pending.put(new Identity(result), t);
        if (pending.size() > MAX_PENDING) {
          // A caller that never back-propagates must not grow the map without bound.
          pending.remove(pending.keySet().iterator().next());
        }
        double[] share = new double[n];
        for (int b = 0; b < batch; b++) {
          for (int s = 0; s < t.sel[b].length; s++) {
            share[t.sel[b][s]] += own[b][s] / (double) batch;
          }
        }
        importanceBatches++;
        for (int j = 0; j < n; j++) {
          importanceAverage[j] = decay * importanceAverage[j] + (1 - decay) * share[j];
        }
      }
    }
    return result;
  }

  @Override
  public List<PeerGradient> backward(Gated forward, Tensor gradient) {
    Objects.requireNonNull(forward, "forward");
    Objects.requireNonNull(gradient, "gradient");
    Tape t;
    boolean warmingUp;
    synchronized (this) {
      t = pending.get(new Identity(forward));
      if (t == null) {
        throw new IllegalArgumentException(NOT_PENDING);
      }
      if (gradient.dtype() != DType.FLOAT32 || !gradient.hasShape(t.shape)) {
        throw new IllegalArgumentException("gradient must be FLOAT32 " + Arrays.toString(t.shape)
            + " like the output, was " + gradient.dtype() + " "
            + Arrays.toString(gradient.shape()));
      }
      pending.remove(new Identity(forward));
      warmingUp = backwardBatches++ < warmupBatches;
    }
    double wImportance = warmingUp ? warmupWeight : importanceWeight;
    double wLoad = warmingUp ? warmupWeight : loadWeight;
    int batch = t.batch;
    int m = t.width;
    float[] dG = gradient.toFloatArray();
    double[] dh = new double[batch * n];
    // The join: dL/dg_j = dG . f_j, then the softmax over the answering peers.
    for (int b = 0; b < batch; b++) {
      int[] sel = t.sel[b];
      double[] dg = new double[sel.length];
      double mean = 0;
      for (int s = 0; s < sel.length; s++) {
        if (t.f[b][s] != null) {
          double dot = 0;
          for (int e = 0; e < m; e++) {
            dot += (double) dG[b * m + e] * t.f[b][s][e];
          }
          dg[s] = dot;
          mean += t.gates[b][s] * dot;
        }
      }
      for (int s = 0; s < sel.length; s++) {
        if (t.f[b][s] != null) {
          dh[b * n + sel[s]] += t.gates[b][s] * (dg[s] - mean);
        }
      }
    }
    double aux = 0;
    if (wImportance > 0 && n > 1) {
      aux += importanceLoss(t, dh, wImportance);
    }
    double[] dClean = new double[batch * n];
    double[] dStd = new double[batch * n];
    if (wLoad > 0 && t.eps != null && k < routable) {
      aux += loadLoss(t, dh, dClean, dStd, wLoad);
    }
    balanceLoss = aux;
    failureLoss = failureWeight > 0 ? failureLoss(t, dh) : 0;
    float[] dc = new float[batch * n];
    for (int i = 0; i < dc.length; i++) {
      dc[i] = (float) (dh[i] + dClean[i]);
    }
    NnOps.denseBackward(t.ctx, batch, d, wg.values(), n, dc, wg.gradients(), bg.gradients(), null);
    if (t.eps != null) {
      float[] du = new float[batch * n];
      for (int i = 0; i < du.length; i++) {
        du[i] = (float) ((dh[i] * t.eps[i] + dStd[i]) * NnOps.sigmoid(t.u[i]));
      }
      NnOps.denseBackward(t.ctx, batch, d, wn.values(), n, du, wn.gradients(), bn.gradients(),
          null);
    }
    // Each answering peer's part: dL/df_j = g_j dG on its rows.
    List<PeerGradient> out = new ArrayList<>();
    for (PeerCall c : forward.calls()) {
      if (!c.isSuccess()) {
        continue;
      }
      int[] rows = c.rows();
      float[] gj = new float[rows.length * m];
      for (int i = 0; i < rows.length; i++) {
        int b = rows[i];
        float gv = t.gates[b][slot(t.sel[b], c.peer())];
        for (int e = 0; e < m; e++) {
          gj[i * m + e] = gv * dG[b * m + e];
        }
      }
      float[] scales = t.scales[c.peer()];
      if (scales != null) {
        // Through the bound: the gradient of the answer the peer sent, not of the one joined.
        int dim = t.shape[2];
        float[] joined = c.result().output().toFloatArray();
        for (int v = 0; v < scales.length; v++) {
          if (scales[v] != 1f) {
            AnswerScale.backward(joined, v * dim, gj, v * dim, dim, scales[v]);
          }
        }
      }
      int[] shape = t.shape.clone();
      shape[0] = rows.length;
      out.add(new PeerGradient(c.peer(), rows,
          new BackwardRequest(t.modality, c.input(), Tensor.ofFloats(gj, shape))));
    }
    return out;
  }

  /**
   * {@code w softplus(H_j(x))} for each example and each peer {@code j} routed to for it that
   * failed, averaged over the batch; adds its gradient ({@code w sigmoid(H_j(x))} per failure) to
   * {@code dh}. The join renormalises over the peers that answered, so a failed peer's logit gets
   * no gradient from the loss: without this term the gate never learns that a peer fails. It
   * lowers the failed peer's own logit only, so the examples go to the peers the gate already
   * ranks next rather than to the one that happened to be asked beside it; softplus keeps the
   * loss positive, and the push fades once the logit is well below the others.
   */
  private double failureLoss(Tape t, double[] dh) {
    double loss = 0;
    double scale = failureWeight / t.batch;
    for (int b = 0; b < t.batch; b++) {
      for (int s = 0; s < t.sel[b].length; s++) {
        if (t.failed[b][s]) {
          int i = b * n + t.sel[b][s];
          loss += scale * NnOps.softplus(t.h[i]);
          dh[i] += scale * NnOps.sigmoid(t.h[i]);
        }
      }
    }
    return loss;
  }

  /** {@code w CV^2} of the routing gates' sums per peer; adds its gradient to {@code dh}. */
  private double importanceLoss(Tape t, double[] dh, double w) {
    double[] imp = new double[n];
    for (int b = 0; b < t.batch; b++) {
      for (int s = 0; s < t.sel[b].length; s++) {
        imp[t.sel[b][s]] += t.route[b][s];
      }
    }
    double[] dImp = new double[n];
    double loss = w * cv2(imp, dImp, excluded);
    for (int b = 0; b < t.batch; b++) {
      int[] sel = t.sel[b];
      double mean = 0;
      for (int s = 0; s < sel.length; s++) {
        mean += t.route[b][s] * dImp[sel[s]];
      }
      for (int s = 0; s < sel.length; s++) {
        dh[b * n + sel[s]] += w * t.route[b][s] * (dImp[sel[s]] - mean);
      }
    }
    return loss;
  }

  /**
   * {@code w CV^2} of the load: the sum over the batch of each peer's probability of being in the
   * top k under a new draw of its own noise, {@code Phi((clean_j - threshold_j) / std_j)}, where
   * the threshold is the k-th largest noisy logit among the others. Adds the gradients to {@code
   * dh} (through the thresholds), {@code dClean} and {@code dStd}.
   */
  private double loadLoss(Tape t, double[] dh, double[] dClean, double[] dStd, double w) {
    int batch = t.batch;
    double[] z = new double[batch * n];
    int[] thresholdIndex = new int[batch * n];
    double[] load = load(batch, n, k, t.clean, t.h, t.std, t.sel, excluded, z, thresholdIndex);
    double[] dLoad = new double[n];
    double loss = w * cv2(load, dLoad, excluded);
    for (int b = 0; b < batch; b++) {
      for (int j = 0; j < n; j++) {
        if (isExcluded(j)) {
          continue;
        }
        int i = b * n + j;
        double dz = w * dLoad[j] * NnOps.normalPdf(z[i]);
        double std = t.std[i];
        if (std == 0) {
          continue; // no noise: a step in its chance, which has no gradient
        }
        dClean[i] += dz / std;
        dStd[i] -= dz * z[i] / std;
        dh[b * n + thresholdIndex[i]] -= dz / std;
      }
    }
    return loss;
  }

  /**
   * Each peer's load over the batch: the sum of its chances of being among the top k under a new
   * draw of its own noise, {@code Phi((clean_j - threshold_j) / std_j)}. The threshold is the k-th
   * largest noisy logit among the other peers not excluded: the (k+1)-th overall for a peer
   * routed to, the k-th (the last routed) for one that was not. Needs more than k peers not
   * excluded; excluded peers have no load.
   *
   * @param sel each example's top k of {@code h}, best first
   * @param z receives {@code (clean_j - threshold_j) / std_j} per example and peer (where {@code
   *     std_j} is 0: an infinity of the margin's sign, or 0 for no margin)
   * @param thresholdIndex receives the peer whose noisy logit is each threshold
   */
  static double[] load(int batch, int n, int k, float[] clean, float[] h, float[] std,
      int[][] sel, boolean[] excluded, double[] z, int[] thresholdIndex) {
    double[] load = new double[n];
    for (int b = 0; b < batch; b++) {
      int kth = sel[b][k - 1];
      // The (k+1)-th largest: the best of those not selected.
      int next = -1;
      for (int j = 0; j < n; j++) {
        if (slot(sel[b], j) < 0 && !isExcluded(excluded, j)
            && (next < 0 || h[b * n + j] > h[b * n + next])) {
          next = j;
        }
      }
      for (int j = 0; j < n; j++) {
        if (isExcluded(excluded, j)) {
          continue;
        }
        int ti = slot(sel[b], j) >= 0 ? next : kth;
        int i = b * n + j;
        thresholdIndex[i] = ti;
        float margin = clean[i] - h[b * n + ti];
        // Without noise (its scale underflowed to 0) the chance is 0 or 1, not 0 / 0.
        z[i] = std[i] > 0 ? margin / std[i] : margin > 0 ? Double.POSITIVE_INFINITY
            : margin < 0 ? Double.NEGATIVE_INFINITY : 0;
        load[j] += NnOps.normalCdf(z[i]);
      }
    }
    return load;
  }

  private boolean isExcluded(int j) {
    return isExcluded(excluded, j);
  }

  private static boolean isExcluded(boolean[] excluded, int j) {
    return excluded != null && excluded[j];
  }

  /** {@link #cv2(double[], double[])} over the entries not {@code skip}ped (all when null). */
  static double cv2(double[] x, double[] dx, boolean[] skip) {
    if (skip == null) {
      return cv2(x, dx);
    }
    int m = 0;
    for (boolean sk : skip) {
      m += sk ? 0 : 1;
    }
    double[] kept = new double[m];
    int[] at = new int[m];
    for (int j = 0, i = 0; j < x.length; j++) {
      if (!skip[j]) {
        at[i] = j;
        kept[i++] = x[j];
      }
    }
    double[] dk = new double[m];
    double loss = cv2(kept, dk);
    for (int i = 0; i < m; i++) {
      dx[at[i]] = dk[i];
    }
    return loss;
  }

  /**
   * {@code CV^2 = var / mean^2} of {@code x} (population variance); its gradient into {@code dx}.
   */
  static double cv2(double[] x, double[] dx) {
    int len = x.length;
    double mean = 0;
    for (double v : x) {
      mean += v;
    }
    mean /= len;
    if (mean <= 1e-12) {
      return 0;
    }
    double var = 0;
    for (double v : x) {
      var += (v - mean) * (v - mean);
    }
    var /= len;
    for (int j = 0; j < len; j++) {
      dx[j] = 2 / (len * mean * mean) * ((x[j] - mean) - var / mean);
    }
    return var / (mean * mean);
  }

  @Override
  public void step() {
    adam.step();
  }

  /**
   * {@inheritDoc}
   *
   * <p>Here the uniform row, before the first training forward or while every share is 0 (every
   * routed peer failed), is over the peers not {@linkplain Builder#exclude excluded}: an
   * excluded peer's importance is always 0.
   */
  @Override
  public double[] importance() {
    double[] out = new double[n];
    synchronized (this) {
      double total = 0;
      for (double v : importanceAverage) {
        total += v;
      }
      if (importanceBatches == 0 || total <= 0) {
        for (int j = 0; j < n; j++) {
          out[j] = isExcluded(j) ? 0 : 1.0 / routable;
        }
        return out;
      }
      for (int j = 0; j < n; j++) {
        out[j] = importanceAverage[j] / total;
      }
    }
    return out;
  }

  /** The indices of the k largest values of each row, best first (the lower index on ties). */
  static int[][] topK(float[] h, int batch, int n, int k) {
    return topK(h, batch, n, k, null);
  }

  /** As {@link #topK(float[], int, int, int)}, never choosing the {@code skip} entries. */
  static int[][] topK(float[] h, int batch, int n, int k, boolean[] skip) {
    int[][] sel = new int[batch][k];
    for (int b = 0; b < batch; b++) {
      int o = b * n;
      int[] s = sel[b];
      int filled = 0;
      for (int j = 0; j < n; j++) {
        if (skip != null && skip[j]) {
          continue;
        }
        float v = h[o + j];
        if (filled == k && !(v > h[o + s[k - 1]])) {
          continue;
        }
        int pos = Math.min(filled, k - 1);
        while (pos > 0 && v > h[o + s[pos - 1]]) {
          s[pos] = s[pos - 1];
          pos--;
        }
        s[pos] = j;
        filled = Math.min(filled + 1, k);
      }
    }
    return sel;
  }

  /**
   * The softmax of {@code h[o + sel[s]]} over the slots kept (all when {@code keep} is null); 0 for
   * the others, all zeros when none is kept. The join's gates.
   */
  static float[] softmaxOver(float[] h, int o, int[] sel, boolean[] keep) {
    float[] out = new float[sel.length];
    double max = Double.NEGATIVE_INFINITY;
    for (int s = 0; s < sel.length; s++) {
      if (keep == null || keep[s]) {
        max = Math.max(max, h[o + sel[s]]);
      }
    }
    if (max == Double.NEGATIVE_INFINITY) {
      return out;
    }
    double sum = 0;
    double[] e = new double[sel.length];
    for (int s = 0; s < sel.length; s++) {
      if (keep == null || keep[s]) {
        e[s] = Math.exp(h[o + sel[s]] - max);
        sum += e[s];
      }
    }
    for (int s = 0; s < sel.length; s++) {
      out[s] = (float) (e[s] / sum);
    }
    return out;
  }

  private static int slot(int[] sel, int peer) {
    for (int s = 0; s < sel.length; s++) {
      if (sel[s] == peer) {
        return s;
      }
    }
    return -1;
  }

  private static int[] rowsOf(int[][] sel, int peer) {
    int count = 0;
    for (int[] s : sel) {
      if (slot(s, peer) >= 0) {
        count++;
      }
    }
    int[] rows = new int[count];
    int i = 0;
    for (int b = 0; b < sel.length; b++) {
      if (slot(sel[b], peer) >= 0) {
        rows[i++] = b;
      }
    }
    return rows;
  }

  /** What backward needs from a training forward. */
  private static final class Tape {
    final int batch;
    final int width;
    final int[] shape;
    Modality modality;
    float[] ctx;
    float[] clean;
    float[] u;
    float[] std;
    float[] eps;
    float[] h;
    int[][] sel;
    float[][] route;
    /** The join's gates: over the peers that answered and the fallback's slots. */
    float[][] gates;
    /** Each slot's answer: its peer's, the fallback's in a failed peer's slot, or null. */
    float[][][] f;
    /** The slots whose peer failed (whether or not the fallback filled them). */
    boolean[][] failed;
    /**
     * By peer, the divisor of each answer vector its call's answer was bounded by (see {@link
     * AnswerScale}), 1 where it was not; null for a peer none of whose vectors was.
     */
    float[][] scales;

    Tape(int batch, int width, int[] shape) {
      this.batch = batch;
      this.width = width;
      this.shape = shape;
    }
  }

  @Override
  public String toString() {
    return "NoisyTopKGate[" + k + " of " + n + ", context " + d + "]";
  }


  /**
   * Writes the gate's training state under {@code prefix}: its parameters, their optimiser, the
   * importance average, the batch counts and the noise generator. Forwards not yet
   * back-propagated are not part of it.
   */
  synchronized void save(StateFile.Writer w, String prefix) {
    Parameter.save(parameters, w, prefix);
    adam.save(w, prefix + "adam/");
    w.doubles(prefix + "importance", importanceAverage);
    w.longs(prefix + "batches", importanceBatches, backwardBatches);
    w.bytes(prefix + "noise", noiseState(random));
  }

  /** Stages reading what {@link #save} wrote; applying it drops pending forwards. */
  void restore(StateFile.Reader r, String prefix) {
    Parameter.restore(parameters, r, prefix);
    adam.restore(r, prefix + "adam/");
    r.doubles(prefix + "importance", importanceAverage);
    long[] batches = r.longs(prefix + "batches", 2);
    if (batches[0] < 0 || batches[1] < 0) {
      throw new IllegalArgumentException("the checkpoint's " + prefix + "batches are negative: "
          + Arrays.toString(batches));
    }
    Random noise = noiseFrom(r.bytes(prefix + "noise"), prefix + "noise");
    r.then(() -> {
      synchronized (this) {
        importanceBatches = batches[0];
        backwardBatches = batches[1];
        random = noise;
        pending.clear();
      }
    });
  }

  /** {@link Random}'s serialised form: its seed and a pending Gaussian, all a replay needs. */
  private static byte[] noiseState(Random random) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(random);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  /** Reads {@link #noiseState}, accepting nothing but a {@link Random}. */
  private static Random noiseFrom(byte[] state, String name) {
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(state))) {
      in.setObjectInputFilter(ObjectInputFilter.Config.createFilter(
          "maxdepth=2;maxrefs=8;maxbytes=1024;java.util.Random;!*"));
      Object o = in.readObject();
      if (o.getClass() != Random.class) {
        throw new IllegalArgumentException("the checkpoint's " + name + " is not a Random");
      }
      return (Random) o;
    } catch (IOException | ClassNotFoundException e) {
      throw new IllegalArgumentException("the checkpoint's " + name
          + " is not a random generator's state: " + e.getMessage(), e);
    }
  }
  /**
   * Settings of a {@link NoisyTopKGate}.
   *
   * <p>Not thread-safe; a builder may build several gates (each with fresh parameters).
   */
  public static final class Builder {
    private List<Peer> peers;
    private int k = 2;
    private int contextDim;
    private int outputDim;
    private boolean noise = true;
    private double importanceWeight = 0.01;
    private double loadWeight = 0.01;
    private double warmupWeight;
    private long warmupBatches;
    private double failureWeight;
    private Peer fallback;
    private double learningRate = 1e-3;
    private double importanceDecay = 0.98;
    private long seed;
    private Set<Integer> excluded = Set.of();

    private Builder() {}

    /**
     * The peers to route over (required, at least one); the list is copied.
     *
     * @throws IllegalArgumentException if empty
     */
    public Builder peers(List<? extends Peer> peers) {
      Objects.requireNonNull(peers, "peers");
      if (peers.isEmpty()) {
        throw new IllegalArgumentException("a gate needs at least one peer, was none");
      }
      peers.forEach(p -> Objects.requireNonNull(p, "peers contains null"));
      this.peers = List.copyOf(peers);
      return this;
    }

    /**
     * Peers per example (default 2; at most the number of peers, checked by {@link #build}).
     * With {@code k = 1} the renormalised gate of the one peer is always 1, so the loss sends the
     * gate no gradient and only the load loss trains it: use {@code k >= 2}, as Shazeer et al. do.
     *
     * @throws IllegalArgumentException if {@code k < 1}
     */
    public Builder k(int k) {
      this.k = Checks.atLeastOne(k, "k");
      return this;
    }

    /**
     * The size of each example's context vector (required).
     *
     * @throws IllegalArgumentException if {@code dim < 1}
     */
    public Builder contextDim(int dim) {
      this.contextDim = Checks.atLeastOne(dim, "contextDim");
      return this;
    }

    /**
     * The network's answer size (required): answers of another size count as failures.
     *
     * @throws IllegalArgumentException if {@code dim < 1}
     */
    public Builder outputDim(int dim) {
      this.outputDim = Checks.atLeastOne(dim, "outputDim");
      return this;
    }

    /** Noisy routing in training (default true); without it the load loss is off too. */
    public Builder noise(boolean on) {
      this.noise = on;
      return this;
    }

    /**
     * The weight of the importance loss, {@code >= 0} (default 0.01).
     *
     * @throws IllegalArgumentException if negative or not finite
     */
    public Builder importanceWeight(double w) {
      this.importanceWeight = Checks.nonNegative(w, "importanceWeight");
      return this;
    }

    /**
     * The weight of the load loss, {@code >= 0} (default 0.01).
     *
     * @throws IllegalArgumentException if negative or not finite
     */
    public Builder loadWeight(double w) {
      this.loadWeight = Checks.nonNegative(w, "loadWeight");
      return this;
    }

    /**
     * Both balancing losses weighted by {@code w} for the first {@code batches} training batches
     * back-propagated, and by {@link #importanceWeight} and {@link #loadWeight} after them
     * (default: no warm-up). A strong weight early keeps the gate trying every peer before it
     * settles on a few, as a weak one lets it settle on the first peers that help; the weaker
     * weight after lets it drop the peers it found worth nothing, so that its importance, the
     * weight row, is what it learned rather than what the balancing asked. In the Fashion-MNIST
     * market of {@code docs/learning.md}, 0.05 for the first two thirds of training and 0.01
     * after raised the rank correlation of a neuron's importance row with the peers' true values
     * from 0.65 to 0.77 on average over 96 neurons (0.59 to 0.67 on another draw of the market).
     * It has a cost there: the gate keeps some of what the warm-up gave peers worth nothing, and
     * 62% of those neurons' rows give a noise peer 1% or more, where without the warm-up none does.
     *
     * @throws IllegalArgumentException if {@code w} is negative or not finite, or {@code batches}
     *     negative
     */
    public Builder balanceWarmup(double w, long batches) {
      this.warmupWeight = Checks.nonNegative(w, "warmup weight");
      if (batches < 0) {
        throw new IllegalArgumentException("warmup batches must be >= 0, was " + batches);
      }
      this.warmupBatches = batches;
      return this;
    }

    /**
     * The weight of the failure loss, {@code >= 0} (default 0: off, the gate of Shazeer et al.):
     * for each example routed to a peer that failed, timed out or answered outside the standard,
     * {@code w softplus(H_j(x))} of that peer's routing logit, averaged over the batch. The join
     * renormalises over the peers that answered, so a failure alone sends the gate no gradient:
     * without this loss it routes to a peer that fails half the time as often as to one that
     * never fails. The loss lowers only the failed peer's logit, so its examples move to the
     * peers the gate ranks next. Where peers can fail, 1 is a good start: in the Fashion-MNIST
     * market of {@code docs/learning.md} it raised held-out accuracy by about 0.4 points.
     *
     * @throws IllegalArgumentException if negative or not finite
     */
    public Builder failureWeight(double w) {
      this.failureWeight = Checks.nonNegative(w, "failureWeight");
      return this;
    }

    /**
     * A peer asked in place of the routed peers that fail (default none): for each example with a
     * routed peer that failed, timed out or answered outside the standard, the fallback is asked
     * once, and its answer takes every failed peer's slot with that peer's gate, so the join is
     * not renormalised onto the peers that answered. Meant for the neuron's own student ({@link
     * io.bittensor.core.Distiller#asPeer()}, fitted by the {@link Learner}): a peer that fails
     * then costs the join only the difference between its answer and the student's. The gate's
     * gradient flows through the fallback's answer as through a peer's; the fallback itself gets
     * no gradient and no importance, and where it fails too the gate renormalises as without it.
     * {@link Gated#fallback()} says where it answered. It is asked once the routed peers' calls
     * have ended, with the same timeout, so a batch with a failure can take up to twice the
     * timeout with a remote fallback; a local student answers in microseconds.
     *
     * @throws NullPointerException if {@code fallback} is null
     */
    public Builder fallback(Peer fallback) {
      this.fallback = Objects.requireNonNull(fallback, "fallback");
      return this;
    }

    /**
     * Adam's step size for the gate (default 1e-3).
     *
     * @throws IllegalArgumentException if not finite and positive
     */
    public Builder learningRate(double rate) {
      this.learningRate = Checks.positive(rate, "learningRate");
      return this;
    }

    /**
     * The decay per training batch of the importance moving average, in [0, 1) (default 0.98:
     * about the last 50 batches count).
     *
     * @throws IllegalArgumentException if outside [0, 1)
     */
    public Builder importanceDecay(double decay) {
      this.importanceDecay = Checks.decay(decay, "importanceDecay");
      return this;
    }

    /**
     * Peers the gate never routes to (default none): they keep their place in {@link #peers}, so
     * every other peer's index, parameters and noise draws stay what they would be with them,
     * but they are never asked and their importance stays 0. For measuring what the network
     * loses without a peer, with everything else held equal; or for a peer the neuron no longer
     * trusts.
     *
     * @param peers indices into the peer list (checked by {@link #build}); the array is copied
     * @throws IllegalArgumentException if an index is negative
     */
    public Builder exclude(int... peers) {
      Set<Integer> set = new TreeSet<>();
      for (int j : peers) {
        if (j < 0) {
          throw new IllegalArgumentException("excluded peer indices must be >= 0, was " + j);
        }
        set.add(j);
      }
      this.excluded = Set.copyOf(set);
      return this;
    }

    /** The seed of the routing noise (default 0): the same seed, the same draws. */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /**
     * A gate with zero parameters.
     *
     * @throws IllegalStateException if peers, contextDim or outputDim is missing, or k exceeds the
     *     number of peers
     */
    public NoisyTopKGate build() {
      if (peers == null) {
        throw new IllegalStateException("peers are required");
      }
      if (contextDim == 0 || outputDim == 0) {
        throw new IllegalStateException("contextDim and outputDim are required, were "
            + contextDim + " and " + outputDim);
      }
      for (int j : excluded) {
        if (j >= peers.size()) {
          throw new IllegalStateException("excluded peer " + j + " is not in the list of "
              + peers.size() + " peers");
        }
      }
      int routable = peers.size() - excluded.size();
      if (k > routable) {
        throw new IllegalStateException("k must be at most the number of peers"
            + (excluded.isEmpty() ? "" : " not excluded") + ", " + routable + ", was " + k);
      }
      return new NoisyTopKGate(this);
    }
  }
}
