package io.bittensor.neuron;

import io.bittensor.core.Experimental;
import io.bittensor.core.ForwardRequest;
import java.util.Objects;

/**
 * A batch of a neuron's own data: what it sends to its peers, and the class of each example and
 * sequence position, row-major.
 *
 * <pre>{@code
 * Tensor ids = Tensor.ofLongs(new long[] {101, 2023}, 1, 2);   // one sequence of two tokens
 * LabelledBatch b = new LabelledBatch(new ForwardRequest(Modality.TEXT, ids), new int[] {0, 3});
 * }</pre>
 *
 * <p>Immutable apart from the arrays it holds (not copied: batches are large and passed along
 * once). Thread-safe if nobody writes to them.
 *
 * @param request the batch as the peers receive it
 * @param labels one class per example and position, {@code batch * sequence} of them
 */
@Experimental
public record LabelledBatch(ForwardRequest request, int[] labels) {
  /**
   * Checks that the labels count the request's rows.
   *
   * @throws IllegalArgumentException if {@code labels.length != batch * sequence}
   */
  public LabelledBatch {
    Objects.requireNonNull(request, "request");
    Objects.requireNonNull(labels, "labels");
    // In long: two dimensions of 65536 wrap to 0 in int, and an empty array would match.
    long rows = (long) request.input().dim(0) * request.input().dim(1);
    if (labels.length != rows) {
      throw new IllegalArgumentException("labels must hold one class per example and position ("
          + rows + "), had " + labels.length);
    }
  }
}
