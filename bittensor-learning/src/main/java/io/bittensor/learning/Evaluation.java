package io.bittensor.learning;

import io.bittensor.core.Experimental;

/**
 * How a {@link Learner} did on labelled data it did not train on.
 *
 * <pre>{@code
 * Evaluation e = learner.evaluate(request, labels);
 * System.out.printf("%.1f%% correct, %d bytes received%n", 100 * e.accuracy(), e.bytesReceived());
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 *
 * @param loss mean cross-entropy
 * @param correct rows whose highest logit was the label
 * @param rows rows evaluated
 * @param bytesReceived answer bytes received from peers (0 offline)
 * @param bytesSent input bytes sent to peers (0 offline)
 * @param studentRows rows the student answered in place of the network (no peer answered them,
 *     or the evaluation was offline)
 * @param fallbackRows rows the gate's fallback answered in, in a failed peer's slot ({@link
 *     NoisyTopKGate.Builder#fallback})
 */
@Experimental
public record Evaluation(double loss, int correct, int rows, long bytesReceived, long bytesSent,
    int studentRows, int fallbackRows) {
  /** An evaluation in which no fallback answered. */
  public Evaluation(double loss, int correct, int rows, long bytesReceived, long bytesSent,
      int studentRows) {
    this(loss, correct, rows, bytesReceived, bytesSent, studentRows, 0);
  }

  /** {@code correct / rows}. */
  public double accuracy() {
    return rows == 0 ? 0 : correct / (double) rows;
  }

  /**
   * The sum of two evaluations, as over their data together.
   *
   * @throws ArithmeticException if together they hold more rows than an {@code int} counts
   */
  public Evaluation plus(Evaluation o) {
    long sum = (long) rows + o.rows;
    if (sum > Integer.MAX_VALUE) {
      throw new ArithmeticException("the sum would hold " + sum + " rows, more than "
          + Integer.MAX_VALUE + " rows: sum the losses and counts as longs instead");
    }
    int total = (int) sum;
    double l = total == 0 ? 0 : (loss * rows + o.loss * o.rows) / total;
    return new Evaluation(l, correct + o.correct, total, bytesReceived + o.bytesReceived,
        bytesSent + o.bytesSent, studentRows + o.studentRows, fallbackRows + o.fallbackRows);
  }
}
