package io.bittensor.incentive;

/**
 * Signed 32.32 fixed-point arithmetic on {@code long} bits, with the rounding and overflow rules
 * of the Rust {@code substrate_fixed::types::I32F32} that the chain's epoch uses: a value {@code v}
 * is stored as {@code bits = v * 2^32}.
 *
 * <ul>
 *   <li>Multiplication keeps the high bits of the exact product: it rounds towards minus
 *       infinity ({@code (a * b) >> 32}).
 *   <li>Division truncates towards zero ({@code (a << 32) / b}).
 *   <li>{@code safe} division answers 0 for a zero divisor or a quotient that does not fit, as the
 *       chain's {@code safe_div}; {@code saturating} operations clamp to the range instead.
 *   <li>{@link #fromDouble} rounds to nearest, ties to even, as {@code from_num(f64)}.
 *   <li>{@link #exp} and {@link #ln} are the crate's own series, bit for bit.
 * </ul>
 *
 * <p>Internal to the Yuma kernels; stateless, hence thread-safe.
 */
final class I32F32 {
  /** The number of fractional bits. */
  static final int FRAC_BITS = 32;
  /** 1.0 */
  static final long ONE = 1L << FRAC_BITS;
  /** The largest value, just under 2^31. */
  static final long MAX = Long.MAX_VALUE;
  /** The smallest value, -2^31. */
  static final long MIN = Long.MIN_VALUE;

  /** e, as the crate keeps it: 23 fractional bits (I9F23), widened. */
  private static final long E = 22_802_600L << 9;
  /** log2(e) with 23 fractional bits (I9F23), widened. */
  private static final long LOG2_E = 12_102_203L << 9;
  private static final long TWO = 2 * ONE;
  private static final long MASK32 = 0xFFFF_FFFFL;

  private I32F32() {}

  /** The integer {@code v}, saturated to the range. */
  static long fromInt(long v) {
    if (v >= (1L << 31)) {
      return MAX;
    }
    if (v < -(1L << 31)) {
      return MIN;
    }
    return v << FRAC_BITS;
  }

  /** The nearest value to {@code x} (ties to even), saturated to the range. */
  static long fromDouble(double x) {
    if (Double.isNaN(x)) {
      throw new IllegalArgumentException("NaN has no fixed-point value");
    }
    double scaled = Math.rint(x * 0x1p32);
    if (scaled >= 0x1p63) {
      return MAX;
    }
    if (scaled < -0x1p63) {
      return MIN;
    }
    return (long) scaled;
  }

  /** The value as a double (exact while |value| < 2^21). */
  static double toDouble(long bits) {
    return bits * 0x1p-32;
  }

  /** The integer part, rounded towards minus infinity (the crate's {@code to_num}). */
  static long floor(long bits) {
    return bits >> FRAC_BITS;
  }

  /** {@code a + b}, saturated. */
  static long add(long a, long b) {
    long r = a + b;
    if (((a ^ r) & (b ^ r)) < 0) {
      return a < 0 ? MIN : MAX;
    }
    return r;
  }

  /** {@code a - b}, saturated. */
  static long sub(long a, long b) {
    long r = a - b;
    if (((a ^ b) & (a ^ r)) < 0) {
      return a < 0 ? MIN : MAX;
    }
    return r;
  }

  /** True when {@code a * b} does not fit the range. */
  static boolean mulOverflows(long a, long b) {
    long hi = Math.multiplyHigh(a, b);
    long top = hi >> 31;
    return top != 0 && top != -1;
  }

  /** {@code a * b} rounded towards minus infinity, saturated. */
  static long mul(long a, long b) {
    long hi = Math.multiplyHigh(a, b);
    long top = hi >> 31;
    if (top != 0 && top != -1) {
      return (a < 0) == (b < 0) ? MAX : MIN;
    }
    return (hi << 32) | ((a * b) >>> 32);
  }

  /**
   * {@code a / b} truncated towards zero; 0 when {@code b == 0} or the quotient does not fit (the
   * chain's {@code safe_div}).
   */
  static long div(long a, long b) {
    if (b == 0) {
      return 0;
    }
    long q = magnitudeQuotient(a, b);
    if ((a < 0) != (b < 0)) {
      return Long.compareUnsigned(q, 1L << 63) > 0 ? 0 : -q;
    }
    return q < 0 ? 0 : q;
  }

  /**
   * {@code a / b} truncated towards zero, saturated when the quotient does not fit.
   *
   * @throws ArithmeticException when {@code b == 0}, as the crate panics
   */
  static long saturatingDiv(long a, long b) {
    if (b == 0) {
      throw new ArithmeticException("fixed-point division by zero");
    }
    long q = magnitudeQuotient(a, b);
    if ((a < 0) != (b < 0)) {
      return Long.compareUnsigned(q, 1L << 63) > 0 ? MIN : -q;
    }
    return q < 0 ? MAX : q;
  }

  /** Whether {@code a / b} does not fit the range; {@code b != 0}. */
  static boolean divOverflows(long a, long b) {
    long q = magnitudeQuotient(a, b);
    return (a < 0) != (b < 0) ? Long.compareUnsigned(q, 1L << 63) > 0 : q < 0;
  }

  /**
   * {@code |a| * 2^32 / |b|} truncated, as an unsigned 64-bit number; all ones when it needs more
   * than 64 bits (too large for any signed result either way).
   */
  private static long magnitudeQuotient(long a, long b) {
    long ua = a < 0 ? -a : a; // |MIN| = 2^63 reads correctly as unsigned
    long ub = b < 0 ? -b : b;
    // Fast path: drop the divisor's trailing zero bits (up to 32) from the shift; when what is
    // left of a << 32 fits 63 bits, one 64-bit division is exact. It always does for a < 0.5,
    // and for whole-number divisors (sums of u16 weights and bonds) whenever a < 2^31.
    int k = Math.min(32, Long.numberOfTrailingZeros(ub));
    int shift = 32 - k;
    if (ua >>> (63 - shift) == 0) {
      return Long.divideUnsigned(ua << shift, ub >>> k);
    }
    long hi = ua >>> 32;
    long lo = ua << 32;
    if (Long.compareUnsigned(hi, ub) >= 0) {
      return -1L;
    }
    return divideUnsigned128(hi, lo, ub);
  }

  /**
   * Unsigned {@code (u1 * 2^64 + u0) / v}, for {@code u1 < v} (so the quotient fits 64 bits):
   * long division in base 2^32 after normalising the divisor (Knuth's algorithm D, as in Hacker's
   * Delight {@code divlu}).
   */
  static long divideUnsigned128(long u1, long u0, long v) {
    if (u1 == 0) {
      return Long.divideUnsigned(u0, v);
    }
    final long b = 1L << 32;
    int s = Long.numberOfLeadingZeros(v);
    v <<= s;
    long vn1 = v >>> 32;
    long vn0 = v & MASK32;
    long un32 = (u1 << s) | (s == 0 ? 0 : u0 >>> (64 - s));
    long un10 = u0 << s;
    long un1 = un10 >>> 32;
    long un0 = un10 & MASK32;

    long q1 = Long.divideUnsigned(un32, vn1);
    long rhat = Long.remainderUnsigned(un32, vn1);
    while (q1 >= b || Long.compareUnsigned(q1 * vn0, (rhat << 32) | un1) > 0) {
      q1--;
      rhat += vn1;
      if (rhat >= b) {
        break;
      }
    }
    long un21 = (un32 << 32) + un1 - q1 * v;

    long q0 = Long.divideUnsigned(un21, vn1);
    rhat = Long.remainderUnsigned(un21, vn1);
    while (q0 >= b || Long.compareUnsigned(q0 * vn0, (rhat << 32) | un0) > 0) {
      q0--;
      rhat += vn1;
      if (rhat >= b) {
        break;
      }
    }
    return (q1 << 32) + q0;
  }

  /**
   * {@code min(max(value, low), high)} in the chain's order: first at most {@code high}, then at
   * least {@code low}.
   */
  static long clamp(long value, long low, long high) {
    return Math.max(Math.min(value, high), low);
  }

  /**
   * The crate's {@code exp}: a 31-term Taylor series, {@code 1 / exp(-x)} for negative {@code x}.
   *
   * @return the value, or {@code Long.MIN_VALUE} when a step overflows (the crate's error); note
   *     MIN is never a valid result, since exp is positive
   */
  static long exp(long x) {
    if (x == 0) {
      return ONE;
    }
    if (x == ONE) {
      return E;
    }
    boolean negative = x < 0;
    if (negative) {
      if (x == MIN) {
        return Long.MIN_VALUE;
      }
      x = -x;
    }
    long result = x + ONE;
    if (result < 0) {
      return Long.MIN_VALUE;
    }
    long term = x;
    for (int i = 2; i < FRAC_BITS; i++) {
      if (mulOverflows(term, x)) {
        return Long.MIN_VALUE;
      }
      term = mul(term, x);
      term = div(term, (long) i << FRAC_BITS); // never overflows: dividing by i >= 2
      long next = result + term;
      if (((result ^ next) & (term ^ next)) < 0) {
        return Long.MIN_VALUE;
      }
      result = next;
    }
    if (negative) {
      if (divOverflows(ONE, result)) {
        return Long.MIN_VALUE;
      }
      result = div(ONE, result);
    }
    return result;
  }

  /** The chain's {@code exp_safe}: the input clamped to [-20, 20] first. */
  static long expSafe(long x) {
    long clamped = clamp(x, fromInt(-20), fromInt(20));
    long r = exp(clamped);
    if (r == Long.MIN_VALUE) {
      return clamped <= 0 ? 0 : MAX;
    }
    return r;
  }

  /** The chain's {@code safe_exp}: {@link #exp}, with 0 for an overflow. */
  static long safeExp(long x) {
    long r = exp(x);
    return r == Long.MIN_VALUE ? 0 : r;
  }

  /**
   * The chain's {@code sigmoid_safe}: {@code 1 / (1 + exp_safe(-rho (x - kappa)))}, every step
   * saturating.
   */
  static long sigmoidSafe(long x, long rho, long kappa) {
    long offset = sub(x, kappa);
    long negRho = mul(rho, -ONE);
    long e = expSafe(mul(negRho, offset));
    return div(ONE, add(e, ONE));
  }

  /** Rounding right shift by one bit (the crate's {@code rs}). */
  private static long rs(long x) {
    return (x >> 1) + (x & 1);
  }

  /** The crate's binary logarithm for {@code x >= 1}. */
  private static long log2Inner(long x) {
    long result = 0;
    while (x >= TWO) {
      result += 1;
      x = rs(x);
    }
    if (x == ONE) {
      return result << FRAC_BITS;
    }
    for (int i = 0; i < FRAC_BITS; i++) {
      x = mul(x, x);
      result <<= 1;
      if (x >= TWO) {
        result |= 1;
        x = rs(x);
      }
    }
    return result;
  }

  /**
   * The crate's {@code ln}: {@code log2(x) / log2(e)}.
   *
   * @return the value, or {@code Long.MIN_VALUE} for {@code x <= 0} (the crate's error)
   */
  static long ln(long x) {
    if (x <= 0) {
      return Long.MIN_VALUE;
    }
    long log2 = x < ONE ? -log2Inner(div(ONE, x)) : log2Inner(x);
    return div(log2, LOG2_E);
  }

  /** The chain's {@code safe_ln}: {@link #ln}, with 0 for non-positive input. */
  static long safeLn(long x) {
    long r = ln(x);
    return r == Long.MIN_VALUE ? 0 : r;
  }
}
