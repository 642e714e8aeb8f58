package io.bittensor.incentive;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.incentive.testing.RandomNetworks;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A simulation stepping in place gives, bit for bit, what chaining {@link PaperMechanism#step}
 * gives, and never touches what it was handed.
 */
class PaperSimulationTest {
  private static final ExecutorService POOL = Executors.newFixedThreadPool(2);

  @AfterAll
  static void shutDown() {
    POOL.shutdownNow();
  }

  static LongStream seeds() {
    return RandomNetworks.seeds(120);
  }

  private static PaperMechanism mechanism(SplittableRandom random) {
    PaperMechanism m = PaperMechanism.of(PaperParams.defaults()
        .withRho(random.nextDouble(0, 30))
        .withKappa(random.nextDouble())
        .withBondShare(random.nextDouble())
        .withTau(random.nextDouble(0.001, 1000))
        .withMaskSelfWeights(random.nextBoolean()));
    return random.nextBoolean() ? m.withExecutor(POOL) : m;
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void stepsInPlaceExactlyAsChainedStepsDo(long seed) {
    SplittableRandom random = new SplittableRandom(seed ^ 0x51AL);
    NetworkState initial = RandomNetworks.network(seed, 40);
    PaperMechanism mechanism = mechanism(random);
    double[] initialBonds = initial.bonds().toDense().toRowMajor();
    // Half the runs swap in another network's weights halfway (peers re-vote), in either form.
    NetworkState other = RandomNetworks.network(seed + 1, initial.size(), random.nextBoolean());
    boolean revote = random.nextBoolean();

    PaperSimulation sim = PaperSimulation.start(mechanism, initial);
    NetworkState chained = initial;
    int epochs = 1 + random.nextInt(6);
    for (int e = 0; e < epochs; e++) {
      if (revote && e == epochs / 2) {
        sim.setWeights(other.weights());
        chained = chained.withWeights(other.weights());
      }
      EpochResult expected = mechanism.step(chained);
      EpochSummary actual = sim.step();
      String at = "seed " + seed + ", epoch " + e + ": ";
      assertBits(expected.ranks(), actual.ranks(), at + "ranks");
      assertBits(expected.trust(), actual.trust(), at + "trust");
      assertBits(expected.consensus(), actual.consensus(), at + "consensus");
      assertBits(expected.incentive(), actual.incentive(), at + "incentive");
      assertBits(expected.dividends(), actual.dividends(), at + "dividends");
      assertBits(expected.emission(), actual.emission(), at + "emission");
      assertBits(expected.stake(), actual.stake(), at + "stake");
      assertEquals(expected.loss(), actual.loss(), 0.0, at + "loss");
      assertArrayEquals(expected.bonds().toDense().toRowMajor(),
          sim.bonds().toDense().toRowMajor(), at + "bonds");
      chained = chained.withStake(expected.stake()).withBonds(expected.bonds());
    }
    assertEquals(epochs, sim.epochs());
    assertArrayEquals(initialBonds, initial.bonds().toDense().toRowMajor(),
        "seed " + seed + ": the initial state's bonds were modified");
  }

  private static void assertBits(PeerVector expected, PeerVector actual, String what) {
    assertArrayEquals(expected.toArray(), actual.toArray(), what);
  }

  @Test
  void denseBondsAreUpdatedInPlaceAndHandedOutAsCopies() {
    NetworkState initial = SyntheticNetworks.dense(64, 7, true);
    PaperSimulation sim = PaperSimulation.start(PaperMechanism.of(PaperParams.defaults()), initial);
    PeerMatrix before = sim.bonds();
    NetworkState snapshot = sim.snapshot();
    sim.step();
    PeerMatrix after = sim.bonds();
    assertNotEquals(before, after, "an epoch with stake and weights must move the bonds");
    assertEquals(initial.bonds().toDense(), before.toDense(), "a copy taken before the step");
    assertEquals(initial.bonds().toDense(), snapshot.bonds().toDense());
    assertEquals(initial.stake(), snapshot.stake());
    assertTrue(sim.toString().contains("bonds=dense"), sim.toString());
  }

  @Test
  void sparseWeightsOverSparseBondsStaySparseUntilDenseWeightsArrive() {
    NetworkState initial = SyntheticNetworks.sparse(200, 8, 3, true);
    PaperMechanism mechanism = PaperMechanism.of(PaperParams.defaults());
    PaperSimulation sim = PaperSimulation.start(mechanism, initial);
    sim.step();
    assertInstanceOf(CsrMatrix.class, sim.bonds());
    assertTrue(sim.toString().contains("bonds=sparse"), sim.toString());

    PeerMatrix dense = initial.weights().toDense();
    sim.setWeights(dense);
    assertInstanceOf(DenseMatrix.class, sim.bonds());
    EpochResult expected = mechanism.step(sim.snapshot());
    EpochSummary actual = sim.step();
    assertArrayEquals(expected.stake().toArray(), actual.stake().toArray());
    assertArrayEquals(expected.bonds().toDense().toRowMajor(), sim.bonds().toDense().toRowMajor());
  }

  @Test
  void badInputIsRefusedWithoutChangingAnything() {
    NetworkState initial = SyntheticNetworks.dense(16, 5, true);
    PaperSimulation sim = PaperSimulation.start(PaperMechanism.of(PaperParams.defaults()), initial);
    IllegalArgumentException size = assertThrows(IllegalArgumentException.class,
        () -> sim.setWeights(PeerMatrix.zeros(15)));
    assertTrue(size.getMessage().contains("16 x 16"), size.getMessage());
    assertThrows(IllegalArgumentException.class, () -> sim.setStake(PeerVector.zeros(3)));
    double[] negative = new double[16];
    negative[3] = -1;
    IllegalArgumentException below = assertThrows(IllegalArgumentException.class,
        () -> sim.setStake(PeerVector.of(negative)));
    assertTrue(below.getMessage().contains("stake[3]") && below.getMessage().contains("-1.0"),
        "the message names the peer and its stake: " + below.getMessage());

    sim.setStake(PeerVector.zeros(16));
    PeerMatrix bonds = sim.bonds();
    IllegalArgumentException zero = assertThrows(IllegalArgumentException.class, sim::step);
    assertTrue(zero.getMessage().contains("stake is all zero"), zero.getMessage());
    assertEquals(bonds, sim.bonds(), "a refused epoch leaves the bonds as they were");
    assertEquals(0, sim.epochs());
  }

  @Test
  void anOverflowingStakeStopsTheSimulation() {
    // Peer 0 holds 0.9 of the largest double and mints half of as much again through its bond.
    NetworkState initial = NetworkState.of(
        PeerVector.of(0.9 * Double.MAX_VALUE, 0),
        PeerMatrix.dense(new double[][] {{0, 1}, {1, 0}}));
    PaperSimulation sim = PaperSimulation.start(
        PaperMechanism.of(PaperParams.defaults().withEmission(Emission.inflation(1.0))), initial);
    assertThrows(ArithmeticException.class, sim::step);
    IllegalStateException after = assertThrows(IllegalStateException.class, sim::step);
    assertTrue(after.getMessage().contains("inconsistent"), after.getMessage());
  }
}
