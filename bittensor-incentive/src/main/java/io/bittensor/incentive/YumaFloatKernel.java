package io.bittensor.incentive;

import java.util.Arrays;

/**
 * A Yuma epoch in plain doubles (see {@link YumaParams.Precision#FLOAT64}): the steps of
 * {@link YumaFixedKernel}, operation for operation, without quantising weights or bonds, with
 * {@code Math.exp} and {@code Math.log} for the liquid-alpha curves. Dense and sparse inputs share
 * this one kernel (on {@link YumaLayout}'s sparse patterns), so they agree to the last bit.
 */
final class YumaFloatKernel {
  private YumaFloatKernel() {}

  static YumaOutcome run(YumaState state, YumaParams p, YumaLayout layout) {
    int n = layout.n;
    boolean[] permits = state.validatorPermitArray();
    double[] raw = state.network().stake().raw();

    double[] stake = new double[n];
    long[] keys = new long[n];
    for (int i = 0; i < n; i++) {
      stake[i] = raw[i] < p.minStake() ? 0 : raw[i] + 0.0; // + 0.0: -0.0 becomes 0.0
    }
    normalize(stake);
    for (int i = 0; i < n; i++) {
      keys[i] = Double.doubleToLongBits(stake[i]); // stake >= 0: the bits order as the values
    }
    boolean[] newPermits = YumaLayout.topKNonZero(keys, p.maxAllowedValidators());
    double[] active = new double[n];
    for (int i = 0; i < n; i++) {
      active[i] = layout.inactive[i] || !permits[i] ? 0 : stake[i];
    }
    normalize(active);

    double[] w = new double[layout.weightCount()];
    double[] inWeights = layout.weights.rawVals();
    for (int k = 0; k < w.length; k++) {
      w[k] = inWeights[layout.wSrc[k]];
    }
    rowNormalize(layout.wPtr, w);
    double[] preranks = columnDot(n, layout.wRow, layout.wCol, w, active);
    double[] consensus =
        medianColumns(n, layout.cPtr, layout.cEntry, layout.wRow, w, active, p.kappa());
    double[] clipped = columnClip(layout.wCol, w, consensus);
    double[] validatorTrust = rowDot(n, layout.wRow, clipped);
    double[] ranks = columnDot(n, layout.wRow, layout.wCol, clipped, active);
    double[] trust = new double[n];
    for (int j = 0; j < n; j++) {
      trust[j] = preranks[j] != 0 ? ranks[j] / preranks[j] : 0;
    }
    double[] incentive = ranks.clone();
    normalize(incentive);

    double[] bondWeights = interpolate(w, clipped, p.bondsPenalty());
    double[] dividends;
    double[] ema;
    if (p.yuma3()) {
      ema = yuma3Ema(layout, p, bondWeights, consensus);
      double[] normalized = ema.clone();
      columnNormalize(normalized, layout.uCol, n);
      dividends = rowDot(n, layout.uRow, layout.uCol, normalized, incentive);
      for (int i = 0; i < n; i++) {
        dividends[i] *= active[i];
      }
      normalize(dividends);
    } else {
      ema = classicEma(layout, p, bondWeights, consensus, active);
      columnNormalize(ema, layout.uCol, n);
      dividends = rowDot(n, layout.uRow, layout.uCol, ema, incentive);
      normalize(dividends);
      columnMaxUpscale(ema, layout.uCol, n);
    }

    double[] serverShare = incentive.clone();
    double[] validatorShare = dividends.clone();
    double emissionSum = 0;
    for (int i = 0; i < n; i++) {
      emissionSum += incentive[i] + dividends[i];
    }
    if (emissionSum != 0) {
      for (int i = 0; i < n; i++) {
        serverShare[i] /= emissionSum;
        validatorShare[i] /= emissionSum;
      }
    } else {
      validatorShare = sum(active) == 0 ? stake.clone() : active.clone();
    }
    double amount = p.emission().amount(state.network().stake().sum());
    for (int i = 0; i < n; i++) {
      // A zero share is paid nothing even when the amount overflows (0 * Infinity is NaN).
      serverShare[i] = serverShare[i] == 0 ? 0.0 : serverShare[i] * amount;
      validatorShare[i] = validatorShare[i] == 0 ? 0.0 : validatorShare[i] * amount;
    }
    return new YumaOutcome(stake, active, newPermits, ranks, trust, consensus, incentive,
        dividends, validatorTrust, serverShare, validatorShare, ema);
  }

  /** Each value divided by the sum, unless the sum is 0. */
  static void normalize(double[] v) {
    double total = sum(v);
    if (total == 0) {
      return;
    }
    for (int i = 0; i < v.length; i++) {
      v[i] /= total;
    }
  }

  static double sum(double[] v) {
    double total = 0;
    for (double x : v) {
      total += x;
    }
    return total;
  }

  /**
   * As {@link YumaFixedKernel#rowNormalize}. A row whose sum overflows is first scaled by a power
   * of two (its largest entry into {@code [1, 2)}): it normalises as it would at unit scale.
   */
  static void rowNormalize(int[] rowPtr, double[] m) {
    for (int i = 0; i + 1 < rowPtr.length; i++) {
      double rowSum = 0;
      for (int k = rowPtr[i]; k < rowPtr[i + 1]; k++) {
        rowSum += m[k];
      }
      if (rowSum == Double.POSITIVE_INFINITY) {
        double max = 0;
        for (int k = rowPtr[i]; k < rowPtr[i + 1]; k++) {
          max = Math.max(max, m[k]);
        }
        double scale = Math.scalb(1.0, -Math.getExponent(max));
        rowSum = 0;
        for (int k = rowPtr[i]; k < rowPtr[i + 1]; k++) {
          m[k] *= scale;
          rowSum += m[k];
        }
      }
      if (rowSum > 0) {
        for (int k = rowPtr[i]; k < rowPtr[i + 1]; k++) {
          m[k] /= rowSum;
        }
      }
    }
  }

  /** As {@link YumaFixedKernel#columnDot}: {@code r_j = sum_i v_i m_ij}. */
  static double[] columnDot(int cols, int[] rowOf, int[] colOf, double[] m, double[] v) {
    double[] r = new double[cols];
    for (int k = 0; k < m.length; k++) {
      r[colOf[k]] += v[rowOf[k]] * m[k];
    }
    return r;
  }

  /**
   * As {@link YumaFixedKernel#rowDot(int, int[], int[], long[], long[])}: {@code d_i = sum_j m_ij
   * v_j}.
   */
  static double[] rowDot(int rows, int[] rowOf, int[] colOf, double[] m, double[] v) {
    double[] d = new double[rows];
    for (int k = 0; k < m.length; k++) {
      d[rowOf[k]] += v[colOf[k]] * m[k];
    }
    return d;
  }

  /** Row sums. */
  static double[] rowDot(int rows, int[] rowOf, double[] m) {
    double[] d = new double[rows];
    for (int k = 0; k < m.length; k++) {
      d[rowOf[k]] += m[k];
    }
    return d;
  }

  /** As {@link YumaFixedKernel#rowScale}: row {@code i} scaled by {@code v_i}. */
  static double[] rowScale(int[] rowOf, double[] m, double[] v) {
    double[] out = new double[m.length];
    for (int k = 0; k < m.length; k++) {
      out[k] = m[k] * v[rowOf[k]];
    }
    return out;
  }

  /** As {@link YumaFixedKernel#columnClip}: {@code min(m_ij, c_j)}. */
  static double[] columnClip(int[] colOf, double[] m, double[] c) {
    double[] out = new double[m.length];
    for (int k = 0; k < m.length; k++) {
      out[k] = Math.min(m[k], c[colOf[k]]);
    }
    return out;
  }

  /** As {@link YumaFixedKernel#columnNormalize}. */
  static void columnNormalize(double[] m, int[] colOf, int cols) {
    double[] sums = new double[cols];
    for (int k = 0; k < m.length; k++) {
      sums[colOf[k]] += m[k];
    }
    for (int k = 0; k < m.length; k++) {
      double s = sums[colOf[k]];
      if (s != 0) {
        m[k] /= s;
      }
    }
  }

  /** As {@link YumaFixedKernel#columnMaxUpscale}. */
  static void columnMaxUpscale(double[] m, int[] colOf, int cols) {
    double[] max = new double[cols];
    for (int k = 0; k < m.length; k++) {
      max[colOf[k]] = Math.max(max[colOf[k]], m[k]);
    }
    for (int k = 0; k < m.length; k++) {
      double c = max[colOf[k]];
      if (c != 0) {
        m[k] /= c;
      }
    }
  }

  /** As {@link YumaFixedKernel#medianColumns}. */
  static double[] medianColumns(
      int cols, int[] colPtr, int[] colEntry, int[] rowOf, double[] m, double[] stake,
      double majority) {
    double[] use = new double[stake.length];
    int voters = 0;
    for (int i = 0; i < stake.length; i++) {
      if (stake[i] > 0) {
        use[i] = stake[i];
        voters++;
      }
    }
    normalize(use);
    double total = sum(use);
    double minority = total - majority;
    double[] median = new double[cols];
    if (voters == 0) {
      return median;
    }
    double[] colStake = new double[voters + 1];
    double[] colScore = new double[voters + 1];
    for (int j = 0; j < cols; j++) {
      int count = 0;
      double voted = 0;
      for (int e = colPtr[j]; e < colPtr[j + 1]; e++) {
        int k = colEntry[e];
        double s = use[rowOf[k]];
        if (s > 0) {
          colStake[count] = s;
          colScore[count++] = m[k];
          voted += s;
        }
      }
      if (count < voters) {
        colStake[count] = total - voted;
        colScore[count++] = 0;
      }
      median[j] = selectMedian(colStake, colScore, count, minority);
    }
    return median;
  }

  /** As {@link YumaFixedKernel#weightedMedian}. */
  static double weightedMedian(double[] stake, double[] score, int len, double minority) {
    return selectMedian(Arrays.copyOf(stake, len), Arrays.copyOf(score, len), len, minority);
  }

  /** As {@link YumaFixedKernel#selectMedian}: reorders both arrays. */
  static double selectMedian(double[] stake, double[] score, int len, double minority) {
    int lo = 0;
    int hi = len;
    double below = 0;
    while (lo < hi) {
      double pivot = score[(lo + hi) >>> 1];
      int lt = lo;
      int i = lo;
      int gt = hi;
      double less = 0;
      double equal = 0;
      while (i < gt) {
        double x = score[i];
        if (x < pivot) {
          less += stake[i];
          swap(stake, score, lt++, i++);
        } else if (x > pivot) {
          swap(stake, score, i, --gt);
        } else {
          equal += stake[i++];
        }
      }
      if (below + less > minority) {
        if (lt == lo) {
          return pivot;
        }
        hi = lt;
      } else if (below + less + equal > minority) {
        return pivot;
      } else {
        below += less + equal;
        if (gt == hi) {
          return pivot;
        }
        lo = gt;
      }
    }
    return 0;
  }

  private static void swap(double[] stake, double[] score, int a, int b) {
    double s = stake[a];
    stake[a] = stake[b];
    stake[b] = s;
    double x = score[a];
    score[a] = score[b];
    score[b] = x;
  }

  private static double[] interpolate(double[] a, double[] b, double ratio) {
    if (ratio == 0) {
      return a;
    }
    if (ratio == 1) {
      return b;
    }
    double[] out = new double[a.length];
    for (int k = 0; k < a.length; k++) {
      out[k] = a[k] + ratio * (b[k] - a[k]);
    }
    return out;
  }

  private static double[] classicEma(
      YumaLayout layout, YumaParams p, double[] bondWeights, double[] consensus,
      double[] active) {
    int n = layout.n;
    double[] inBonds = layout.bonds.rawVals();
    double[] b = new double[layout.bCol.length];
    for (int k = 0; k < b.length; k++) {
      b[k] = inBonds[layout.bSrc[k]];
    }
    columnNormalize(b, layout.bCol, n);
    double[] delta = rowScale(layout.wRow, bondWeights, active);
    columnNormalize(delta, layout.wCol, n);

    double[] alpha = new double[n];
    if (!p.liquidAlpha() || !liquidColumnAlphas(p, consensus, alpha)) {
      Arrays.fill(alpha, 1 - p.bondsMovingAverage());
    }
    double[] ema = new double[layout.uCol.length];
    for (int u = 0; u < ema.length; u++) {
      double a = alpha[layout.uCol[u]];
      double v = layout.uW[u] >= 0 ? a * delta[layout.uW[u]] : 0;
      if (layout.uB[u] >= 0) {
        v += (1 - a) * b[layout.uB[u]];
      }
      ema[u] = Math.max(v, 0);
    }
    return ema;
  }

  /** As {@link YumaFixedKernel}'s: a logistic in consensus through the quartiles, clamped. */
  private static boolean liquidColumnAlphas(YumaParams p, double[] consensus, double[] out) {
    if (allZero(consensus)) {
      return false;
    }
    double high = quantile(consensus, 0.75);
    double low = quantile(consensus, 0.25);
    if (!(high > low || high != 0 || low < 0)) {
      return false;
    }
    double a = 0;
    double b = 0;
    double lnLow = safeLn(1 / p.alphaLow() - 1);
    if (high > low) {
      double lnHigh = safeLn(1 / p.alphaHigh() - 1);
      a = (lnHigh - lnLow) / (low - high);
      b = lnLow + a * low;
    }
    // Quartiles a subnormal apart overflow the slope (and b - a c is then NaN): take the
    // logistic's limit, b - a c = lnLow + a (low - c), a step at the lower quartile.
    boolean step = Double.isInfinite(a);
    for (int j = 0; j < consensus.length; j++) {
      double c = consensus[j];
      double x = !step ? b - a * c : c == low ? lnLow : a * (low - c);
      double alpha = 1 / (1 + Math.exp(x));
      out[j] = Math.max(Math.min(alpha, p.alphaHigh()), p.alphaLow());
    }
    return true;
  }

  private static boolean allZero(double[] v) {
    for (double x : v) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }

  private static double safeLn(double x) {
    return x > 0 ? Math.log(x) : 0;
  }

  /** As {@link YumaFixedKernel#quantile}. */
  static double quantile(double[] values, double q) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int len = sorted.length;
    if (len == 0) {
      return 0;
    }
    double pos = q * (len - 1);
    int lo = (int) Math.floor(pos);
    int hi = (int) Math.ceil(pos);
    return lo == hi ? sorted[lo] : sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
  }

  private static double[] yuma3Ema(
      YumaLayout layout, YumaParams p, double[] bondWeights, double[] consensus) {
    double[] inBonds = layout.bonds.rawVals();
    boolean liquid = p.liquidAlpha() && !allZero(consensus);
    double alpha = 1 - p.bondsMovingAverage();
    double slope = p.alphaSigmoidSteepness() / -100;
    double[] ema = new double[layout.uCol.length];
    for (int u = 0; u < ema.length; u++) {
      double w = layout.uW[u] >= 0 ? bondWeights[layout.uW[u]] : 0;
      double b = layout.uB[u] >= 0 ? inBonds[layout.bSrc[layout.uB[u]]] : 0;
      if (liquid) {
        double a = alphaSigmoid(consensus[layout.uCol[u]], w, b, p.alphaLow(), p.alphaHigh(),
            slope);
        ema[u] = emaClamped(w, b, a);
      } else {
        ema[u] = Math.min(Math.max(alpha * w + (1 - alpha) * b, 0), 1);
      }
    }
    return ema;
  }

  /** As {@link YumaFixedKernel#emaClamped}. */
  static double emaClamped(double neu, double old, double a) {
    return Math.min((1 - a) * old + Math.max(a * neu, 0), 1);
  }

  /** As {@link YumaFixedKernel#alphaSigmoid}. */
  static double alphaSigmoid(
      double c, double w, double b, double alphaLow, double alphaHigh, double slope) {
    double diffBuy = Math.max(Math.min(w - c, 1), 0);
    double diffSell = Math.max(Math.min(b - w, 1), 0);
    double diff = w >= b ? diffBuy : diffSell;
    double sigmoid = 1 / (1 + Math.exp(slope * (diff - 0.5)));
    double a = alphaLow + sigmoid * (alphaHigh - alphaLow);
    return Math.max(Math.min(a, alphaHigh), alphaLow);
  }
}
