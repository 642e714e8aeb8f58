package io.bittensor.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.examples.LearningMarket.Kind;
import io.bittensor.examples.LearningMarket.PeerRow;
import io.bittensor.examples.LearningMarket.ProbeComparison;
import io.bittensor.examples.LearningMarket.Result;
import io.bittensor.learning.ProbeMeasure;
import io.bittensor.learning.WeightSource;
import io.bittensor.onnx.OnnxExport;
import io.bittensor.onnx.OnnxPeer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The twelve-peer Fashion-MNIST market of {@code docs/learning.md}, at the reduced size
 * ({@link LearningMarket.Config#reduced()}, seed 2026): every peer a model trained here, exported
 * to ONNX and served as an OnnxPeer. Asserts the parts of issue 6's bar that hold at this size;
 * the full-size numbers, and where they fall short, are in the doc.
 */
@Timeout(600)
class LearningMarketTest {
  private static Result r;

  @BeforeAll
  static void runReducedMarket() throws IOException {
    r = LearningMarket.run(LearningMarket.Config.reduced(), line -> { });
  }

  @Test
  void theMarketHasTwelvePeersOfEveryKind() {
    assertEquals(12, r.peers().size());
    Set<Kind> kinds = r.peers().stream().map(PeerRow::kind).collect(Collectors.toSet());
    assertEquals(EnumSet.allOf(Kind.class), kinds);
    PeerRow noise = r.peers().stream().filter(p -> p.kind() == Kind.NOISE).findFirst()
        .orElseThrow();
    PeerRow strong = r.peers().stream().filter(p -> p.kind() == Kind.STRONG).findFirst()
        .orElseThrow();
    // Real models: the strong peers classify, the noise peers do not.
    assertTrue(strong.modelAccuracy() > 0.6, strong.toString());
    assertTrue(noise.modelAccuracy() < 0.2, noise.toString());
  }

  @Test
  void theGatedNetworkBeatsTheBestSinglePeer() {
    assertTrue(r.gatedAccuracy() > r.bestSingleAccuracy(),
        r.gatedAccuracy() + " vs " + r.bestSingle() + " " + r.bestSingleAccuracy());
    // And not by the luck of one neuron: the retrained neurons' control copies do too, on average.
    double[] retrained = r.retrainedAccuracy();
    assertTrue(retrained[0] > r.bestSingleAccuracy() && retrained[1] >= 0,
        Arrays.toString(retrained) + " vs " + r.bestSingleAccuracy());
    assertTrue(LearningMarketReport.markdown(r).contains("retrained neurons' control copies: mean ± se"));
  }

  @Test
  void theBalancingWarmsUpStrongAndTheRunOptionsAreChecked() {
    LearningMarket.Config full = LearningMarket.Config.full();
    assertEquals(0.05, full.warmupBalanceWeight());
    assertEquals(10, full.warmupEpochs());
    assertEquals(0.01, full.balanceWeight());
    assertEquals(0, LearningMarket.Config.reduced().warmupEpochs(), "see reduced()");
    LearningMarket.Config flat = full.withBalanceWarmup(0, 0).withBalanceWeight(0.1);
    assertEquals(0, flat.warmupEpochs());
    assertEquals(0.1, flat.balanceWeight());
    assertEquals(full.withBalanceWeight(0.1).withBalanceWarmup(0, 0), flat);
    assertEquals(full, flat.withBalanceWeight(0.01).withBalanceWarmup(0.05, 10));
    assertEquals(2027, full.withSeed(2027).seed());
    assertEquals(full, full.withSeed(2027).withSeed(2026));
    assertThrows(IllegalArgumentException.class,
        () -> full.withBalanceWarmup(0.05, full.neuronEpochs() + 1));
    assertThrows(IllegalArgumentException.class, () -> full.withBalanceWarmup(-0.05, 10));
    assertThrows(IllegalArgumentException.class, () -> full.withBalanceWeight(Double.NaN));
    // Longer training keeps the warm-up's length; shorter than the warm-up is refused.
    assertEquals(20, full.withNeuronEpochs(20).neuronEpochs());
    assertEquals(10, full.withNeuronEpochs(20).warmupEpochs());
    assertEquals(full, full.withNeuronEpochs(20).withNeuronEpochs(15));
    assertThrows(IllegalArgumentException.class, () -> full.withNeuronEpochs(9));
    assertEquals(3, LearningMarket.Config.reduced().withNeuronEpochs(3).neuronEpochs());
    // The noise peers are trained on random labels unless asked for pure noise.
    assertEquals(false, full.pureNoise());
    assertEquals(true, full.withPureNoise(true).pureNoise());
    assertEquals(full, full.withPureNoise(true).withPureNoise(false));
    // Each option changes its own component and nothing else: there and back is the same config.
    assertEquals(0.25, full.withFlakyRate(0.25).flakyRate());
    assertEquals(full, full.withFlakyRate(0.25).withFlakyRate(0.5));
    assertThrows(IllegalArgumentException.class, () -> full.withFlakyRate(1.5));
    assertThrows(IllegalArgumentException.class, () -> full.withFlakyRate(Double.NaN));
    assertEquals(0, full.withRetrainEpochs(0).retrainEpochs());
    assertEquals(full, full.withRetrainEpochs(0).withRetrainEpochs(full.retrainEpochs()));
    assertThrows(IllegalArgumentException.class, () -> full.withRetrainEpochs(-1));
    assertEquals(full, full.withValueSeeds(4).withValueSeeds(32));
    assertEquals(full, full.withProbeEvery(1).withProbeEvery(4));
    assertEquals(full, full.withFailureWeight(1).withFailureWeight(0));
    assertEquals(full, full.withStudentFallback(true).withStudentFallback(false));
    assertEquals(full, full.withLoopback(false).withLoopback(true));
    assertEquals(1, full.withProbeEvery(1).probeEvery());
    assertEquals(true, full.withStudentFallback(true).studentFallback());
  }

  @Test
  void anUnknownOptionIsAnErrorNotASilentDefault() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LearningMarket.config(new String[] {"reduced", "target/unused", "noise=none"}));
    assertTrue(e.getMessage().contains("noise=none") && e.getMessage().contains("noise=pure"),
        e.getMessage());
  }

  @Test
  void aHeadReadsTheRandomLabelPeersButNotThePureNoisePeers() throws IOException {
    // Trained on random labels, a noise peer's argmax is chance, but its answers are a fixed
    // function of the image that a head can read; a pure-noise peer's answers tell nothing.
    for (PeerRow p : r.peers()) {
      if (p.kind() == Kind.NOISE) {
        assertTrue(p.modelAccuracy() < 0.2 && p.readAccuracy() > 0.3, p.toString());
      }
      if (p.kind() == Kind.STRONG) {
        assertTrue(p.readAccuracy() > 0.6, p.toString());
      }
    }
    FashionMnist data = FashionMnist.testSplit();
    int[] train = IntStream.range(0, 1000).toArray();
    int[] test = IntStream.range(1000, 2000).toArray();
    try (OnnxPeer pure = LearningMarket.servingSettings(OnnxPeer.builder()
        .model(OnnxExport.toBytes(LearningMarket.pureNoisePeer(7),
            OnnxExport.Options.defaults().withOutputDim(10)))).build()) {
      double read = LearningMarket.readAccuracy(LearningMarket.answers(pure, data, train),
          data.labels(train), LearningMarket.answers(pure, data, test), data.labels(test), 5);
      assertTrue(read < 0.16, "a head read " + read + " from pure noise");
    }
  }

  @Test
  void topTwoCutsBytesByThreeQuartersWithinTwoPointsOfDense() {
    assertTrue(r.bytesSaved() >= 0.75, "saved " + r.bytesSaved());
    assertTrue(Math.abs(r.gatedAccuracy() - r.denseAccuracy()) <= 0.02,
        r.gatedAccuracy() + " vs dense " + r.denseAccuracy());
    assertTrue(r.gatedBytesSent() < r.denseBytesSent() / 4, "only the chosen peers are asked");
  }

  @Test
  void noisePeersGetUnderOnePercentEachAndNicheBeatsWeak() {
    for (WeightSource w : WeightSource.values()) {
      assertTrue(r.maxShare(Kind.NOISE, w) < 0.01, w + ": " + r.maxShare(Kind.NOISE, w));
      double niche = r.share(Kind.NICHE, w) / 2;
      double weak = r.share(Kind.WEAK, w) / 3;
      assertTrue(niche > weak, w + ": niche " + niche + " vs weak " + weak);
    }
  }

  @Test
  void theWeightSourcesAgreeWithTheTrueValuesWhereTheyAreClear() {
    // At this size the true values of the peers the gate does route to are within a point of
    // each other, and the full-size bar (Spearman >= 0.9) is not met there either (see
    // docs/learning.md). What holds: the noise peers, never routed to once trained, are worth
    // nothing when removed; the peer with the highest pruning score is worth something; and every
    // source correlates positively with the true value.
    for (PeerRow p : r.peers()) {
      if (p.kind() == Kind.NOISE) {
        assertEquals(0, p.trueValue(), 1e-9, p.toString());
        assertEquals(0, p.trueValueError(), 1e-9, p.toString());
      }
    }
    PeerRow top = r.peers().stream().max((a, b) -> Double.compare(a.pruning(), b.pruning()))
        .orElseThrow();
    assertTrue(top.trueValue() > 0, top.toString());
    for (WeightSource w : WeightSource.values()) {
      assertTrue(r.spearman().get(w) > 0, w + " " + r.spearman().get(w));
    }
  }

  @Test
  void theCompensatedScoreSeesTheTwinsOnlyWhereTheyAreAskedTogether() {
    // strong-top and copycat answer exactly alike, so wherever both are asked for an example
    // their gradients are proportional; under top-2 routing that is rarely the case (the gate
    // sends an example to one or the other), which is why the compensated score barely differs
    // from the plain one in this market (docs/learning.md). LearnerTest checks that it credits
    // twins asked together almost nothing.
    assertTrue(r.twinCorrelation() > 0 && r.twinCorrelation() < 0.5,
        "Fisher correlation of the twins " + r.twinCorrelation());
    for (PeerRow p : r.peers()) {
      assertEquals(p.pruning(), p.compensated(), 0.05, "little correlation, little change: " + p);
    }
  }

  @Test
  void theStandInScoreSeesCopycatTakeStrongTopsPlace() {
    // The probes' stand-ins put copycat where strong-top was routed (and the reverse): in the
    // stand-in Fisher matrices their gradients move together far more than the plain matrix sees
    // them asked together (0.49 and 0.40 against 0.06 at this size), and strong-top, whose
    // examples copycat can take, scores less than the compensated score gives it. (At this size
    // copycat's own share rises: 2 seeds value it at +0.65 points, strong-top at +0.15; see
    // docs/learning.md.)
    double[] standIn = r.standInTwinCorrelation();
    assertTrue(standIn[0] > 2 * r.twinCorrelation() && standIn[1] > 2 * r.twinCorrelation(),
        Arrays.toString(standIn) + " vs " + r.twinCorrelation());
    PeerRow top = r.peers().get(0);
    assertTrue(top.standIn() < 0.9 * top.compensated(), top.toString());
  }

  @Test
  void theReroutedLossCreditsTheTwinsLessForAnEighthMoreBytes() {
    // Where strong-top or its copycat is removed, the other often steps in; the pruning scores do
    // not see it. (At this size the twins' true values, over 2 seeds, are not near 0 as at full
    // size, so this asserts the direction, not the full-size figures of docs/learning.md.)
    // Probing every 4th batch asks one more peer per example on those batches: an eighth more
    // input bytes than top-2 routing, and about as much in answers.
    PeerRow top = r.peers().get(0);
    PeerRow copycat = r.peers().get(2);
    assertEquals(Kind.COPYCAT, copycat.kind());
    assertTrue(top.rerouted() + copycat.rerouted() < 0.8 * (top.pruning() + copycat.pruning()),
        top + ", " + copycat);
    long[] bytes = r.trainingBytes();
    assertEquals(bytes[1], 8 * bytes[3], "input bytes: top-2 routing vs probes");
    assertTrue(r.probeOverhead() > 0.1 && r.probeOverhead() < 0.14, "" + r.probeOverhead());
  }

  @Test
  void thePruningScoresChargeTheFlakyPeerForTheSlotsItLeavesEmpty() {
    // Half its calls time out, and each example it fails is answered by one peer instead of two.
    // The gate still routes to it (the failure loss is off), but every pruning score subtracts
    // what its failures cost (Learner.failureCosts) from what its answers are worth, and removing
    // it does not hurt the network.
    PeerRow flaky = r.peers().get(3);
    assertEquals(Kind.FLAKY, flaky.kind());
    assertTrue(flaky.importance() > 0.03, "routed to: " + flaky);
    for (double score : new double[] {flaky.pruning(), flaky.compensated(), flaky.standIn()}) {
      assertTrue(score < 0.5 * flaky.importance(), flaky.toString());
    }
    assertTrue(flaky.trueValue() <= 0, flaky.toString());
  }

  /**
   * With {@code studentFallback}, every neuron's student answers in the flaky peer's slot when it
   * times out, and the retrained copies start from their neuron's student: removing the flaky
   * peer no longer helps (its failures cost the network little), and the rerouted loss, which
   * measures it with the student behind it, credits it more.
   */
  @Test
  void withTheStudentInItsSlotTheFlakyPeerIsWorthKeeping() throws IOException {
    Result withStudent = LearningMarket.run(
        LearningMarket.Config.reduced().withStudentFallback(true), line -> { });
    PeerRow before = r.peers().get(3);
    PeerRow after = withStudent.peers().get(3);
    assertEquals(Kind.FLAKY, after.kind());
    assertTrue(before.trueValue() < 0, "without: removing it helps, " + before);
    assertTrue(after.trueValue() > before.trueValue() + 0.005, before + " -> " + after);
    assertTrue(after.rerouted() > 2 * before.rerouted(), before + " -> " + after);
    assertEquals(0, r.gatedFallbackRows());
    assertTrue(withStudent.gatedFallbackRows() > 0, "the student answered for the flaky peer");
    assertTrue(LearningMarketReport.markdown(withStudent)
        .contains("each neuron's student answering for failed peers"));
    assertTrue(LearningMarketReport.markdown(r).contains("no fallback for failed peers"));
  }

  /**
   * The resampled Spearman: with every seed measuring the same values there is nothing to
   * resample, and every draw is the row's own correlation; where two peers worth about nothing
   * trade places between seeds, the draws spread around it, and the share at the bar says how
   * often the row clears it.
   */
  @Test
  void resamplingTheSeedsSaysHowFarTheCorrelationMovesWithTheTrueValuesNoise() {
    double[] row = {0.4, 0.3, 0.2, 0.1, 0, 0};
    double[] steady = {0.5, 0.4, 0.3, 0.2, 0.01, 0};
    var same = LearningMarket.resample(Map.of(WeightSource.PRUNING_SCORE, row),
        java.util.Collections.nCopies(8, steady), 1).get(WeightSource.PRUNING_SCORE);
    double exact = new org.apache.commons.math3.stat.correlation.SpearmansCorrelation()
        .correlation(row, steady);
    assertEquals(exact, same.low(), 1e-12);
    assertEquals(exact, same.high(), 1e-12);
    assertEquals(exact >= 0.9 ? 1 : 0, same.atOrAboveBar());
    // Seeds that disagree on the order of the top two and of the two peers worth nothing.
    java.util.List<double[]> noisy = new java.util.ArrayList<>();
    for (int i = 0; i < 8; i++) {
      noisy.add(i % 2 == 0 ? new double[] {0.5, 0.4, 0.3, 0.2, 0.02, -0.02}
          : new double[] {0.1, 0.6, 0.35, 0.15, -0.05, 0.05});
    }
    var spread = LearningMarket.resample(Map.of(WeightSource.GATE_IMPORTANCE, row), noisy, 1)
        .get(WeightSource.GATE_IMPORTANCE);
    // Drawing k of the second kind, the row scores 0.986 (k <= 1), 0.928 (2, 3), 0.812 (4 to 6)
    // and 0.638 (7, 8): the draws spread from 0.812 to 0.928, and fall under the bar of 0.8
    // only with k >= 7, which a draw of 8 has 9 chances in 256 to bring.
    assertEquals(0.812, spread.median(), 0.001);
    assertEquals(0.812, spread.low(), 0.001);
    assertEquals(0.928, spread.high(), 0.001);
    assertEquals(1 - 9 / 256.0, spread.atOrAboveBar(), 0.02);
    assertEquals(0.8, spread.bar());
    // The ceiling: the seeds' mean as the row. Steady seeds leave it exactly 1; the noisy ones
    // score 1 when a draw holds 4 to 6 of the second kind (60% of draws), 0.943 with 3, 7 or 8,
    // 0.886 with 2 and 0.771 with 0 or 1 (3.5%): the 5th percentile is 0.886, and 85.5% of the
    // draws reach 0.9.
    var flat = LearningMarket.ceiling(java.util.Collections.nCopies(8, steady), 1);
    assertEquals(1, flat.low(), 1e-12);
    assertEquals(1, flat.atOrAboveBar());
    var ceiling = LearningMarket.ceiling(noisy, 1);
    assertEquals(1, ceiling.median(), 1e-12);
    assertEquals(0.886, ceiling.low(), 0.001);
    assertEquals(0.855, ceiling.atOrAboveBar(), 0.03);
    assertEquals(0.9, ceiling.bar());
    // Each peer's standard error over the seeds: the two kinds differ by 0.4 on the first peer
    // and 0.05 on the third, a sample standard deviation of 0.214 and 0.027 over 8 seeds.
    double[] error = LearningMarket.standardErrorOf(noisy);
    assertEquals(0.0756, error[0], 1e-4);
    assertEquals(0.0094, error[2], 1e-4);
    assertEquals(0, LearningMarket.standardErrorOf(java.util.Collections.nCopies(8, steady))[0],
        1e-12);
    // And the market reports it for every source.
    assertEquals(EnumSet.allOf(WeightSource.class), r.resampled().keySet());
    r.resampled().values().forEach(x -> assertTrue(
        x.low() <= x.median() && x.median() <= x.high(), x.toString()));
    assertTrue(r.ceiling().low() <= r.ceiling().median()
        && r.ceiling().median() <= r.ceiling().high(), r.ceiling().toString());
    r.peers().forEach(p -> assertTrue(p.trueValueError() >= 0, p.toString()));
  }

  @Test
  void theProbeIsComparedInEveryMeasureTheLossBeingTheReroutedLoss() {
    // One probe, four measures (docs/learning.md: none ranks better than the loss). The loss's
    // line is the REROUTED_LOSS source's own figures; the paired difference is against it.
    assertEquals(EnumSet.allOf(ProbeMeasure.class), r.probeMeasures().stream()
        .map(ProbeComparison::measure).collect(Collectors.toCollection(
            () -> EnumSet.noneOf(ProbeMeasure.class))));
    ProbeComparison loss = r.probeMeasures().get(0);
    assertEquals(ProbeMeasure.LOSS, loss.measure());
    assertEquals(r.spearman().get(WeightSource.REROUTED_LOSS), loss.reported(), 1e-12);
    assertEquals(r.spearmanLoss().get(WeightSource.REROUTED_LOSS), loss.reportedLoss(), 1e-12);
    assertEquals(r.spearmanAveraged().get(WeightSource.REROUTED_LOSS), loss.averaged(), 1e-12);
    assertEquals(0, loss.minusLoss(), 0);
    for (ProbeComparison p : r.probeMeasures()) {
      assertTrue(Double.isFinite(p.perNeuron()) && p.perNeuronError() >= 0, p.toString());
      assertEquals(12, p.averagedRow().length);
      assertEquals(1, Arrays.stream(p.averagedRow()).sum(), 1e-9, p.measure() + " row");
    }
    // The measures are not one ranking under four names.
    assertTrue(r.probeMeasures().stream().anyMatch(p -> p.minusLoss() != 0),
        r.probeMeasures().toString());
    assertTrue(LearningMarketReport.markdown(r).contains("| 0/1 error |"));
  }

  @Test
  void everySourceIsRankedOneNeuronAtATimeBesideTheReroutedLoss() {
    // The rerouted loss's own rows are the probe's loss rows: the same mean, and 0 against itself.
    Map<WeightSource, LearningMarket.SourceSpread> bySource = r.perNeuron().stream()
        .collect(Collectors.toMap(LearningMarket.SourceSpread::source, p -> p));
    assertEquals(EnumSet.allOf(WeightSource.class), bySource.keySet());
    LearningMarket.SourceSpread rerouted = bySource.get(WeightSource.REROUTED_LOSS);
    assertEquals(r.probeMeasures().get(0).perNeuron(), rerouted.perNeuron(), 1e-12);
    assertEquals(0, rerouted.minusRerouted(), 0);
    for (LearningMarket.SourceSpread p : r.perNeuron()) {
      assertTrue(p.perNeuron() >= -1 && p.perNeuron() <= 1 && p.perNeuronError() >= 0,
          p.toString());
      // Against each neuron's own true value too (its own copies retrained), never NaN.
      assertTrue(p.ownTruth() >= -1 && p.ownTruth() <= 1 && p.ownTruthError() >= 0,
          p.toString());
    }
    // Sources that learn different things do not rank the peers alike on every neuron.
    assertTrue(r.perNeuron().stream().anyMatch(p -> p.minusRerouted() != 0), r.perNeuron()
        .toString());
    assertTrue(LearningMarketReport.markdown(r).contains("own row: mean ± se"));
    assertTrue(LearningMarketReport.markdown(r).contains("the same neuron's own true value"));
    // The averaged rows are the ones the averaged Spearman scores: shares summing to 1, the
    // rerouted loss's the same as the probe's loss rows averaged, each printed beside the truth.
    double[] value = r.peers().stream().mapToDouble(PeerRow::trueValue).toArray();
    var rho = new org.apache.commons.math3.stat.correlation.SpearmansCorrelation();
    for (LearningMarket.SourceSpread p : r.perNeuron()) {
      assertEquals(1, java.util.Arrays.stream(p.averagedRow()).sum(), 1e-9, p.toString());
      assertEquals(r.spearmanAveraged().get(p.source()), rho.correlation(p.averagedRow(), value),
          1e-12, p.toString());
    }
    assertArrayEquals(r.probeMeasures().get(0).averagedRow(), rerouted.averagedRow(), 1e-12);
    assertTrue(LearningMarketReport.markdown(r).contains("| source, row averaged over the 2 retrained"
        + " neurons |"));
  }

  @Test
  void theNoiseAndNicheBarsAreCountedNeuronByNeuron() {
    // Peers: niche, niche, weak, weak, noise. The first row meets both bars; the second gives a
    // noise peer exactly 1% (not under it); the third gives the weak peers more per peer.
    List<Kind> kinds = List.of(Kind.NICHE, Kind.NICHE, Kind.WEAK, Kind.WEAK, Kind.NOISE);
    List<double[]> rows = List.of(new double[] {0.4, 0.3, 0.2, 0.095, 0.005},
        new double[] {0.4, 0.3, 0.2, 0.09, 0.01}, new double[] {0.1, 0.1, 0.4, 0.395, 0.005});
    assertEquals(2 / 3.0, LearningMarket.noiseUnderBar(rows, kinds), 1e-12);
    assertEquals(2 / 3.0, LearningMarket.nicheOverWeak(rows, kinds), 1e-12);
    assertEquals(1, LearningMarket.noiseUnderBar(rows.subList(0, 1), kinds), 0);
    assertEquals(0, LearningMarket.nicheOverWeak(rows.subList(2, 3), kinds), 0);
    // The market reports both for every source.
    for (LearningMarket.SourceSpread p : r.perNeuron()) {
      assertTrue(p.noiseUnderBar() >= 0 && p.noiseUnderBar() <= 1, p.toString());
      assertTrue(p.nicheOverWeak() >= 0 && p.nicheOverWeak() <= 1, p.toString());
    }
    assertTrue(LearningMarketReport.markdown(r).contains("gives every noise peer under 1%"));
  }

  @Test
  void theStudentReachesNinetyFivePercentOfTheNetworkOffline() {
    assertTrue(r.studentAccuracy() >= 0.95 * r.gatedAccuracy(),
        r.studentAccuracy() + " vs " + r.gatedAccuracy());
    // Answering without the network: faster than a query, even through the in-process transport.
    assertTrue(r.studentBatchMicros() < r.networkBatchMicros(),
        r.studentBatchMicros() + " us vs " + r.networkBatchMicros() + " us");
  }

  @Test
  void theReportHasEveryPeerAndThePlotIsAPng(@TempDir Path dir) throws IOException {
    String md = LearningMarketReport.markdown(r);
    for (PeerRow p : r.peers()) {
      assertTrue(md.contains("| " + p.name() + " |"), p.name());
    }
    assertEquals(13, LearningMarketReport.csv(r).lines().count());
    Path png = dir.resolve("w.png");
    LearningMarketReport.plot(r, png);
    byte[] head = Arrays.copyOf(Files.readAllBytes(png), 4);
    assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, head);
  }
}
