package io.bittensor.learning;

import io.bittensor.core.Experimental;
import java.util.Arrays;

/**
 * The arithmetic of the trainable layers and losses, as allocation-free static operations on
 * flat row-major {@code float} arrays: a batch of {@code rows} rows of {@code cols} features is
 * {@code x[r * cols + c]}. Sums run in {@code double}. {@link TrainableMlp}, {@link NoisyTopKGate}
 * and {@link MlpDistiller} are built on these; research code may call them directly.
 *
 * <pre>{@code
 * int rows = 32, in = 16, out = 10;
 * float[] x = new float[rows * in], w = new float[in * out], b = new float[out];
 * float[] dw = new float[in * out], db = new float[out];
 * int[] labels = new int[rows];
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
 * boundary; class labels are checked. Stateless and thread-safe.
 */
@Experimental
public final class NnOps {
  /** The side of the dense layers' register tiles. */
  private static final int TILE = 4;

  private NnOps() {}

  /**
   * {@code y = x W + b}: x {@code [rows][in]}, W {@code [in][out]}, b {@code [out]}, y {@code
   * [rows][out]}. Zero inputs (blank pixels) contribute nothing and are skipped where a whole
   * tile's are zero.
   *
   * <p>Each output is summed in the order of the inputs, starting from its bias, so the result is
   * the same, bit for bit, as the plain triple loop's. The loops run over tiles of four rows by
   * four outputs whose sixteen sums stay in registers: C2 does not vectorise a loop that reads
   * and writes two arrays at different offsets (they might be one array), and the plain loop
   * then spends three memory operations on each multiply-add.
   */
  public static void denseForward(
      float[] x, int rows, int in, float[] w, float[] b, int out, float[] y) {
    int r = 0;
    for (; r + TILE <= rows; r += TILE) {
      int x0 = r * in;
      int x1 = x0 + in;
      int x2 = x1 + in;
      int x3 = x2 + in;
      int j = 0;
      for (; j + TILE <= out; j += TILE) {
        float a00 = b[j];
        float a01 = b[j + 1];
        float a02 = b[j + 2];
        float a03 = b[j + 3];
        float a10 = a00;
        float a11 = a01;
        float a12 = a02;
        float a13 = a03;
        float a20 = a00;
        float a21 = a01;
        float a22 = a02;
        float a23 = a03;
        float a30 = a00;
        float a31 = a01;
        float a32 = a02;
        float a33 = a03;
        for (int i = 0, wo = j; i < in; i++, wo += out) {
          float v0 = x[x0 + i];
          float v1 = x[x1 + i];
          float v2 = x[x2 + i];
          float v3 = x[x3 + i];
          if (v0 == 0f && v1 == 0f && v2 == 0f && v3 == 0f) {
            continue;
          }
          float w0 = w[wo];
          float w1 = w[wo + 1];
          float w2 = w[wo + 2];
          float w3 = w[wo + 3];
          a00 += v0 * w0;
          a01 += v0 * w1;
          a02 += v0 * w2;
          a03 += v0 * w3;
          a10 += v1 * w0;
          a11 += v1 * w1;
          a12 += v1 * w2;
          a13 += v1 * w3;
          a20 += v2 * w0;
          a21 += v2 * w1;
          a22 += v2 * w2;
          a23 += v2 * w3;
          a30 += v3 * w0;
          a31 += v3 * w1;
          a32 += v3 * w2;
          a33 += v3 * w3;
        }
        int y0 = r * out + j;
        int y1 = y0 + out;
        int y2 = y1 + out;
        int y3 = y2 + out;
        y[y0] = a00;
        y[y0 + 1] = a01;
        y[y0 + 2] = a02;
        y[y0 + 3] = a03;
        y[y1] = a10;
        y[y1 + 1] = a11;
        y[y1 + 2] = a12;
        y[y1 + 3] = a13;
        y[y2] = a20;
        y[y2 + 1] = a21;
        y[y2 + 2] = a22;
        y[y2 + 3] = a23;
        y[y3] = a30;
        y[y3 + 1] = a31;
        y[y3 + 2] = a32;
        y[y3 + 3] = a33;
      }
      for (int rr = r; rr < r + TILE; rr++) {
        forwardOutputs(x, rr, in, w, b, out, j, y);
      }
    }
    for (; r < rows; r++) {
      forwardOutputs(x, r, in, w, b, out, 0, y);
    }
  }

  /** Row {@code r}'s outputs from {@code j0} on, one sum at a time: the tiles' edges. */
  private static void forwardOutputs(
      float[] x, int r, int in, float[] w, float[] b, int out, int j0, float[] y) {
    int xo = r * in;
    for (int j = j0; j < out; j++) {
      float a = b[j];
      for (int i = 0, wo = j; i < in; i++, wo += out) {
        float v = x[xo + i];
        if (v != 0f) {
          a += v * w[wo];
        }
      }
      y[r * out + j] = a;
    }
  }

  /**
   * The gradients of {@link #denseForward}: {@code dw += x^T dy}, {@code db += sum_rows dy}, and
   * {@code dx = dy W^T} (overwritten) when {@code dx} is not null.
   *
   * <p>Each weight's gradient adds the rows in order, bit for bit as the plain loops do, over
   * tiles of four inputs by four outputs held in registers (see {@link #denseForward} for why).
   */
  public static void denseBackward(float[] x, int rows, int in, float[] w, int out, float[] dy,
      float[] dw, float[] db, float[] dx) {
    for (int r = 0; r < rows; r++) {
      int yo = r * out;
      for (int j = 0; j < out; j++) {
        db[j] += dy[yo + j];
      }
    }
    int i = 0;
    for (; i + TILE <= in; i += TILE) {
      int j = 0;
      for (; j + TILE <= out; j += TILE) {
        int d0 = i * out + j;
        int d1 = d0 + out;
        int d2 = d1 + out;
        int d3 = d2 + out;
        float a00 = dw[d0];
        float a01 = dw[d0 + 1];
        float a02 = dw[d0 + 2];
        float a03 = dw[d0 + 3];
        float a10 = dw[d1];
        float a11 = dw[d1 + 1];
        float a12 = dw[d1 + 2];
        float a13 = dw[d1 + 3];
        float a20 = dw[d2];
        float a21 = dw[d2 + 1];
        float a22 = dw[d2 + 2];
        float a23 = dw[d2 + 3];
        float a30 = dw[d3];
        float a31 = dw[d3 + 1];
        float a32 = dw[d3 + 2];
        float a33 = dw[d3 + 3];
        for (int r = 0, xo = i, yo = j; r < rows; r++, xo += in, yo += out) {
          float v0 = x[xo];
          float v1 = x[xo + 1];
          float v2 = x[xo + 2];
          float v3 = x[xo + 3];
          if (v0 == 0f && v1 == 0f && v2 == 0f && v3 == 0f) {
            continue;
          }
          float g0 = dy[yo];
          float g1 = dy[yo + 1];
          float g2 = dy[yo + 2];
          float g3 = dy[yo + 3];
          a00 += v0 * g0;
          a01 += v0 * g1;
          a02 += v0 * g2;
          a03 += v0 * g3;
          a10 += v1 * g0;
          a11 += v1 * g1;
          a12 += v1 * g2;
          a13 += v1 * g3;
          a20 += v2 * g0;
          a21 += v2 * g1;
          a22 += v2 * g2;
          a23 += v2 * g3;
          a30 += v3 * g0;
          a31 += v3 * g1;
          a32 += v3 * g2;
          a33 += v3 * g3;
        }
        dw[d0] = a00;
        dw[d0 + 1] = a01;
        dw[d0 + 2] = a02;
        dw[d0 + 3] = a03;
        dw[d1] = a10;
        dw[d1 + 1] = a11;
        dw[d1 + 2] = a12;
        dw[d1 + 3] = a13;
        dw[d2] = a20;
        dw[d2 + 1] = a21;
        dw[d2 + 2] = a22;
        dw[d2 + 3] = a23;
        dw[d3] = a30;
        dw[d3 + 1] = a31;
        dw[d3 + 2] = a32;
        dw[d3 + 3] = a33;
      }
      for (int ii = i; ii < i + TILE; ii++) {
        weightGradients(x, rows, in, ii, out, j, dy, dw);
      }
    }
    for (; i < in; i++) {
      weightGradients(x, rows, in, i, out, 0, dy, dw);
    }
    if (dx != null) {
      for (int r = 0; r < rows; r++) {
        inputGradients(r, in, w, out, dy, dx);
      }
    }
  }

  /**
   * Row {@code r}'s input gradients, each summed over the outputs in {@code double}. Not tiled:
   * only the head, whose layers are small, needs them.
   */
  private static void inputGradients(int r, int in, float[] w, int out, float[] dy, float[] dx) {
    int yo = r * out;
    for (int k = 0; k < in; k++) {
      int wo = k * out;
      double s = 0;
      for (int j = 0; j < out; j++) {
        s += w[wo + j] * dy[yo + j];
      }
      dx[r * in + k] = (float) s;
    }
  }

  /** Input {@code i}'s weight gradients from output {@code j0} on, one at a time. */
  private static void weightGradients(
      float[] x, int rows, int in, int i, int out, int j0, float[] dy, float[] dw) {
    for (int j = j0; j < out; j++) {
      float a = dw[i * out + j];
      for (int r = 0; r < rows; r++) {
        float v = x[r * in + i];
        if (v != 0f) {
          a += v * dy[r * out + j];
        }
      }
      dw[i * out + j] = a;
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
   * @throws IllegalArgumentException naming the first label out of range
   */
  public static double softmaxCrossEntropy(
      float[] logits, int rows, int cols, int[] labels, float[] dLogits) {
    checkLabels(labels, rows, cols);
    double total = 0;
    for (int r = 0; r < rows; r++) {
      int o = r * cols;
      int y = labels[r];
      double logZ = logSumExp(logits, o, cols);
      total += logZ - logits[o + y];
      if (dLogits != null) {
        for (int c = 0; c < cols; c++) {
          double p = Math.exp(logits[o + c] - logZ);
          dLogits[o + c] = (float) ((p - (c == y ? 1 : 0)) / rows);
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
   * @throws IllegalArgumentException naming the first label out of range
   */
  public static void softmaxCrossEntropyRows(
      float[] logits, int rows, int cols, int[] labels, double[] losses) {
    checkLabels(labels, rows, cols);
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

  /**
   * Scales each of the {@code rows} rows of {@code x} to unit length, in place; a zero row stays
   * zero.
   */
  public static void unitRows(float[] x, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
      int o = r * cols;
      double norm2 = 0;
      for (int c = 0; c < cols; c++) {
        norm2 += (double) x[o + c] * x[o + c];
      }
      if (norm2 > 0) {
        double inv = 1 / Math.sqrt(norm2);
        float floatInv = (float) inv;
        if (Float.isFinite(floatInv)) {
          for (int c = 0; c < cols; c++) {
            x[o + c] *= floatInv; // in floats, as trained models were
          }
        } else {
          // The inverse of a subnormal row's length is past the float range: in double.
          for (int c = 0; c < cols; c++) {
            x[o + c] = (float) (x[o + c] * inv);
          }
        }
      }
    }
  }

  /**
   * The backward pass of {@link #unitRows}: turns {@code dy}, the gradient with respect to each
   * row's {@code y = z / |z|}, into the gradient with respect to {@code z}, {@code (dy - y (y .
   * dy)) / |z|}, in place. A zero row gets a zero gradient.
   *
   * @param z the rows before scaling; not modified
   */
  public static void unitRowsBackward(float[] z, float[] dy, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
      int o = r * cols;
      double norm2 = 0;
      for (int c = 0; c < cols; c++) {
        norm2 += (double) z[o + c] * z[o + c];
      }
      if (norm2 == 0) {
        Arrays.fill(dy, o, o + cols, 0f); // no direction to move along
        continue;
      }
      double norm = Math.sqrt(norm2);
      double ydy = 0;
      for (int c = 0; c < cols; c++) {
        ydy += z[o + c] / norm * dy[o + c];
      }
      for (int c = 0; c < cols; c++) {
        dy[o + c] = (float) ((dy[o + c] - z[o + c] / norm * ydy) / norm);
      }
    }
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

  /**
   * Checks the first {@code rows} labels before anything is written: out of range, a label would
   * read another row's logit (or past the array) and give a plausible, wrong loss.
   */
  private static void checkLabels(int[] labels, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
      if (labels[r] < 0 || labels[r] >= cols) {
        throw new IllegalArgumentException("labels[" + r + "] must be in [0, " + cols
            + "), was " + labels[r]);
      }
    }
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
