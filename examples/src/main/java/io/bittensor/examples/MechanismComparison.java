package io.bittensor.examples;

import io.bittensor.cli.report.LineChart;
import io.bittensor.incentive.DenseMatrix;
import io.bittensor.incentive.Emission;
import io.bittensor.incentive.EpochResult;
import io.bittensor.incentive.NetworkState;
import io.bittensor.incentive.PaperMechanism;
import io.bittensor.incentive.PaperParams;
import io.bittensor.incentive.PeerVector;
import io.bittensor.incentive.YumaConsensus;
import io.bittensor.incentive.YumaParams;
import io.bittensor.incentive.YumaResult;
import io.bittensor.incentive.YumaState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;

/**
 * The same three markets under the paper's mechanism, Yuma Consensus and Yuma 3: who gains stake
 * when a cabal votes for itself, when a validator copies published consensus instead of
 * evaluating servers, and when a validator changes its mind after everyone else. Writes
 * {@code mechanism-comparison.csv} (every peer's share of holdings at every epoch) and, per
 * market, {@code mechanism-comparison-MARKET.png} (the tracked quantity, one line per mechanism;
 * drawn with the CLI's {@code LineChart}) to the directory given (default
 * {@code target/mechanism-comparison}).
 *
 * <pre>
 * mvn -B -q -pl examples -am package -DskipTests
 * java -cp examples/target/classes:bittensor-cli/target/bittensor.jar \
 *     io.bittensor.examples.MechanismComparison target/mechanism-comparison
 * </pre>
 *
 * <p>All mechanisms mint the same amount each epoch (10% of the stake, the paper's section 10
 * inflation) and see the same weights; each market is seeded, so runs repeat exactly. Where a
 * market has pure servers (peers that set no weights), they are paid out each epoch rather than
 * staking what they earn: otherwise their growing, non-voting stake would dilute every
 * validator's vote (in both mechanisms) and the markets would measure that instead. Shares are
 * of holdings: stake plus what servers were paid. The discussion of the results is in
 * {@code docs/yuma.md}.
 */
public final class MechanismComparison {
  /** Epochs each market runs. */
  public static final int EPOCHS = 60;

  private MechanismComparison() {}

  /** Writes the CSV and the plot to {@code args[0]} (default target/mechanism-comparison). */
  public static void main(String[] args) throws IOException {
    Path out = Path.of(args.length > 0 ? args[0] : "target/mechanism-comparison");
    List<Run> runs = runAll(EPOCHS);
    write(runs, out);
    for (Run r : runs) {
      System.out.printf(Locale.ROOT, "%-14s %-6s %s after %d epochs: %.4f%n", r.market().name(),
          r.mechanism(), r.market().tracked(), EPOCHS, r.tracked()[EPOCHS]);
    }
  }

  /**
   * Writes {@code mechanism-comparison.csv} and one plot per market,
   * {@code mechanism-comparison-MARKET.png}, into {@code dir} (created if missing).
   */
  public static void write(List<Run> runs, Path dir) throws IOException {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("mechanism-comparison.csv"), csv(runs));
    for (Market market : markets()) {
      LineChart chart = LineChart.titled(market.name() + ": " + market.tracked())
          .axes("epoch", market.tracked());
      double lo = Double.POSITIVE_INFINITY;
      double hi = Double.NEGATIVE_INFINITY;
      for (Run r : runs) {
        if (r.market().name().equals(market.name())) {
          chart.series(r.mechanism(), r.tracked());
          for (double v : r.tracked()) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
          }
        }
      }
      double pad = Math.max(0.05 * (hi - lo), 1e-3);
      chart.yRange(lo - pad, hi + pad)
          .writePng(dir.resolve("mechanism-comparison-" + market.name() + ".png"), 900, 420);
    }
  }

  /** Every market under every mechanism. */
  public static List<Run> runAll(int epochs) {
    List<Run> runs = new ArrayList<>();
    for (Market market : markets()) {
      for (String mechanism : MECHANISMS) {
        runs.add(run(market, mechanism, epochs));
      }
    }
    return runs;
  }

  /** The mechanisms compared, by name. */
  public static final List<String> MECHANISMS = List.of("paper", "yuma", "yuma3");

  /** The three markets. */
  public static List<Market> markets() {
    return List.of(cabal(), copier(), lateChanger());
  }

  /**
   * One market: who holds stake, who validates, how the validators weight the servers at each
   * epoch, and what the plot tracks.
   *
   * @param name a short name
   * @param tracked what the plot tracks, in words
   * @param stake the stake before the first epoch
   * @param voters peers {@code [0, voters)} validate and keep what they earn as stake; the others
   *     are servers, paid out each epoch
   * @param weights the weights set at each epoch
   * @param tracker the tracked quantity, from every peer's holdings after an epoch
   */
  public record Market(String name, String tracked, double[] stake, int voters, Weights weights,
      ToDoubleFunction<double[]> tracker) {

    /** A copy of the starting stake. */
    @Override
    public double[] stake() {
      return stake.clone();
    }

    /** The tracked quantity of {@code holdings}. */
    public double track(double[] holdings) {
      return tracker.applyAsDouble(holdings);
    }
  }

  /** The weights validators set. */
  @FunctionalInterface
  public interface Weights {
    /**
     * The weights set for {@code epoch}.
     *
     * @param published what the chain published last epoch: Yuma's consensus weights, the
     *     paper's incentive ({@code null} at epoch 0)
     */
    double[][] at(int epoch, double[] published);
  }

  /** One market under one mechanism: the tracked quantity and every peer's share, by epoch. */
  public record Run(Market market, String mechanism, double[] tracked, double[][] shares) {}

  /** Runs {@code market} under {@code mechanism} for {@code epochs} epochs. */
  public static Run run(Market market, String mechanism, int epochs) {
    Emission inflation = Emission.inflation(0.1);
    PaperMechanism paper = PaperMechanism.of(PaperParams.defaults().withEmission(inflation));
    YumaConsensus yuma = YumaConsensus.of(YumaParams.defaults().withEmission(inflation)
        .withYuma3(mechanism.equals("yuma3")).withLiquidAlpha(mechanism.equals("yuma3")));
    double[] stake = market.stake();
    int n = stake.length;
    double[] paidOut = new double[n];
    double[] tracked = new double[epochs + 1];
    double[][] shares = new double[epochs + 1][];
    tracked[0] = market.track(stake);
    shares[0] = shares(stake);
    NetworkState network = NetworkState.of(PeerVector.of(stake),
        DenseMatrix.of(market.weights().at(0, null)));
    YumaState yumaState = YumaState.of(network);
    double[] published = null;
    for (int e = 0; e < epochs; e++) {
      DenseMatrix weights = DenseMatrix.of(market.weights().at(e, published));
      EpochResult result;
      if (mechanism.equals("paper")) {
        network = network.withWeights(weights);
        result = paper.step(network);
        network = paper.advance(network, result);
        published = result.incentive().toArray();
      } else {
        yumaState = yumaState.withNetwork(yumaState.network().withWeights(weights));
        YumaResult r = yuma.epoch(yumaState);
        yumaState = yuma.advance(yumaState, r);
        result = r.epoch();
        published = result.consensus().toArray();
      }
      double[] after = result.stake().toArray();
      double[] holdings = after.clone();
      for (int i = market.voters(); i < n; i++) {
        paidOut[i] += after[i];
        after[i] = 0;
        holdings[i] = paidOut[i];
      }
      PeerVector staked = PeerVector.of(after);
      network = network.withStake(staked);
      yumaState = yumaState.withNetwork(yumaState.network().withStake(staked));
      tracked[e + 1] = market.track(holdings);
      shares[e + 1] = shares(holdings);
    }
    return new Run(market, mechanism, tracked, shares);
  }

  private static double[] shares(double[] stake) {
    double total = 0;
    for (double s : stake) {
      total += s;
    }
    double[] out = new double[stake.length];
    for (int i = 0; i < stake.length; i++) {
      out[i] = stake[i] / total;
    }
    return out;
  }

  /** Every peer's share of stake at every epoch: market, mechanism, epoch, peer, share. */
  public static String csv(List<Run> runs) {
    StringBuilder sb = new StringBuilder("market,mechanism,epoch,peer,share\n");
    for (Run r : runs) {
      for (int e = 0; e < r.shares().length; e++) {
        for (int i = 0; i < r.shares()[e].length; i++) {
          sb.append(String.format(Locale.ROOT, "%s,%s,%d,%d,%.9f%n", r.market().name(),
              r.mechanism(), e, i, r.shares()[e][i]));
        }
      }
    }
    return sb.toString();
  }

  // ---------------------------------------------------------------------------------------------
  // The markets

  /**
   * An honest majority with a cabal, as in the paper's section 10: ten peers that all validate
   * and serve. Honest peers 0-5 (60% of stake) weight the other honest peers by their (noisy)
   * quality; the cabal, peers 6-9 (40%), weights only the other cabal members. Tracked: the
   * cabal's share of stake.
   */
  static Market cabal() {
    Weights weights = (epoch, published) -> {
      double[][] w = new double[10][10];
      SplittableRandom noise = new SplittableRandom(1000 + epoch);
      for (int v = 0; v < 6; v++) {
        for (int s = 0; s < 6; s++) {
          if (s != v) {
            w[v][s] = (1 + 0.2 * s) * (0.9 + 0.2 * noise.nextDouble());
          }
        }
      }
      for (int v = 6; v < 10; v++) {
        for (int s = 6; s < 10; s++) {
          w[v][s] = s == v ? 0 : 1;
        }
      }
      return w;
    };
    return new Market("cabal", "cabal's share of stake",
        new double[] {10, 10, 10, 10, 10, 10, 10, 10, 10, 10}, 10, weights,
        h -> sum(h, 6, 10) / sum(h, 0, 10));
  }

  /**
   * A weight-copying validator. Honest validators 0-3 weight servers 5-8 by a quality that
   * drifts (the best server changes every 15 epochs), each with its own noise; validator 4 does
   * no evaluation and sets last epoch's published numbers as its weights (Yuma's consensus
   * weights, the paper's incentive). Validators 3 and 4 start with equal stake. Tracked: the
   * copier's stake over its honest twin's.
   */
  static Market copier() {
    Weights weights = (epoch, published) -> {
      double[][] w = new double[9][9];
      double[] quality = new double[4];
      int best = (epoch / 15) % 4;
      for (int s = 0; s < 4; s++) {
        quality[s] = s == best ? 1.0 : 0.3 + 0.1 * s;
      }
      SplittableRandom noise = new SplittableRandom(2000 + epoch);
      for (int v = 0; v < 4; v++) {
        for (int s = 0; s < 4; s++) {
          w[v][5 + s] = quality[s] * (0.85 + 0.3 * noise.nextDouble());
        }
      }
      for (int s = 0; s < 4; s++) {
        // Before anything is published, it starts from the true quality, as if it had copied
        // an earlier epoch: only copying, not a bad start, is measured.
        w[4][5 + s] = published == null ? quality[s] : published[5 + s];
      }
      return w;
    };
    return new Market("weight-copier", "copier's stake / honest twin's",
        new double[] {30, 25, 20, 12.5, 12.5, 0, 0, 0, 0}, 5, weights, h -> h[4] / h[3]);
  }

  /**
   * A validator that changes its mind late. All validators weight server 4 until epoch 20; then
   * validators 0-2 move to the newly better server 5; validator 3 stays on server 4 until epoch
   * 40. Validators 2 and 3 start with equal stake. Tracked: the late validator's stake over its
   * punctual twin's.
   */
  static Market lateChanger() {
    Weights weights = (epoch, published) -> {
      double[][] w = new double[6][6];
      for (int v = 0; v < 4; v++) {
        boolean moved = epoch >= (v == 3 ? 40 : 20);
        w[v][moved ? 5 : 4] = 0.9;
        w[v][moved ? 4 : 5] = 0.1;
      }
      return w;
    };
    return new Market("late-changer", "late validator's stake / punctual twin's",
        new double[] {35, 25, 20, 20, 0, 0}, 4, weights, h -> h[3] / h[2]);
  }

  private static double sum(double[] v, int from, int to) {
    double s = 0;
    for (int i = from; i < to; i++) {
      s += v[i];
    }
    return s;
  }

  /** The tracked quantity of each run at the last epoch, keyed "market/mechanism". */
  public static Map<String, Double> finals(List<Run> runs) {
    Map<String, Double> out = new LinkedHashMap<>();
    for (Run r : runs) {
      out.put(r.market().name() + "/" + r.mechanism(), r.tracked()[r.tracked().length - 1]);
    }
    return out;
  }
}
