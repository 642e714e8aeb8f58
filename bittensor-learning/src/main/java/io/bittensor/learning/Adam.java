package io.bittensor.learning;

import io.bittensor.core.Experimental;
import io.bittensor.core.internal.StateFile;
import io.bittensor.learning.internal.Checks;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * The Adam optimiser (Kingma and Ba, 2015) over a fixed list of {@link Parameter}s: moving
 * averages of each gradient and its square, bias-corrected, scale each step.
 *
 * <pre>{@code
 * TrainableMlp mlp = TrainableMlp.random(new int[] {784, 64, 10}, Mlp.Activation.RELU, 42);
 * int rows = 32;
 * float[] x = new float[rows * 784], dy = new float[rows * 10];
 * Adam adam = Adam.over(mlp.parameters(), 1e-3);
 * mlp.forward(x, rows);
 * mlp.backward(dy, false);   // accumulates gradients
 * adam.step();               // updates the values, then clears the gradients
 * }</pre>
 *
 * <p>Not thread-safe: one training thread steps it.
 */
@Experimental
public final class Adam {
  private final List<Parameter> params;
  private final double learningRate;
  private final double beta1;
  private final double beta2;
  private final double epsilon;
  private final float[][] m;
  /**
   * The squared gradient's moving average, rounded to a float as long as a float holds it, so
   * that every step is what float storage gives; past a float's range (a gradient over about
   * 5.8e20) it stays a double rather than becoming infinite, which would stop the value for good.
   */
  private final double[][] v;
  private long t;

  private Adam(List<Parameter> params, double learningRate, double beta1, double beta2,
      double epsilon) {
    this.params = List.copyOf(params);
    this.learningRate = learningRate;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.epsilon = epsilon;
    this.m = new float[this.params.size()][];
    this.v = new double[this.params.size()][];
    for (int i = 0; i < m.length; i++) {
      m[i] = new float[this.params.get(i).size()];
      v[i] = new double[this.params.get(i).size()];
    }
  }

  /**
   * Adam with the usual betas (0.9, 0.999) and epsilon 1e-8.
   *
   * @param params what it updates; the list is copied, the parameters are shared
   * @param learningRate the step size, finite and {@code > 0}
   * @throws IllegalArgumentException if the learning rate is not finite and positive
   */
  public static Adam over(List<Parameter> params, double learningRate) {
    return over(params, learningRate, 0.9, 0.999, 1e-8);
  }

  /**
   * Adam with the given settings.
   *
   * @param beta1 decay of the gradient's average, in [0, 1)
   * @param beta2 decay of the squared gradient's average, in [0, 1)
   * @param epsilon added to the root of the squared average, {@code > 0}
   * @throws IllegalArgumentException naming the first setting out of range
   * @throws NullPointerException naming a missing parameter ({@code "params[2]"})
   */
  public static Adam over(List<Parameter> params, double learningRate, double beta1,
      double beta2, double epsilon) {
    Objects.requireNonNull(params, "params");
    int i = 0;
    for (Parameter p : params) {
      // Before List.copyOf, whose own refusal of a null names nothing.
      Objects.requireNonNull(p, "params[" + i++ + "]");
    }
    Checks.positive(learningRate, "learningRate");
    Checks.decay(beta1, "beta1");
    Checks.decay(beta2, "beta2");
    Checks.positive(epsilon, "epsilon");
    return new Adam(params, learningRate, beta1, beta2, epsilon);
  }

  /** The step size. */
  public double learningRate() {
    return learningRate;
  }

  /** The number of steps taken. */
  public long steps() {
    return t;
  }

  /** One update of every parameter from its accumulated gradient, which is then cleared. */
  public void step() {
    t++;
    double c1 = 1 - Math.pow(beta1, t);
    double c2 = 1 - Math.pow(beta2, t);
    double stepSize = learningRate * Math.sqrt(c2) / c1;
    double eps = epsilon * Math.sqrt(c2);
    for (int p = 0; p < m.length; p++) {
      float[] x = params.get(p).values();
      float[] g = params.get(p).gradients();
      float[] mp = m[p];
      double[] vp = v[p];
      for (int i = 0; i < x.length; i++) {
        float gi = g[i];
        mp[i] = (float) (beta1 * mp[i] + (1 - beta1) * gi);
        double vi = beta2 * vp[i] + (1 - beta2) * gi * gi;
        vp[i] = vi <= Float.MAX_VALUE ? (float) vi : vi;
        x[i] -= (float) (stepSize * mp[i] / (Math.sqrt(vp[i]) + eps));
        g[i] = 0f;
      }
    }
  }

  /**
   * Writes the moving averages and the step count under {@code prefix}: {@code m/NAME} and
   * {@code v/NAME} as floats, or, for a parameter whose second moment has passed a float's range,
   * {@code v64/NAME} as doubles.
   */
  void save(StateFile.Writer w, String prefix) {
    for (int p = 0; p < m.length; p++) {
      String name = params.get(p).name();
      w.floats(prefix + "m/" + name, m[p]);
      if (Arrays.stream(v[p]).allMatch(x -> x <= Float.MAX_VALUE)) {
        float[] floats = new float[v[p].length];
        for (int i = 0; i < floats.length; i++) {
          floats[i] = (float) v[p][i]; // exact: each already a float's value
        }
        w.floats(prefix + "v/" + name, floats);
      } else {
        w.doubles(prefix + "v64/" + name, v[p]);
      }
    }
    w.longs(prefix + "steps", t);
  }

  /** Stages reading what {@link #save} wrote. */
  void restore(StateFile.Reader r, String prefix) {
    for (int p = 0; p < m.length; p++) {
      String name = params.get(p).name();
      r.floats(prefix + "m/" + name, m[p]);
      if (r.has(prefix + "v64/" + name)) {
        r.doubles(prefix + "v64/" + name, v[p]);
      } else {
        float[] floats = new float[v[p].length];
        double[] into = v[p];
        r.floats(prefix + "v/" + name, floats);
        r.then(() -> {
          for (int i = 0; i < floats.length; i++) {
            into[i] = floats[i];
          }
        });
      }
    }
    long steps = r.longs(prefix + "steps", 1)[0];
    if (steps < 0) {
      throw new IllegalArgumentException("the checkpoint's " + prefix + "steps is " + steps);
    }
    r.then(() -> t = steps);
  }
}
