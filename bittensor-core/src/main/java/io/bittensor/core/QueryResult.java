package io.bittensor.core;

import java.time.Duration;
import java.util.Objects;

/**
 * One peer's part of a {@link FanOut} query: the peer's result, the tensor that counts for it
 * (its answer, or zeros of the standard shape when it failed) and how long it took.
 *
 * <pre>{@code
 * for (QueryResult r : fanOut.query(peers, request, Duration.ofMillis(500)).join()) {
 *   System.out.println(r.status() + " in " + r.latency().toMillis() + " ms");
 *   joined.add(r.output());   // zeros for a failed peer
 * }
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 *
 * @param peer the peer asked
 * @param result what it answered, or why it did not
 * @param output its answer on success, otherwise an all-zero tensor of the standard shape
 * @param latency from the start of the query to this peer's result; at most about the timeout
 */
public record QueryResult(Peer peer, ForwardResult result, Tensor output, Duration latency) {
  /** Refuses nulls. */
  public QueryResult {
    Objects.requireNonNull(peer, "peer");
    Objects.requireNonNull(result, "result");
    Objects.requireNonNull(output, "output");
    Objects.requireNonNull(latency, "latency");
  }

  /** The peer's status. */
  public Status status() {
    return result.status();
  }

  /** True when the peer answered within the standard. */
  public boolean isSuccess() {
    return result.isSuccess();
  }
}
