package io.bittensor.incentive;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.incentive.YumaParams.Precision;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Invariants of every Yuma epoch, over seeded random states ({@link YumaStates}) on all four bond
 * paths and both precisions. The seed, path and precision are in each failure message.
 */
class YumaConsensusProperties {

  /** Seeds x bond path x precision. */
  static Stream<Arguments> cases() {
    return YumaStates.seeds(24).boxed().flatMap(seed -> Stream.of(Precision.values())
        .map(p -> Arguments.of(seed, (int) (Math.floorMod(seed, 4L)), p)));
  }

  private static YumaState state(long seed, boolean sparse) {
    int n = 2 + new SplittableRandom(seed ^ 0x5A5A).nextInt(30);
    return YumaStates.random(seed, n, sparse);
  }

  private static String where(long seed, int variant, Precision p) {
    return "seed " + seed + ", path " + (((variant & 1) != 0) ? "yuma3" : "classic")
        + (((variant & 2) != 0) ? "+liquid" : "") + ", " + p;
  }

  @ParameterizedTest(name = "seed {0}, path {1}, {2}")
  @MethodSource("cases")
  void emissionSumsToTheEpochsAmount(long seed, int variant, Precision p) {
    YumaParams params = YumaStates.params(variant, p);
    YumaState state = state(seed, seed % 2 == 0);
    YumaResult r = YumaConsensus.of(params).epoch(state);
    double amount = 1e9;
    String where = where(seed, variant, p);
    if (p == Precision.FLOAT64) {
      assertEquals(amount, r.epoch().minted(), 1e-6, where);
    } else {
      // Each of 2n shares is floored to a whole unit, and each share to 32 bits first.
      double minted = r.epoch().minted();
      assertTrue(minted <= amount && minted >= amount - 2 * state.size() - 1e-3 * amount,
          where + ": minted " + minted);
    }
    assertEquals(r.epoch().minted(), r.serverEmission().sum() + r.validatorEmission().sum(),
        1e-6, where);
  }

  @ParameterizedTest(name = "seed {0}, path {1}, {2}")
  @MethodSource("cases")
  void everyOutputIsFiniteAndInRange(long seed, int variant, Precision p) {
    YumaState state = state(seed, seed % 3 == 0);
    YumaResult r = YumaConsensus.of(YumaStates.params(variant, p)).epoch(state);
    String where = where(seed, variant, p);
    EpochResult e = r.epoch();
    double eps = 1e-9;
    for (PeerVector shares : new PeerVector[] {e.incentive(), e.dividends()}) {
      assertTrue(shares.isNonNegative(), where);
      assertTrue(shares.sum() == 0 || Math.abs(shares.sum() - 1) < 1e-6, where + ": " + shares);
    }
    for (int i = 0; i < state.size(); i++) {
      assertTrue(e.consensus().get(i) >= 0 && e.consensus().get(i) <= 1 + eps, where);
      assertTrue(e.trust().get(i) >= 0 && e.trust().get(i) <= 1 + eps, where);
      assertTrue(r.validatorTrust().get(i) >= 0 && r.validatorTrust().get(i) <= 1 + eps, where);
      assertTrue(r.serverEmission().get(i) >= 0 && r.validatorEmission().get(i) >= 0, where);
      assertTrue(Double.isFinite(e.stake().get(i)), where);
    }
    CsrMatrix b = e.bonds().toCsr();
    for (int k = 0; k < b.storedCount(); k++) {
      assertTrue(b.valueAt(k) >= 0 && b.valueAt(k) <= 1, where + ": bond " + b.valueAt(k));
    }
    // The result is a valid next state: a second epoch runs on it.
    YumaConsensus yuma = YumaConsensus.of(YumaStates.params(variant, p));
    assertEquals(state.size(), yuma.epoch(yuma.advance(state, r)).size(), where);
  }

  @ParameterizedTest(name = "seed {0}, path {1}, {2}")
  @MethodSource("cases")
  void denseAndSparseGiveTheSameNumbers(long seed, int variant, Precision p) {
    YumaConsensus yuma = YumaConsensus.of(YumaStates.params(variant, p));
    YumaResult dense = yuma.epoch(state(seed, false));
    YumaResult sparse = yuma.epoch(state(seed, true));
    String where = where(seed, variant, p);
    assertTrue(dense.epoch().bonds() instanceof DenseMatrix, where);
    assertTrue(sparse.epoch().bonds() instanceof CsrMatrix, where);
    assertTrue(dense.epoch().bonds().approximatelyEquals(sparse.epoch().bonds(), 1e-12), where);
    assertVectorsClose(dense, sparse, 1e-12, where);
  }

  @ParameterizedTest(name = "seed {0}, path {1}, {2}")
  @MethodSource("cases")
  void relabellingPeersRelabelsTheResults(long seed, int variant, Precision p) {
    YumaConsensus yuma = YumaConsensus.of(YumaStates.params(variant, p));
    YumaState state = state(seed, false);
    int n = state.size();
    int[] perm = new int[n];
    for (int i = 0; i < n; i++) {
      perm[i] = i;
    }
    SplittableRandom random = new SplittableRandom(seed);
    for (int i = n - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    YumaResult r = yuma.epoch(state);
    YumaResult q = yuma.epoch(YumaStates.permute(state, perm));
    String where = where(seed, variant, p);
    // Fixed-point sums are exact, so fixed point relabels to the bit; float64 to rounding.
    double tol = p == Precision.FIXED_POINT ? 0 : 1e-12;
    double[][] b = r.epoch().bonds().toArray();
    double[][] bq = q.epoch().bonds().toArray();
    for (int i = 0; i < n; i++) {
      assertEquals(r.epoch().incentive().get(i), q.epoch().incentive().get(perm[i]), tol, where);
      assertEquals(r.epoch().dividends().get(i), q.epoch().dividends().get(perm[i]), tol, where);
      assertEquals(r.epoch().consensus().get(i), q.epoch().consensus().get(perm[i]), tol, where);
      assertEquals(r.epoch().emission().get(i), q.epoch().emission().get(perm[i]),
          tol * 1e9, where);
      assertEquals(r.validatorPermit(i), q.validatorPermit(perm[i]), where);
      for (int j = 0; j < n; j++) {
        assertEquals(b[i][j], bq[perm[i]][perm[j]], tol, where + ", bond (" + i + ", " + j + ")");
      }
    }
  }

  /**
   * Fixed point quantises weights to 16 bits and stores bonds in 16 bits. Measured over these
   * cases: at most 1.2e-5 apart in shares (incentive, dividends, consensus, trust, emission) and
   * 8.2e-5 in bonds; the bounds are 5e-5 and 2e-4.
   */
  @ParameterizedTest(name = "seed {0}, path {1}")
  @MethodSource("cases")
  void fixedPointStaysCloseToFloat64(long seed, int variant, Precision ignored) {
    YumaState state = state(seed, true);
    YumaResult f = YumaConsensus.of(YumaStates.params(variant, Precision.FLOAT64)).epoch(state);
    YumaResult x = YumaConsensus.of(YumaStates.params(variant, Precision.FIXED_POINT))
        .epoch(state);
    String where = where(seed, variant, Precision.FIXED_POINT) + " vs float64";
    assertVectorsClose(f, x, 5e-5, where);
    assertTrue(f.epoch().bonds().approximatelyEquals(x.epoch().bonds(), 2e-4), where);
    assertArrayEquals(f.validatorPermits(), x.validatorPermits(), where);
  }

  private static void assertVectorsClose(YumaResult a, YumaResult b, double tol, String where) {
    assertArrayEquals(a.epoch().incentive().toArray(), b.epoch().incentive().toArray(), tol,
        where + ": incentive");
    assertArrayEquals(a.epoch().dividends().toArray(), b.epoch().dividends().toArray(), tol,
        where + ": dividends");
    assertArrayEquals(a.epoch().consensus().toArray(), b.epoch().consensus().toArray(), tol,
        where + ": consensus");
    assertArrayEquals(a.validatorTrust().toArray(), b.validatorTrust().toArray(), tol,
        where + ": validator trust");
    double[] ea = a.epoch().emission().toArray();
    double[] eb = b.epoch().emission().toArray();
    for (int i = 0; i < ea.length; i++) {
      assertEquals(ea[i] / 1e9, eb[i] / 1e9, tol, where + ": emission share of " + i);
    }
  }
}
