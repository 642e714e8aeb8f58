package io.bittensor.benchmarks;

import io.bittensor.learning.NnOps;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.zip.GZIPInputStream;
import java.util.concurrent.TimeUnit;
import org.ejml.data.FMatrixRMaj;
import org.ejml.dense.row.CommonOps_FDRM;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The dense layer every trainable part of a neuron runs ({@link NnOps#denseForward} and
 * {@link NnOps#denseBackward}: the gate's projections, the head, the student, the peers trained
 * in Java) beside the two things a user would write instead: the plain loops (which NnOps ran
 * until 2026-12-05, and which it still matches bit for bit) and the same layer with EJML's float
 * matrices ({@code CommonOps_FDRM.mult}, {@code multAddTransA}, {@code multTransB}; the bias
 * added and summed in loops). All three read and write the same row-major arrays, so none pays
 * for a copy. Scores are microseconds per batch.
 *
 * <p>Shapes are the learning market's, a batch of 50: {@code 784x12}, one of the gate's two
 * projections from the pixels to the twelve peers; {@code 784x64}, a strong peer's (and a
 * student's) first layer; {@code 10x32}, the head's first layer on the joined answer. {@code
 * input}: {@code real} feeds the pixel layers the first 50 Fashion-MNIST test images (half their
 * pixels are 0, most of them at the borders) and the head softmax rows (no zeros), as in the
 * market; {@code dense} feeds every layer random values with no zeros, as an embedding would.
 * Ours and the plain loops skip zero inputs; EJML does not. The backward passes compute the input
 * gradient only for {@code 10x32}, as the learner does. Run from the repository root: the images
 * are read from the examples' vendored copy.
 *
 * <pre>
 * java -jar benchmarks/target/benchmarks.jar DenseLayerBenchmark
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class DenseLayerBenchmark {
  private static final int ROWS = 50;
  private static final int IMAGE_PIXELS = 28 * 28;
  private static final Path IMAGES =
      Path.of("examples/src/main/resources/fashion-mnist/t10k-images-idx3-ubyte.gz");

  /** Inputs by outputs of the layer. */
  @Param({"784x12", "784x64", "10x32"})
  public String shape;

  /** What the layer is fed: as in the learning market, or random with no zeros. */
  @Param({"real", "dense"})
  public String input;

  private int in;
  private int out;
  private boolean inputGradient;
  private float[] x;
  private float[] w;
  private float[] b;
  private float[] y;
  private float[] dy;
  private float[] dw;
  private float[] db;
  private float[] dx;
  private FMatrixRMaj xm;
  private FMatrixRMaj wm;
  private FMatrixRMaj ym;
  private FMatrixRMaj dym;
  private FMatrixRMaj dwm;
  private FMatrixRMaj dxm;

  @Setup
  public void drawLayer() {
    String[] sides = shape.split("x");
    in = Integer.parseInt(sides[0]);
    out = Integer.parseInt(sides[1]);
    // A layer on the pixels needs no input gradient (nothing below it learns); the head's goes
    // back to the peers.
    inputGradient = in != 784;
    Random random = new Random(11);
    x = new float[ROWS * in];
    for (int i = 0; i < x.length; i++) {
      x[i] = random.nextFloat() + Float.MIN_NORMAL;
    }
    if (input.equals("real") && in == IMAGE_PIXELS) {
      x = fashionMnist(ROWS);
    } else if (input.equals("real")) {
      NnOps.softmaxRows(x.clone(), ROWS, in, x);
    }
    w = gaussian(random, in * out, 0.05f);
    b = gaussian(random, out, 0.05f);
    dy = gaussian(random, ROWS * out, 0.1f);
    y = new float[ROWS * out];
    dw = new float[in * out];
    db = new float[out];
    dx = new float[ROWS * in];
    xm = FMatrixRMaj.wrap(ROWS, in, x);
    wm = FMatrixRMaj.wrap(in, out, w);
    ym = FMatrixRMaj.wrap(ROWS, out, y);
    dym = FMatrixRMaj.wrap(ROWS, out, dy);
    dwm = FMatrixRMaj.wrap(in, out, dw);
    dxm = FMatrixRMaj.wrap(ROWS, in, dx);
    checkAgree();
  }

  /** {@code y = x W + b}, ours. */
  @Benchmark
  public float[] forwardNnOps() {
    NnOps.denseForward(x, ROWS, in, w, b, out, y);
    return y;
  }

  /** {@code y = x W + b}, the loops a user would write by hand (ours until 2026-12-05). */
  @Benchmark
  public float[] forwardPlain() {
    for (int r = 0; r < ROWS; r++) {
      System.arraycopy(b, 0, y, r * out, out);
      for (int i = 0; i < in; i++) {
        float v = x[r * in + i];
        if (v != 0f) {
          for (int j = 0; j < out; j++) {
            y[r * out + j] += v * w[i * out + j];
          }
        }
      }
    }
    return y;
  }

  /** {@code y = x W + b}, EJML. */
  @Benchmark
  public float[] forwardEjml() {
    CommonOps_FDRM.mult(xm, wm, ym);
    for (int r = 0; r < ROWS; r++) {
      for (int j = 0; j < out; j++) {
        y[r * out + j] += b[j];
      }
    }
    return y;
  }

  /** {@code dw += x^T dy}, {@code db += sum dy}, and {@code dx = dy W^T} where wanted; ours. */
  @Benchmark
  public float[] backwardNnOps() {
    NnOps.denseBackward(x, ROWS, in, w, out, dy, dw, db, inputGradient ? dx : null);
    return dw;
  }

  /** The same gradients, the loops a user would write by hand. */
  @Benchmark
  public float[] backwardPlain() {
    for (int r = 0; r < ROWS; r++) {
      for (int j = 0; j < out; j++) {
        db[j] += dy[r * out + j];
      }
      for (int i = 0; i < in; i++) {
        float v = x[r * in + i];
        if (v != 0f) {
          for (int j = 0; j < out; j++) {
            dw[i * out + j] += v * dy[r * out + j];
          }
        }
        if (inputGradient) {
          double s = 0;
          for (int j = 0; j < out; j++) {
            s += w[i * out + j] * dy[r * out + j];
          }
          dx[r * in + i] = (float) s;
        }
      }
    }
    return dw;
  }

  /** The same gradients, EJML. */
  @Benchmark
  public float[] backwardEjml() {
    CommonOps_FDRM.multAddTransA(xm, dym, dwm);
    for (int r = 0; r < ROWS; r++) {
      for (int j = 0; j < out; j++) {
        db[j] += dy[r * out + j];
      }
    }
    if (inputGradient) {
      CommonOps_FDRM.multTransB(dym, wm, dxm);
    }
    return dw;
  }

  /**
   * All three must compute the same layer, or the comparison means nothing: ours and the plain
   * loops bit for bit, EJML (which sums in another order) to within rounding.
   */
  private void checkAgree() {
    float[] ours = forwardNnOps().clone();
    float[] plain = forwardPlain().clone();
    compare("forward, EJML", ours, forwardEjml(), 1e-3f);
    compare("forward, plain", ours, plain, 0f);
    float[][] oursGrads = gradients(this::backwardNnOps);
    float[][] plainGrads = gradients(this::backwardPlain);
    float[][] ejmlGrads = gradients(this::backwardEjml);
    for (int k = 0; k < oursGrads.length; k++) {
      compare("gradient " + k + ", plain", oursGrads[k], plainGrads[k], 0f);
      compare("gradient " + k + ", EJML", oursGrads[k], ejmlGrads[k], 1e-3f);
    }
  }

  private float[][] gradients(Runnable backward) {
    java.util.Arrays.fill(dw, 0f);
    java.util.Arrays.fill(db, 0f);
    java.util.Arrays.fill(dx, 0f);
    backward.run();
    return new float[][] {dw.clone(), db.clone(), dx.clone()};
  }

  private static void compare(String what, float[] a, float[] b, float tolerance) {
    for (int i = 0; i < a.length; i++) {
      if (Math.abs(a[i] - b[i]) > tolerance * (1 + Math.abs(a[i]))) {
        throw new IllegalStateException(what + " differs at " + i + ": " + a[i] + " vs " + b[i]);
      }
    }
  }

  /** The first {@code n} test images, pixels scaled to [0, 1] as the market scales them. */
  private static float[] fashionMnist(int n) {
    try (DataInputStream data =
        new DataInputStream(new GZIPInputStream(Files.newInputStream(IMAGES)))) {
      if (data.readInt() != 2051) {
        throw new IllegalStateException(IMAGES + " is not an IDX image file");
      }
      data.skipBytes(12); // count, rows, columns
      byte[] raw = new byte[n * IMAGE_PIXELS];
      data.readFully(raw);
      float[] pixels = new float[raw.length];
      for (int i = 0; i < raw.length; i++) {
        pixels[i] = (raw[i] & 0xff) / 255f;
      }
      return pixels;
    } catch (IOException e) {
      throw new UncheckedIOException(
          "run from the repository root: cannot read " + IMAGES.toAbsolutePath(), e);
    }
  }

  private static float[] gaussian(Random random, int n, float scale) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) random.nextGaussian() * scale;
    }
    return v;
  }
}
