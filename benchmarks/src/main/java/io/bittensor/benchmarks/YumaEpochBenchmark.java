package io.bittensor.benchmarks;

import io.bittensor.incentive.CsrMatrix;
import io.bittensor.incentive.EpochResult;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.incentive.NetworkState;
import io.bittensor.incentive.SyntheticNetworks;
import io.bittensor.incentive.YumaConsensus;
import io.bittensor.incentive.YumaParams;
import io.bittensor.incentive.YumaState;
import java.util.Arrays;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What does an epoch of Yuma Consensus cost beside one of the paper's mechanism, on the same
 * network? Sparse networks of 256, 1024 and 4096 peers, 64 weights a row
 * ({@link SyntheticNetworks#sparse}, seed 42, bonds on the weights' pattern); Yuma runs the
 * chain's shape of subnet: validator permits for the 256 largest stakes (at most 256
 * validators), everyone active, bonds held by the permitted rows only (the chain clears the
 * bonds of a peer without a permit). The paper's mechanism scores every row, bonds on all.
 *
 * <p>{@code mechanism}: {@code paper}; {@code yuma} (classic bonds, float64); {@code yuma3}
 * (Yuma 3 bonds with liquid alpha, float64); {@code yuma-fixed} (classic, in the chain's
 * fixed-point formats).
 *
 * <pre>
 * mvn -B -q -Pbench -pl benchmarks -am package -DskipTests
 * java -jar benchmarks/target/benchmarks.jar YumaEpochBenchmark -bm sample -tu us
 * </pre>
 *
 * <p>On a shared machine, {@link #main} interleaves the mechanisms so that all see the same load.
 * Results and discussion: {@code docs/yuma.md}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 6, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class YumaEpochBenchmark {
  /** The chain's cap on validators in this benchmark. */
  static final int VALIDATORS = 256;

  /** Peers in the network. */
  @Param({"256", "1024", "4096"})
  public int peers;

  /** {@code paper}, {@code yuma}, {@code yuma3} or {@code yuma-fixed}. */
  @Param({"paper", "yuma", "yuma3", "yuma-fixed"})
  public String mechanism;

  private NetworkState network;
  private YumaState state;
  private YumaConsensus yuma;
  private IncentiveMechanism paper;

  @Setup
  public void setUp() {
    network = SyntheticNetworks.sparse(peers, 64, 42, true);
    boolean[] permits = largest(network, VALIDATORS);
    state = YumaState.of(network.withBonds(rows(network.bonds().toCsr(), permits)))
        .withValidatorPermits(permits);
    YumaParams params = YumaParams.defaults().withMaxAllowedValidators(VALIDATORS);
    yuma = switch (mechanism) {
      case "paper" -> null;
      case "yuma" -> YumaConsensus.of(params);
      case "yuma3" -> YumaConsensus.of(params.withYuma3(true).withLiquidAlpha(true));
      case "yuma-fixed" -> YumaConsensus.of(params.withPrecision(YumaParams.Precision.FIXED_POINT)
          .withTau(1e9));
      default -> throw new IllegalArgumentException("unknown mechanism " + mechanism);
    };
    paper = IncentiveMechanism.paper();
  }

  /** Permits for the {@code k} largest stakes, as the previous epoch would have issued them. */
  static boolean[] largest(NetworkState network, int k) {
    int n = network.size();
    boolean[] permits = new boolean[n];
    IntStream.range(0, n).boxed()
        .sorted(Comparator.comparingDouble((Integer i) -> network.stake().get(i)).reversed())
        .limit(k)
        .forEach(i -> permits[i] = true);
    return permits;
  }

  /** The rows of {@code m} whose flag is set; the others emptied. */
  static CsrMatrix rows(CsrMatrix m, boolean[] keep) {
    CsrMatrix.Builder b = CsrMatrix.builder(m.size());
    for (int i = 0; i < m.size(); i++) {
      if (keep[i]) {
        int len = m.rowEnd(i) - m.rowStart(i);
        int[] cols = new int[len];
        double[] vals = new double[len];
        for (int k = 0; k < len; k++) {
          cols[k] = m.colAt(m.rowStart(i) + k);
          vals[k] = m.valueAt(m.rowStart(i) + k);
        }
        b.row(i, cols, vals);
      }
    }
    return b.build();
  }

  @Benchmark
  public EpochResult epoch() {
    return yuma == null ? paper.step(network) : yuma.epoch(state).epoch();
  }

  /**
   * For a shared, noisy machine: runs the four mechanisms in turn, one epoch each, round after
   * round, so all see the same load, and prints each one's fastest and median epoch per size
   * (microseconds) and the ratios to the paper's. Arguments: rounds (default 200) and sizes
   * (default 256 1024 4096).
   *
   * <pre>
   * java -cp benchmarks/target/benchmarks.jar io.bittensor.benchmarks.YumaEpochBenchmark 200
   * </pre>
   */
  public static void main(String[] args) {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 200;
    int[] sizes = args.length > 1
        ? Arrays.stream(args, 1, args.length).mapToInt(Integer::parseInt).toArray()
        : new int[] {256, 1024, 4096};
    String[] mechanisms = {"paper", "yuma", "yuma3", "yuma-fixed"};
    for (int n : sizes) {
      YumaEpochBenchmark[] b = new YumaEpochBenchmark[mechanisms.length];
      for (int m = 0; m < b.length; m++) {
        b[m] = new YumaEpochBenchmark();
        b[m].peers = n;
        b[m].mechanism = mechanisms[m];
        b[m].setUp();
      }
      long[][] nanos = new long[b.length][rounds];
      double sink = 0;
      for (int r = -rounds; r < rounds; r++) { // the first half warms up
        for (int m = 0; m < b.length; m++) {
          long start = System.nanoTime();
          sink += b[m].epoch().minted();
          if (r >= 0) {
            nanos[m][r] = System.nanoTime() - start;
          }
        }
      }
      StringBuilder line = new StringBuilder("peers " + n + ":");
      double paperMin = 0;
      double paperMedian = 0;
      for (int m = 0; m < b.length; m++) {
        long[] t = nanos[m].clone();
        Arrays.sort(t);
        double min = t[0] / 1e3;
        double median = t[rounds / 2] / 1e3;
        if (m == 0) {
          paperMin = min;
          paperMedian = median;
        }
        line.append(String.format(java.util.Locale.ROOT, "  %s min %.0f us (x%.1f), median %.0f us"
            + " (x%.1f);", mechanisms[m], min, min / paperMin, median, median / paperMedian));
      }
      System.out.println(line + (sink > 0 ? "" : " "));
    }
  }
}
