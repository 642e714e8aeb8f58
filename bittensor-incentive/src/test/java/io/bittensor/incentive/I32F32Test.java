package io.bittensor.incentive;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.math.BigInteger;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The 32.32 arithmetic against exact big-integer references: the rounding of each operation is
 * what the chain's numbers depend on.
 */
class I32F32Test {
  private static final BigInteger MIN = BigInteger.valueOf(Long.MIN_VALUE);
  private static final BigInteger MAX = BigInteger.valueOf(Long.MAX_VALUE);

  static long[] seeds() {
    return new long[] {1, 2, 3, 4, 5, 6, 7, 8};
  }

  /** Random bits over every magnitude: small fractions, values near 1, near the limits. */
  private static long randomBits(SplittableRandom random) {
    int shift = random.nextInt(64);
    long v = random.nextLong() >>> shift;
    return random.nextBoolean() ? v : -v;
  }

  /**
   * Where the rounding and saturation decide: the limits, one unit either side of 0, of 1.0 and
   * of the integer range's ends, and the powers of two whose quotients land exactly on 2^63.
   */
  private static final long[] EDGES = edges();

  private static long[] edges() {
    long one = I32F32.ONE;
    long[] base = {Long.MIN_VALUE, Long.MAX_VALUE, 0, 1, 2, one, 1L << 31, 1L << 62, 3L << 61,
        1L << 33, Long.MAX_VALUE / 3};
    long[] out = new long[base.length * 6];
    int k = 0;
    for (long b : base) {
      for (long v : new long[] {b, b - 1, b + 1}) {
        out[k++] = v;
        out[k++] = -v; // -MIN is MIN: the limit twice
      }
    }
    return java.util.Arrays.stream(out).distinct().toArray();
  }

  /** Calls {@code check} on every pair of edges, then on 10,000 random pairs of the seed's. */
  private static void eachPair(long seed, java.util.function.BiConsumer<Long, Long> check) {
    for (long a : EDGES) {
      for (long b : EDGES) {
        check.accept(a, b);
      }
    }
    SplittableRandom random = new SplittableRandom(seed);
    for (int t = 0; t < 10_000; t++) {
      check.accept(randomBits(random), randomBits(random));
    }
  }

  private static long saturate(BigInteger exact) {
    return exact.compareTo(MAX) > 0 ? Long.MAX_VALUE
        : exact.compareTo(MIN) < 0 ? Long.MIN_VALUE : exact.longValueExact();
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void multiplicationFloorsTheExactProductAndSaturates(long seed) {
    eachPair(seed, (a, b) -> {
      BigInteger exact = BigInteger.valueOf(a).multiply(BigInteger.valueOf(b)).shiftRight(32);
      assertEquals(saturate(exact), I32F32.mul(a, b), "seed " + seed + ": " + a + " * " + b);
      assertEquals(exact.compareTo(MAX) > 0 || exact.compareTo(MIN) < 0,
          I32F32.mulOverflows(a, b), "seed " + seed + ": overflow of " + a + " * " + b);
    });
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void divisionTruncatesTowardsZeroAndAnswersZeroOnOverflow(long seed) {
    eachPair(seed, (a, b) -> {
      if (b == 0) {
        return;
      }
      // BigInteger division truncates towards zero, as Rust's does.
      BigInteger exact = BigInteger.valueOf(a).shiftLeft(32).divide(BigInteger.valueOf(b));
      boolean fits = exact.compareTo(MAX) <= 0 && exact.compareTo(MIN) >= 0;
      String what = "seed " + seed + ": " + a + " / " + b;
      assertEquals(fits ? exact.longValueExact() : 0, I32F32.div(a, b), what);
      assertEquals(saturate(exact), I32F32.saturatingDiv(a, b), what + " (saturating)");
      assertEquals(!fits, I32F32.divOverflows(a, b), what + " (overflow)");
    });
  }

  @Test
  void divisionByZeroIsZeroForSafeDivision() {
    assertEquals(0, I32F32.div(I32F32.ONE, 0));
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void unsignedWideDivisionMatchesBigInteger(long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    BigInteger two64 = BigInteger.ONE.shiftLeft(64);
    for (int t = 0; t < 10_000; t++) {
      long v = random.nextLong() >>> random.nextInt(63);
      if (v == 0) {
        continue;
      }
      BigInteger uv = new BigInteger(Long.toUnsignedString(v));
      long u1 = Long.remainderUnsigned(random.nextLong(), v); // u1 < v: the quotient fits
      long u0 = random.nextLong();
      BigInteger num = new BigInteger(Long.toUnsignedString(u1)).multiply(two64)
          .add(new BigInteger(Long.toUnsignedString(u0)));
      BigInteger q = num.divide(uv);
      assertEquals(q.longValue(), I32F32.divideUnsigned128(u1, u0, v),
          "seed " + seed + ": (" + u1 + ", " + u0 + ") / " + v);
    }
  }

  @Test
  void fromDoubleRoundsToNearestWithTiesToEven() {
    assertEquals(0, I32F32.fromDouble(0x1p-33)); // half a unit: tie to even (0)
    assertEquals(2, I32F32.fromDouble(3 * 0x1p-33)); // 1.5 units: tie to even (2)
    assertEquals(1, I32F32.fromDouble(0x1p-33 + 0x1p-40));
    assertEquals(1_717_986_918L, I32F32.fromDouble(0.4)); // 0.4 * 2^32 = 1717986918.4
    assertEquals(Long.MAX_VALUE, I32F32.fromDouble(1e300));
    assertEquals(Long.MIN_VALUE, I32F32.fromDouble(-1e300));
  }

  @Test
  void expIsTheCratesSeriesCloseToTheTrueValue() {
    assertEquals(I32F32.ONE, I32F32.exp(0));
    // exp(1) is the crate's constant e with 23 fractional bits.
    assertEquals(22_802_600L << 9, I32F32.exp(I32F32.ONE));
    // The crate sums 31 Taylor terms: close for |x| <= 8; beyond, it falls short as the chain's
    // exp does (e.g. exp(12.19) is 0.34 low), which the conformance vectors pin exactly.
    for (double x = -8; x <= 8; x += 0.37) {
      long bits = I32F32.fromDouble(x);
      double got = I32F32.toDouble(I32F32.exp(bits));
      double want = Math.exp(I32F32.toDouble(bits));
      assertEquals(want, got, 1e-6 * want + 1e-8, "exp(" + x + ")");
    }
  }

  @Test
  void expReportsOverflowAndExpSafeClampsItsInput() {
    assertEquals(Long.MIN_VALUE, I32F32.exp(I32F32.fromInt(30)), "e^30 > 2^31");
    assertEquals(0, I32F32.safeExp(I32F32.fromInt(30)));
    assertEquals(I32F32.exp(I32F32.fromInt(20)), I32F32.expSafe(I32F32.MAX));
    assertEquals(I32F32.exp(I32F32.fromInt(-20)), I32F32.expSafe(I32F32.MIN));
    // Each way the series can overflow, as the crate reports it: the most negative input (its
    // negation does not exist), 1 + x past the maximum, a term past it. A negative input sums
    // the series of its magnitude first, so exp(-30), though tiny, reports the overflow too;
    // exp_safe clamps it to -20 first.
    assertEquals(Long.MIN_VALUE, I32F32.exp(I32F32.MIN));
    assertEquals(Long.MIN_VALUE, I32F32.exp(I32F32.MAX));
    assertEquals(Long.MIN_VALUE, I32F32.exp(I32F32.MAX - I32F32.ONE + 1));
    assertEquals(Long.MIN_VALUE, I32F32.exp(I32F32.fromInt(-30)));
    assertEquals(0, I32F32.safeExp(I32F32.fromInt(-30)));
    assertEquals(I32F32.exp(I32F32.fromInt(-20)), I32F32.expSafe(I32F32.fromInt(-30)));
    assertEquals(I32F32.exp(I32F32.fromInt(20)), I32F32.expSafe(I32F32.fromInt(30)));
    assertNotEquals(0, I32F32.exp(I32F32.fromInt(-20)));
  }

  @Test
  void lnInvertsExpAndRejectsNonPositiveInput() {
    for (double x : new double[] {0.001, 0.1, 0.428_571, 0.9, 1, 2.5, 1000, 1e6}) {
      double got = I32F32.toDouble(I32F32.ln(I32F32.fromDouble(x)));
      assertEquals(Math.log(x), got, 2e-6, "ln(" + x + ")");
    }
    assertEquals(Long.MIN_VALUE, I32F32.ln(0));
    assertEquals(0, I32F32.safeLn(-I32F32.ONE));
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void wholeStakesTakeTheFastPathToTheSameNumbers(long seed) {
    // Halving every stake changes nothing in exact arithmetic: the whole stakes take the 128-bit
    // path, their halves (some fractional) the 64.64 big-integer path of the chain's formats.
    SplittableRandom random = new SplittableRandom(seed);
    int n = 1 + random.nextInt(300);
    double[] whole = new double[n];
    double[] halves = new double[n];
    for (int i = 0; i < n; i++) {
      whole[i] = random.nextInt(4) == 0 ? 0 : random.nextLong(1, 1L << 50);
      halves[i] = whole[i] / 2;
    }
    whole[0] = 2 * random.nextLong(0, 1L << 49) + 1; // odd: its half is fractional
    halves[0] = whole[0] / 2;
    assertEquals(java.util.Arrays.toString(YumaFixedKernel.normalizedStake(whole, 0)),
        java.util.Arrays.toString(YumaFixedKernel.normalizedStake(halves, 0)), "seed " + seed);
  }

  @Test
  void fixed64RoundsADoubleToTheNearest64thBit() {
    assertEquals(BigInteger.ONE.shiftLeft(64), YumaFixedKernel.fixed64(1.0));
    assertEquals(BigInteger.valueOf(3).shiftLeft(62), YumaFixedKernel.fixed64(0.75));
    assertEquals(BigInteger.ZERO, YumaFixedKernel.fixed64(0x1p-66)); // a quarter unit
    assertEquals(BigInteger.ONE, YumaFixedKernel.fixed64(0x1p-64 * 1.5 - 0x1p-64 / 2)); // 1 unit
    assertEquals(BigInteger.valueOf(2), YumaFixedKernel.fixed64(0x1p-64 * 1.5)); // tie to even
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void additionAndSubtractionSaturateExactly(long seed) {
    eachPair(seed, (a, b) -> {
      BigInteger x = BigInteger.valueOf(a);
      BigInteger y = BigInteger.valueOf(b);
      assertEquals(saturate(x.add(y)), I32F32.add(a, b), a + " + " + b);
      assertEquals(saturate(x.subtract(y)), I32F32.sub(a, b), a + " - " + b);
    });
  }

  @Test
  void integersSaturateAtTheRangesEnds() {
    for (long v : new long[] {Long.MIN_VALUE, -(1L << 31) - 1, -(1L << 31), -1, 0, 1,
        (1L << 31) - 1, 1L << 31, Long.MAX_VALUE}) {
      assertEquals(saturate(BigInteger.valueOf(v).shiftLeft(32)), I32F32.fromInt(v), "" + v);
    }
  }

  @Test
  void additionAndSubtractionSaturate() {
    assertEquals(Long.MAX_VALUE, I32F32.add(Long.MAX_VALUE, 1));
    assertEquals(Long.MIN_VALUE, I32F32.sub(Long.MIN_VALUE, 1));
    assertEquals(Long.MAX_VALUE, I32F32.sub(0, Long.MIN_VALUE));
    assertEquals(7, I32F32.add(3, 4));
    assertEquals(-1, I32F32.sub(3, 4));
  }
}
