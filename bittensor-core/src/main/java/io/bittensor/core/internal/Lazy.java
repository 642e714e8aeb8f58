package io.bittensor.core.internal;

import java.util.Objects;
import java.util.function.Supplier;

/**
 * A value computed once, on first use, by whichever thread asks first; the others wait for it.
 *
 * <p>Thread-safe. The supplier is dropped once it has run.
 */
public final class Lazy<T> implements Supplier<T> {
  private Supplier<T> supplier;
  private volatile T value;

  /** @param supplier computes the value (not null); called at most once */
  public Lazy(Supplier<T> supplier) {
    this.supplier = Objects.requireNonNull(supplier, "supplier");
  }

  @Override
  public T get() {
    T v = value;
    if (v == null) {
      synchronized (this) {
        v = value;
        if (v == null) {
          v = supplier.get();
          value = v;
          supplier = null;
        }
      }
    }
    return v;
  }
}
