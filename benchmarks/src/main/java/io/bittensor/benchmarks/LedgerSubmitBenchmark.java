package io.bittensor.benchmarks;

import io.bittensor.core.BlockPolicy;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Receipt;
import io.bittensor.core.SignedTransaction;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * How many signed set-weights transactions does a {@link LocalLedger} accept and acknowledge per
 * second, and how close is that to the Ed25519 verification it cannot avoid? Each invocation
 * submits {@value #TRANSACTIONS} pre-signed set-weights transactions (64 peers, 16 rows each,
 * 64 weights a row) from {@code threads} submitting threads to a fresh ledger that seals a block
 * every 5 ms (journal on disk with one fsync per block, or in memory), and waits until every one
 * is acknowledged. {@link SignatureVerifyBenchmark} verifies the same transactions' signatures
 * on the same number of threads: the ratio of the two is the ledger's overhead over
 * verification.
 *
 * <pre>
 * mvn -B -q -pl benchmarks -am package -DskipTests
 * java -jar benchmarks/target/benchmarks.jar "LedgerSubmitBenchmark|SignatureVerifyBenchmark"
 * </pre>
 *
 * <p>{@code rows=asOfBlock} makes every row as of the block the registrations ended in (as a
 * {@code Neuron} does, with its metagraph's block): the ledger then checks each entry's peer
 * against it and keeps every entry, where {@code rows=plain} rows name no block.
 *
 * <pre>
 * java -jar benchmarks/target/benchmarks.jar LedgerSubmitBenchmark -p journal=memory -p threads=1
 * </pre>
 *
 * <p>Scores are microseconds per transaction: transactions per second is 10^6 divided by it.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 7)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class LedgerSubmitBenchmark {
  static final int PEERS = 64;
  static final int ROWS = 16;
  static final int PER_ROW = 64;
  static final int TRANSACTIONS = PEERS * ROWS;

  /** Submitting threads (and verifying threads in the baseline). */
  @Param({"1", "2"})
  public int threads;

  /** {@code disk}: the journal in a temporary directory, fsync'ed per block; or {@code memory}. */
  @Param({"disk", "memory"})
  public String journal;

  /** {@code plain}: rows with no block; {@code asOfBlock}: rows made as of a block. */
  @Param({"plain", "asOfBlock"})
  public String rows;

  private LedgerWorkload workload;
  private List<List<SignedTransaction>> registrations;
  private List<List<SignedTransaction>> weights;
  /** Rows made as of each block the registrations ended in, signed once. */
  private final Map<Long, List<List<SignedTransaction>>> asOf = new HashMap<>();
  private ExecutorService pool;
  private LocalLedger ledger;
  private Path dir;

  /** Workload shared with {@link SignatureVerifyBenchmark}. */
  static LedgerWorkload workload() {
    return new LedgerWorkload(PEERS,
        new LedgerParams(1_000_000, PEERS, 0, 1, 0));
  }

  @Setup(Level.Trial)
  public void signEverything() throws Exception {
    pool = Executors.newFixedThreadPool(Math.max(2, threads));
    workload = workload();
    registrations = workload.registrations(pool);
    weights = workload.weights(pool, PER_ROW, ROWS);
  }

  @Setup(Level.Invocation)
  public void freshLedger() throws Exception {
    // Blocks come every 5 ms whatever is pending: all that arrived meanwhile share one fsync.
    LocalLedger.Builder b = workload.builder().snapshotEvery(0)
        .blocks(BlockPolicy.every(Duration.ofMillis(5)));
    if (journal.equals("disk")) {
      dir = Files.createTempDirectory("ledger-bench");
      ledger = b.open(dir);
    } else {
      ledger = b.openInMemory();
    }
    LedgerWorkload.register(ledger, registrations, pool, threads);
    if (rows.equals("asOfBlock")) {
      // Signed again only when the registrations end in another block than the last time.
      long registered = ledger.metagraph().block().number();
      weights = asOf.computeIfAbsent(registered, block -> {
        try {
          return workload.weights(pool, PER_ROW, ROWS, block);
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
    }
  }

  @Benchmark
  @OperationsPerInvocation(TRANSACTIONS)
  public int submitAndAwaitAcknowledgement() throws Exception {
    List<CompletableFuture<Receipt>> fs =
        LedgerWorkload.submitAll(ledger, weights, threads, pool);
    CompletableFuture.allOf(fs.toArray(new CompletableFuture<?>[0])).join();
    return fs.size();
  }

  @TearDown(Level.Invocation)
  public void closeLedger() throws Exception {
    ledger.close();
    LedgerWorkload.deleteTree(dir);
    dir = null;
  }

  @TearDown(Level.Trial)
  public void stopPool() {
    pool.shutdownNow();
  }
}
