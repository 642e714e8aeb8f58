package io.bittensor.core;

import java.util.List;
import java.util.Objects;

/**
 * What a {@link GatingLayer} did for one batch: the joined answer {@code G(x)}, the peers each
 * example was routed to with their final gate values, each peer's call, and the fallback's call
 * where a gate has one and a routed peer failed.
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
 * @param gates for each example, the share of the join held by each selected peer's own answer:
 *     its gate after masking the peers that failed (0 for a peer that failed) and renormalising
 *     over those that answered, or, where a fallback answered in the failed peers' place, its gate
 *     among all the selected peers; each row sums to 1 less the row's {@linkplain #fallbackShares
 *     fallback share}, or to 0 when nothing answered
 * @param calls one per peer asked, in peer order; peers no example picked are absent
 * @param fallback the fallback asked in place of the routed peers that failed; null when the gate
 *     has none or no routed peer failed
 */
public record Gated(Tensor output, int[][] selected, float[][] gates, List<PeerCall> calls,
    FallbackCall fallback) {
  /**
   * Checks the shapes agree; copies the arrays.
   *
   * @throws IllegalArgumentException if they do not, or a call or the fallback holds a row past
   *     the batch
   */
  public Gated {
    Objects.requireNonNull(output, "output");
    Objects.requireNonNull(calls, "calls");
    for (PeerCall c : calls) {
      int[] rows = c.rows(); // ascending: the last is the largest
      if (rows[rows.length - 1] >= selected.length) {
        throw new IllegalArgumentException("the call to peer " + c.peer() + " holds row "
            + rows[rows.length - 1] + " of a batch of " + selected.length);
      }
    }
    if (fallback != null) {
      for (int b : fallback.rows()) {
        if (b < 0 || b >= selected.length) {
          throw new IllegalArgumentException("the fallback holds row " + b + " of a batch of "
              + selected.length);
        }
      }
    }
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

  /** A batch no fallback answered in: the gate renormalised over the peers that answered. */
  public Gated(Tensor output, int[][] selected, float[][] gates, List<PeerCall> calls) {
    this(output, selected, gates, calls, null);
  }

  /**
   * For each example, the share of its join held by the fallback's answer (0 where it was not
   * asked, or failed too).
   *
   * @return a new array, one entry per example
   */
  public float[] fallbackShares() {
    float[] out = new float[selected.length];
    if (fallback != null) {
      int[] rows = fallback.rows();
      float[] shares = fallback.shares();
      for (int i = 0; i < rows.length; i++) {
        out[rows[i]] = shares[i];
      }
    }
    return out;
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
