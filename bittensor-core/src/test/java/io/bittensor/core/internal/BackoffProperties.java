package io.bittensor.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * On seeded random first and longest back-offs: each delay lies in [d/2, d] for a back-off d that
 * doubles from the first and stays at the longest, reset starts it again, and the draws are
 * those the neuron's registrar, {@code neuron run} and the ledger client made before they shared
 * this class (so their seeded timings did not change).
 */
class BackoffProperties {
  static LongStream seeds() {
    return LongStream.range(0, 200).map(i -> 0xbac0ffL + i);
  }

  /** A first back-off and a longest one, from 1 up to past half of Long.MAX_VALUE. */
  private static long[] firstAndLongest(SplittableRandom r) {
    long first = switch (r.nextInt(4)) {
      case 0 -> 1 + r.nextInt(4);
      case 1 -> 1 + r.nextLong(10_000);
      case 2 -> 1L << r.nextInt(62);
      default -> 1 + r.nextLong(Long.MAX_VALUE / 2);
    };
    long longest = r.nextBoolean() ? first << r.nextInt(Long.numberOfLeadingZeros(first))
        : first + r.nextLong(Long.MAX_VALUE - first);
    return new long[] {first, longest};
  }

  /** The back-off before its k-th delay (k from 0): the first doubled k times, capped. */
  private static long expected(long first, long longest, int k) {
    long d = first;
    for (int i = 0; i < k; i++) {
      d = d > longest / 2 ? longest : d * 2;
    }
    return d;
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void eachDelayIsInHalfTheBackOffToAllOfItAsItDoublesToTheLongest(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    long[] fl = firstAndLongest(r);
    long first = fl[0];
    long longest = fl[1];
    Backoff jittered = Backoff.jittered(first, longest, new SplittableRandom(seed + 1));
    Backoff exact = Backoff.exact(first, longest);
    for (int k = 0; k < 70; k++) {
      long d = expected(first, longest, k);
      String where = "seed " + seed + ", first " + first + ", longest " + longest + ", delay " + k;
      assertEquals(d, exact.next(), where);
      long delay = jittered.next();
      assertTrue(delay >= d - d / 2 && delay <= d && delay >= 1,
          () -> where + ": " + delay + " is not in [" + (d - d / 2) + ", " + d + "]");
    }
    assertEquals(longest, exact.next(), "seed " + seed + ": capped at the longest");
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void resetStartsAgainFromTheFirst(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    long[] fl = firstAndLongest(r);
    Backoff exact = Backoff.exact(fl[0], fl[1]);
    int before = r.nextInt(80);
    for (int k = 0; k < before; k++) {
      exact.next();
    }
    exact.reset();
    for (int k = 0; k < 5; k++) {
      assertEquals(expected(fl[0], fl[1], k), exact.next(),
          "seed " + seed + ": delay " + k + " after a reset that followed " + before);
    }
  }

  /** The formula the three callers inlined before: the same generator gives the same delays. */
  @ParameterizedTest
  @MethodSource("seeds")
  void theDrawsAreThoseTheCallersMadeBefore(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    long first = 1 + r.nextLong(5_000);
    long longest = first * (1 + r.nextInt(64));
    Backoff backoff = Backoff.jittered(first, longest, new SplittableRandom(seed));
    SplittableRandom inline = new SplittableRandom(seed);
    long b = first;
    for (int k = 0; k < 20; k++) {
      long want = b - inline.nextLong(b / 2 + 1);
      b = Math.min(longest, b * 2);
      assertEquals(want, backoff.next(), "seed " + seed + ", delay " + k);
    }
  }

  /** Jittered delays spread over the range: not all at the back-off, nor all at its half. */
  @ParameterizedTest
  @MethodSource("seeds")
  void jitteredDelaysSpreadOverTheirRange(long seed) {
    long[] seen = {Long.MAX_VALUE, 0};
    for (int i = 0; i < 50; i++) {
      Backoff b = Backoff.jittered(1_000, 1_000, new SplittableRandom(seed * 50 + i));
      long delay = b.next();
      seen[0] = Math.min(seen[0], delay);
      seen[1] = Math.max(seen[1], delay);
    }
    assertTrue(seen[0] < 600 && seen[1] > 900,
        "seed " + seed + ": 50 delays of a 1000 back-off spanned only " + seen[0] + " to "
            + seen[1]);
  }

  @Test
  void aBackOffOutOfRangeIsRefusedWithItsValues() {
    for (long[] bad : new long[][] {{0, 10}, {-1, 10}, {10, 9}}) {
      String m = assertThrows(IllegalArgumentException.class,
          () -> Backoff.exact(bad[0], bad[1])).getMessage();
      assertTrue(m.contains("first " + bad[0] + ", longest " + bad[1]), m);
    }
    assertThrows(NullPointerException.class, () -> Backoff.jittered(1, 2, null));
  }
}
