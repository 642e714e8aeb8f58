package io.bittensor.core.internal.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.Block;
import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Hash256;
import io.bittensor.core.LedgerListener;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.testing.LedgerFixtures;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The journal file: what compaction writes, opening reads. */
class JournalTest {
  @TempDir Path dir;

  /**
   * A state over the 256 MiB a block may have still compacts: the checkpoint record holds a
   * state, not a block, and may be as large as a state's encoding.
   */
  @Test
  void aCheckpointOverTheBlockLimitIsWrittenAndOpens() throws IOException {
    Path file = dir.resolve(Journal.FILE_NAME);
    byte[] genesis = BlockCodec.encodeGenesis(
        LedgerFixtures.genesis(LedgerParams.defaults(), 2), "paper", null, 0);
    Journal.create(file, genesis);
    Block block = new Block(5, Hash256.of(new byte[] {5}), Hash256.of(new byte[] {4}),
        Instant.ofEpochMilli(0), 0, false);
    byte[] checkpoint = BlockCodec.encodeCheckpoint(block, new byte[Journal.MAX_PAYLOAD]);
    int length = checkpoint.length;
    Journal.compact(file, genesis, checkpoint).close();
    checkpoint = null; // the heap holds one copy of a state this size at a time
    Journal.Scan scan = Journal.scan(file, Set.of(5L));
    assertEquals(5, scan.checkpoint());
    assertEquals(5, scan.lastNumber());
    assertEquals(block.hash(), scan.lastHash(), "the hash the next block must name");
    assertEquals(length, scan.length(1));
    assertEquals(0, scan.tornBytes());

    byte[] next = BlockCodec.encodeBlock(6, block.hash(), 1, List.of(), null);
    try (Journal j = Journal.openForAppend(file, scan)) {
      j.append(next);
    }
    assertEquals(6, Journal.scan(file, Set.of()).lastNumber());
  }

  /**
   * Where the file system has no hard links, a compaction that archives keeps a copy of the
   * journal it replaces instead of failing; a copy left by a crash before the rename is the live
   * journal's blocks and is dropped at the next opening, as a second name would be.
   */
  @Test
  void withoutHardLinksACompactionArchivesACopy() throws IOException {
    Path data = dir.resolve("no-links");
    Path pending = JournalArchive.folder(data).resolve("pending.btl");
    JournalArchive.Linker real = JournalArchive.links;
    JournalArchive.links = (link, existing) -> {
      throw new UnsupportedOperationException("no hard links here");
    };
    try {
      List<Block> sealed = new ArrayList<>();
      try (LocalLedger ledger = ledger(data)) {
        ledger.subscribe(new LedgerListener() {
          @Override
          public void onBlock(Block block, Metagraph after) {
            sealed.add(block);
          }
        });
        ledger.produceBlocks(5);
        ledger.compactJournal();
        ledger.produceBlocks(2);
        // As if the process died after copying the journal for the archive, before the rename.
        JournalArchive.linkPending(data.resolve(Journal.FILE_NAME));
        assertTrue(Files.exists(pending));
      }
      try (LocalLedger reopened = ledger(data)) {
        assertTrue(Files.notExists(pending), "a copy of the live journal: dropped");
        try (Stream<Path> files = Files.list(JournalArchive.folder(data))) {
          assertEquals(List.of(JournalArchive.name(1, 5)),
              files.map(f -> f.getFileName().toString()).sorted().toList());
        }
        List<Block> read = new ArrayList<>();
        reopened.readBlocks(1, Long.MAX_VALUE, r -> read.add(r.block()));
        assertEquals(sealed, read, "every block, through the archived copy");
      }
    } finally {
      JournalArchive.links = real;
    }
  }

  private static LocalLedger ledger(Path data) throws IOException {
    return LocalLedger.builder().genesis(LedgerFixtures.genesis(LedgerFixtures.params(8), 2))
        .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual())
        .archiveCompacted(true).open(data);
  }

  /** A file in the archive whose numbers are past any block is not ours: passed over. */
  @Test
  void anArchivedNameOfTwentyDigitsPastALongIsPassedOver() throws IOException {
    Path archive = Files.createDirectories(JournalArchive.folder(dir));
    Files.write(archive.resolve(JournalArchive.name(1, 5)), new byte[0]);
    Files.write(archive.resolve("journal-99999999999999999999-99999999999999999999.btl"),
        new byte[0]);
    List<JournalArchive.Segment> segments = JournalArchive.list(dir);
    assertEquals(1, segments.size(), segments.toString());
    assertEquals(5, segments.get(0).last());
  }

  /**
   * A reader beside a writer lists the archive while a compaction's journal is still named
   * {@code pending.btl}; the writer then settles it under its own name before the reader opens
   * it. The reader reads it under that name: before, it failed on a {@code pending.btl} gone.
   */
  @Test
  void aPendingJournalSettledAfterTheReaderListedItIsReadUnderItsName() throws IOException {
    Path data = dir.resolve("settled");
    try (LocalLedger ledger = ledger(data)) {
      ledger.produceBlocks(5);
      ledger.compactJournal();
      ledger.produceBlocks(2);
    }
    // As the writer leaves it between the compaction's rename and the settling of its name.
    Path folder = JournalArchive.folder(data);
    Files.move(folder.resolve(JournalArchive.name(1, 5)), folder.resolve("pending.btl"));
    try (LocalLedger reader = LocalLedger.builder().openReadOnly(data)) {
      JournalArchive.listed = () -> {
        try {
          JournalArchive.settlePending(data, 1, 5); // the writer, once the reader listed
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      };
      List<Long> read = new ArrayList<>();
      reader.readBlocks(1, Long.MAX_VALUE, r -> read.add(r.block().number()));
      assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L), read);
    } finally {
      JournalArchive.listed = () -> { };
    }
  }
}
