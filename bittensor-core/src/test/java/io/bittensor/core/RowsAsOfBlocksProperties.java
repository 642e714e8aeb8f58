package io.bittensor.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.testing.LedgerFixtures;
import io.bittensor.core.testing.RandomTransactions;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Rows made as of a block, over random registrations that keep taking uids over: a row that
 * lands keeps exactly its entries for peers registered by that block, in the proportions signed;
 * one that would keep fewer than the peg asks is refused and says so. Each failure names its
 * seed.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RowsAsOfBlocksProperties {
  private static final int KEYS = 10;
  private static final int STEPS = 300;

  static LongStream seeds() {
    return RandomTransactions.seeds(12);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void aRowKeepsItsEntriesForPeersRegisteredByItsBlock(long seed) throws LedgerException {
    String at = "seed " + seed + ": ";
    SplittableRandom random = new SplittableRandom(seed);
    // Four uids, no immunity, a peg of 2 and no epoch in the run: uids are taken over while rows
    // are in flight, and a row of two can lose one.
    Genesis genesis = LedgerFixtures.genesis(new LedgerParams(10_000, 4, 0, 2, 0), KEYS);
    int dropped = 0;
    int landed = 0;
    int refusedTooFew = 0;
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis)
        .mechanism(LedgerContract.mechanism()).clock(LedgerFixtures.fixedClock())
        .blocks(BlockPolicy.manual()).openInMemory()) {
      for (int step = 0; step < STEPS; step++) {
        Metagraph now = ledger.metagraph();
        Keypair key = LedgerFixtures.key(random.nextInt(KEYS));
        if (now.uid(key.id()).isEmpty() || now.size() < 3) {
          ledger.submit(key, Transaction.register(LedgerFixtures.endpoint(step), Modality.TEXT));
          ledger.produceBlock(); // one transaction a block: the sealed metagraph is the state
          continue;
        }
        // A row read from the latest metagraph or one up to four blocks older, naming peers of
        // the latest (which an older one may have held other keys at).
        long asOf = Math.max(0, now.block().number() - random.nextInt(5));
        int[] uids = random.ints(0, now.size()).distinct().limit(1 + random.nextInt(now.size()))
            .toArray();
        double[] w = random.doubles(uids.length, 0.1, 1).toArray();
        Transaction.SetWeights row = Transaction.setWeights(uids, w, asOf);
        CompletableFuture<Receipt> f = ledger.submit(key, row);
        ledger.produceBlock();
        int kept = 0;
        double keptSum = 0;
        for (int k = 0; k < uids.length; k++) {
          if (now.registeredAt(uids[k]) <= asOf) {
            kept++;
            keptSum += w[k];
          }
        }
        if (kept < 2) {
          String why = message(f);
          // A row that lost nothing is refused as any short row is.
          assertTrue(why.endsWith(kept < uids.length ? "the row keeps " + kept + " of its "
              + uids.length + " non-zero weights, the others naming uids taken over by peers"
              + " registered after block " + asOf + ", the block it was made as of; the"
              + " consensus peg requires at least 2"
              : "the row has " + uids.length + " non-zero weights; the consensus peg requires"
              + " at least 2"), at + why);
          refusedTooFew += kept < uids.length ? 1 : 0;
          continue;
        }
        f.join();
        Metagraph m = ledger.metagraph();
        int signer = m.uid(key.id()).getAsInt();
        for (int k = 0; k < uids.length; k++) {
          double stored = m.weights().get(signer, uids[k]);
          if (now.registeredAt(uids[k]) > asOf) {
            assertEquals(0.0, stored, at + "uid " + uids[k] + " was taken over after block "
                + asOf + ": " + row);
            dropped++;
          } else {
            assertEquals(w[k] / keptSum, stored, 1e-12, at + "uid " + uids[k] + ": " + row);
          }
        }
        landed++;
      }
    }
    assertTrue(landed >= 10, at + "only " + landed + " rows landed");
    assertTrue(dropped > 0, at + "no row lost an entry to a replacement");
    assertTrue(refusedTooFew > 0, at + "no row was refused for keeping too few entries");
  }

  private static String message(CompletableFuture<Receipt> f) {
    try {
      f.join();
      throw new AssertionError("expected a refusal");
    } catch (CompletionException e) {
      return e.getCause().getMessage();
    }
  }
}
