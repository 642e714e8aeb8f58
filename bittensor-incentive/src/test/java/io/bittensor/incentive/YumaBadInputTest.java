package io.bittensor.incentive;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** Bad parameters and states are rejected with a message naming the bad value. */
class YumaBadInputTest {
  private static final NetworkState TWO = NetworkState.of(PeerVector.of(1, 2),
      DenseMatrix.of(new double[][] {{0, 1}, {1, 0}}));

  private static void rejects(Supplier<?> call, String... fragments) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::get);
    for (String f : fragments) {
      assertTrue(e.getMessage().contains(f), "message '" + e.getMessage() + "' names " + f);
    }
  }

  @Test
  void parametersOutOfRangeAreNamed() {
    YumaParams d = YumaParams.defaults();
    rejects(() -> d.withKappa(1.5), "kappa", "1.5");
    rejects(() -> d.withKappa(Double.NaN), "kappa", "NaN");
    rejects(() -> d.withBondsMovingAverage(-0.1), "bondsMovingAverage");
    rejects(() -> d.withBondsPenalty(2), "bondsPenalty");
    rejects(() -> d.toBuilder().alphas(0.9, 0.7).build(), "alphaLow", "0.9");
    rejects(() -> d.toBuilder().alphas(0.01, 0.9).build(), "alphaLow", "0.01");
    rejects(() -> d.toBuilder().alphaSigmoidSteepness(40_000).build(), "alphaSigmoidSteepness");
    rejects(() -> d.withMaxAllowedValidators(-1), "maxAllowedValidators", "-1");
    rejects(() -> d.withActivityCutoff(-5), "activityCutoff", "-5");
    rejects(() -> d.withTempo(70_000), "tempo", "70000");
    rejects(() -> d.toBuilder().minStake(-1).build(), "minStake");
    rejects(() -> d.withKappaU16(70_000), "kappaU16", "70000");
  }

  @Test
  void theRangesEndsAreAcceptedAndOneStepPastRefused() {
    YumaParams d = YumaParams.defaults();
    assertEquals(0, d.withMaxAllowedValidators(0).maxAllowedValidators());
    assertEquals(65535, d.withMaxAllowedValidators(65535).maxAllowedValidators());
    rejects(() -> d.withMaxAllowedValidators(65536), "maxAllowedValidators", "65536");
    assertEquals(0, d.withActivityCutoff(0).activityCutoff());
    rejects(() -> d.withActivityCutoff(-1), "activityCutoff", "-1");
    assertEquals(0, d.withTempo(0).tempo());
    assertEquals(65535, d.withTempo(65535).tempo());
    rejects(() -> d.withTempo(-1), "tempo", "-1");
    rejects(() -> d.withTempo(65536), "tempo", "65536");
    assertEquals(0, d.withKappaU16(0).kappaU16());
    assertEquals(65535, d.withKappaU16(65535).kappaU16());
    rejects(() -> d.withKappaU16(-1), "kappaU16", "-1");
    rejects(() -> d.withKappaU16(65536), "kappaU16", "65536");
  }

  @Test
  void defaultsAreTheChainsIntegers() {
    YumaParams d = YumaParams.defaults();
    assertEquals(32767, d.kappaU16());
    assertEquals(900_000, d.bondsMovingAverageMillionths());
    assertEquals(65535, d.bondsPenaltyU16());
    assertEquals(45875, d.alphaLowU16());
    assertEquals(58982, d.alphaHighU16());
    assertEquals(1000, d.alphaSigmoidSteepnessI16());
    assertEquals(128, d.maxAllowedValidators());
    assertEquals(5000, d.activityCutoff());
    assertEquals(360, d.tempo());
    assertEquals(YumaParams.Precision.FLOAT64, d.precision());
    assertTrue(!d.yuma3() && !d.liquidAlpha());
  }

  @Test
  void stateArraysMustMatchTheNetwork() {
    YumaState ok = YumaState.of(TWO);
    rejects(() -> ok.withLastUpdate(new long[3]), "lastUpdate", "2 entries", "had 3");
    rejects(() -> ok.withRegisteredAt(new long[1]), "registeredAt", "had 1");
    rejects(() -> ok.withValidatorPermits(new boolean[5]), "validatorPermits", "had 5");
    rejects(() -> ok.withLastUpdate(new long[] {0, -4}), "lastUpdate[1]", "-4");
    rejects(() -> ok.withCurrentBlock(-1), "currentBlock", "-1");
  }

  @Test
  void bondsAboveOneAreRejectedNamingTheEntry() {
    NetworkState big = TWO.withBonds(DenseMatrix.of(new double[][] {{0, 3}, {0, 0}}));
    rejects(() -> YumaState.of(big), "bond (0, 1)", "3.0");
    rejects(() -> YumaConsensus.defaults().step(big), "bond (0, 1)");
  }

  @Test
  void anEmptyNetworkIsRejected() {
    NetworkState empty = NetworkState.of(PeerVector.of(), DenseMatrix.of(new double[0][0]));
    rejects(() -> YumaConsensus.defaults().step(empty), "no peers");
  }

  @Test
  void fixedPointRejectsEmissionBeyond64Bits() {
    YumaConsensus yuma = YumaConsensus.of(YumaParams.defaults().withTau(1e20)
        .withPrecision(YumaParams.Precision.FIXED_POINT));
    rejects(() -> yuma.step(TWO), "emission", "2^63");
  }

  @Test
  void anInflationThatOverflowsNamesOnlyAPeerItPays() {
    // Peer 1 holds all the stake and is paid all of it; tau = 10 * 1e308 overflows a double.
    YumaConsensus yuma =
        YumaConsensus.of(YumaParams.defaults().withEmission(Emission.inflation(10)));
    ArithmeticException e = assertThrows(ArithmeticException.class,
        () -> yuma.step(NetworkState.of(PeerVector.of(0, 1e308), PeerMatrix.zeros(2))));
    assertEquals("stake of peer 1 overflows a double", e.getMessage());
  }

  @Test
  void advancingPastTheLastBlockALongHoldsSaysSo() {
    YumaConsensus yuma = YumaConsensus.defaults();
    YumaState last = YumaState.of(TWO).withCurrentBlock(Long.MAX_VALUE - 100);
    YumaResult r = yuma.epoch(last);
    ArithmeticException e = assertThrows(ArithmeticException.class, () -> yuma.advance(last, r));
    assertTrue(e.getMessage().contains("block " + (Long.MAX_VALUE - 100) + " + tempo 360 + 1"),
        e.getMessage());
  }

  @Test
  void runRejectsNegativeEpochs() {
    rejects(() -> YumaConsensus.defaults().run(YumaState.of(TWO), -1), "epochs", "-1");
  }
}
