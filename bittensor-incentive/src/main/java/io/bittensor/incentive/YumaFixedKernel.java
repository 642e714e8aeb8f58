package io.bittensor.incentive;

import static io.bittensor.incentive.I32F32.ONE;
import static io.bittensor.incentive.I32F32.add;
import static io.bittensor.incentive.I32F32.div;
import static io.bittensor.incentive.I32F32.fromInt;
import static io.bittensor.incentive.I32F32.mul;
import static io.bittensor.incentive.I32F32.sub;

import java.math.BigInteger;
import java.util.Arrays;

/**
 * A Yuma epoch in the chain's number formats (see {@link YumaParams.Precision#FIXED_POINT}): the
 * steps of subtensor's {@code epoch} (run_epoch.rs), restated on {@link YumaLayout}'s sparse
 * patterns with {@link I32F32} arithmetic.
 *
 * <p>The matrix operations take a pattern as parallel arrays: entry {@code k} sits at row
 * {@code rowOf[k]}, column {@code colOf[k]}. Fixed-point addition is exact, so the order in which
 * entries are visited changes no result. Each operation names the chain function it restates.
 */
final class YumaFixedKernel {
  private static final long U16_MAX = fromInt(65535);

  private YumaFixedKernel() {}

  static YumaOutcome run(YumaState state, YumaParams p, YumaLayout layout) {
    int n = layout.n;
    boolean[] permits = state.validatorPermitArray();

    long[] stake = normalizedStake(state.network().stake().raw(), p.minStake());
    boolean[] newPermits = YumaLayout.topKNonZero(stake, p.maxAllowedValidators());
    long[] active = new long[n];
    for (int i = 0; i < n; i++) {
      active[i] = layout.inactive[i] || !permits[i] ? 0 : stake[i];
    }
    normalize(active);

    long[] w = quantizedWeights(layout);
    rowNormalize(layout.wPtr, w);
    long[] preranks = columnDot(n, layout.wRow, layout.wCol, w, active);
    long kappa = div(fromInt(p.kappaU16()), U16_MAX);
    long[] consensus =
        medianColumns(n, layout.cPtr, layout.cEntry, layout.wRow, w, active, kappa);
    long[] clipped = columnClip(layout.wCol, w, consensus);
    long[] validatorTrust = rowDot(n, layout.wRow, clipped);
    long[] ranks = columnDot(n, layout.wRow, layout.wCol, clipped, active);
    long[] trust = new long[n];
    for (int j = 0; j < n; j++) {
      trust[j] = preranks[j] != 0 ? div(ranks[j], preranks[j]) : 0;
    }
    long[] incentive = ranks.clone();
    normalize(incentive);

    long penalty = div(fromInt(p.bondsPenaltyU16()), U16_MAX);
    long[] bondWeights = interpolate(w, clipped, penalty);
    long[] dividends;
    long[] ema;
    if (p.yuma3()) {
      ema = yuma3Ema(layout, p, bondWeights, consensus);
      long[] normalized = ema.clone();
      columnNormalize(normalized, layout.uCol, n);
      long[] perValidator = rowDot(n, layout.uRow, layout.uCol, normalized, incentive);
      dividends = new long[n];
      for (int i = 0; i < n; i++) {
        // The chain's vec_mul: a checked product, 0 when it overflows.
        dividends[i] = I32F32.mulOverflows(perValidator[i], active[i])
            ? 0 : mul(perValidator[i], active[i]);
      }
      normalize(dividends);
    } else {
      ema = classicEma(layout, p, bondWeights, consensus, active);
      columnNormalize(ema, layout.uCol, n);
      dividends = rowDot(n, layout.uRow, layout.uCol, ema, incentive);
      normalize(dividends);
      columnMaxUpscale(ema, layout.uCol, n);
    }

    long[] serverShare = incentive.clone();
    long[] validatorShare = dividends.clone();
    long emissionSum = 0;
    for (int i = 0; i < n; i++) {
      emissionSum = add(emissionSum, add(incentive[i], dividends[i]));
    }
    if (emissionSum != 0) {
      for (int i = 0; i < n; i++) {
        serverShare[i] = div(serverShare[i], emissionSum);
        validatorShare[i] = div(validatorShare[i], emissionSum);
      }
    } else {
      // No incentive and no dividends: the validators' share follows (active) stake.
      validatorShare = sum(active) == 0 ? stake.clone() : active.clone();
    }
    long units = wholeUnits(p.emission().amount(state.network().stake().sum()));

    double[] bonds = new double[ema.length];
    for (int u = 0; u < ema.length; u++) {
      bonds[u] = toU16(ema[u]) / 65535.0;
    }
    return new YumaOutcome(
        toDoubles(stake), toDoubles(active), newPermits, toDoubles(ranks), toDoubles(trust),
        toDoubles(consensus), toDoubles(incentive), toDoubles(dividends),
        toDoubles(validatorTrust), emission(serverShare, units), emission(validatorShare, units),
        bonds);
  }

  /**
   * The chain's stake vector: each stake as a 64.64 fixed-point number, those under
   * {@code minStake} set to 0, normalised in 64.64
   * ({@code inplace_normalize_64}) and truncated to 32.32.
   */
  static long[] normalizedStake(double[] raw, double minStake) {
    int n = raw.length;
    long[] whole = new long[n];
    long wholeTotal = 0;
    boolean integral = true;
    for (int i = 0; i < n && integral; i++) {
      double x = raw[i] < minStake ? 0 : raw[i];
      integral = x == Math.rint(x) && x < 0x1p62 && wholeTotal + x < 0x1p62;
      whole[i] = (long) x;
      wholeTotal += whole[i];
    }
    long[] out = new long[n];
    if (integral) {
      // Whole stakes (rao): floor(floor(s 2^64 / T) / 2^32) = floor(s 2^32 / T), in 128 bits.
      if (wholeTotal != 0) {
        for (int i = 0; i < n; i++) {
          out[i] = I32F32.divideUnsigned128(whole[i] >>> 32, whole[i] << 32, wholeTotal);
        }
      }
      return out;
    }
    BigInteger[] s64 = new BigInteger[n];
    BigInteger total = BigInteger.ZERO;
    for (int i = 0; i < n; i++) {
      // Compared as given, as in the float kernel: flooring a fractional stake first would drop
      // one of 2.5 under a minimum of 2.5.
      BigInteger v = raw[i] < minStake ? BigInteger.ZERO : fixed64(raw[i]);
      s64[i] = v;
      total = total.add(v);
    }
    if (total.signum() == 0) {
      return out;
    }
    for (int i = 0; i < n; i++) {
      // I64F64 division truncates; the conversion to I32F32 drops 32 more fractional bits.
      out[i] = s64[i].shiftLeft(32).divide(total).longValueExact();
    }
    return out;
  }

  /**
   * {@code I64F64::from_num(x)}: {@code x * 2^64} rounded to nearest, ties to even; x finite, >= 0.
   */
  static BigInteger fixed64(double x) {
    if (x == 0) {
      return BigInteger.ZERO;
    }
    long bits = Double.doubleToRawLongBits(x);
    int exponent = (int) ((bits >>> 52) & 0x7FF);
    long mantissa = bits & ((1L << 52) - 1);
    if (exponent == 0) {
      exponent = 1; // subnormal
    } else {
      mantissa |= 1L << 52;
    }
    int shift = exponent - 1075 + 64; // x * 2^64 = mantissa * 2^shift
    if (shift >= 0) {
      return BigInteger.valueOf(mantissa).shiftLeft(shift);
    }
    if (shift < -63) {
      return BigInteger.ZERO; // below half a unit of 2^-64
    }
    long q = mantissa >>> -shift;
    long rem = mantissa & ((1L << -shift) - 1);
    long half = 1L << (-shift - 1);
    if (rem > half || (rem == half && (q & 1) == 1)) {
      q++;
    }
    return BigInteger.valueOf(q);
  }

  /** The chain's {@code inplace_normalize}: each value divided by the sum, unless it is 0. */
  static void normalize(long[] v) {
    long total = sum(v);
    if (total == 0) {
      return;
    }
    for (int i = 0; i < v.length; i++) {
      v[i] = div(v[i], total);
    }
  }

  static long sum(long[] v) {
    long total = 0;
    for (long x : v) {
      total = add(total, x);
    }
    return total;
  }

  /**
   * The surviving weights as the chain stores them: each input row quantised to {@code u16} with
   * its largest entry (over the whole submitted row, before any mask) at 65535.
   */
  private static long[] quantizedWeights(YumaLayout layout) {
    double[] vals = layout.weights.rawVals();
    int[] rowPtr = layout.weights.rawRowPtr();
    long[] w = new long[layout.weightCount()];
    for (int i = 0; i < layout.n; i++) {
      if (layout.wPtr[i] == layout.wPtr[i + 1]) {
        continue;
      }
      double max = 0;
      for (int k = rowPtr[i]; k < rowPtr[i + 1]; k++) {
        max = Math.max(max, vals[k]);
      }
      for (int k = layout.wPtr[i]; k < layout.wPtr[i + 1]; k++) {
        w[k] = fromInt(quantize(vals[layout.wSrc[k]], max));
      }
    }
    return w;
  }

  /** {@code round(65535 v / max)}: the {@code u16} weight a client submits for {@code v}. */
  static long quantize(double v, double max) {
    return (long) Math.floor(65535.0 * (v / max) + 0.5);
  }

  /** The chain's {@code inplace_row_normalize_sparse}: rows with a positive sum scaled to 1. */
  static void rowNormalize(int[] rowPtr, long[] m) {
    for (int i = 0; i + 1 < rowPtr.length; i++) {
      long rowSum = 0;
      for (int k = rowPtr[i]; k < rowPtr[i + 1]; k++) {
        rowSum = add(rowSum, m[k]);
      }
      if (rowSum > 0) {
        for (int k = rowPtr[i]; k < rowPtr[i + 1]; k++) {
          m[k] = div(m[k], rowSum);
        }
      }
    }
  }

  /** The chain's {@code matmul_sparse}: {@code r_j = sum_i v_i m_ij} (ranks). */
  static long[] columnDot(int cols, int[] rowOf, int[] colOf, long[] m, long[] v) {
    long[] r = new long[cols];
    for (int k = 0; k < m.length; k++) {
      r[colOf[k]] = add(r[colOf[k]], mul(v[rowOf[k]], m[k]));
    }
    return r;
  }

  /** The chain's {@code matmul_transpose_sparse}: {@code d_i = sum_j m_ij v_j} (dividends). */
  static long[] rowDot(int rows, int[] rowOf, int[] colOf, long[] m, long[] v) {
    long[] d = new long[rows];
    for (int k = 0; k < m.length; k++) {
      d[rowOf[k]] = add(d[rowOf[k]], mul(v[colOf[k]], m[k]));
    }
    return d;
  }

  /** The chain's {@code row_sum_sparse}. */
  static long[] rowDot(int rows, int[] rowOf, long[] m) {
    long[] d = new long[rows];
    for (int k = 0; k < m.length; k++) {
      d[rowOf[k]] = add(d[rowOf[k]], m[k]);
    }
    return d;
  }

  /** The chain's {@code row_hadamard_sparse}: row {@code i} scaled by {@code v_i}. */
  static long[] rowScale(int[] rowOf, long[] m, long[] v) {
    long[] out = new long[m.length];
    for (int k = 0; k < m.length; k++) {
      out[k] = mul(m[k], v[rowOf[k]]);
    }
    return out;
  }

  /** The chain's {@code col_clip_sparse}: {@code min(m_ij, c_j)}. */
  static long[] columnClip(int[] colOf, long[] m, long[] c) {
    long[] out = new long[m.length];
    for (int k = 0; k < m.length; k++) {
      out[k] = Math.min(m[k], c[colOf[k]]);
    }
    return out;
  }

  /** The chain's {@code inplace_col_normalize_sparse}: columns with a non-zero sum scaled to 1. */
  static void columnNormalize(long[] m, int[] colOf, int cols) {
    long[] sums = new long[cols];
    for (int k = 0; k < m.length; k++) {
      sums[colOf[k]] = add(sums[colOf[k]], m[k]);
    }
    for (int k = 0; k < m.length; k++) {
      long s = sums[colOf[k]];
      if (s != 0) {
        m[k] = div(m[k], s);
      }
    }
  }

  /**
   * The chain's {@code inplace_col_max_upscale_sparse}: each column's largest entry scaled to 1.
   */
  static void columnMaxUpscale(long[] m, int[] colOf, int cols) {
    long[] max = new long[cols];
    for (int k = 0; k < m.length; k++) {
      max[colOf[k]] = Math.max(max[colOf[k]], m[k]);
    }
    for (int k = 0; k < m.length; k++) {
      long c = max[colOf[k]];
      if (c != 0) {
        m[k] = div(m[k], c);
      }
    }
  }

  /**
   * The chain's {@code weighted_median_col_sparse}: per column, the stake-weighted median of the
   * rows' entries, over rows with positive stake (renormalised), a missing entry counting as 0.
   *
   * @param colPtr entries of column {@code j} are {@code colEntry[colPtr[j] .. colPtr[j+1])}
   * @param majority the consensus majority ({@code kappa})
   */
  static long[] medianColumns(
      int cols, int[] colPtr, int[] colEntry, int[] rowOf, long[] m, long[] stake,
      long majority) {
    long[] use = new long[stake.length];
    int voters = 0;
    for (int i = 0; i < stake.length; i++) {
      if (stake[i] > 0) {
        use[i] = stake[i];
        voters++;
      }
    }
    normalize(use);
    long total = sum(use);
    long minority = sub(total, majority);
    long[] median = new long[cols];
    if (voters == 0) {
      return median;
    }
    long[] colStake = new long[voters + 1];
    long[] colScore = new long[voters + 1];
    for (int j = 0; j < cols; j++) {
      int count = 0;
      long voted = 0;
      for (int e = colPtr[j]; e < colPtr[j + 1]; e++) {
        int k = colEntry[e];
        long s = use[rowOf[k]];
        if (s > 0) {
          colStake[count] = s;
          colScore[count++] = m[k];
          voted = add(voted, s);
        }
      }
      if (count < voters) {
        colStake[count] = sub(total, voted); // the voters without an entry: score 0
        colScore[count++] = 0;
      }
      median[j] = selectMedian(colStake, colScore, count, minority);
    }
    return median;
  }

  /**
   * The chain's {@code weighted_median}: the smallest score whose stake at or below it exceeds
   * {@code minority}; the largest score when none does; 0 for no scores. Fixed-point sums are
   * exact, so this is one value whatever the search order, and the chain's mid-pivot search and
   * this one ({@link #selectMedian}) find the same.
   *
   * @param stake not modified
   * @param score not modified
   */
  static long weightedMedian(long[] stake, long[] score, int len, long minority) {
    return selectMedian(Arrays.copyOf(stake, len), Arrays.copyOf(score, len), len, minority);
  }

  /**
   * {@link #weightedMedian} by quickselect: partition around the middle entry into less, equal
   * and greater, and keep the part that holds the answer. Expected linear time.
   *
   * @param stake reordered
   * @param score reordered alongside
   */
  static long selectMedian(long[] stake, long[] score, int len, long minority) {
    int lo = 0;
    int hi = len;
    long below = 0; // stake of the entries discarded below the range
    while (lo < hi) {
      long pivot = score[(lo + hi) >>> 1];
      // Three-way partition of [lo, hi): [lo, lt) < pivot, [lt, gt) == pivot, [gt, hi) > pivot.
      int lt = lo;
      int i = lo;
      int gt = hi;
      long less = 0;
      long equal = 0;
      while (i < gt) {
        long x = score[i];
        if (x < pivot) {
          less = add(less, stake[i]);
          swap(stake, score, lt++, i++);
        } else if (x > pivot) {
          swap(stake, score, i, --gt);
        } else {
          equal = add(equal, stake[i++]);
        }
      }
      if (add(below, less) > minority) {
        if (lt == lo) {
          return pivot; // only when minority < 0: the smallest score
        }
        hi = lt;
      } else if (add(add(below, less), equal) > minority) {
        return pivot;
      } else {
        below = add(add(below, less), equal);
        if (gt == hi) {
          return pivot; // nothing exceeds the minority: the largest score
        }
        lo = gt;
      }
    }
    return 0;
  }

  private static void swap(long[] stake, long[] score, int a, int b) {
    long s = stake[a];
    stake[a] = stake[b];
    stake[b] = s;
    long x = score[a];
    score[a] = score[b];
    score[b] = x;
  }

  /**
   * The chain's {@code interpolate}: {@code a + ratio (b - a)}, exactly {@code a} or {@code b} at 0
   * or 1.
   */
  private static long[] interpolate(long[] a, long[] b, long ratio) {
    if (ratio == 0) {
      return a;
    }
    if (ratio == ONE) {
      return b;
    }
    long[] out = new long[a.length];
    for (int k = 0; k < a.length; k++) {
      out[k] = add(a[k], mul(ratio, sub(b[k], a[k])));
    }
    return out;
  }

  /** The EMA's {@code alpha} with liquid alpha off: {@code 1 - bondsMovingAverage}, via 64.64. */
  private static long constantAlpha(YumaParams p) {
    BigInteger bma64 =
        BigInteger.valueOf(p.bondsMovingAverageMillionths()).shiftLeft(64)
            .divide(BigInteger.valueOf(1_000_000));
    return sub(ONE, bma64.shiftRight(32).longValueExact());
  }

  /** A stored bond as the chain reads it: the {@code u16} value itself ({@code u16_to_fixed}). */
  private static long storedBond(double fraction) {
    return fromInt(Math.round(fraction * 65535));
  }

  /**
   * The classic bond EMA: bonds column-normalised, {@code dB = Wb S} column-normalised, then
   * {@code alpha dB + (1 - alpha) B} (constant or per-target liquid alpha) on the union pattern.
   */
  private static long[] classicEma(
      YumaLayout layout, YumaParams p, long[] bondWeights, long[] consensus, long[] active) {
    int n = layout.n;
    double[] inBonds = layout.bonds.rawVals();
    long[] b = new long[layout.bCol.length];
    for (int k = 0; k < b.length; k++) {
      b[k] = storedBond(inBonds[layout.bSrc[k]]);
    }
    columnNormalize(b, layout.bCol, n);
    long[] delta = rowScale(layout.wRow, bondWeights, active);
    columnNormalize(delta, layout.wCol, n);

    long[] alpha = new long[n];
    if (!p.liquidAlpha() || !liquidColumnAlphas(p, consensus, alpha)) {
      Arrays.fill(alpha, constantAlpha(p));
    }
    long[] ema = new long[layout.uCol.length];
    for (int u = 0; u < ema.length; u++) {
      long a = alpha[layout.uCol[u]];
      long v = layout.uW[u] >= 0 ? mul(a, delta[layout.uW[u]]) : 0;
      if (layout.uB[u] >= 0) {
        v = add(v, mul(sub(ONE, a), b[layout.uB[u]]));
      }
      ema[u] = Math.max(v, 0);
    }
    return ema;
  }

  /**
   * The classic path's liquid alpha: a logistic in each target's consensus through
   * {@code (alphaLow, alphaHigh)} at the consensus' 25th and 75th percentiles, clamped to
   * {@code [alphaLow, alphaHigh]} (the chain's {@code calculate_logistic_params},
   * {@code compute_alpha_values}, {@code clamp_alpha_values}).
   *
   * @param out overwritten with one alpha per target
   * @return false when it does not apply (no consensus at all), leaving {@code out} alone
   */
  private static boolean liquidColumnAlphas(YumaParams p, long[] consensus, long[] out) {
    if (allZero(consensus)) {
      return false;
    }
    long high = quantile(consensus, 0.75);
    long low = quantile(consensus, 0.25);
    if (!(high > low || high != 0 || low < 0)) {
      return false;
    }
    long alphaLow = div(fromInt(p.alphaLowU16()), U16_MAX);
    long alphaHigh = div(fromInt(p.alphaHighU16()), U16_MAX);
    long a = 0;
    long b = 0;
    if (high > low && alphaLow != 0 && alphaHigh != 0) {
      long lnLow = I32F32.safeLn(sub(I32F32.saturatingDiv(ONE, alphaLow), ONE));
      long lnHigh = I32F32.safeLn(sub(I32F32.saturatingDiv(ONE, alphaHigh), ONE));
      a = I32F32.saturatingDiv(sub(lnHigh, lnLow), sub(low, high));
      b = add(lnLow, mul(a, low));
    }
    for (int j = 0; j < consensus.length; j++) {
      long e = I32F32.safeExp(sub(b, mul(a, consensus[j])));
      out[j] = I32F32.clamp(I32F32.saturatingDiv(ONE, add(ONE, e)), alphaLow, alphaHigh);
    }
    return true;
  }

  private static boolean allZero(long[] v) {
    for (long x : v) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }

  /**
   * The chain's {@code quantile}: linear interpolation between the sorted values around position
   * {@code q (n - 1)}, the fraction converted from a double.
   */
  static long quantile(long[] values, double q) {
    long[] sorted = values.clone();
    Arrays.sort(sorted);
    int len = sorted.length;
    if (len == 0) {
      return 0;
    }
    double pos = q * (len - 1);
    int lo = (int) Math.floor(pos);
    int hi = (int) Math.ceil(pos);
    if (lo == hi) {
      return sorted[lo];
    }
    return add(sorted[lo], mul(sub(sorted[hi], sorted[lo]), I32F32.fromDouble(pos - lo)));
  }

  /**
   * Yuma 3's bond EMA, entry by entry on the union pattern, bonds read as {@code u16}
   * proportions: {@code alpha Wb + (1 - alpha) B}, or with liquid alpha (and some consensus) the
   * clamped {@link #emaClamped} with a per-entry {@link #alphaSigmoid}.
   */
  private static long[] yuma3Ema(
      YumaLayout layout, YumaParams p, long[] bondWeights, long[] consensus) {
    double[] inBonds = layout.bonds.rawVals();
    boolean liquid = p.liquidAlpha() && !allZero(consensus);
    long alpha = constantAlpha(p);
    long alphaLow = div(fromInt(p.alphaLowU16()), U16_MAX);
    long alphaHigh = div(fromInt(p.alphaHighU16()), U16_MAX);
    long slope = I32F32.saturatingDiv(fromInt(p.alphaSigmoidSteepnessI16()), fromInt(-100));
    long[] ema = new long[layout.uCol.length];
    for (int u = 0; u < ema.length; u++) {
      long w = layout.uW[u] >= 0 ? bondWeights[layout.uW[u]] : 0;
      long b = layout.uB[u] >= 0
          ? div(storedBond(inBonds[layout.bSrc[layout.uB[u]]]), U16_MAX)
          : 0;
      if (liquid) {
        long a = alphaSigmoid(consensus[layout.uCol[u]], w, b, alphaLow, alphaHigh, slope);
        ema[u] = emaClamped(w, b, a);
      } else {
        ema[u] = Math.max(add(mul(alpha, w), mul(sub(ONE, alpha), b)), 0);
      }
    }
    return ema;
  }

  /**
   * The chain's {@code mat_ema_alpha}, one entry: {@code min((1 - a) old + max(a new, 0), 1)}.
   */
  static long emaClamped(long neu, long old, long a) {
    long decayed = mul(sub(ONE, a), old);
    return Math.min(add(decayed, Math.max(mul(a, neu), 0)), ONE);
  }

  /**
   * The chain's {@code alpha_sigmoid}: a bond moves fast (towards {@code alphaHigh}) when the
   * validator's weight is far above consensus (buying) or far below its bond (selling).
   *
   * @param slope {@code steepness / -100}
   */
  static long alphaSigmoid(long c, long w, long b, long alphaLow, long alphaHigh, long slope) {
    long diffBuy = I32F32.clamp(sub(w, c), 0, ONE);
    long diffSell = I32F32.clamp(sub(b, w), 0, ONE);
    long diff = w >= b ? diffBuy : diffSell;
    long e = I32F32.safeExp(mul(slope, sub(diff, ONE / 2)));
    long sigmoid = I32F32.saturatingDiv(ONE, add(ONE, e));
    long alpha = add(alphaLow, mul(sigmoid, sub(alphaHigh, alphaLow)));
    return I32F32.clamp(alpha, alphaLow, alphaHigh);
  }

  /** The chain's {@code fixed_proportion_to_u16}: {@code floor(x * 65535)}, saturated to u16. */
  static long toU16(long x) {
    long units = I32F32.floor(mul(x, U16_MAX));
    return Math.max(0, Math.min(65535, units));
  }

  /**
   * The amount in whole units, as the chain mints rao.
   *
   * @throws IllegalArgumentException when it does not fit a signed 64-bit integer
   */
  private static long wholeUnits(double amount) {
    if (!(amount < 0x1p63)) {
      throw new IllegalArgumentException(
          "in fixed-point mode the emission per epoch must be below 2^63 whole units, was "
              + amount);
    }
    return (long) Math.floor(amount);
  }

  /** {@code floor(share * units)}, the chain's I96F32 product truncated to u64. */
  private static double[] emission(long[] shares, long units) {
    double[] out = new double[shares.length];
    for (int i = 0; i < shares.length; i++) {
      long s = Math.max(shares[i], 0);
      long hi = Math.multiplyHigh(s, units);
      long lo = s * units;
      out[i] = (double) ((hi << 32) | (lo >>> 32));
    }
    return out;
  }

  private static double[] toDoubles(long[] bits) {
    double[] out = new double[bits.length];
    for (int i = 0; i < bits.length; i++) {
      out[i] = I32F32.toDouble(bits[i]);
    }
    return out;
  }
}
