package io.bittensor.incentive;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.incentive.YumaParams.Precision;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Yuma epochs small enough to work by hand. The network of most: validators 0 and 1 (stake 3 and
 * 1), servers 2 and 3 (no stake); validator 0 weights the servers 0.75 / 0.25, validator 1 the
 * other way round. Each test runs in float64 and in fixed point (the weights 3:1 quantise
 * exactly, so fixed point lands within 1e-6 of the hand values).
 */
class YumaConsensusExamplesTest {
  private static final double[][] WEIGHTS = {
      {0, 0, 0.75, 0.25},
      {0, 0, 0.25, 0.75},
      {0, 0, 0, 0},
      {0, 0, 0, 0}};
  private static final double[] STAKE = {3, 1, 0, 0};

  private static double tolerance(Precision p) {
    return p == Precision.FIXED_POINT ? 1e-6 : 1e-12;
  }

  /** 14 million units: fixed point mints whole units, so a large amount keeps shares exact. */
  private static final double TAU = 14e6;

  private static YumaConsensus yuma(Precision p) {
    return YumaConsensus.of(YumaParams.defaults().withTau(TAU).withPrecision(p));
  }

  private static NetworkState network() {
    return NetworkState.of(PeerVector.of(STAKE), DenseMatrix.of(WEIGHTS));
  }

  private static void assertVector(double[] expected, PeerVector got, double tol, String what) {
    assertArrayEquals(expected, got.toArray(), tol, what);
  }

  @ParameterizedTest
  @EnumSource(Precision.class)
  void classicEpochByHand(Precision p) {
    YumaResult r = yuma(p).epoch(YumaState.of(network()));
    double tol = tolerance(p);
    EpochResult e = r.epoch();
    // S = [3/4, 1/4]. Column 2: 0.75 from stake 3/4, 0.25 from 1/4; the median at kappa ~ 1/2
    // is 0.75. Column 3 the other way: 0.25.
    assertVector(new double[] {0, 0, 0.75, 0.25}, e.consensus(), tol, "consensus");
    // Clipped: validator 0 keeps 0.75/0.25, validator 1 keeps 0.25 and loses 0.5 on server 3.
    assertVector(new double[] {1, 0.5, 0, 0}, r.validatorTrust(), tol, "validator trust");
    // R = Wc^T S: server 2 gets 3/4*3/4 + 1/4*1/4 = 5/8, server 3 gets 3/4*1/4 + 1/4*1/4 = 1/4.
    assertVector(new double[] {0, 0, 0.625, 0.25}, e.ranks(), tol, "ranks");
    // Server 3 was voted 3/8 before clipping: trust (1/4) / (3/8) = 2/3.
    assertVector(new double[] {0, 0, 1, 2.0 / 3}, e.trust(), tol, "trust");
    assertVector(new double[] {0, 0, 5.0 / 7, 2.0 / 7}, e.incentive(), tol, "incentive");
    // dB = Wc S column-normalised: column 2 [0.9, 0.1], column 3 [0.75, 0.25]; no prior bonds,
    // so the EMA normalises back to dB. D = [0.9*5/7 + 0.75*2/7, 0.1*5/7 + 0.25*2/7] = [6/7, 1/7].
    assertVector(new double[] {6.0 / 7, 1.0 / 7, 0, 0}, e.dividends(), tol, "dividends");
    // sum(I + D) = 2: servers get I/2, validators D/2 of 14 (million).
    double unit = TAU / 14;
    assertVector(new double[] {0, 0, 5 * unit, 2 * unit}, r.serverEmission(), TAU * tol,
        "server emission");
    assertVector(new double[] {6 * unit, unit, 0, 0}, r.validatorEmission(), TAU * tol,
        "validator emission");
    assertVector(new double[] {3 + 6 * unit, 1 + unit, 5 * unit, 2 * unit}, e.stake(),
        TAU * tol, "stake after");
    // Stored column-max upscaled: column 2 [1, 1/9], column 3 [1, 1/3] (u16 in fixed point).
    double bondTol = p == Precision.FIXED_POINT ? 1.0 / 65535 : tol;
    assertEquals(1, e.bonds().get(0, 2), bondTol);
    assertEquals(1.0 / 9, e.bonds().get(1, 2), bondTol);
    assertEquals(1, e.bonds().get(0, 3), bondTol);
    assertEquals(1.0 / 3, e.bonds().get(1, 3), bondTol);
    assertEquals(0.0, e.loss());
    assertArrayEquals(new boolean[] {true, true, false, false}, r.validatorPermits());
    assertPeerAccessorsAgree(r);
    assertTrue(e.bonds() instanceof DenseMatrix, "bonds come back in the weights' form");
  }

  @ParameterizedTest
  @EnumSource(Precision.class)
  void yuma3EpochByHand(Precision p) {
    YumaConsensus yuma = YumaConsensus.of(YumaParams.defaults().withYuma3(true).withTau(TAU)
        .withPrecision(p));
    YumaResult r = yuma.epoch(YumaState.of(network()));
    double tol = tolerance(p);
    // B' = 0.1 Wc: validator 0 [0.075, 0.025], validator 1 [0.025, 0.025]. Column-normalised:
    // column 2 [0.75, 0.25], column 3 [0.5, 0.5]. Per validator: 0: 0.75*5/7 + 0.5*2/7 = 4.75/7,
    // 1: 0.25*5/7 + 0.5*2/7 = 2.25/7; times stake 3/4 and 1/4, normalised: [19/22, 3/22].
    assertVector(new double[] {19.0 / 22, 3.0 / 22, 0, 0}, r.epoch().dividends(), tol,
        "dividends");
    assertEquals("yuma3", yuma.name());
    double bondTol = p == Precision.FIXED_POINT ? 1.0 / 65535 : tol;
    PeerMatrix b = r.epoch().bonds();
    assertEquals(0.075, b.get(0, 2), bondTol);
    assertEquals(0.025, b.get(0, 3), bondTol);
    assertEquals(0.025, b.get(1, 2), bondTol);
    assertEquals(0.025, b.get(1, 3), bondTol);
  }

  @ParameterizedTest
  @EnumSource(Precision.class)
  void yuma3LiquidAlphaBuysFastAboveConsensus(Precision p) {
    // Bonds on raw weights (penalty 0), so validator 1's 0.75 on server 3 sits 0.5 above
    // consensus 0.25: alpha = low + sigmoid(-10 (0.5 - 0.5)) (high - low) = midway, 0.8.
    YumaParams params = YumaParams.defaults().withYuma3(true).withLiquidAlpha(true)
        .withBondsPenalty(0).withPrecision(p);
    YumaResult r = YumaConsensus.of(params).epoch(YumaState.of(network()));
    double low = params.alphaLow();
    double high = params.alphaHigh();
    double mid = low + 0.5 * (high - low);
    // Validator 0's 0.75 on server 2 equals consensus: distance 0, alpha near low.
    double nearLow = low + (high - low) / (1 + Math.exp(5));
    double tol = p == Precision.FIXED_POINT ? 2.0 / 65535 : 1e-12;
    assertEquals(mid * 0.75, r.epoch().bonds().get(1, 3), tol, "buying above consensus");
    assertEquals(nearLow * 0.75, r.epoch().bonds().get(0, 2), tol, "at consensus");
  }

  @ParameterizedTest
  @EnumSource(Precision.class)
  void classicLiquidAlphaFollowsTheLogisticThroughTheConsensusQuartiles(Precision p) {
    YumaParams params = YumaParams.defaults().withLiquidAlpha(true).withPrecision(p);
    // Prior bonds: both validators fully bonded to both servers, so columns normalise to 1/2.
    double[][] bonds = {{0, 0, 1, 1}, {0, 0, 1, 1}, {0, 0, 0, 0}, {0, 0, 0, 0}};
    NetworkState state = new NetworkState(PeerVector.of(STAKE), DenseMatrix.of(WEIGHTS),
        DenseMatrix.of(bonds));
    YumaResult r = YumaConsensus.of(params).epoch(YumaState.of(state));
    // Consensus [0, 0, 0.75, 0.25]: quartiles 0 (low) and 0.375 (high). The logistic through
    // (low, alphaLow) and (high, alphaHigh): alpha(c) = 1 / (1 + exp(b - a c)).
    double lnLow = Math.log(1 / params.alphaLow() - 1);
    double lnHigh = Math.log(1 / params.alphaHigh() - 1);
    double a = (lnHigh - lnLow) / (0 - 0.375);
    double b = lnLow;
    double alpha2 = Math.min(params.alphaHigh(), 1 / (1 + Math.exp(b - a * 0.75)));
    double alpha3 = 1 / (1 + Math.exp(b - a * 0.25));
    // Column 2: dB [0.9, 0.1], B [0.5, 0.5]; EMA then normalised, then max-upscaled.
    double v0 = alpha2 * 0.9 + (1 - alpha2) * 0.5;
    double v1 = alpha2 * 0.1 + (1 - alpha2) * 0.5;
    double w0 = alpha3 * 0.75 + (1 - alpha3) * 0.5;
    double w1 = alpha3 * 0.25 + (1 - alpha3) * 0.5;
    double tol = p == Precision.FIXED_POINT ? 2.0 / 65535 : 1e-9;
    assertEquals(v1 / v0, r.epoch().bonds().get(1, 2), tol, "column 2 with alpha " + alpha2);
    assertEquals(w1 / w0, r.epoch().bonds().get(1, 3), tol, "column 3 with alpha " + alpha3);
    assertTrue(alpha2 > alpha3 && alpha3 > params.alphaLow(), "alpha rises with consensus");
  }

  @ParameterizedTest
  @EnumSource(Precision.class)
  void weightRowsOfAnyFiniteMagnitudeNormaliseAlike(Precision p) {
    // Validator 0's row, 3:1 as in WEIGHTS, sums past Double.MAX_VALUE.
    double[][] huge = {
        {0, 0, 1.5e308, 0.5e308},
        {0, 0, 0.25, 0.75},
        {0, 0, 0, 0},
        {0, 0, 0, 0}};
    YumaResult expected = yuma(p).epoch(YumaState.of(network()));
    YumaResult r = yuma(p).epoch(
        YumaState.of(NetworkState.of(PeerVector.of(STAKE), DenseMatrix.of(huge))));

    double tol = tolerance(p);
    assertVector(expected.epoch().consensus().toArray(), r.epoch().consensus(), tol, "consensus");
    assertVector(expected.epoch().ranks().toArray(), r.epoch().ranks(), tol, "ranks");
    assertVector(expected.epoch().emission().toArray(), r.epoch().emission(), tol * TAU,
        "emission");
    assertTrue(expected.epoch().bonds().approximatelyEquals(r.epoch().bonds(), tol), "bonds");
  }

  @ParameterizedTest
  @EnumSource(Precision.class)
  void zeroBondsPenaltyBondsOnRawWeights(Precision p) {
    YumaConsensus yuma = YumaConsensus.of(YumaParams.defaults().withBondsPenalty(0)
        .withPrecision(p));
    YumaResult r = yuma.epoch(YumaState.of(network()));
    // dB = W S: column 3 is [3/4*1/4, 1/4*3/4] = [3/16, 3/16], equal shares: upscaled [1, 1].
    assertEquals(1, r.epoch().bonds().get(1, 3), p == Precision.FIXED_POINT ? 1.0 / 65535 : 1e-12);
  }

  @ParameterizedTest
  @EnumSource(Precision.class)
  void liquidAlphaWithoutASpreadOfConsensusFallsBackToTheMovingAverage(Precision p) {
    // Two validators vote only for peer 7: consensus [0, ..., 0, 1], both quartiles 0, so no
    // logistic can be drawn through them and every bond moves by the fixed alpha.
    int n = 8;
    double[][] w = new double[n][n];
    w[0][7] = 1;
    w[1][7] = 1;
    double[][] b = new double[n][n];
    b[0][7] = 1;
    b[1][7] = 0.2;
    b[1][5] = 0.6;
    NetworkState state = new NetworkState(PeerVector.of(3, 1, 0, 0, 0, 0, 0, 0),
        DenseMatrix.of(w), DenseMatrix.of(b));
    YumaParams fixed = YumaParams.defaults().withPrecision(p);
    YumaResult liquid = YumaConsensus.of(fixed.withLiquidAlpha(true)).epoch(YumaState.of(state));
    YumaResult plain = YumaConsensus.of(fixed).epoch(YumaState.of(state));
    assertEquals(plain.epoch().bonds(), liquid.epoch().bonds());
    assertTrue(liquid.epoch().bonds().get(1, 5) > 0, "a bond decays by the fixed alpha");
  }

  @ParameterizedTest
  @EnumSource(Precision.class)
  void classicLiquidAlphaOverQuartilesASubnormalApartIsTheLimitOfTheLogistic(Precision p) {
    // Eight equal validators: all but 7 vote 1 for peer 7, 7 votes for peer 0, and all but 6
    // give peer 6 a tiny weight. Consensus [0, ..., 0, tiny, 1]: the quartiles are 0 and
    // tiny / 4, and for a subnormal tiny the logistic's slope 1 / (high - low) overflows a
    // double. Its limit is a step, which a tiny of 1e-300 (a normal slope) already draws.
    int n = 8;
    YumaParams params = YumaParams.defaults().withLiquidAlpha(true).withPrecision(p);
    YumaResult[] r = new YumaResult[2];
    double[] tiny = {1e-300, 1e-310};
    for (int t = 0; t < 2; t++) {
      double[][] w = new double[n][n];
      double[][] b = new double[n][n];
      for (int i = 0; i < n; i++) {
        w[i][i == 7 ? 0 : 7] = 1;
        w[i][6] = i == 6 ? 0 : tiny[t];
        b[i][7] = i == 7 ? 0 : 0.1 * (i + 1);
        b[i][6] = i == 6 ? 0 : 0.5;
      }
      double[] stake = new double[n];
      java.util.Arrays.fill(stake, 1);
      r[t] = YumaConsensus.of(params).epoch(YumaState.of(new NetworkState(PeerVector.of(stake),
          DenseMatrix.of(w), DenseMatrix.of(b))));
    }
    double tol = tolerance(p);
    assertVector(r[0].epoch().dividends().toArray(), r[1].epoch().dividends(), tol, "dividends");
    assertTrue(r[0].epoch().bonds().approximatelyEquals(r[1].epoch().bonds(), tol),
        r[0].epoch().bonds() + " against " + r[1].epoch().bonds());
  }

  @ParameterizedTest
  @EnumSource(Precision.class)
  void liquidAlphaOverAFlatConsensusIsTheMidpointClamped(Precision p) {
    // Four equal validators each vote the other three equally: every peer's consensus is the
    // same, the logistic is flat at 1/2, and alpha is 1/2 clamped into [alphaLow, alphaHigh].
    int n = 4;
    double[][] w = new double[n][n];
    double[][] b = new double[n][n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        w[i][j] = i == j ? 0 : 1.0 / 3;
        b[i][j] = i == j ? 0 : 0.1 + 0.2 * ((i + 2 * j) % 4);
      }
    }
    NetworkState state = new NetworkState(PeerVector.of(1, 1, 1, 1), DenseMatrix.of(w),
        DenseMatrix.of(b));
    YumaParams params = YumaParams.defaults().withLiquidAlpha(true).withPrecision(p);
    double alpha = Math.max(Math.min(0.5, params.alphaHigh()), params.alphaLow());
    YumaResult liquid = YumaConsensus.of(params).epoch(YumaState.of(state));
    YumaResult plain = YumaConsensus.of(params.withLiquidAlpha(false)
        .withBondsMovingAverage(1 - alpha)).epoch(YumaState.of(state));
    double tol = p == Precision.FIXED_POINT ? 4.0 / 65535 : 1e-12;
    assertTrue(liquid.epoch().bonds().approximatelyEquals(plain.epoch().bonds(), tol),
        "liquid " + liquid.epoch().bonds() + " against alpha " + alpha + ": "
            + plain.epoch().bonds());
  }

  @ParameterizedTest(name = "{0}, penalty {1}")
  @CsvSource({"FLOAT64, 0.25", "FLOAT64, 0.5", "FLOAT64, 1", "FIXED_POINT, 0.25",
      "FIXED_POINT, 0.5", "FIXED_POINT, 1"})
  void bondsFollowAPenaltyOfTheWayFromRawToClippedWeights(Precision p, double penalty) {
    YumaConsensus yuma = YumaConsensus.of(YumaParams.defaults().withBondsPenalty(penalty)
        .withPrecision(p));
    YumaResult r = yuma.epoch(YumaState.of(network()));
    // Validator 1 votes 0.75 for server 3, clipped to 0.25: it bonds on the point `penalty` of
    // the way between, times its stake 1/4. Validator 0's 0.25 is not clipped: 0.25 * 3/4, the
    // larger, so the column upscales to 1 there.
    double validator1 = ((1 - penalty) * 0.75 + penalty * 0.25) / 4;
    double tol = p == Precision.FIXED_POINT ? 2.0 / 65535 : 1e-12;
    assertEquals(1, r.epoch().bonds().get(0, 3), tol);
    assertEquals(validator1 / (3.0 / 16), r.epoch().bonds().get(1, 3), tol);
  }

  @Test
  void permitsGoToTheLargestStakesTiesToTheHigherUid() {
    double[][] none = new double[4][4];
    YumaConsensus yuma = YumaConsensus.of(YumaParams.defaults().withMaxAllowedValidators(2));
    YumaResult r = yuma.epoch(YumaState.of(NetworkState.of(PeerVector.of(5, 5, 5, 1),
        DenseMatrix.of(none))));
    assertArrayEquals(new boolean[] {false, true, true, false}, r.validatorPermits());
  }

  @ParameterizedTest
  @EnumSource(Precision.class)
  void aStakeOfNegativeZeroIsNoStakeAndGetsNoPermit(Precision p) {
    // -0.0 passes every ">= 0" check; as a stake it is zero, like any other.
    YumaResult r = yuma(p).epoch(YumaState.of(NetworkState.of(PeerVector.of(-0.0, 1, 0),
        DenseMatrix.of(new double[][] {{0, 1, 0}, {1, 0, 0}, {1, 0, 0}}))));
    assertArrayEquals(new boolean[] {false, true, false}, r.validatorPermits());
  }

  @ParameterizedTest
  @EnumSource(Precision.class)
  void stakeBelowMinStakeCountsAsZeroAndStakeAtItCounts(Precision p) {
    YumaConsensus yuma = YumaConsensus.of(YumaParams.builder().minStake(2.5)
        .emission(Emission.fixed(TAU))
        .precision(p).build());
    YumaResult r = yuma.epoch(YumaState.of(NetworkState.of(PeerVector.of(2.5, 2.4, 3),
        DenseMatrix.of(new double[3][3]))));
    assertVector(new double[] {2.5 / 5.5, 0, 3 / 5.5}, r.activeStake(), tolerance(p),
        "active stake");
  }

  @Test
  void peersWithoutAPermitDoNotVote() {
    YumaState state = YumaState.of(network()).withValidatorPermits(
        new boolean[] {true, false, true, true});
    YumaResult r = YumaConsensus.defaults().epoch(state);
    // Only validator 0 votes: consensus is its own row, everything it says survives.
    assertVector(new double[] {0, 0, 0.75, 0.25}, r.epoch().consensus(), 1e-12, "consensus");
    assertVector(new double[] {1, 0, 0, 0}, r.activeStake(), 1e-12, "active stake");
    assertVector(new double[] {0, 0, 0.75, 0.25}, r.epoch().incentive(), 1e-12, "incentive");
  }

  @Test
  void inactivePeersKeepTheirPermitButNotTheirVote() {
    long block = YumaState.DEFAULT_BLOCK;
    YumaParams params = YumaParams.defaults();
    long[] lastUpdate = {block, block - params.activityCutoff() - 1, block, block};
    YumaResult r = YumaConsensus.of(params).epoch(
        YumaState.of(network()).withLastUpdate(lastUpdate));
    assertArrayEquals(new boolean[] {true, false, true, true}, r.active());
    assertPeerAccessorsAgree(r);
    // The next epoch's state: the active set their weights again, the inactive stay as they were.
    YumaState next = YumaConsensus.of(params).advance(
        YumaState.of(network()).withLastUpdate(lastUpdate), r);
    long nextBlock = block + params.tempo() + 1;
    assertArrayEquals(new long[] {nextBlock, lastUpdate[1], nextBlock, nextBlock},
        next.lastUpdate());
    assertVector(new double[] {1, 0, 0, 0}, r.activeStake(), 1e-12, "active stake");
    assertArrayEquals(new boolean[] {true, true, false, false}, r.validatorPermits(),
        "permits follow stake, active or not");
  }

  @Test
  void weightsSetBeforeTheTargetRegisteredAreDropped() {
    // Validator 0 last set weights at block 500; server 2 registered at block 500: w(0, 2) drops.
    long[] lastUpdate = {500, 1000, 1000, 1000};
    long[] registeredAt = {0, 0, 500, 0};
    YumaState state = YumaState.of(network()).withCurrentBlock(1000).withLastUpdate(lastUpdate)
        .withRegisteredAt(registeredAt);
    YumaResult r = YumaConsensus.defaults().epoch(state);
    // Validator 0's row is now just {3: 0.25}, normalised to {3: 1}. Column 2: stake 3/4 says
    // 0, stake 1/4 says 0.25: the median is 0. Column 3: 1 from 3/4, 0.75 from 1/4: 1.
    assertVector(new double[] {0, 0, 0, 1}, r.epoch().consensus(), 1e-12, "consensus");
    assertVector(new double[] {1, 0.75, 0, 0}, r.validatorTrust(), 1e-12, "validator trust");
  }

  @Test
  void bondsToARecentlyRegisteredPeerAreDropped() {
    double[][] bonds = {{0, 0, 1, 1}, {0, 0, 1, 1}, {0, 0, 0, 0}, {0, 0, 0, 0}};
    NetworkState withBonds = new NetworkState(PeerVector.of(STAKE), DenseMatrix.of(WEIGHTS),
        DenseMatrix.of(bonds));
    YumaParams params = YumaParams.defaults();
    long block = 10_000;
    long[] registeredAt = {0, 0, block - params.tempo(), 0}; // server 2: within the last tempo
    YumaState state = YumaState.of(withBonds).withCurrentBlock(block)
        .withLastUpdate(new long[] {block, block, block, block}).withRegisteredAt(registeredAt);
    YumaResult dropped = YumaConsensus.of(params).epoch(state);
    YumaResult kept = YumaConsensus.of(params).epoch(
        state.withRegisteredAt(new long[] {0, 0, block - params.tempo() - 1, 0}));
    // Without its old bonds, column 2 is dB alone: [0.9, 0.1], upscaled [1, 1/9].
    assertEquals(1.0 / 9, dropped.epoch().bonds().get(1, 2), 1e-12);
    // With them (0.5 each after normalising), 0.1*0.1 + 0.9*0.5 over 0.1*0.9 + 0.9*0.5.
    assertEquals(0.46 / 0.54, kept.epoch().bonds().get(1, 2), 1e-12);
  }

  @Test
  void aPeerThatLosesItsPermitLosesItsBondsOthersKeepTheirs() {
    double[][] bonds = {{0, 0, 1, 1}, {0, 0, 1, 1}, {0, 0, 0.5, 0}, {0, 0, 0, 0}};
    NetworkState withBonds = new NetworkState(PeerVector.of(STAKE), DenseMatrix.of(WEIGHTS),
        DenseMatrix.of(bonds));
    // One permit next epoch: validator 0 keeps it, validator 1 loses it; server 2 never had one.
    YumaConsensus yuma = YumaConsensus.of(YumaParams.defaults().withMaxAllowedValidators(1));
    YumaState state = YumaState.of(withBonds).withValidatorPermits(
        new boolean[] {true, true, false, false});
    PeerMatrix after = yuma.epoch(state).epoch().bonds();
    assertTrue(after.get(0, 2) > 0, "validator 0 stores its new bonds");
    assertEquals(0, after.rowSum(1), "validator 1 lost its permit: bonds cleared");
    assertEquals(0.5, after.get(2, 2), "server 2 never held a permit: bonds untouched");
  }

  @Test
  void selfWeightsAreIgnored() {
    double[][] w = {{1, 0, 1, 0}, {0, 1, 0, 1}, {0, 0, 0, 0}, {0, 0, 0, 0}};
    YumaResult r = YumaConsensus.defaults().epoch(YumaState.of(
        NetworkState.of(PeerVector.of(STAKE), DenseMatrix.of(w))));
    assertEquals(0, r.epoch().incentive().get(0), "validator 0's self-weight earns nothing");
    assertEquals(0, r.epoch().incentive().get(1));
  }

  @ParameterizedTest
  @EnumSource(Precision.class)
  void withNoIncentiveValidatorsAreRewardedByActiveStake(Precision p) {
    YumaResult r = YumaConsensus.of(YumaParams.defaults().withTau(8).withPrecision(p))
        .epoch(YumaState.of(NetworkState.of(PeerVector.of(STAKE), DenseMatrix.of(new double[4][4]))));
    assertVector(new double[] {6, 2, 0, 0}, r.validatorEmission(), 1e-6 * 8 + 1, "emission");
    assertEquals(0, r.serverEmission().sum());
  }

  @Test
  void withNoStakeNothingIsMintedAndNothingIsNaN() {
    YumaResult r = YumaConsensus.defaults().epoch(YumaState.of(
        NetworkState.of(PeerVector.zeros(4), DenseMatrix.of(WEIGHTS))));
    assertEquals(0, r.epoch().minted());
    assertFalse(r.epoch().incentive().stream().anyMatch(Double::isNaN));
  }

  @Test
  void stepRunsTheDefaultStateAndNamesTheMechanism() {
    YumaConsensus yuma = YumaConsensus.defaults();
    assertEquals("yuma", yuma.name());
    EpochResult viaStep = yuma.step(network());
    assertEquals(yuma.epoch(YumaState.of(network())).epoch(), viaStep);
  }

  @Test
  void runCarriesStakeBondsAndPermitsForward() {
    YumaConsensus yuma = YumaConsensus.of(YumaParams.defaults().withTau(14));
    YumaState initial = YumaState.of(network());
    var results = yuma.run(initial, 3);
    assertEquals(3, results.size());
    YumaState second = yuma.advance(initial, results.get(0));
    assertEquals(results.get(0).epoch().stake(), second.network().stake());
    assertEquals(results.get(0).epoch().bonds(), second.network().bonds());
    assertArrayEquals(results.get(0).validatorPermits(), second.validatorPermits());
    assertEquals(initial.currentBlock() + yuma.params().tempo() + 1, second.currentBlock());
    assertEquals(yuma.epoch(second), results.get(1));
    assertEquals(14 * 3, results.stream().mapToDouble(x -> x.epoch().minted()).sum(), 1e-9);
  }

  /** One peer's permit and activity read the same as the arrays. */
  private static void assertPeerAccessorsAgree(YumaResult r) {
    for (int uid = 0; uid < r.size(); uid++) {
      assertEquals(r.validatorPermits()[uid], r.validatorPermit(uid), "permit of " + uid);
      assertEquals(r.active()[uid], r.isActive(uid), "activity of " + uid);
    }
  }
}
