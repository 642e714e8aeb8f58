package io.bittensor.transport.internal;

import java.time.Duration;
import java.util.Objects;

/** Argument checks for the builders, with messages that name the bad value. */
public final class Args {
  private Args() {}

  /** Returns {@code d} unless it is null, zero or negative. */
  public static Duration positive(Duration d, String what) {
    Objects.requireNonNull(d, what);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(what + " must be positive, was " + d);
    }
    return d;
  }

  /** {@code d} in nanoseconds, {@link Long#MAX_VALUE} for one longer than that (no limit). */
  public static long nanos(Duration d) {
    return d.compareTo(Duration.ofNanos(Long.MAX_VALUE)) >= 0 ? Long.MAX_VALUE : d.toNanos();
  }

  /** {@code d} in milliseconds, {@link Long#MAX_VALUE} for one longer than that (no limit). */
  public static long millis(Duration d) {
    return d.compareTo(Duration.ofMillis(Long.MAX_VALUE)) >= 0 ? Long.MAX_VALUE : d.toMillis();
  }

  /** Returns {@code n} unless it is below {@code min}. */
  public static int atLeast(int n, int min, String what) {
    if (n < min) {
      throw new IllegalArgumentException(what + " must be >= " + min + ", was " + n);
    }
    return n;
  }

  /** Returns {@code n} unless it is below {@code min}. */
  public static long atLeast(long n, long min, String what) {
    if (n < min) {
      throw new IllegalArgumentException(what + " must be >= " + min + ", was " + n);
    }
    return n;
  }

  /** Returns {@code bytes} unless it is outside {@code [1, 2^31 - 16]} (one Java array). */
  public static long byteLimit(long bytes, String what) {
    if (bytes < 1 || bytes > Integer.MAX_VALUE - 16) {
      throw new IllegalArgumentException(what + " must be in [1, 2^31 - 16], was " + bytes);
    }
    return bytes;
  }
}
