package io.bittensor.core;

import java.util.Objects;
import java.util.Optional;

/**
 * The loss gradient for a peer's earlier answer, sent back so that the peer may learn from it
 * (paper, section 5, step 4).
 *
 * <pre>{@code
 * Peer peer = ...;
 * Tensor x = ...;
 * ForwardResult answer = peer.forward(new ForwardRequest(Modality.TENSOR, x)).join();
 * Tensor grad = ...;   // dLoss/dAnswer, the answer's shape
 * peer.backward(new BackwardRequest(Modality.TENSOR, x, grad));
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 *
 * @param modality the modality of the original request
 * @param input the input of the original request, so that a stateless peer can recompute
 * @param gradient {@code [batch, sequence, outputDim]} float32, the shape of the answer
 * @param caller who sent the gradient, as the server that received it proved it (see {@link
 *     ForwardRequest#caller()}); empty for an anonymous request and in process without a server.
 *     A peer that learns can take gradients only from callers it trusts
 */
public record BackwardRequest(Modality modality, Tensor input, Tensor gradient,
    @Experimental Optional<PeerId> caller) {
  /** Refuses nulls. */
  @Experimental
  public BackwardRequest {
    Objects.requireNonNull(modality, "modality");
    Objects.requireNonNull(input, "input");
    Objects.requireNonNull(gradient, "gradient");
    Objects.requireNonNull(caller, "caller");
  }

  /** A request with no caller named: what an application sends. */
  public BackwardRequest(Modality modality, Tensor input, Tensor gradient) {
    this(modality, input, gradient, Optional.empty());
  }
}
