package io.bittensor.benchmarks;

import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Receipt;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.internal.ledger.BlockCodec;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.transport.internal.LedgerWire;
import io.bittensor.transport.internal.MetagraphDeltas;
import io.bittensor.transport.internal.wire.MetagraphDelta;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * What a ledger server sends each client that follows it, for one block: the whole metagraph
 * (what clients that do not ask for deltas get, and what every client got before) beside the
 * block's delta ({@code MetagraphDelta}). A market of {@code peers} peers, each with a weight
 * row of 64, past an epoch (so bonds exist); then one block in which {@code rows} of them set a
 * new row, and two epoch blocks, one of them also setting the largest number of rows, whose
 * deltas are also measured to the state the epoch ran on (for
 * a client that runs the epoch itself with the chain's mechanism: its "applied" time includes
 * that and the check of the server's digest, its "delta made" time the digest). Prints the
 * bytes of each, and the time to make the delta, to apply it, to encode the whole and to decode
 * it (medians of 15 after 30 of warm-up).
 *
 * <pre>
 * mvn -B -q -Pbench -pl benchmarks -am package -DskipTests
 * java -Xmx6g -cp benchmarks/target/benchmarks.jar io.bittensor.benchmarks.EventDeltaSize \
 *     [--peers 4096] [--rows 1,41,410]
 * </pre>
 */
public final class EventDeltaSize {
  private EventDeltaSize() {}

  /** Runs each case; see the class comment for the options. */
  public static void main(String[] args) throws Exception {
    int peers = 4096;
    int[] rowCounts = {1, 41, 410};
    for (int i = 0; i < args.length; i += 2) {
      switch (args[i]) {
        case "--peers" -> peers = Integer.parseInt(args[i + 1]);
        case "--rows" -> rowCounts =
            Arrays.stream(args[i + 1].split(",")).mapToInt(Integer::parseInt).toArray();
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    LedgerWorkload w = new LedgerWorkload(peers, new LedgerParams(100, peers, 0, 1, 0));
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try (LocalLedger ledger = w.builder().openInMemory()) {
      List<List<SignedTransaction>> rows = w.pastFirstEpoch(ledger, pool, 64, 2 + rowCounts.length);
      System.out.printf(
          Locale.ROOT,
          "%d peers, weight rows of 64%n%-26s %12s %10s %9s %13s %12s %13s %14s%n",
          peers,
          "block",
          "whole",
          "delta",
          "smaller",
          "delta made",
          "applied",
          "whole encoded",
          "whole decoded");
      int[] nextRow = new int[peers]; // each peer's rows are signed with consecutive nonces
      Arrays.fill(nextRow, 1);
      for (int c = 0; c < rowCounts.length; c++) {
        List<List<SignedTransaction>> some = new ArrayList<>();
        for (int p = 0; p < rowCounts[c]; p++) {
          some.add(List.of(rows.get(p).get(nextRow[p]++)));
        }
        Metagraph before = ledger.metagraph();
        List<CompletableFuture<Receipt>> fs = LedgerWorkload.submitAll(ledger, some, 2, pool);
        ledger.produceBlock();
        CompletableFuture.allOf(fs.toArray(new CompletableFuture<?>[0])).join();
        report(rowCounts[c] + " rows set", before, ledger.metagraph(), null);
      }
      while (ledger.metagraph().block().number() % 100 != 99) {
        ledger.produceBlock();
      }
      Metagraph before = ledger.metagraph();
      ledger.produceBlock();
      report("an epoch block", before, ledger.metagraph(), null);
      IncentiveMechanism chains = BlockCodec.decode(ledger.genesisBlock()).paperParams()
          .map(IncentiveMechanism::paper).orElseThrow();
      report("... the epoch replayed", before, ledger.metagraph(), chains);
      // The next epoch block, in a busy market: the largest number of rows also set in it.
      while (ledger.metagraph().block().number() % 100 != 99) {
        ledger.produceBlock();
      }
      int busy = rowCounts[rowCounts.length - 1];
      List<List<SignedTransaction>> some = new ArrayList<>();
      for (int p = 0; p < busy; p++) {
        some.add(List.of(rows.get(p).get(nextRow[p]++)));
      }
      before = ledger.metagraph();
      List<CompletableFuture<Receipt>> fs = LedgerWorkload.submitAll(ledger, some, 2, pool);
      ledger.produceBlock();
      CompletableFuture.allOf(fs.toArray(new CompletableFuture<?>[0])).join();
      report("an epoch block, " + busy + " rows", before, ledger.metagraph(), null);
      report("... the epoch replayed", before, ledger.metagraph(), chains);
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * @param replay the chain's mechanism, to measure the delta to the state an epoch ran on; null
   *     for the delta as it is
   */
  private static void report(String what, Metagraph before, Metagraph after,
      IncentiveMechanism replay) {
    // The server makes the delta from its own metagraphs; the client applies it to the block
    // before as the wire gave it.
    Metagraph held = LedgerWire.fromWire(LedgerWire.toWire(before));
    long[][] ns = new long[4][15];
    MetagraphDelta delta = null;
    io.bittensor.transport.internal.wire.Metagraph whole = null;
    for (int round = -30; round < 15; round++) {
      long t0 = System.nanoTime();
      delta = replay == null ? MetagraphDeltas.between(before, after)
          : MetagraphDeltas.forEpochReplay(before, after);
      long t1 = System.nanoTime();
      Metagraph applied = MetagraphDeltas.apply(held, delta, after.block(), replay);
      long t2 = System.nanoTime();
      whole = LedgerWire.toWire(after);
      long t3 = System.nanoTime();
      LedgerWire.fromWire(whole);
      long t4 = System.nanoTime();
      if (applied.size() != after.size()) {
        throw new IllegalStateException("the delta did not apply");
      }
      if (round >= 0) {
        ns[0][round] = t1 - t0;
        ns[1][round] = t2 - t1;
        ns[2][round] = t3 - t2;
        ns[3][round] = t4 - t3;
      }
    }
    if (!LedgerWire.toWire(MetagraphDeltas.apply(held, delta, after.block(), replay))
        .equals(whole)) {
      throw new IllegalStateException("the delta applied is not the block's metagraph");
    }
    System.out.printf(
        Locale.ROOT,
        "%-26s %9.3f MB %7.3f MB %8.1fx %10.1f ms %9.1f ms %10.1f ms %11.1f ms%n",
        what,
        whole.getSerializedSize() / 1e6,
        delta.getSerializedSize() / 1e6,
        (double) whole.getSerializedSize() / delta.getSerializedSize(),
        median(ns[0]),
        median(ns[1]),
        median(ns[2]),
        median(ns[3]));
  }

  private static double median(long[] ns) {
    long[] sorted = ns.clone();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2] / 1e6;
  }
}
