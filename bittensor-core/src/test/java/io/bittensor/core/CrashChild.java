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
 * transactions and seals blocks as fast as it can, printing {@code ACK <hash>} for each
 * transaction whose future completed (so, durable), until it is killed.
 *
 * <p>Arguments: the data directory and a seed.
 */
public final class CrashChild {
  private CrashChild() {}

  /** The genesis every crash run uses. */
  static Genesis genesis() {
    return LedgerFixtures.genesis(new LedgerParams(4, 6, 3, 1, 1), 6);
  }

  /** How every crash run builds its ledger (the parent reopens with the same). */
  static LocalLedger.Builder builder() {
    return LocalLedger.builder()
        .genesis(genesis())
        .mechanism(LedgerContract.mechanism())
        .blocks(BlockPolicy.manual())
        .snapshotEvery(7);
  }

  /** Runs until killed. */
  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    long seed = Long.parseLong(args[1]);
    PrintStream out = new PrintStream(System.out, false, "US-ASCII");
    SplittableRandom random = new SplittableRandom(seed);
    try (LocalLedger ledger = builder().open(dir)) {
      out.println("READY " + ledger.metagraph().block().number());
      out.flush();
      RandomTransactions txs = new RandomTransactions(seed, 8);
      while (true) {
        List<CompletableFuture<Receipt>> accepted = new ArrayList<>();
        int n = 1 + random.nextInt(6);
        for (int i = 0; i < n; i++) {
          CompletableFuture<Receipt> f = ledger.submit(txs.next(ledger));
          if (!f.isCompletedExceptionally()) {
            accepted.add(f);
          }
        }
        ledger.produceBlock();
        for (CompletableFuture<Receipt> f : accepted) {
          out.println("ACK " + f.join().transaction().toHex());
        }
        out.flush();
      }
    }
  }
}
