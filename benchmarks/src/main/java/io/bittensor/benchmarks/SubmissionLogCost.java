package io.bittensor.benchmarks;

import io.bittensor.cli.internal.AccessLog;
import io.bittensor.cli.internal.MetricsEndpoint;
import io.bittensor.cli.internal.SubmissionLog;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Receipt;
import io.bittensor.core.SignedTransaction;
import io.bittensor.transport.LedgerRequestListener;
import io.bittensor.transport.LedgerServer;
import io.bittensor.transport.RemoteLedger;
import io.bittensor.transport.SubmissionListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * What the CLI's {@code ledger serve --submission-log} costs a ledger server: the same
 * {@value LedgerSubmitBenchmark#TRANSACTIONS} pre-signed set-weights transactions as
 * {@link LedgerSubmitBenchmark} (64 weights a row), sent by {@code threads} threads through one
 * {@link RemoteLedger} to a {@link LedgerServer} on loopback over a fresh {@link LocalLedger} on
 * disk (a block every 5 ms, one fsync each), until every receipt is back; the server hears each
 * transaction with no listener (the baseline), with the metrics of {@code --metrics-port} (the
 * submissions counter and the requests timer), or with both logs, {@code --submission-log} and
 * {@code --access-log} (a line of JSON each, one write to a file on disk). The submission
 * listener runs on the ledger's sealing thread, once per transaction of the block, the request
 * listener on the server's: this is where their writes would show.
 *
 * <pre>
 * java -jar benchmarks/target/benchmarks.jar SubmissionLogCost
 * </pre>
 *
 * <p>Scores are microseconds per transaction, sent to sealed and acknowledged.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5)
@Measurement(iterations = 10)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class SubmissionLogCost {
  /** Threads submitting through the one client. */
  @Param({"2", "8"})
  public int threads;

  /** What the server's listeners are: none, the metrics', the two logs. */
  @Param({"none", "metrics", "logs"})
  public String listener;

  private LedgerWorkload workload;
  private List<List<SignedTransaction>> registrations;
  private List<List<SignedTransaction>> weights;
  private ExecutorService pool;
  private MetricsEndpoint metrics;
  private Path logDir;
  private SubmissionLog log;
  private AccessLog accessLog;
  private ServedLedger served;

  @Setup(Level.Trial)
  public void signEverything() throws Exception {
    pool = Executors.newFixedThreadPool(Math.max(2, threads));
    workload = LedgerSubmitBenchmark.workload();
    registrations = workload.registrations(pool);
    weights = workload.weights(pool, LedgerSubmitBenchmark.PER_ROW, LedgerSubmitBenchmark.ROWS);
    logDir = Files.createTempDirectory("submission-log-cost");
    if (listener.equals("metrics")) {
      metrics = MetricsEndpoint.start("127.0.0.1", 0);
    } else if (listener.equals("logs")) {
      log = SubmissionLog.open(logDir.resolve("submissions.jsonl"));
      accessLog = AccessLog.open(logDir.resolve("requests.jsonl"));
    }
  }

  @Setup(Level.Invocation)
  public void freshServer() throws Exception {
    SubmissionListener heard = metrics != null ? metrics.submissions()
        : log != null ? log : SubmissionListener.NONE;
    LedgerRequestListener requests = metrics != null ? metrics.ledgerRequests()
        : accessLog != null ? accessLog : LedgerRequestListener.NONE;
    served = ServedLedger.start(workload, registrations, pool,
        b -> b.submissionListener(heard).requestListener(requests));
  }

  @Benchmark
  @OperationsPerInvocation(LedgerSubmitBenchmark.TRANSACTIONS)
  public int submitThroughTheServerAndAwaitReceipts() throws Exception {
    List<CompletableFuture<Receipt>> fs =
        LedgerWorkload.submitAll(served.remote, weights, threads, pool);
    CompletableFuture.allOf(fs.toArray(new CompletableFuture<?>[0])).join();
    return fs.size();
  }

  @TearDown(Level.Invocation)
  public void closeServer() throws Exception {
    served.close();
  }

  @TearDown(Level.Trial)
  public void stop() throws IOException {
    pool.shutdownNow();
    if (metrics != null) {
      metrics.close();
    }
    if (log != null) {
      log.close();
      accessLog.close();
    }
    LedgerWorkload.deleteTree(logDir);
  }
}
