package io.bittensor.transport.internal;

import static io.bittensor.core.testing.LedgerFixtures.genesis;
import static io.bittensor.core.testing.LedgerFixtures.key;
import static io.bittensor.core.testing.LedgerFixtures.params;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.Block;
import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Hash256;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerListener;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Modality;
import io.bittensor.core.Receipt;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Transaction;
import io.bittensor.core.internal.SettableClock;
import io.bittensor.core.internal.ledger.BlockCodec;
import io.bittensor.core.testing.ForwardingLedger;
import io.bittensor.core.testing.LedgerFixtures;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.transport.internal.wire.BlockEvent;
import io.bittensor.transport.internal.wire.LedgerEvent;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the hub says of the transactions a resuming client awaits: nothing of one still waiting
 * here or told after the client's cursor, the outcome again of one told before it, and "no
 * record" of one it never accepted or whose outcome has left the history.
 */
class LedgerHubTest {
  private LocalLedger ledger;
  private LedgerHub hub;

  @BeforeEach
  void open() throws Exception {
    ledger = inMemory(8, 1);
    hub = new LedgerHub(ledger, 3, 1 << 20, 60_000);
  }

  /** A ledger in memory that seals on demand: {@code maxPeers} peers, {@code funded} keys. */
  private static LocalLedger inMemory(int maxPeers, int funded) {
    return LocalLedger.builder().genesis(genesis(params(maxPeers), funded))
        .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual()).openInMemory();
  }

  @AfterEach
  void close() {
    hub.close();
    ledger.close();
  }

  /** Submits as the server's handler does: accepted, then its outcome told through the hub. */
  private Hash256 submitThroughTheServer(int nonce) {
    SignedTransaction tx = SignedTransaction.sign(key(0), ledger.chainId(), nonce,
        Transaction.transfer(key(1).id(), 1));
    CompletableFuture<Receipt> f = ledger.submit(tx);
    hub.accepted(tx.hash());
    f.whenComplete((r, e) -> {
      if (r != null) {
        hub.receipt(r);
      } else {
        hub.failure(tx.hash(), e);
      }
    });
    return tx.hash();
  }

  /** The events a stream opened at {@code fromBlock} starts with, decoded. */
  private List<LedgerEvent> open(long fromBlock, Hash256... awaiting) throws IOException {
    List<byte[]> out = new ArrayList<>();
    hub.open(fromBlock, List.of(awaiting), false, out);
    List<LedgerEvent> events = new ArrayList<>();
    for (byte[] b : out) {
      events.add(LedgerEvent.parseDelimitedFrom(new ByteArrayInputStream(b)));
    }
    return events;
  }

  @Test
  void aTransactionNeverAcceptedHereIsToldUnknown() throws Exception {
    ledger.produceBlock();
    Hash256 stranger = Hash256.of(new byte[] {1, 2, 3});
    List<LedgerEvent> events = open(2, stranger);
    assertEquals(1, events.size(), events::toString);
    assertEquals(stranger, LedgerWire.hash(events.get(0).getFailed().getTransaction(), "tx"));
    assertTrue(events.get(0).getFailed().getMessage().contains("no record"),
        events.get(0)::toString);
  }

  @Test
  void aWaitingTransactionIsNotToldAndOneToldBeforeTheCursorIsToldAgain() throws Exception {
    Hash256 tx = submitThroughTheServer(0);
    assertEquals(List.of(), open(1, tx), "waiting for its block: nothing to say yet");
    long block = ledger.produceBlock().number();

    List<byte[]> first = new ArrayList<>();
    LedgerHub.Cursor c = hub.open(block, List.of(tx), false, first);
    assertEquals(List.of(), first, "told after the cursor: the stream brings it");
    List<byte[]> next = new ArrayList<>();
    assertTrue(hub.poll(c, next));
    assertEquals(1, next.size());
    LedgerEvent blockEvent = LedgerEvent.parseDelimitedFrom(new ByteArrayInputStream(next.get(0)));
    assertEquals(new Receipt(tx, block, 0),
        LedgerWire.fromWire(blockEvent.getBlock().getReceipts(0)), "with its block");

    List<LedgerEvent> after = open(block + 1, tx);
    assertEquals(1, after.size(), after::toString);
    assertEquals(new Receipt(tx, block, 0), LedgerWire.fromWire(after.get(0).getReceipt()),
        "its receipt again, as a lone event");
  }

  /** Before the fix a failure without a message (a cancelled future) was told as "null". */
  @Test
  void aFailureWithoutAMessageIsToldByItsKind() throws Exception {
    ledger.produceBlock();
    Hash256 tx = Hash256.of(new byte[] {4, 5, 6});
    hub.accepted(tx);
    hub.failure(tx, new java.util.concurrent.CancellationException());
    List<byte[]> next = new ArrayList<>();
    assertTrue(hub.poll(hub.open(2, List.of(tx), false, new ArrayList<>()), next));
    assertEquals(1, next.size());
    LedgerEvent failed = LedgerEvent.parseDelimitedFrom(new ByteArrayInputStream(next.get(0)));
    assertEquals("CancellationException", failed.getFailed().getMessage(), failed::toString);
  }

  /**
   * Before the fix the hub built the events for every awaited transaction under its lock: a
   * client that reopened streams awaiting 100,000 hashes held back every block for ~0.9 s.
   */
  @Test
  void blocksGoOnWhileTheEventsForAwaitedTransactionsAreBuilt() throws Exception {
    ledger.produceBlock(); // block 1: the stream resumes from 2, sealed while it opens
    List<Hash256> strangers = IntStream.range(0, 1000)
        .mapToObj(i -> Hash256.of(new byte[] {(byte) i, (byte) (i >> 8)})).toList();
    boolean[] sealedWhileBuilding = {false};
    hub.buildingAwaited = sealingABlock(sealedWhileBuilding);
    List<byte[]> out = new ArrayList<>();
    LedgerHub.Cursor c = hub.open(2, strangers, false, out);
    assertTrue(sealedWhileBuilding[0], "block 2 waited for the awaited events to be built");

    assertEquals(strangers.size(), out.size());
    for (int i = 0; i < out.size(); i++) {
      LedgerEvent e = LedgerEvent.parseDelimitedFrom(new ByteArrayInputStream(out.get(i)));
      assertEquals(strangers.get(i), LedgerWire.hash(e.getFailed().getTransaction(), "tx"));
      assertTrue(e.getFailed().getMessage().contains("no record"), e::toString);
    }
    List<byte[]> next = new ArrayList<>();
    assertTrue(hub.poll(c, next));
    assertEquals(1, next.size(), "the block sealed meanwhile, neither missed nor told twice");
    LedgerEvent block = LedgerEvent.parseDelimitedFrom(new ByteArrayInputStream(next.get(0)));
    assertEquals(2, block.getBlock().getBlock().getNumber(), block::toString);
  }

  /**
   * A seam's task: seals a block on another thread (onBlock takes the hub's lock there) and
   * waits up to 5 s for it, setting {@code sealed[0]} when it was sealed meanwhile.
   */
  private Runnable sealingABlock(boolean[] sealed) {
    return () -> {
      CountDownLatch done = new CountDownLatch(1);
      Thread sealer = new Thread(() -> {
        try {
          ledger.produceBlock();
          done.countDown();
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
      sealer.start();
      try {
        sealed[0] = done.await(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    };
  }

  /**
   * Before the fix a stream that fell behind the history had its resync snapshot (the whole
   * metagraph) encoded under the hub's lock in poll, holding back every block meanwhile.
   */
  @Test
  void blocksGoOnWhileALaggingStreamsResyncSnapshotIsEncoded() throws Exception {
    LedgerHub.Cursor c = hub.open(0, List.of(), false, new ArrayList<>());
    ledger.produceBlocks(4); // the history holds three events: the stream's next one is gone
    boolean[] sealedWhileEncoding = {false};
    hub.encodingResync = sealingABlock(sealedWhileEncoding);
    List<byte[]> out = new ArrayList<>();
    assertTrue(hub.poll(c, out));
    assertTrue(sealedWhileEncoding[0], "block 5 waited for the resync snapshot to be encoded");

    assertEquals(1, out.size());
    LedgerEvent resync = LedgerEvent.parseDelimitedFrom(new ByteArrayInputStream(out.get(0)));
    assertTrue(resync.getBlock().getSnapshot() && resync.getBlock().getResync(),
        resync::toString);
    assertEquals(4, resync.getBlock().getBlock().getNumber(), "the latest block at the poll");
    hub.encodingResync = () -> { };
    List<byte[]> next = new ArrayList<>();
    assertTrue(hub.poll(c, next));
    assertEquals(1, next.size(), "the block sealed meanwhile, neither missed nor told twice");
    LedgerEvent block = LedgerEvent.parseDelimitedFrom(new ByteArrayInputStream(next.get(0)));
    assertEquals(5, block.getBlock().getBlock().getNumber(), block::toString);
  }

  @Test
  void anOutcomeIsForgottenOnceItsEventLeavesTheHistory() throws Exception {
    Hash256 tx = submitThroughTheServer(0);
    ledger.produceBlocks(4); // the history holds three events: blocks 2 to 4
    List<LedgerEvent> events = open(5, tx);
    assertEquals(1, events.size(), events::toString);
    assertTrue(events.get(0).hasFailed() && events.get(0).getFailed().getMessage()
        .contains("no record"), events.get(0)::toString);
  }

  @Test
  void clientsThatComeBackTogetherShareOneReadOfTheJournal(@TempDir Path dir) throws Exception {
    try (LocalLedger durable = LocalLedger.builder().genesis(genesis(params(8), 1))
            .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual())
            .open(dir.resolve("ledger"));
        LedgerHub restarted = new LedgerHub(durable, 3, 1 << 20, 60_000)) {
      durable.submit(key(0), Transaction.transfer(key(1).id(), 1));
      durable.produceBlocks(20); // the history holds blocks 18 to 20
      List<List<byte[]>> streams = new ArrayList<>();
      for (int client = 0; client < 5; client++) {
        List<byte[]> out = new ArrayList<>();
        restarted.open(1 + client % 2, List.of(), true, true, out); // as RemoteLedger asks
        streams.add(out);
      }
      assertEquals(17, restarted.blocksReadBack(), "blocks 1 to 17, read once for five clients");
      assertEquals(17, streams.get(0).size());
      assertEquals(16, streams.get(1).size());
      for (int client = 2; client < 5; client++) {
        List<byte[]> same = streams.get(client % 2);
        assertEquals(same.size(), streams.get(client).size());
        for (int i = 0; i < same.size(); i++) {
          assertTrue(Arrays.equals(same.get(i), streams.get(client).get(i)));
        }
      }
      LedgerEvent first = LedgerEvent.parseDelimitedFrom(
          new ByteArrayInputStream(streams.get(0).get(0)));
      assertEquals(1, first.getBlock().getBlock().getNumber());
      assertEquals(1, first.getBlock().getReceiptsCount(), "every transaction's receipt");
    }
  }

  /**
   * What a stream that resumes from far back is read from the journal stays within the
   * history's byte limit: the blocks that fit, in order, then a resync snapshot of the latest
   * (a {@code RemoteLedger} resumes again after the last of them, page by page).
   */
  @Test
  void whatIsReadBackStaysWithinTheHistorysByteLimit(@TempDir Path dir) throws Exception {
    int limit = 1500;
    try (LocalLedger durable = LocalLedger.builder().genesis(genesis(params(8), 1))
            .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual())
            .open(dir.resolve("ledger"));
        LedgerHub restarted = new LedgerHub(durable, 3, limit, 60_000)) {
      durable.submit(key(0), Transaction.transfer(key(1).id(), 1));
      durable.produceBlocks(32); // the history holds blocks 30 to 32
      List<byte[]> out = openAt(restarted, 1, true);
      List<LedgerEvent> events = decode(out);
      int readBack = events.size() - 1;
      assertTrue(readBack > 3 && readBack < 29, "some blocks, not all: " + readBack);
      long bytes = 0;
      for (int i = 0; i < readBack; i++) {
        BlockEvent b = events.get(i).getBlock();
        assertEquals(1 + i, b.getBlock().getNumber(), "in order from the first asked for");
        assertFalse(b.getSnapshot());
        bytes += out.get(i).length;
      }
      assertTrue(bytes <= limit, bytes + " bytes read back");
      assertTrue(bytes > limit / 2, "the budget used, not a page cut short: " + bytes);
      BlockEvent last = events.get(readBack).getBlock();
      assertTrue(last.getSnapshot() && last.getResync(), last::toString);
      assertEquals(32, last.getBlock().getNumber());
    }
  }

  /**
   * A stream that asked for deltas gets a block that sets one weight row as that row and the
   * signer's entry; one that did not, the whole metagraph. Both make the same metagraph.
   */
  @Test
  void aStreamThatTakesDeltasIsSentWhatTheBlockChanged() throws Exception {
    int peers = 32;
    try (LocalLedger big = inMemory(peers, peers);
        LedgerHub served = new LedgerHub(big, 16, 1 << 24, 60_000)) {
      int[] all = IntStream.range(0, peers).toArray();
      double[] even = new double[peers];
      Arrays.fill(even, 1);
      for (int i = 0; i < peers; i++) {
        big.submit(key(i), Transaction.register(LedgerFixtures.endpoint(i), Modality.TEXT));
      }
      big.produceBlock();
      for (int i = 0; i < peers; i++) {
        big.submit(key(i), Transaction.setWeights(all, even));
      }
      big.produceBlock();
      Metagraph before = big.metagraph();
      List<byte[]> ignored = new ArrayList<>();
      LedgerHub.Cursor whole = served.open(0, List.of(), false, ignored);
      LedgerHub.Cursor deltas = served.open(0, List.of(), true, ignored);

      big.submit(key(3), Transaction.setWeights(new int[] {1, 2}, new double[] {1, 3}));
      big.produceBlock();
      List<byte[]> toWhole = new ArrayList<>();
      List<byte[]> toDeltas = new ArrayList<>();
      assertTrue(served.poll(whole, toWhole));
      assertTrue(served.poll(deltas, toDeltas));
      LedgerEvent w = LedgerEvent.parseDelimitedFrom(new ByteArrayInputStream(toWhole.get(0)));
      LedgerEvent d = LedgerEvent.parseDelimitedFrom(new ByteArrayInputStream(toDeltas.get(0)));
      assertTrue(w.getBlock().hasMetagraph() && !w.getBlock().hasDelta(), w::toString);
      assertTrue(d.getBlock().hasDelta() && !d.getBlock().hasMetagraph(), d::toString);
      assertEquals(List.of(3), d.getBlock().getDelta().getWeights().getRowsList());
      assertEquals(List.of(3), d.getBlock().getDelta().getPeerUidsList(), "its last update");
      assertEquals(0, d.getBlock().getDelta().getBonds().getRowsCount());
      assertTrue(toDeltas.get(0).length * 10 < toWhole.get(0).length,
          toDeltas.get(0).length + " bytes against " + toWhole.get(0).length);
      Metagraph block = LedgerWire.fromWire(w.getBlock().getMetagraph());
      assertEquals(LedgerWire.toWire(block), LedgerWire.toWire(MetagraphDeltas.apply(before,
          d.getBlock().getDelta(), LedgerWire.fromWire(d.getBlock().getBlock()))));
      assertEquals(LedgerWire.toWire(big.metagraph()), LedgerWire.toWire(block));
    }
  }

  /**
   * An epoch block: a stream that replays epochs gets the delta to the state the epoch ran on,
   * which lists only what the block's transactions changed, and the epoch's digest; one that
   * takes deltas gets every peer and bond row the epoch changed; one that does neither, the
   * whole. The first, replayed with the chain's mechanism, makes the same metagraph.
   */
  @Test
  void aStreamThatReplaysEpochsIsSentTheStateTheEpochRanOn() throws Exception {
    int peers = 32;
    try (LocalLedger big = inMemory(peers, peers);
        LedgerHub served = new LedgerHub(big, 16, 1 << 24, 60_000)) {
      int[] all = IntStream.range(0, peers).toArray();
      SplittableRandom random = new SplittableRandom(11);
      for (int i = 0; i < peers; i++) {
        big.submit(key(i), Transaction.register(LedgerFixtures.endpoint(i), Modality.TEXT));
        big.submit(key(i), Transaction.addStake(100 + i)); // an epoch weighs votes by stake
      }
      big.produceBlock();
      List<byte[]> ignored = new ArrayList<>();
      LedgerHub.Cursor whole = served.open(0, List.of(), false, false, ignored);
      LedgerHub.Cursor deltas = served.open(0, List.of(), true, false, ignored);
      LedgerHub.Cursor replaying = served.open(0, List.of(), true, true, ignored);
      Metagraph before = null;
      int epochs = 0;
      while (epochs < 2) { // the second epoch updates the bonds the first made
        for (int i = 0; i < peers; i++) {
          big.submit(key(i), Transaction.setWeights(all, random.doubles(peers, 0.1, 1)
              .toArray()));
        }
        before = big.metagraph();
        Block sealed = big.produceBlock();
        List<byte[]> toWhole = new ArrayList<>();
        List<byte[]> toDeltas = new ArrayList<>();
        List<byte[]> toReplaying = new ArrayList<>();
        assertTrue(served.poll(whole, toWhole));
        assertTrue(served.poll(deltas, toDeltas));
        assertTrue(served.poll(replaying, toReplaying));
        if (!sealed.epoch()) {
          assertArrayEquals(toDeltas.get(0), toReplaying.get(0), "no epoch, the same delta");
          continue;
        }
        epochs++;
        LedgerEvent w = LedgerEvent.parseDelimitedFrom(new ByteArrayInputStream(toWhole.get(0)));
        LedgerEvent d = LedgerEvent.parseDelimitedFrom(new ByteArrayInputStream(toDeltas.get(0)));
        LedgerEvent r =
            LedgerEvent.parseDelimitedFrom(new ByteArrayInputStream(toReplaying.get(0)));
        assertEquals(peers, d.getBlock().getDelta().getBonds().getRowsCount(), "every bond row");
        assertEquals(peers, d.getBlock().getDelta().getPeerUidsCount(), "every peer's scores");
        assertTrue(d.getBlock().getDelta().getReplayedEpochDigest().isEmpty());
        assertEquals(0, r.getBlock().getDelta().getBonds().getRowsCount());
        // Each peer set a row in the block: its last update moved, nothing else.
        assertEquals(peers, r.getBlock().getDelta().getPeerUidsCount());
        assertEquals(32, r.getBlock().getDelta().getReplayedEpochDigest().size());
        // Smaller by the bonds and the peers' scores, less the digest.
        int bonds = d.getBlock().getDelta().getBonds().getSerializedSize();
        assertTrue(bonds > 5000, bonds + " bytes of bonds");
        assertTrue(toDeltas.get(0).length - toReplaying.get(0).length >= bonds - 48,
            toReplaying.get(0).length + " bytes against " + toDeltas.get(0).length);
        // ... so each carries its scores and emission from before the epoch, its stake before
        // minting.
        Metagraph after = big.metagraph();
        for (int i = 0; i < peers; i++) {
          var sent = LedgerWire.fromWire(i, r.getBlock().getDelta().getPeers(i));
          assertEquals(before.peer(i).rank(), sent.rank(), "peer " + i);
          assertEquals(before.peer(i).emission(), sent.emission(), "peer " + i);
          assertEquals(after.peer(i).stake() - after.peer(i).emission(), sent.stake());
          assertEquals(after.peer(i).lastUpdate(), sent.lastUpdate());
        }
        IncentiveMechanism chains = BlockCodec.decode(big.genesisBlock()).paperParams()
            .map(IncentiveMechanism::paper).orElseThrow();
        Block block = LedgerWire.fromWire(r.getBlock().getBlock());
        Metagraph held = LedgerWire.fromWire(LedgerWire.toWire(before));
        assertEquals(w.getBlock().getMetagraph(), LedgerWire.toWire(
            MetagraphDeltas.apply(held, r.getBlock().getDelta(), block, chains)));
        assertEquals(w.getBlock().getMetagraph(), LedgerWire.toWire(
            MetagraphDeltas.apply(held, d.getBlock().getDelta(), block)));
      }
    }
  }

  /**
   * The history holds only the forms streams have asked for: while every client takes deltas,
   * no whole metagraph is made, and the history's bytes hold many more blocks. The first client
   * that takes the whole metagraph starts it; from then on the wholes take the bytes, and a
   * client that resumes from further back than they leave is sent a resync snapshot.
   */
  @Test
  void wholeMetagraphsAreMadeOnlyOnceAClientTakesThem() throws Exception {
    int peers = 32;
    try (LocalLedger big = inMemory(peers, peers);
        LedgerHub served = new LedgerHub(big, 1000, 64 << 10, 60_000)) {
      int[] all = IntStream.range(0, peers).toArray();
      SplittableRandom random = new SplittableRandom(5);
      for (int i = 0; i < peers; i++) {
        big.submit(key(i), Transaction.register(LedgerFixtures.endpoint(i), Modality.TEXT));
      }
      big.produceBlock();
      for (int i = 0; i < peers; i++) {
        big.submit(key(i), Transaction.setWeights(all, random.doubles(peers, 0.1, 1).toArray()));
      }
      big.produceBlock();
      int wholeBytes = LedgerWire.toWire(big.metagraph()).getSerializedSize();
      long first = big.metagraph().block().number() + 1;
      setOneRowPerBlock(big, 30, random);

      List<LedgerEvent> resumed = decode(openAt(served, first, true));
      assertEquals(30, resumed.size(), "every block since, from the history");
      for (LedgerEvent e : resumed) {
        assertTrue(e.getBlock().hasDelta() && !e.getBlock().getSnapshot(), e::toString);
      }

      // A client that takes the whole metagraph resumes from before anyone asked for it: the
      // history has none of those blocks in its form (and an in-memory ledger keeps no journal).
      List<LedgerEvent> whole = decode(openAt(served, first, false));
      assertEquals(1, whole.size());
      assertTrue(whole.get(0).getBlock().getResync(), whole.get(0)::toString);
      long wholeFrom = big.metagraph().block().number() + 1;
      setOneRowPerBlock(big, 30, random);
      List<LedgerEvent> wholes = decode(openAt(served, wholeFrom + 29, false));
      assertEquals(1, wholes.size());
      assertTrue(wholes.get(0).getBlock().hasMetagraph() && !wholes.get(0).getBlock().getResync());
      assertTrue(30L * wholeBytes > 64 << 10, "30 wholes outgrow the history: " + wholeBytes);
      List<LedgerEvent> late = decode(openAt(served, wholeFrom, true));
      assertEquals(1, late.size(), "the wholes pushed the blocks out for every client");
      assertTrue(late.get(0).getBlock().getResync(), late.get(0)::toString);
    }
  }

  /**
   * A form no stream takes any more is made for a minute after the last one left (its client
   * resumes from the history after a lost connection), and then no longer: a {@code curl} that
   * came once does not make the server encode whole metagraphs for the rest of its life. A
   * stream still open keeps its form made however long it stays.
   */
  @Test
  void aFormIsMadeWhileAStreamTakesItAndAMinuteAfterTheLastOneLeft() throws Exception {
    int peers = 8;
    SettableClock clock = new SettableClock(1_000_000);
    try (LocalLedger small = inMemory(peers, peers);
        LedgerHub served = new LedgerHub(small, 1000, 64 << 20, 60_000, clock,
            Duration.ofMinutes(1))) {
      for (int i = 0; i < peers; i++) {
        small.submit(key(i), Transaction.register(LedgerFixtures.endpoint(i), Modality.TEXT));
      }
      small.produceBlock();
      SplittableRandom random = new SplittableRandom(11);
      LedgerHub.Cursor curl = served.open(0, List.of(), false, false, new ArrayList<>());
      clock.set(clock.millis() + 3_600_000); // an hour, open all along
      assertMadeWhole(served, setOneRowPerBlock(small, 1, random), true);
      served.release(curl);
      served.release(curl); // twice is once: the client's own poll below still counts
      clock.set(clock.millis() + 59_999);
      assertMadeWhole(served, setOneRowPerBlock(small, 1, random), true);
      // That client came back and left; a minute on, nobody takes wholes.
      clock.set(clock.millis() + 60_000);
      long unmade = setOneRowPerBlock(small, 2, random);
      List<LedgerEvent> deltas = decode(openAt(served, unmade, true));
      assertEquals(2, deltas.size(), "the other clients' form, made as ever");
      for (LedgerEvent e : deltas) {
        assertTrue(e.getBlock().hasDelta() && !e.getBlock().getResync(), e::toString);
      }
      assertMadeWhole(served, unmade, false);
      // The client that just came takes wholes again: from now on they are made again.
      assertMadeWhole(served, setOneRowPerBlock(small, 1, random), true);
    }
  }

  /**
   * A stream whose opening fails (here its list of first events takes none; as well an encoder
   * out of memory) is not counted as taking its form: a minute on, the form is no longer made.
   */
  @Test
  void aStreamThatFailsToOpenDoesNotKeepItsFormMade() throws Exception {
    int peers = 8;
    SettableClock clock = new SettableClock(1_000_000);
    try (LocalLedger small = inMemory(peers, peers);
        LedgerHub served = new LedgerHub(small, 1000, 64 << 20, 60_000, clock,
            Duration.ofMinutes(1))) {
      for (int i = 0; i < peers; i++) {
        small.submit(key(i), Transaction.register(LedgerFixtures.endpoint(i), Modality.TEXT));
      }
      small.produceBlock();
      assertThrows(UnsupportedOperationException.class,
          () -> served.open(0, List.of(), false, false, List.of()));
      clock.set(clock.millis() + 60_000);
      assertMadeWhole(served, setOneRowPerBlock(small, 1, new SplittableRandom(13)), false);
    }
  }

  /**
   * Asserts whether {@code block} went into the history whole, as a client that takes the whole
   * metagraph finds resuming at it (an in-memory ledger has no journal to read a missing form
   * back from: a resync instead), and leaves.
   */
  private static void assertMadeWhole(LedgerHub hub, long block, boolean made)
      throws IOException {
    List<byte[]> out = new ArrayList<>();
    LedgerHub.Cursor c = hub.open(block, List.of(), false, false, out);
    assertTrue(hub.poll(c, out));
    hub.release(c);
    LedgerEvent first = decode(out).get(0);
    assertEquals(made, first.getBlock().hasMetagraph() && !first.getBlock().getResync(),
        "block " + block + ": " + first);
    if (made) {
      assertEquals(block, first.getBlock().getBlock().getNumber());
    }
  }

  /**
   * A block whose metagraph before the hub does not hold (it missed one: a gap, or a ledger that
   * moved to another chain's history) cannot go as a delta: it goes whole, to the streams that
   * take deltas too, though none of them asked for the whole. Once closed, the hub tells every
   * stream to end.
   */
  @Test
  void aBlockThatCannotGoAsADeltaGoesWholeToEveryStream() throws Exception {
    List<byte[]> ignored = new ArrayList<>();
    LedgerHub.Cursor replaying = hub.open(0, List.of(), true, true, ignored);
    LedgerHub.Cursor deltas = hub.open(0, List.of(), true, false, ignored);
    // The same chain, sealed elsewhere two blocks further on: a block the hub's latest is not
    // the one before.
    try (LocalLedger ahead = inMemory(8, 1)) {
      ahead.produceBlocks(2);
      ahead.submit(key(0), Transaction.transfer(key(1).id(), 5));
      Block block = ahead.produceBlock();
      assertEquals(ledger.metagraph().block().number() + 3, block.number());
      hub.onBlock(block, ahead.metagraph());
      for (LedgerHub.Cursor c : List.of(replaying, deltas)) {
        List<byte[]> out = new ArrayList<>();
        assertTrue(hub.poll(c, out));
        List<LedgerEvent> got = decode(out);
        assertEquals(1, got.size(), got::toString);
        assertTrue(got.get(0).getBlock().hasMetagraph() && !got.get(0).getBlock().getResync(),
            got.get(0)::toString);
        assertEquals(LedgerWire.toWire(ahead.metagraph()), got.get(0).getBlock().getMetagraph());
      }
    }
    hub.close();
    assertTrue(!hub.poll(replaying, new ArrayList<>()), "closed: the stream ends");
  }

  /** Seals {@code blocks} blocks that each set one weight; returns the first one's number. */
  private static long setOneRowPerBlock(LocalLedger ledger, int blocks, SplittableRandom random)
      throws Exception {
    long first = ledger.metagraph().block().number() + 1;
    int peers = ledger.metagraph().size();
    for (int b = 0; b < blocks; b++) {
      ledger.submit(key(b % peers), Transaction.setWeights(new int[] {random.nextInt(peers)},
          new double[] {1}));
      ledger.produceBlock();
    }
    return first;
  }

  /** What a stream opened at {@code fromBlock} is sent first: what open gives, then a poll. */
  private static List<byte[]> openAt(LedgerHub hub, long fromBlock, boolean deltas) {
    List<byte[]> out = new ArrayList<>();
    assertTrue(hub.poll(hub.open(fromBlock, List.of(), deltas, deltas, out), out));
    return out;
  }

  private static List<LedgerEvent> decode(List<byte[]> encoded) throws IOException {
    List<LedgerEvent> events = new ArrayList<>();
    for (byte[] b : encoded) {
      events.add(LedgerEvent.parseDelimitedFrom(new ByteArrayInputStream(b)));
    }
    return events;
  }

  /**
   * A ledger may deliver a block as soon as the hub subscribes, before its constructor returns
   * (a block sealed meanwhile, on the ledger's thread): the hub takes it as any other. Before,
   * its wake thread did not exist yet, and the block was a NullPointerException the ledger
   * dropped.
   */
  @Test
  void aBlockHeardFromInsideSubscribeIsTakenWithoutAnError() throws Exception {
    ledger.produceBlock();
    Metagraph sealed = ledger.metagraph();
    List<RuntimeException> dropped = new ArrayList<>();
    Ledger eager = new ForwardingLedger(ledger) {
      @Override
      public Subscription subscribe(LedgerListener listener) {
        Subscription s = delegate.subscribe(listener);
        try {
          listener.onBlock(sealed.block(), sealed);
        } catch (RuntimeException e) {
          dropped.add(e); // as a ledger does with what its listeners throw
        }
        return s;
      }
    };
    try (LedgerHub early = new LedgerHub(eager, 3, 1 << 20, 60_000)) {
      assertEquals(List.of(), dropped, "what the hub threw while it subscribed");
      assertEquals(sealed, early.latest());
      List<byte[]> out = new ArrayList<>();
      early.open(sealed.block().number(), List.of(), false, out);
      assertEquals(List.of(), out, "the block it heard is in its history: no resync");
    }
  }

  /**
   * A stream that throws an Error when woken (an OutOfMemoryError as it joins its events, or
   * a listener's Error as it ends) is let go of as one that throws an exception is: before, the
   * Error left the hub's heartbeat task, which the executor then never ran again, so that no
   * stream was sent a heartbeat for the rest of the server's life.
   */
  @Test
  void aStreamThatThrowsAnErrorWhenWokenIsLetGoOfAndTheOthersKeepTheirHeartbeats()
      throws Exception {
    try (LedgerHub beating = new LedgerHub(ledger, 3, 1 << 20, 40)) { // a tick every 10 ms
      CountDownLatch thrown = new CountDownLatch(1);
      beating.attach(() -> {
        thrown.countDown();
        throw new OutOfMemoryError("Java heap space");
      });
      assertTrue(thrown.await(10, TimeUnit.SECONDS), "never woken");
      CountDownLatch woken = new CountDownLatch(5);
      beating.attach(woken::countDown);
      assertTrue(woken.await(10, TimeUnit.SECONDS),
          "the ticks that wake streams for their heartbeats stopped");
      assertEquals(1, beating.streams(), "the stream that threw is let go of");
    }
  }
}
