package io.bittensor.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.internal.ledger.BlockCodec;
import io.bittensor.core.testing.LedgerFixtures;
import io.bittensor.core.testing.RandomTransactions;
import io.bittensor.incentive.IncentiveMechanism;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link ChainAudit}: an honest history replays to itself from its genesis block, whatever the
 * transactions (8 seeds, rejections included, through compactions and the archive); a history
 * that changed a transaction, dropped or reordered one, or sent a state its blocks do not lead
 * to fails at the block where it did; a genesis block of another chain is refused.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ChainAuditTest {
  @TempDir Path tmp;

  static LongStream seeds() {
    return RandomTransactions.seeds(8);
  }

  /** A ledger on disk with seeded transactions over many blocks and epochs. */
  private LocalLedger chain(long seed, String name) throws IOException {
    SplittableRandom random = new SplittableRandom(seed);
    LocalLedger ledger = LocalLedger.builder()
        .genesis(LedgerFixtures.genesis(RandomTransactions.params(seed), 6))
        .clock(LedgerFixtures.fixedClock())
        .blocks(BlockPolicy.manual())
        .snapshotEvery(7)
        .compactAtSnapshots(true)
        .archiveCompacted(true)
        .open(tmp.resolve(name));
    RandomTransactions txs = new RandomTransactions(seed, 10);
    for (int i = 0; i < 80; i++) {
      ledger.submit(txs.next(ledger));
      if (random.nextInt(3) == 0) {
        ledger.produceBlocks(1 + random.nextInt(3));
      }
    }
    ledger.produceBlock();
    return ledger;
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void anHonestHistoryReplaysToItselfFromItsGenesisBlock(long seed) throws IOException {
    try (LocalLedger ledger = chain(seed, "honest-" + seed)) {
      ChainAudit.Result r = ChainAudit.verify(ledger.chainId(), ledger, Long.MAX_VALUE);
      assertEquals(ledger.metagraph().block(), r.last(), "seed " + seed);
      assertEquals(ledger.metagraph().peers(), r.state().peers(), "seed " + seed);
      assertEquals(ledger.chainId(), r.chainId());
    }
  }

  @Test
  void anAuditorFollowsAGrowingChainAndStaysFailedOnceItDiffers() throws IOException {
    try (LocalLedger ledger = chain(0x5eed4L, "growing")) {
      long first = ledger.metagraph().block().number();
      boolean[] lie = {false};
      long[] read = {0};
      BlockHistory counting = lying(ledger, r -> {
        read[0]++;
        return !lie[0] ? r : new BlockRecord(r.block(), r.transactions(), r.epoch(),
            Metagraph.of(r.after().chainId(), r.block(), r.after().params(),
                r.after().supply() - 1, r.after().lastEpoch(), r.after().peers(),
                r.after().weights(), r.after().bonds()));
      });
      try (ChainAudit.Auditor auditor = ChainAudit.start(ledger.chainId(), counting)) {
        assertEquals(first / 2, auditor.advance(first / 2).last().number());
        assertEquals(first, auditor.advance(Long.MAX_VALUE).last().number());
        assertEquals(first, read[0], "each block read once");
        ledger.submit(new RandomTransactions(9, 10).next(ledger));
        ledger.produceBlocks(3);
        assertEquals(first + 3, auditor.advance(Long.MAX_VALUE).last().number());
        assertEquals(first + 3, read[0], "then only the new ones");
        assertEquals(ledger.metagraph().peers(), auditor.checked().state().peers());

        lie[0] = true;
        ledger.produceBlock();
        ChainAudit.MismatchException e = assertThrows(ChainAudit.MismatchException.class,
            () -> auditor.advance(Long.MAX_VALUE));
        assertTrue(e.getMessage().contains("block " + (first + 4)), e.getMessage());
        lie[0] = false;
        assertThrows(ChainAudit.MismatchException.class, () -> auditor.advance(Long.MAX_VALUE),
            "failed for good");
      }
    }
  }

  @Test
  void anAuditorOnDiskGoesOnAfterTheLastBlockItChecked() throws IOException {
    Path replica = tmp.resolve("replica");
    try (LocalLedger ledger = chain(0x5eed6L, "resumed")) {
      long head = ledger.metagraph().block().number();
      long[] read = {0};
      BlockHistory counting = lying(ledger, r -> {
        read[0]++;
        return r;
      });
      try (ChainAudit.Auditor first = ChainAudit.start(ledger.chainId(), counting, null,
          replica)) {
        assertEquals(head / 2, first.advance(head / 2).last().number());
      }
      assertEquals(head / 2, read[0]);
      ledger.produceBlocks(2);
      try (ChainAudit.Auditor again = ChainAudit.start(ledger.chainId(), counting, null,
          replica)) {
        assertEquals(head / 2, again.checked().last().number(), "where the first one stopped");
        ChainAudit.Result r = again.advance(Long.MAX_VALUE);
        assertEquals(ledger.metagraph().block(), r.last());
        assertEquals(ledger.metagraph().peers(), r.state().peers());
      }
      assertEquals(head + 2, read[0], "each block read once, across the restart");
      // The folder is this chain's: another chain's audit refuses it.
      try (LocalLedger other = chain(0x5eed7L, "other")) {
        assertThrows(LedgerException.class,
            () -> ChainAudit.start(other.chainId(), other, null, replica));
      }
    }
  }

  @Test
  void anAuditorOnDiskSeesAHistoryThatChangedSinceItsLastCheck() throws IOException {
    Path replica = tmp.resolve("replica");
    try (LocalLedger checked = chain(0x5eed8L, "checked");
        LocalLedger rewritten = chain(0x5eed8L, "rewritten")) {
      // The same chain up to here; then two histories part.
      checked.produceBlocks(2);
      var extra = rewritten.submit(LedgerFixtures.key(0),
          Transaction.transfer(LedgerFixtures.key(1).id(), 1));
      rewritten.produceBlocks(3);
      assertTrue(extra.isDone() && !extra.isCompletedExceptionally(), "a block of its own");
      long head = checked.metagraph().block().number();
      try (ChainAudit.Auditor a = ChainAudit.start(checked.chainId(), checked, null, replica)) {
        assertEquals(head, a.advance(Long.MAX_VALUE).last().number());
      }
      try (ChainAudit.Auditor b = ChainAudit.start(rewritten.chainId(), rewritten, null,
          replica)) {
        ChainAudit.MismatchException e = assertThrows(ChainAudit.MismatchException.class,
            () -> b.advance(Long.MAX_VALUE));
        assertTrue(e.getMessage().contains("block " + (head + 1) + " given names parent")
            && e.getMessage().contains("changed since"), e.getMessage());
      }
    }
  }

  @Test
  void followingReadsBlockBodiesAndHandsOverTheReplicasOwnRecords() throws IOException {
    try (LocalLedger ledger = chain(0x5eed9L, "followed")) {
      List<BlockRecord> given = new ArrayList<>();
      ledger.readBlocks(1, Long.MAX_VALUE, given::add);
      List<BlockRecord> followed = new ArrayList<>();
      try (ChainAudit.Auditor auditor = ChainAudit.start(ledger.chainId(), ledger)) {
        assertEquals(ledger.metagraph().block(),
            auditor.follow(Long.MAX_VALUE, followed::add).last());
      }
      assertEquals(given.size(), followed.size());
      for (int i = 0; i < given.size(); i++) {
        BlockRecord g = given.get(i);
        BlockRecord f = followed.get(i);
        String at = "block " + g.block().number();
        assertEquals(g.block(), f.block(), at);
        assertEquals(g.transactions(), f.transactions(), at);
        assertEquals(g.epoch(), f.epoch(), at);
        assertEquals(g.after().supply(), f.after().supply(), at);
        assertEquals(g.after().peers(), f.after().peers(), at);
        assertTrue(g.after().weights().approximatelyEquals(f.after().weights(), 0), at);
      }
      // A block whose transactions were swapped is caught at it, by the bodies alone.
      long k = blockWith(ledger, 2);
      BlockHistory swapped = lying(ledger, r -> {
        if (r.block().number() != k) {
          return r;
        }
        List<SignedTransaction> txs = new ArrayList<>(r.transactions());
        Collections.swap(txs, 0, 1);
        return new BlockRecord(r.block(), txs, r.epoch(), r.after());
      });
      try (ChainAudit.Auditor auditor = ChainAudit.start(ledger.chainId(), swapped)) {
        ChainAudit.MismatchException e = assertThrows(ChainAudit.MismatchException.class,
            () -> auditor.follow(Long.MAX_VALUE, r -> { }));
        assertTrue(e.getMessage().contains("block " + k + " "), e.getMessage());
      }
    }
  }

  /** A history that hands over what {@code liar} makes of each record. */
  private static BlockHistory lying(LocalLedger honest, UnaryOperator<BlockRecord> liar) {
    return new BlockHistory() {
      @Override
      public long readBlocks(long from, long to, Predicate<BlockRecord> visitor)
          throws LedgerException {
        return honest.readBlocks(from, to, r -> visitor.test(liar.apply(r)));
      }

      @Override
      public byte[] genesisBlock() {
        return honest.genesisBlock();
      }
    };
  }

  /** The first block with at least {@code n} transactions. */
  private static long blockWith(LocalLedger ledger, int n) throws LedgerException {
    long[] found = {-1};
    ledger.readBlocks(1, Long.MAX_VALUE, r -> {
      if (r.transactions().size() >= n) {
        found[0] = r.block().number();
        return false;
      }
      return true;
    });
    assertTrue(found[0] > 0, "a block with " + n + " transactions");
    return found[0];
  }

  private static void assertCaughtAt(long block, LocalLedger honest,
      UnaryOperator<BlockRecord> liar, String why) {
    ChainAudit.MismatchException e = assertThrows(ChainAudit.MismatchException.class,
        () -> ChainAudit.verify(honest.chainId(), lying(honest, liar), Long.MAX_VALUE), why);
    assertTrue(java.util.regex.Pattern.compile("block " + block + "\\b").matcher(e.getMessage())
        .find(), why + ": " + e.getMessage());
  }

  @Test
  void aHistoryThatChangedDroppedOrReorderedATransactionFailsAtItsBlock() throws IOException {
    try (LocalLedger honest = chain(0x5eedL, "liars")) {
      long k = blockWith(honest, 2);
      // Another signed transaction in its place (one from a later block): a valid signature,
      // but not what was sealed.
      SignedTransaction other = findTransactionAfter(honest, k);
      assertCaughtAt(k, honest, r -> r.block().number() != k ? r : new BlockRecord(r.block(),
          replace(r.transactions(), 0, other), r.epoch(), r.after()), "a changed transaction");
      // One dropped, the count in the header made to match.
      assertCaughtAt(k, honest, r -> {
        if (r.block().number() != k) {
          return r;
        }
        Block b = r.block();
        Block shorter = new Block(b.number(), b.hash(), b.parent(), b.timestamp(),
            b.transactions() - 1, b.epoch());
        return new BlockRecord(shorter, r.transactions().subList(1, r.transactions().size()),
            r.epoch(), r.after());
      }, "a dropped transaction");
      // Two swapped.
      assertCaughtAt(k, honest, r -> {
        if (r.block().number() != k) {
          return r;
        }
        List<SignedTransaction> swapped = new ArrayList<>(r.transactions());
        Collections.swap(swapped, 0, 1);
        return new BlockRecord(r.block(), swapped, r.epoch(), r.after());
      }, "reordered transactions");
    }
  }

  /**
   * A block that replays to another hash was sealed by the replica all the same; what the
   * auditor reports as checked stays at the block before it.
   */
  @Test
  void whatIsCheckedStopsBeforeABlockThatReplaysToAnotherHash() throws IOException {
    try (LocalLedger honest = chain(0x5eed2L, "retimed")) {
      long k = blockWith(honest, 1);
      BlockHistory retimed = lying(honest, r -> {
        Block b = r.block();
        return b.number() != k ? r : new BlockRecord(new Block(b.number(), b.hash(), b.parent(),
            b.timestamp().plusMillis(1), b.transactions(), b.epoch()), r.transactions(),
            r.epoch(), r.after());
      });
      try (ChainAudit.Auditor auditor = ChainAudit.start(honest.chainId(), retimed)) {
        ChainAudit.MismatchException e = assertThrows(ChainAudit.MismatchException.class,
            () -> auditor.advance(Long.MAX_VALUE));
        assertTrue(e.getMessage().contains("block " + k + " replays to"), e.getMessage());
        assertEquals(k - 1, auditor.checked().last().number(), "the last block that checked out");
        assertEquals(k - 1, auditor.checked().state().block().number());
      }
    }
  }

  /**
   * A replica on disk that sealed a block which then did not check out cannot go on from it: an
   * auditor started again over the folder says which block and why, not that the history
   * changed since, and counts nothing from that block as checked.
   */
  @Test
  void anAuditorOnDiskStartedAgainAfterAMismatchSaysWhatHappened() throws IOException {
    Path replica = tmp.resolve("replica-mismatch");
    try (LocalLedger honest = chain(0x5eed2L, "retimed-on-disk")) {
      long k = blockWith(honest, 1);
      BlockHistory retimed = lying(honest, r -> {
        Block b = r.block();
        return b.number() != k ? r : new BlockRecord(new Block(b.number(), b.hash(), b.parent(),
            b.timestamp().plusMillis(1), b.transactions(), b.epoch()), r.transactions(),
            r.epoch(), r.after());
      });
      try (ChainAudit.Auditor first = ChainAudit.start(honest.chainId(), retimed, null,
          replica)) {
        assertThrows(ChainAudit.MismatchException.class, () -> first.advance(Long.MAX_VALUE));
      }
      for (BlockHistory history : List.of(retimed, (BlockHistory) honest)) {
        ChainAudit.MismatchException e = assertThrows(ChainAudit.MismatchException.class,
            () -> ChainAudit.start(honest.chainId(), history, null, replica).close());
        assertTrue(e.getMessage().contains("holds block " + k + ", which did not check out")
            && e.getMessage().contains("block " + k + " replays to")
            && !e.getMessage().contains("changed since"), e.getMessage());
      }
    }
  }

  /** {@code r} with one token more in the supply of the state after it. */
  private static BlockRecord moreSupply(BlockRecord r) {
    Metagraph a = r.after();
    return new BlockRecord(r.block(), r.transactions(), r.epoch(), Metagraph.of(a.chainId(),
        r.block(), a.params(), a.supply() + 1, a.lastEpoch(), a.peers(), a.weights(), a.bonds()));
  }

  /** An auditor started again over {@code replica} finds the state after block {@code k}. */
  private static void assertStateCaughtAgainAt(long k, Hash256 chainId, BlockHistory liar,
      Path replica) throws IOException {
    try (ChainAudit.Auditor again = ChainAudit.start(chainId, liar, null, replica)) {
      ChainAudit.MismatchException e = assertThrows(ChainAudit.MismatchException.class,
          () -> again.advance(Long.MAX_VALUE));
      assertTrue(e.getMessage().contains("the state after block " + k + " differs"),
          e.getMessage());
      assertEquals(k - 1, again.checked().last().number(), "checked up to the block before");
      assertEquals(k - 1, again.checked().state().block().number());
    }
  }

  /**
   * A replica on disk seals a block before comparing it: a process that died in between (here
   * its replica closed under it, as a kill leaves it) left a block that was never checked, and a
   * restarted auditor took it as checked, so a state the history lied about there passed.
   */
  @Test
  void theBlockSealedBeforeACrashIsCheckedAgainAtTheNextStart() throws IOException {
    Path replica = tmp.resolve("replica-crash");
    try (LocalLedger honest = chain(0x5eed3L, "crashed")) {
      long k = honest.metagraph().block().number() / 2; // a state before it to go back to
      ChainAudit.Auditor first = ChainAudit.start(honest.chainId(), honest, null, replica);
      assertEquals(k, first.advance(k).last().number());
      first.replica().close(); // the process dies: the auditor is never closed
      BlockHistory liar = lying(honest, r -> r.block().number() == k ? moreSupply(r) : r);
      assertStateCaughtAgainAt(k, honest.chainId(), liar, replica);
      ChainAudit.MismatchException e = assertThrows(ChainAudit.MismatchException.class,
          () -> ChainAudit.start(honest.chainId(), honest, null, replica).close());
      assertTrue(e.getMessage().contains("holds block " + k + ", which did not check out"),
          e.getMessage());
    }
  }

  /**
   * A mismatch the auditor could not record (here its file's name is taken by a folder; a crash
   * before the write is the same) leaves the block sealed unchecked: the next start checks it
   * again instead of going on from it.
   */
  @Test
  void aMismatchThatCouldNotBeRecordedIsFoundAgainAtTheNextStart() throws IOException {
    Path replica = tmp.resolve("replica-unrecorded");
    try (LocalLedger honest = chain(0x5eed4L, "unrecorded")) {
      long k = honest.metagraph().block().number() / 2; // a state before it to go back to
      BlockHistory liar = lying(honest, r -> r.block().number() == k ? moreSupply(r) : r);
      Path taken = replica.resolve(ChainAudit.MISMATCH_FILE);
      try (ChainAudit.Auditor first = ChainAudit.start(honest.chainId(), liar, null,
          replica)) {
        Files.createDirectories(taken.resolve("in-the-way"));
        ChainAudit.MismatchException e = assertThrows(ChainAudit.MismatchException.class,
            () -> first.advance(Long.MAX_VALUE));
        assertEquals(1, e.getSuppressed().length, "the record that failed");
      }
      Files.delete(taken.resolve("in-the-way"));
      Files.delete(taken);
      assertStateCaughtAgainAt(k, honest.chainId(), liar, replica);
    }
  }

  @Test
  void aStateTheBlocksDoNotLeadToFailsAtItsBlock() throws IOException {
    try (LocalLedger honest = chain(0x5eed1L, "state")) {
      long k = blockWith(honest, 1);
      assertCaughtAt(k, honest, r -> r.block().number() != k ? r : moreSupply(r),
          "one token more in the supply");
    }
  }

  @Test
  void aGenesisBlockOfAnotherChainIsRefused() throws IOException {
    try (LocalLedger one = chain(0x5eed2L, "one"); LocalLedger two = chain(0x5eed3L, "two")) {
      ChainAudit.MismatchException e = assertThrows(ChainAudit.MismatchException.class,
          () -> ChainAudit.verify(one.chainId(), two, Long.MAX_VALUE));
      assertTrue(e.getMessage().contains("not chain " + one.chainId()), e.getMessage());
    }
  }

  private static SignedTransaction findTransactionAfter(LocalLedger ledger, long block)
      throws LedgerException {
    SignedTransaction[] found = {null};
    ledger.readBlocks(block + 1, Long.MAX_VALUE, r -> {
      if (!r.transactions().isEmpty()) {
        found[0] = r.transactions().get(0);
        return false;
      }
      return true;
    });
    assertTrue(found[0] != null, "a later transaction");
    return found[0];
  }

  private static List<SignedTransaction> replace(List<SignedTransaction> txs, int i,
      SignedTransaction tx) {
    List<SignedTransaction> copy = new ArrayList<>(txs);
    copy.set(i, tx);
    return copy;
  }

  /**
   * A chain id that names a block other than a genesis block (a block's hash taken for the
   * chain's), with a history that serves that block as its genesis, is a mismatch: not a
   * mechanism named "null", nor a NullPointerException.
   */
  @Test
  void aGenesisBlockThatIsAnotherKindOfBlockIsAMismatch() {
    byte[] block = BlockCodec.encodeBlock(1, Hash256.ZERO, 0, List.of(), null);
    BlockHistory history = new BlockHistory() {
      @Override
      public long readBlocks(long from, long to, Predicate<BlockRecord> visitor) {
        return 0;
      }

      @Override
      public byte[] genesisBlock() {
        return block.clone();
      }
    };
    Hash256 id = Hash256.of(block);
    for (IncentiveMechanism m : Arrays.asList(null, IncentiveMechanism.paper())) {
      ChainAudit.MismatchException e = assertThrows(ChainAudit.MismatchException.class,
          () -> ChainAudit.verify(id, history, 1, m), "mechanism " + m);
      assertTrue(e.getMessage().contains("not a genesis block"), e.getMessage());
    }
  }
}
