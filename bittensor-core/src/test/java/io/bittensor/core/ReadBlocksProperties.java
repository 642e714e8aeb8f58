package io.bittensor.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.internal.ledger.Journal;
import io.bittensor.core.testing.LedgerFixtures;
import io.bittensor.core.testing.RandomTransactions;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link LocalLedger#readBlocks}: any range of blocks read back from the journal is what the
 * ledger's listeners heard when the blocks were sealed (the block, its epoch, the metagraph after
 * it) with the transactions it accepted, whether the state is replayed from a snapshot or from
 * genesis, by the writer or a reader, while blocks are still being sealed. Failures name the seed.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ReadBlocksProperties {
  @TempDir Path tmp;

  static LongStream seeds() {
    return RandomTransactions.seeds(8);
  }

  private static LocalLedger.Builder builder(Genesis genesis) {
    return LocalLedger.builder().genesis(genesis).clock(LedgerFixtures.fixedClock())
        .blocks(BlockPolicy.manual());
  }

  /** One seed's generators: the failure prefix, a random source, a genesis, transactions. */
  private record Seeded(String at, SplittableRandom random, Genesis genesis,
      RandomTransactions txs) {
    Seeded(long seed) {
      this("seed " + seed + ": ", new SplittableRandom(seed),
          LedgerFixtures.genesis(RandomTransactions.params(seed), 6),
          new RandomTransactions(seed, 10));
    }
  }

  /** Reopens a directory: the genesis and the mechanism are the journal's. */
  private static LocalLedger.Builder reopening() {
    return LocalLedger.builder().clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual());
  }

  /** What a listener heard of one block: all of it, as text that compares exactly. */
  private static String heard(Block block, Optional<Epoch> epoch, Metagraph after) {
    StringBuilder s = new StringBuilder()
        .append(block).append('\n')
        .append(epoch).append('\n')
        .append(after.block()).append(' ').append(after.params()).append(' ')
        .append(after.supply()).append(' ').append(after.lastEpoch()).append('\n')
        .append(after.peers()).append('\n')
        .append(Arrays.deepToString(after.weights().toArray())).append('\n')
        .append(Arrays.deepToString(after.bonds().toArray()));
    return s.toString();
  }

  /** Records each block as its listeners hear it, and the transactions each block accepted. */
  private static final class Recorder implements LedgerListener {
    final Map<Long, String> blocks = new ConcurrentHashMap<>();
    private volatile Epoch epoch;

    @Override
    public void onEpoch(Epoch e, Metagraph after) {
      epoch = e;
    }

    @Override
    public void onBlock(Block block, Metagraph after) {
      Epoch e = epoch;
      Optional<Epoch> mine = e != null && e.block() == block.number()
          ? Optional.of(e) : Optional.empty();
      blocks.put(block.number(), heard(block, mine, after));
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void anyRangeReadsBackAsItWasSealed(long seed) throws IOException {
    Seeded run = new Seeded(seed);
    String at = run.at();
    SplittableRandom random = run.random();
    Genesis genesis = run.genesis();
    RandomTransactions txs = run.txs();
    Path dir = tmp.resolve("ledger-" + seed);
    int every = 3 + random.nextInt(8);
    Recorder recorder = new Recorder();
    Map<Long, List<Hash256>> accepted = new ConcurrentHashMap<>();
    try (LocalLedger ledger = builder(genesis).snapshotEvery(every).open(dir)) {
      ledger.subscribe(recorder);
      feed(ledger, txs, random, accepted);
      long last = ledger.produceBlock().number();
      assertTrue(Files.list(dir).anyMatch(f -> f.getFileName().toString()
          .startsWith("snapshot-")), at + "snapshots were written");

      for (int round = 0; round < 6; round++) {
        long from = 1 + random.nextLong(last);
        long to = from + random.nextLong(last - from + 3); // may pass the latest block
        String where = at + "blocks " + from + " to " + to + ": ";
        List<Long> seen = new ArrayList<>();
        long reached = ledger.readBlocks(from, to, r -> {
          long n = r.block().number();
          seen.add(n);
          assertEquals(recorder.blocks.get(n), heard(r.block(), r.epoch(), r.after()),
              where + "block " + n + " as its listeners heard it");
          List<Hash256> want = accepted.getOrDefault(n, List.of());
          assertEquals(want, r.transactions().stream().map(SignedTransaction::hash).toList(),
              where + "block " + n + "'s transactions");
          for (Receipt receipt : r.receipts()) {
            assertEquals(n, receipt.block(), where);
            assertEquals(want.get(receipt.index()), receipt.transaction(), where);
          }
          return true;
        });
        long end = Math.min(to, last);
        assertEquals(end, reached, where + "the last block read");
        assertEquals(LongStream.rangeClosed(from, end).boxed().toList(), seen, where + "in order");
      }

      // A reader in another process's place reads the same, and so does it from genesis alone.
      long from = 1 + random.nextLong(last);
      List<String> byWriter = readAll(ledger, from);
      try (LocalLedger reader = LocalLedger.builder().openReadOnly(dir)) {
        assertEquals(byWriter, readAll(reader, from), at + "a reader reads what the writer does");
      }
      try (Stream<Path> files = Files.list(dir)) {
        for (Path f : files.filter(f -> f.getFileName().toString().startsWith("snapshot-"))
            .toList()) {
          Files.delete(f);
        }
      }
      assertEquals(byWriter, readAll(ledger, from), at + "replayed from genesis, the same");
    }
  }

  /**
   * Seeded transactions and blocks, with a long run of empty blocks in the middle (so that reads
   * cross several of the journal index's strides); records which block took which.
   */
  private static void feed(LocalLedger ledger, RandomTransactions txs, SplittableRandom random,
      Map<Long, List<Hash256>> accepted) throws LedgerException {
    int count = 60 + random.nextInt(60);
    for (int i = 0; i < count; i++) {
      SignedTransaction tx = txs.next(ledger);
      ledger.submit(tx).thenAccept(r -> accepted
          .computeIfAbsent(r.block(), k -> Collections.synchronizedList(new ArrayList<>()))
          .add(r.index(), tx.hash()));
      if (random.nextInt(3) == 0) {
        ledger.produceBlocks(1 + random.nextInt(3));
      }
      if (i == count / 2) {
        ledger.produceBlocks(70 + random.nextInt(130));
      }
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void aCompactingLedgerReadsTheBlocksAfterItsCheckpoint(long seed) throws IOException {
    Seeded run = new Seeded(seed);
    String at = run.at();
    SplittableRandom random = run.random();
    Genesis genesis = run.genesis();
    RandomTransactions txs = run.txs();
    Path dir = tmp.resolve("compacting-" + seed);
    int every = 70 + random.nextInt(50);
    Recorder recorder = new Recorder();
    try (LocalLedger ledger = builder(genesis).snapshotEvery(every).compactAtSnapshots(true)
        .open(dir)) {
      ledger.subscribe(recorder);
      feed(ledger, txs, random, new ConcurrentHashMap<>());
      long last = pastAStride(ledger, every);
      long checkpoint = last - last % every;
      assertTrue(checkpoint >= every, at + "compacted at least once");
      for (int round = 0; round < 4; round++) {
        long from = checkpoint + 1 + random.nextLong(last - checkpoint);
        List<String> read = new ArrayList<>();
        assertEquals(last, ledger.readBlocks(from, last, r -> read.add(heard(r.block(),
            r.epoch(), r.after()))), at);
        assertEquals(LongStream.rangeClosed(from, last).mapToObj(recorder.blocks::get).toList(),
            read, at + "blocks " + from + " on, after the checkpoint at " + checkpoint);
      }
      long before = 1 + random.nextLong(checkpoint);
      LedgerException e = assertThrows(LedgerException.class,
          () -> ledger.readBlocks(before, last, r -> true));
      assertTrue(e.getMessage().contains("compacted at block " + checkpoint), at + e.getMessage());
      // More blocks, and the next compaction, while the index follows.
      feed(ledger, txs, random, new ConcurrentHashMap<>());
      long end = pastAStride(ledger, every);
      long from = end - end % every + 1;
      List<String> read = new ArrayList<>();
      ledger.readBlocks(from, end, r -> read.add(heard(r.block(), r.epoch(), r.after())));
      assertEquals(LongStream.rangeClosed(from, end).mapToObj(recorder.blocks::get).toList(),
          read, at + "after the next compactions");
      try (LocalLedger reader = LocalLedger.builder().openReadOnly(dir)) {
        assertEquals(readAll(ledger, from), readAll(reader, from), at + "a reader reads the same");
      }
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void anArchivingLedgerReadsEveryBlockFromGenesisAcrossItsCompactions(long seed)
      throws IOException {
    Seeded run = new Seeded(seed);
    String at = run.at();
    SplittableRandom random = run.random();
    Genesis genesis = run.genesis();
    RandomTransactions txs = run.txs();
    Path dir = tmp.resolve("archiving-" + seed);
    int every = 10 + random.nextInt(70);
    Recorder recorder = new Recorder();
    try (LocalLedger ledger = builder(genesis).snapshotEvery(every).compactAtSnapshots(true)
        .archiveCompacted(true).open(dir)) {
      ledger.subscribe(recorder);
      feed(ledger, txs, random, new ConcurrentHashMap<>());
      long last = ledger.produceBlocks(1 + random.nextInt(every)).number();
      if (random.nextBoolean()) {
        ledger.compactJournal(); // by hand too: an archive that ends between snapshots
        last = ledger.produceBlocks(1 + random.nextInt(5)).number();
      }
      long archives;
      try (Stream<Path> files = Files.list(dir.resolve("archive"))) {
        archives = files.count();
      }
      assertTrue(archives >= 2, at + "several archived journals: " + archives);
      for (int round = 0; round < 4; round++) {
        long from = round == 0 ? 1 : 1 + random.nextLong(last);
        List<String> read = new ArrayList<>();
        assertEquals(last, ledger.readBlocks(from, last, r -> read.add(heard(r.block(),
            r.epoch(), r.after()))), at);
        assertEquals(LongStream.rangeClosed(from, last).mapToObj(recorder.blocks::get).toList(),
            read, at + "blocks " + from + " to " + last + " across the archive");
      }
    }
    // Bodies alone, read straight from the journals: the same blocks and transactions.
    try (LocalLedger reader = LocalLedger.builder().openReadOnly(dir)) {
      long last = reader.metagraph().block().number();
      for (int round = 0; round < 4; round++) {
        long from = round == 0 ? 1 : 1 + random.nextLong(last);
        long to = from + random.nextLong(last - from + 1);
        List<BlockBody> full = new ArrayList<>();
        reader.readBlocks(from, to, r -> full.add(new BlockBody(r.block(), r.transactions())));
        List<BlockBody> bodies = new ArrayList<>();
        assertEquals(to, reader.readBlockBodies(from, to, bodies::add), at);
        assertEquals(full, bodies, at + "bodies " + from + " to " + to);
      }
    }
    // Reopened, and read-only: the same.
    try (LocalLedger reopened = reopening().archiveCompacted(true).open(dir)) {
      assertEquals(readAll(reopened, 1).size(), recorder.blocks.size(), at + "reopened");
      try (LocalLedger reader = LocalLedger.builder().openReadOnly(dir)) {
        assertEquals(readAll(reopened, 1), readAll(reader, 1), at + "read-only");
      }
    }
  }

  @Test
  void aCrashBetweenArchivingAndTheRenameLosesNoBlock() throws IOException {
    Genesis genesis = LedgerFixtures.genesis(LedgerFixtures.params(8), 2);
    Path dir = tmp.resolve("crash");
    Path journal = dir.resolve("journal.btl");
    Path pending = dir.resolve("archive").resolve("pending.btl");
    Recorder recorder = new Recorder();
    try (LocalLedger ledger = builder(genesis).open(dir)) {
      ledger.subscribe(recorder);
      ledger.produceBlocks(9);
      // As if the process died after naming the journal for the archive, before the rename.
      Files.createDirectories(pending.getParent());
      Files.createLink(pending, journal);
    }
    try (LocalLedger ledger = reopening().archiveCompacted(true).open(dir)) {
      assertTrue(Files.notExists(pending), "still the live journal: the second name is dropped");
      ledger.subscribe(recorder);
      ledger.produceBlocks(3);
      // As if it died after the rename, before the archived journal was named.
      Files.createLink(pending, journal);
      ledger.compactJournal(); // this ledger archives: it drops the stale name, links anew
    }
    try (Stream<Path> files = Files.list(dir.resolve("archive"))) {
      assertEquals(List.of("journal-00000000000000000001-00000000000000000012.btl"),
          files.map(f -> f.getFileName().toString()).sorted().toList());
    }
    try (LocalLedger ledger = reopening().open(dir)) {
      ledger.subscribe(recorder);
      ledger.produceBlocks(2);
      // Died after the rename: pending names the old journal, which opening names for it.
      Files.createLink(pending, journal);
      ledger.compactJournal(); // this ledger does not archive: the rename leaves pending behind
    }
    try (LocalLedger reader = LocalLedger.builder().openReadOnly(dir)) {
      List<String> read = new ArrayList<>();
      reader.readBlocks(1, 14, r -> read.add(heard(r.block(), r.epoch(), r.after())));
      assertEquals(LongStream.rangeClosed(1, 14).mapToObj(recorder.blocks::get).toList(), read,
          "a reader before the writer reopens reads the pending journal as archived");
    }
    try (LocalLedger ledger = reopening().open(dir)) {
      assertTrue(Files.notExists(pending));
      List<String> read = new ArrayList<>();
      ledger.readBlocks(1, 14, r -> read.add(heard(r.block(), r.epoch(), r.after())));
      assertEquals(LongStream.rangeClosed(1, 14).mapToObj(recorder.blocks::get).toList(), read,
          "every block, from genesis, across both archived journals");
    }
  }

  /** A damaged archived journal fails the read, naming it, and leaves no other file open. */
  @Test
  void aDamagedArchivedJournalFailsTheReadAndLeavesNoFileOpen() throws IOException {
    Assumptions.assumeTrue(Files.isDirectory(Path.of("/proc/self/fd")), "needs /proc/self/fd");
    Genesis genesis = LedgerFixtures.genesis(LedgerFixtures.params(8), 2);
    Path dir = tmp.resolve("damaged-archive");
    try (LocalLedger ledger = builder(genesis).archiveCompacted(true).open(dir)) {
      for (int i = 0; i < 3; i++) {
        ledger.produceBlocks(3);
        ledger.compactJournal();
      }
      Path archive = dir.resolve("archive").toRealPath();
      Path newest = archive.resolve("journal-00000000000000000007-00000000000000000009.btl");
      Files.write(newest, new byte[] {'n', 'o', 't', ' ', 'a', ' ', 'j', 'o', 'u', 'r', 'n', 'a',
          'l', '!', '!', '!'});
      for (int i = 0; i < 3; i++) {
        LedgerException e = assertThrows(LedgerException.class,
            () -> ledger.readBlocks(1, Long.MAX_VALUE, r -> true));
        assertTrue(e.getMessage().contains(newest.getFileName().toString()), e.getMessage());
      }
      assertEquals(List.of(), openFilesUnder(archive), "the archived journals read are closed");
    }
  }

  /**
   * A compaction at the block the journal was last compacted at (by hand right after a snapshot's)
   * drops nothing, so it archives nothing: an archived journal of no blocks would share its first
   * block with the next one, and the read could take either.
   */
  @Test
  void aSecondCompactionAtTheSameBlockArchivesNothing() throws IOException {
    Genesis genesis = LedgerFixtures.genesis(LedgerFixtures.params(8), 2);
    Path dir = tmp.resolve("twice");
    Recorder recorder = new Recorder();
    try (LocalLedger ledger = builder(genesis).snapshotEvery(3).compactAtSnapshots(true)
        .archiveCompacted(true).open(dir)) {
      ledger.subscribe(recorder);
      ledger.produceBlocks(3); // compacted at block 3's snapshot
      ledger.compactJournal();
      ledger.compactJournal();
      ledger.produceBlocks(4);
      try (Stream<Path> files = Files.list(dir.resolve("archive"))) {
        assertEquals(List.of("journal-00000000000000000001-00000000000000000003.btl",
            "journal-00000000000000000004-00000000000000000006.btl"),
            files.map(f -> f.getFileName().toString()).sorted().toList());
      }
      List<String> read = new ArrayList<>();
      ledger.readBlocks(1, 7, r -> read.add(heard(r.block(), r.epoch(), r.after())));
      assertEquals(LongStream.rangeClosed(1, 7).mapToObj(recorder.blocks::get).toList(), read);
    }
  }

  /** A block of an archived journal that does not replay is named with that journal's file. */
  @Test
  void aBlockOfAnArchivedJournalThatDoesNotReplayIsNamedWithItsFile() throws IOException {
    Genesis genesis = LedgerFixtures.genesis(LedgerFixtures.params(8), 2);
    Path dir = tmp.resolve("archive-replay");
    try (LocalLedger ledger = builder(genesis).archiveCompacted(true).open(dir)) {
      for (int i = 0; i < 2; i++) {
        ledger.produceBlocks(3);
        ledger.compactJournal();
      }
      // Block 3, the first archive's last, made to record an epoch (not due: every 5 blocks),
      // its checksums made good: only replay can tell.
      Path first = dir.resolve("archive")
          .resolve("journal-00000000000000000001-00000000000000000003.btl");
      Journal.Scan scan = Journal.scan(first, Set.of());
      int at = (int) scan.offsets()[scan.offsets().length - 1];
      byte[] file = Files.readAllBytes(first);
      byte[] payload = Arrays.copyOf(Arrays.copyOfRange(file, at + 12, file.length),
          file.length - at - 12 + 32);
      payload[file.length - at - 12 - 1] = 1; // the epoch flag, then a digest of zeros
      ByteBuffer record = ByteBuffer.allocate(12 + payload.length)
          .putInt(payload.length).putInt(crc(payload, payload.length));
      record.putInt(crc(record.array(), 8)).put(payload);
      ByteBuffer whole = ByteBuffer.allocate(at + record.capacity()).put(file, 0, at)
          .put(record.array());
      Files.write(first, whole.array());
      LedgerException e = assertThrows(LedgerException.class,
          () -> ledger.readBlocks(1, Long.MAX_VALUE, r -> true));
      assertTrue(e.getMessage().contains(first.getFileName().toString())
          && e.getMessage().contains("block 3"), e.getMessage());
    }
  }

  private static int crc(byte[] b, int length) {
    CRC32C c = new CRC32C();
    c.update(b, 0, length);
    return (int) c.getValue();
  }

  /** The files this process holds open under {@code folder} (Linux). */
  private static List<Path> openFilesUnder(Path folder) throws IOException {
    List<Path> open = new ArrayList<>();
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      for (Path fd : (Iterable<Path>) fds::iterator) {
        try {
          Path target = Files.readSymbolicLink(fd);
          if (target.startsWith(folder)) {
            open.add(target);
          }
        } catch (IOException e) {
          // Closed meanwhile (the listing's own descriptor among them).
        }
      }
    }
    return open;
  }

  /**
   * Seals blocks until the journal holds over 64 after its checkpoint (a stride of its index,
   * so that reads walk from a second entry); returns the last.
   */
  private static long pastAStride(LocalLedger ledger, int every) throws LedgerException {
    long last = ledger.produceBlock().number();
    while (last % every < 66) {
      last = ledger.produceBlock().number();
    }
    return last;
  }

  private static List<String> readAll(LocalLedger ledger, long from) throws LedgerException {
    List<String> out = new ArrayList<>();
    ledger.readBlocks(from, Long.MAX_VALUE, r -> out.add(heard(r.block(), r.epoch(), r.after())
        + r.transactions()));
    return out;
  }

  @Test
  void blocksSealedWhileReadingAreLeftForTheNextRead() throws Exception {
    Genesis genesis = LedgerFixtures.genesis(LedgerFixtures.params(8), 2);
    try (LocalLedger ledger = builder(genesis).snapshotEvery(4).open(tmp.resolve("busy"))) {
      Recorder recorder = new Recorder();
      ledger.subscribe(recorder);
      ledger.produceBlocks(10);
      List<Long> seen = new ArrayList<>();
      long reached = ledger.readBlocks(1, Long.MAX_VALUE, r -> {
        seen.add(r.block().number());
        try {
          ledger.produceBlock(); // the writer goes on; this read ends where it began
        } catch (LedgerException e) {
          throw new AssertionError(e);
        }
        return true;
      });
      assertEquals(10, reached);
      assertEquals(LongStream.rangeClosed(1, 10).boxed().toList(), seen);
      assertEquals(20, ledger.metagraph().block().number());
      List<String> rest = new ArrayList<>();
      assertEquals(20, ledger.readBlocks(11, 20, r -> rest.add(heard(r.block(), r.epoch(),
          r.after()))));
      assertEquals(LongStream.rangeClosed(11, 20).mapToObj(recorder.blocks::get).toList(), rest);
    }
  }

  @Test
  void aVisitorStopsTheReadAndItsExceptionReachesTheCallerAsItWas() throws IOException {
    Genesis genesis = LedgerFixtures.genesis(LedgerFixtures.params(8), 2);
    try (LocalLedger ledger = builder(genesis).open(tmp.resolve("stop"))) {
      ledger.produceBlocks(6);
      List<Long> seen = new ArrayList<>();
      assertEquals(4, ledger.readBlocks(2, 6, r -> seen.add(r.block().number()) && seen.size() < 3));
      assertEquals(List.of(2L, 3L, 4L), seen);
      assertEquals(1, ledger.readBlocks(2, 1, r -> true), "an empty range reads nothing");
      IllegalStateException mine = new IllegalStateException("the visitor's own");
      assertSame(mine, assertThrows(IllegalStateException.class,
          () -> ledger.readBlocks(1, 6, r -> {
            throw mine;
          })));
      assertThrows(IllegalArgumentException.class, () -> ledger.readBlocks(0, 6, r -> true));
    }
  }

  @Test
  void blocksACompactionDroppedAndAnInMemoryLedgerAreClearErrors() throws IOException {
    Genesis genesis = LedgerFixtures.genesis(LedgerFixtures.params(8), 2);
    try (LocalLedger ledger = builder(genesis).open(tmp.resolve("compacted"))) {
      ledger.produceBlocks(7);
      ledger.compactJournal();
      ledger.produceBlocks(3);
      LedgerException e = assertThrows(LedgerException.class,
          () -> ledger.readBlocks(5, 10, r -> true));
      assertTrue(e.getMessage().contains("compacted at block 7"), e.getMessage());
      AtomicReference<Long> first = new AtomicReference<>();
      assertEquals(10, ledger.readBlocks(8, 10, r -> {
        first.compareAndSet(null, r.block().number());
        return true;
      }), "the blocks after the checkpoint are read, replayed from it");
      assertEquals(8L, first.get());
    }
    try (LocalLedger memory = builder(genesis).openInMemory()) {
      memory.produceBlocks(2);
      LedgerException e = assertThrows(LedgerException.class,
          () -> memory.readBlocks(1, 2, r -> true));
      assertTrue(e.getMessage().contains("in-memory"), e.getMessage());
    }
  }

  @Test
  void aRecordIsCheckedAgainstItsBlock() throws IOException {
    Genesis genesis = LedgerFixtures.genesis(LedgerFixtures.params(8), 2);
    try (LocalLedger ledger = builder(genesis).openInMemory()) {
      Block block = ledger.produceBlock();
      Metagraph after = ledger.metagraph();
      assertThrows(IllegalArgumentException.class, () -> new BlockRecord(block,
          List.of(new RandomTransactions(1, 3).next(ledger)), Optional.empty(), after));
      Epoch epoch = new Epoch(1, 1, 0, 0, 0.0, 0, Optional.empty());
      assertThrows(IllegalArgumentException.class,
          () -> new BlockRecord(block, List.of(), Optional.of(epoch), after));
      ledger.produceBlock();
      Metagraph later = ledger.metagraph();
      assertThrows(IllegalArgumentException.class,
          () -> new BlockRecord(block, List.of(), Optional.empty(), later));
      assertEquals(List.of(), new BlockRecord(block, List.of(), Optional.empty(), after)
          .receipts());
    }
  }
}
