package io.bittensor.core;

import java.util.Objects;

/**
 * A gate's fallback in one gated batch: the peer asked, with the rows where a routed peer failed,
 * to answer in the failed peer's place (for example the neuron's distilled student, {@link
 * Distiller#asPeer()}). Its answer joins each such row with the gates the failed peers would have
 * had, rather than the gate renormalising over the peers that answered.
 *
 * <pre>{@code
 * Gated gated = ...;                              // a gate's answer
 * FallbackCall f = gated.fallback();              // null: no routed peer failed, or no fallback
 * if (f != null && f.isSuccess()) {
 *   float share = f.shares()[0];                  // of the join of row f.rows()[0]
 * }
 * }</pre>
 *
 * <p>Immutable and thread-safe: the arrays are copied in and out.
 *
 * @param rows the batch rows the fallback was asked for, ascending, each once however many of its
 *     routed peers failed; its input and answer hold them in this order
 * @param shares for each of those rows, the share of the join its answer holds: the summed gates
 *     of that row's routed peers that failed; all 0 when the fallback failed too (the gate then
 *     renormalises over the peers that answered, as without a fallback)
 * @param input the sub-batch sent, {@code [rows.length, sequence, ...]}
 * @param result its answer, or why there is none
 */
public record FallbackCall(int[] rows, float[] shares, Tensor input, QueryResult result) {
  /**
   * Checks the values; copies the arrays.
   *
   * @throws IllegalArgumentException if the rows do not ascend, each once, from 0, or the shares
   *     or input do not match them
   */
  public FallbackCall {
    rows = PeerCall.checkRows(rows); // copied first: checked as kept
    shares = Objects.requireNonNull(shares, "shares").clone();
    Objects.requireNonNull(input, "input");
    Objects.requireNonNull(result, "result");
    if (rows.length == 0 || rows.length != shares.length || input.rank() < 1
        || input.dim(0) != rows.length) {
      throw new IllegalArgumentException("a fallback call holds at least one row, a share and an"
          + " input row per row: " + rows.length + " rows, " + shares.length + " shares, input "
          + input);
    }
    for (float s : shares) {
      if (!(s >= 0 && s <= 1)) {
        throw new IllegalArgumentException("shares must be in [0, 1], was " + s);
      }
    }
  }

  /** A copy of the rows. */
  @Override
  public int[] rows() {
    return rows.clone();
  }

  /** A copy of the shares. */
  @Override
  public float[] shares() {
    return shares.clone();
  }

  /** True when the fallback answered within the standard. */
  public boolean isSuccess() {
    return result.isSuccess();
  }

  /** The answer's payload in bytes; 0 when the fallback failed. */
  public long bytesReceived() {
    return result.isSuccess() ? result.output().byteSize() : 0;
  }

  /** The input's payload in bytes. */
  public long bytesSent() {
    return input.byteSize();
  }
}
