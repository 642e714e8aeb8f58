package io.bittensor.core;

import static io.bittensor.core.testing.LedgerFixtures.endpoint;
import static io.bittensor.core.testing.LedgerFixtures.key;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.internal.ledger.Journal;
import io.bittensor.core.internal.ledger.Snapshots;
import io.bittensor.core.testing.LedgerFixtures;
import io.bittensor.core.testing.RandomTransactions;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.incentive.PaperParams;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.FutureTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/** What {@link LocalLedger} adds to the contract: its journal, snapshots, recovery, limits. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LocalLedgerTest {
  @TempDir Path tmp;
  private Path dir;
  private Genesis genesis;

  @BeforeEach
  void setUp() {
    dir = tmp.resolve("ledger");
    genesis = LedgerFixtures.genesis(new LedgerParams(3, 6, 2, 1, 0), 6);
  }

  private LocalLedger.Builder builder() {
    return LocalLedger.builder().genesis(genesis).mechanism(LedgerContract.mechanism())
        .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual()).snapshotEvery(0);
  }

  /** Runs {@code blocks} blocks of random transactions; returns the state hash after each. */
  private static List<Hash256> fill(LocalLedger ledger, int blocks, long seed)
      throws IOException {
    RandomTransactions txs = new RandomTransactions(seed, 8);
    List<Hash256> hashes = new ArrayList<>();
    for (int b = 0; b < blocks; b++) {
      for (int i = 0; i < 3; i++) {
        ledger.submit(txs.next(ledger));
      }
      ledger.produceBlock();
      hashes.add(ledger.stateHash());
    }
    return hashes;
  }

  private Path journal() {
    return dir.resolve(Journal.FILE_NAME);
  }

  private Journal.Scan scan() throws IOException {
    return Journal.scan(journal(), Set.of());
  }

  // ---------------------------------------------------------------------------------------
  // Reopening

  @Test
  void reopeningReplaysToTheSameStateWithOrWithoutSnapshots() throws IOException {
    List<Hash256> hashes;
    Metagraph before;
    try (LocalLedger ledger = builder().snapshotEvery(4).open(dir)) {
      hashes = fill(ledger, 14, 1);
      before = ledger.metagraph();
    }
    assertEquals(List.of(12L, 8L), Snapshots.list(dir), "the newest two are kept");
    try (LocalLedger reopened = builder().open(dir)) {
      assertEquals(hashes.get(13), reopened.stateHash());
      assertEquals(2, reopened.blocksReplayedOnOpen(), "blocks 13 and 14, after the snapshot");
      Metagraph after = reopened.metagraph();
      assertEquals(before.block(), after.block());
      assertEquals(before.peers(), after.peers());
      assertEquals(before.weights(), after.weights());
      assertEquals(before.bonds(), after.bonds());
      assertEquals(before.lastEpoch(), after.lastEpoch());
    }
    for (long s : Snapshots.list(dir)) {
      Files.delete(dir.resolve(String.format("snapshot-%020d.bin", s)));
    }
    try (LocalLedger replayed = LocalLedger.builder().mechanism(LedgerContract.mechanism())
        .blocks(BlockPolicy.manual()).open(dir)) {
      assertEquals(hashes.get(13), replayed.stateHash(), "replayed from genesis");
      assertEquals(14, replayed.blocksReplayedOnOpen());
    }
  }

  @Test
  void aDamagedSnapshotIsSkippedAndTheJournalReplayedInstead() throws IOException {
    List<Hash256> hashes;
    try (LocalLedger ledger = builder().snapshotEvery(3).open(dir)) {
      hashes = fill(ledger, 7, 2);
    }
    try (LocalLedger reopened = builder().open(dir)) {
      assertEquals(1, reopened.blocksReplayedOnOpen(), "block 7, after the snapshot of 6");
    }
    Path newest = dir.resolve(String.format("snapshot-%020d.bin", 6));
    flipByte(newest, 70);
    try (LocalLedger reopened = builder().open(dir)) {
      assertEquals(hashes.get(6), reopened.stateHash());
      assertEquals(4, reopened.blocksReplayedOnOpen(), "from the older snapshot, of block 3");
    }
    flipByte(dir.resolve(String.format("snapshot-%020d.bin", 3)), 20);
    try (LocalLedger reopened = builder().open(dir)) {
      assertEquals(hashes.get(6), reopened.stateHash());
      assertEquals(7, reopened.blocksReplayedOnOpen(), "from genesis");
    }
    try (LocalLedger fresh = builder().openInMemory()) {
      assertEquals(0, fresh.blocksReplayedOnOpen());
    }
  }

  /**
   * A journal restored from an older copy (as a refused journal's message suggests) leaves
   * snapshots of blocks it no longer holds: they must not crowd out the ones written from then on.
   */
  @Test
  void aJournalRestoredFromAnOlderCopyKeepsTheSnapshotsItWrites() throws IOException {
    byte[] copy;
    try (LocalLedger ledger = builder().snapshotEvery(3).open(dir)) {
      fill(ledger, 4, 12);
      copy = Files.readAllBytes(journal());
      fill(ledger, 9, 13); // to block 13: snapshots of 9 and 12
    }
    Files.write(journal(), copy); // back to block 4
    try (LocalLedger restored = builder().snapshotEvery(3).open(dir)) {
      assertEquals(4, restored.metagraph().block().number());
      fill(restored, 3, 14); // to block 7: a snapshot of 6
    }
    assertTrue(Snapshots.list(dir).contains(6L), "the snapshot just written is kept: "
        + Snapshots.list(dir));
    try (LocalLedger reopened = builder().open(dir)) {
      assertEquals(1, reopened.blocksReplayedOnOpen(), "block 7, after the snapshot of 6");
    }
  }

  @Test
  void aLedgerGoesOnAfterReopeningAndKeepsTheChain() throws IOException {
    Block last;
    try (LocalLedger ledger = builder().open(dir)) {
      fill(ledger, 3, 3);
      last = ledger.metagraph().block();
    }
    try (LocalLedger ledger = builder().open(dir)) {
      Block next = ledger.produceBlock();
      assertEquals(last.number() + 1, next.number());
      assertEquals(last.hash(), next.parent());
    }
    assertEquals(4, scan().lastNumber());
  }

  // ---------------------------------------------------------------------------------------
  // Torn tails and corruption

  @Test
  void aTornTailIsCutWhereverTheCrashInterruptedTheWrite() throws IOException {
    List<Hash256> hashes;
    try (LocalLedger ledger = builder().open(dir)) {
      hashes = fill(ledger, 5, 4);
    }
    Journal.Scan full = scan();
    long start = full.offsets()[5];
    long end = full.validEnd();
    byte[] whole = Files.readAllBytes(journal());
    long stride = Math.max(1, (end - start) / 40);
    for (long cut = start + 1; cut < end; cut += stride) {
      Files.write(journal(), java.util.Arrays.copyOf(whole, (int) cut));
      try (LocalLedger reopened = builder().open(dir)) {
        assertEquals(4, reopened.metagraph().block().number(), "cut at " + cut);
        assertEquals(hashes.get(3), reopened.stateHash(), "cut at " + cut);
      }
      assertEquals(start, Files.size(journal()), "the torn part was cut off at " + cut);
    }
  }

  @Test
  void trailingZerosAndAHalfWrittenLastRecordAreTorn() throws IOException {
    Hash256 hash;
    try (LocalLedger ledger = builder().open(dir)) {
      fill(ledger, 3, 5);
      hash = ledger.stateHash();
    }
    long size = Files.size(journal());
    Files.write(journal(), new byte[4096], StandardOpenOption.APPEND);
    try (LocalLedger reopened = builder().open(dir)) {
      assertEquals(hash, reopened.stateHash());
    }
    assertEquals(size, Files.size(journal()));
    // A whole last record whose payload was only partly persisted: its checksum fails.
    Journal.Scan s = scan();
    flipByte(journal(), s.offsets()[3] + 40);
    try (LocalLedger reopened = builder().open(dir)) {
      assertEquals(2, reopened.metagraph().block().number());
    }
  }

  @Test
  void aBadChecksumInTheMiddleRefusesToOpenNamingTheBlock() throws IOException {
    try (LocalLedger ledger = builder().open(dir)) {
      fill(ledger, 6, 6);
    }
    Journal.Scan s = scan();
    flipByte(journal(), s.offsets()[3] + 12 + 20);
    LedgerException e = assertThrows(LedgerException.class, () -> builder().open(dir));
    assertTrue(e.getMessage().contains("block 3 at offset " + s.offsets()[3]), e.getMessage());
    assertTrue(e.getMessage().contains("checksum"), e.getMessage());
    assertEquals(s.validEnd(), Files.size(journal()), "a corrupt journal is never cut");
  }

  @Test
  void aDamagedRecordHeaderInTheMiddleRefusesToOpen() throws IOException {
    try (LocalLedger ledger = builder().open(dir)) {
      fill(ledger, 6, 7);
    }
    Journal.Scan s = scan();
    flipByte(journal(), s.offsets()[2] + 1);
    LedgerException e = assertThrows(LedgerException.class, () -> builder().open(dir));
    assertTrue(e.getMessage().contains("record header of block 2"), e.getMessage());
  }

  @Test
  void aBrokenHashChainRefusesToOpenNamingTheBlock() throws IOException {
    try (LocalLedger ledger = builder().open(dir)) {
      fill(ledger, 6, 8);
    }
    Journal.Scan s = scan();
    // Change block 4's parent hash and fix up its checksums: only the chain can tell.
    rewritePayload(s.offsets()[4], s.offsets()[5], payload -> payload[9] ^= 1);
    LedgerException e = assertThrows(LedgerException.class, () -> builder().open(dir));
    assertTrue(e.getMessage().contains("hash chain breaks at block 4"), e.getMessage());
    assertTrue(e.getMessage().contains("or truncate it before this block"), e.getMessage());
  }

  @Test
  void aBlockThatPassesItsChecksumsButDoesNotDecodeRefusesToOpenNamingTheBlock()
      throws IOException {
    try (LocalLedger ledger = builder().open(dir)) {
      fill(ledger, 6, 9);
    }
    Journal.Scan s = scan();
    // Block 6's transaction count (after kind, number, parent and timestamp) made impossible.
    rewritePayload(s.offsets()[6], s.validEnd(),
        payload -> ByteBuffer.wrap(payload).putInt(49, Integer.MAX_VALUE));
    List<Executable> opens = List.of(() -> builder().open(dir),
        () -> LocalLedger.builder().openReadOnly(dir));
    for (Executable open : opens) {
      LedgerException e = assertThrows(LedgerException.class, open);
      assertTrue(e.getMessage().contains(journal().toString())
          && e.getMessage().contains("(block 6)"), e.getMessage());
    }
    assertEquals(s.validEnd(), Files.size(journal()), "a journal that does not read is never cut");
  }

  /** Changes the payload of the record at {@code at} (ending at {@code end}); fixes its CRCs. */
  private void rewritePayload(long at, long end, Consumer<byte[]> change) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(journal().toFile(), "rw")) {
      int length = (int) (end - at - 12);
      byte[] payload = new byte[length];
      f.seek(at + 12);
      f.readFully(payload);
      change.accept(payload);
      ByteBuffer header = ByteBuffer.allocate(12).putInt(length).putInt(crc(payload, 0, length));
      header.putInt(crc(header.array(), 0, 8));
      f.seek(at);
      f.write(header.array());
      f.write(payload);
    }
  }

  @Test
  void aFileThatIsNotAJournalRefusesToOpen() throws IOException {
    Files.createDirectories(dir);
    Files.writeString(journal(), "not a ledger journal at all");
    LedgerException e = assertThrows(LedgerException.class, () -> builder().open(dir));
    assertTrue(e.getMessage().contains("BTLEDGER"), e.getMessage());
    // No block to cut before: only a copy helps.
    assertTrue(e.getMessage().endsWith("refusing to open (restore it from a copy)"),
        e.getMessage());
  }

  @Test
  void aJournalWhoseGenesisBlockIsDamagedAsksOnlyForACopy() throws IOException {
    try (LocalLedger ledger = builder().open(dir)) {
      fill(ledger, 1, 3);
    }
    Journal.Scan s = scan();
    flipByte(journal(), s.offsets()[0] + 20);
    LedgerException e = assertThrows(LedgerException.class, () -> builder().open(dir));
    assertTrue(e.getMessage().contains("block 0 at offset " + s.offsets()[0]), e.getMessage());
    assertTrue(e.getMessage().endsWith("refusing to open (restore it from a copy)"),
        e.getMessage());
  }

  // ---------------------------------------------------------------------------------------
  // Opening rules

  @Test
  void aSecondOpenIsRefusedButAReadOnlyOneWorks() throws IOException {
    try (LocalLedger ledger = builder().open(dir)) {
      fill(ledger, 2, 9);
      LedgerException e = assertThrows(LedgerException.class, () -> builder().open(dir));
      assertTrue(e.getMessage().contains("already open"), e.getMessage());
      try (LocalLedger reader = LocalLedger.builder().mechanism(LedgerContract.mechanism())
          .openReadOnly(dir)) {
        assertEquals(ledger.stateHash(), reader.stateHash());
        assertThrows(IllegalStateException.class, reader::produceBlock);
        assertThrows(IllegalStateException.class,
            () -> reader.submit(key(0), Transaction.addStake(1)));
      }
    }
  }

  @Test
  void aReadOnlyOpenIgnoresATornTailWithoutCuttingIt() throws IOException {
    try (LocalLedger ledger = builder().open(dir)) {
      fill(ledger, 2, 10);
    }
    Files.write(journal(), new byte[] {0, 0, 0, 9, 1}, StandardOpenOption.APPEND);
    long size = Files.size(journal());
    try (LocalLedger reader = builder().openReadOnly(dir)) {
      assertEquals(2, reader.metagraph().block().number());
    }
    assertEquals(size, Files.size(journal()));
  }

  @Test
  void anotherGenesisOrMechanismIsRefused() throws IOException {
    try (LocalLedger ledger = builder().open(dir)) {
      ledger.produceBlock();
    }
    Genesis other = LedgerFixtures.genesis(new LedgerParams(3, 7, 2, 1, 0), 6);
    LedgerException g = assertThrows(LedgerException.class,
        () -> builder().genesis(other).open(dir));
    assertTrue(g.getMessage().contains("another genesis"), g.getMessage());
    IncentiveMechanism renamed = new IncentiveMechanism() {
      @Override
      public String name() {
        return "other";
      }

      @Override
      public io.bittensor.incentive.EpochResult step(io.bittensor.incentive.NetworkState s) {
        throw new UnsupportedOperationException();
      }
    };
    LedgerException m = assertThrows(LedgerException.class,
        () -> builder().mechanism(renamed).open(dir));
    assertTrue(m.getMessage().contains("\"paper\""), m.getMessage());
  }

  @Test
  void aLedgerReopensWithThePaperParametersItRecordedOrRefusesOthers() throws IOException {
    IncentiveMechanism tau1234 = IncentiveMechanism.paper(PaperParams.defaults().withTau(1234));
    Hash256 hash;
    try (LocalLedger ledger = builder().mechanism(tau1234).open(dir)) {
      fill(ledger, 4, 11);
      hash = ledger.stateHash();
    }
    try (LocalLedger reopened = LocalLedger.builder().blocks(BlockPolicy.manual()).open(dir)) {
      assertEquals(hash, reopened.stateHash());
    }
    IncentiveMechanism tau7 = IncentiveMechanism.paper(PaperParams.defaults().withTau(7));
    LedgerException e = assertThrows(LedgerException.class,
        () -> builder().mechanism(tau7).open(dir));
    assertTrue(e.getMessage().contains("omit mechanism"), e.getMessage());
  }

  /** The paper's mechanism under another name, so that its parameters are not recorded. */
  private static IncentiveMechanism custom(double tau) {
    return custom(IncentiveMechanism.paper(PaperParams.defaults().withTau(tau))::step);
  }

  /** A mechanism named "custom" whose epochs {@code step} computes. */
  private static IncentiveMechanism custom(java.util.function.Function<
      io.bittensor.incentive.NetworkState, io.bittensor.incentive.EpochResult> step) {
    return new IncentiveMechanism() {
      @Override
      public String name() {
        return "custom";
      }

      @Override
      public io.bittensor.incentive.EpochResult step(io.bittensor.incentive.NetworkState s) {
        return step.apply(s);
      }
    };
  }

  @Test
  void replayWithAMechanismThatComputesOtherwiseIsDetected() throws IOException {
    Hash256 hash;
    try (LocalLedger ledger = builder().mechanism(custom(1000)).open(dir)) {
      fill(ledger, 9, 11);
      hash = ledger.stateHash();
    }
    LedgerException none = assertThrows(LedgerException.class,
        () -> LocalLedger.builder().open(dir));
    assertTrue(none.getMessage().contains("pass it to mechanism"), none.getMessage());
    LedgerException e = assertThrows(LedgerException.class,
        () -> builder().mechanism(custom(7)).open(dir));
    assertTrue(e.getMessage().contains("another result"), e.getMessage());
    try (LocalLedger same = builder().mechanism(custom(1000)).open(dir)) {
      assertEquals(hash, same.stateHash());
    }
  }

  /** An Error while opening (here a mechanism's, replaying an epoch) must not keep the lock. */
  @Test
  void anErrorWhileReopeningLeavesTheDirectoryFree() throws IOException {
    Hash256 hash;
    try (LocalLedger ledger = builder().mechanism(custom(1000)).open(dir)) {
      fill(ledger, 9, 11);
      hash = ledger.stateHash();
    }
    IncentiveMechanism broken = custom(s -> {
      throw new AssertionError("a broken mechanism");
    });
    AssertionError e = assertThrows(AssertionError.class,
        () -> builder().mechanism(broken).open(dir));
    assertEquals("a broken mechanism", e.getMessage());
    try (LocalLedger same = builder().mechanism(custom(1000)).open(dir)) {
      assertEquals(hash, same.stateHash(), "the directory's lock was released");
    }
  }

  @Test
  void aDirectoryWithoutALedgerNeedsAGenesis() {
    LedgerException e = assertThrows(LedgerException.class,
        () -> LocalLedger.builder().open(dir));
    assertTrue(e.getMessage().contains("no genesis"), e.getMessage());
    assertThrows(IllegalStateException.class, () -> LocalLedger.builder().openInMemory());
  }

  // ---------------------------------------------------------------------------------------
  // Limits and timers

  @Test
  void tooManyWaitingTransactionsAreBusyUntilTheNextBlock() throws IOException {
    try (LocalLedger ledger = builder().maxPendingTransactions(2).openInMemory()) {
      Hash256 chain = ledger.chainId();
      Keypair k = key(0);
      ledger.submit(SignedTransaction.sign(k, chain, 0, Transaction.transfer(key(2).id(), 1)));
      ledger.submit(SignedTransaction.sign(k, chain, 1, Transaction.transfer(key(1).id(), 1)));
      Hash256 before = ledger.stateHash();
      CompletableFuture<Receipt> third = ledger.submit(
          SignedTransaction.sign(k, chain, 2, Transaction.transfer(key(1).id(), 1)));
      TransactionRejectedException busy = assertInstanceOf(TransactionRejectedException.class,
          LedgerContract.cause(third));
      assertEquals(RejectReason.BUSY, busy.reason());
      assertTrue(busy.retryable());
      assertEquals(before, ledger.stateHash());
      ledger.produceBlock();
      CompletableFuture<Receipt> again = ledger.submit(
          SignedTransaction.sign(k, chain, 2, Transaction.transfer(key(1).id(), 1)));
      assertFalse(again.isDone(), "accepted, waiting for its block");
    }
  }

  // ---------------------------------------------------------------------------------------
  // Registration rules

  private static TransactionRejectedException rejection(CompletableFuture<Receipt> f) {
    return assertInstanceOf(TransactionRejectedException.class, LedgerContract.cause(f));
  }

  private static Transaction register(int i) {
    return Transaction.register(endpoint(i), Modality.TEXT);
  }

  /** Deletes the snapshots of {@code data}, so that opening replays the journal. */
  private static void deleteSnapshots(Path data) throws IOException {
    for (long s : Snapshots.list(data)) {
      Files.delete(data.resolve(String.format("snapshot-%020d.bin", s)));
    }
  }

  @Test
  void aRegistrationBurnsItsCostAndAKeyWithLessIsRefused() throws IOException {
    genesis = LedgerFixtures.genesis(new LedgerParams(3, 6, 2, 1, 0)
        .withRegistrationBurn(300_000), 6);
    Hash256 after;
    try (LocalLedger ledger = builder().snapshotEvery(2).open(dir)) {
      ledger.submit(key(0), register(0));
      ledger.submit(key(1), Transaction.transfer(key(2).id(), 800_000));
      ledger.produceBlock();
      assertEquals(700_000, ledger.account(key(0).id()).orElseThrow().balance());
      assertEquals(genesis.supply() - 300_000, ledger.metagraph().supply());
      long[] audit = ledger.tokenAudit();
      assertEquals(audit[1], audit[0]);
      assertEquals(genesis.supply() - 300_000, audit[1]);

      Hash256 before = ledger.stateHash();
      TransactionRejectedException poor = rejection(ledger.submit(key(1), register(1)));
      assertEquals(RejectReason.INSUFFICIENT_BALANCE, poor.reason());
      assertTrue(poor.detail().contains("burns 300000") && poor.detail().contains("is 200000"),
          poor.detail());
      TransactionRejectedException none = rejection(ledger.submit(key(40), register(40)));
      assertEquals(RejectReason.INSUFFICIENT_BALANCE, none.reason());
      assertTrue(none.detail().contains(key(40).id() + " is 0"), none.detail());
      assertEquals(before, ledger.stateHash(), "the refusals changed nothing");
      assertEquals(1, ledger.account(key(1).id()).orElseThrow().nonce());
      assertTrue(ledger.account(key(40).id()).isEmpty());

      ledger.submit(key(2), register(2)); // 1,800,000: enough
      ledger.submit(key(0), Transaction.addStake(100_000));
      ledger.submit(key(0), Transaction.setWeights(new int[] {0, 1}, new double[] {1, 1}));
      for (int b = 0; b < 4; b++) {
        ledger.produceBlock(); // an epoch mints on top of what was burned
      }
      assertEquals(1_500_000, ledger.account(key(2).id()).orElseThrow().balance());
      Epoch epoch = ledger.metagraph().lastEpoch().orElseThrow();
      assertTrue(epoch.minted() > 0, "an epoch minted");
      audit = ledger.tokenAudit();
      assertEquals(audit[1], audit[0]);
      assertEquals(genesis.supply() - 600_000 + epoch.minted(), audit[1]);
      after = ledger.stateHash();
    }
    try (LocalLedger reopened = builder().open(dir)) {
      assertTrue(reopened.blocksReplayedOnOpen() < 5, "from a snapshot");
      assertEquals(after, reopened.stateHash(), "reopened from a snapshot");
      reopened.compactJournal();
    }
    deleteSnapshots(dir);
    try (LocalLedger compacted = builder().open(dir)) {
      assertEquals(0, compacted.blocksReplayedOnOpen(), "from the checkpoint alone");
      assertEquals(after, compacted.stateHash(), "reopened from the compacted journal");
    }
  }

  @Test
  void theCapAdmitsExactlyItsRegistrationsInABlockAndTheRestInLaterBlocks()
      throws IOException {
    genesis = LedgerFixtures.genesis(new LedgerParams(3, 6, 2, 1, 0)
        .withMaxRegistrationsPerBlock(2), 6);
    Hash256 after;
    try (LocalLedger ledger = builder().open(dir)) {
      List<CompletableFuture<Receipt>> first = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        first.add(ledger.submit(key(i), register(i)));
      }
      for (int i = 2; i < 5; i++) {
        TransactionRejectedException capped = rejection(first.get(i));
        assertEquals(RejectReason.TOO_MANY_REGISTRATIONS, capped.reason());
        assertFalse(capped.retryable());
        assertTrue(capped.detail().contains("block 1 already holds 2 registrations"),
            capped.detail());
      }
      ledger.submit(key(0), Transaction.addStake(10)); // other transactions are not capped
      assertEquals(3, ledger.produceBlock().transactions());
      assertEquals(1, first.get(0).join().block());
      assertEquals(1, first.get(1).join().block());
      CompletableFuture<Receipt> third = ledger.submit(key(2), register(2));
      CompletableFuture<Receipt> fourth = ledger.submit(key(3), register(3));
      assertEquals(RejectReason.TOO_MANY_REGISTRATIONS,
          rejection(ledger.submit(key(4), register(4))).reason());
      ledger.produceBlock();
      CompletableFuture<Receipt> fifth = ledger.submit(key(4), register(4));
      ledger.produceBlock();
      assertEquals(List.of(2L, 2L, 3L),
          List.of(third.join().block(), fourth.join().block(), fifth.join().block()));
      assertEquals(5, ledger.metagraph().size());
      after = ledger.stateHash();
    }
    try (LocalLedger replayed = builder().open(dir)) {
      assertEquals(3, replayed.blocksReplayedOnOpen());
      assertEquals(after, replayed.stateHash(), "the count replays block by block");
    }
  }

  @Test
  void theAuthorityChangesTheRegistrationRulesAndTheChangeReplays() throws IOException {
    LedgerParams rules = genesis.params().withRegistrationBurn(1000)
        .withMaxRegistrationsPerBlock(1);
    Hash256 after;
    try (LocalLedger ledger = builder().snapshotEvery(0).open(dir)) {
      assertEquals(RejectReason.NOT_AUTHORITY,
          rejection(ledger.submit(key(0), Transaction.changeParams(rules))).reason());
      SignedTransaction change = SignedTransaction.sign(LedgerFixtures.authority(),
          ledger.chainId(), 0, Transaction.changeParams(rules));
      assertEquals(2, change.encode()[0], "written as version 2");
      ledger.submit(change);
      ledger.submit(key(0), register(0));
      assertEquals(RejectReason.TOO_MANY_REGISTRATIONS,
          rejection(ledger.submit(key(1), register(1))).reason());
      ledger.produceBlock();
      assertEquals(rules, ledger.metagraph().params());
      assertEquals(genesis.supply() - 1000, ledger.metagraph().supply());
      SignedTransaction back = SignedTransaction.sign(LedgerFixtures.authority(),
          ledger.chainId(), 1, Transaction.changeParams(genesis.params()));
      assertEquals(1, back.encode()[0], "rules at 0 are written as version 1");
      ledger.submit(back);
      ledger.submit(key(1), register(1));
      ledger.submit(key(2), register(2));
      ledger.produceBlock();
      assertEquals(genesis.params(), ledger.metagraph().params());
      assertEquals(genesis.supply() - 1000, ledger.metagraph().supply(), "free again");
      after = ledger.stateHash();
    }
    try (LocalLedger replayed = builder().open(dir)) {
      assertEquals(2, replayed.blocksReplayedOnOpen());
      assertEquals(after, replayed.stateHash());
      assertEquals(genesis.supply() - 1000, replayed.metagraph().supply());
    }
  }

  @Test
  void aTimedLedgerSealsBlocksByItselfOnTheGivenScheduler() throws Exception {
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    try {
      LocalLedger ledger = builder().blocks(BlockPolicy.every(Duration.ofMillis(20)))
          .scheduler(scheduler).open(dir);
      Receipt r = ledger.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT))
          .get(20, TimeUnit.SECONDS);
      assertTrue(r.block() >= 1);
      ledger.close();
      long after = Journal.scan(journal(), Set.of()).lastNumber();
      Thread.sleep(100);
      assertEquals(after, Journal.scan(journal(), Set.of()).lastNumber(), "no blocks after close");
      assertFalse(scheduler.isShutdown(), "the caller's scheduler stays open");
    } finally {
      scheduler.shutdownNow();
      assertTrue(scheduler.awaitTermination(10, TimeUnit.SECONDS));
    }
  }

  @Test
  void aTimedLedgerWithItsOwnThreadStopsItOnClose() throws Exception {
    LocalLedger ledger = builder().blocks(BlockPolicy.every(Duration.ofMillis(10))).open(dir);
    ledger.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT))
        .get(20, TimeUnit.SECONDS);
    ledger.close();
    for (int i = 0; i < 100 && blockThreadAlive(); i++) {
      Thread.sleep(50);
    }
    assertFalse(blockThreadAlive(), "the ledger's own timer thread ends");
  }

  /** An interval too long to write in milliseconds means "about never", not an overflow. */
  @Test
  void aHugeBlockIntervalOpensAndSealsNothingByItself() throws Exception {
    BlockPolicy never = BlockPolicy.every(Duration.ofSeconds(Long.MAX_VALUE));
    try (LocalLedger ledger = builder().blocks(never).open(dir)) {
      assertEquals(0, ledger.metagraph().block().number());
      assertEquals(1, ledger.produceBlock().number());
    }
    assertThrows(IllegalArgumentException.class,
        () -> BlockPolicy.every(Duration.ofNanos(999_999)));
  }

  private static boolean blockThreadAlive() {
    return Thread.getAllStackTraces().keySet().stream()
        .anyMatch(t -> t.getName().equals("bittensor-ledger-blocks") && t.isAlive());
  }

  @Test
  void epochsOverUnchangedWeightsKeepTheBondsOnTheWeightsPattern() throws IOException {
    try (LocalLedger ledger = builder().openInMemory()) {
      for (int i = 0; i < 3; i++) {
        ledger.submit(key(i), Transaction.register(endpoint(i), Modality.TEXT));
      }
      ledger.produceBlock();
      for (int i = 0; i < 3; i++) {
        ledger.submit(key(i), Transaction.addStake(100));
        ledger.submit(key(i), Transaction.setWeights(new int[] {(i + 1) % 3}, new double[] {1}));
      }
      ledger.produceBlocks(6);   // epochs after blocks 3 and 6
      Metagraph m = ledger.metagraph();
      io.bittensor.incentive.CsrMatrix w = (io.bittensor.incentive.CsrMatrix) m.weights();
      io.bittensor.incentive.CsrMatrix b = (io.bittensor.incentive.CsrMatrix) m.bonds();
      assertTrue(b.sharesPatternWith(w), "the mechanism's fast path applies");
      assertTrue(b.get(0, 1) > 0);
    }
  }

  @Test
  void stateHashesDifferForDifferentStates() throws IOException {
    try (LocalLedger a = builder().openInMemory(); LocalLedger b = builder().openInMemory()) {
      assertEquals(a.stateHash(), b.stateHash());
      a.submit(key(0), Transaction.transfer(key(1).id(), 1));
      assertNotEquals(a.stateHash(), b.stateHash());
      b.submit(key(0), Transaction.transfer(key(1).id(), 1));
      assertEquals(a.stateHash(), b.stateHash());
      a.produceBlock();
      assertNotEquals(a.stateHash(), b.stateHash(), "the height is part of the state");
    }
  }

  @Test
  void closingWaitsForNothingAndFailsWaitingTransactionsAsNotInTheLedger() throws IOException {
    LocalLedger ledger = builder().open(dir);
    CompletableFuture<Receipt> f = ledger.submit(key(0), Transaction.transfer(key(1).id(), 1));
    assertFalse(f.isDone());
    ledger.close();
    CompletionException e = assertThrows(CompletionException.class, f::join);
    assertTrue(e.getCause().getMessage().contains("not in the ledger"));
    try (LocalLedger reopened = builder().open(dir)) {
      assertEquals(0, reopened.nextNonce(key(0).id()), "it was never durable");
    }
  }

  @Test
  void aFailedJournalWriteFailsTheBlockAndEveryLaterTransaction() throws IOException {
    LocalLedger ledger = builder().open(dir);
    CompletableFuture<Receipt> f = ledger.submit(key(0), Transaction.transfer(key(1).id(), 5));
    Thread.currentThread().interrupt();   // Java's file channels close on interrupt
    try {
      LedgerException e = assertThrows(LedgerException.class, ledger::produceBlock);
      assertTrue(e.getMessage().contains("cannot write block 1"), e.getMessage());
    } finally {
      Thread.interrupted();
    }
    Throwable cause = LedgerContract.cause(f);
    assertInstanceOf(LedgerException.class, cause);
    assertFalse(cause instanceof TransactionRejectedException);
    CompletableFuture<Receipt> later = ledger.submit(key(2), Transaction.transfer(key(1).id(), 5));
    assertTrue(LedgerContract.cause(later).getMessage().contains("failed"));
    assertThrows(LedgerException.class, ledger::produceBlock);
    ledger.close();
    try (LocalLedger reopened = builder().open(dir)) {
      assertEquals(0, reopened.metagraph().block().number());
      assertEquals(0, reopened.nextNonce(key(0).id()), "never acknowledged, never durable");
      reopened.submit(key(0), Transaction.transfer(key(1).id(), 5));
      assertEquals(1, reopened.produceBlock().number());
    }
  }

  @Test
  void aTimerTheSchedulerRefusesLeavesTheDirectoryFree() throws IOException {
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    scheduler.shutdown();
    assertThrows(RejectedExecutionException.class, () -> builder()
        .blocks(BlockPolicy.every(Duration.ofMillis(20))).scheduler(scheduler).open(dir));
    // The journal and the directory's lock were left open: refused as open in this process.
    try (LocalLedger again = builder().open(dir)) {
      assertEquals(0, again.metagraph().block().number());
    }
  }

  @Test
  void aListenerCannotSealAnotherBlockInsideTheOneItHears() throws IOException {
    LocalLedger ledger = builder().snapshotEvery(3).compactAtSnapshots(true).open(dir);
    List<Throwable> nested = new ArrayList<>();
    ledger.subscribe(new LedgerListener() {
      @Override
      public void onBlock(Block block, Metagraph after) {
        if (block.number() == 3) {
          ledger.submit(key(0), Transaction.transfer(key(1).id(), 5));
          try {
            ledger.produceBlock();
          } catch (LedgerException | RuntimeException e) {
            nested.add(e);
          }
        }
      }
    });
    List<Long> heard = new ArrayList<>();
    ledger.subscribe(new LedgerListener() {
      @Override
      public void onBlock(Block block, Metagraph after) {
        heard.add(block.number());
      }
    });
    ledger.produceBlocks(4);
    assertEquals(List.of(1L, 2L, 3L, 4L), heard, "in block order");
    assertEquals(1, nested.size());
    assertInstanceOf(IllegalStateException.class, nested.get(0));
    ledger.close();
    // Sealed inside block 3's listener, block 4 was dropped by block 3's compaction after it.
    try (LocalLedger reopened = builder().open(dir)) {
      assertEquals(4, reopened.metagraph().block().number());
      assertEquals(1, reopened.nextNonce(key(0).id()), "the transfer is durable");
    }
  }

  @Test
  void aLedgerClosedByItsListenerWritesNothingAfterTheLockIsReleased() throws IOException {
    LocalLedger ledger = builder().snapshotEvery(1).compactAtSnapshots(true).open(dir);
    List<LocalLedger> next = new ArrayList<>();
    ledger.subscribe(new LedgerListener() {
      @Override
      public void onBlock(Block block, Metagraph after) {
        closeAndOpenAgain(ledger, next);
      }
    });
    ledger.produceBlock();
    assertEquals(1, next.size(), "the directory is free once closed");
    secondLedgerKeepsWhatItAcknowledges(next.get(0));
  }

  /** Closes {@code ledger} and, as another process may, opens its directory at once. */
  private void closeAndOpenAgain(LocalLedger ledger, List<LocalLedger> next) {
    ledger.close();
    try {
      next.add(builder().open(dir));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The ledger opened after the first closed seals block 2, which is there on reopening. */
  private void secondLedgerKeepsWhatItAcknowledges(LocalLedger second) throws IOException {
    try (second) {
      CompletableFuture<Receipt> f = second.submit(key(0), Transaction.transfer(key(1).id(), 5));
      assertEquals(2, second.produceBlock().number());
      assertEquals(2, f.join().block(), "acknowledged");
    }
    try (LocalLedger reopened = builder().open(dir)) {
      assertEquals(1, reopened.nextNonce(key(0).id()), "block 2 was acknowledged");
    }
  }

  /**
   * A compaction that waited for a block while the ledger was closed must not rewrite the
   * journal another ledger has opened since: that one's blocks would go to the replaced file.
   */
  @Test
  void aCompactionThatWaitedWhileTheLedgerClosedWritesNothing() throws Exception {
    LocalLedger ledger = builder().open(dir);
    AtomicReference<Throwable> compaction = new AtomicReference<>();
    Thread compacting = new Thread(() -> {
      try {
        ledger.compactJournal();
      } catch (Throwable t) {
        compaction.set(t);
      }
    });
    List<LocalLedger> next = new ArrayList<>();
    ledger.subscribe(new LedgerListener() {
      @Override
      public void onBlock(Block block, Metagraph after) {
        compacting.start();
        while (compacting.getState() != Thread.State.WAITING) { // for the block being sealed
          Thread.onSpinWait();
        }
        closeAndOpenAgain(ledger, next);
      }
    });
    ledger.produceBlock();
    compacting.join();
    assertTrue(compaction.get() instanceof IllegalStateException, "refused: " + compaction);
    secondLedgerKeepsWhatItAcknowledges(next.get(0));
  }

  @Test
  void anErrorWhileSealingFailsTheBlockAndStopsTheLedger() throws IOException {
    AtomicBoolean broken = new AtomicBoolean();
    Clock clock =
        LedgerFixtures.failingWhen(broken::get, "the clock broke", LedgerFixtures.fixedClock());
    LocalLedger ledger = builder().clock(clock).open(dir);
    CompletableFuture<Receipt> f = ledger.submit(key(0), Transaction.transfer(key(1).id(), 5));
    broken.set(true);
    assertThrows(Error.class, ledger::produceBlock);
    broken.set(false);
    assertTrue(f.isDone(), "the block's transactions are not left waiting");
    assertInstanceOf(LedgerException.class, LedgerContract.cause(f));
    // The state holds the transfer, which no block will: the ledger must stop.
    CompletableFuture<Receipt> later = ledger.submit(key(0), Transaction.transfer(key(1).id(), 5));
    assertTrue(LedgerContract.cause(later).getMessage().contains("failed"));
    assertThrows(LedgerException.class, ledger::produceBlock);
    ledger.close();
    try (LocalLedger reopened = builder().open(dir)) {
      assertEquals(0, reopened.metagraph().block().number());
      assertEquals(0, reopened.nextNonce(key(0).id()), "never acknowledged, never durable");
    }
  }

  @Test
  void theStagesOfTransactionsTheLedgerFailsRunOutsideItsLocks() throws IOException {
    LocalLedger[] ledger = new LocalLedger[1];
    List<String> heard = new ArrayList<>();
    AtomicBoolean broken = new AtomicBoolean();
    // The clock breaks while block 1 is sealed, just after another transaction came in (here
    // from the clock itself, as from another thread at that moment): it waits for block 2.
    Clock clock = LedgerFixtures.failingWhen(() -> {
      if (!broken.getAndSet(false)) {
        return false;
      }
      ledger[0].submit(key(2), Transaction.transfer(key(1).id(), 5))
          .whenComplete((r, e) -> heard.add("waiting: " + askAnotherThread(ledger[0])));
      return true;
    }, "the clock broke", LedgerFixtures.fixedClock());
    ledger[0] = builder().clock(clock).open(dir);
    CompletableFuture<Receipt> f =
        ledger[0].submit(key(0), Transaction.transfer(key(1).id(), 5));
    f.whenComplete((r, e) -> heard.add("in the block: " + askAnotherThread(ledger[0])));
    broken.set(true);
    assertThrows(Error.class, ledger[0]::produceBlock);
    // Each stage ran on this thread as the ledger failed its future, and asked another thread
    // to read an account (the state's lock) and to seal a block (the seal's lock).
    assertEquals(List.of(
        "in the block: account returned, produceBlock threw LedgerException",
        "waiting: account returned, produceBlock threw LedgerException"), heard);
    ledger[0].close();
  }

  /** What the ledger answers another thread, each call awaited at most 5 seconds. */
  private static String askAnotherThread(LocalLedger ledger) {
    return "account " + onAnotherThread(() -> ledger.account(key(1).id()))
        + ", produceBlock " + onAnotherThread(ledger::produceBlock);
  }

  /**
   * Runs {@code call} on a new thread and waits at most 5 seconds: "returned", "threw" and the
   * exception's class, or "still waited after 5 s" (for a lock the calling thread holds).
   */
  private static String onAnotherThread(Callable<?> call) {
    FutureTask<?> task = new FutureTask<>(call);
    Thread t = new Thread(task, "another");
    t.setDaemon(true);
    t.start();
    try {
      task.get(5, TimeUnit.SECONDS);
      return "returned";
    } catch (ExecutionException e) {
      return "threw " + e.getCause().getClass().getSimpleName();
    } catch (TimeoutException e) {
      return "still waited after 5 s";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }

  @Test
  void anErrorFromAListenerOnTheTimersThreadDoesNotStopTheBlocks() throws Exception {
    CountDownLatch thrown = new CountDownLatch(1);
    try (LocalLedger ledger =
        builder().blocks(BlockPolicy.every(Duration.ofMillis(10))).open(dir)) {
      ledger.subscribe(new LedgerListener() {
        @Override
        public void onBlock(Block block, Metagraph after) {
          if (thrown.getCount() > 0) {
            thrown.countDown();
            throw new AssertionError("a listener's bug");
          }
        }
      });
      assertTrue(thrown.await(10, TimeUnit.SECONDS));
      // The executor drops a periodic task that throws: no block would ever come again.
      Receipt r = ledger.submit(key(0), Transaction.transfer(key(1).id(), 5))
          .get(10, TimeUnit.SECONDS);
      assertTrue(r.block() > 1);
    }
  }

  @Test
  void anErrorFromAListenerOnTheCallersThreadStillLeavesTheBlocksSnapshotAndCompaction()
      throws IOException {
    LocalLedger ledger = builder().snapshotEvery(3).compactAtSnapshots(true).open(dir);
    onBlocks(ledger, block -> {
      if (block.number() == 3) {
        throw new AssertionError("a listener's bug");
      }
    });
    List<Long> heard = new ArrayList<>();
    onBlocks(ledger, block -> heard.add(block.number()));
    ledger.produceBlocks(2);
    CompletableFuture<Receipt> f = ledger.submit(key(0), Transaction.transfer(key(1).id(), 5));
    AssertionError e = assertThrows(AssertionError.class, ledger::produceBlock);
    assertEquals("a listener's bug", e.getMessage(), "the caller hears the listener's Error");
    assertEquals(3, f.join().block());
    assertEquals(List.of(3L), Snapshots.list(dir), "block 3's snapshot was written");
    assertEquals(3, scan().checkpoint(), "and the journal compacted at it");
    assertEquals(List.of(1L, 2L, 3L), heard, "the listener after it heard the block too");
    Hash256 hash = ledger.stateHash();
    ledger.close();
    try (LocalLedger reopened = builder().open(dir)) {
      assertEquals(0, reopened.blocksReplayedOnOpen(), "opened from block 3's snapshot");
      assertEquals(hash, reopened.stateHash());
      assertEquals(1, reopened.nextNonce(key(0).id()));
      assertEquals(4, reopened.produceBlock().number());
    }
  }

  /** Subscribes {@code action} to the blocks. */
  private static void onBlocks(Ledger ledger, Consumer<Block> action) {
    ledger.subscribe(new LedgerListener() {
      @Override
      public void onBlock(Block block, Metagraph after) {
        action.accept(block);
      }
    });
  }

  @Test
  void aFailedLedgerExportsNoState() throws IOException {
    LocalLedger ledger = builder().open(dir);
    ledger.submit(key(0), Transaction.transfer(key(1).id(), 5));
    Thread.currentThread().interrupt();   // Java's file channels close on interrupt
    try {
      assertThrows(LedgerException.class, ledger::produceBlock);
    } finally {
      Thread.interrupted();
    }
    // Its state is ahead of its last durable block: an export would pair the two.
    assertThrows(IllegalStateException.class, ledger::exportState);
    ledger.close();
  }

  private static void flipByte(Path file, long at) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.seek(at);
      int b = f.read();
      f.seek(at);
      f.write(b ^ 0x5a);
    }
  }

  private static int crc(byte[] b, int off, int len) {
    CRC32C c = new CRC32C();
    c.update(b, off, len);
    return (int) c.getValue();
  }
}
