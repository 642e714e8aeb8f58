package io.bittensor.core.internal;

import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * An exponential back-off: the first delay, doubled after each one up to the longest, until
 * {@link #reset()}. Jittered, each delay is drawn uniformly from half the back-off to all of it,
 * so that clients that failed together do not try again in step.
 *
 * <pre>{@code
 * Backoff backoff = Backoff.jittered(1_000, 30_000, random);  // 1 s doubling to 30 s
 * long ms = backoff.next();                                   // in [500, 1000]; then [1000, 2000]
 * }</pre>
 *
 * <p>Not thread-safe: its owner guards it. The generator is drawn from under its own lock, so
 * that an owner may share it.
 */
public final class Backoff {
  private final long first;
  private final long longest;
  /** Null: not jittered, each delay is the back-off itself. */
  private final RandomGenerator random;
  private long backoff;

  private Backoff(long first, long longest, RandomGenerator random) {
    if (first < 1 || longest < first) {
      throw new IllegalArgumentException(
          "a back-off needs 1 <= first <= longest, was first " + first + ", longest " + longest);
    }
    this.first = first;
    this.longest = longest;
    this.random = random;
    this.backoff = first;
  }

  /**
   * Delays drawn from {@code [d/2, d]} (rounded up) for a back-off {@code d} that goes {@code
   * first}, {@code 2 first}, ... {@code longest}; in whatever unit the caller counts.
   *
   * @param random draws each delay, under its own lock
   * @throws IllegalArgumentException unless {@code 1 <= first <= longest}
   */
  public static Backoff jittered(long first, long longest, RandomGenerator random) {
    return new Backoff(first, longest, Objects.requireNonNull(random, "random"));
  }

  /**
   * Delays of exactly {@code first}, {@code 2 first}, ... {@code longest}.
   *
   * @throws IllegalArgumentException unless {@code 1 <= first <= longest}
   */
  public static Backoff exact(long first, long longest) {
    return new Backoff(first, longest, null);
  }

  /** The next delay; the back-off after it is doubled, up to the longest. */
  public long next() {
    long delay = backoff;
    if (random != null) {
      synchronized (random) {
        delay = backoff - random.nextLong(backoff / 2 + 1);
      }
    }
    backoff = backoff > longest / 2 ? longest : backoff * 2; // never overflows
    return delay;
  }

  /** Starts again from the first delay (once the thing waited for has answered). */
  public void reset() {
    backoff = first;
  }
}
