package io.bittensor.neuron.internal;

import io.bittensor.core.internal.StateFile;
import java.util.SplittableRandom;

/**
 * One small linear classifier (multinomial logistic regression, L2-regularised, plain SGD) per
 * peer, each trained on that peer's answers alone: how much a peer's answers tell about the
 * neuron's labels, measured on data none of them trained on. Not thread-safe.
 */
public final class Probes {
  /**
   * The largest answer value a probe weighs. The standard's answers are embeddings, about unit
   * length; a value of 1e38 made a step of 1e37 or an infinity, which sane answers never undid.
   */
  public static final float MAX_VALUE = 1e6f;

  private final int dim;
  private final int classes;
  private final double rate;
  private final double l2;
  private final float[][] weights;
  private final float[][] bias;
  private final int[] steps;

  /** {@code peers} probes over {@code dim} features and {@code classes} labels. */
  public Probes(int peers, int dim, int classes, double rate, double l2, long seed) {
    this.dim = dim;
    this.classes = classes;
    this.rate = rate;
    this.l2 = l2;
    this.weights = new float[peers][dim * classes];
    this.bias = new float[peers][classes];
    this.steps = new int[peers];
    SplittableRandom random = new SplittableRandom(seed);
    for (float[] w : weights) {
      for (int i = 0; i < w.length; i++) {
        w[i] = (float) (random.nextGaussian() * 0.01);
      }
    }
  }

  /** How many SGD steps peer {@code p}'s probe has taken. */
  public int steps(int p) {
    return steps[p];
  }

  /**
   * Takes over what peer {@code from} of {@code other} learned as this set's peer {@code to}:
   * when the routed peers change, the peers that stay keep their probes.
   *
   * @throws IllegalArgumentException if the probes differ in size
   */
  public void copyPeer(Probes other, int from, int to) {
    if (other.dim != dim || other.classes != classes) {
      throw new IllegalArgumentException("probes over " + other.dim + " -> " + other.classes
          + " cannot seed probes over " + dim + " -> " + classes);
    }
    System.arraycopy(other.weights[from], 0, weights[to], 0, weights[to].length);
    System.arraycopy(other.bias[from], 0, bias[to], 0, classes);
    steps[to] = other.steps[from];
  }

  /** Writes peer {@code p}'s probe under {@code prefix}. */
  public void save(StateFile.Writer w, String prefix, int p) {
    w.floats(prefix + "weights", weights[p]);
    w.floats(prefix + "bias", bias[p]);
    w.longs(prefix + "steps", steps[p]);
  }

  /** Stages reading what {@link #save} wrote into peer {@code p}'s probe. */
  public void restore(StateFile.Reader r, String prefix, int p) {
    r.floats(prefix + "weights", weights[p]);
    r.floats(prefix + "bias", bias[p]);
    long n = r.longs(prefix + "steps", 1)[0];
    if (n < 0 || n > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("the checkpoint's " + prefix + "steps is " + n);
    }
    r.then(() -> steps[p] = (int) n);
  }

  /**
   * Whether a probe can weigh the first {@code rows} rows of {@code x}: each value finite and
   * within {@link #MAX_VALUE}.
   */
  public boolean usable(float[] x, int rows) {
    for (int i = 0; i < rows * dim; i++) {
      if (!(Math.abs(x[i]) <= MAX_VALUE)) {
        return false;
      }
    }
    return true;
  }

  /**
   * One SGD step of peer {@code p}'s probe on {@code rows} feature rows; none on rows it cannot
   * weigh ({@link #usable}), which would leave it unable to learn from sane ones.
   *
   * @return the mean cross-entropy before the step; NaN, and no step, for rows not usable
   */
  public double train(int p, float[] x, int rows, int[] labels) {
    if (!usable(x, rows)) {
      return Double.NaN;
    }
    float[] w = weights[p];
    float[] b = bias[p];
    float[] gw = new float[w.length];
    float[] gb = new float[classes];
    double[] prob = new double[classes];
    double loss = 0;
    for (int r = 0; r < rows; r++) {
      loss += softmax(p, x, r, labels[r], prob);
      prob[labels[r]] -= 1;
      for (int c = 0; c < classes; c++) {
        float g = (float) prob[c];
        gb[c] += g;
        for (int j = 0; j < dim; j++) {
          gw[c * dim + j] += g * x[r * dim + j];
        }
      }
    }
    float step = (float) (rate / rows);
    for (int i = 0; i < w.length; i++) {
      w[i] -= step * gw[i] + (float) (rate * l2) * w[i];
    }
    for (int c = 0; c < classes; c++) {
      b[c] -= step * gb[c];
    }
    steps[p]++;
    return loss / rows;
  }

  /** The mean cross-entropy of peer {@code p}'s probe on {@code rows} rows; nothing trains. */
  public double loss(int p, float[] x, int rows, int[] labels) {
    double[] prob = new double[classes];
    double loss = 0;
    for (int r = 0; r < rows; r++) {
      loss += softmax(p, x, r, labels[r], prob);
    }
    return loss / rows;
  }

  /** Fills {@code prob} with the softmax of row {@code r}'s logits; returns -log p(label). */
  private double softmax(int p, float[] x, int r, int label, double[] prob) {
    float[] w = weights[p];
    float[] b = bias[p];
    double max = Double.NEGATIVE_INFINITY;
    for (int c = 0; c < classes; c++) {
      double z = b[c];
      for (int j = 0; j < dim; j++) {
        z += w[c * dim + j] * x[r * dim + j];
      }
      prob[c] = z;
      max = Math.max(max, z);
    }
    double sum = 0;
    for (int c = 0; c < classes; c++) {
      prob[c] = Math.exp(prob[c] - max);
      sum += prob[c];
    }
    for (int c = 0; c < classes; c++) {
      prob[c] /= sum;
    }
    return -Math.log(Math.max(prob[label], 1e-12));
  }

  @Override
  public String toString() {
    return "Probes[" + weights.length + " peers, " + dim + " -> " + classes + "]";
  }

}
