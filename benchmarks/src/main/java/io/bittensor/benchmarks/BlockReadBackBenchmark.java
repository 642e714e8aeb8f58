package io.bittensor.benchmarks;

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
 * What does a ledger server pay to send a returning client the blocks it missed, read back from
 * the journal ({@link LocalLedger#readBlocks}), next to what a reader pays for the latest state
 * alone (opening the ledger read-only, as {@code ledger show --data} does, which checks every
 * record of the journal)? The chain: a weight row from each of 64 peers every 100 blocks,
 * snapshots every 1000, the last 500 blocks after the last snapshot. The client missed the last
 * {@code missed} blocks. Reading them finds its place through the journal's sparse index, loads
 * the snapshot before them and replays from there, so its cost should not grow with the chain.
 *
 * <pre>
 * mvn -B -q -Pbench -pl benchmarks -am package -DskipTests
 * java -jar benchmarks/target/benchmarks.jar BlockReadBackBenchmark
 * </pre>
 *
 * <p>Scores are milliseconds per read (files in the page cache: the CPU's part).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5)
@Measurement(iterations = 15)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class BlockReadBackBenchmark {
  /** Blocks in the chain, the last 500 after the last snapshot. */
  @Param({"10500", "100500"})
  public int blocks;

  /** Blocks the client missed, at the end of the chain. */
  @Param({"100", "1000"})
  public int missed;

  private static final int PEERS = 64;
  private static final int ROWS_EVERY = 100;

  private Path root;
  private LocalLedger ledger;

  @Setup(Level.Trial)
  public void buildTheChain() throws Exception {
    root = Files.createTempDirectory("block-read-back-bench");
    Path dir = root.resolve("ledger");
    LedgerWorkload w = new LedgerWorkload(PEERS, new LedgerParams(100, 4096, 200, 1, 0));
    ledger = w.builder().open(dir);
    w.sealChain(blocks, ROWS_EVERY, blocks / ROWS_EVERY, List.of(ledger));
  }

  @TearDown(Level.Trial)
  public void deleteTheChain() throws IOException {
    ledger.close();
    LedgerWorkload.deleteTree(root);
  }

  /** The missed blocks, each with its transactions and the metagraph after it. */
  @Benchmark
  public long readMissedBlocks() throws IOException {
    long[] peers = {0};
    ledger.readBlocks(blocks - missed + 1, blocks, r -> {
      peers[0] += r.after().size();
      return true;
    });
    return peers[0];
  }

  /** The latest state alone, as a reader in another process gets it. */
  @Benchmark
  public long openReadOnly() throws IOException {
    try (LocalLedger reader = LocalLedger.builder().openReadOnly(root.resolve("ledger"))) {
      return reader.metagraph().size();
    }
  }
}
