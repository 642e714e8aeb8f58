package io.bittensor.incentive;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SyntheticNetworksTest {

  @Test
  void mixIsSplitMix64() {
    // The first outputs of SplitMix64 seeded with 0, as published with the algorithm.
    long gamma = 0x9E3779B97F4A7C15L;
    assertEquals(0xE220A8397B1DCDAFL, SyntheticNetworks.mix(0));
    assertEquals(0x6E789E6AA1B965F4L, SyntheticNetworks.mix(gamma));
    assertEquals(0x06C45D188009454FL, SyntheticNetworks.mix(2 * gamma));
  }

  @Test
  void theSameSeedGivesTheSameNetwork() {
    assertEquals(SyntheticNetworks.sparse(500, 16, 7, true).weights(),
        SyntheticNetworks.sparse(500, 16, 7, true).weights());
    assertTrue(!SyntheticNetworks.sparse(500, 16, 7, false).weights()
        .equals(SyntheticNetworks.sparse(500, 16, 8, false).weights()));
  }

  @Test
  void sparseNetworksHaveAtMostPerRowDistinctSortedColumnsAndBondsOnThatPattern() {
    NetworkState s = SyntheticNetworks.sparse(1000, 64, 42, true);
    CsrMatrix w = (CsrMatrix) s.weights();
    CsrMatrix b = (CsrMatrix) s.bonds();
    assertTrue(b.sharesPatternWith(w));
    for (int i = 0; i < 1000; i++) {
      int count = w.rowEnd(i) - w.rowStart(i);
      assertTrue(count <= 64 && count >= 50, "row " + i + " has " + count);
    }
    for (int i = 0; i < 1000; i++) {
      double st = s.stake().get(i);
      assertTrue(st >= 1 && st < 1000);
    }
  }

  @Test
  void denseNetworksAreAboutHalfFull() {
    NetworkState s = SyntheticNetworks.dense(200, 3, true);
    double fill = s.weights().nonZeroCount() / 40_000.0;
    assertTrue(fill > 0.45 && fill < 0.55, "fill " + fill);
    assertEquals(s.weights().nonZeroCount(), s.bonds().nonZeroCount());
  }
}
