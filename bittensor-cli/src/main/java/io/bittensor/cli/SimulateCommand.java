package io.bittensor.cli;

import io.bittensor.cli.internal.Progress;
import io.bittensor.cli.report.LineChart;
import io.bittensor.core.internal.DurableFiles;
import io.bittensor.incentive.CollusionSimulation;
import io.bittensor.incentive.Emission;
import io.bittensor.incentive.PaperMechanism;
import io.bittensor.incentive.PaperParams;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code bittensor simulate}: experiments on the incentive mechanism. */
@Command(
    name = "simulate",
    mixinStandardHelpOptions = true,
    description = "Simulate markets under the incentive mechanism.",
    subcommands = {SimulateCommand.Collusion.class})
final class SimulateCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** {@code bittensor simulate collusion}. */
  @Command(
      name = "collusion",
      mixinStandardHelpOptions = true,
      description = {
        "The paper's section 10: an honest sub-graph and a disjoint cabal that votes only for"
            + " itself. For each honest share of stake, runs the epochs and tracks the cabal's"
            + " share; writes collusion.csv and collusion.png to --out."
      })
  static final class Collusion implements java.util.concurrent.Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--honest-share", split = ",", paramLabel = "X",
        defaultValue = "0.45,0.51,0.6,0.75",
        description = "Honest shares of stake at the start (default ${DEFAULT-VALUE}).")
    List<Double> honestShares;

    @Option(names = "--epochs", defaultValue = "100", paramLabel = "K",
        description = "Epochs (default ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--inflation", defaultValue = "0.1", paramLabel = "R",
        description = "Stake minted per epoch as a share of all stake (default ${DEFAULT-VALUE}).")
    double inflation;

    @Option(names = "--rho", defaultValue = "10", paramLabel = "RHO",
        description = "Consensus temperature (default ${DEFAULT-VALUE}).")
    double rho;

    @Option(names = "--kappa", defaultValue = "0.5", paramLabel = "KAPPA",
        description = "Consensus shift (default ${DEFAULT-VALUE}).")
    double kappa;

    @Option(names = "--honest-peers", defaultValue = "6", paramLabel = "N",
        description = "Peers in the honest group (default ${DEFAULT-VALUE}).")
    int honestPeers;

    @Option(names = "--cabal-peers", defaultValue = "4", paramLabel = "N",
        description = "Peers in the cabal (default ${DEFAULT-VALUE}).")
    int cabalPeers;

    @Option(names = "--out", defaultValue = "reports/collusion", paramLabel = "DIR",
        description = "Folder for collusion.csv and collusion.png (default ${DEFAULT-VALUE}).")
    Path out;

    @Override
    public Integer call() throws IOException {
      if (honestShares.isEmpty()) {
        throw CliException.badInput("--honest-share needs at least one share, e.g. 0.51", null);
      }
      if (Files.exists(out) && !Files.isDirectory(out)) {
        throw CliException.badInput("--out " + out + " is a file, not a folder", null);
      }
      PaperMechanism mechanism = PaperMechanism.of(PaperParams.defaults()
          .withRho(rho).withKappa(kappa).withEmission(Emission.inflation(inflation)));
      List<CollusionSimulation.Trajectory> runs = new ArrayList<>();
      try (Progress progress = Main.progress(spec, "honest shares", honestShares.size())) {
        for (double share : honestShares) {
          runs.add(CollusionSimulation.builder()
              .honestShare(share)
              .honestPeers(honestPeers)
              .cabalPeers(cabalPeers)
              .epochs(epochs)
              .mechanism(mechanism)
              .build()
              .run());
          progress.step();
        }
      }
      try {
        Files.createDirectories(out);
      } catch (IOException e) {
        throw CliException.badInput("cannot make the folder --out " + out + ": "
            + CliException.why(e), e);
      }
      Path csv = out.resolve("collusion.csv");
      writeCsv(csv, runs);
      Path png = out.resolve("collusion.png");
      LineChart chart = LineChart.titled("Cabal's share of stake (inflation " + inflation
              + ", rho " + rho + ")")
          .axes("epoch", "cabal's share of stake")
          .yRange(0, 1);
      for (CollusionSimulation.Trajectory t : runs) {
        chart.series("honest share " + t.honestShare(), t.cabalShares());
      }
      chart.writePng(png, 900, 540);
      printSummary(spec.commandLine().getOut(), runs);
      spec.commandLine().getOut().printf("wrote %s and %s%n", csv, png);
      spec.commandLine().getOut().flush();
      return 0;
    }

    private void writeCsv(Path csv, List<CollusionSimulation.Trajectory> runs)
        throws IOException {
      StringBuilder w = new StringBuilder("epoch");
      for (CollusionSimulation.Trajectory t : runs) {
        w.append(",cabal_share_at_honest_").append(t.honestShare());
      }
      w.append('\n');
      for (int e = 0; e <= epochs; e++) {
        w.append(e);
        for (CollusionSimulation.Trajectory t : runs) {
          w.append(',').append(t.cabalShare(e));
        }
        w.append('\n');
      }
      // Whole or not at all: a crash mid-write leaves the last run's file, never half of one.
      DurableFiles.replace(csv, w.toString().getBytes(StandardCharsets.UTF_8));
    }

    private void printSummary(PrintWriter out, List<CollusionSimulation.Trajectory> runs) {
      // Each epoch once: the last may be among those always shown.
      int[] shown = IntStream.of(0, 1, 2, 3, 4, 5, 10, 50, epochs).filter(e -> e <= epochs)
          .distinct().toArray();
      out.printf(Locale.ROOT, "%-14s", "honest share");
      for (int e : shown) {
        out.printf(Locale.ROOT, " %9s", "epoch " + e);
      }
      out.printf(Locale.ROOT, "   %s%n", "outcome");
      for (CollusionSimulation.Trajectory t : runs) {
        out.printf(Locale.ROOT, "%-14s", t.honestShare());
        for (int e : shown) {
          out.printf(Locale.ROOT, " %9.5f", t.cabalShare(e));
        }
        String outcome = t.cabalShare(epochs) < t.cabalShare(0) ? "cabal decays"
            : t.cabalShare(epochs) > t.cabalShare(0)
            ? "cabal grows: the honest side lacks a majority"
            : "cabal's share stays";
        out.printf(Locale.ROOT, "   %s%n", outcome);
      }
    }
  }
}
