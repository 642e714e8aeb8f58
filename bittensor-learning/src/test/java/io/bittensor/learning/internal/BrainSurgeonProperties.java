package io.bittensor.learning.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The removal costs against a direct solve of the constrained minimisation they stand for,
 * {@code min 1/2 delta^T A delta subject to delta_q = -1}, on seeded random Fisher matrices
 * (rank-deficient, with duplicated and silent coordinates), and on the cases that explain it.
 */
class BrainSurgeonProperties {
  private static final double DAMPING = 1e-3;

  static LongStream seeds() {
    return LongStream.range(0, 200);
  }

  /**
   * {@code B B^T} for a Gaussian {@code B} of random rank; some coordinates copy another's row of
   * {@code B} (peers answering alike), some are zero (peers never asked).
   */
  private static double[] randomFisher(Random r, int n) {
    int rank = 1 + r.nextInt(n + 2);
    double[][] b = new double[n][rank];
    for (int i = 0; i < n; i++) {
      double scale = Math.exp(2 * r.nextGaussian());
      for (int c = 0; c < rank; c++) {
        b[i][c] = scale * r.nextGaussian();
      }
      if (i > 0 && r.nextInt(4) == 0) {
        b[i] = b[r.nextInt(i)].clone();
      } else if (r.nextInt(6) == 0) {
        b[i] = new double[rank];
      }
    }
    double[] f = new double[n * n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        for (int c = 0; c < rank; c++) {
          f[i * n + j] += b[i][c] * b[j][c];
        }
      }
    }
    return f;
  }

  /** The damped matrix restricted to the coordinates with a positive diagonal. */
  private static double[][] damped(double[] f, int n, int[] active) {
    int m = active.length;
    double[][] a = new double[m][m];
    for (int r = 0; r < m; r++) {
      for (int c = 0; c < m; c++) {
        a[r][c] = f[active[r] * n + active[c]] * (r == c ? 1 + DAMPING : 1);
      }
    }
    return a;
  }

  /** Solves {@code a x = y} by Gaussian elimination with partial pivoting (naive reference). */
  private static double[] solve(double[][] a, double[] y) {
    int m = y.length;
    double[][] t = new double[m][m + 1];
    for (int i = 0; i < m; i++) {
      System.arraycopy(a[i], 0, t[i], 0, m);
      t[i][m] = y[i];
    }
    for (int col = 0; col < m; col++) {
      int p = col;
      for (int i = col + 1; i < m; i++) {
        p = Math.abs(t[i][col]) > Math.abs(t[p][col]) ? i : p;
      }
      double[] swap = t[col];
      t[col] = t[p];
      t[p] = swap;
      for (int i = 0; i < m; i++) {
        if (i != col) {
          double factor = t[i][col] / t[col][col];
          for (int c = col; c <= m; c++) {
            t[i][c] -= factor * t[col][c];
          }
        }
      }
    }
    double[] x = new double[m];
    for (int i = 0; i < m; i++) {
      x[i] = t[i][m] / t[i][i];
    }
    return x;
  }

  private static double quadratic(double[][] a, double[] d) {
    double s = 0;
    for (int i = 0; i < d.length; i++) {
      for (int j = 0; j < d.length; j++) {
        s += d[i] * a[i][j] * d[j];
      }
    }
    return s / 2;
  }

  /**
   * The best {@code delta} with {@code delta_q = -1}: the others solve {@code A_rr delta_r =
   * A_rq}, where the gradient in every free coordinate vanishes.
   */
  private static double[] bestDelta(double[][] a, int q) {
    int m = a.length;
    double[][] arr = new double[m - 1][m - 1];
    double[] arq = new double[m - 1];
    for (int i = 0, ri = 0; i < m; i++) {
      if (i == q) {
        continue;
      }
      arq[ri] = a[i][q];
      for (int j = 0, rj = 0; j < m; j++) {
        if (j != q) {
          arr[ri][rj++] = a[i][j];
        }
      }
      ri++;
    }
    double[] free = m > 1 ? solve(arr, arq) : new double[0];
    double[] d = new double[m];
    d[q] = -1;
    for (int i = 0, ri = 0; i < m; i++) {
      if (i != q) {
        d[i] = free[ri++];
      }
    }
    return d;
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void eachCostIsTheLeastIncreaseWithTheOthersReweighted(long seed) {
    Random r = new Random(seed);
    int n = 1 + r.nextInt(8);
    double[] f = randomFisher(r, n);
    double[] cost = BrainSurgeon.removalCosts(f, n, DAMPING);
    int[] active = java.util.stream.IntStream.range(0, n).filter(j -> f[j * n + j] > 0).toArray();
    for (int j = 0; j < n; j++) {
      if (f[j * n + j] == 0) {
        assertEquals(0, cost[j], "seed " + seed + ": a silent coordinate costs nothing");
      }
    }
    double[][] a = damped(f, n, active);
    for (int q = 0; q < active.length; q++) {
      double[] d = bestDelta(a, q);
      double best = quadratic(a, d);
      double c = cost[active[q]];
      assertEquals(best, c, 1e-7 * Math.max(best, a[q][q]),
          "seed " + seed + ", coordinate " + active[q]);
      assertTrue(c <= a[q][q] / 2 * (1 + 1e-9), "seed " + seed + ": never above the"
          + " uncompensated cost");
      // Any other feasible move costs at least as much.
      for (int t = 0; t < 5; t++) {
        double[] other = d.clone();
        for (int i = 0; i < other.length; i++) {
          if (i != q) {
            other[i] += 0.1 * r.nextGaussian();
          }
        }
        assertTrue(quadratic(a, other) >= best * (1 - 1e-9),
            "seed " + seed + ": a feasible move below the optimum");
      }
    }
  }

  @Test
  void twoPeersAnsweringAlikeEachCostLittleWhileAUniqueOneKeepsItsCost() {
    // d = (u, u, v) per example, u and v independent: F = [[a, a, c], [a, a, c], [c, c, b]].
    double a = 4;
    double b = 2;
    double c = 0.5;
    double[] f = {a, a, c, a, a, c, c, c, b};
    double[] cost = BrainSurgeon.removalCosts(f, 3, DAMPING);
    assertEquals(cost[0], cost[1], 1e-12, "the twins cost the same");
    assertTrue(cost[0] < 2 * DAMPING * a, "either twin can go, the other answers for it: "
        + cost[0]);
    // The unique one: its Schur complement against the twins' common direction.
    double unique = (b * (1 + DAMPING) - 2 * c * c / (2 * a + DAMPING * a)) / 2;
    assertEquals(unique, cost[2], 1e-12);
    assertTrue(cost[2] > 100 * cost[0], cost[2] + " vs " + cost[0]);
  }

  @Test
  void withoutCorrelationsItIsTheUncompensatedCost() {
    double[] f = {3, 0, 0, 0, 0.25, 0, 0, 0, 0};
    double[] cost = BrainSurgeon.removalCosts(f, 3, DAMPING);
    assertEquals(1.5 * (1 + DAMPING), cost[0], 1e-12);
    assertEquals(0.125 * (1 + DAMPING), cost[1], 1e-12);
    assertEquals(0, cost[2]);
  }

  @Test
  void aCostDoesNotDependOnTheScaleOfAnotherCoordinate() {
    double[] f = randomFisher(new Random(5), 5);
    double[] scaled = f.clone();
    // Coordinate 2 scaled by s: row and column by s, the diagonal by s^2.
    double s = 7.5;
    for (int i = 0; i < 5; i++) {
      scaled[2 * 5 + i] *= s;
      scaled[i * 5 + 2] *= s;
    }
    double[] c1 = BrainSurgeon.removalCosts(f, 5, DAMPING);
    double[] c2 = BrainSurgeon.removalCosts(scaled, 5, DAMPING);
    for (int j = 0; j < 5; j++) {
      double expected = j == 2 ? c1[j] * s * s : c1[j];
      assertEquals(expected, c2[j], 1e-9 * Math.max(1, expected), "coordinate " + j);
    }
  }

  @Test
  void badInputIsNamed() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> BrainSurgeon.removalCosts(new double[3], 2, DAMPING));
    assertTrue(e.getMessage().contains("2 x 2"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> BrainSurgeon.removalCosts(new double[] {1, 0, 0, -1}, 2, DAMPING));
    assertTrue(e.getMessage().contains("fisher[1][1]"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> BrainSurgeon.removalCosts(new double[] {1, 0, 0, 1}, 2, 0));
    assertTrue(e.getMessage().contains("damping"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> BrainSurgeon.removalCosts(new double[] {1, 5, 5, 1}, 2, DAMPING));
    assertTrue(e.getMessage().contains("positive semi-definite"), e.getMessage());
  }

  /**
   * An entry off the diagonal that is not finite went into the Cholesky solve, whose refusal
   * blamed the matrix for not being positive semi-definite. It is named as the diagonal's are.
   */
  @Test
  void anEntryOffTheDiagonalThatIsNotFiniteIsNamed() {
    var e = assertThrows(IllegalArgumentException.class, () -> BrainSurgeon.removalCosts(
        new double[] {1, Double.NaN, Double.NaN, 1}, 2, DAMPING));
    assertTrue(e.getMessage().contains("fisher[0][1] must be finite, was NaN"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> BrainSurgeon.removalCosts(
        new double[] {1, 0.5, Double.POSITIVE_INFINITY, 1}, 2, DAMPING));
    assertTrue(e.getMessage().contains("fisher[1][0] must be finite, was Infinity"),
        e.getMessage());
  }
}
