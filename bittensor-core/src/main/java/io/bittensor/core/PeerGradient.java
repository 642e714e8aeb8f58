package io.bittensor.core;

import java.util.Objects;

/**
 * The loss gradient for one peer's answer in a gated batch, ready to send back to it (paper,
 * section 5, step 4): {@code dLoss/df_j = g_j(x) dLoss/dG} for the rows the peer answered.
 *
 * <pre>{@code
 * GatingLayer gate = ...;   // e.g. bittensor-learning's NoisyTopKGate
 * Gated gated = gate.forwardAndWait(request, context, true, timeout);
 * Tensor dLdG = ...;   // the loss's gradient at G(x)
 * for (PeerGradient pg : gate.backward(gated, dLdG)) {
 *   gate.peers().get(pg.peer()).backward(pg.request(), Duration.ofMillis(500));
 * }
 * }</pre>
 *
 * <p>Immutable and thread-safe: {@code rows} is copied in and out.
 *
 * @param peer the peer's index in {@link GatingLayer#peers()}
 * @param rows the batch rows the gradient covers, as in the peer's {@link PeerCall}
 * @param request the original sub-batch and the gradient of its answer's shape
 */
public record PeerGradient(int peer, int[] rows, BackwardRequest request) {
  /** Checks the values; copies {@code rows}. */
  public PeerGradient {
    Objects.requireNonNull(request, "request");
    if (peer < 0) {
      throw new IllegalArgumentException("peer must be >= 0, was " + peer);
    }
    if (request.gradient().rank() < 1 || request.gradient().dim(0) != rows.length) {
      throw new IllegalArgumentException("the gradient needs one row per routed row: "
          + rows.length + " rows, gradient " + request.gradient());
    }
    rows = rows.clone();
  }

  /** A copy of the rows. */
  @Override
  public int[] rows() {
    return rows.clone();
  }

  /** The gradient, {@code [rows, sequence, outputDim]}. */
  public Tensor gradient() {
    return request.gradient();
  }
}
