package io.bittensor.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The examples of {@code docs/ledger.md} and {@link LocalLedger}'s class doc, compiled and run. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LedgerSnippetsTest {
  @TempDir Path tmp;

  @Test
  void theDocsExampleRuns() throws IOException {
    Path dataDir = tmp.resolve("ledger-data");
    // --- docs/ledger.md, first example
    Keypair alice = Keypair.generate();
    Genesis genesis = Genesis.builder()
        .params(LedgerParams.defaults().withEpochLength(10))
        .allocate(alice.id(), 1_000_000)                 // tokens, in whole units
        .build();
    try (LocalLedger ledger = LocalLedger.builder()
            .genesis(genesis)                            // only when creating; omit to reopen
            .blocks(BlockPolicy.every(Duration.ofMillis(20)))
            .open(dataDir)) {
      ledger.submit(alice, Transaction.register(URI.create("http://10.0.0.7:8091"),
          Modality.TEXT)).join();                        // returns once its block is on disk
      ledger.submit(alice, Transaction.addStake(500_000)).join();
      Metagraph m = ledger.metagraph();
      int uid = m.uid(alice.id()).orElseThrow();
      // ---
      assertEquals(0, uid);
      assertEquals(500_000, m.stake(uid));
    }
    try (LocalLedger reopened = LocalLedger.builder().blocks(BlockPolicy.manual())
        .open(dataDir)) {
      assertEquals(500_000, reopened.metagraph().stake(0));
    }
  }

  @Test
  void theClassDocExampleRuns() throws IOException {
    Keypair alice = Keypair.generate();
    // --- LocalLedger's class doc
    Genesis genesis = Genesis.builder().allocate(alice.id(), 1_000_000).build();
    try (LocalLedger ledger = LocalLedger.builder()
        .genesis(genesis)                          // only when creating; omit to reopen
        .blocks(BlockPolicy.manual())              // or every(Duration.ofSeconds(1)), the default
        .open(tmp.resolve("ledger-data"))) {
      var r = ledger.submit(alice, Transaction.register(URI.create("http://a:8091"),
          Modality.TEXT));
      ledger.produceBlock();                       // seals, fsyncs, completes r
      assertEquals(1, ledger.metagraph().size());
      // ---
      assertEquals(1, r.join().block());
    }
  }

  @Test
  void theCompactionExampleRuns() throws IOException {
    Path dataDir = tmp.resolve("ledger-data");
    Keypair alice = Keypair.generate();
    Genesis genesis = Genesis.builder().allocate(alice.id(), 1_000_000).build();
    try (LocalLedger created = LocalLedger.builder().genesis(genesis)
        .blocks(BlockPolicy.manual()).open(dataDir)) {
      created.submit(alice, Transaction.register(URI.create("http://a:8091"), Modality.TEXT));
      created.produceBlocks(3);
    }
    // --- docs/ledger.md, "Compaction"
    try (LocalLedger ledger = LocalLedger.builder()
        .snapshotEvery(1000)                     // a snapshot every 1000 blocks (the default)
        .compactAtSnapshots(true)                // ... and the journal compacted at each
        .blocks(BlockPolicy.manual())
        .open(dataDir)) {
      ledger.compactJournal();                   // or now, between blocks
      // ---
      assertEquals(1, ledger.metagraph().size());
      assertEquals(3, ledger.metagraph().block().number());
    }
    try (LocalLedger reopened = LocalLedger.builder().blocks(BlockPolicy.manual())
        .open(dataDir)) {
      assertEquals(1, reopened.metagraph().size(), "reopened from the checkpoint");
    }
  }

  @Test
  void theArchiveExampleRuns() throws IOException {
    Path dataDir = tmp.resolve("ledger-data");
    Keypair alice = Keypair.generate();
    Genesis genesis = Genesis.builder().allocate(alice.id(), 1_000_000).build();
    try (LocalLedger created = LocalLedger.builder().genesis(genesis).snapshotEvery(2)
        .compactAtSnapshots(true).archiveCompacted(true).blocks(BlockPolicy.manual())
        .open(dataDir)) {
      created.submit(alice, Transaction.register(URI.create("http://a:8091"), Modality.TEXT));
      created.produceBlocks(5);                  // compacted at 2 and 4, both archived
    }
    java.util.List<Long> read = new java.util.ArrayList<>();
    // --- docs/ledger.md, "Compaction" (the archive)
    try (LocalLedger ledger = LocalLedger.builder()
            .compactAtSnapshots(true)                // a small journal, quick to reopen...
            .archiveCompacted(true)                  // ... and every block still readable
            .blocks(BlockPolicy.manual())
            .open(dataDir)) {
      ledger.readBlocks(1, Long.MAX_VALUE, r -> {    // from genesis, through the archive
        read.add(r.block().number());
        return true;                                 // false stops the read
      });
    }
    // ---
    assertEquals(java.util.List.of(1L, 2L, 3L, 4L, 5L), read);
  }
}
