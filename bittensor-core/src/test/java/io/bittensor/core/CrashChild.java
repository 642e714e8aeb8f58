package io.bittensor.core;

import io.bittensor.core.testing.LedgerFixtures;
import io.bittensor.core.testing.RandomTransactions;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

/**
 * The process {@link CrashSafetyTest} kills: it opens (or creates) a ledger, then submits random
 * transactions and seals blocks as fast as it can, printing {@code ACK <hash> <block> <signer>
 * <nonce>} for each transaction whose future completed (so, durable), until it is killed.
 *
 * <p>Arguments: the data directory, a seed, and optionally {@code compact} to compact the
 * journal at every snapshot, or {@code archive} to compact it and archive each journal replaced.
 */
public final class CrashChild {
  private CrashChild() {}

  /** The genesis every crash run uses. */
  static Genesis genesis() {
    return LedgerFixtures.genesis(new LedgerParams(4, 6, 3, 1, 1), 6);
  }

  /** How every crash run builds its ledger (the parent reopens with the same). */
  static LocalLedger.Builder builder() {
    return builder(false);
  }

  /** The same, compacting the journal at every snapshot when {@code compact}. */
  static LocalLedger.Builder builder(boolean compact) {
    return builder(compact, false);
  }

  /** The same, keeping each journal a compaction replaces when {@code archive} too. */
  static LocalLedger.Builder builder(boolean compact, boolean archive) {
    return LocalLedger.builder()
        .genesis(genesis())
        .mechanism(LedgerContract.mechanism())
        .blocks(BlockPolicy.manual())
        .snapshotEvery(7)
        .compactAtSnapshots(compact)
        .archiveCompacted(archive);
  }

  /** Runs until killed. */
  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    long seed = Long.parseLong(args[1]);
    PrintStream out = new PrintStream(System.out, false, "US-ASCII");
    SplittableRandom random = new SplittableRandom(seed);
    String mode = args.length > 2 ? args[2] : "keep";
    boolean archive = mode.equals("archive");
    try (LocalLedger ledger = builder(archive || mode.equals("compact"), archive).open(dir)) {
      out.println("READY " + ledger.metagraph().block().number());
      out.flush();
      RandomTransactions txs = new RandomTransactions(seed, 8);
      while (true) {
        List<SignedTransaction> accepted = new ArrayList<>();
        List<CompletableFuture<Receipt>> receipts = new ArrayList<>();
        int n = 1 + random.nextInt(6);
        for (int i = 0; i < n; i++) {
          SignedTransaction tx = txs.next(ledger);
          CompletableFuture<Receipt> f = ledger.submit(tx);
          if (!f.isCompletedExceptionally()) {
            accepted.add(tx);
            receipts.add(f);
          }
        }
        ledger.produceBlock();
        for (int i = 0; i < accepted.size(); i++) {
          Receipt r = receipts.get(i).join();
          SignedTransaction tx = accepted.get(i);
          out.println("ACK " + r.transaction().toHex() + " " + r.block() + " "
              + tx.signer().toHex() + " " + tx.nonce());
        }
        out.flush();
      }
    }
  }
}
