package io.bittensor.incentive;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CollusionSimulationTest {

  @Test
  void reproducesThePapersPrintedCabalShares() {
    CollusionSimulation.Trajectory t =
        CollusionSimulation.builder().honestShare(0.51).epochs(5).build().run();

    double[] paper = {
      0.4877323388820201, 0.4849535784321247, 0.4815511535094221, 0.477389901500398,
      0.4723093486843246
    };
    assertEquals(0.49, t.cabalShare(0), 1e-15);
    for (int e = 0; e < paper.length; e++) {
      assertEquals(paper[e], t.cabalShare(e + 1), 1e-12, "epoch " + (e + 1));
    }
  }

  @ParameterizedTest(name = "{0} honest, {1} cabal peers")
  @ValueSource(ints = {1, 3, 17})
  void groupSizesDoNotChangeTheShares(int peers) {
    double[] reference = CollusionSimulation.builder().epochs(20).build().run().cabalShares();
    double[] other = CollusionSimulation.builder().honestPeers(peers).cabalPeers(peers + 2)
        .epochs(20).build().run().cabalShares();
    for (int e = 0; e < reference.length; e++) {
      assertEquals(reference[e], other[e], 1e-12, "epoch " + e);
    }
  }

  @Test
  void anHonestMajorityOutInflatesTheCabal() {
    CollusionSimulation.Trajectory t =
        CollusionSimulation.builder().honestShare(0.6).epochs(60).build().run();
    for (int e = 1; e <= t.epochs(); e++) {
      assertTrue(t.cabalShare(e) < t.cabalShare(e - 1), "falls every epoch, epoch " + e);
    }
    assertTrue(t.cabalShare(60) < 0.01, "decays towards zero: " + t.cabalShare(60));
  }

  @Test
  void aCabalWithTheMajorityWins() {
    CollusionSimulation.Trajectory t =
        CollusionSimulation.builder().honestShare(0.45).epochs(60).build().run();
    for (int e = 1; e <= t.epochs(); e++) {
      assertTrue(t.cabalShare(e) > t.cabalShare(e - 1), "grows every epoch, epoch " + e);
    }
    assertTrue(t.cabalShare(60) > 0.99, "the cabal takes over: " + t.cabalShare(60));
  }

  @Test
  void theLossIsPositiveForTheLosingSideOnly() {
    // Two disjoint groups: whichever holds the majority, the network is in consensus (L < 0)
    // only when the majority's rank outweighs the minority's lack of it.
    double[] losses = CollusionSimulation.builder().honestShare(0.75).epochs(3).build().run()
        .losses();
    for (double l : losses) {
      assertTrue(l < 0, "honest majority keeps consensus: " + l);
    }
  }

  @Test
  void badSettingsAreRejected() {
    assertThrows(IllegalArgumentException.class,
        () -> CollusionSimulation.builder().honestShare(1.0));
    assertThrows(IllegalArgumentException.class, () -> CollusionSimulation.builder().epochs(-1));
    assertThrows(IllegalArgumentException.class,
        () -> CollusionSimulation.builder().cabalPeers(0));
  }

  @Test
  void groupsTooLargeForTheirWeightsAreRejectedNamingTheSizes() {
    // 50,000^2 weights: more than one sparse matrix holds (and than an int counts).
    var e = assertThrows(IllegalArgumentException.class,
        () -> CollusionSimulation.builder().honestPeers(50_000).build());
    assertTrue(e.getMessage().contains("50000 honest"), e.getMessage());
    assertTrue(e.getMessage().contains("4 cabal"), e.getMessage());
  }
}
