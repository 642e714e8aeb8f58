package io.bittensor.core;

import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * A student model that learns to mimic the network's joined answer {@code G(x)} from the
 * neuron's own input alone (paper, section 8), so that the neuron can answer when its peers are
 * offline and others can query it one hop deep: the student answers in place of the network.
 *
 * <pre>{@code
 * // e.g. bittensor-learning's MlpDistiller:
 * Distiller student = ...;
 * ForwardRequest request = ...;
 * Gated g = gate.forwardAndWait(request, context, false, timeout);
 * double loss = student.fit(request.input(), g.output());    // one step towards G(x)
 * Tensor offline = student.predict(request.input());         // no network at all
 * Peer standIn = student.asPeer();                           // serve it with any transport
 * }</pre>
 *
 * <p>Thread-safety: implementations need not be thread-safe while training ({@link #fit});
 * {@link #predict} and {@link #asPeer()} may be called from many threads once training stops.
 */
public interface Distiller {
  /** What the student's answers are compared with {@code G(x)} by. */
  enum Objective {
    /**
     * {@code KL(G(x) || student(x))}: for answers that are distributions (each row of
     * {@code G(x)} non-negative, summing to 1); the student ends in a softmax.
     */
    KL,
    /** Mean squared error per element: for embeddings whose scale matters. */
    MSE,
    /** {@code 1 - cosine(G(x), student(x))} per row: for embeddings whose direction matters. */
    COSINE
  }

  /** The objective the student is trained with. */
  Objective objective();

  /** The modality of the inputs the student takes (the neuron's own). */
  Modality modality();

  /** The size of the student's answers' last dimension: the network's {@code outputDim}. */
  int outputDim();

  /**
   * One training step on a batch towards the network's answers.
   *
   * @param input the neuron's inputs, as sent to the network; not modified
   * @param target {@code G(x)} for those inputs, FLOAT32 {@code [batch, sequence, outputDim]};
   *     not modified
   * @return the objective's mean over the batch before the step
   * @throws IllegalArgumentException if the shapes do not fit the student
   */
  double fit(Tensor input, Tensor target);

  /**
   * The student's answer.
   *
   * @param input the neuron's inputs; not modified
   * @return FLOAT32 {@code [batch, sequence, outputDim]}
   * @throws IllegalArgumentException if the input does not fit the student
   */
  Tensor predict(Tensor input);

  /**
   * The student as a peer that answers with no network at all: queries to it go no deeper. Bad
   * input is answered with a status, as servers do.
   */
  default Peer asPeer() {
    Distiller self = this;
    TensorStandard standard = TensorStandard.of(outputDim());
    return new Peer() {
      @Override
      public CompletableFuture<ForwardResult> forward(ForwardRequest request) {
        Objects.requireNonNull(request, "request");
        if (request.modality() != self.modality()) {
          return CompletableFuture.completedFuture(ForwardResult.rejected(new Rejection(
              Status.UNKNOWN_MODALITY, "modality",
              "this student takes " + self.modality() + ", was " + request.modality())));
        }
        var bad = standard.checkInput(request.modality(), request.input());
        if (bad.isPresent()) {
          return CompletableFuture.completedFuture(ForwardResult.rejected(bad.get()));
        }
        try {
          return CompletableFuture.completedFuture(
              ForwardResult.success(self.predict(request.input())));
        } catch (IllegalArgumentException e) {
          return CompletableFuture.completedFuture(ForwardResult.rejected(
              new Rejection(Status.BAD_SHAPE, "input.shape", e.getMessage())));
        }
      }

      @Override
      public String toString() {
        return "student " + self;
      }
    };
  }
}
