package io.bittensor.benchmarks;

import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Ledger;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Receipt;
import io.bittensor.core.SignedTransaction;
import io.bittensor.raft.RaftLedger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
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
 * What replication costs: the same {@value #TRANSACTIONS} pre-signed set-weights transactions
 * (64 peers, 16 rows each, 64 weights a row) submitted from {@code threads} threads and awaited
 * until every one is acknowledged, by the ledger a single machine would run ({@code local}: a
 * {@link LocalLedger} journaled on disk, a block every 5 ms, one fsync a block) and by a group of
 * three {@link RaftLedger} members on loopback in this JVM ({@code raft3}: the leader seals every
 * 5 ms, each member forces its Raft log, the transactions go to a member that does not lead), and
 * by the same group with every member keeping its blocks ({@code raft3-kept}: each also journals
 * and forces every block, {@link RaftLedger.Builder#keepBlocks}).
 * A fresh ledger (or group) for every invocation; setting it up is not timed.
 *
 * <pre>
 * mvn -B -q -Pbench -pl benchmarks -am package -DskipTests
 * java -jar benchmarks/target/benchmarks.jar ReplicatedLedgerBenchmark
 * </pre>
 *
 * <p>Scores are microseconds per transaction. The three members share this machine's cores and
 * talk over loopback; between machines each submission also waits for the network's round trip.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 7)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class ReplicatedLedgerBenchmark {
  static final int TRANSACTIONS = LedgerSubmitBenchmark.TRANSACTIONS;

  /** Submitting threads. */
  @Param({"1", "8"})
  public int threads;

  /**
   * {@code local}: one LocalLedger on disk; {@code raft3}: three RaftLedger members; {@code
   * raft3-kept}: three that keep their blocks.
   */
  @Param({"local", "raft3", "raft3-kept"})
  public String ledger;

  /**
   * How often the members snapshot their state, in blocks (the builder's default, 1000, which
   * these short runs never reach; 10 runs them the way a long-lived group runs, past snapshots).
   */
  @Param({"1000"})
  public int raftSnapshotEvery;

  private LedgerWorkload workload;
  private List<List<SignedTransaction>> registrations;
  private List<List<SignedTransaction>> weights;
  /** The same rows for {@code submitAll}, in the order it takes them (not timed). */
  private List<SignedTransaction> inOrder;
  private ExecutorService pool;
  private final List<AutoCloseable> open = new ArrayList<>();
  private Ledger target;
  private Path dir;

  @Setup(Level.Trial)
  public void signEverything() throws Exception {
    pool = Executors.newFixedThreadPool(Math.max(2, threads));
    workload = LedgerSubmitBenchmark.workload();
    registrations = workload.registrations(pool);
    weights = workload.weights(pool, LedgerSubmitBenchmark.PER_ROW, LedgerSubmitBenchmark.ROWS);
    inOrder = LedgerWorkload.inNonceOrder(weights);
  }

  @Setup(Level.Invocation)
  public void freshLedger() throws Exception {
    dir = Files.createTempDirectory("replicated-bench");
    if (ledger.equals("local")) {
      LocalLedger l = workload.builder().snapshotEvery(0)
          .blocks(BlockPolicy.every(Duration.ofMillis(5))).open(dir);
      open.add(l);
      target = l;
    } else {
      target = group();
    }
    List<CompletableFuture<Receipt>> fs =
        LedgerWorkload.submitAll(target, registrations, threads, pool);
    CompletableFuture.allOf(fs.toArray(new CompletableFuture<?>[0])).get(60, TimeUnit.SECONDS);
  }

  /** Three members; returns one that does not lead, once the group has a leader. */
  private RaftLedger group() throws Exception {
    return LedgerWorkload.raftGroup(workload.genesis, dir, b -> b
            .clock(Clock.fixed(LedgerWorkload.GENESIS_TIME, ZoneOffset.UTC))
            .blocks(BlockPolicy.every(Duration.ofMillis(5)))
            .keepBlocks(ledger.equals("raft3-kept"))
            .snapshotEvery(raftSnapshotEvery),
        m -> m.leader().isPresent() && !m.isLeader(), open);
  }

  @Benchmark
  @OperationsPerInvocation(TRANSACTIONS)
  public int submitAndAwaitAcknowledgement() throws Exception {
    List<CompletableFuture<Receipt>> fs =
        LedgerWorkload.submitAll(target, weights, threads, pool);
    CompletableFuture.allOf(fs.toArray(new CompletableFuture<?>[0])).join();
    return fs.size();
  }

  /**
   * Every transaction in one {@code submitAll} call, each key's rows in nonce order: what a
   * relay or a wallet service sends at once ({@code threads} does not apply).
   */
  @Benchmark
  @OperationsPerInvocation(TRANSACTIONS)
  public int submitAllInOneCall() {
    List<CompletableFuture<Receipt>> fs = target.submitAll(inOrder);
    CompletableFuture.allOf(fs.toArray(new CompletableFuture<?>[0])).join();
    return fs.size();
  }

  @TearDown(Level.Invocation)
  public void closeLedger() throws Exception {
    List<Thread> closing = new ArrayList<>();
    for (AutoCloseable c : open) {
      Thread t = new Thread(() -> {
        try {
          c.close();
        } catch (Exception ignored) {
          // A benchmark's teardown: the next invocation starts from a new folder anyway.
        }
      });
      t.start();
      closing.add(t);
    }
    for (Thread t : closing) {
      t.join();
    }
    open.clear();
    LedgerWorkload.deleteTree(dir);
    dir = null;
  }

  @TearDown(Level.Trial)
  public void stopPool() {
    pool.shutdownNow();
  }
}
