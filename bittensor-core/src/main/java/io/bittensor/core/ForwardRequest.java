package io.bittensor.core;

import java.util.Objects;

/**
 * A batch of inputs of one modality, sent to a peer for its answer (paper, section 5, step 2).
 *
 * <pre>{@code
 * Tensor ids = Tensor.ofLongs(new long[] {101, 7592, 102}, 1, 3);   // [batch 1, sequence 3]
 * ForwardRequest req = new ForwardRequest(Modality.TEXT, ids);
 * }</pre>
 *
 * <p>Construction checks only for nulls; whether the input meets the standard is
 * {@link TensorStandard#checkInput}'s question, answered by the peer with a status.
 *
 * <p>Immutable and thread-safe (the tensor is immutable).
 *
 * @param modality what the input is
 * @param input the batch, {@code [batch, sequence, ...]} (see {@link Modality})
 */
public record ForwardRequest(Modality modality, Tensor input) {
  /** Refuses nulls. */
  public ForwardRequest {
    Objects.requireNonNull(modality, "modality");
    Objects.requireNonNull(input, "input");
  }
}
