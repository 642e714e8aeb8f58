package io.bittensor.core;

import java.util.Objects;
import java.util.Optional;

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
 * @param caller who sent the request, as the server that received it proved it (the key whose
 *     signature it checked); empty for an anonymous request and for a request made in the same
 *     process without a server. Set by the serving side: a client signs with its own key whatever
 *     this says
 */
public record ForwardRequest(Modality modality, Tensor input,
    @Experimental Optional<PeerId> caller) {
  /** Refuses nulls. */
  @Experimental
  public ForwardRequest {
    Objects.requireNonNull(modality, "modality");
    Objects.requireNonNull(input, "input");
    Objects.requireNonNull(caller, "caller");
  }

  /** A request with no caller named: what an application sends. */
  public ForwardRequest(Modality modality, Tensor input) {
    this(modality, input, Optional.empty());
  }

  /**
   * This request with another input and the same modality and caller: for a peer that passes part
   * of a batch on to another.
   *
   * @param other the input in place of this one
   * @return the new request
   */
  @Experimental
  public ForwardRequest withInput(Tensor other) {
    return new ForwardRequest(modality, other, caller);
  }
}
