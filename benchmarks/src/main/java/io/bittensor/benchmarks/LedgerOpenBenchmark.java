package io.bittensor.benchmarks;

import io.bittensor.core.BlockPolicy;
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
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * How long does reopening a ledger take once its chain is long, with the journal kept whole
 * (the default) and compacted at every snapshot ({@code compactAtSnapshots})? Both directories
 * hold the same chain: {@code blocks} blocks sealed every so often with a weight row from each of
 * 64 peers, snapshots every 1000 blocks, the last 500 blocks after the last snapshot. Opening
 * checks every record of the journal (checksums and the hash chain), loads the newest snapshot
 * and replays the blocks after it; the compacted journal holds only those.
 *
 * <pre>
 * mvn -B -q -Pbench -pl benchmarks -am package -DskipTests
 * java -jar benchmarks/target/benchmarks.jar LedgerOpenBenchmark
 * </pre>
 *
 * <p>Scores are milliseconds per open (and close). The files are in the page cache: this is
 * the CPU's part, not the disk's.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5)
@Measurement(iterations = 15)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class LedgerOpenBenchmark {
  /** Blocks in the chain, before the last 500. */
  @Param({"10000", "100000"})
  public int blocks;

  private static final int PEERS = 64;
  /** A weight row from every peer every this many blocks. */
  private static final int ROWS_EVERY = 100;

  private Path root;
  private Path kept;
  private Path compacted;

  @Setup(Level.Trial)
  public void buildTheChain() throws Exception {
    root = Files.createTempDirectory("ledger-open-bench");
    kept = root.resolve("kept");
    compacted = root.resolve("compacted");
    LedgerWorkload w = new LedgerWorkload(PEERS, new LedgerParams(100, 4096, 200, 1, 0));
    try (LocalLedger a = w.builder().open(kept);
        LocalLedger b = w.builder().compactAtSnapshots(true).open(compacted)) {
      w.sealChain(blocks + 500, ROWS_EVERY, blocks / ROWS_EVERY, List.of(a, b));
    }
    System.err.printf("%n%d blocks: journal kept %,d bytes, compacted %,d bytes%n", blocks,
        Files.size(kept.resolve("journal.btl")), Files.size(compacted.resolve("journal.btl")));
  }

  @TearDown(Level.Trial)
  public void deleteTheChain() throws IOException {
    LedgerWorkload.deleteTree(root);
  }

  private static long reopen(Path dir) throws IOException {
    try (LocalLedger l = LocalLedger.builder().blocks(BlockPolicy.manual()).open(dir)) {
      return l.metagraph().block().number();
    }
  }

  @Benchmark
  public long kept() throws IOException {
    return reopen(kept);
  }

  @Benchmark
  public long compacted() throws IOException {
    return reopen(compacted);
  }
}
