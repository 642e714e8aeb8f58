package io.bittensor.benchmarks;

import io.bittensor.incentive.EpochResult;
import io.bittensor.incentive.EpochSummary;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.incentive.NetworkState;
import io.bittensor.incentive.PaperMechanism;
import io.bittensor.incentive.PaperSimulation;
import io.bittensor.incentive.SyntheticNetworks;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * How long does one epoch of the paper's mechanism take, dense and sparse, at research and
 * chain scale? The inputs are {@link SyntheticNetworks} (seeded; bonds present on the weights'
 * pattern, as in a running network), the same ones {@code baselines/paper_step.py} builds for
 * the numpy/scipy baseline; {@code baselines/compare_incentive.py} runs both side by side.
 * {@code epoch} is {@link PaperMechanism#step} (immutable state, new bonds in fresh memory);
 * {@code simulationStep} the same epoch through {@link PaperSimulation}, which owns its state
 * and updates the bonds in place.
 *
 * <pre>
 * mvn -B -q -Pbench -pl benchmarks -am package -DskipTests
 * java -jar benchmarks/target/benchmarks.jar PaperEpochBenchmark -p network=dense:4096
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms8g", "-Xmx8g"})
public class PaperEpochBenchmark {

  /** {@code dense:N} or {@code sparse:N} (64 weights a row). */
  @Param({
    "dense:256", "dense:1024", "dense:4096", "sparse:10000", "sparse:100000", "sparse:1000000"
  })
  public String network;

  /**
   * Threads working on an epoch: 1 is the calling thread alone; more adds a pool of that many
   * minus one ({@link PaperMechanism#withExecutor}: dense epochs split both passes, sparse the
   * second).
   */
  @Param({"1"})
  public int threads;

  private NetworkState state;
  private PaperMechanism mechanism;
  private ForkJoinPool pool;
  private PaperSimulation simulation;

  @Setup
  public void setUp() {
    String[] parts = network.split(":");
    int n = Integer.parseInt(parts[1]);
    state = parts[0].equals("dense")
        ? SyntheticNetworks.dense(n, 42, true)
        : SyntheticNetworks.sparse(n, 64, 42, true);
    mechanism = IncentiveMechanism.paper();
    if (threads > 1) {
      pool = new ForkJoinPool(threads - 1);
      mechanism = mechanism.withExecutor(pool);
    }
    simulation = PaperSimulation.start(mechanism, state);
  }

  @TearDown
  public void tearDown() {
    if (pool != null) {
      pool.shutdownNow();
    }
  }

  @Benchmark
  public EpochResult epoch() {
    return mechanism.step(state);
  }

  @Benchmark
  public EpochSummary simulationStep() {
    return simulation.step();
  }
}
