package io.bittensor.raft;

import static io.bittensor.core.testing.LedgerFixtures.endpoint;
import static io.bittensor.core.testing.LedgerFixtures.genesis;
import static io.bittensor.core.testing.LedgerFixtures.key;
import static io.bittensor.core.testing.LedgerFixtures.params;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.Block;
import io.bittensor.core.BlockHistory;
import io.bittensor.core.BlockPolicy;
import io.bittensor.core.BlockRecord;
import io.bittensor.core.ChainAudit;
import io.bittensor.core.Hash256;
import io.bittensor.core.LedgerException;
import io.bittensor.core.LedgerListener;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Modality;
import io.bittensor.core.Transaction;
import io.bittensor.transport.LedgerServer;
import io.bittensor.transport.RemoteLedger;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Members that keep their blocks ({@link RaftLedger.Builder#keepBlocks}): every member reads
 * back the same blocks, as they were sealed and as a replay from genesis gives them; a member
 * restarted goes on from its journal without sealing a block twice; one sent the leader's
 * snapshot keeps its blocks from there; and a ledger server in front of a member serves them.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RaftBlocksTest {
  @TempDir Path dir;

  private Cluster keeping(int snapshotEvery) {
    Cluster c = new Cluster(dir, 3, genesis(params(8), 4), null, BlockPolicy.manual());
    c.snapshotEvery = snapshotEvery;
    c.logSegmentBytes = 16 * 1024;
    c.each = (i, b) -> b.keepBlocks(true);
    return c;
  }

  /** Seals {@code blocks} blocks through random members, with a transaction before some. */
  private static void seal(Cluster c, SplittableRandom random, int blocks) throws Exception {
    for (int i = 0; i < blocks; i++) {
      RaftLedger through = anyOpen(c, random);
      int k = random.nextInt(4);
      switch (random.nextInt(3)) {
        case 0 -> through.submit(key(k), Transaction.register(endpoint(k), Modality.TEXT));
        case 1 -> through.submit(key(k), Transaction.transfer(key((k + 1) % 4).id(),
            1 + random.nextInt(5)));
        default -> { }
      }
      c.members[c.leader()].produceBlock();
    }
  }

  private static RaftLedger anyOpen(Cluster c, SplittableRandom random) {
    while (true) {
      RaftLedger m = c.members[random.nextInt(c.members.length)];
      if (m != null) {
        return m;
      }
    }
  }

  private static List<BlockRecord> read(BlockHistory h, long from) throws LedgerException {
    List<BlockRecord> records = new ArrayList<>();
    h.readBlocks(from, Long.MAX_VALUE, records::add);
    return records;
  }

  private static List<Block> blocks(List<BlockRecord> records) {
    return records.stream().map(BlockRecord::block).toList();
  }

  @Test
  void everyMemberReadsBackTheBlocksItSealedAndTheyReplayFromGenesis() throws Exception {
    try (Cluster c = keeping(0)) {
      c.start();
      List<Block> heard = new CopyOnWriteArrayList<>();
      List<Integer> sizes = new CopyOnWriteArrayList<>();
      c.members[0].subscribe(new LedgerListener() {
        @Override
        public void onBlock(Block block, Metagraph after) {
          heard.add(block);
          sizes.add(after.size());
        }
      });
      seal(c, new SplittableRandom(7), 40);
      c.awaitHeight(40);
      Cluster.awaitTrue(() -> heard.size() == 40, "member 0's listener at block 40");
      List<BlockRecord> first = read(c.members[0], 1);
      assertEquals(heard, blocks(first), "read back as the listener heard them");
      assertEquals(sizes, first.stream().map(r -> r.after().size()).toList());
      assertTrue(first.stream().anyMatch(r -> !r.transactions().isEmpty()), "with transactions");
      assertTrue(first.stream().anyMatch(r -> r.epoch().isPresent()), "with epochs");
      for (RaftLedger m : c.members) {
        assertEquals(blocks(first), blocks(read(m, 1)), m + " reads the same blocks");
        List<Block> bodies = new ArrayList<>();
        m.readBlockBodies(1, Long.MAX_VALUE, b -> bodies.add(b.block()));
        assertEquals(blocks(first), bodies, m + " reads the same bodies");
        assertEquals(first.get(20).transactions(), read(m, 21).get(0).transactions());
        ChainAudit.Result audit = ChainAudit.verify(m.chainId(), m, Long.MAX_VALUE);
        assertEquals(heard.get(39), audit.last(), m + " replays from genesis");
      }
    }
  }

  /**
   * Archived: each member's live journal stays a snapshot's worth of blocks long, and every
   * block still reads back, through the archive, across a restart of every member.
   */
  @Test
  void keptBlocksArchivedAtEachSnapshotStillReadBackFromTheFirst() throws Exception {
    try (Cluster c = keeping(5)) {
      c.each = (i, b) -> b.keepBlocks(true).archiveKeptBlocks(true);
      c.start();
      SplittableRandom random = new SplittableRandom(17);
      seal(c, random, 33);
      c.awaitHeight(33);
      List<Block> chain = blocks(read(c.members[0], 1));
      assertEquals(33, chain.size());
      for (int i = 0; i < 3; i++) {
        Path archive = RaftLedger.blocksFolder(c.dirs.get(i)).resolve("archive");
        try (Stream<Path> files = Files.list(archive)) {
          assertTrue(files.count() >= 5, "member " + i + " archived its compactions");
        }
        long live = Files.size(RaftLedger.blocksFolder(c.dirs.get(i)).resolve("journal.btl"));
        assertTrue(live < 64 * 1024, "member " + i + "'s live journal is short: " + live);
      }
      restartAllAndCheck(c, random, chain);
    }
  }

  @Test
  void aFolderOfAnotherChainIsRefusedAndItsBlocksKept() throws Exception {
    Cluster c = new Cluster(dir, 1, genesis(params(8), 4), null, BlockPolicy.manual());
    c.each = (i, b) -> b.keepBlocks(true);
    try (c) {
      c.start();
      c.leader();
      c.members[0].produceBlock();
      c.members[0].produceBlock();
    }
    Path journal = RaftLedger.blocksFolder(c.dirs.get(0)).resolve("journal.btl");
    byte[] before = Files.readAllBytes(journal);
    Cluster other = new Cluster(dir, 1, genesis(params(9), 4), null, BlockPolicy.manual());
    other.each = (i, b) -> b.keepBlocks(true);
    LedgerException e = assertThrows(LedgerException.class, () -> other.open(0));
    assertTrue(e.getMessage().contains("holds chain"), e.getMessage());
    assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(journal)),
        "the refused opening left the member's journal as it was");
    try (c) {
      RaftLedger again = c.open(0);
      c.leader();
      assertEquals(2, read(again, 1).size(), "its blocks are still there");
    }
  }

  @Test
  void archivingBlocksNotKeptIsRefused() {
    RaftLedger.Builder b = RaftLedger.builder().self("a")
        .member("a", new java.net.InetSocketAddress("127.0.0.1", 9)).archiveKeptBlocks(true);
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> b.open(dir.resolve("a")));
    assertTrue(e.getMessage().contains("keepBlocks(true)"), e.getMessage());
  }

  @Test
  void aMemberThatKeepsNoBlocksSaysSo() throws Exception {
    try (Cluster c = new Cluster(dir, 1, genesis(params(8), 4), null, BlockPolicy.manual())) {
      c.start();
      RaftLedger m = c.members[0];
      c.leader();
      m.produceBlock();
      assertFalse(m.keepsBlocks());
      LedgerException e = assertThrows(LedgerException.class,
          () -> m.readBlocks(1, 1, r -> true));
      assertTrue(e.getMessage().contains("keepBlocks(true)"), e.getMessage());
      // The genesis block is there either way: it names the chain.
      assertEquals(m.chainId(), Hash256.of(m.genesisBlock()));
      assertFalse(Files.exists(c.dirs.get(0).resolve(RaftLedger.BLOCKS_FOLDER)));
    }
  }

  /**
   * Restarts a follower, then every member: each reopens its journal at the last block it
   * sealed and skips what Raft replays up to it. Without snapshots Raft replays its whole log;
   * with one every 5 blocks, the log after the latest.
   */
  @ParameterizedTest(name = "snapshots every {0} blocks")
  @ValueSource(ints = {0, 5})
  void aRestartedMemberGoesOnFromItsJournalAndSealsNoBlockTwice(int snapshotEvery)
      throws Exception {
    SplittableRandom random = new SplittableRandom(11 + snapshotEvery);
    try (Cluster c = keeping(snapshotEvery)) {
      c.start();
      seal(c, random, 23);
      int away = (c.leader() + 1) % 3;
      c.awaitHeight(23);
      c.stop(away);
      seal(c, random, 7);
      RaftLedger back = c.open(away);
      assertTrue(back.metagraph().block().number() >= 23,
          "reopened at its own last block, before Raft replays anything");
      c.awaitHeight(30);
      seal(c, random, 5);
      c.awaitHeight(35);
      assertEquals(1, c.settledHashes().stream().distinct().count());
      List<Block> chain = blocks(read(c.members[c.leader()], 1));
      assertEquals(35, chain.size());
      assertEquals(chain, blocks(read(back, 1)), "the member that was away, every block once");
      restartAllAndCheck(c, random, chain);
      assertEquals(1, c.settledHashes().stream().distinct().count());
    }
  }

  /**
   * A member's only snapshot is damaged while it is down, its log whole: it reopens its journal
   * at its last block, and Raft replays the whole log, skipping what the journal holds, as for a
   * member that never took a snapshot. It used to refuse to start.
   */
  @Test
  void aMemberWhoseOnlySnapshotIsDamagedGoesOnFromItsJournal() throws Exception {
    SplittableRandom random = new SplittableRandom(5);
    Cluster c = keeping(5);
    c.logSegmentBytes = 0; // Ratis' own: no segment is closed, so no log is dropped
    // Nor by a new term, which starts a segment: at 150 ms a loaded machine saw elections that
    // dropped the log before the snapshot, and the member rightly could not start.
    c.each = c.each.andThen((i, b) -> b.electionTimeout(Duration.ofSeconds(1)));
    try (c) {
      c.start();
      seal(c, random, 7);
      int away = (c.leader() + 1) % 3;
      c.awaitHeight(7);
      Path sm = c.raftFolder(away).resolve("sm");
      Cluster.awaitTrue(() -> Cluster.snapshots(sm).size() == 1, "the snapshot of block 5");
      c.stop(away);
      Cluster.damage(Cluster.snapshots(sm).get(0));
      RaftLedger back = c.open(away);
      assertEquals(7, back.metagraph().block().number(), "reopened at its own last block");
      seal(c, random, 2);
      c.awaitHeight(9);
      assertEquals(1, c.settledHashes().stream().distinct().count());
      List<Block> chain = blocks(read(c.members[c.leader()], 1));
      assertEquals(9, chain.size());
      assertEquals(chain, blocks(read(back, 1)), "the member that restarted, every block once");
    }
  }

  @Test
  void aMemberSentTheLeadersSnapshotKeepsItsBlocksFromThere() throws Exception {
    SplittableRandom random = new SplittableRandom(3);
    try (Cluster c = keeping(5)) {
      int away = awayWhileTheLogIsDropped(c, random);
      RaftLedger any = c.members[c.leader()];
      RaftLedger back = c.open(away);
      c.awaitHeight(204);
      // It holds blocks from the snapshot it was sent on, not those before.
      long first = firstKept(back, 204);
      assertTrue(first > 5 && first <= 205, "kept from block " + first);
      LedgerException before = assertThrows(LedgerException.class,
          () -> back.readBlocks(1, 1, r -> true));
      assertTrue(before.getMessage().contains("block 1"), before.getMessage());
      assertEquals(blocks(read(any, first)), blocks(read(back, first)),
          "the same blocks as the leader's");
      assertEquals(1, c.settledHashes().stream().distinct().count());
      // Sealing goes on into its journal, and it reopens from it.
      seal(c, random, 3);
      c.awaitHeight(207);
      c.stop(away);
      RaftLedger again = c.open(away);
      c.awaitHeight(207);
      assertEquals(blocks(read(any, first)), blocks(read(again, first)));
    }
  }

  /**
   * Readers of a member that takes the leader's snapshot while they read: the copy they read from
   * is closed under them, or they reach the interim one in memory. Each read goes on from the
   * new copy instead; the only failure allowed is the new journal's own, for a block sealed
   * before the snapshot it starts from.
   */
  @Test
  void readsWhileAMemberTakesTheLeadersSnapshotGoOnFromItsNewCopy() throws Exception {
    SplittableRandom random = new SplittableRandom(5);
    try (Cluster c = keeping(5)) {
      int away = awayWhileTheLogIsDropped(c, random);
      RaftLedger back = c.open(away);
      List<Throwable> failures = new CopyOnWriteArrayList<>();
      AtomicLong reads = new AtomicLong();
      AtomicBoolean done = new AtomicBoolean();
      List<Thread> readers = new ArrayList<>();
      for (int t = 0; t < 2; t++) {
        Thread reader = new Thread(() -> {
          while (!done.get()) {
            try {
              long top = back.metagraph().block().number();
              back.stateHash();
              // The journal holds the blocks before the snapshot until the swap, then none.
              long from = Math.max(1, top - 2);
              long last = back.readBlocks(from, top, r -> true);
              back.readBlockBodies(from, top, b -> true);
              assertTrue(last >= from - 1 && last <= back.metagraph().block().number());
              reads.incrementAndGet();
            } catch (LedgerException e) {
              if (!e.getMessage().contains("no archived journal holds block")) {
                failures.add(e);
              }
            } catch (Throwable e) {
              failures.add(e);
            }
          }
        });
        reader.start();
        readers.add(reader);
      }
      c.awaitHeight(204);
      Thread.sleep(100);
      done.set(true);
      for (Thread reader : readers) {
        reader.join();
      }
      assertEquals(List.of(), failures.stream().map(Throwable::toString).distinct().toList(),
          "reads that failed");
      assertTrue(reads.get() > 0, "the readers read");
      assertTrue(firstKept(back, 204) > 5, "the member took the leader's snapshot");
    }
  }

  @Test
  void blocksLeftBesideARaftLogThatIsGoneAreDropped() throws Exception {
    Cluster c = new Cluster(dir, 1, genesis(params(8), 4), null, BlockPolicy.manual());
    c.each = (i, b) -> b.keepBlocks(true);
    try (c) {
      c.start();
      c.leader();
      for (int i = 0; i < 5; i++) {
        c.members[0].produceBlock();
      }
      c.stop(0);
      // The Raft log goes (an operator resets the member); the genesis and the blocks stay.
      io.bittensor.core.internal.DurableFiles.deleteTree(c.dirs.get(0).resolve("raft"));
      RaftLedger m = c.open(0);
      c.leader();
      assertEquals(0, m.metagraph().block().number(), "the old blocks are not this log's");
      assertEquals(1, m.produceBlock().number());
      assertEquals(1, m.metagraph().block().number());
      assertEquals(1, read(m, 1).size());
    }
  }

  @Test
  void aLedgerServerInFrontOfAMemberServesItsBlocksAndCatchesUpAClient() throws Exception {
    SplittableRandom random = new SplittableRandom(5);
    try (Cluster c = keeping(0)) {
      c.start();
      seal(c, random, 6);
      RaftLedger follower = c.members[(c.leader() + 1) % 3];
      c.awaitHeight(6);
      List<Long> heard = new CopyOnWriteArrayList<>();
      int port;
      LedgerServer server = LedgerServer.builder().ledger(follower).host("127.0.0.1").port(0)
          .start();
      port = server.uri().getPort();
      try (RemoteLedger remote = RemoteLedger.connect(server.uri())) {
        remote.subscribe(new LedgerListener() {
          @Override
          public void onBlock(Block block, Metagraph after) {
            heard.add(block.number());
          }
        });
        seal(c, random, 2);
        Cluster.awaitTrue(() -> heard.contains(8L), "the client at block 8");
        // The server goes; the group seals on; a new server over the same member comes up.
        server.close();
        seal(c, random, 12);
        c.awaitHeight(20);
        server = LedgerServer.builder().ledger(follower).host("127.0.0.1").port(port).start();
        Cluster.awaitTrue(() -> heard.contains(20L), "the client at block 20");
        List<Long> after8 = heard.subList(heard.indexOf(8L), heard.size());
        List<Long> expected = new ArrayList<>();
        for (long n = 8; n <= 20; n++) {
          expected.add(n);
        }
        assertEquals(expected, after8, "every block it missed, in order, none twice");
        assertEquals(blocks(read(follower, 1)), blocks(read(remote, 1)));
        ChainAudit.Result audit = ChainAudit.verify(follower.chainId(), remote, Long.MAX_VALUE);
        assertEquals(20, audit.last().number());
      } finally {
        server.close();
      }
    }
  }

  /**
   * Starts the cluster, seals 4 blocks, stops a follower and seals 200 more, until the others
   * dropped the log before their snapshots: opened again, it is sent the leader's snapshot.
   * Returns its index.
   */
  private static int awayWhileTheLogIsDropped(Cluster c, SplittableRandom random)
      throws Exception {
    c.start();
    seal(c, random, 4);
    int away = (c.leader() + 1) % 3;
    c.awaitHeight(4);
    c.stop(away);
    seal(c, random, 200);
    Path log = c.raftFolder((away + 1) % 3).resolve("current");
    Cluster.awaitTrue(() -> !Files.exists(log.resolve("log_0-0")),
        "the log dropped before the snapshots");
    return away;
  }

  /**
   * Restarts every member, seals two blocks more, and checks that each reads back {@code chain}
   * and the two, and audits from genesis.
   */
  private static void restartAllAndCheck(Cluster c, SplittableRandom random, List<Block> chain)
      throws Exception {
    c.close();
    c.start();
    c.leader();
    seal(c, random, 2);
    c.awaitHeight(chain.size() + 2);
    for (RaftLedger m : c.members) {
      List<Block> again = blocks(read(m, 1));
      assertEquals(chain, again.subList(0, chain.size()), m + " after every member restarted");
      assertEquals(chain.size() + 2, again.size(), m + "");
      ChainAudit.verify(m.chainId(), m, Long.MAX_VALUE);
    }
  }

  /** The first block {@code h} reads back, looking down from {@code top}. */
  private static long firstKept(BlockHistory h, long top) {
    long n = top;
    while (n > 1) {
      try {
        h.readBlocks(n - 1, n - 1, r -> true);
        n--;
      } catch (LedgerException e) {
        break;
      }
    }
    return n;
  }
}
