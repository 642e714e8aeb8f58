package io.bittensor.benchmarks;

import io.bittensor.core.AuditedLedger;
import io.bittensor.core.Block;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerListener;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.SignedTransaction;
import io.bittensor.transport.LedgerServer;
import io.bittensor.transport.RemoteLedger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
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
 * What following a ledger server audited costs ({@link AuditedLedger}: each block read back and
 * replayed before a listener hears of it) next to following it as a plain {@link RemoteLedger}:
 * the time from sealing a block (8 signed weight rows of 32 uids, 64 peers, an epoch every 100
 * blocks) on a {@link LocalLedger} on disk behind a {@link LedgerServer} on loopback until the
 * client's listener has heard it, per block.
 *
 * <pre>
 * mvn -B -q -Pbench -pl benchmarks -am package -DskipTests
 * java -jar benchmarks/target/benchmarks.jar AuditedLedgerBenchmark
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 8)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class AuditedLedgerBenchmark {
  private static final int BLOCKS = 100;
  private static final int ROWS_PER_BLOCK = 8;

  /** {@code plain}: a RemoteLedger's listener; {@code audited}: an AuditedLedger's over it. */
  @Param({"plain", "audited"})
  public String client;

  private Path root;
  private LocalLedger ledger;
  private LedgerServer server;
  private Ledger follower;
  private List<List<SignedTransaction>> rows;
  private int nextRow;
  private final AtomicLong heard = new AtomicLong();

  @Setup(Level.Trial)
  public void serveAndFollow() throws Exception {
    root = Files.createTempDirectory("audited-ledger-bench");
    LedgerWorkload w = new LedgerWorkload(64, new LedgerParams(100, 4096, 200, 1, 0));
    ledger = w.builder().open(root.resolve("ledger"));
    w.sealChain(1, 1000, 0, List.of(ledger)); // the registrations
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      // Enough rows for every block of the warm-up and measured iterations.
      rows = w.weights(pool, 32, 11 * BLOCKS * ROWS_PER_BLOCK / 64 + 1);
    } finally {
      pool.shutdownNow();
    }
    server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0).start();
    RemoteLedger remote = RemoteLedger.connect(server.uri());
    follower = client.equals("audited") ? AuditedLedger.over(remote, w.chainId) : remote;
    follower.subscribe(new LedgerListener() {
      @Override
      public void onBlock(Block block, Metagraph after) {
        heard.set(block.number());
      }
    });
  }

  /** Seals {@value #BLOCKS} blocks, each heard by the client before the next is sealed. */
  @Benchmark
  @OperationsPerInvocation(BLOCKS)
  public long sealAndHear() throws Exception {
    long last = 0;
    for (int b = 0; b < BLOCKS; b++) {
      for (int r = 0; r < ROWS_PER_BLOCK; r++) {
        int row = nextRow++;
        ledger.submit(rows.get(row % 64).get(row / 64));
      }
      last = ledger.produceBlock().number();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (heard.get() < last) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("block " + last + " never heard");
        }
        LockSupport.parkNanos(5_000);
      }
    }
    return last;
  }

  @TearDown(Level.Trial)
  public void stop() throws Exception {
    follower.close();
    server.close();
    ledger.close();
    LedgerWorkload.deleteTree(root);
  }
}
