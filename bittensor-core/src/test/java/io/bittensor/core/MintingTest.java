package io.bittensor.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.internal.ledger.Minting;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Emission to whole units: exact totals, nobody off by more than one, ties to the lower uid. */
class MintingTest {
  @Test
  void unitsSumToTheRoundedEmissionAndStayWithinOneOfEachShare() {
    for (long seed = 0; seed < 500; seed++) {
      SplittableRandom r = new SplittableRandom(seed);
      int n = 1 + r.nextInt(200);
      double[] e = new double[n];
      double tau = r.nextInt(3) == 0 ? r.nextInt(100) : r.nextDouble(1e12);
      double sum = 0;
      for (int i = 0; i < n; i++) {
        e[i] = r.nextInt(4) == 0 ? 0 : r.nextDouble();
        sum += e[i];
      }
      for (int i = 0; i < n && sum > 0; i++) {
        e[i] = e[i] / sum * tau;
      }
      long[] units = Minting.largestRemainder(e);
      long total = 0;
      double emitted = 0;
      for (int i = 0; i < n; i++) {
        assertTrue(units[i] >= 0, "seed " + seed);
        assertTrue(Math.abs(units[i] - e[i]) < 1 + 1e-9 * e[i], "seed " + seed + " uid " + i);
        total += units[i];
        emitted += e[i];
      }
      assertEquals(Math.round(emitted), total, "seed " + seed);
    }
  }

  @Test
  void leftoverUnitsGoToTheLargestFractionsThenTheLowerUid() {
    assertArrayEquals(new long[] {1, 1, 1}, Minting.largestRemainder(new double[] {1, 1, 1}));
    assertArrayEquals(new long[] {1, 0, 0},
        Minting.largestRemainder(new double[] {1 / 3.0, 1 / 3.0, 1 / 3.0}));
    assertArrayEquals(new long[] {0, 1, 1},
        Minting.largestRemainder(new double[] {0.5, 0.7, 0.8}));
    assertArrayEquals(new long[] {}, Minting.largestRemainder(new double[] {}));
  }

  /**
   * Where the sum of the shares rounds below their floors (1e16 + 1 is 1e16 in doubles), the
   * target still holds: a unit comes off the last peer that has one, never below zero.
   */
  @Test
  void floorsAboveTheRoundedSumGiveBackTheExcessFromTheEnd() {
    assertArrayEquals(new long[] {10_000_000_000_000_000L, 0},
        Minting.largestRemainder(new double[] {1e16, 1}));
    assertArrayEquals(new long[] {10_000_000_000_000_000L, 0, 0},
        Minting.largestRemainder(new double[] {1e16, 1, 0}), "past a peer with none");
    assertArrayEquals(new long[] {3, 1}, Minting.largestRemainder(new double[] {3, 1}),
        "floors at the target: nothing moves");
  }
}
