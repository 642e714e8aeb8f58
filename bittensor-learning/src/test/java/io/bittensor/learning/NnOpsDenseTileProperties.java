package io.bittensor.learning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The dense layer's tiled loops give the plain loops' results bit for bit: every sum adds the
 * same terms in the same order, whatever the shape (tiles and their edges), however many inputs
 * are zero, and with gradients accumulated onto what is already there.
 */
class NnOpsDenseTileProperties {
  static LongStream seeds() {
    return LongStream.range(0, 200);
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void tiledLoopsMatchThePlainLoopsBitForBit(long seed) {
    Random r = new Random(seed);
    int rows = 1 + r.nextInt(13);
    int in = 1 + r.nextInt(13);
    int out = 1 + r.nextInt(13);
    double zeros = r.nextInt(3) * 0.45; // none, about half, nearly all
    float[] x = new float[rows * in];
    for (int i = 0; i < x.length; i++) {
      x[i] = r.nextDouble() < zeros ? 0f : (float) r.nextGaussian();
    }
    float[] w = gaussian(r, in * out);
    float[] b = gaussian(r, out);
    float[] dy = gaussian(r, rows * out);
    float[] dwStart = gaussian(r, in * out);
    float[] dbStart = gaussian(r, out);

    float[] y = new float[rows * out];
    NnOps.denseForward(x, rows, in, w, b, out, y);
    assertArrayEquals(plainForward(x, rows, in, w, b, out), y, "forward, seed " + seed);

    float[] dw = dwStart.clone();
    float[] db = dbStart.clone();
    float[] dx = new float[rows * in];
    NnOps.denseBackward(x, rows, in, w, out, dy, dw, db, dx);
    float[] plainDw = dwStart.clone();
    float[] plainDb = dbStart.clone();
    float[] plainDx = new float[rows * in];
    plainBackward(x, rows, in, w, out, dy, plainDw, plainDb, plainDx);
    assertArrayEquals(plainDw, dw, "dw, seed " + seed);
    assertArrayEquals(plainDb, db, "db, seed " + seed);
    assertArrayEquals(plainDx, dx, "dx, seed " + seed);
  }

  private static float[] plainForward(float[] x, int rows, int in, float[] w, float[] b, int out) {
    float[] y = new float[rows * out];
    for (int r = 0; r < rows; r++) {
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

  private static void plainBackward(float[] x, int rows, int in, float[] w, int out, float[] dy,
      float[] dw, float[] db, float[] dx) {
    for (int r = 0; r < rows; r++) {
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
        double s = 0;
        for (int j = 0; j < out; j++) {
          s += w[i * out + j] * dy[r * out + j];
        }
        dx[r * in + i] = (float) s;
      }
    }
  }

  private static float[] gaussian(Random r, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) r.nextGaussian();
    }
    return v;
  }
}
