package io.bittensor.learning;

import io.bittensor.core.Experimental;
import io.bittensor.core.internal.StateFile;
import java.util.List;
import java.util.Objects;

/**
 * A trainable array and the gradient accumulated for it: what an optimiser such as {@link Adam}
 * updates. Both arrays are live, shared with the layer that owns them, never copied.
 *
 * <pre>{@code
 * TrainableMlp mlp = TrainableMlp.random(new int[] {784, 64, 10}, Mlp.Activation.RELU, 42);
 * for (Parameter p : mlp.parameters()) {
 *   System.out.println(p.name() + ": " + p.size() + " values");
 * }
 * }</pre>
 *
 * <p>Not thread-safe: it is the mutable state of one training thread.
 */
@Experimental
public final class Parameter {
  private final String name;
  private final float[] values;
  private final float[] gradients;

  /**
   * A parameter over {@code values}, with a zero gradient of the same size.
   *
   * @param name for messages, e.g. {@code "dense0.weight"}
   * @param values the trainable values; kept, not copied
   */
  public Parameter(String name, float[] values) {
    this.name = Objects.requireNonNull(name, "name");
    this.values = Objects.requireNonNull(values, "values");
    this.gradients = new float[values.length];
  }

  /** The name given. */
  public String name() {
    return name;
  }

  /** The number of values. */
  public int size() {
    return values.length;
  }

  /** The values themselves (live). */
  public float[] values() {
    return values;
  }

  /** The accumulated gradient (live). */
  public float[] gradients() {
    return gradients;
  }

  /** Clears the gradient. */
  public void zeroGradients() {
    java.util.Arrays.fill(gradients, 0f);
  }

  /** Writes each parameter's values as {@code prefix + name}. */
  static void save(List<Parameter> params, StateFile.Writer w, String prefix) {
    for (Parameter p : params) {
      w.floats(prefix + p.name, p.values);
    }
  }

  /** Stages reading each parameter's values from {@code prefix + name}; gradients are cleared. */
  static void restore(List<Parameter> params, StateFile.Reader r, String prefix) {
    for (Parameter p : params) {
      r.floats(prefix + p.name, p.values);
      r.then(p::zeroGradients);
    }
  }

  @Override
  public String toString() {
    return "Parameter[" + name + ", " + values.length + "]";
  }
}
