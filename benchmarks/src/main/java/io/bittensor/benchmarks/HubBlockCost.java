package io.bittensor.benchmarks;

import io.bittensor.core.Block;
import io.bittensor.core.Epoch;
import io.bittensor.core.LedgerListener;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Receipt;
import io.bittensor.core.SignedTransaction;
import io.bittensor.transport.internal.LedgerHub;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * What a ledger server's event hub spends on each block, on the ledger's listener thread (the
 * next block waits for it), and what each block takes of its history: a hub whose clients all
 * take deltas and run epochs themselves ({@code RemoteLedger}'s default), beside the same hub
 * with a client of each kind attached (one that runs epochs, one that takes deltas but does not,
 * one that takes the whole metagraph): it makes every form of every block, which is what every
 * hub did before 2026-12-06, whoever was attached. A market of {@code peers} peers with
 * weight rows of 64, past an epoch; a block in which 41 peers set a row, and an epoch block.
 * The two hubs take turns on the same blocks (medians of 15 after 15 of warm-up); "history" is
 * what one such block keeps in the hub's history, and "blocks held" how many such blocks the
 * default history holds (1,024 events and 64 MiB at most).
 *
 * <pre>
 * mvn -B -q -Pbench -pl benchmarks -am package -DskipTests
 * java -Xmx6g -cp benchmarks/target/benchmarks.jar io.bittensor.benchmarks.HubBlockCost \
 *     [--peers 4096]
 * </pre>
 */
public final class HubBlockCost {
  /** A server's history holds at most this many events by default, and 64 MiB of them. */
  private static final long DEFAULT_EVENTS = 1024;

  private HubBlockCost() {}

  /** One block as the ledger told it, with the metagraph before it. */
  private record Told(Metagraph before, Epoch epoch, Block block, Metagraph after) {}

  /** Runs both cases; see the class comment for the options. */
  public static void main(String[] args) throws Exception {
    int peers = 4096;
    for (int i = 0; i < args.length; i += 2) {
      if (!args[i].equals("--peers")) {
        throw new IllegalArgumentException("unknown option " + args[i]);
      }
      peers = Integer.parseInt(args[i + 1]);
    }
    LedgerWorkload w = new LedgerWorkload(peers, new LedgerParams(100, peers, 0, 1, 0));
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try (LocalLedger ledger = w.builder().openInMemory()) {
      List<List<SignedTransaction>> rows = w.pastFirstEpoch(ledger, pool, 64, 2);
      List<List<SignedTransaction>> some = new ArrayList<>();
      for (int p = 0; p < 41; p++) {
        some.add(List.of(rows.get(p).get(1)));
      }
      Told rowsSet = next(ledger, () -> {
        var fs = LedgerWorkload.submitAll(ledger, some, 2, pool);
        ledger.produceBlock();
        CompletableFuture.allOf(fs.toArray(new CompletableFuture<?>[0])).join();
      });
      while (ledger.metagraph().block().number() % 100 != 99) {
        ledger.produceBlock();
      }
      Told epoch = next(ledger, ledger::produceBlock);
      System.out.printf(
          Locale.ROOT,
          "%d peers, weight rows of 64%n%-22s %-38s %10s %12s %14s %12s%n",
          peers,
          "block",
          "hub",
          "per block",
          "history",
          "64 MiB holds",
          "blocks held");
      for (Told t : List.of(rowsSet, epoch)) {
        measure(ledger, t, t == epoch ? "an epoch block" : "41 rows set");
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /** Runs {@code produce} and returns the one block it sealed as the ledger told it. */
  private static Told next(LocalLedger ledger, ThrowingRunnable produce) throws Exception {
    Metagraph before = ledger.metagraph();
    Epoch[] epoch = {null};
    List<Told> told = new ArrayList<>();
    var subscription = ledger.subscribe(new LedgerListener() {
      @Override
      public void onEpoch(Epoch e, Metagraph after) {
        epoch[0] = e;
      }

      @Override
      public void onBlock(Block block, Metagraph after) {
        told.add(new Told(before, epoch[0], block, after));
      }
    });
    try {
      produce.run();
    } finally {
      subscription.close();
    }
    if (told.size() != 1) {
      throw new IllegalStateException("expected one block, got " + told.size());
    }
    return told.get(0);
  }

  private static void measure(LocalLedger ledger, Told t, String what) throws Exception {
    long maxBytes = 64L << 20;
    try (LedgerHub deltasOnly = new LedgerHub(ledger, 1 << 20, maxBytes, 60_000);
        LedgerHub everyForm = new LedgerHub(ledger, 1 << 20, maxBytes, 60_000)) {
      List<byte[]> ignored = new ArrayList<>();
      LedgerHub.Cursor[] deltaCursors = {deltasOnly.open(0, List.of(), true, true, ignored)};
      LedgerHub.Cursor[] wholeCursors = {everyForm.open(0, List.of(), true, true, ignored),
          everyForm.open(0, List.of(), true, false, ignored),
          everyForm.open(0, List.of(), false, false, ignored)};
      long[][] ns = new long[2][15];
      long[] bytes = new long[2];
      for (int round = -15; round < 15; round++) {
        for (int h = 0; h < 2; h++) {
          LedgerHub hub = h == 0 ? deltasOnly : everyForm;
          LedgerHub.Cursor[] cursors = h == 0 ? deltaCursors : wholeCursors;
          // The block before first, so that the hub knows the metagraph the block changed.
          hub.onBlock(t.before().block(), t.before());
          drain(hub, cursors);
          long t0 = System.nanoTime();
          if (t.epoch() != null) {
            hub.onEpoch(t.epoch(), t.after());
          }
          hub.onBlock(t.block(), t.after());
          long t1 = System.nanoTime();
          long sent = drain(hub, cursors);
          if (round >= 0) {
            ns[h][round] = t1 - t0;
            bytes[h] = sent;
          }
        }
      }
      String[] names = {"clients take deltas, run epochs", "clients of all three kinds"};
      for (int h = 0; h < 2; h++) {
        System.out.printf(Locale.ROOT, "%-22s %-38s %7.1f ms %9.1f kB %14d %12d%n", what, names[h],
            median(ns[h]), bytes[h] / 1e3, maxBytes / bytes[h],
            Math.min(DEFAULT_EVENTS, maxBytes / bytes[h]));
      }
    }
  }

  /** Polls every cursor; returns the bytes they were sent together (each form once). */
  private static long drain(LedgerHub hub, LedgerHub.Cursor[] cursors) {
    long bytes = 0;
    for (LedgerHub.Cursor c : cursors) {
      List<byte[]> out = new ArrayList<>();
      hub.poll(c, out);
      bytes += out.stream().mapToLong(b -> b.length).sum();
    }
    return bytes;
  }

  private static double median(long[] ns) {
    long[] sorted = ns.clone();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2] / 1e6;
  }

  @FunctionalInterface
  private interface ThrowingRunnable {
    void run() throws Exception;
  }
}
