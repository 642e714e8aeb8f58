package io.bittensor.learning;

/**
 * The arithmetic of the trainable layers and losses, as allocation-free static operations on
 * flat row-major {@code float} arrays: a batch of {@code rows} rows of {@code cols} features is
 * {@code x[r * cols + c]}. Sums run in {@code double}. {@link TrainableMlp}, {@link NoisyTopKGate}
 * and {@link MlpDistiller} are built on these; research code may call them directly.
 *
 * <pre>{@code
 * float[] y = new float[rows * out];
 * NnOps.denseForward(x, rows, in, w, b, out, y);                   // y = x W + b
 * float[] dy = new float[rows * out];
 * double loss = NnOps.softmaxCrossEntropy(y, rows, out, labels, dy);
 * NnOps.denseBackward(x, rows, in, w, out, dy, dw, db, null);      // dw += x^T dy, db += sum dy
 * }</pre>
 *
 * <p>Conventions: outputs are overwritten, gradients named {@code dw}, {@code db} are accumulated
 * into (callers zero them between steps), and inputs are not modified. Losses are means over the
 * rows and write the gradient of that mean. Sizes are trusted: callers check shapes at their
 * boundary. Stateless and thread-safe.
 */
public final class NnOps {
  private NnOps() {}

  /**
   * {@code y = x W + b}: x {@code [rows][in]}, W {@code [in][out]}, b {@code [out]}, y {@code
   * [rows][out]}. Zero inputs (blank pixels) are skipped.
   */
  public static void denseForward(
      float[] x, int rows, int in, float[] w, float[] b, int out, float[] y) {
    for (int r = 0; r < rows; r++) {
      int yo = r * out;
      System.arraycopy(b, 0, y, yo, out);
      int xo = r * in;
      for (int i = 0; i < in; i++) {
        float xv = x[xo + i];
        if (xv == 0f) {
          continue;
        }
        int wo = i * out;
        for (int j = 0; j < out; j++) {
          y[yo + j] += xv * w[wo + j];
        }
      }
    }
  }

  /**
   * The gradients of {@link #denseForward}: {@code dw += x^T dy}, {@code db += sum_rows dy}, and
   * {@code dx = dy W^T} (overwritten) when {@code dx} is not null.
   */
  public static void denseBackward(float[] x, int rows, int in, float[] w, int out, float[] dy,
      float[] dw, float[] db, float[] dx) {
    for (int r = 0; r < rows; r++) {
      int yo = r * out;
      for (int j = 0; j < out; j++) {
        db[j] += dy[yo + j];
      }
      int xo = r * in;
      for (int i = 0; i < in; i++) {
        float xv = x[xo + i];
        int wo = i * out;
        if (xv != 0f) {
          for (int j = 0; j < out; j++) {
            dw[wo + j] += xv * dy[yo + j];
          }
        }
        if (dx != null) {
          double s = 0;
          for (int j = 0; j < out; j++) {
            s += w[wo + j] * dy[yo + j];
          }
          dx[xo + i] = (float) s;
        }
      }
    }
  }

  /** {@code y = max(0, x)} over the first {@code n} elements. */
  public static void relu(float[] x, int n, float[] y) {
    for (int i = 0; i < n; i++) {
      y[i] = Math.max(0f, x[i]);
    }
  }

  /** {@code dx = dy} where the ReLU's output {@code y > 0}, else 0. */
  public static void reluBackward(float[] y, float[] dy, int n, float[] dx) {
    for (int i = 0; i < n; i++) {
      dx[i] = y[i] > 0f ? dy[i] : 0f;
    }
  }

  /** {@code y = tanh(x)} over the first {@code n} elements. */
  public static void tanh(float[] x, int n, float[] y) {
    for (int i = 0; i < n; i++) {
      y[i] = (float) Math.tanh(x[i]);
    }
  }

  /** {@code dx = dy (1 - y^2)}, from tanh's output {@code y}. */
  public static void tanhBackward(float[] y, float[] dy, int n, float[] dx) {
    for (int i = 0; i < n; i++) {
      dx[i] = dy[i] * (1f - y[i] * y[i]);
    }
  }

  /** The softmax of each row, shifted by the row's maximum for stability. */
  public static void softmaxRows(float[] x, int rows, int cols, float[] y) {
    for (int r = 0; r < rows; r++) {
      int o = r * cols;
      float max = Float.NEGATIVE_INFINITY;
      for (int c = 0; c < cols; c++) {
        max = Math.max(max, x[o + c]);
      }
      double sum = 0;
      for (int c = 0; c < cols; c++) {
        double e = Math.exp(x[o + c] - max);
        y[o + c] = (float) e;
        sum += e;
      }
      for (int c = 0; c < cols; c++) {
        y[o + c] = (float) (y[o + c] / sum);
      }
    }
  }

  /** The softmax's vector-Jacobian product: {@code dx = y (dy - sum(y dy))} per row. */
  public static void softmaxBackward(float[] y, float[] dy, int rows, int cols, float[] dx) {
    for (int r = 0; r < rows; r++) {
      int o = r * cols;
      double dot = 0;
      for (int c = 0; c < cols; c++) {
        dot += (double) y[o + c] * dy[o + c];
      }
      for (int c = 0; c < cols; c++) {
        dx[o + c] = (float) (y[o + c] * (dy[o + c] - dot));
      }
    }
  }

  /**
   * The mean cross-entropy of the softmax of {@code logits} against class {@code labels}, and its
   * gradient {@code (softmax - onehot) / rows} into {@code dLogits} when not null.
   *
   * @param labels one class per row, {@code 0 <= label < cols}
   */
  public static double softmaxCrossEntropy(
      float[] logits, int rows, int cols, int[] labels, float[] dLogits) {
    double total = 0;
    for (int r = 0; r < rows; r++) {
      int o = r * cols;
      double logZ = logSumExp(logits, o, cols);
      total += logZ - logits[o + labels[r]];
      if (dLogits != null) {
        for (int c = 0; c < cols; c++) {
          double p = Math.exp(logits[o + c] - logZ);
          dLogits[o + c] = (float) ((p - (c == labels[r] ? 1 : 0)) / rows);
        }
      }
    }
    return total / rows;
  }

  /**
   * Each row's cross-entropy of the softmax of {@code logits} against its class, into {@code
   * losses} (overwritten); their mean is {@link #softmaxCrossEntropy}.
   *
   * @param labels one class per row, {@code 0 <= label < cols}
   * @param losses {@code rows} entries
   */
  public static void softmaxCrossEntropyRows(
      float[] logits, int rows, int cols, int[] labels, double[] losses) {
    for (int r = 0; r < rows; r++) {
      int o = r * cols;
      losses[r] = logSumExp(logits, o, cols) - logits[o + labels[r]];
    }
  }

  /**
   * The mean {@code KL(target || softmax(logits))} per row, and its gradient {@code (q sum(t) - t)
   * / rows} into {@code dLogits} when not null. Target rows are non-negative; a row that sums to 1
   * is a distribution, and the gradient is then {@code (q - t) / rows}.
   */
  public static double softmaxKl(
      float[] logits, float[] target, int rows, int cols, float[] dLogits) {
    double total = 0;
    for (int r = 0; r < rows; r++) {
      int o = r * cols;
      double logZ = logSumExp(logits, o, cols);
      double mass = 0;
      for (int c = 0; c < cols; c++) {
        double t = target[o + c];
        mass += t;
        if (t > 0) {
          total += t * (Math.log(t) - (logits[o + c] - logZ));
        }
      }
      if (dLogits != null) {
        for (int c = 0; c < cols; c++) {
          double q = Math.exp(logits[o + c] - logZ);
          dLogits[o + c] = (float) ((q * mass - target[o + c]) / rows);
        }
      }
    }
    return total / rows;
  }

  /**
   * The mean squared error over all {@code rows * cols} elements, and its gradient {@code 2 (p -
   * t) / (rows cols)} into {@code dPred} when not null.
   */
  public static double meanSquaredError(
      float[] pred, float[] target, int rows, int cols, float[] dPred) {
    int n = rows * cols;
    double total = 0;
    for (int i = 0; i < n; i++) {
      double d = (double) pred[i] - target[i];
      total += d * d;
      if (dPred != null) {
        dPred[i] = (float) (2 * d / n);
      }
    }
    return total / n;
  }

  /**
   * The mean of {@code 1 - cos(p, t)} over the rows, and its gradient into {@code dPred} when not
   * null. A zero row (either side) counts as cosine 0, with zero gradient.
   */
  public static double cosineDistance(
      float[] pred, float[] target, int rows, int cols, float[] dPred) {
    double total = 0;
    for (int r = 0; r < rows; r++) {
      int o = r * cols;
      double pp = 0;
      double tt = 0;
      double pt = 0;
      for (int c = 0; c < cols; c++) {
        pp += (double) pred[o + c] * pred[o + c];
        tt += (double) target[o + c] * target[o + c];
        pt += (double) pred[o + c] * target[o + c];
      }
      double np = Math.sqrt(pp);
      double nt = Math.sqrt(tt);
      boolean zero = np == 0 || nt == 0;
      double cos = zero ? 0 : pt / (np * nt);
      total += 1 - cos;
      if (dPred != null) {
        for (int c = 0; c < cols; c++) {
          // d(1 - cos)/dp = -(t / (|p||t|) - cos p / |p|^2)
          dPred[o + c] = zero ? 0f
              : (float) (-(target[o + c] / (np * nt) - cos * pred[o + c] / pp) / rows);
        }
      }
    }
    return total / rows;
  }

  /** The index of the largest value in row {@code r} (the first on ties). */
  public static int argmax(float[] x, int r, int cols) {
    int o = r * cols;
    int best = 0;
    for (int c = 1; c < cols; c++) {
      if (x[o + c] > x[o + best]) {
        best = c;
      }
    }
    return best;
  }

  /** {@code log(1 + e^x)}, without overflow. */
  public static double softplus(double x) {
    return x > 30 ? x : x < -30 ? Math.exp(x) : Math.log1p(Math.exp(x));
  }

  /** The logistic sigmoid, the derivative of {@link #softplus}. */
  public static double sigmoid(double x) {
    return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
  }

  /**
   * The standard normal distribution function {@code Phi(z)}, from a Chebyshev-fitted
   * approximation of {@code erfc} (the one Numerical Recipes calls {@code erfcc}; relative error
   * below 1.2e-7).
   */
  public static double normalCdf(double z) {
    double x = -z / Math.sqrt(2);
    double ax = Math.abs(x);
    double t = 1 / (1 + 0.5 * ax);
    double erfc = t * Math.exp(-ax * ax - 1.26551223 + t * (1.00002368 + t * (0.37409196
        + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398
        + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
    double erfcX = x >= 0 ? erfc : 2 - erfc;
    return 0.5 * erfcX;
  }

  /** The standard normal density {@code phi(z)}. */
  public static double normalPdf(double z) {
    return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
  }

  /** {@code log sum_c e^x[o + c]} over {@code n} entries, shifted by their maximum. */
  static double logSumExp(float[] x, int o, int n) {
    float max = Float.NEGATIVE_INFINITY;
    for (int c = 0; c < n; c++) {
      max = Math.max(max, x[o + c]);
    }
    double sum = 0;
    for (int c = 0; c < n; c++) {
      sum += Math.exp(x[o + c] - max);
    }
    return max + Math.log(sum);
  }
}
