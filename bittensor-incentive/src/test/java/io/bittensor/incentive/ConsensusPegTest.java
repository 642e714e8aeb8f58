package io.bittensor.incentive;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ConsensusPegTest {

  @Test
  void positiveLossRaisesTheMinimumByOne() {
    assertEquals(3, ConsensusPeg.of(2).afterEpoch(0.1, 10).minAllowedWeights());
  }

  @Test
  void zeroOrNegativeLossLeavesItUnchanged() {
    assertEquals(2, ConsensusPeg.of(2).afterEpoch(0.0, 10).minAllowedWeights());
    assertEquals(2, ConsensusPeg.of(2).afterEpoch(-0.3, 10).minAllowedWeights());
  }

  @Test
  void itNeverExceedsThePeerCount() {
    ConsensusPeg peg = ConsensusPeg.of(0);
    for (int e = 0; e < 10; e++) {
      peg = peg.afterEpoch(1.0, 4);
    }
    assertEquals(4, peg.minAllowedWeights());
  }

  @Test
  void rowsWithTooFewNonZeroEntriesAreRejectedWithAReason() {
    ConsensusPeg peg = ConsensusPeg.of(2);
    assertTrue(peg.admits(new double[] {0.5, 0, 0.5}));
    assertFalse(peg.admits(new double[] {1, 0, 0}));
    assertEquals(
        "weights of peer 7 have 1 non-zero entries; the consensus peg requires at least 2",
        peg.rejection(7, new double[] {1, 0, 0}).orElseThrow());
    assertTrue(peg.rejection(7, new double[] {0.5, 0.5, 0}).isEmpty());
  }

  @Test
  void badArgumentsAreRejected() {
    assertThrows(IllegalArgumentException.class, () -> ConsensusPeg.of(-1));
    assertThrows(IllegalArgumentException.class, () -> ConsensusPeg.of(1).afterEpoch(Double.NaN, 3));
  }

  @Test
  void thePegDrivesACabalHeavyNetworkBackToConsensus() {
    // Five peers each voting only for themselves: every peer has trust 0.2 < kappa, so L > 0.
    // Forcing rows to spread over more peers raises trust until L < 0.
    int n = 5;
    ConsensusPeg peg = ConsensusPeg.of(1);
    PaperMechanism paper = IncentiveMechanism.paper();
    double loss = Double.NaN;
    for (int epoch = 0; epoch < 10; epoch++) {
      double[][] w = new double[n][n];
      for (int i = 0; i < n; i++) {
        for (int k = 0; k < peg.minAllowedWeights(); k++) {
          w[i][(i + k) % n] = 1;
        }
      }
      loss = paper.step(NetworkState.of(PeerVector.of(1, 1, 1, 1, 1), PeerMatrix.dense(w))).loss();
      peg = peg.afterEpoch(loss, n);
    }
    assertTrue(loss < 0, "the peg restores consensus, loss " + loss);
    assertEquals(3, peg.minAllowedWeights(), "raised until trust 0.6 > kappa");
  }
}
