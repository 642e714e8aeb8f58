package io.bittensor.benchmarks;

import io.bittensor.core.Hash256;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.TransactionRejectedException;
import io.bittensor.core.internal.ledger.BlockCodec;
import io.bittensor.core.internal.ledger.LedgerState;
import java.util.ArrayList;
import java.util.List;
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
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What does a set-weights transaction cost the ledger apart from verifying its signature? The
 * same {@value LedgerSubmitBenchmark#TRANSACTIONS} transactions as {@link LedgerSubmitBenchmark},
 * validated and applied to the ledger's state machine on one thread, and sealed into blocks of
 * 64 (the block's encoding, its SHA-256 and the metagraph's copy of the state): everything the
 * ledger does for a transaction but the signature check and the fsync. Set beside {@link
 * SignatureVerifyBenchmark}, it says how much of a submission is verification, a figure far
 * steadier on a shared machine than the end-to-end ratio.
 *
 * <pre>
 * java -jar benchmarks/target/benchmarks.jar "LedgerOverheadBenchmark|SignatureVerifyBenchmark" \
 *     -p threads=1
 * </pre>
 *
 * <p>Scores are microseconds per transaction. Uses the ledger's internal classes: a
 * measurement, not an example.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 10)
@Measurement(iterations = 20)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class LedgerOverheadBenchmark {
  private LedgerWorkload workload;
  private List<List<SignedTransaction>> registrations;
  private List<SignedTransaction> weights;
  private LedgerState state;

  @Setup(Level.Trial)
  public void signEverything() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      workload = LedgerSubmitBenchmark.workload();
      registrations = workload.registrations(pool);
      List<List<SignedTransaction>> perKey = workload.weights(pool,
          LedgerSubmitBenchmark.PER_ROW, LedgerSubmitBenchmark.ROWS);
      weights = new ArrayList<>();
      for (int round = 0; round < LedgerSubmitBenchmark.ROWS; round++) {
        for (List<SignedTransaction> txs : perKey) {
          weights.add(txs.get(round));
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Setup(Level.Invocation)
  public void freshState() {
    state = LedgerState.genesis(workload.genesis, workload.chainId);
    for (List<SignedTransaction> txs : registrations) {
      for (SignedTransaction tx : txs) {
        require(state.tryApply(tx, 1));
      }
    }
    state.sealed(1, Hash256.ZERO);
  }

  @Benchmark
  @OperationsPerInvocation(LedgerSubmitBenchmark.TRANSACTIONS)
  public Object applyAndSeal() {
    long block = state.height() + 1;
    List<SignedTransaction> batch = new ArrayList<>(64);
    Object last = null;
    for (SignedTransaction tx : weights) {
      require(state.tryApply(tx, block));
      batch.add(tx);
      if (batch.size() == 64) {
        byte[] payload = BlockCodec.encodeBlock(block, state.lastHash(), 0, batch, null);
        Hash256 hash = Hash256.of(payload);
        state.sealed(block, hash);
        last = state.view();
        batch.clear();
        block++;
      }
    }
    return last;
  }

  private static void require(TransactionRejectedException r) {
    if (r != null) {
      throw new IllegalStateException("a benchmark transaction was rejected", r);
    }
  }
}
