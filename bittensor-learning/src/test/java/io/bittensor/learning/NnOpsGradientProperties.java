package io.bittensor.learning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every layer's and loss's analytic gradient agrees with central differences. */
class NnOpsGradientProperties {
  private static final double H = 1e-2;
  private static final double TOL = 2e-3;

  static LongStream seeds() {
    return LongStream.range(0, 20);
  }

  private static float[] gaussian(Random r, int n, double scale) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) (r.nextGaussian() * scale);
    }
    return x;
  }

  /** A fixed random linear functional of an output: makes any layer a scalar loss. */
  private static double dot(float[] a, float[] b, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) {
      s += (double) a[i] * b[i];
    }
    return s;
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void denseGradientsMatchDifferences(long seed) {
    Random r = new Random(seed);
    int rows = 1 + r.nextInt(4);
    int in = 1 + r.nextInt(6);
    int out = 1 + r.nextInt(6);
    float[] x = gaussian(r, rows * in, 1);
    float[] w = gaussian(r, in * out, 1);
    float[] b = gaussian(r, out, 1);
    float[] c = gaussian(r, rows * out, 1);
    float[] y = new float[rows * out];
    NnOps.denseForward(x, rows, in, w, b, out, y);
    float[] dw = new float[in * out];
    float[] db = new float[out];
    float[] dx = new float[rows * in];
    NnOps.denseBackward(x, rows, in, w, out, c, dw, db, dx);
    java.util.function.DoubleSupplier loss = () -> {
      float[] yy = new float[rows * out];
      NnOps.denseForward(x, rows, in, w, b, out, yy);
      return dot(yy, c, yy.length);
    };
    GradientCheck.check("dense dw", w, dw, loss, H, TOL, 1, seed);
    GradientCheck.check("dense db", b, db, loss, H, TOL, 1, seed);
    GradientCheck.check("dense dx", x, dx, loss, H, TOL, 1, seed);
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void activationGradientsMatchDifferences(long seed) {
    Random r = new Random(seed);
    int rows = 1 + r.nextInt(3);
    int cols = 2 + r.nextInt(5);
    int n = rows * cols;
    float[] x = gaussian(r, n, 1.5);
    for (int i = 0; i < n; i++) {
      if (Math.abs(x[i]) < 0.05f) {
        x[i] = 0.5f; // away from ReLU's kink
      }
    }
    float[] c = gaussian(r, n, 1);
    float[] y = new float[n];
    float[] dx = new float[n];

    NnOps.relu(x, n, y);
    NnOps.reluBackward(y, c, n, dx);
    GradientCheck.check("relu", x, dx.clone(), () -> {
      float[] yy = new float[n];
      NnOps.relu(x, n, yy);
      return dot(yy, c, n);
    }, 1e-3, TOL, 1, seed);

    NnOps.tanh(x, n, y);
    NnOps.tanhBackward(y, c, n, dx);
    GradientCheck.check("tanh", x, dx.clone(), () -> {
      float[] yy = new float[n];
      NnOps.tanh(x, n, yy);
      return dot(yy, c, n);
    }, H, TOL, 1, seed);

    NnOps.softmaxRows(x, rows, cols, y);
    NnOps.softmaxBackward(y, c, rows, cols, dx);
    GradientCheck.check("softmax", x, dx.clone(), () -> {
      float[] yy = new float[n];
      NnOps.softmaxRows(x, rows, cols, yy);
      return dot(yy, c, n);
    }, H, TOL, 1, seed);
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void lossGradientsMatchDifferences(long seed) {
    Random r = new Random(seed);
    int rows = 1 + r.nextInt(4);
    int cols = 2 + r.nextInt(6);
    int n = rows * cols;
    float[] z = gaussian(r, n, 2);
    int[] labels = new int[rows];
    for (int i = 0; i < rows; i++) {
      labels[i] = r.nextInt(cols);
    }
    float[] target = new float[n];
    float[] raw = gaussian(r, n, 1);
    NnOps.softmaxRows(raw, rows, cols, target);
    float[] t2 = gaussian(r, n, 1);
    float[] g = new float[n];

    NnOps.softmaxCrossEntropy(z, rows, cols, labels, g);
    GradientCheck.check("cross-entropy", z, g.clone(),
        () -> NnOps.softmaxCrossEntropy(z, rows, cols, labels, null), H, TOL, 1, seed);

    NnOps.softmaxKl(z, target, rows, cols, g);
    GradientCheck.check("kl", z, g.clone(),
        () -> NnOps.softmaxKl(z, target, rows, cols, null), H, TOL, 1, seed);

    NnOps.meanSquaredError(z, t2, rows, cols, g);
    GradientCheck.check("mse", z, g.clone(),
        () -> NnOps.meanSquaredError(z, t2, rows, cols, null), H, TOL, 1, seed);

    NnOps.cosineDistance(z, t2, rows, cols, g);
    GradientCheck.check("cosine", z, g.clone(),
        () -> NnOps.cosineDistance(z, t2, rows, cols, null), 1e-3, 5e-3, 1, seed);
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void lossesHaveTheirKnownValues(long seed) {
    Random r = new Random(seed);
    int cols = 2 + r.nextInt(6);
    float[] z = gaussian(r, cols, 1);
    float[] p = new float[cols];
    NnOps.softmaxRows(z, 1, cols, p);
    double sum = 0;
    for (float v : p) {
      sum += v;
      assertTrue(v > 0, "softmax is positive (seed " + seed + ")");
    }
    assertEquals(1, sum, 1e-5, "softmax sums to 1 (seed " + seed + ")");
    int label = r.nextInt(cols);
    assertEquals(-Math.log(p[label]), NnOps.softmaxCrossEntropy(z, 1, cols, new int[] {label},
        null), 1e-5, "cross-entropy is -log p (seed " + seed + ")");
    assertEquals(0, NnOps.softmaxKl(z, p, 1, cols, null), 1e-5,
        "KL of a distribution to itself (seed " + seed + ")");
    assertEquals(0, NnOps.cosineDistance(z, z, 1, cols, null), 1e-6,
        "cosine distance to itself (seed " + seed + ")");
    float[] scaled = z.clone();
    for (int i = 0; i < cols; i++) {
      scaled[i] *= 3;
    }
    assertEquals(0, NnOps.cosineDistance(scaled, z, 1, cols, null), 1e-6,
        "cosine ignores scale (seed " + seed + ")");
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void perRowCrossEntropiesAverageToTheMean(long seed) {
    Random r = new Random(seed);
    int rows = 1 + r.nextInt(8);
    int cols = 2 + r.nextInt(6);
    float[] z = gaussian(r, rows * cols, 3);
    int[] labels = new int[rows];
    for (int i = 0; i < rows; i++) {
      labels[i] = r.nextInt(cols);
    }
    double[] each = new double[rows];
    NnOps.softmaxCrossEntropyRows(z, rows, cols, labels, each);
    double sum = 0;
    for (int i = 0; i < rows; i++) {
      float[] row = java.util.Arrays.copyOfRange(z, i * cols, (i + 1) * cols);
      assertEquals(NnOps.softmaxCrossEntropy(row, 1, cols, new int[] {labels[i]}, null), each[i],
          1e-12, "row " + i + " (seed " + seed + ")");
      sum += each[i];
    }
    assertEquals(NnOps.softmaxCrossEntropy(z, rows, cols, labels, null), sum / rows, 1e-9,
        "the mean (seed " + seed + ")");
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void normalCdfMatchesItsDensity(long seed) {
    Random r = new Random(seed);
    double z = r.nextGaussian() * 2;
    double h = 1e-4;
    double numeric = (NnOps.normalCdf(z + h) - NnOps.normalCdf(z - h)) / (2 * h);
    assertEquals(NnOps.normalPdf(z), numeric, 1e-5, "z " + z + " (seed " + seed + ")");
    assertEquals(1, NnOps.normalCdf(z) + NnOps.normalCdf(-z), 1e-7, "symmetry at z " + z);
  }
}
