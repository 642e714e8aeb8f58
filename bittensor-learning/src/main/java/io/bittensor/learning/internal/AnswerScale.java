package io.bittensor.learning.internal;

import io.bittensor.core.QueryResult;
import io.bittensor.core.Tensor;

/**
 * The bound on an answer's scale that a gate applies before it joins answers: each answer
 * vector (one position of one example, {@code dim} values) whose root mean square passes 1 is
 * divided by it. The tensor standard asks only for finite answers, and every gradient a learner
 * computes grows with an answer's size, so without the bound one peer answering {@code +-1e38}
 * would take the head and the weight row. Answers of RMS at most 1 (probabilities, normalised
 * embeddings) are left exactly as they are.
 *
 * <p>Internal: users must not import it.
 */
public final class AnswerScale {
  private AnswerScale() {}

  /**
   * Bounds each {@code dim}-vector of {@code values}, in place.
   *
   * @return each vector's divisor, or null when none passed 1 (and nothing changed)
   */
  public static float[] bound(float[] values, int dim) {
    float[] scales = null;
    int vectors = values.length / dim;
    for (int v = 0; v < vectors; v++) {
      int o = v * dim;
      double squares = 0;
      for (int e = 0; e < dim; e++) {
        squares += (double) values[o + e] * values[o + e]; // in double: 1e38 squared fits
      }
      double rms = Math.sqrt(squares / dim);
      if (rms > 1) {
        if (scales == null) {
          scales = new float[vectors];
          java.util.Arrays.fill(scales, 1f);
        }
        scales[v] = (float) rms;
        for (int e = 0; e < dim; e++) {
          values[o + e] = (float) (values[o + e] / rms);
        }
      }
    }
    return scales;
  }

  /**
   * {@code result} with its answer bounded; itself when it failed or no vector passed 1. The
   * peer's own {@link QueryResult#result()} keeps what it sent.
   */
  public static QueryResult bound(QueryResult result, int dim) {
    if (!result.isSuccess()) {
      return result;
    }
    float[] values = result.output().toFloatArray();
    return bound(values, dim) == null ? result : withAnswer(result, values);
  }

  /** {@code result} with {@code values}, in its answer's shape, as the answer that counts. */
  public static QueryResult withAnswer(QueryResult result, float[] values) {
    return new QueryResult(result.peer(), result.result(),
        Tensor.ofFloats(values, result.output().shape()), result.latency());
  }

  /**
   * Turns the gradient with respect to a bounded vector {@code y = a / r} into the gradient with
   * respect to the answer {@code a}, in place: {@code (g - y (y . g) / dim) / r}. The part along
   * {@code y} goes, since scaling an answer that passes the bound changes nothing the gate joins.
   *
   * @param y the bounded vector (RMS 1), at {@code [o, o + dim)}
   * @param g the gradient, at {@code [go, go + dim)}
   * @param r the divisor the bound used
   */
  public static void backward(float[] y, int o, float[] g, int go, int dim, float r) {
    double along = 0;
    for (int e = 0; e < dim; e++) {
      along += (double) y[o + e] * g[go + e];
    }
    along /= dim;
    for (int e = 0; e < dim; e++) {
      g[go + e] = (float) ((g[go + e] - y[o + e] * along) / r);
    }
  }
}
