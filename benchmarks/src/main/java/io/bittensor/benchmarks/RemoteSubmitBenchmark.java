package io.bittensor.benchmarks;

import io.bittensor.core.LocalLedger;
import io.bittensor.core.Receipt;
import io.bittensor.core.SignedTransaction;
import io.bittensor.transport.LedgerServer;
import io.bittensor.transport.RemoteLedger;
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
 * Sending many transactions to a ledger server: the same
 * {@value LedgerSubmitBenchmark#TRANSACTIONS} pre-signed set-weights transactions as
 * {@link LedgerSubmitBenchmark} (64 weights a row),
 * through one {@link RemoteLedger} to a {@link LedgerServer} on loopback over a fresh
 * {@link LocalLedger} on disk (a block every 5 ms), until every receipt is back: one at a time
 * ({@code submit}, from {@code threads} threads: what a client had), or in one call
 * ({@code submitAll}: one signed request and one round trip per 1024).
 *
 * <pre>
 * java -jar benchmarks/target/benchmarks.jar RemoteSubmitBenchmark
 * </pre>
 *
 * <p>Scores are microseconds per transaction, sent to acknowledged.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5)
@Measurement(iterations = 10)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class RemoteSubmitBenchmark {
  /** Threads calling {@code submit}; {@code submitAll} is one call from one thread. */
  @Param({"1", "8"})
  public int threads;

  private LedgerWorkload workload;
  private List<List<SignedTransaction>> registrations;
  private List<List<SignedTransaction>> weights;
  private List<SignedTransaction> inOrder;
  private ExecutorService pool;
  private ServedLedger served;

  @Setup(Level.Trial)
  public void signEverything() throws Exception {
    pool = Executors.newFixedThreadPool(Math.max(2, threads));
    workload = LedgerSubmitBenchmark.workload();
    registrations = workload.registrations(pool);
    weights = workload.weights(pool, LedgerSubmitBenchmark.PER_ROW, LedgerSubmitBenchmark.ROWS);
    inOrder = LedgerWorkload.inNonceOrder(weights);
  }

  @Setup(Level.Invocation)
  public void freshServer() throws Exception {
    served = ServedLedger.start(workload, registrations, pool, b -> b);
  }

  /** {@code submit}, each transaction its own signed request, from {@code threads} threads. */
  @Benchmark
  @OperationsPerInvocation(LedgerSubmitBenchmark.TRANSACTIONS)
  public int oneAtATime() throws Exception {
    List<CompletableFuture<Receipt>> fs =
        LedgerWorkload.submitAll(served.remote, weights, threads, pool);
    CompletableFuture.allOf(fs.toArray(new CompletableFuture<?>[0])).join();
    return fs.size();
  }

  /** {@code submitAll}: every transaction in one call (and one request). */
  @Benchmark
  @OperationsPerInvocation(LedgerSubmitBenchmark.TRANSACTIONS)
  public int allInOneCall() {
    List<CompletableFuture<Receipt>> fs = served.remote.submitAll(inOrder);
    CompletableFuture.allOf(fs.toArray(new CompletableFuture<?>[0])).join();
    return fs.size();
  }

  @TearDown(Level.Invocation)
  public void closeServer() throws Exception {
    served.close();
  }

  @TearDown(Level.Trial)
  public void stop() {
    pool.shutdownNow();
  }
}
