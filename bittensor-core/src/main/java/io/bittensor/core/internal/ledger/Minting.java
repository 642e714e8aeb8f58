package io.bittensor.core.internal.ledger;

import java.util.Arrays;

/**
 * Turns an epoch's emission (doubles) into whole token units that sum exactly to a target, by
 * largest remainders: each peer gets the floor of its share, and the units left over go one each
 * to the largest fractional parts, ties to the lower uid. Deterministic, allocation O(n).
 */
public final class Minting {
  private Minting() {}

  /**
   * Whole units per peer summing to {@code Math.round(sum(emission))}.
   *
   * @param emission finite, {@code >= 0}, each below 2^62; not modified
   * @return one count per peer
   */
  public static long[] largestRemainder(double[] emission) {
    int n = emission.length;
    long[] units = new long[n];
    double sum = 0;
    long floors = 0;
    double[] fraction = new double[n];
    for (int i = 0; i < n; i++) {
      double e = emission[i];
      sum += e;
      double f = Math.floor(e);
      units[i] = (long) f;
      fraction[i] = e - f;
      floors += units[i];
    }
    long target = Math.round(sum);
    long left = target - floors;
    if (left <= 0) {
      // Rounding of the sum can leave floors already at (or, by one ulp, above) the target.
      for (int i = n - 1; left < 0 && i >= 0; i--) {
        if (units[i] > 0) {
          units[i]--;
          left++;
        }
      }
      return units;
    }
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> {
      int c = Double.compare(fraction[b], fraction[a]);
      return c != 0 ? c : Integer.compare(a, b);
    });
    for (int k = 0; left > 0; k = (k + 1) % n) {
      units[order[k]]++;
      left--;
    }
    return units;
  }
}
