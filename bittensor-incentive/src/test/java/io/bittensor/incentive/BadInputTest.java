package io.bittensor.incentive;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Bad input is rejected with a message naming the problem; nothing returns NaN. */
class BadInputTest {

  private static void assertMessage(Throwable t, String... fragments) {
    for (String f : fragments) {
      assertTrue(t.getMessage().contains(f), "message '" + t.getMessage() + "' lacks '" + f + "'");
    }
  }

  @Test
  void negativeStakeIsRejectedNamingThePeer() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> NetworkState.of(PeerVector.of(1, -2), PeerMatrix.zeros(2)));
    assertMessage(e, "stake[1]", "-2.0");
  }

  @Test
  void nonFiniteStakeIsRejected() {
    var nan = assertThrows(IllegalArgumentException.class, () -> PeerVector.of(1, Double.NaN));
    assertMessage(nan, "value[1]", "NaN");
    var inf = assertThrows(IllegalArgumentException.class,
        () -> PeerVector.of(Double.POSITIVE_INFINITY));
    assertMessage(inf, "value[0]", "Infinity");
  }

  @Test
  void valuesWhoseSumOverflowsAreRejectedAsBadInput() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> PeerVector.of(1, Double.MAX_VALUE, Double.MAX_VALUE));
    assertMessage(e, "sum", "overflows");
    var network = assertThrows(IllegalArgumentException.class,
        () -> NetworkState.of(PeerVector.of(1e308, 1e308), PeerMatrix.zeros(2)));
    assertMessage(network, "sum");
  }

  @Test
  void negativeOrNonFiniteWeightsAreRejectedNamingTheEntry() {
    var negative = assertThrows(IllegalArgumentException.class,
        () -> PeerMatrix.dense(new double[][] {{0, 1}, {-0.5, 0}}));
    assertMessage(negative, "entry (1, 0)", "-0.5");
    var nan = assertThrows(IllegalArgumentException.class,
        () -> CsrMatrix.of(2, new int[] {0, 1, 1}, new int[] {1}, new double[] {Double.NaN}));
    assertMessage(nan, "entry (0, 1)", "NaN");
    var inf = assertThrows(IllegalArgumentException.class,
        () -> CsrMatrix.builder(2).row(1, new int[] {0}, new double[] {Double.POSITIVE_INFINITY}));
    assertMessage(inf, "entry (1, 0)", "Infinity");
  }

  @Test
  void wrongDimensionsAreRejected() {
    var ragged = assertThrows(IllegalArgumentException.class,
        () -> PeerMatrix.dense(new double[][] {{0, 1}, {1}}));
    assertMessage(ragged, "square", "row 1 has 1 entries, expected 2");
    var mismatch = assertThrows(IllegalArgumentException.class,
        () -> NetworkState.of(PeerVector.of(1, 2, 3), PeerMatrix.zeros(2)));
    assertMessage(mismatch, "weights must be 3 x 3", "was 2 x 2");
    var bonds = assertThrows(IllegalArgumentException.class,
        () -> new NetworkState(PeerVector.of(1, 2), PeerMatrix.zeros(2), PeerMatrix.zeros(3)));
    assertMessage(bonds, "bonds must be 2 x 2");
  }

  @Test
  void malformedCsrArraysAreRejectedNamingTheRow() {
    var outOfRange = assertThrows(IllegalArgumentException.class,
        () -> CsrMatrix.of(2, new int[] {0, 1, 1}, new int[] {2}, new double[] {1}));
    assertMessage(outOfRange, "row 0", "column 2 is out of range");
    var unsorted = assertThrows(IllegalArgumentException.class,
        () -> CsrMatrix.of(3, new int[] {0, 2, 2, 2}, new int[] {2, 1}, new double[] {1, 1}));
    assertMessage(unsorted, "row 0", "strictly increasing");
    var badPointers = assertThrows(IllegalArgumentException.class,
        () -> CsrMatrix.of(2, new int[] {0, 1}, new int[] {0}, new double[] {1}));
    assertMessage(badPointers, "rowPtr must have n + 1 = 3 entries");
    var repeated = assertThrows(IllegalArgumentException.class,
        () -> CsrMatrix.builder(3).row(0, new int[] {2, 1, 2}, new double[] {1, 1, 1}));
    assertMessage(repeated, "row 0", "column 2 given twice");
    var order = assertThrows(IllegalArgumentException.class,
        () -> CsrMatrix.builder(3).row(1, new int[] {0}, new double[] {1})
            .row(0, new int[] {0}, new double[] {1}));
    assertMessage(order, "increasing order");
  }

  /** Each way a matrix can be built wrong, and what the refusal must say. */
  static Stream<Arguments> malformedMatrices() {
    return Stream.of(
        bad("negative size", () -> CsrMatrix.of(-1, new int[0], new int[0], new double[0]),
            "n must be >= 0, was -1"),
        bad("cols and vals differ", () -> CsrMatrix.of(2, new int[] {0, 1, 2}, new int[] {0, 1},
            new double[] {1}), "cols and vals must have the same length, got 2 and 1"),
        bad("first pointer", () -> CsrMatrix.of(2, new int[] {1, 1, 1}, new int[] {0},
            new double[] {1}), "rowPtr[0] must be 0, was 1"),
        bad("last pointer", () -> CsrMatrix.of(2, new int[] {0, 1, 1}, new int[] {0, 1},
            new double[] {1, 1}), "rowPtr[n] must equal the number of entries 2, was 1"),
        bad("a pointer past the entries", () -> CsrMatrix.of(2, new int[] {0, 2, 1},
            new int[] {0}, new double[] {1}), "rowPtr must not decrease: rowPtr[1]=2 >"
            + " rowPtr[2]=1"),
        bad("decreasing pointers, right count", () -> CsrMatrix.of(3, new int[] {0, 2, 1, 2},
            new int[] {0, 1}, new double[] {1, 1}), "rowPtr must not decrease: rowPtr[1]=2 >"
            + " rowPtr[2]=1"),
        bad("negative column", () -> CsrMatrix.of(2, new int[] {0, 0, 1}, new int[] {-1},
            new double[] {1}), "row 1: column -1 is out of range [0, 2)"),
        bad("repeated column", () -> CsrMatrix.of(2, new int[] {0, 2, 2}, new int[] {1, 1},
            new double[] {1, 1}), "row 0: columns must be strictly increasing, got 1 after 1"),
        bad("infinite entry", () -> CsrMatrix.of(1, new int[] {0, 1}, new int[] {0},
            new double[] {Double.POSITIVE_INFINITY}), "entry (0, 0) must be finite and >= 0"),
        bad("no room for the row pointers", () -> CsrMatrix.of(Integer.MAX_VALUE, new int[0],
            new int[0], new double[0]), "n must be below 2147483647", "was 2147483647"),
        bad("zeros with no room for the row pointers", () -> CsrMatrix.zeros(Integer.MAX_VALUE),
            "n must be below 2147483647", "was 2147483647"),
        bad("builder with no room for the row pointers",
            () -> CsrMatrix.builder(Integer.MAX_VALUE), "n must be below 2147483647"),
        bad("negative zeros", () -> CsrMatrix.zeros(-2), "n must be >= 0, was -2"),
        bad("builder of negative size", () -> CsrMatrix.builder(-3), "n must be >= 0, was -3"),
        bad("builder expecting fewer than none", () -> CsrMatrix.builder(2, -1),
            "expectedEntries must be >= 0, was -1"),
        bad("builder row past the end", () -> CsrMatrix.builder(2).row(2, new int[0],
            new double[0]), "within [0, 2): got 2"),
        bad("builder row given twice", () -> CsrMatrix.builder(2).row(0, new int[0],
            new double[0]).row(0, new int[0], new double[0]), "increasing order", "got 0 after 0"),
        bad("builder columns and values differ", () -> CsrMatrix.builder(2).row(1, new int[] {0},
            new double[0]), "row 1: 1 columns but 0 values"),
        bad("builder column out of range", () -> CsrMatrix.builder(2).row(0, new int[] {1, 2},
            new double[] {1, 1}), "row 0: column 2 is out of range [0, 2)"),
        bad("builder negative entry", () -> CsrMatrix.builder(2).row(0, new int[] {1},
            new double[] {-0.25}), "entry (0, 1) must be finite and >= 0, was -0.25"),
        bad("builder used after build", () -> {
          CsrMatrix.Builder b = CsrMatrix.builder(2);
          b.build();
          return b.row(0, new int[0], new double[0]);
        }, "build() was already called"),
        bad("built twice", () -> {
          CsrMatrix.Builder b = CsrMatrix.builder(2);
          b.build();
          return b.build();
        }, "build() was already called"),
        bad("row-major of the wrong length", () -> DenseMatrix.ofRowMajor(2, new double[3]),
            "row-major data for n=2 needs 4 entries, got 3"),
        bad("row-major of negative size", () -> DenseMatrix.ofRowMajor(-1, new double[0]),
            "n must be in [0, " + DenseMatrix.MAX_SIZE + "], was -1"),
        bad("row-major too large", () -> DenseMatrix.ofRowMajor(DenseMatrix.MAX_SIZE + 1,
            new double[0]), "was " + (DenseMatrix.MAX_SIZE + 1)),
        bad("row-major negative entry", () -> DenseMatrix.ofRowMajor(2, new double[] {0, 0, 0,
            -1}), "entry (1, 1)", "-1.0"),
        bad("ragged rows", () -> DenseMatrix.of(new double[][] {{1, 2}, {3}}),
            "matrix must be square: row 1 has 1 entries, expected 2"),
        bad("missing row", () -> DenseMatrix.of(new double[][] {{1, 2}, null}),
            "row 1 has no entries"));
  }

  private static Arguments bad(String name, Supplier<?> build, String... fragments) {
    return Arguments.of(name, build, fragments);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("malformedMatrices")
  void malformedMatricesAreRefusedSayingWhy(String name, Supplier<?> build, String[] fragments) {
    var e = assertThrows(IllegalArgumentException.class, build::get, name);
    assertMessage(e, fragments);
  }

  @Test
  void aNegativeNumberOfEpochsIsRefused() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> IncentiveMechanism.paper().run(NetworkState.of(PeerVector.of(1), PeerMatrix.zeros(1)),
            -1));
    assertMessage(e, "epochs must be >= 0, was -1");
  }

  @Test
  void allZeroStakeIsRejected() {
    NetworkState state = NetworkState.of(PeerVector.of(0, 0), PeerMatrix.dense(
        new double[][] {{0, 1}, {1, 0}}));
    var e = assertThrows(IllegalArgumentException.class, () -> IncentiveMechanism.paper().step(state));
    assertMessage(e, "stake is all zero");
  }

  @Test
  void anEmptyNetworkIsRejected() {
    NetworkState state = NetworkState.of(PeerVector.of(), PeerMatrix.zeros(0));
    var e = assertThrows(IllegalArgumentException.class, () -> IncentiveMechanism.paper().step(state));
    assertMessage(e, "no peers");
  }

  @Test
  void rowsThatDoNotSumToOneAreRejectedWhenNormalisationIsOff() {
    PaperMechanism strict = PaperMechanism.of(PaperParams.defaults().withNormalizeRows(false));
    NetworkState bad = NetworkState.of(PeerVector.of(1, 1),
        PeerMatrix.dense(new double[][] {{0.5, 0.5}, {0.3, 0.4}}));
    var e = assertThrows(IllegalArgumentException.class, () -> strict.step(bad));
    assertMessage(e, "weights row 1 sums to 0.7", "normalizeRows off");

    NetworkState ok = NetworkState.of(PeerVector.of(1, 1),
        PeerMatrix.dense(new double[][] {{0.5, 0.5}, {0, 0}}));
    assertEquals(1.0, strict.step(ok).incentive().sum(), 1e-15);
  }

  /**
   * Masking self-weights with rows used as given had two readings: the check asked the row with
   * its self-weight to sum to 1, and the epoch then used it without, summing to {@code 1 - w_ii}
   * ({@code {{0.5, 0.5}, ...}} passed and voted with half its stake). Normalising is what makes a
   * masked row sum to 1 again, so the combination is refused, whichever is set first.
   */
  @Test
  void maskingSelfWeightsIsRefusedWhenRowsAreNotNormalised() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> PaperParams.defaults().withNormalizeRows(false).withMaskSelfWeights(true));
    assertMessage(e, "maskSelfWeights needs normalizeRows", "1 - w_ii");
    e = assertThrows(IllegalArgumentException.class,
        () -> PaperParams.defaults().withMaskSelfWeights(true).withNormalizeRows(false));
    assertMessage(e, "maskSelfWeights needs normalizeRows");
    // Each alone stays as it was.
    assertTrue(PaperParams.defaults().withMaskSelfWeights(true).normalizeRows());
    assertFalse(PaperParams.defaults().withNormalizeRows(false).maskSelfWeights());
  }

  @Test
  void parametersAreValidatedNamingTheParameter() {
    assertMessage(assertThrows(IllegalArgumentException.class,
        () -> PaperParams.defaults().withRho(-1)), "rho");
    assertMessage(assertThrows(IllegalArgumentException.class,
        () -> PaperParams.defaults().withRho(Double.NaN)), "rho");
    assertMessage(assertThrows(IllegalArgumentException.class,
        () -> PaperParams.defaults().withKappa(1.5)), "kappa", "[0.0, 1.0]");
    assertMessage(assertThrows(IllegalArgumentException.class,
        () -> PaperParams.defaults().withBondShare(-0.1)), "bondShare");
    assertMessage(assertThrows(IllegalArgumentException.class,
        () -> PaperParams.defaults().withTau(Double.POSITIVE_INFINITY)), "tau");
    assertMessage(assertThrows(IllegalArgumentException.class,
        () -> Emission.inflation(-0.1)), "inflation rate");
  }

  @Test
  void hugeTemperaturesSaturateWithoutNaN() {
    PaperMechanism steep = PaperMechanism.of(PaperParams.defaults().withRho(1e300));
    EpochResult r = steep.step(NetworkState.of(PeerVector.of(1, 1),
        PeerMatrix.dense(new double[][] {{0, 1}, {0, 1}})));
    assertEquals(0.0, r.consensus().get(0));
    assertEquals(1.0, r.consensus().get(1));
    assertEquals(1.0, r.minted(), 1e-15);
  }

  @Test
  void overflowIsReportedNotReturnedAsInfinity() {
    PaperMechanism huge = PaperMechanism.of(PaperParams.defaults().withTau(Double.MAX_VALUE));
    NetworkState state = NetworkState.of(PeerVector.of(Double.MAX_VALUE / 2, 0),
        PeerMatrix.dense(new double[][] {{1, 0}, {0, 0}}));
    assertThrows(ArithmeticException.class, () -> huge.step(state));
  }

  @Test
  void anInflationThatOverflowsMintsNothingWithoutIncentiveAndNamesOnlyAPeerItPays() {
    PaperParams inflation = PaperParams.defaults().withEmission(Emission.inflation(10));
    PeerVector stake = PeerVector.of(1e308, 0); // tau = 10 * 1e308 overflows a double
    EpochResult idle =
        PaperMechanism.of(inflation).step(NetworkState.of(stake, PeerMatrix.zeros(2)));
    assertEquals(0.0, idle.minted(), "no weights, no incentive: nothing is minted");
    assertEquals(stake, idle.stake());

    // Peer 0 votes for peer 1 and, with bondShare 0, is paid nothing: only peer 1's overflows.
    NetworkState voted = NetworkState.of(stake, PeerMatrix.dense(new double[][] {{0, 1}, {0, 0}}));
    var e = assertThrows(ArithmeticException.class,
        () -> PaperMechanism.of(inflation.withBondShare(0)).step(voted));
    assertMessage(e, "peer 1");
  }
}
