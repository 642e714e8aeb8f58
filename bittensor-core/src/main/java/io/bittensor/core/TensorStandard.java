package io.bittensor.core;

import java.util.Arrays;
import java.util.Optional;

/**
 * The network's tensor standard (paper, section 6): every answer is a float32
 * {@code [batch, sequence, outputDim]} tensor whose batch and sequence are the input's first two
 * dimensions, and {@code outputDim} is a network-wide parameter. Inputs follow the layouts of
 * {@link Modality}.
 *
 * <pre>{@code
 * TensorStandard std = TensorStandard.of(512);
 * Tensor ids = Tensor.ofLongs(new long[] {101, 2023, 102}, 1, 3);
 * std.checkInput(Modality.TEXT, ids).ifPresent(r -> {
 *   throw new IllegalArgumentException(r.toString());
 * });
 * int[] shape = std.outputShape(ids);                 // [batch, sequence, 512]
 * Tensor standIn = std.zeros(ids);                    // what a failed peer counts as
 * }</pre>
 *
 * <p>The checks return a {@link Rejection} rather than throwing, because servers meet bad input
 * as a matter of course and answer it with a status.
 *
 * <p>Immutable and thread-safe.
 *
 * @param outputDim the size of each answer's last dimension, {@code >= 1}; or 0 to accept any
 *     positive size (for callers that do not know the network's, such as a command-line query)
 */
public record TensorStandard(int outputDim) {
  /** Checks that {@code outputDim >= 0}. */
  public TensorStandard {
    if (outputDim < 0) {
      throw new IllegalArgumentException("outputDim must be >= 0 (0: any), was " + outputDim);
    }
  }

  /**
   * The standard with the given output size.
   *
   * @throws IllegalArgumentException if {@code outputDim < 0}
   */
  public static TensorStandard of(int outputDim) {
    return new TensorStandard(outputDim);
  }

  /** The standard that accepts answers of any positive {@code outputDim}. */
  public static TensorStandard anyOutputDim() {
    return new TensorStandard(0);
  }

  /**
   * The shape of the answer to {@code input}: {@code [input.dim(0), input.dim(1), outputDim]}.
   *
   * @throws IllegalArgumentException if the input's rank is below 2, or {@code outputDim} is 0
   */
  public int[] outputShape(Tensor input) {
    if (input.rank() < 2) {
      throw new IllegalArgumentException(
          "an input has at least [batch, sequence], was " + Arrays.toString(input.shape()));
    }
    if (outputDim == 0) {
      throw new IllegalArgumentException("this standard accepts any outputDim; its shape is open");
    }
    return new int[] {input.dim(0), input.dim(1), outputDim};
  }

  /**
   * An all-zero answer for {@code input}: what a failed or silent peer counts as.
   *
   * @throws IllegalArgumentException as {@link #outputShape}
   */
  public Tensor zeros(Tensor input) {
    return Tensor.zeros(DType.FLOAT32, outputShape(input));
  }

  /**
   * Checks an input against its modality's layout: element type (BAD_REQUEST, field {@code
   * input.dtype}), rank and non-empty dimensions (BAD_SHAPE, {@code input.shape}) and finite
   * values (BAD_REQUEST, {@code input.data}).
   *
   * @param modality the request's modality
   * @param input the batch; not modified
   * @return empty when the input is acceptable
   */
  public Optional<Rejection> checkInput(Modality modality, Tensor input) {
    if (!modality.accepts(input.dtype())) {
      return Optional.of(Rejection.badRequest("input.dtype",
          modality + " takes " + modality.inputTypes() + ", was " + input.dtype()));
    }
    if (input.rank() != modality.inputRank()) {
      return Optional.of(new Rejection(Status.BAD_SHAPE, "input.shape",
          modality + " takes rank " + modality.inputRank() + " [batch, sequence, ...], was "
              + Arrays.toString(input.shape())));
    }
    Optional<Rejection> empty = checkNonEmpty(input, "input.shape");
    if (empty.isPresent()) {
      return empty;
    }
    return checkFinite(input, "input.data", Status.BAD_REQUEST);
  }

  /**
   * Checks an answer: float32 of shape {@code [batch, sequence, outputDim]} for this input
   * (BAD_SHAPE, field {@code output}) with finite values (BAD_RESPONSE, {@code output.data}).
   *
   * @return empty when the answer meets the standard
   */
  public Optional<Rejection> checkOutput(Tensor input, Tensor output) {
    return checkAnswerShaped(input, output, "output", Status.BAD_RESPONSE);
  }

  /**
   * Checks a gradient: float32 of the answer's shape for this input (BAD_SHAPE, field {@code
   * gradient}) with finite values (BAD_REQUEST, {@code gradient.data}).
   *
   * @return empty when the gradient is acceptable
   */
  public Optional<Rejection> checkGradient(Tensor input, Tensor gradient) {
    return checkAnswerShaped(input, gradient, "gradient", Status.BAD_REQUEST);
  }

  private Optional<Rejection> checkAnswerShaped(
      Tensor input, Tensor t, String field, Status nonFinite) {
    if (t.dtype() != DType.FLOAT32) {
      return Optional.of(new Rejection(Status.BAD_SHAPE, field + ".dtype",
          field + " must be FLOAT32, was " + t.dtype()));
    }
    boolean ok = t.rank() == 3
        && input.rank() >= 2
        && t.dim(0) == input.dim(0)
        && t.dim(1) == input.dim(1)
        && (outputDim == 0 ? t.dim(2) > 0 : t.dim(2) == outputDim);
    if (!ok) {
      String expected = input.rank() >= 2
          ? "[" + input.dim(0) + ", " + input.dim(1) + ", "
              + (outputDim == 0 ? "outputDim" : outputDim) + "]"
          : "[batch, sequence, outputDim]";
      String was = field + " must be " + expected + ", was " + Arrays.toString(t.shape());
      if (outputDim > 0 && t.rank() == 3 && input.rank() >= 2 && t.dim(0) == input.dim(0)
          && t.dim(1) == input.dim(1)) {
        // Only the size differs: a peer of another network, or a standard left at another size.
        was += ": its outputDim " + t.dim(2) + " is not the standard's " + outputDim
            + " (TensorStandard.of(" + outputDim + "))";
      }
      return Optional.of(new Rejection(Status.BAD_SHAPE, field + ".shape", was));
    }
    return checkFinite(t, field + ".data", nonFinite);
  }

  private static Optional<Rejection> checkNonEmpty(Tensor t, String field) {
    for (int i = 0; i < t.rank(); i++) {
      if (t.dim(i) == 0) {
        return Optional.of(new Rejection(Status.BAD_SHAPE, field,
            "every dimension must be >= 1, was " + Arrays.toString(t.shape())));
      }
    }
    return Optional.empty();
  }

  private static Optional<Rejection> checkFinite(Tensor t, String field, Status status) {
    int bad = t.firstNonFinite();
    if (bad >= 0) {
      return Optional.of(new Rejection(status, field,
          "element " + bad + " is " + t.floatAt(bad) + "; values must be finite"));
    }
    return Optional.empty();
  }
}
