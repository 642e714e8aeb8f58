package io.bittensor.core;

import java.util.concurrent.CompletableFuture;

/**
 * A model in the market: it answers batches of inputs with tensors of the standard shape, and
 * may learn from the gradients its callers send back. Local models implement it; transports
 * turn a remote endpoint into one.
 *
 * <pre>{@code
 * Peer echo = new Peer() {
 *   public CompletableFuture<ForwardResult> forward(ForwardRequest r) {
 *     Tensor y = TensorStandard.of(64).zeros(r.input());
 *     return CompletableFuture.completedFuture(ForwardResult.success(y));
 *   }
 * };
 * ForwardResult r = echo.forward(new ForwardRequest(Modality.TENSOR, x)).join();
 * }</pre>
 *
 * <p>Contract: the returned futures complete normally with a result whose {@link Status} says
 * what happened; failures with a status (timeouts, unreachable peers, bad input) are results,
 * not exceptional completions. A future may complete on any thread (a transport's I/O thread,
 * the model's worker); dependent stages that block should use an executor of their own.
 * Cancelling a returned future asks the peer to abandon the call where it can.
 *
 * <p>Thread-safety: implementations must accept concurrent calls from many threads.
 */
public interface Peer {
  /**
   * Answers a batch with a {@code [batch, sequence, outputDim]} float32 tensor.
   *
   * @param request the batch; not modified
   * @return the answer or the reason there is none; never completes exceptionally by contract
   */
  CompletableFuture<ForwardResult> forward(ForwardRequest request);

  /**
   * Takes the loss gradient for an earlier answer. The default answers
   * {@link Status#NOT_IMPLEMENTED}: a peer that does not learn needs nothing more.
   *
   * @param request the original input and the gradient; not modified
   * @return the acknowledgement; never completes exceptionally by contract
   */
  default CompletableFuture<BackwardResult> backward(BackwardRequest request) {
    return CompletableFuture.completedFuture(
        BackwardResult.failure(Status.NOT_IMPLEMENTED, "this peer does not learn from gradients"));
  }
}
