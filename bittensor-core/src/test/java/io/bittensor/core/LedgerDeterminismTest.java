package io.bittensor.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.testing.LedgerFixtures;
import io.bittensor.core.testing.RandomTransactions;
import io.bittensor.core.internal.ledger.Snapshots;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The same transactions in the same blocks give the same state, bit for bit: on a second
 * ledger fed them, on reopening from a snapshot, and on replaying the journal from genesis.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LedgerDeterminismTest {
  private static final long SEED = 20260101;

  @TempDir Path dir;

  private static LocalLedger.Builder builder(Genesis genesis) {
    return LocalLedger.builder().genesis(genesis).mechanism(LedgerContract.mechanism())
        .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual());
  }

  @Test
  void theSameTransactionsGiveTheSameStateHashOnAnotherLedgerAndOnReplay() throws IOException {
    Genesis genesis = LedgerFixtures.genesis(new LedgerParams(3, 6, 2, 1, 1), 6);
    Path a = dir.resolve("a");
    List<List<SignedTransaction>> blocks = new ArrayList<>();
    List<Hash256> hashes = new ArrayList<>();
    List<Hash256> blockHashes = new ArrayList<>();
    Hash256 last;
    try (LocalLedger ledger = builder(genesis).snapshotEvery(5).open(a)) {
      RandomTransactions txs = new RandomTransactions(SEED, 8);
      SplittableRandom random = new SplittableRandom(SEED);
      List<SignedTransaction> block = new ArrayList<>();
      for (int i = 0; i < 160; i++) {
        SignedTransaction tx = txs.next(ledger);
        CompletableFuture<Receipt> f = ledger.submit(tx);
        if (!f.isCompletedExceptionally()) {
          block.add(tx);
        }
        if (random.nextInt(3) == 0) {
          blockHashes.add(ledger.produceBlock().hash());
          blocks.add(block);
          block = new ArrayList<>();
          hashes.add(ledger.stateHash());
        }
      }
      assertTrue(ledger.metagraph().lastEpoch().isPresent(), "epochs ran");
      blockHashes.add(ledger.produceBlock().hash());
      blocks.add(block);
      last = ledger.stateHash();
      hashes.add(last);
    }
    assertFalse(Snapshots.list(a).isEmpty(), "snapshots were written");

    try (LocalLedger twin = builder(genesis).openInMemory()) {
      for (int b = 0; b < blocks.size(); b++) {
        List<CompletableFuture<Receipt>> fs = new ArrayList<>();
        for (SignedTransaction tx : blocks.get(b)) {
          fs.add(twin.submit(tx));
        }
        Block sealed = twin.produceBlock();
        fs.forEach(CompletableFuture::join);
        assertEquals(blockHashes.get(b), sealed.hash(), "block " + sealed.number());
        assertEquals(hashes.get(b), twin.stateHash(), "state after block " + sealed.number());
      }
    }

    try (LocalLedger reopened = builder(genesis).open(a)) {
      assertEquals(last, reopened.stateHash(), "reopened from the newest snapshot");
    }
    Path journalOnly = dir.resolve("journal-only");
    Files.createDirectories(journalOnly);
    Files.copy(a.resolve("journal.btl"), journalOnly.resolve("journal.btl"));
    try (LocalLedger replayed = LocalLedger.builder().mechanism(LedgerContract.mechanism())
        .blocks(BlockPolicy.manual()).open(journalOnly)) {
      assertEquals(last, replayed.stateHash(), "replayed from genesis");
    }
  }
}
