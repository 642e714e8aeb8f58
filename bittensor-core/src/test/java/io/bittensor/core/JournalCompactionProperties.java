package io.bittensor.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.internal.ledger.Journal;
import io.bittensor.core.testing.LedgerFixtures;
import io.bittensor.core.testing.RandomTransactions;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A compacted journal ({@link LocalLedger#compactJournal()}, {@link
 * LocalLedger.Builder#compactAtSnapshots}): the ledger goes on, and reopens, exactly as a twin
 * that keeps every block (the same outcomes, block hashes and state), while its journal stays the
 * size of the state and the blocks since the last snapshot. Each failure names its seed.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class JournalCompactionProperties {
  @TempDir Path tmp;

  static LongStream seeds() {
    return RandomTransactions.seeds(8);
  }

  private static LocalLedger.Builder builder(Genesis genesis) {
    return reopening().genesis(genesis);
  }

  /** A builder that reopens a directory: the genesis and the mechanism are the journal's. */
  private static LocalLedger.Builder reopening() {
    return LocalLedger.builder().clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual());
  }

  /** Feeds both ledgers the same transactions and seals the same blocks; checks the outcomes. */
  private static void feed(LocalLedger a, LocalLedger b, RandomTransactions txs,
      SplittableRandom random, int count, String at) throws LedgerException {
    for (int i = 0; i < count; i++) {
      SignedTransaction tx = txs.next(a);
      CompletableFuture<Receipt> fa = a.submit(tx);
      CompletableFuture<Receipt> fb = b.submit(tx);
      assertEquals(fa.isCompletedExceptionally(), fb.isCompletedExceptionally(),
          at + "the same outcome for " + tx.body());
      if (random.nextInt(3) == 0) {
        assertEquals(a.produceBlock(), b.produceBlock(), at + "the same block");
      }
    }
    assertEquals(a.produceBlock(), b.produceBlock(), at + "the same block");
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void aCompactingLedgerGoesOnAndReopensAsOneThatKeepsEveryBlock(long seed) throws IOException {
    String at = "seed " + seed + ": ";
    SplittableRandom random = new SplittableRandom(seed);
    Genesis genesis = LedgerFixtures.genesis(RandomTransactions.params(seed), 6);
    RandomTransactions txs = new RandomTransactions(seed, 10);
    Path compacting = tmp.resolve("compacting-" + seed);
    Path keeping = tmp.resolve("keeping-" + seed);
    int every = 3 + random.nextInt(5);
    try (LocalLedger twin = builder(genesis).snapshotEvery(every).open(keeping)) {
      try (LocalLedger ledger = builder(genesis).snapshotEvery(every).compactAtSnapshots(true)
          .open(compacting)) {
        feed(ledger, twin, txs, random, 80 + random.nextInt(80), at);
        assertEquals(twin.stateHash(), ledger.stateHash(), at + "the same state");
      }
      Journal.Scan scan = Journal.scan(compacting.resolve(Journal.FILE_NAME), Set.of());
      long last = twin.metagraph().block().number();
      assertEquals(last, scan.lastNumber(), at);
      assertEquals(last - last % every, scan.checkpoint(), at + "checkpoint at the last snapshot");
      assertTrue(last >= 2L * every, at + "several compactions ran");
      // Reopened from the snapshot, then from the checkpoint alone.
      for (boolean withSnapshots : new boolean[] {true, false}) {
        if (!withSnapshots) {
          try (Stream<Path> files = Files.list(compacting)) {
            for (Path f : files.filter(f -> f.getFileName().toString().startsWith("snapshot-"))
                .toList()) {
              Files.delete(f);
            }
          }
        }
        try (LocalLedger reopened = reopening().snapshotEvery(every).compactAtSnapshots(true)
            .open(compacting)) {
          String where = at + (withSnapshots ? "from the snapshot: " : "from the checkpoint: ");
          assertEquals(twin.stateHash(), reopened.stateHash(), where + "state");
          assertEquals(twin.metagraph().block(), reopened.metagraph().block(), where + "block");
          if (!withSnapshots) {
            feed(reopened, twin, txs, random, 30, where);
            assertEquals(twin.stateHash(), reopened.stateHash(), where + "state after");
          }
        }
      }
      try (LocalLedger readOnly = LocalLedger.builder().openReadOnly(compacting)) {
        assertEquals(twin.stateHash(), readOnly.stateHash(), at + "read-only");
      }
    }
  }

  @Test
  void theJournalStaysTheSizeOfTheStateAndTheBlocksSinceTheLastSnapshot() throws IOException {
    Genesis genesis = LedgerFixtures.genesis(RandomTransactions.params(1), 6);
    RandomTransactions txs = new RandomTransactions(1, 10);
    SplittableRandom random = new SplittableRandom(1);
    Path compacting = tmp.resolve("compacting");
    Path keeping = tmp.resolve("keeping");
    List<Long> sizes = new ArrayList<>();
    try (LocalLedger ledger = builder(genesis).snapshotEvery(10).compactAtSnapshots(true)
            .open(compacting);
        LocalLedger twin = builder(genesis).snapshotEvery(10).open(keeping)) {
      for (int round = 0; round < 6; round++) {
        feed(ledger, twin, txs, random, 40, "round " + round + ": ");
        ledger.produceBlocks(100 - (int) (ledger.metagraph().block().number() % 100));
        twin.produceBlocks(100 - (int) (twin.metagraph().block().number() % 100));
        sizes.add(Files.size(compacting.resolve(Journal.FILE_NAME)));
      }
      long kept = Files.size(keeping.resolve(Journal.FILE_NAME));
      long compacted = Files.size(compacting.resolve(Journal.FILE_NAME));
      assertTrue(compacted * 4 < kept, "compacted " + compacted + " bytes, kept " + kept);
      // Every round adds 100 blocks to the kept journal; the compacted one holds the state.
      long spread = sizes.stream().mapToLong(Long::longValue).max().orElseThrow()
          - sizes.stream().mapToLong(Long::longValue).min().orElseThrow();
      assertTrue(spread < compacted, "the compacted journal grew by " + spread + ": " + sizes);
    }
  }

  @Test
  void compactingByHandWorksBetweenBlocksOnly(@TempDir Path dir) throws IOException {
    Genesis genesis = LedgerFixtures.genesis(RandomTransactions.params(2), 6);
    RandomTransactions txs = new RandomTransactions(2, 10);
    Hash256 state;
    Block block;
    try (LocalLedger ledger = builder(genesis).snapshotEvery(0).open(dir)) {
      ledger.compactJournal(); // at genesis: nothing to drop
      assertEquals(0, Journal.scan(dir.resolve(Journal.FILE_NAME), Set.of()).checkpoint());
      for (int i = 0; i < 30; i++) {
        ledger.submit(txs.next(ledger));
        ledger.produceBlock();
      }
      while (ledger.submit(txs.next(ledger)).isCompletedExceptionally()) {
        // until one waits for the next block
      }
      IllegalStateException waiting =
          assertThrows(IllegalStateException.class, ledger::compactJournal);
      assertTrue(waiting.getMessage().contains("between blocks"), waiting.getMessage());
      ledger.produceBlock();
      ledger.compactJournal();
      state = ledger.stateHash();
      block = ledger.metagraph().block();
      ledger.submit(txs.next(ledger));
      ledger.produceBlock(); // appended to the compacted journal
    }
    Journal.Scan scan = Journal.scan(dir.resolve(Journal.FILE_NAME), Set.of());
    assertEquals(block.number(), scan.checkpoint());
    assertEquals(block.number() + 1, scan.lastNumber());
    try (LocalLedger reopened = reopening().open(dir)) {
      assertEquals(block.number() + 1, reopened.metagraph().block().number());
      assertFalse(state.equals(reopened.stateHash()), "the block after the checkpoint replayed");
    }
    try (LocalLedger inMemory = builder(genesis).openInMemory()) {
      assertThrows(IllegalStateException.class, inMemory::compactJournal);
    }
    try (LocalLedger readOnly = LocalLedger.builder().openReadOnly(dir)) {
      assertThrows(IllegalStateException.class, readOnly::compactJournal);
    }
  }

  @Test
  void aTornTailAfterTheCheckpointIsCutAndADamagedCheckpointIsRefused(@TempDir Path dir)
      throws IOException {
    Genesis genesis = LedgerFixtures.genesis(RandomTransactions.params(3), 6);
    RandomTransactions txs = new RandomTransactions(3, 10);
    Path journal = dir.resolve(Journal.FILE_NAME);
    long checkpoint;
    try (LocalLedger ledger = builder(genesis).snapshotEvery(0).open(dir)) {
      for (int i = 0; i < 12; i++) {
        ledger.submit(txs.next(ledger));
        ledger.produceBlock();
      }
      ledger.compactJournal();
      checkpoint = ledger.metagraph().block().number();
      ledger.produceBlocks(3);
    }
    // A crash during a compaction leaves its temporary file: removed at the next open.
    Path leftover = dir.resolve(Journal.FILE_NAME + ".compacting");
    Files.write(leftover, new byte[] {1, 2, 3});
    Journal.Scan scan = Journal.scan(journal, Set.of());
    long lastStart = scan.offsets()[scan.offsets().length - 1];
    try (FileChannel ch = FileChannel.open(journal, StandardOpenOption.WRITE)) {
      ch.truncate(lastStart + 5); // the last block torn
    }
    try (LocalLedger reopened = reopening().open(dir)) {
      assertEquals(checkpoint + 2, reopened.metagraph().block().number(), "the torn block cut");
    }
    assertFalse(Files.exists(leftover), "the leftover of a compaction was removed");
    // One byte of the checkpoint's state flipped, with blocks after it: refused, named.
    long checkpointStart = Journal.scan(journal, Set.of()).offsets()[1];
    byte[] whole = Files.readAllBytes(journal);
    flipByte(journal, checkpointStart + 200);
    LedgerException e = assertThrows(LedgerException.class, () -> reopening().open(dir));
    assertTrue(e.getMessage().contains("the checkpoint"), e.getMessage());
    // Its record header damaged instead: refused, named as the checkpoint (not as block 1).
    Files.write(journal, whole);
    flipByte(journal, checkpointStart + 2);
    e = assertThrows(LedgerException.class, () -> reopening().open(dir));
    assertTrue(e.getMessage().contains("the record header of the checkpoint")
        && !e.getMessage().contains("block 1 "), e.getMessage());
  }

  private static void flipByte(Path file, long at) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ,
        StandardOpenOption.WRITE)) {
      java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1);
      ch.read(b, at);
      b.put(0, (byte) (b.get(0) ^ 0x10)).rewind();
      ch.write(b, at);
    }
  }

  /**
   * A compaction writes its checkpoint whole before the rename, so a crash never tears it: a
   * checkpoint that is the journal's last record and is cut short or fails its checksum is
   * damage, refused, not a torn write to cut (which left the ledger at its genesis state).
   */
  @Test
  void aCheckpointThatIsTheLastRecordIsRefusedWhenCutShortOrDamaged(@TempDir Path dir)
      throws IOException {
    Genesis genesis = LedgerFixtures.genesis(RandomTransactions.params(5), 6);
    RandomTransactions txs = new RandomTransactions(5, 10);
    Path journal = dir.resolve(Journal.FILE_NAME);
    try (LocalLedger ledger = builder(genesis).snapshotEvery(0).open(dir)) {
      for (int i = 0; i < 12; i++) {
        ledger.submit(txs.next(ledger));
        ledger.produceBlock();
      }
      ledger.compactJournal(); // the checkpoint is the last record
    }
    byte[] whole = Files.readAllBytes(journal);
    long checkpointStart = Journal.scan(journal, Set.of()).offsets()[1];
    for (long cut : new long[] {checkpointStart + 5, checkpointStart + 40, whole.length - 1}) {
      Files.write(journal, java.util.Arrays.copyOf(whole, (int) cut));
      LedgerException e = assertThrows(LedgerException.class, () -> reopening().open(dir),
          "cut at " + cut);
      assertTrue(e.getMessage().contains("checkpoint") && e.getMessage().contains(
          journal.toString()), e.getMessage());
      assertThrows(LedgerException.class, () -> LocalLedger.builder().openReadOnly(dir));
      assertEquals(cut, Files.size(journal), "the refused journal is left as it is");
    }
    byte[] flipped = whole.clone();
    flipped[(int) checkpointStart + 200] ^= 0x10;
    Files.write(journal, flipped);
    LedgerException e = assertThrows(LedgerException.class, () -> reopening().open(dir));
    assertTrue(e.getMessage().contains("checkpoint"), e.getMessage());
    Files.write(journal, whole);
    try (LocalLedger reopened = reopening().open(dir)) {
      assertEquals(12, reopened.metagraph().block().number());
    }
  }

  /**
   * A reader beside a ledger that compacts ({@code ledger show --data} beside {@code ledger serve
   * --compact-journal}) reads whichever journal it opened, whole, even when the file is replaced
   * between its steps.
   */
  @Test
  void aReaderBesideACompactingLedgerAlwaysOpensAWholeJournal(@TempDir Path dir)
      throws Exception {
    Genesis genesis = LedgerFixtures.genesis(RandomTransactions.params(4), 6);
    RandomTransactions txs = new RandomTransactions(4, 10);
    try (LocalLedger ledger = builder(genesis).snapshotEvery(0).open(dir)) {
      ledger.produceBlock();
      java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
      List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
      int[] reads = new int[1];
      Thread reader = new Thread(() -> {
        while (!stop.get()) {
          try (LocalLedger readOnly = LocalLedger.builder().openReadOnly(dir)) {
            readOnly.stateHash();
            reads[0]++;
          } catch (Throwable t) {
            failures.add(t);
          }
        }
      });
      reader.start();
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
      int compactions = 0;
      while (System.nanoTime() < end && failures.isEmpty()) {
        for (int i = 0; i < 3; i++) {
          ledger.submit(txs.next(ledger));
          ledger.produceBlock();
        }
        ledger.compactJournal();
        compactions++;
      }
      stop.set(true);
      reader.join();
      assertTrue(failures.isEmpty(), compactions + " compactions, " + reads[0]
          + " reads; the first failure: " + (failures.isEmpty() ? "" : failures.get(0)));
      assertTrue(reads[0] > 10 && compactions > 10, reads[0] + " reads, " + compactions);
    }
  }
}
