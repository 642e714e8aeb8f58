package io.bittensor.neuron.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.internal.StateFile;
import java.io.IOException;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Probes}: each probe's step and loss are multinomial logistic regression's, as a naive
 * computation in doubles restates them, and stay finite for logits far beyond a float's exp.
 */
class ProbesTest {
  private static final String MAGIC = "PROBESTS";

  static LongStream seeds() {
    return LongStream.range(0, 20).map(i -> 0x9b0eL + i);
  }

  /** A probe's weights, bias and steps, as {@link Probes#save} writes them. */
  private record Probe(float[] w, float[] b, long steps) {}

  private static Probe read(Probes probes, int p, int dim, int classes) throws IOException {
    StateFile.Writer writer = new StateFile.Writer(MAGIC);
    probes.save(writer, "", p);
    StateFile.Reader r = StateFile.Reader.decode(writer.toBytes(), MAGIC, "probes");
    float[] w = new float[dim * classes];
    float[] b = new float[classes];
    r.floats("weights", w);
    r.floats("bias", b);
    long steps = r.longs("steps", 1)[0];
    r.apply();
    return new Probe(w, b, steps);
  }

  private static StateFile.Reader written(float[] w, float[] b, long steps) throws IOException {
    StateFile.Writer writer = new StateFile.Writer(MAGIC);
    writer.floats("weights", w).floats("bias", b).longs("steps", steps);
    return StateFile.Reader.decode(writer.toBytes(), MAGIC, "probes");
  }

  /** Row r's softmax over the classes, in doubles, by the log-sum-exp. */
  private static double[] softmax(Probe q, float[] x, int r, int dim, int classes) {
    double[] z = new double[classes];
    double max = Double.NEGATIVE_INFINITY;
    for (int c = 0; c < classes; c++) {
      z[c] = q.b[c];
      for (int j = 0; j < dim; j++) {
        z[c] += (double) q.w[c * dim + j] * x[r * dim + j];
      }
      max = Math.max(max, z[c]);
    }
    double sum = 0;
    for (int c = 0; c < classes; c++) {
      sum += Math.exp(z[c] - max);
    }
    double[] p = new double[classes];
    for (int c = 0; c < classes; c++) {
      p[c] = Math.exp(z[c] - max) / sum;
    }
    return p;
  }

  private static double meanLoss(Probe q, float[] x, int rows, int[] labels, int dim,
      int classes) {
    double loss = 0;
    for (int r = 0; r < rows; r++) {
      loss -= Math.log(softmax(q, x, r, dim, classes)[labels[r]]);
    }
    return loss / rows;
  }

  /**
   * Three SGD steps on random rows: each returns the mean cross-entropy before it, and leaves
   * the weights and bias where a step of {@code rate} down the gradient of the mean
   * cross-entropy plus {@code l2 / 2 |w|^2} takes them; the other peer's probe is untouched,
   * and {@code loss} is the cross-entropy at the weights now, training nothing.
   */
  @ParameterizedTest
  @MethodSource("seeds")
  void aStepIsGradientDescentOnTheMeanCrossEntropy(long seed) throws IOException {
    SplittableRandom random = new SplittableRandom(seed);
    int dim = 1 + random.nextInt(5);
    int classes = 2 + random.nextInt(4);
    int rows = 1 + random.nextInt(8);
    double rate = 0.1 + random.nextDouble();
    double l2 = 0.01 + random.nextDouble(0.1);
    Probes probes = new Probes(2, dim, classes, rate, l2, seed);
    Probe other = read(probes, 1, dim, classes);
    for (int step = 0; step < 3; step++) {
      float[] x = new float[rows * dim];
      for (int i = 0; i < x.length; i++) {
        x[i] = (float) random.nextGaussian();
      }
      int[] labels = random.ints(rows, 0, classes).toArray();
      Probe q = read(probes, 0, dim, classes);
      double[] gw = new double[dim * classes];
      double[] gb = new double[classes];
      for (int r = 0; r < rows; r++) {
        double[] p = softmax(q, x, r, dim, classes);
        p[labels[r]] -= 1;
        for (int c = 0; c < classes; c++) {
          gb[c] += p[c] / rows;
          for (int j = 0; j < dim; j++) {
            gw[c * dim + j] += p[c] * x[r * dim + j] / rows;
          }
        }
      }
      String at = "step " + step + " (seed " + seed + ")";
      double expected = meanLoss(q, x, rows, labels, dim, classes);
      assertEquals(expected, probes.train(0, x, rows, labels), 1e-5 * (1 + expected), at);
      Probe after = read(probes, 0, dim, classes);
      for (int i = 0; i < gw.length; i++) {
        double want = q.w[i] - rate * gw[i] - rate * l2 * q.w[i];
        assertEquals(want, after.w[i], 1e-5 * (1 + Math.abs(want)), "w[" + i + "], " + at);
      }
      for (int c = 0; c < classes; c++) {
        double want = q.b[c] - rate * gb[c];
        assertEquals(want, after.b[c], 1e-5 * (1 + Math.abs(want)), "b[" + c + "], " + at);
      }
      assertEquals(step + 1, after.steps);
      assertEquals(step + 1, probes.steps(0));
      double now = meanLoss(after, x, rows, labels, dim, classes);
      assertEquals(now, probes.loss(0, x, rows, labels), 1e-5 * (1 + now), at);
      assertEquals(now, probes.loss(0, x, rows, labels), 1e-5 * (1 + now), "loss trains nothing");
    }
    Probe untouched = read(probes, 1, dim, classes);
    assertArrayEquals(other.w, untouched.w);
    assertArrayEquals(other.b, untouched.b);
    assertEquals(0, probes.steps(1));
  }

  /**
   * Logits far beyond what {@code exp} holds (answers of large but finite values) give the
   * cross-entropy still: about 0 for the row the probe is sure of and right, the margin for one
   * it is sure of and wrong, at most {@code -ln 1e-12} (27.6) where the probability is below it.
   */
  @Test
  void hugeLogitsGiveAFiniteLoss() throws IOException {
    Probes probes = new Probes(1, 1, 2, 0.5, 0, 1);
    StateFile.Reader r = written(new float[] {1, -1}, new float[] {0, 0}, 0);
    probes.restore(r, "", 0);
    r.apply();
    float[] x = {400};
    assertEquals(0, probes.loss(0, x, 1, new int[] {0}), 1e-9, "sure and right");
    assertEquals(-Math.log(1e-12), probes.loss(0, x, 1, new int[] {1}), 1e-9,
        "sure and wrong, the probability 0 taken as 1e-12");
    float[] near = {10};
    assertEquals(20, probes.loss(0, near, 1, new int[] {1}), 1e-6, "the margin");
    assertTrue(Double.isFinite(probes.train(0, x, 1, new int[] {1})));
  }

  /**
   * A burst of huge but finite answers (1e38, in batches of one row and of eight, that say the
   * opposite of the labels) teaches a probe nothing: once answers are sane again its loss is
   * what it was. They drove its weights to infinities and NaN, which sane answers never undid:
   * the peer scored 0 for good.
   */
  @Test
  void aProbeThatSawHugeAnswersScoresSaneOnesAsBefore() {
    Probes probes = new Probes(1, 2, 2, 0.5, 1e-3, 7);
    int rows = 8;
    float[] sane = new float[rows * 2];
    int[] labels = new int[rows];
    for (int r = 0; r < rows; r++) {
      labels[r] = r % 2;
      sane[r * 2] = labels[r] == 0 ? 1 : -1;
      sane[r * 2 + 1] = 0.5f;
    }
    for (int i = 0; i < 100; i++) {
      probes.train(0, sane, rows, labels);
    }
    double learned = probes.loss(0, sane, rows, labels);
    assertTrue(learned < 0.2, "learned: loss " + learned);
    float[] huge = sane.clone();
    for (int i = 0; i < huge.length; i++) {
      huge[i] *= -1e38f; // the other way round: the probe is sure, and wrong
    }
    int steps = probes.steps(0);
    for (int i = 0; i < 3; i++) {
      probes.train(0, huge, 1, labels);
      probes.train(0, huge, rows, labels);
    }
    assertEquals(steps, probes.steps(0), "no step taken on them");
    assertEquals(learned, probes.loss(0, sane, rows, labels), 1e-12, "the probe as it was");
    assertTrue(probes.usable(sane, rows) && !probes.usable(huge, 1));
  }

  /**
   * A saved probe's step count is restored from 0 to {@code Integer.MAX_VALUE}; a count outside
   * those is refused by name, before anything is written.
   */
  @Test
  void restoredStepsAreRefusedOutsideAnInt() throws IOException {
    Probes probes = new Probes(1, 2, 2, 0.5, 0, 1);
    for (long steps : new long[] {0, Integer.MAX_VALUE}) {
      StateFile.Reader r = written(new float[4], new float[2], steps);
      probes.restore(r, "", 0);
      r.apply();
      assertEquals(steps, probes.steps(0));
    }
    for (long steps : new long[] {-1, Integer.MAX_VALUE + 1L}) {
      StateFile.Reader r = written(new float[4], new float[2], steps);
      var e = assertThrows(IllegalArgumentException.class, () -> probes.restore(r, "", 0));
      assertTrue(e.getMessage().contains("steps is " + steps), e.getMessage());
    }
    assertEquals(Integer.MAX_VALUE, probes.steps(0));
  }
}
