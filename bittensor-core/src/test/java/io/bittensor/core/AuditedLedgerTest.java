package io.bittensor.core;

import static io.bittensor.core.testing.LedgerFixtures.endpoint;
import static io.bittensor.core.testing.LedgerFixtures.key;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.testing.LedgerFixtures;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link AuditedLedger}: over an honest ledger, its listeners hear every block and epoch in
 * order and its receipts are the ledger's; over one that lies about a block's state, or gives a
 * receipt for a block that does not hold the transaction, the lie is caught there, nothing from
 * it on is heard, and what waited fails.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AuditedLedgerTest {
  @TempDir Path tmp;

  /** A ledger served by someone who may lie: in the blocks it reads back, or in its receipts. */
  private static final class Server implements Ledger, BlockHistory {
    final LocalLedger honest;
    volatile UnaryOperator<BlockRecord> liar = r -> r;
    volatile long receiptsEarlierBy;
    /** False to leave the ledger open when an audited ledger over it closes. */
    volatile boolean closes = true;
    final AtomicLong blocksRead = new AtomicLong();
    /** Reads asked for, and how long each takes before it starts (a slow server). */
    final AtomicLong reads = new AtomicLong();
    volatile long readDelayMillis;
    /** Thrown by submit instead of submitting, when set. */
    volatile RuntimeException submitThrows;
    /** When set, submit seals nothing and answers a receipt naming this block. */
    volatile long receiptsForBlock;
    /** Thrown by subscribe instead of subscribing, when set. */
    volatile RuntimeException subscribeThrows;
    /** Who subscribed, to announce blocks the ledger never sealed to. */
    final List<LedgerListener> followers = new CopyOnWriteArrayList<>();
    /** How many blocks short of the ledger's latest reads end (a member that lags). */
    volatile long historyLagsBy;
    /**
     * When set, reads hang until the server closes, then fail: a server that stopped answering,
     * whose client cancels its calls as it closes (as a {@code RemoteLedger} does).
     */
    volatile CountDownLatch readsHangTillClosed;
    /** Counted down when a read starts to hang. */
    final CountDownLatch readHangs = new CountDownLatch(1);

    Server(LocalLedger honest) {
      this.honest = honest;
    }

    @Override
    public Hash256 chainId() {
      return honest.chainId();
    }

    @Override
    public Metagraph metagraph() {
      return honest.metagraph();
    }

    @Override
    public Optional<Account> account(PeerId id) {
      return honest.account(id);
    }

    @Override
    public CompletableFuture<Receipt> submit(SignedTransaction transaction) {
      if (submitThrows != null) {
        throw submitThrows;
      }
      if (receiptsForBlock > 0) {
        return CompletableFuture.completedFuture(
            new Receipt(transaction.hash(), receiptsForBlock, 0));
      }
      return honest.submit(transaction).thenApply(r -> new Receipt(r.transaction(),
          Math.max(1, r.block() - receiptsEarlierBy), r.index()));
    }

    @Override
    public Subscription subscribe(LedgerListener listener) {
      if (subscribeThrows != null) {
        throw subscribeThrows;
      }
      followers.add(listener);
      Subscription s = honest.subscribe(listener);
      return () -> {
        followers.remove(listener);
        s.close();
      };
    }

    /** Announces block {@code number}, which the ledger never sealed, as a liar would. */
    void announce(long number) {
      Block latest = honest.metagraph().block();
      Block lie = new Block(number, Hash256.of(new byte[] {(byte) number}), latest.hash(),
          latest.timestamp(), 0, false);
      for (LedgerListener l : followers) {
        l.onBlock(lie, honest.metagraph());
      }
    }

    @Override
    public long readBlocks(long from, long to, Predicate<BlockRecord> visitor)
        throws LedgerException {
      reads.incrementAndGet();
      CountDownLatch hang = readsHangTillClosed;
      if (hang != null) {
        readHangs.countDown();
        try {
          hang.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        throw new LedgerException("the read was cancelled: the client closed");
      }
      if (readDelayMillis > 0) {
        try {
          Thread.sleep(readDelayMillis);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new LedgerException("interrupted");
        }
      }
      long end = honest.metagraph().block().number() - historyLagsBy;
      return honest.readBlocks(from, Math.min(to, end), r -> {
        blocksRead.incrementAndGet();
        return visitor.test(liar.apply(r));
      });
    }

    @Override
    public byte[] genesisBlock() {
      return honest.genesisBlock();
    }

    @Override
    public void close() {
      CountDownLatch hang = readsHangTillClosed;
      if (hang != null) {
        hang.countDown();
      }
      if (closes) {
        honest.close();
      }
    }
  }

  private LocalLedger ledger(String name) throws IOException {
    return LocalLedger.builder().genesis(LedgerFixtures.genesis(LedgerFixtures.params(8), 4))
        .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual())
        .open(tmp.resolve(name));
  }

  /** Records what a listener hears, as lines. */
  private static final class Heard implements LedgerListener {
    final List<String> lines = Collections.synchronizedList(new ArrayList<>());
    volatile Metagraph last;

    @Override
    public void onBlock(Block block, Metagraph after) {
      lines.add("block " + block.number());
      last = after;
    }

    @Override
    public void onEpoch(Epoch epoch, Metagraph after) {
      lines.add("epoch " + epoch.number());
    }
  }

  private static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
      Thread.sleep(5);
    }
  }

  /** The record with its transactions dropped, the header's count made to match. */
  private static BlockRecord emptied(BlockRecord r) {
    Block b = r.block();
    return new BlockRecord(new Block(b.number(), b.hash(), b.parent(), b.timestamp(), 0,
        b.epoch()), List.of(), r.epoch(), r.after());
  }

  /** The record with a state the block does not lead to (one token more). */
  private static BlockRecord forged(BlockRecord r) {
    Metagraph m = r.after();
    return new BlockRecord(r.block(), r.transactions(), r.epoch(), Metagraph.of(m.chainId(),
        r.block(), m.params(), m.supply() + 1, m.lastEpoch(), m.peers(), m.weights(),
        m.bonds()));
  }

  @Test
  void overAnHonestLedgerItHearsEveryBlockAuditedAndPassesTheReceiptsOn() throws Exception {
    Server server = new Server(ledger("honest"));
    server.honest.produceBlocks(3); // audited when it opens
    try (AuditedLedger audited = AuditedLedger.over(server, server.chainId())) {
      assertEquals(3, audited.metagraph().block().number());
      Heard heard = new Heard();
      audited.subscribe(heard);
      CompletableFuture<Receipt> registered =
          audited.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT));
      CompletableFuture<Receipt> weighed =
          audited.submit(key(1), Transaction.register(endpoint(1), Modality.TEXT));
      Block fourth = server.honest.produceBlock();
      assertEquals(new Receipt(registered.get(10, TimeUnit.SECONDS).transaction(), 4, 0),
          registered.get());
      assertEquals(fourth.number(), weighed.get(10, TimeUnit.SECONDS).block());
      server.honest.produceBlocks(8);
      await(() -> heard.lines.size() >= 11, "blocks 4 to 12 and two epochs");
      assertEquals(expected(4, 12), heard.lines);
      assertEquals(server.honest.metagraph().peers(), audited.metagraph().peers());
      assertEquals(server.honest.metagraph().block(), audited.metagraph().block());
      assertEquals(server.honest.metagraph().block(), heard.last.block());
      assertTrue(audited.failure().isEmpty());
    }
  }

  private static List<String> expected(long from, long to) {
    List<String> lines = new ArrayList<>();
    for (long n = from; n <= to; n++) {
      if (n % 5 == 0) {
        lines.add("epoch " + n / 5);
      }
      lines.add("block " + n);
    }
    return lines;
  }

  /**
   * A server slower to read than to seal: the blocks announced while one read is out are asked
   * for together, not one request each, and heard in order all the same.
   */
  @Test
  void blocksAnnouncedWhileOneIsReadAreReadTogether() throws Exception {
    Server server = new Server(ledger("burst"));
    try (AuditedLedger audited = AuditedLedger.over(server, server.chainId())) {
      Heard heard = new Heard();
      audited.subscribe(heard);
      server.honest.produceBlock();
      await(() -> heard.lines.size() >= 1, "block 1"); // the audit at opening is over
      long before = server.reads.get();
      server.readDelayMillis = 50;
      server.honest.produceBlocks(40);
      await(() -> heard.lines.size() >= 49, "blocks 1 to 41 and eight epochs");
      assertEquals(expected(1, 41), heard.lines);
      long reads = server.reads.get() - before;
      assertTrue(reads <= 5, reads + " reads for a burst of 40 blocks");
      assertEquals(41, audited.metagraph().block().number());
    }
  }

  @Test
  void aBlockWhoseTransactionWasDroppedIsCaughtAndNothingFromItOnIsHeard() throws Exception {
    Server server = new Server(ledger("dropped"));
    try (AuditedLedger audited = AuditedLedger.over(server, server.chainId())) {
      Heard heard = new Heard();
      audited.subscribe(heard);
      server.honest.produceBlocks(2);
      await(() -> heard.lines.size() >= 2, "blocks 1 and 2");
      server.liar = r -> r.block().number() == 3 ? emptied(r) : r;
      CompletableFuture<Receipt> waiting =
          audited.submit(key(0), Transaction.transfer(key(1).id(), 5));
      server.honest.produceBlocks(3);
      await(() -> audited.failure().isPresent(), "the audit to fail");
      assertEquals(List.of("block 1", "block 2"), heard.lines, "nothing from block 3 on");
      ChainAudit.MismatchException e = assertThrows(ChainAudit.MismatchException.class,
          audited::metagraph);
      assertTrue(e.getMessage().contains("block 3 replays to"), e.getMessage());
      ExecutionException failed = assertThrows(ExecutionException.class,
          () -> waiting.get(10, TimeUnit.SECONDS));
      assertInstanceOf(ChainAudit.MismatchException.class, failed.getCause());
      assertTrue(audited.submit(key(1), Transaction.transfer(key(0).id(), 1))
          .isCompletedExceptionally(), "nothing more is sent once the audit failed");
    }
  }

  @Test
  void aReceiptForABlockThatDoesNotHoldTheTransactionFails() throws Exception {
    Server server = new Server(ledger("receipts"));
    server.honest.produceBlocks(2);
    try (AuditedLedger audited = AuditedLedger.over(server, server.chainId())) {
      server.receiptsEarlierBy = 1; // the server names the block before the right one
      CompletableFuture<Receipt> f = audited.submit(key(0), Transaction.transfer(key(1).id(), 5));
      server.honest.produceBlock();
      ExecutionException e = assertThrows(ExecutionException.class,
          () -> f.get(10, TimeUnit.SECONDS));
      ChainAudit.MismatchException m = assertInstanceOf(ChainAudit.MismatchException.class,
          e.getCause());
      // Whichever the audit met first: the block the server named, or the one that holds it.
      assertTrue(m.getMessage().contains("in block 2, but block 2 as audited does not hold it")
          || m.getMessage().contains("in block 2 (index 0), but as audited it is in block 3"
          + " (index 0)"), m.getMessage());
      assertTrue(audited.failure().isEmpty(), "the chain itself checks out");
    }
  }

  /**
   * A receipt naming a block far past the server's history and everything it announced fails
   * once a read of the history, begun the grace after the receipt came, ends before that block:
   * it does not wait for the chain to reach it. The chain itself still checks out.
   */
  @Test
  void aReceiptForABlockFarPastTheHistoryFailsWithoutWaitingForIt() throws Exception {
    Server server = new Server(ledger("far"));
    server.honest.produceBlocks(2);
    try (AuditedLedger audited = AuditedLedger.over(server, server.chainId(), null, null,
        Duration.ofMillis(200))) {
      server.receiptsForBlock = 1_000_000; // and the transaction is never sealed
      CompletableFuture<Receipt> f = audited.submit(key(0), Transaction.transfer(key(1).id(), 5));
      assertRefused(f, 10_000, "in block 1000000, but its history read at least 200 ms after the"
          + " receipt came still ends at block 2 and it announced none after block 2");
      assertHonestReceiptsStillComplete(server, audited);
    }
  }

  /** Asserts {@code f} failed within {@code millis} with a mismatch whose message has this. */
  private static void assertRefused(CompletableFuture<Receipt> f, long millis, String message) {
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> f.get(millis, TimeUnit.MILLISECONDS), "the submission is still waiting");
    ChainAudit.MismatchException m = assertInstanceOf(ChainAudit.MismatchException.class,
        e.getCause());
    assertTrue(m.getMessage().contains(message), m.getMessage());
  }

  /** After a lie about a receipt: the chain itself checks out, and block 3 completes one. */
  private static void assertHonestReceiptsStillComplete(Server server, AuditedLedger audited)
      throws Exception {
    server.receiptsForBlock = 0;
    CompletableFuture<Receipt> honest =
        audited.submit(key(1), Transaction.transfer(key(0).id(), 1));
    server.honest.produceBlock();
    assertEquals(3, honest.get(10, TimeUnit.SECONDS).block());
    assertTrue(audited.failure().isEmpty(), "the chain itself checks out");
  }

  /** What a receipt for block 1000000, announced and never sealed, fails with. */
  private static final String ANNOUNCED_LIE = "in block 1000000, which it announced, but its"
      + " history read at least 200 ms after the receipt came still ends at block 2";

  /**
   * A server that keeps announcing blocks far ahead of its history, and gives a receipt in one
   * of them: its announcements do not extend the grace, so once a read begun the grace after
   * the receipt came still ends before its block the submission fails, and does not wait for
   * the chain to get there (if ever).
   */
  @Test
  void aReceiptInABlockOnlyAnnouncedFailsWhenTheHistoryStillLacksItAfterTheGrace()
      throws Exception {
    Server server = new Server(ledger("announced"));
    server.honest.produceBlocks(2);
    try (AuditedLedger audited = AuditedLedger.over(server, server.chainId(), null, null,
        Duration.ofMillis(200))) {
      server.announce(1_000_000);
      server.receiptsForBlock = 1_000_000; // and the transaction is never sealed
      long start = System.nanoTime();
      CompletableFuture<Receipt> f = audited.submit(key(0), Transaction.transfer(key(1).id(), 5));
      long deadline = start + TimeUnit.SECONDS.toNanos(5);
      for (long n = 1_000_001; !f.isDone() && System.nanoTime() < deadline; n++) {
        server.announce(n); // a block event every 20 ms, each further ahead
        try {
          f.get(20, TimeUnit.MILLISECONDS);
        } catch (TimeoutException | ExecutionException stillWaitingOrFailed) {
          // Checked below.
        }
      }
      assertRefused(f, 0, ANNOUNCED_LIE); // 5 s of announcements over
      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertTrue(millis >= 200, "failed after " + millis + " ms, within the grace");
      assertHonestReceiptsStillComplete(server, audited);
    }
  }

  /**
   * As above with a server that announces the block once and then says nothing: the audit
   * reads its history again itself when the grace is over, and the submission fails then.
   */
  @Test
  void aReceiptInABlockAnnouncedOnceFailsAfterTheGraceThoughTheServerFallsSilent()
      throws Exception {
    refusedAfterAnnouncing("silent", 1_000_000, 1_000_000, ANNOUNCED_LIE);
  }

  /**
   * A server that announced a block far ahead, then gave a receipt in an earlier block it never
   * announced: the refusal does not say it announced that block (it used to, of every block up
   * to the highest announced).
   */
  @Test
  void aReceiptInABlockNeverAnnouncedIsNotSaidToBeAnnouncedThoughALaterOneWas()
      throws Exception {
    refusedAfterAnnouncing("skipped", 1_000_000, 500_000, "in block 500000, but its history"
        + " read at least 200 ms after the receipt came still ends at block 2");
  }

  /**
   * Over a server at block 2 that announces block {@code announced} once, never sealed, and
   * gives a receipt in block {@code inBlock}: the submission is refused with {@code message}
   * within 5 s (the grace is 200 ms), an honest receipt completes after, and the listeners hear
   * only the audited block 3.
   */
  private void refusedAfterAnnouncing(String name, long announced, long inBlock, String message)
      throws Exception {
    Server server = new Server(ledger(name));
    server.honest.produceBlocks(2);
    try (AuditedLedger audited = AuditedLedger.over(server, server.chainId(), null, null,
        Duration.ofMillis(200))) {
      Heard heard = new Heard();
      audited.subscribe(heard);
      server.announce(announced);
      server.receiptsForBlock = inBlock;
      CompletableFuture<Receipt> f = audited.submit(key(0), Transaction.transfer(key(1).id(), 5));
      assertRefused(f, 5_000, message);
      assertHonestReceiptsStillComplete(server, audited);
      await(() -> !heard.lines.isEmpty(), "block 3");
      assertEquals(List.of("block 3"), heard.lines, "only the audited block");
    }
  }

  /**
   * The member read from lags the one that announced the receipt's block (a Raft group): the
   * submission waits, and completes once that member has the block, within the grace, even if
   * no block is announced after.
   */
  @Test
  void aHistoryThatLagsTheAnnouncementWithinTheGraceStillCompletesTheReceipt()
      throws Exception {
    Server server = new Server(ledger("lagging"));
    server.honest.produceBlocks(2);
    try (AuditedLedger audited = AuditedLedger.over(server, server.chainId(), null, null,
        Duration.ofSeconds(2))) {
      server.historyLagsBy = 1;
      CompletableFuture<Receipt> f = audited.submit(key(0), Transaction.transfer(key(1).id(), 5));
      long before = server.reads.get();
      server.honest.produceBlock(); // announced, and block 3 as the member read from has it
      // The announcement's read and the receipt's, each ending at block 2.
      await(() -> server.reads.get() >= before + 2, "two reads that end at block 2");
      assertTrue(!f.isDone(), "done while its block could not be read: " + f);
      server.historyLagsBy = 0; // caught up; no block is announced after
      assertEquals(3, f.get(5, TimeUnit.SECONDS).block());
      assertEquals(3, audited.metagraph().block().number());
    }
  }

  /** A server slower to read than the grace: an honest receipt still completes. */
  @Test
  void aServerSlowerToReadThanTheGraceStillCompletesTheReceipt() throws Exception {
    Server server = new Server(ledger("slow"));
    server.honest.produceBlocks(2);
    try (AuditedLedger audited = AuditedLedger.over(server, server.chainId(), null, null,
        Duration.ofMillis(50))) {
      server.readDelayMillis = 200;
      CompletableFuture<Receipt> f = audited.submit(key(0), Transaction.transfer(key(1).id(), 5));
      server.honest.produceBlock();
      server.honest.produceBlock();
      assertEquals(3, f.get(10, TimeUnit.SECONDS).block());
      assertTrue(audited.failure().isEmpty());
    }
  }

  @Test
  void aRejectionIsTheServersAndAHistoryThatLiesAlreadyIsRefusedAtOpening() throws Exception {
    Server server = new Server(ledger("refused"));
    server.honest.produceBlock();
    server.honest.submit(key(0), Transaction.transfer(key(1).id(), 5));
    server.honest.produceBlocks(3);
    server.closes = false;
    try (server.honest; AuditedLedger audited = AuditedLedger.over(server, server.chainId())) {
      CompletableFuture<Receipt> stale = audited.submit(SignedTransaction.sign(key(0),
          server.chainId(), 9, Transaction.transfer(key(1).id(), 1)));
      ExecutionException e = assertThrows(ExecutionException.class,
          () -> stale.get(10, TimeUnit.SECONDS));
      assertEquals(RejectReason.NONCE_WRONG,
          assertInstanceOf(TransactionRejectedException.class, e.getCause()).reason());
      // The states a server sends are never used, so never trusted: a forged one passes...
      server.liar = r -> r.block().number() == 2 ? forged(r) : r;
      try (AuditedLedger unaffected = AuditedLedger.over(server, server.chainId())) {
        assertEquals(server.honest.metagraph().supply(), unaffected.metagraph().supply(),
            "the state is the audit's own, not the one the server sent");
      }
      // ...and a history whose blocks lie is refused.
      server.liar = r -> r.block().number() == 2 ? emptied(r) : r;
      assertThrows(ChainAudit.MismatchException.class,
          () -> AuditedLedger.over(server, server.chainId()));
      Hash256 other = Hash256.of(new byte[] {1});
      assertThrows(ChainAudit.MismatchException.class, () -> AuditedLedger.over(server, other));
    }
  }

  @Test
  void withAReplicaFolderItOpensAgainWithoutReplayingWhatItChecked() throws Exception {
    Server server = new Server(ledger("resumed"));
    server.honest.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT));
    server.honest.produceBlocks(12);
    Path replica = tmp.resolve("replica");
    server.closes = false;
    try (AuditedLedger first = AuditedLedger.over(server, server.chainId(), null, replica)) {
      assertEquals(12, first.metagraph().block().number());
    }
    server.closes = true;
    server.blocksRead.set(0);
    server.honest.produceBlocks(3);
    try (AuditedLedger again = AuditedLedger.over(server, server.chainId(), null, replica)) {
      assertEquals(15, again.metagraph().block().number());
      assertEquals(3, server.blocksRead.get(), "only the three new blocks read");
      assertEquals(server.honest.metagraph().peers(), again.metagraph().peers());
    }
  }

  /** A wrapped ledger that cannot be followed leaves the replica folder free, not locked. */
  @Test
  void aLedgerThatCannotBeFollowedReleasesTheReplica() throws Exception {
    Server server = new Server(ledger("unfollowable"));
    server.honest.produceBlocks(2);
    Path replica = tmp.resolve("replica-released");
    server.subscribeThrows = new IllegalStateException("the ledger is closed");
    assertThrows(IllegalStateException.class,
        () -> AuditedLedger.over(server, server.chainId(), null, replica));
    server.subscribeThrows = null;
    try (AuditedLedger again = AuditedLedger.over(server, server.chainId(), null, replica)) {
      assertEquals(2, again.metagraph().block().number());
    }
  }

  /** A listener that throws must not keep a block from the listeners after it. */
  @Test
  void aListenerThatThrowsKeepsNoBlockFromTheOthers() throws Exception {
    Server server = new Server(ledger("throwing"));
    try (AuditedLedger audited = AuditedLedger.over(server, server.chainId())) {
      audited.subscribe(new LedgerListener() {
        @Override
        public void onBlock(Block block, Metagraph after) {
          if (block.number() == 1) {
            throw new IllegalStateException("a listener's bug");
          }
        }
      });
      Heard heard = new Heard();
      audited.subscribe(heard);
      CountDownLatch second = new CountDownLatch(1);
      audited.subscribe(new LedgerListener() {
        @Override
        public void onBlock(Block block, Metagraph after) {
          if (block.number() == 2) {
            second.countDown();
          }
        }
      });
      server.honest.produceBlocks(2);
      assertTrue(second.await(10, TimeUnit.SECONDS), "block 2 heard");
      assertEquals(List.of("block 1", "block 2"), heard.lines);
    }
  }

  /**
   * A submission that throws (a null among the transactions, or the wrapped ledger throwing)
   * leaves nothing waiting: the same transaction sent again is not refused as already waiting.
   */
  @Test
  void aSubmissionThatThrowsLeavesItsTransactionsFreeToBeSentAgain() throws Exception {
    Server server = new Server(ledger("thrown"));
    try (AuditedLedger audited = AuditedLedger.over(server, server.chainId())) {
      SignedTransaction tx = SignedTransaction.sign(key(0), server.chainId(),
          audited.nextNonce(key(0).id()), Transaction.transfer(key(1).id(), 5));
      server.submitThrows = new IllegalStateException("the wrapped ledger is closed");
      assertThrows(IllegalStateException.class, () -> audited.submit(tx));
      server.submitThrows = null;
      assertThrows(NullPointerException.class, () -> audited.submitAll(Arrays.asList(tx, null)));
      CompletableFuture<Receipt> again = audited.submit(tx);
      server.honest.produceBlock();
      assertEquals(new Receipt(tx.hash(), 1, 0), again.get(10, TimeUnit.SECONDS));
    }
  }

  /**
   * A listener may close the ledger it hears (on the audit thread): the close does not wait for
   * the audit thread to end, which is its own, and what waited fails at once.
   */
  @Test
  void aListenerThatClosesTheLedgerDoesNotWaitForItself() throws Exception {
    Server server = new Server(ledger("closing"));
    server.closes = false;
    try (server.honest) {
      AuditedLedger audited = AuditedLedger.over(server, server.chainId());
      long[] closeNanos = {-1};
      CountDownLatch submitted = new CountDownLatch(1);
      CountDownLatch closed = new CountDownLatch(1);
      audited.subscribe(new LedgerListener() {
        @Override
        public void onBlock(Block block, Metagraph after) {
          try {
            submitted.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          long start = System.nanoTime();
          audited.close();
          closeNanos[0] = System.nanoTime() - start;
          closed.countDown();
        }
      });
      server.honest.produceBlock();
      CompletableFuture<Receipt> waiting = // for block 2, which never comes
          audited.submit(key(0), Transaction.transfer(key(1).id(), 5));
      submitted.countDown();
      assertTrue(closed.await(30, TimeUnit.SECONDS), "closed by the listener");
      assertTrue(closeNanos[0] < TimeUnit.SECONDS.toNanos(5),
          "close took " + TimeUnit.NANOSECONDS.toMillis(closeNanos[0]) + " ms");
      assertThrows(ExecutionException.class, () -> waiting.get(10, TimeUnit.SECONDS));
    }
  }

  /**
   * A read the server does not answer, which closing the wrapped ledger cancels (a {@code
   * RemoteLedger} cancels its calls), does not hold close up: before, close waited 10 s for the
   * audit thread to end its read before closing the ledger that would end it.
   */
  @Test
  void closeDoesNotWaitForAReadThatClosingTheWrappedLedgerEnds() throws Exception {
    Server server = new Server(ledger("hanging"));
    server.closes = false;
    try (server.honest) {
      AuditedLedger audited = AuditedLedger.over(server, server.chainId());
      CompletableFuture<Receipt> waiting =
          audited.submit(key(0), Transaction.transfer(key(1).id(), 5));
      server.readsHangTillClosed = new CountDownLatch(1);
      server.honest.produceBlock(); // announced: the audit thread's read of it hangs
      assertTrue(server.readHangs.await(20, TimeUnit.SECONDS), "a read hanging");
      long start = System.nanoTime();
      audited.close();
      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertTrue(millis < 5_000, "close took " + millis + " ms");
      ExecutionException e =
          assertThrows(ExecutionException.class, () -> waiting.get(10, TimeUnit.SECONDS));
      assertTrue(e.getCause().getMessage().contains("audited ledger closed"),
          e.getCause().getMessage());
    }
  }

  /**
   * {@link AuditedLedger#failure()} tells whether a block did not replay to itself, after close
   * as before: closing is no failure of the audit, and does not hide one found before.
   */
  @Test
  void closingIsNoFailureOfTheAuditAndKeepsTheOneFound() throws Exception {
    Server server = new Server(ledger("closed-honest"));
    server.honest.produceBlock();
    AuditedLedger honest = AuditedLedger.over(server, server.chainId());
    honest.close();
    assertEquals(Optional.empty(), honest.failure(), "an honest ledger, closed");
    assertTrue(!honest.toString().contains("FAILED"), honest.toString());

    Server liar = new Server(ledger("closed-liar"));
    AuditedLedger audited = AuditedLedger.over(liar, liar.chainId());
    liar.liar = r -> r.block().number() == 1 ? emptied(r) : r;
    liar.honest.submit(key(0), Transaction.transfer(key(1).id(), 5));
    liar.honest.produceBlock();
    await(() -> audited.failure().isPresent(), "the audit to fail");
    audited.close();
    assertInstanceOf(ChainAudit.MismatchException.class, audited.failure().orElseThrow());
  }

  /**
   * As every ledger's subscription promises, no callback starts once its close returned: here it
   * returns while the audit thread tells another listener of the block.
   */
  @Test
  void noCallbackStartsOnceTheSubscriptionsCloseReturned() throws Exception {
    Server server = new Server(ledger("unsubscribed"));
    try (AuditedLedger audited = AuditedLedger.over(server, server.chainId())) {
      CountDownLatch inFirst = new CountDownLatch(1);
      CountDownLatch closed = new CountDownLatch(1);
      CountDownLatch blockHeardByAll = new CountDownLatch(1);
      AtomicBoolean unsubscribed = new AtomicBoolean();
      List<String> heardAfterClose = new CopyOnWriteArrayList<>();
      audited.subscribe(new LedgerListener() {
        @Override
        public void onBlock(Block block, Metagraph after) {
          inFirst.countDown();
          try {
            closed.await(); // the second's subscription closes meanwhile
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      });
      Ledger.Subscription second = audited.subscribe(new LedgerListener() {
        @Override
        public void onBlock(Block block, Metagraph after) {
          if (unsubscribed.get()) {
            heardAfterClose.add("block " + block.number());
          }
        }
      });
      audited.subscribe(new LedgerListener() {
        @Override
        public void onBlock(Block block, Metagraph after) {
          blockHeardByAll.countDown();
        }
      });
      server.honest.produceBlock();
      assertTrue(inFirst.await(20, TimeUnit.SECONDS), "the first listener hearing block 1");
      second.close();
      unsubscribed.set(true);
      closed.countDown();
      assertTrue(blockHeardByAll.await(20, TimeUnit.SECONDS), "the last listener hearing it");
      assertEquals(List.of(), heardAfterClose);
    }
  }
}
