package io.bittensor.core;

import java.util.List;
import java.util.Objects;

/**
 * What a {@link GatingLayer} did for one batch: the joined answer {@code G(x)}, the peers each
 * example was routed to with their final gate values, and each peer's call.
 *
 * <pre>{@code
 * Gated g = gate.forwardAndWait(request, context, false, Duration.ofMillis(500));
 * Tensor joined = g.output();                      // [batch, sequence, outputDim]
 * int[] peersOfFirst = g.selected()[0];            // its k peers
 * g.failed().forEach(c -> log(c.peer() + " " + c.status()));
 * long bytes = g.bytesReceived();
 * }</pre>
 *
 * <p>Immutable and thread-safe: the arrays are copied in and out.
 *
 * @param output {@code G(x)}, FLOAT32 {@code [batch, sequence, outputDim]}; zeros for an example
 *     none of whose peers answered
 * @param selected for each example, the indices of the peers it was routed to, best first
 * @param gates for each example, the gate value of each selected peer after masking failed peers
 *     and renormalising (0 for a peer that failed); each row sums to 1, or to 0 when no peer
 *     answered
 * @param calls one per peer asked, in peer order; peers no example picked are absent
 */
public record Gated(Tensor output, int[][] selected, float[][] gates, List<PeerCall> calls) {
  /** Checks the shapes agree; copies the arrays. */
  public Gated {
    Objects.requireNonNull(output, "output");
    Objects.requireNonNull(calls, "calls");
    if (selected.length != gates.length || output.rank() < 1 || output.dim(0) != selected.length) {
      throw new IllegalArgumentException("selected (" + selected.length + ") and gates ("
          + gates.length + ") need a row per example of the output " + output);
    }
    selected = copy(selected);
    float[][] g = new float[gates.length][];
    for (int b = 0; b < gates.length; b++) {
      if (gates[b].length != selected[b].length) {
        throw new IllegalArgumentException("example " + b + " has " + selected[b].length
            + " selected peers but " + gates[b].length + " gate values");
      }
      g[b] = gates[b].clone();
    }
    gates = g;
    calls = List.copyOf(calls);
  }

  /** A copy of the selections. */
  @Override
  public int[][] selected() {
    return copy(selected);
  }

  /** A copy of the gate values. */
  @Override
  public float[][] gates() {
    float[][] g = new float[gates.length][];
    for (int b = 0; b < g.length; b++) {
      g[b] = gates[b].clone();
    }
    return g;
  }

  /** The calls whose peer failed (timed out, unreachable, a bad answer...). */
  public List<PeerCall> failed() {
    return calls.stream().filter(c -> !c.isSuccess()).toList();
  }

  /** The bytes of answer tensors received: the payload of every successful call. */
  public long bytesReceived() {
    return PeerCall.bytesReceived(calls);
  }

  /** The bytes of input tensors sent: each peer's rows, once per peer asked. */
  public long bytesSent() {
    return PeerCall.bytesSent(calls);
  }

  private static int[][] copy(int[][] a) {
    int[][] c = new int[a.length][];
    for (int i = 0; i < a.length; i++) {
      c[i] = a[i].clone();
    }
    return c;
  }
}
