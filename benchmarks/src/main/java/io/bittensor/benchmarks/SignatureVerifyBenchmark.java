package io.bittensor.benchmarks;

import io.bittensor.core.SignedTransaction;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
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
 * The baseline of {@link LedgerSubmitBenchmark}: how fast can this JVM verify the Ed25519
 * signatures of the same {@value LedgerSubmitBenchmark#TRANSACTIONS} set-weights transactions
 * on the same number of threads, and do nothing else? ({@link SignedTransaction#verifySignature()}
 * is Ed25519 verification ({@code PeerId.verify}) over the domain tag and the encoding, exactly
 * what the ledger calls.) Scores are microseconds per transaction.
 *
 * <pre>
 * java -jar benchmarks/target/benchmarks.jar "LedgerSubmitBenchmark|SignatureVerifyBenchmark"
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 7)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class SignatureVerifyBenchmark {
  /** Verifying threads. */
  @Param({"1", "2"})
  public int threads;

  private List<SignedTransaction> txs;
  private ExecutorService pool;

  @Setup
  public void signEverything() throws Exception {
    pool = Executors.newFixedThreadPool(Math.max(2, threads));
    LedgerWorkload w = LedgerSubmitBenchmark.workload();
    txs = new ArrayList<>();
    w.weights(pool, LedgerSubmitBenchmark.PER_ROW, LedgerSubmitBenchmark.ROWS)
        .forEach(txs::addAll);
  }

  @Benchmark
  @OperationsPerInvocation(LedgerSubmitBenchmark.TRANSACTIONS)
  public int verifyAll() throws Exception {
    List<Future<Integer>> parts = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int first = t;
      parts.add(pool.submit(() -> {
        int ok = 0;
        for (int i = first; i < txs.size(); i += threads) {
          if (txs.get(i).verifySignature()) {
            ok++;
          }
        }
        return ok;
      }));
    }
    int ok = 0;
    for (Future<Integer> p : parts) {
      ok += p.get();
    }
    if (ok != txs.size()) {
      throw new IllegalStateException("only " + ok + " signatures verified");
    }
    return ok;
  }

  @TearDown
  public void stopPool() {
    pool.shutdownNow();
  }
}
