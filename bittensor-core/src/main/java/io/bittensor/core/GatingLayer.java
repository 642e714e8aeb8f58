package io.bittensor.core;

import io.bittensor.core.internal.Deadlines;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A trainable sparse gate over a fixed list of peers (paper, section 7): from its own context
 * vector for each example it picks a few peers, asks only those, and joins their answers as
 * {@code G(x) = sum_j g_j(x) f_j(x)}; trained with the neuron's loss, it learns which peers are
 * worth asking, and its accumulated importance is a proxy for the neuron's weight row.
 *
 * <pre>{@code
 * // e.g. bittensor-learning's NoisyTopKGate:
 * GatingLayer gate = ...;
 * ForwardRequest request = ...;
 * Tensor context = ...;                                       // [batch, contextDim]
 * Gated g = gate.forward(request, context, true, Duration.ofMillis(500)).join();
 * Tensor joined = g.output();                                 // [batch, sequence, outputDim]
 * Tensor dLdG = ...;                                          // from the neuron's head
 * for (PeerGradient pg : gate.backward(g, dLdG)) {
 *   gate.peers().get(pg.peer()).backward(pg.request());      // each peer learns from its part
 * }
 * gate.step();                                                // one optimiser step for the gate
 * }</pre>
 *
 * <p>Contract. Every example goes to at most {@link #k()} peers and each peer receives one
 * request holding exactly the rows routed to it, so a peer nobody picked is not asked at all.
 * Peers that fail or time out are masked: the gate renormalises over the peers that answered, and
 * {@link Gated#calls()} says which failed and why. An example none of whose peers answered joins
 * to zeros. A gate may instead have a fallback (a student, say) answer in a failed peer's place
 * with that peer's gate; {@link Gated#fallback()} then says where, and it gets no gradient. Only
 * {@code training} forwards may be passed to {@link #backward}.
 *
 * <p>Thread-safety: implementations hold trainable state and need not be thread-safe; one thread
 * trains a gate. The returned futures may complete on a peer's or a timer's thread.
 */
public interface GatingLayer {
  /** The peers routed over, in order: peer {@code j} in every result is {@code peers().get(j)}. */
  List<Peer> peers();

  /** How many peers each example is sent to, {@code 1 <= k <= peers().size()}. */
  int k();

  /**
   * Routes each example from its context, asks only the chosen peers (in parallel, each once with
   * its rows), and joins the answers.
   *
   * @param request the batch, {@code [batch, sequence, ...]}; not modified
   * @param context the neuron's own view of each example, FLOAT32 {@code [batch, contextDim]};
   *     not modified
   * @param training true: noisy routing, and the result can be passed to {@link #backward} and
   *     counts towards {@link #importance()}; false: deterministic routing for inference
   * @param timeout how long to wait for each peer; positive
   * @return the joined answer and what each peer did; never completes exceptionally
   * @throws IllegalArgumentException if the context does not fit the gate or the batches differ,
   *     or {@code timeout} is not positive
   */
  CompletableFuture<Gated> forward(
      ForwardRequest request, Tensor context, boolean training, Duration timeout);

  /**
   * As {@link #forward}, waiting on this thread.
   *
   * @throws IllegalArgumentException as {@link #forward}
   */
  default Gated forwardAndWait(
      ForwardRequest request, Tensor context, boolean training, Duration timeout) {
    // A safety margin past the per-peer deadlines, should a timer thread be late; saturated, so
    // that a timeout too long to matter does not overflow.
    return forward(request, context, training, timeout)
        .orTimeout(Deadlines.millis(timeout) + 10_000, TimeUnit.MILLISECONDS)
        .join();
  }

  /**
   * Back-propagates the loss gradient with respect to the joined answer: accumulates the gate's
   * own parameter gradients (its balancing losses included) and returns, for each peer that
   * answered, the gradient with respect to its answer, ready to send back to it.
   *
   * @param forward a training result of this gate not yet back-propagated
   * @param gradient {@code dLoss/dG}, FLOAT32 of {@code forward.output()}'s shape; not modified
   * @return one gradient per answering peer, in peer order
   * @throws IllegalArgumentException if {@code forward} is not a pending training result of this
   *     gate, or the gradient's shape differs from the output's
   */
  List<PeerGradient> backward(Gated forward, Tensor gradient);

  /**
   * Asks each example's next choice: the peer, not among those it was routed to, with the highest
   * noiseless gate logit, the one that would step in were one of its routed peers excluded. Each
   * stand-in is asked once, with exactly the rows it stands in for, through the same transport as
   * the forward's peers, so this costs one more answer per example. Nothing trains and nothing is
   * remembered: the forward can still be passed to {@link #backward} as before.
   *
   * <p>The default throws {@link UnsupportedOperationException}: a gate that can rank the peers
   * beyond its top k overrides it.
   *
   * @param forward a training result of this gate for {@code request}, not yet back-propagated;
   *     not modified
   * @param request the batch the forward routed; not modified
   * @param timeout how long to wait for each stand-in; positive
   * @return the stand-ins, their answers and the forward's logits; never completes exceptionally
   * @throws IllegalArgumentException if {@code forward} is not a pending training result of this
   *     gate, the request's batch differs from it, or {@code timeout} is not positive
   * @throws UnsupportedOperationException if this gate cannot name its next choices
   */
  default CompletableFuture<StandIns> askStandIns(
      Gated forward, ForwardRequest request, Duration timeout) {
    throw new UnsupportedOperationException(getClass().getName()
        + " does not name its next choices (askStandIns)");
  }

  /** Applies the accumulated gradients (one optimiser step) and clears them. */
  void step();

  /**
   * The moving average of each peer's share of the gate, over training forwards: non-negative,
   * summing to 1 (uniform before the first training forward). A failed answer counts as no share.
   *
   * @return a new array, one entry per peer
   */
  double[] importance();
}
