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

  /**
   * {@code d} as OkHttp takes a timeout: at most 2^31 - 1 ms (about 24 days; a longer one means
   * no limit to speak of), which OkHttp refuses past ("timeout too large", or the JDK's "long
   * overflow" for {@code Duration.ofSeconds(Long.MAX_VALUE)}).
   */
  public static Duration forOkHttp(Duration d) {
    Duration most = Duration.ofMillis(Integer.MAX_VALUE);
    return d.compareTo(most) > 0 ? most : d;
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
