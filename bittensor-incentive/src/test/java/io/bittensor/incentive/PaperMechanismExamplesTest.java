package io.bittensor.incentive;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Epochs worked by hand for one to four peers. Expected values are written out from the
 * definitions (with {@code Math.exp} for the sigmoid), not computed by the code under test.
 */
class PaperMechanismExamplesTest {
  private static final double EPS = 1e-15;
  private static final PaperMechanism PAPER = IncentiveMechanism.paper();

  private static double sigmoid(double x) {
    return 1 / (1 + Math.exp(-x));
  }

  private static NetworkState state(double[] stake, double[][] weights) {
    return NetworkState.of(PeerVector.of(stake), PeerMatrix.dense(weights));
  }

  @Test
  void aSinglePeerVotingForItselfTakesAllTheEmission() {
    EpochResult r = PAPER.step(state(new double[] {5}, new double[][] {{1}}));

    assertArrayEquals(new double[] {1}, r.ranks().toArray(), EPS);
    assertArrayEquals(new double[] {1}, r.trust().toArray(), EPS);
    assertArrayEquals(new double[] {sigmoid(5)}, r.consensus().toArray(), EPS);
    assertArrayEquals(new double[] {1}, r.incentive().toArray(), EPS);
    assertArrayEquals(new double[] {1}, r.emission().toArray(), EPS);
    assertArrayEquals(new double[] {6}, r.stake().toArray(), EPS);
    assertEquals(1.0, r.bonds().get(0, 0), EPS);
    assertEquals(-(sigmoid(5) - 0.5), r.loss(), EPS);
  }

  @Test
  void aSinglePeerWithoutWeightsMintsNothing() {
    EpochResult r = PAPER.step(state(new double[] {5}, new double[][] {{0}}));

    assertArrayEquals(new double[] {0}, r.ranks().toArray());
    assertArrayEquals(new double[] {sigmoid(-5)}, r.consensus().toArray(), EPS);
    assertArrayEquals(new double[] {0}, r.incentive().toArray());
    assertArrayEquals(new double[] {0}, r.emission().toArray());
    assertArrayEquals(new double[] {5}, r.stake().toArray());
    assertEquals(0.0, r.loss());
    assertEquals(Double.doubleToLongBits(0.0), Double.doubleToLongBits(r.loss()), "no -0.0");
  }

  @Test
  void twoPeersVotingForEachOtherSplitEmissionEvenlyThroughBonds() {
    // s = [0.75, 0.25]; each votes for the other, so R = t = [0.25, 0.75].
    EpochResult r = PAPER.step(state(new double[] {3, 1}, new double[][] {{0, 1}, {1, 0}}));

    double c0 = sigmoid(10 * (0.25 - 0.5));
    double c1 = sigmoid(10 * (0.75 - 0.5));
    double total = 0.25 * c0 + 0.75 * c1;
    double i0 = 0.25 * c0 / total;
    double i1 = 0.75 * c1 / total;
    assertArrayEquals(new double[] {0.25, 0.75}, r.ranks().toArray(), EPS);
    assertArrayEquals(new double[] {0.25, 0.75}, r.trust().toArray(), EPS);
    assertArrayEquals(new double[] {c0, c1}, r.consensus().toArray(), EPS);
    assertArrayEquals(new double[] {i0, i1}, r.incentive().toArray(), EPS);
    // Each owns all bonds in the other: B' = [[0, .75], [.25, 0]], so beta I = [I1, I0].
    assertArrayEquals(new double[][] {{0, 0.75}, {0.25, 0}}, r.bonds().toArray());
    assertArrayEquals(new double[] {i1, i0}, r.dividends().toArray(), EPS);
    // dS = 0.5 I + 0.5 beta I = [0.5, 0.5] since I0 + I1 = 1.
    assertArrayEquals(new double[] {0.5, 0.5}, r.emission().toArray(), EPS);
    assertArrayEquals(new double[] {3.5, 1.5}, r.stake().toArray(), EPS);
    assertEquals(-(0.25 * (c0 - 0.5) + 0.75 * (c1 - 0.5)), r.loss(), EPS);
  }

  @Test
  void selfVotesCountUnlessMasked() {
    NetworkState selfish = state(new double[] {1, 3}, new double[][] {{1, 0}, {0, 1}});

    EpochResult kept = PAPER.step(selfish);
    double c0 = sigmoid(10 * (0.25 - 0.5));
    double c1 = sigmoid(10 * (0.75 - 0.5));
    double total = 0.25 * c0 + 0.75 * c1;
    assertArrayEquals(new double[] {0.25, 0.75}, kept.ranks().toArray(), EPS);
    assertArrayEquals(new double[] {0.25 * c0 / total, 0.75 * c1 / total},
        kept.emission().toArray(), EPS);

    EpochResult masked =
        PaperMechanism.of(PaperParams.defaults().withMaskSelfWeights(true)).step(selfish);
    assertArrayEquals(new double[] {0, 0}, masked.ranks().toArray());
    assertArrayEquals(new double[] {0, 0}, masked.emission().toArray());
    assertArrayEquals(new double[] {1, 3}, masked.stake().toArray());
  }

  @Test
  void zeroStakeVotesCountForNothingAndEmptyRowsAreSkipped() {
    // Peer 1 holds no stake but votes; peer 2 sets no weights.
    EpochResult r = PAPER.step(state(
        new double[] {2, 0, 2},
        new double[][] {{0, 1, 1}, {1, 0, 0}, {0, 0, 0}}));

    // s = [.5, 0, .5]; row 0 normalised to [0, .5, .5].
    assertArrayEquals(new double[] {0, 0.25, 0.25}, r.ranks().toArray(), EPS);
    assertArrayEquals(new double[] {0, 0.5, 0.5}, r.trust().toArray(), EPS);
    assertArrayEquals(new double[] {sigmoid(-5), 0.5, 0.5}, r.consensus().toArray(), EPS);
    assertArrayEquals(new double[] {0, 0.5, 0.5}, r.incentive().toArray(), EPS);
    assertArrayEquals(
        new double[][] {{0, 0.25, 0.25}, {0, 0, 0}, {0, 0, 0}}, r.bonds().toArray());
    // Peer 0 owns every bond in peers 1 and 2, so it earns all of the bond share.
    assertArrayEquals(new double[] {1, 0, 0}, r.dividends().toArray(), EPS);
    assertArrayEquals(new double[] {0.5, 0.25, 0.25}, r.emission().toArray(), EPS);
    assertEquals(0.0, r.loss(), EPS);
  }

  @Test
  void twoPairsVotingAcrossEachOtherWithPriorBonds() {
    // Pairs (0,1) and (2,3) vote for each other; peer 2 already holds bonds in peer 1.
    double[][] w = {{0, 1, 0, 0}, {1, 0, 0, 0}, {0, 0, 0, 1}, {0, 0, 1, 0}};
    double[][] b = {{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0.1, 0, 0}, {0, 0, 0, 0}};
    NetworkState state =
        new NetworkState(PeerVector.of(4, 3, 2, 1), PeerMatrix.dense(w), PeerMatrix.dense(b));

    EpochResult r = PaperMechanism.of(PaperParams.defaults().withTau(10)).step(state);

    double[] s = {0.4, 0.3, 0.2, 0.1};
    double[] rank = {0.3, 0.4, 0.1, 0.2};
    double[] c = new double[4];
    double[] rc = new double[4];
    double total = 0;
    for (int j = 0; j < 4; j++) {
      c[j] = sigmoid(10 * (rank[j] - 0.5));
      rc[j] = rank[j] * c[j];
      total += rc[j];
    }
    double[] inc = new double[4];
    for (int j = 0; j < 4; j++) {
      inc[j] = rc[j] / total;
    }
    // B' = B + diag(s) W: column 1 is owned 0.4 by peer 0 and 0.1 by peer 2.
    double[][] bonds = {{0, 0.4, 0, 0}, {0.3, 0, 0, 0}, {0, 0.1, 0, 0.2}, {0, 0, 0.1, 0}};
    double[] div = {0.8 * inc[1], inc[0], 0.2 * inc[1] + inc[3], inc[2]};
    assertArrayEquals(rank, r.ranks().toArray(), EPS);
    assertArrayEquals(rank, r.trust().toArray(), EPS);
    assertArrayEquals(c, r.consensus().toArray(), EPS);
    assertArrayEquals(inc, r.incentive().toArray(), EPS);
    for (int i = 0; i < 4; i++) {
      assertArrayEquals(bonds[i], r.bonds().toArray()[i], EPS, "bonds row " + i);
    }
    assertArrayEquals(div, r.dividends().toArray(), EPS);
    for (int i = 0; i < 4; i++) {
      assertEquals(10 * (0.5 * inc[i] + 0.5 * div[i]), r.emission().get(i), 1e-14);
      assertEquals(new double[] {4, 3, 2, 1}[i] + r.emission().get(i), r.stake().get(i), 1e-14);
    }
    assertEquals(10.0, r.minted(), 1e-13);
    double loss = 0;
    for (int j = 0; j < 4; j++) {
      loss -= rank[j] * (c[j] - 0.5);
    }
    assertEquals(loss, r.loss(), EPS);
    assertEquals(s.length, r.size());
  }

  @Test
  void rowsAreNormalisedBeforeUse() {
    // Raw weights [2, 6] act as [0.25, 0.75].
    EpochResult raw = PAPER.step(state(new double[] {1, 0}, new double[][] {{2, 6}, {0, 0}}));
    EpochResult unit =
        PAPER.step(state(new double[] {1, 0}, new double[][] {{0.25, 0.75}, {0, 0}}));

    assertArrayEquals(new double[] {0.25, 0.75}, raw.ranks().toArray(), EPS);
    assertArrayEquals(unit.incentive().toArray(), raw.incentive().toArray(), EPS);
    assertArrayEquals(new double[] {1, 1}, raw.trust().toArray(), EPS);
  }

  @Test
  void rowsOfAnyFiniteMagnitudeNormaliseAlike() {
    // Row 0 at 1e308 sums past Double.MAX_VALUE; at 1e-310 (subnormal) s_0 / rowSum overflows.
    double[] stake = {2, 1, 1};
    double[][] unit = {{1, 1, 1}, {0, 0, 1}, {1, 0, 0}};
    for (double scale : new double[] {1e308, 1e-310, Double.MIN_VALUE}) {
      double[][] scaled = {{scale, scale, scale}, {0, 0, 1}, {1, 0, 0}};
      for (boolean mask : new boolean[] {false, true}) {
        PaperMechanism paper = PaperMechanism.of(PaperParams.defaults().withMaskSelfWeights(mask));
        EpochResult expected = paper.step(state(stake, unit));
        for (PeerMatrix w : new PeerMatrix[] {PeerMatrix.dense(scaled),
            PeerMatrix.dense(scaled).toCsr()}) {
          String what = "row 0 at " + scale + ", mask " + mask + ", " + w.getClass();
          EpochResult r = paper.step(NetworkState.of(PeerVector.of(stake), w));
          assertArrayEquals(expected.ranks().toArray(), r.ranks().toArray(), 1e-15, what);
          assertArrayEquals(expected.trust().toArray(), r.trust().toArray(), 1e-15, what);
          assertArrayEquals(expected.emission().toArray(), r.emission().toArray(), 1e-15, what);
          assertTrue(expected.bonds().approximatelyEquals(r.bonds(), 1e-15), what);
        }
      }
    }
  }

  @Test
  void bondColumnsSummingPastTheDoubleRangeStillPayTheirIncentive() {
    // Both peers vote for peer 1 and own 1e308 of it each: column 1 sums past Double.MAX_VALUE.
    double[][] weights = {{0, 1}, {0, 1}};
    double[][] bonds = {{0, 1e308}, {0, 1e308}};
    for (boolean sparse : new boolean[] {false, true}) {
      PeerMatrix b = sparse ? PeerMatrix.dense(bonds).toCsr() : PeerMatrix.dense(bonds);
      PeerMatrix w = sparse ? PeerMatrix.dense(weights).toCsr() : PeerMatrix.dense(weights);
      EpochResult r = PAPER.step(new NetworkState(PeerVector.of(1, 1), w, b));

      String form = sparse ? "sparse" : "dense";
      assertArrayEquals(new double[] {0, 1}, r.incentive().toArray(), EPS, form);
      assertArrayEquals(new double[] {0.5, 0.5}, r.dividends().toArray(), EPS, form);
      assertArrayEquals(new double[] {0.25, 0.75}, r.emission().toArray(), EPS, form);
      assertEquals(1.0, r.minted(), EPS, form);
    }
  }

  @Test
  void bondColumnsOfSubnormalSumStillPayTheirIncentive() {
    // Only peer 0 votes, with a stake share of 2e-311: peer 1's bonds sum to that, and
    // I_1 / colsum_1 = 1 / 2e-311 overflows.
    double[][] weights = {{0, 1}, {0, 0}};
    for (boolean sparse : new boolean[] {false, true}) {
      PeerMatrix w = sparse ? PeerMatrix.dense(weights).toCsr() : PeerMatrix.dense(weights);
      EpochResult r = PAPER.step(NetworkState.of(PeerVector.of(1e-310, 5), w));

      String form = sparse ? "sparse" : "dense";
      assertArrayEquals(new double[] {0, 1}, r.incentive().toArray(), EPS, form);
      assertArrayEquals(new double[] {1, 0}, r.dividends().toArray(), EPS, form);
      assertArrayEquals(new double[] {0.5, 0.5}, r.emission().toArray(), EPS, form);
    }
  }

  @Test
  void inflationMintsAShareOfTotalStake() {
    PaperMechanism inflation =
        PaperMechanism.of(PaperParams.defaults().withEmission(Emission.inflation(0.1)));
    EpochResult r = inflation.step(state(new double[] {30, 70}, new double[][] {{0, 1}, {0, 1}}));

    assertEquals(10.0, r.minted(), 1e-12);
    assertEquals(110.0, r.stake().sum(), 1e-12);
  }

  @Test
  void bondShareZeroPaysIncentiveDirectlyAndOnePaysOnlyThroughBonds() {
    NetworkState s = state(new double[] {1, 1}, new double[][] {{0, 1}, {0, 1}});

    EpochResult direct = PaperMechanism.of(PaperParams.defaults().withBondShare(0)).step(s);
    assertArrayEquals(new double[] {0, 1}, direct.emission().toArray(), EPS);

    EpochResult bonded = PaperMechanism.of(PaperParams.defaults().withBondShare(1)).step(s);
    assertArrayEquals(new double[] {0.5, 0.5}, bonded.emission().toArray(), EPS);
  }
}
