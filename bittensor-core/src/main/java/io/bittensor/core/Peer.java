package io.bittensor.core;

import java.time.Duration;
import io.bittensor.core.internal.Deadlines;
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
 * Tensor x = Tensor.ofFloats(new float[] {1, 2}, 1, 1, 2);
 * ForwardResult r = echo.forward(new ForwardRequest(Modality.TENSOR, x)).join();
 * }</pre>
 *
 * <p>Contract: the returned futures complete normally with a result whose {@link Status} says
 * what happened; failures with a status (timeouts, unreachable peers, bad input) are results,
 * not exceptional completions. A future may complete on any thread (a transport's I/O thread,
 * the model's worker); dependent stages that block should use an executor of their own.
 * Cancelling a returned future asks the peer to abandon the call where it can.
 *
 * <p>Served by a transport's server, a peer hears who called: {@link ForwardRequest#caller()}
 * and {@link BackwardRequest#caller()} name the key whose signature the server checked (empty
 * for anonymous calls and in process).
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
   * Answers a batch within {@code timeout}: a call still running then completes with
   * {@link Status#TIMEOUT} and the underlying call is cancelled. Remote peers override this to
   * send the deadline along, so that the server gives up when the caller does.
   *
   * @param request the batch; not modified
   * @param timeout how long to wait; positive
   * @return the answer, or a TIMEOUT result; never completes exceptionally by contract
   * @throws IllegalArgumentException if {@code timeout} is not positive
   */
  default CompletableFuture<ForwardResult> forward(ForwardRequest request, Duration timeout) {
    long ms = Deadlines.millis(timeout);
    return Deadlines.bound(forward(request), ms,
        ForwardResult.failure(Status.TIMEOUT, "no answer within " + ms + " ms"));
  }

  /**
   * Answers a batch within {@code timeout}, waiting on the calling thread: the result {@code
   * forward(request, timeout).join()} gives. For callers that block anyway (a thread per request,
   * a closed loop): transports override it to make the call on the caller's own thread, which
   * saves handing the call to an I/O thread and the answer back.
   *
   * @param request the batch; not modified
   * @param timeout how long to wait; positive
   * @return the answer, or the reason there is none: TIMEOUT when the deadline passed, CANCELLED
   *     when the calling thread was interrupted before the call (nothing is sent) or while it
   *     waited, where the transport can stop the wait (a blocking socket read cannot be: over
   *     HTTP/1.1 the call runs on to its answer or its deadline); the interrupt flag stays set.
   *     Never throws for a failed call
   * @throws IllegalArgumentException if {@code timeout} is not positive
   */
  default ForwardResult forwardAndWait(ForwardRequest request, Duration timeout) {
    Deadlines.millis(timeout);
    return Deadlines.await(() -> forward(request, timeout),
        ForwardResult.failure(Status.CANCELLED, "interrupted while waiting for the answer"));
  }

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

  /**
   * Takes the loss gradient within {@code timeout}, as {@link #forward(ForwardRequest, Duration)}
   * does for answers.
   *
   * @throws IllegalArgumentException if {@code timeout} is not positive
   */
  default CompletableFuture<BackwardResult> backward(BackwardRequest request, Duration timeout) {
    long ms = Deadlines.millis(timeout);
    return Deadlines.bound(backward(request), ms,
        BackwardResult.failure(Status.TIMEOUT, "no acknowledgement within " + ms + " ms"));
  }

  /**
   * Takes the loss gradient within {@code timeout}, waiting on the calling thread, as {@link
   * #forwardAndWait} does for answers.
   *
   * @throws IllegalArgumentException if {@code timeout} is not positive
   */
  default BackwardResult backwardAndWait(BackwardRequest request, Duration timeout) {
    Deadlines.millis(timeout);
    return Deadlines.await(() -> backward(request, timeout),
        BackwardResult.failure(Status.CANCELLED, "interrupted while waiting for the answer"));
  }
}
