package io.bittensor.benchmarks;

import io.bittensor.core.ChainAudit;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What does auditing a chain cost ({@link ChainAudit}: replaying it from its genesis block,
 * every signature checked again), next to what opening it costs a reader that trusts the
 * journal (a snapshot and the blocks after it)? One chain of 10,500 blocks: 64 peers, a weight
 * row from each every 100 blocks (6,720 signed transactions in all), an epoch every 100 blocks.
 *
 * <pre>
 * mvn -B -q -Pbench -pl benchmarks -am package -DskipTests
 * java -jar benchmarks/target/benchmarks.jar ChainAuditBenchmark
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 8)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class ChainAuditBenchmark {
  private static final int BLOCKS = 10_500;

  private Path root;
  private LocalLedger ledger;

  @Setup(Level.Trial)
  public void buildTheChain() throws Exception {
    root = Files.createTempDirectory("chain-audit-bench");
    LedgerWorkload w = new LedgerWorkload(64, new LedgerParams(100, 4096, 200, 1, 0));
    ledger = w.builder().open(root.resolve("ledger"));
    w.sealChain(BLOCKS, 100, BLOCKS / 100, List.of(ledger));
  }

  @TearDown(Level.Trial)
  public void deleteTheChain() throws IOException {
    ledger.close();
    LedgerWorkload.deleteTree(root);
  }

  /** The whole chain replayed from genesis and checked, block by block. */
  @Benchmark
  public long audit() throws IOException {
    return ChainAudit.verify(ledger.chainId(), ledger, Long.MAX_VALUE).last().number();
  }

  /** The latest state, as a reader that trusts the journal gets it. */
  @Benchmark
  public long openReadOnly() throws IOException {
    try (LocalLedger reader = LocalLedger.builder().openReadOnly(root.resolve("ledger"))) {
      return reader.metagraph().block().number();
    }
  }
}
