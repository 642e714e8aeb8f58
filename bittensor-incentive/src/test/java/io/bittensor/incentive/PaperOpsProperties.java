package io.bittensor.incentive;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.incentive.testing.RandomNetworks;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link PaperOps}, the formulas research code calls one at a time: each against the plain
 * EJML restatement of the epoch ({@link NaiveReference}, with rows taken as given), the dense and
 * CSR forms of each against each other bit for bit (both sum each column in row order, and an
 * explicit zero adds nothing), and the outputs overwritten rather than added to.
 */
class PaperOpsProperties {

  private static final double TOLERANCE = 1e-9;

  /** Rows as given: the ops neither mask self-weights nor normalise rows. */
  private static final PaperParams AS_GIVEN =
      PaperParams.defaults().withNormalizeRows(false).withMaskSelfWeights(false);

  static LongStream seeds() {
    return RandomNetworks.seeds(150);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void eachStepMatchesThePlainEpoch(long seed) {
    SplittableRandom random = new SplittableRandom(seed ^ 0x6F707321L);
    int n = 1 + random.nextInt(30);
    NetworkState state = stochastic(RandomNetworks.network(seed, n, random.nextBoolean()));
    NaiveReference.Result want = NaiveReference.step(state, AS_GIVEN);
    String at = "seed " + seed + " (n=" + n + "): ";

    double[] stake = state.stake().toArray();
    double[] s = garbage(n, random);
    double total = PaperOps.normalize(stake, s);
    assertEquals(Arrays.stream(stake).sum(), total, TOLERANCE * total, at + "stake total");
    assertEquals(1.0, Arrays.stream(s).sum(), TOLERANCE, at + "normalised stake sums to 1");
    for (int i = 0; i < n; i++) {
      assertEquals(stake[i] / total, s[i], 0.0, at + "s[" + i + "]");
    }

    double[] w = state.weights().toDense().toRowMajor();
    CsrMatrix csr = state.weights().toCsr();
    double[] r = garbage(n, random);
    PaperOps.ranksDense(n, w, s, r);
    assertClose(want.ranks(), r, at + "ranks (dense)");
    double[] rCsr = garbage(n, random);
    PaperOps.ranksCsr(n, csr.rawRowPtr(), csr.rawCols(), csr.rawVals(), s, rCsr);
    assertArrayEquals(r, rCsr, at + "ranks: CSR and dense");

    double[] t = garbage(n, random);
    PaperOps.trustDense(n, w, s, t);
    assertClose(want.trust(), t, at + "trust (dense)");
    double[] tCsr = garbage(n, random);
    PaperOps.trustCsr(n, csr.rawRowPtr(), csr.rawCols(), csr.rawVals(), s, tCsr);
    assertArrayEquals(t, tCsr, at + "trust: CSR and dense");

    double[] c = garbage(n, random);
    PaperOps.consensus(t, AS_GIVEN.rho(), AS_GIVEN.kappa(), c);
    assertClose(want.consensus(), c, at + "consensus");

    double[] incentive = garbage(n, random);
    double rc = PaperOps.incentive(r, c, incentive);
    assertClose(want.incentive(), incentive, at + "incentive");
    double rcSum = 0;
    for (int j = 0; j < n; j++) {
      rcSum += want.ranks()[j] * want.consensus()[j];
    }
    assertEquals(rcSum, rc, TOLERANCE, at + "sum(R*C)");
    assertEquals(want.loss(), PaperOps.loss(r, c), TOLERANCE, at + "loss");

    // Dividends from the new bonds B + diag(s) W, as the epoch forms them.
    double[] bonds = new double[n * n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        bonds[i * n + j] = want.bonds()[i][j];
      }
    }
    double[] colSums = garbage(n, random);
    PaperOps.columnSumsDense(n, bonds, colSums);
    for (int j = 0; j < n; j++) {
      double sum = 0;
      for (int i = 0; i < n; i++) {
        sum += want.bonds()[i][j];
      }
      assertEquals(sum, colSums[j], TOLERANCE * Math.max(1, sum), at + "column sum " + j);
    }
    double[] q = garbage(n, random);
    PaperOps.perUnitBond(colSums, incentive, q);
    double[] d = garbage(n, random);
    PaperOps.dividendsDense(n, bonds, q, d);
    assertClose(want.dividends(), d, at + "dividends (dense)");
    CsrMatrix bondsCsr = DenseMatrix.of(want.bonds()).toCsr();
    double[] dCsr = garbage(n, random);
    PaperOps.dividendsCsr(n, bondsCsr.rawRowPtr(), bondsCsr.rawCols(),
        bondsCsr.rawVals(), q, dCsr);
    assertArrayEquals(d, dCsr, at + "dividends: CSR and dense");
  }

  /** 1 to 20 values in [1e-3, 1e3], some zero, one of them 1. */
  private static double[] randomStake(SplittableRandom random) {
    int n = 1 + random.nextInt(20);
    double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = random.nextDouble() < 0.3 ? 0 : random.nextDouble(1e-3, 1e3);
    }
    v[random.nextInt(n)] = 1;
    return v;
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void normaliseWorksInPlaceAndLeavesItsInputAlone(long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    double[] v = randomStake(random);
    int n = v.length;
    double[] copy = v.clone();
    double[] out = garbage(n, random);
    double total = PaperOps.normalize(v, out);
    assertArrayEquals(copy, v, "seed " + seed + ": the input is not modified");
    double[] same = v.clone();
    assertEquals(total, PaperOps.normalize(same, same), 0.0, "seed " + seed);
    assertArrayEquals(out, same, "seed " + seed + ": in place gives the same numbers");
    for (int i = 0; i < n; i++) {
      assertTrue(out[i] >= 0 && out[i] <= 1, "seed " + seed + ": share " + i + " = " + out[i]);
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void normaliseGivesTheSameSharesAtAnyPowerOfTwoScale(long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    double[] v = randomStake(random);
    int n = v.length;
    double[] expected = new double[n];
    PaperOps.normalize(v, expected);
    // Up to where the largest entry is near Double.MAX_VALUE, half the time near there: the
    // sum may overflow a double.
    int k = random.nextBoolean() ? random.nextInt(-1000, 1014) : random.nextInt(1000, 1014);
    double[] scaled = new double[n];
    for (int i = 0; i < n; i++) {
      scaled[i] = Math.scalb(v[i], k);
    }
    double[] out = garbage(n, random);
    PaperOps.normalize(scaled, out);
    assertArrayEquals(expected, out, "seed " + seed + ": v * 2^" + k);
    PaperOps.normalize(scaled, scaled);
    assertArrayEquals(expected, scaled, "seed " + seed + ": v * 2^" + k + ", in place");
  }

  @Test
  void nothingToShareGivesZerosAndNoNaN() {
    double[] out = {7, 7, 7, 9};
    assertEquals(0.0, PaperOps.normalize(new double[3], out), 0.0);
    assertArrayEquals(new double[] {0, 0, 0, 9}, out, "only the first v.length entries");

    double[] incentive = {7, 7};
    assertEquals(0.0, PaperOps.incentive(new double[] {0, 0}, new double[] {0.4, 0.9}, incentive));
    assertArrayEquals(new double[] {0, 0}, incentive, "nothing ranked: nothing rewarded");

    double[] q = {7, 7};
    PaperOps.perUnitBond(new double[] {0, 2}, new double[] {0.5, 0.5}, q);
    assertArrayEquals(new double[] {0, 0.25}, q, "a column of no bonds pays nothing per unit");

    // No rank at all: the loss is +0.0, not -0.0.
    assertEquals(0, Double.compare(0.0, PaperOps.loss(new double[2], new double[] {0.1, 0.9})));
  }

  @Test
  void sigmoidIsTheLogisticFunctionWithoutOverflow() {
    for (double x : new double[] {-800, -40, -1, -1e-300, 0, 1e-300, 1, 40, 800}) {
      double expected = 1 / (1 + Math.exp(-x));
      assertEquals(expected, PaperOps.sigmoid(x), 1e-15, "x = " + x);
      assertEquals(1.0, PaperOps.sigmoid(x) + PaperOps.sigmoid(-x), 1e-15, "symmetry at " + x);
    }
    assertEquals(0.5, PaperOps.sigmoid(0), 0.0);
    assertEquals(1.0, PaperOps.sigmoid(1e308), 0.0, "no NaN far right");
    assertEquals(0.0, PaperOps.sigmoid(-1e308), 0.0, "no NaN far left");
    assertTrue(PaperOps.sigmoid(-700) > 0, "e^-700 is still a double");
  }

  /** Rows scaled to sum to 1 (or left empty): the ops take the weights as the chain holds them. */
  private static NetworkState stochastic(NetworkState state) {
    int n = state.size();
    double[][] w = state.weights().toArray();
    for (double[] row : w) {
      double sum = Arrays.stream(row).sum();
      for (int j = 0; j < n && sum > 0; j++) {
        row[j] /= sum;
      }
    }
    return new NetworkState(state.stake(), state.weights() instanceof CsrMatrix csr
        ? keepExplicitZeros(csr, w) : DenseMatrix.of(w), state.bonds());
  }

  /** The CSR pattern of {@code pattern} (explicit zeros too) with the values of {@code w}. */
  private static CsrMatrix keepExplicitZeros(CsrMatrix pattern, double[][] w) {
    int[] rowPtr = pattern.rawRowPtr();
    int[] cols = pattern.rawCols();
    double[] vals = new double[cols.length];
    for (int i = 0; i < pattern.size(); i++) {
      for (int k = rowPtr[i]; k < rowPtr[i + 1]; k++) {
        vals[k] = w[i][cols[k]];
      }
    }
    return pattern.withValues(vals);
  }

  /** An output array full of rubbish: the ops must overwrite it, not add to it. */
  private static double[] garbage(int n, SplittableRandom random) {
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      out[i] = random.nextDouble(-1e6, 1e6);
    }
    return out;
  }

  private static void assertClose(double[] expected, double[] actual, String what) {
    assertEquals(expected.length, actual.length, what + ": length");
    for (int i = 0; i < expected.length; i++) {
      double scale = Math.max(1, Math.abs(expected[i]));
      assertEquals(expected[i], actual[i], TOLERANCE * scale, what + " [" + i + "]");
    }
  }
}
