package io.bittensor.benchmarks;

import io.bittensor.cli.internal.MetricsEndpoint;
import io.bittensor.cli.internal.SubmissionLog;
import io.bittensor.core.Hash256;
import io.bittensor.core.Keypair;
import io.bittensor.core.Receipt;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Transaction;
import io.bittensor.transport.SubmissionEvent;
import io.bittensor.transport.SubmissionListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
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
 * What a ledger server's {@code SubmissionListener} costs each transaction, alone, on the ledger's
 * sealing thread, where it runs once per transaction of the block: the CLI's
 * {@code --metrics-port} counter (a tagged counter looked up and incremented) beside its
 * {@code --submission-log} (the line of a sealed set-weights transaction, one write to a file on
 * disk) and the same line written to {@code /dev/null}. Nanoseconds per transaction;
 * {@link SubmissionLogCost} runs the whole path, client to receipt, with each.
 *
 * <pre>
 * java -jar benchmarks/target/benchmarks.jar SubmissionListenerCost
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class SubmissionListenerCost {
  private MetricsEndpoint metrics;
  private SubmissionListener counter;
  private Path logDir;
  private SubmissionLog logToFile;
  private SubmissionLog logToNull;
  private SubmissionEvent sealed;

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    metrics = MetricsEndpoint.start("127.0.0.1", 0);
    counter = metrics.submissions();
    logDir = Files.createTempDirectory("submission-listener-cost");
    logToFile = SubmissionLog.open(logDir.resolve("submissions.jsonl"));
    logToNull = SubmissionLog.open(Path.of("/dev/null"));
    Keypair signer = Keypair.fromSeed(new byte[32]);
    int[] uids = new int[64];
    double[] weights = new double[64];
    for (int i = 0; i < uids.length; i++) {
      uids[i] = i;
      weights[i] = 1.0 / uids.length;
    }
    SignedTransaction tx = SignedTransaction.sign(signer, Hash256.ZERO, 41,
        Transaction.setWeights(uids, weights));
    sealed = new SubmissionEvent(Optional.of(tx), Optional.empty(), Optional.empty(),
        Optional.of(new Receipt(tx.hash(), 1207, 3)), Optional.of(signer.id()), Optional.empty());
  }

  /** {@code --metrics-port}: the counter by kind and outcome. */
  @Benchmark
  public SubmissionEvent metricsCounter() {
    counter.submitted(sealed);
    return sealed;
  }

  /** {@code --submission-log}: the line, one write to a file. */
  @Benchmark
  public SubmissionEvent submissionLogToFile() {
    logToFile.submitted(sealed);
    return sealed;
  }

  /** The same line and write, to {@code /dev/null}: what is not the disk's. */
  @Benchmark
  public SubmissionEvent submissionLogToDevNull() {
    logToNull.submitted(sealed);
    return sealed;
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    metrics.close();
    logToFile.close();
    logToNull.close();
    LedgerWorkload.deleteTree(logDir);
  }
}
