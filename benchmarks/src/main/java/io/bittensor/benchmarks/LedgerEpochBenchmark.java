package io.bittensor.benchmarks;

import io.bittensor.core.Block;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.SignedTransaction;
import io.bittensor.incentive.EpochResult;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.incentive.NetworkState;
import io.bittensor.incentive.PaperMechanism;
import io.bittensor.incentive.PaperParams;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
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
 * What does running an epoch inside a {@link LocalLedger} cost over the bare mechanism? A ledger
 * of {@code peers} registered, staked peers, each with a weight row of {@code perRow} entries,
 * set up through signed transactions like any other; its epoch length is 1, so every block
 * runs an epoch. {@code ledgerBlockWithEpoch} seals one such block (the mechanism, minting in
 * whole units, the consensus peg, the new metagraph, the block's encoding and hash, and for
 * {@code disk} the fsync'ed journal append); {@code bareMechanism} runs the same mechanism on the
 * same stake, weights and bonds, taken from the ledger's metagraph.
 *
 * <pre>
 * mvn -B -q -pl benchmarks -am package -DskipTests
 * java -jar benchmarks/target/benchmarks.jar LedgerEpochBenchmark
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms4g", "-Xmx4g"})
public class LedgerEpochBenchmark {
  /** Registered peers. */
  @Param({"4096"})
  public int peers;

  /** Weights in each peer's row. */
  @Param({"64"})
  public int perRow;

  /**
   * {@code memory}, or {@code disk} (journal appended and fsync'ed each block; {@code -p
   * journal=disk}). Memory is the default: the question is the epoch, not the disk.
   */
  @Param({"memory"})
  public String journal;

  private LocalLedger ledger;
  private PaperMechanism mechanism;
  private NetworkState state;
  private Path dir;

  @Setup
  public void setUp() throws Exception {
    LedgerWorkload w = new LedgerWorkload(peers, new LedgerParams(1, peers, 0, 1, 0));
    mechanism = IncentiveMechanism.paper(PaperParams.defaults().withTau(LocalLedger.DEFAULT_TAU));
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      List<List<SignedTransaction>> registrations = w.registrations(pool);
      List<List<SignedTransaction>> weights = w.weights(pool, perRow, 1);
      LocalLedger.Builder b = w.builder().mechanism(mechanism).snapshotEvery(0);
      if (journal.equals("disk")) {
        dir = Files.createTempDirectory("ledger-epoch-bench");
        ledger = b.open(dir);
      } else {
        ledger = b.openInMemory();
      }
      LedgerWorkload.register(ledger, registrations, pool, 2);
      LedgerWorkload.register(ledger, weights, pool, 2);
    } finally {
      pool.shutdownNow();
    }
    ledger.produceBlock();   // an epoch with every row set: bonds now exist
    Metagraph m = ledger.metagraph();
    if (m.size() != peers || m.weights().nonZeroCount() < (long) peers * Math.min(perRow, peers)
        * 9 / 10) {
      throw new IllegalStateException("setup failed: " + m);
    }
    state = new NetworkState(m.stakeVector(), m.weights(), m.bonds());
  }

  @Benchmark
  public Block ledgerBlockWithEpoch() throws Exception {
    return ledger.produceBlock();
  }

  @Benchmark
  public EpochResult bareMechanism() {
    return mechanism.step(state);
  }

  @TearDown
  public void tearDown() throws Exception {
    ledger.close();
    LedgerWorkload.deleteTree(dir);
  }
}
