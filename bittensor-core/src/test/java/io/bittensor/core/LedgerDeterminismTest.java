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
    sameStateEverywhere(LedgerFixtures.genesis(new LedgerParams(3, 6, 2, 1, 1), 6),
        new RandomTransactions(SEED, 8));
  }

  /** Rows made as of earlier blocks, entries dropped where uids were taken over since. */
  @Test
  void rowsMadeAsOfEarlierBlocksReplayToTheSameState() throws IOException {
    sameStateEverywhere(LedgerFixtures.genesis(new LedgerParams(3, 4, 1, 1, 0), 6),
        new RandomTransactions(SEED + 1, 8).withRowsAsOfBlocks());
  }

  /**
   * With a registration burn and cap from genesis and random changes of both: burned tokens
   * and the per-block count replay to the same state, from a snapshot, from genesis and from a
   * compacted journal.
   */
  @Test
  void registrationRulesReplayToTheSameState() throws IOException {
    Genesis genesis = LedgerFixtures.genesis(new LedgerParams(3, 6, 2, 1, 1)
        .withRegistrationBurn(150_000).withMaxRegistrationsPerBlock(2), 6);
    Hash256 last = sameStateEverywhere(genesis,
        new RandomTransactions(SEED, 8).withRegistrationRules());
    long minted = minted(dir.resolve("a"));
    Path compacted = dir.resolve("compacted");
    Files.createDirectories(compacted);
    Files.copy(dir.resolve("a").resolve("journal.btl"), compacted.resolve("journal.btl"));
    try (LocalLedger l = builder(genesis).open(compacted)) {
      l.compactJournal();
      long[] audit = l.tokenAudit();
      assertEquals(audit[0], audit[1], "balances and stakes hold the supply");
      assertTrue(audit[1] < genesis.supply() + minted, "registrations burned tokens: supply "
          + audit[1] + ", genesis " + genesis.supply() + ", minted " + minted);
      assertEquals(audit[1], l.metagraph().supply(), "the metagraph's supply");
    }
    try (LocalLedger l = builder(genesis).open(compacted)) {
      assertEquals(last, l.stateHash(), "reopened from the compacted journal's checkpoint");
    }
  }

  /** Everything the epochs of the ledger in {@code data} minted, read back from its blocks. */
  private static long minted(Path data) throws IOException {
    long[] minted = {0};
    try (LocalLedger l = LocalLedger.builder().mechanism(LedgerContract.mechanism())
        .openReadOnly(data)) {
      l.readBlocks(1, Long.MAX_VALUE, r -> {
        r.epoch().ifPresent(e -> minted[0] += e.minted());
        return true;
      });
    }
    return minted[0];
  }

  private Hash256 sameStateEverywhere(Genesis genesis, RandomTransactions txs)
      throws IOException {
    Path a = dir.resolve("a");
    List<List<SignedTransaction>> blocks = new ArrayList<>();
    List<Hash256> hashes = new ArrayList<>();
    List<Hash256> blockHashes = new ArrayList<>();
    Hash256 last;
    try (LocalLedger ledger = builder(genesis).snapshotEvery(5).open(a)) {
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
    return last;
  }
}
