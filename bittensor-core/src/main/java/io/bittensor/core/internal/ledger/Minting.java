package io.bittensor.core.internal.ledger;

import java.util.Arrays;

/**
 * Turns an epoch's emission (doubles) into whole token units that sum exactly to a target, by
 * largest remainders: each peer gets the floor of its share, and the units left over go one each
 * to the largest fractional parts (compared to 2^-40 of a unit), ties to the lower uid.
 * Deterministic; one primitive sort of n keys.
 */
public final class Minting {
  private static final long FRACTION_STEPS = 1L << 40;
  private static final int UID_BITS = 23;
  private static final long UID_MASK = (1L << UID_BITS) - 1;

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
    // Key: the fraction's complement in 40 bits, then the uid in 23 bits (uids < 2^20):
    // ascending keys are descending fractions, ties to the lower uid.
    long[] keys = new long[n];
    for (int i = 0; i < n; i++) {
      long q = Math.min(FRACTION_STEPS - 1, (long) (fraction[i] * FRACTION_STEPS));
      keys[i] = (FRACTION_STEPS - 1 - q) << UID_BITS | i;
    }
    Arrays.sort(keys);
    for (int k = 0; left > 0; k = (k + 1) % n) {
      units[(int) (keys[k] & UID_MASK)]++;
      left--;
    }
    return units;
  }
}
