package io.bittensor.core;

import java.util.List;
import java.util.Objects;

/**
 * One peer's part of a gated batch: which rows of the batch were routed to it, the input it was
 * sent, and what came back.
 *
 * <pre>{@code
 * Gated gated = ...;                              // a gate's answer
 * for (PeerCall c : gated.calls()) {
 *   System.out.println("peer " + c.peer() + ": " + c.rows().length + " rows, " + c.status()
 *       + " in " + c.result().latency().toMillis() + " ms");
 * }
 * }</pre>
 *
 * <p>Immutable and thread-safe: {@code rows} is copied in and out.
 *
 * @param peer the peer's index in {@link GatingLayer#peers()}
 * @param rows the batch rows routed to it, ascending, each once; its input and answer hold them in
 *     this order
 * @param input the sub-batch sent, {@code [rows.length, sequence, ...]}
 * @param result its answer, or why there is none (zeros of the standard's shape then)
 */
public record PeerCall(int peer, int[] rows, Tensor input, QueryResult result) {
  /**
   * Checks the values; copies {@code rows}.
   *
   * @throws IllegalArgumentException if the rows do not ascend, each once, from 0, or the input
   *     does not hold one row for each
   */
  public PeerCall {
    rows = checkRows(rows); // copied first: checked as kept
    Objects.requireNonNull(input, "input");
    Objects.requireNonNull(result, "result");
    if (peer < 0) {
      throw new IllegalArgumentException("peer must be >= 0, was " + peer);
    }
    if (rows.length == 0 || input.rank() < 1 || input.dim(0) != rows.length) {
      throw new IllegalArgumentException("a call holds at least one row, and its input one row per"
          + " routed row: " + rows.length + " rows, input " + input);
    }
  }

  /**
   * A copy of {@code rows}, checked to ascend, each once, from 0.
   *
   * @throws IllegalArgumentException naming the first row that does not
   */
  static int[] checkRows(int[] rows) {
    int[] copy = Objects.requireNonNull(rows, "rows").clone();
    for (int i = 0; i < copy.length; i++) {
      if (copy[i] < 0 || i > 0 && copy[i] <= copy[i - 1]) {
        throw new IllegalArgumentException("rows must ascend, each once, from 0, but row " + i
            + " is " + copy[i] + (i > 0 ? " after " + copy[i - 1] : ""));
      }
    }
    return copy;
  }

  /** A copy of the routed rows. */
  @Override
  public int[] rows() {
    return rows.clone();
  }

  /** The number of rows routed to the peer. */
  public int rowCount() {
    return rows.length;
  }

  /** The peer's status. */
  public Status status() {
    return result.status();
  }

  /** True when the peer answered within the standard. */
  public boolean isSuccess() {
    return result.isSuccess();
  }

  /** The answer's payload in bytes; 0 when the peer failed. */
  public long bytesReceived() {
    return result.isSuccess() ? result.output().byteSize() : 0;
  }

  /** The input's payload in bytes. */
  public long bytesSent() {
    return input.byteSize();
  }

  /** The answer bytes of all of {@code calls}. */
  static long bytesReceived(List<PeerCall> calls) {
    long n = 0;
    for (PeerCall c : calls) {
      n += c.bytesReceived();
    }
    return n;
  }

  /** The input bytes of all of {@code calls}. */
  static long bytesSent(List<PeerCall> calls) {
    long n = 0;
    for (PeerCall c : calls) {
      n += c.bytesSent();
    }
    return n;
  }
}
