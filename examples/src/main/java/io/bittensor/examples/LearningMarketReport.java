package io.bittensor.examples;

import io.bittensor.examples.LearningMarket.Config;
import io.bittensor.examples.LearningMarket.Kind;
import io.bittensor.examples.LearningMarket.PeerRow;
import io.bittensor.examples.LearningMarket.ProbeComparison;
import io.bittensor.examples.LearningMarket.Resampled;
import io.bittensor.examples.LearningMarket.Result;
import io.bittensor.examples.LearningMarket.SourceSpread;
import io.bittensor.learning.ProbeMeasure;
import io.bittensor.learning.WeightSource;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.labels.XYItemLabelGenerator;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The learning market's report: the tables in Markdown ({@code learning.md}), the peer table as
 * CSV ({@code learning-peers.csv}) and the plot of each peer's weights against its true value
 * ({@code learning-weights.png}), all from a {@link LearningMarket.Result}.
 *
 * <pre>{@code
 * LearningMarket.Result r = LearningMarket.run(LearningMarket.Config.reduced(), line -> { });
 * Path dir = Path.of("target/report");
 * Files.writeString(dir.resolve("learning.md"), LearningMarketReport.markdown(r));
 * }</pre>
 */
public final class LearningMarketReport {
  private static final int RESAMPLES = LearningMarket.RESAMPLES;

  private LearningMarketReport() {}

  /** The report's tables, in Markdown. */
  public static String markdown(Result r) {
    StringBuilder s = new StringBuilder();
    Config c = r.config();
    s.append(String.format(Locale.ROOT, "Run `%s`: %d peer-pool images, %d neuron images, %d"
        + " held-out images, seed %d, %d retraining seed(s) per true value (%d passes after the"
        + " removal), neurons trained %d"
        + " passes, balancing weight %s (%s in the first %d passes), gate failure weight %s, %s,"
        + " %s; %.0f s.%n%n",
        c.name(), c.poolSize(), c.trainSize(), c.testSize(), c.seed(), c.valueSeeds(),
        c.retrainEpochs(), c.neuronEpochs(),
        BigDecimal.valueOf(c.balanceWeight()).stripTrailingZeros().toPlainString(),
        BigDecimal.valueOf(c.warmupBalanceWeight()).stripTrailingZeros().toPlainString(),
        c.warmupEpochs(),
        BigDecimal.valueOf(c.failureWeight()).stripTrailingZeros().toPlainString(),
        c.studentFallback() ? "each neuron's student answering for failed peers"
            : "no fallback for failed peers",
        c.pureNoise() ? "pure-noise peers" : "noise peers trained on random labels",
        r.seconds()));
    s.append("| peer | kind | own accuracy | a head on its answers | gate importance | pruning"
        + " score | compensated pruning score | stand-in pruning score | rerouted loss | true value"
        + " (accuracy) | loss value |\n");
    s.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (PeerRow p : r.peers()) {
      s.append(String.format(Locale.ROOT,
          "| %s | %s | %.1f%% | %.1f%% | %.2f%% | %.2f%% | %.2f%% | %.2f%% | %.2f%% | %+.2f ± %.2f"
              + " pts | %+.4f nats |%n",
          p.name(), p.kind().name().toLowerCase(Locale.ROOT), 100 * p.modelAccuracy(),
          100 * p.readAccuracy(), 100 * p.importance(), 100 * p.pruning(), 100 * p.compensated(),
          100 * p.standIn(), 100 * p.rerouted(), 100 * p.trueValue(), 100 * p.trueValueError(),
          p.lossValue()));
    }
    s.append("\n| measure | value |\n|---|---|\n");
    row(s, "gated network, top-2 of 12", pct(r.gatedAccuracy()));
    row(s, "dense mixture of all 12", pct(r.denseAccuracy()));
    if (c.studentFallback()) {
      row(s, "held-out images the student answered in a failed peer's slot, top-2",
          String.format(Locale.ROOT, "%,d of %,d", r.gatedFallbackRows(), c.testSize()));
    }
    double[] ra = r.retrainedAccuracy();
    row(s, "top-2, the " + c.valueSeeds() + " retrained neurons' control copies: mean ± se",
        String.format(Locale.ROOT, "%.2f%% ± %.2f", 100 * ra[0], 100 * ra[1]));
    row(s, "best single peer (" + r.bestSingle() + ")", pct(r.bestSingleAccuracy()));
    row(s, "answer bytes received, top-2 / dense", String.format(Locale.ROOT,
        "%,d / %,d (%.1f%% fewer)", r.gatedBytesReceived(), r.denseBytesReceived(),
        100 * r.bytesSaved()));
    row(s, "input bytes sent, top-2 / dense", String.format(Locale.ROOT, "%,d / %,d",
        r.gatedBytesSent(), r.denseBytesSent()));
    long[] tb = r.trainingBytes();
    row(s, "training, answer bytes received: top-2 routing / rerouted-loss probes (every "
        + c.probeEvery() + " batches)", String.format(Locale.ROOT, "%,d / %,d (+%.1f%%)", tb[0],
        tb[2], 100 * r.probeOverhead()));
    row(s, "training, input bytes sent: top-2 routing / probes", String.format(Locale.ROOT,
        "%,d / %,d (+%.1f%%)", tb[1], tb[3], 100.0 * tb[3] / tb[1]));
    for (WeightSource w : WeightSource.values()) {
      row(s, "Spearman(" + label(w) + ", true value)", f3(r.spearman().get(w)));
    }
    for (WeightSource w : WeightSource.values()) {
      row(s, "Spearman(" + label(w) + ", loss value)", f3(r.spearmanLoss().get(w)));
    }
    for (WeightSource w : WeightSource.values()) {
      row(s, "Spearman(" + label(w) + " averaged over the " + c.valueSeeds()
          + " retrained neurons, true value)", f3(r.spearmanAveraged().get(w)));
    }
    for (WeightSource w : WeightSource.values()) {
      Resampled x = r.resampled().get(w);
      row(s, "Spearman(" + label(w) + ", true value), the seeds drawn again " + RESAMPLES
          + " times: median [5%, 95%]; share at or above " + BigDecimal.valueOf(x.bar())
              .stripTrailingZeros().toPlainString(),
          String.format(Locale.ROOT, "%.3f [%.3f, %.3f]; %.0f%%", x.median(), x.low(), x.high(),
              100 * x.atOrAboveBar()));
    }
    Resampled ceiling = r.ceiling();
    row(s, "Spearman(the true value itself, as a row, true value), the seeds drawn again "
        + RESAMPLES + " times: median [5%, 95%]; share at or above 0.9 (what knowing each"
        + " peer's worth exactly would score against values this noisy)",
        String.format(Locale.ROOT, "%.3f [%.3f, %.3f]; %.0f%%", ceiling.median(), ceiling.low(),
            ceiling.high(), 100 * ceiling.atOrAboveBar()));
    for (SourceSpread p : r.perNeuron()) {
      row(s, "Spearman(" + label(p.source()) + ", true value), each of the " + c.valueSeeds()
          + " retrained neurons' own row: mean ± se (minus the rerouted loss's, paired)",
          String.format(Locale.ROOT, "%.3f ± %.3f (%+.3f ± %.3f)", p.perNeuron(),
              p.perNeuronError(), p.minusRerouted(), p.minusReroutedError()));
    }
    for (SourceSpread p : r.perNeuron()) {
      row(s, "retrained neurons whose own " + label(p.source()) + " row gives every noise peer"
          + " under 1% / the niche specialists more than the weak generalists",
          String.format(Locale.ROOT, "%.0f%% / %.0f%% of %d", 100 * p.noiseUnderBar(),
              100 * p.nicheOverWeak(), c.valueSeeds()));
    }
    for (SourceSpread p : r.perNeuron()) {
      row(s, "Spearman(" + label(p.source()) + ", the same neuron's own true value), each of the "
          + c.valueSeeds() + " retrained neurons: mean ± se",
          String.format(Locale.ROOT, "%.3f ± %.3f", p.ownTruth(), p.ownTruthError()));
    }
    row(s, "Fisher correlation of strong-top and copycat (reported neuron)",
        f3(r.twinCorrelation()));
    row(s, "stand-in Fisher correlation, strong-top routed / copycat standing in, and the reverse",
        f3(r.standInTwinCorrelation()[0]) + " / " + f3(r.standInTwinCorrelation()[1]));
    double[] rr = r.spearmanRerouted();
    row(s, "Spearman(rerouted leave-one-out, accuracy / loss, true value), not a source",
        f3(rr[0]) + " / " + f3(rr[1]));
    row(s, "... averaged over the " + c.valueSeeds() + " retrained neurons",
        f3(rr[2]) + " / " + f3(rr[3]));
    for (WeightSource w : WeightSource.values()) {
      String name = label(w);
      row(s, "noise peers' weight (" + name + "), total / largest", String.format(Locale.ROOT,
          "%.2f%% / %.2f%%", 100 * r.share(Kind.NOISE, w), 100 * r.maxShare(Kind.NOISE, w)));
      row(s, "niche vs weak weight (" + name + "), per peer", String.format(Locale.ROOT,
          "%.2f%% vs %.2f%%", 100 * r.share(Kind.NICHE, w) / 2, 100 * r.share(Kind.WEAK, w) / 3));
    }
    row(s, "student (ONNX, offline) accuracy", String.format(Locale.ROOT,
        "%s (%.1f%% of the network's)", pct(r.studentAccuracy()),
        100 * r.studentAccuracy() / r.gatedAccuracy()));
    row(s, "one image: student / network query (median)", String.format(Locale.ROOT,
        "%.0f us / %.0f us (%.1fx)", r.studentOneMicros(), r.networkOneMicros(),
        r.networkOneMicros() / r.studentOneMicros()));
    row(s, "64 images: student / network query (median)", String.format(Locale.ROOT,
        "%.0f us / %.0f us (%.1fx)", r.studentBatchMicros(), r.networkBatchMicros(),
        r.networkBatchMicros() / r.studentBatchMicros()));
    averagedRowTable(s, r);
    probeTable(s, r);
    return s.toString();
  }

  /** Each source's row averaged over the retrained neurons, beside the true value. */
  private static void averagedRowTable(StringBuilder s, Result r) {
    shareHeader(s, r, "source, row averaged over the " + r.config().valueSeeds()
        + " retrained neurons");
    r.perNeuron().forEach(p -> shareRow(s, label(p.source()), p.averagedRow()));
    s.append("| true value (accuracy) |");
    r.peers().forEach(p -> s.append(String.format(Locale.ROOT, " %+.2f pts |",
        100 * p.trueValue())));
    s.append('\n');
  }

  /** What the rerouted probe measures: Spearman with the true value, per measure. */
  private static void probeTable(StringBuilder s, Result r) {
    int n = r.config().valueSeeds();
    s.append("\n| rerouted probe measures | reported neuron | (loss value) | row averaged over"
        + " the ").append(n).append(" neurons | each neuron's own row, mean ± se | minus the"
            + " loss's, paired |\n|---|---:|---:|---:|---:|---:|\n");
    for (ProbeComparison p : r.probeMeasures()) {
      s.append(String.format(Locale.ROOT, "| %s | %.3f | %.3f | %.3f | %.3f ± %.3f | %+.3f ± %.3f"
          + " |%n", label(p.measure()), p.reported(), p.reportedLoss(), p.averaged(),
          p.perNeuron(), p.perNeuronError(), p.minusLoss(), p.minusLossError()));
    }
    shareHeader(s, r, "share of the row averaged over the " + n + " neurons");
    r.probeMeasures().forEach(p -> shareRow(s, label(p.measure()), p.averagedRow()));
  }

  /** A table with a column per peer, headed {@code title}. */
  private static void shareHeader(StringBuilder s, Result r, String title) {
    s.append("\n| ").append(title).append(" |");
    r.peers().forEach(p -> s.append(' ').append(p.name()).append(" |"));
    s.append("\n|---|").append("---:|".repeat(r.peers().size())).append('\n');
  }

  /** One line of such a table: each peer's share of {@code row}, in percent. */
  private static void shareRow(StringBuilder s, String label, double[] row) {
    s.append("| ").append(label).append(" |");
    for (double w : row) {
      s.append(String.format(Locale.ROOT, " %.1f%% |", 100 * w));
    }
    s.append('\n');
  }

  /** How the report names a probe measure. */
  static String label(ProbeMeasure measure) {
    return switch (measure) {
      case LOSS -> "loss, -log p_y (the rerouted loss)";
      case PROBABILITY -> "1 - p_y";
      case MARGIN -> "probability margin";
      case ERROR -> "0/1 error";
    };
  }

  /** How the report names a weight source. */
  static String label(WeightSource source) {
    return switch (source) {
      case GATE_IMPORTANCE -> "gate importance";
      case PRUNING_SCORE -> "pruning score";
      case COMPENSATED_PRUNING_SCORE -> "compensated pruning score";
      case STAND_IN_PRUNING_SCORE -> "stand-in pruning score";
      case REROUTED_LOSS -> "rerouted loss";
    };
  }

  /** The peer table as CSV. */
  public static String csv(Result r) {
    StringBuilder s = new StringBuilder(
        "peer,kind,own_accuracy,read_accuracy,gate_importance,pruning_score,"
        + "compensated_pruning_score,stand_in_pruning_score,rerouted_loss,true_value,true_value_se,"
        + "loss_value\n");
    for (PeerRow p : r.peers()) {
      s.append(String.format(Locale.ROOT,
          "%s,%s,%.4f,%.4f,%.6f,%.6f,%.6f,%.6f,%.6f,%.4f,%.4f,%.6f%n",
          p.name(), p.kind().name().toLowerCase(Locale.ROOT), p.modelAccuracy(),
          p.readAccuracy(), p.importance(), p.pruning(), p.compensated(), p.standIn(),
          p.rerouted(), p.trueValue(), p.trueValueError(), p.lossValue()));
    }
    return s.toString();
  }

  /** Each peer's weight from each source against its true value, labelled, as a PNG. */
  public static void plot(Result r, Path file) throws IOException {
    System.setProperty("java.awt.headless", "true");
    XYSeriesCollection data = new XYSeriesCollection();
    for (WeightSource w : WeightSource.values()) {
      XYSeries series = new XYSeries(label(w), false, true);
      for (PeerRow p : r.peers()) {
        series.add(100 * p.trueValue(), p.weight(w));
      }
      data.addSeries(series);
    }
    JFreeChart chart = ChartFactory.createScatterPlot(String.format(Locale.ROOT,
        "Weight vs true value per peer (Spearman: importance %.2f, pruning %.2f,"
            + " compensated %.2f, stand-in %.2f, rerouted %.2f)",
        r.spearman().get(WeightSource.GATE_IMPORTANCE),
        r.spearman().get(WeightSource.PRUNING_SCORE),
        r.spearman().get(WeightSource.COMPENSATED_PRUNING_SCORE),
        r.spearman().get(WeightSource.STAND_IN_PRUNING_SCORE),
        r.spearman().get(WeightSource.REROUTED_LOSS)),
        "true value: held-out accuracy lost without the peer (points)",
        "share of the weight row", data, PlotOrientation.VERTICAL, true, false, false);
    chart.setBackgroundPaint(Color.WHITE);
    XYPlot plot = chart.getXYPlot();
    plot.setBackgroundPaint(Color.WHITE);
    plot.setDomainGridlinePaint(new Color(0xdddddd));
    plot.setRangeGridlinePaint(new Color(0xdddddd));
    XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(false, true);
    renderer.setSeriesPaint(0, new Color(0x1f77b4));
    renderer.setSeriesPaint(1, new Color(0xd62728));
    renderer.setSeriesPaint(2, new Color(0x2ca02c));
    renderer.setSeriesPaint(3, new Color(0x9467bd));
    renderer.setSeriesPaint(4, new Color(0xff7f0e));
    renderer.setSeriesStroke(0, new BasicStroke(1f));
    List<PeerRow> peers = r.peers();
    XYItemLabelGenerator names = (dataset, series, item) -> peers.get(item).name();
    renderer.setDefaultItemLabelGenerator(names);
    renderer.setDefaultItemLabelsVisible(true);
    renderer.setDefaultItemLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
    plot.setRenderer(renderer);
    Path parent = file.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    ChartUtils.saveChartAsPNG(file.toFile(), chart, 1000, 620);
  }

  private static void row(StringBuilder s, String k, String v) {
    s.append("| ").append(k).append(" | ").append(v).append(" |\n");
  }

  private static String pct(double v) {
    return String.format(Locale.ROOT, "%.2f%%", 100 * v);
  }

  private static String f3(double v) {
    return String.format(Locale.ROOT, "%.3f", v);
  }
}
