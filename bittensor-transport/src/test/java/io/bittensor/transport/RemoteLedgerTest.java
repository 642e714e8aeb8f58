package io.bittensor.transport;

import static io.bittensor.core.testing.LedgerFixtures.endpoint;
import static io.bittensor.core.testing.LedgerFixtures.genesis;
import static io.bittensor.core.testing.LedgerFixtures.key;
import static io.bittensor.core.testing.LedgerFixtures.params;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.bittensor.core.Account;
import io.bittensor.core.Block;
import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Epoch;
import io.bittensor.core.Hash256;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerException;
import io.bittensor.core.LedgerListener;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Modality;
import io.bittensor.core.Receipt;
import io.bittensor.core.RejectReason;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Transaction;
import io.bittensor.core.TransactionRejectedException;
import io.bittensor.core.internal.ledger.BlockCodec;
import io.bittensor.core.internal.ledger.EpochReplay;
import io.bittensor.core.testing.ForwardingLedger;
import io.bittensor.core.testing.LedgerFixtures;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.incentive.PaperParams;
import io.bittensor.transport.internal.LedgerWire;
import io.bittensor.transport.internal.wire.LedgerRequest;
import io.bittensor.transport.internal.wire.LedgerResponse;
import io.bittensor.transport.internal.wire.SubmitRequest;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a remote ledger adds to the contract: the event stream across lost connections, the
 * metagraph cache, rejections and failures as they cross the wire, signed requests.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RemoteLedgerTest {
  private static final Duration WAIT = Duration.ofSeconds(15);

  @TempDir Path dir;
  private final List<AutoCloseable> toClose = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    Collections.reverse(toClose);
    for (AutoCloseable c : toClose) {
      c.close();
    }
  }

  private <T extends AutoCloseable> T closing(T c) {
    toClose.add(c);
    return c;
  }

  private LocalLedger local(int funded) throws IOException {
    return closing(LocalLedger.builder()
        .genesis(genesis(params(8), funded))
        .clock(LedgerFixtures.fixedClock())
        .blocks(BlockPolicy.manual())
        .open(dir.resolve("ledger")));
  }

  private LedgerServer serve(Ledger ledger, int history) throws IOException {
    return serve(ledger, history, 0);
  }

  private LedgerServer serve(Ledger ledger, int history, int port) throws IOException {
    return closing(LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(port)
        .history(history).start());
  }

  private RemoteLedger connect(URI uri) throws LedgerException {
    return connect(uri, HttpProtocol.H2_PRIOR_KNOWLEDGE);
  }

  private RemoteLedger connect(URI uri, HttpProtocol protocol) throws LedgerException {
    return closing(RemoteLedger.builder().protocol(protocol)
        .reconnectTimeout(Duration.ofSeconds(30)).connect(uri));
  }

  private static void awaitDisconnected(RemoteLedger remote) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (remote.isConnected()) {
      assertTrue(System.nanoTime() < deadline, "the client never noticed the cut");
      Thread.sleep(10);
    }
  }

  /** Records what a listener hears, as lines. */
  private static final class Heard implements LedgerListener {
    final List<String> lines = Collections.synchronizedList(new ArrayList<>());

    @Override
    public void onBlock(Block block, Metagraph after) {
      lines.add("block " + block.number() + (after.block().equals(block) ? "" : " WRONG METAGRAPH"));
    }

    @Override
    public void onEpoch(Epoch epoch, Metagraph after) {
      lines.add("epoch " + epoch.number() + " after " + epoch.block());
    }
  }

  /**
   * A client following a server holds exactly the server's metagraph at every block, though the
   * blocks that change it come as deltas: registrations, stake, weight rows set and replaced,
   * and every fifth block an epoch, which makes bonds; and so do the blocks it reads back. It
   * runs the epochs itself by default; told not to, it is sent what they change; given another
   * mechanism than the chain's, its first replay fails and it is sent that from then on.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"replaying epochs", "sent what epochs change", "another mechanism"})
  void aClientFollowingThroughDeltasHoldsTheServersMetagraphAtEveryBlock(String client)
      throws Exception {
    LocalLedger ledger = local(8);
    URI uri = serve(ledger, 64).uri();
    RemoteLedger.Builder b = RemoteLedger.builder().reconnectTimeout(Duration.ofSeconds(30));
    if (client.equals("sent what epochs change")) {
      b.replayEpochs(false);
    } else if (client.equals("another mechanism")) {
      PaperParams chains = BlockCodec.decode(ledger.genesisBlock()).paperParams().orElseThrow();
      b.epochMechanism(IncentiveMechanism.paper(chains.withRho(chains.rho() + 1)));
    }
    RemoteLedger remote = closing(b.connect(uri));
    SplittableRandom random = new SplittableRandom(7);
    for (int block = 1; block <= 30; block++) {
      for (int t = random.nextInt(5); t > 0; t--) {
        int who = random.nextInt(8);
        int n = Math.max(1, ledger.metagraph().size());
        Transaction body = switch (random.nextInt(4)) {
          case 0 -> Transaction.register(LedgerFixtures.endpoint(who), Modality.TEXT);
          case 1 -> Transaction.addStake(1 + random.nextInt(500));
          default -> {
            int[] uids = random.ints(0, n).distinct().limit(1 + random.nextInt(n)).sorted()
                .toArray();
            yield Transaction.setWeights(uids, random.doubles(uids.length, 0.1, 1).toArray());
          }
        };
        ledger.submit(key(who), body); // a refusal changes nothing, here or there
      }
      Block sealed = ledger.produceBlock();
      assertTrue(remote.awaitBlock(sealed.number(), WAIT));
      assertEquals(LedgerWire.toWire(ledger.metagraph()), LedgerWire.toWire(remote.metagraph()),
          "block " + sealed.number());
    }
    assertTrue(ledger.metagraph().bonds().nonZeroCount() > 0, "epochs made bonds");
    long streamed = remote.epochsReplayed();
    if (client.equals("replaying epochs")) {
      assertTrue(streamed >= 4, "epochs replayed: " + streamed);
    } else {
      assertEquals(0, streamed);
    }
    // Blocks read back come in pages whose records after the first carry deltas too, and the
    // epochs' are run again here as the stream's were (or, failing that, asked for again).
    List<Object> served = new ArrayList<>();
    List<Object> read = new ArrayList<>();
    long[] minted = {0};
    ledger.readBlocks(1, 30, r -> {
      minted[0] += EpochReplay.ranEpoch(r.after()) ? 1 : 0;
      return served.add(LedgerWire.toWire(r.after()));
    });
    remote.readBlocks(1, 30, r -> read.add(LedgerWire.toWire(r.after())));
    assertEquals(30, read.size());
    assertEquals(served, read);
    assertEquals(client.equals("replaying epochs") ? streamed + minted[0] : 0,
        remote.epochsReplayed());
  }

  /**
   * Blocks read back with epochs run here: a client that connects after the epochs (so its
   * stream ran none) runs the pages' epochs with the chain's mechanism; one given another
   * mechanism fails the first, asks for the pages again from there with the epochs' changes,
   * and reads the same blocks.
   */
  @ParameterizedTest(name = "the chain's mechanism {0}")
  @ValueSource(booleans = {true, false})
  void blocksReadBackRunTheirEpochsOrAreAskedForAgain(boolean chains) throws Exception {
    LocalLedger ledger = local(8);
    for (int i = 0; i < 8; i++) {
      ledger.submit(key(i), Transaction.register(endpoint(i), Modality.TEXT));
      ledger.submit(key(i), Transaction.addStake(100 + 10 * i));
    }
    ledger.produceBlock();
    SplittableRandom random = new SplittableRandom(3);
    for (int block = 2; block <= 16; block++) {
      int who = random.nextInt(8);
      int[] uids = random.ints(0, 8).distinct().limit(1 + random.nextInt(8)).sorted().toArray();
      ledger.submit(key(who), Transaction.setWeights(uids, random.doubles(uids.length, 0.1, 1)
          .toArray()));
      ledger.produceBlock();
    }
    URI uri = serve(ledger, 64).uri();
    RemoteLedger.Builder b = RemoteLedger.builder();
    if (!chains) {
      PaperParams params = BlockCodec.decode(ledger.genesisBlock()).paperParams().orElseThrow();
      b.epochMechanism(IncentiveMechanism.paper(params.withRho(params.rho() + 1)));
    }
    RemoteLedger remote = closing(b.connect(uri));
    List<Object> served = new ArrayList<>();
    List<Object> read = new ArrayList<>();
    long[] minted = {0};
    ledger.readBlocks(1, 16, r -> {
      // Block 1 is the page's first record, sent whole.
      minted[0] += r.block().number() > 1 && EpochReplay.ranEpoch(r.after()) ? 1 : 0;
      return served.add(LedgerWire.toWire(r.after()));
    });
    assertTrue(minted[0] >= 2, "epochs that minted: " + minted[0]);
    remote.readBlocks(1, 16, r -> read.add(LedgerWire.toWire(r.after())));
    assertEquals(served, read);
    assertEquals(chains ? minted[0] : 0, remote.epochsReplayed());
  }

  /**
   * An epoch the client cannot run (it was given another mechanism than the chain's) is no fault
   * of the server's: the client asks the same server again for what epochs change, and the
   * transaction sealed in that block gets its receipt, though there is another server to move to.
   */
  /**
   * A timeout too long to matter ({@code Duration.ofSeconds(Long.MAX_VALUE)}: never give up)
   * is taken as no limit to speak of, as the servers and peers take one, not refused at connect.
   */
  /**
   * A resumed stream names the transactions the client still awaits, but never more than a
   * server takes: past {@link LedgerWire#MAX_AWAITING} the server would refuse the stream, and
   * the client would never hear a block again.
   */
  @Test
  void aResumedStreamNamesNoMoreAwaitedTransactionsThanAServerTakes() {
    java.util.Set<Hash256> acknowledged = new java.util.HashSet<>();
    for (int i = 0; i < LedgerWire.MAX_AWAITING + 5; i++) {
      acknowledged.add(Hash256.of(new byte[] {(byte) i, (byte) (i >> 8), (byte) (i >> 16)}));
    }
    io.bittensor.transport.internal.wire.EventsRequest.Builder events =
        io.bittensor.transport.internal.wire.EventsRequest.newBuilder().setFromBlock(7);
    RemoteLedger.nameAwaiting(events, acknowledged);
    assertEquals(LedgerWire.MAX_AWAITING, events.getAwaitingCount());
    assertEquals(LedgerWire.MAX_AWAITING, new java.util.HashSet<>(events.getAwaitingList())
        .size(), "each named once");
    List<Hash256> few = new ArrayList<>(acknowledged).subList(0, 3);
    events.clearAwaiting();
    RemoteLedger.nameAwaiting(events, few);
    assertEquals(3, events.getAwaitingCount(), "under the bound: every one");
  }

  @Test
  void timeoutsTooLongToMatterAreTakenAtConnect() throws Exception {
    LocalLedger ledger = local(2);
    URI uri = serve(ledger, 64).uri();
    Duration forever = Duration.ofSeconds(Long.MAX_VALUE);
    RemoteLedger remote = closing(RemoteLedger.builder().timeout(forever)
        .connectTimeout(forever).streamTimeout(forever).reconnectTimeout(forever).connect(uri));
    ledger.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT));
    ledger.produceBlock();
    assertTrue(remote.awaitBlock(1, forever));
    assertTrue(remote.account(key(0).id()).isPresent());
  }

  @Test
  void anEpochTheClientCannotRunKeepsItOnItsServer() throws Exception {
    LocalLedger ledger = local(4);
    URI first = serve(ledger, 64).uri();
    URI second = serve(ledger, 64).uri();
    PaperParams chains = BlockCodec.decode(ledger.genesisBlock()).paperParams().orElseThrow();
    RemoteLedger remote = closing(RemoteLedger.builder().reconnectTimeout(Duration.ofSeconds(30))
        .epochMechanism(IncentiveMechanism.paper(chains.withRho(chains.rho() + 1)))
        .connect(List.of(first, second)));
    ledger.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT));
    ledger.submit(key(1), Transaction.register(endpoint(1), Modality.TEXT));
    ledger.produceBlock();
    ledger.submit(key(0), Transaction.addStake(500));
    ledger.submit(key(1), Transaction.addStake(500));
    ledger.submit(key(0), Transaction.setWeights(new int[] {1}, new double[] {1}));
    ledger.produceBlocks(3);
    assertTrue(remote.awaitBlock(4, WAIT));

    CompletableFuture<Receipt> f = remote.submit(key(2), Transaction.transfer(key(3).id(), 5));
    assertEquals(5, ledger.produceBlock().number());
    assertTrue(EpochReplay.ranEpoch(ledger.metagraph()), "the epoch of block 5 minted");
    assertEquals(5, f.get(WAIT.toSeconds(), TimeUnit.SECONDS).block());
    assertEquals(first, remote.uri(), "still at the first server");
    assertEquals(0, remote.epochsReplayed());
  }

  /**
   * A client closed while one of its listeners runs tells no other listener of that block: none
   * hears anything once close has returned.
   */
  @Test
  void noListenerHearsABlockOnceTheClientClosed() throws Exception {
    LocalLedger ledger = local(1);
    RemoteLedger remote = connect(serve(ledger, 16).uri());
    CountDownLatch running = new CountDownLatch(1);
    CountDownLatch closed = new CountDownLatch(1);
    Thread[] events = {null};
    remote.subscribe(new LedgerListener() {
      @Override
      public void onBlock(Block block, Metagraph after) {
        events[0] = Thread.currentThread();
        running.countDown();
        // close interrupts this thread: wait on until it has returned.
        boolean interrupted = false;
        while (closed.getCount() > 0) {
          try {
            closed.await();
          } catch (InterruptedException e) {
            interrupted = true;
          }
        }
        if (interrupted) {
          Thread.currentThread().interrupt();
        }
      }
    });
    Heard second = new Heard();
    remote.subscribe(second);
    ledger.produceBlock();
    assertTrue(running.await(WAIT.toSeconds(), TimeUnit.SECONDS));
    remote.close();
    closed.countDown();
    events[0].join(WAIT.toMillis());
    assertFalse(events[0].isAlive(), "the event thread ended");
    assertEquals(List.of(), second.lines);
  }

  /**
   * A listener that reads the metagraph while it hears a block reads that block's, as on a
   * {@code LocalLedger}, not the one before (the client answered from its last block heard,
   * which moves on only once every listener has heard the block).
   */
  @Test
  void aListenerReadsTheMetagraphOfTheBlockItHears() throws Exception {
    LocalLedger ledger = local(1);
    RemoteLedger remote = connect(serve(ledger, 16).uri());
    List<String> read = java.util.Collections.synchronizedList(new ArrayList<>());
    remote.subscribe(new LedgerListener() {
      @Override
      public void onBlock(Block block, Metagraph after) {
        try {
          read.add(block.number() + " read " + remote.metagraph().block().number());
        } catch (LedgerException e) {
          read.add(block.number() + " failed " + e.getMessage());
        }
      }
    });
    ledger.produceBlocks(3);
    assertTrue(remote.awaitBlock(3, WAIT));
    assertEquals(List.of("1 read 1", "2 read 2", "3 read 3"), read);
  }

  /**
   * An Error from a listener ends the client's event thread. The client says so: it no longer
   * counts as connected, reads ask the server, and a transaction sent after that fails at once
   * rather than wait for a block no stream will bring.
   */
  @Test
  void anErrorFromAListenerLeavesAClientThatSaysItNoLongerFollows() throws Exception {
    LocalLedger ledger = local(1);
    RemoteLedger remote = connect(serve(ledger, 16).uri());
    remote.subscribe(new LedgerListener() {
      @Override
      public void onBlock(Block block, Metagraph after) {
        throw new StackOverflowError("a listener's bug");
      }
    });
    ledger.produceBlock();
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (remote.isConnected()) {
      assertTrue(System.nanoTime() < deadline, "the client still says it follows the stream");
      Thread.sleep(10);
    }
    ledger.produceBlock();
    assertEquals(2, remote.metagraph().block().number(), "read from the server");
    SignedTransaction tx = SignedTransaction.sign(key(0), remote.chainId(),
        remote.nextNonce(key(0).id()), Transaction.transfer(key(1).id(), 5));
    CompletableFuture<Receipt> f = remote.submit(tx);
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> f.get(WAIT.toSeconds(), TimeUnit.SECONDS));
    assertTrue(e.getCause().getMessage().contains("event thread failed"), e.getCause()::toString);
  }

  private static List<String> expected(long from, long to, int epochLength) {
    List<String> lines = new ArrayList<>();
    for (long n = from; n <= to; n++) {
      if (n % epochLength == 0) {
        lines.add("epoch " + n / epochLength + " after " + n);
      }
      lines.add("block " + n);
    }
    return lines;
  }

  @ParameterizedTest
  @EnumSource(HttpProtocol.class)
  void subscribersHearEveryBlockAndEpochInOrderAcrossALostConnection(HttpProtocol protocol)
      throws Exception {
    LocalLedger local = local(1);
    LedgerServer server = serve(local, 1024);
    CuttableProxy proxy = closing(new CuttableProxy(server.port()));
    RemoteLedger remote = connect(proxy.uri(), protocol);
    Heard heard = new Heard();
    remote.subscribe(heard);

    local.produceBlocks(3);
    assertTrue(remote.awaitBlock(3, WAIT));
    CompletableFuture<Receipt> f = remote.submit(key(0), Transaction.transfer(key(1).id(), 5));
    assertFalse(f.isDone(), "accepted, waiting for its block");

    proxy.cut();
    awaitDisconnected(remote);
    Block withTx = local.produceBlock();          // block 4, sealed while the client is away
    local.produceBlocks(7);                        // 5 .. 11: epochs after 5 and 10
    assertEquals(3, remote.latestBlock(), "nothing arrives through a cut connection");
    proxy.restore();

    assertTrue(remote.awaitBlock(11, WAIT), "resumed at block 4 and caught up");
    assertEquals(expected(1, 11, 5), heard.lines);
    assertEquals(new Receipt(f.join().transaction(), withTx.number(), 0), f.join(),
        "the receipt came with its block after the reconnection");
    assertTrue(proxy.accepted() >= 2, "a second connection carried the rest");

    local.produceBlocks(4);                        // 12 .. 15, live again
    assertTrue(remote.awaitBlock(15, WAIT));
    assertEquals(expected(1, 15, 5), heard.lines);
  }

  @Test
  void eventStreamsHoldNoServerThreadSoManyClientsAreServedByAFew() throws Exception {
    LocalLedger local = local(1);
    LedgerServer server = closing(LedgerServer.builder().ledger(local).host("127.0.0.1").port(0)
        .threads(8).start());
    int clients = 24; // three streams for every server thread
    List<RemoteLedger> remotes = new ArrayList<>();
    List<Heard> heard = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      RemoteLedger remote = connect(server.uri());
      Heard h = new Heard();
      remote.subscribe(h);
      remotes.add(remote);
      heard.add(h);
    }
    local.produceBlocks(2);
    for (RemoteLedger remote : remotes) {
      assertTrue(remote.awaitBlock(2, WAIT), "every stream is served");
    }
    // With every stream open, requests are answered too.
    assertEquals(Optional.of(LedgerFixtures.FUNDS),
        remotes.get(0).account(key(0).id()).map(Account::balance));
    CompletableFuture<Receipt> f =
        remotes.get(clients - 1).submit(key(0), Transaction.transfer(key(1).id(), 5));
    Block third = local.produceBlock();
    assertEquals(third.number(), f.get(WAIT.toSeconds(), TimeUnit.SECONDS).block());
    for (int i = 0; i < clients; i++) {
      assertTrue(remotes.get(i).awaitBlock(3, WAIT));
      assertEquals(expected(1, 3, 5), heard.get(i).lines);
    }
  }

  @Test
  void heartbeatsKeepASilentStreamFromBeingTakenForDead() throws Exception {
    LocalLedger local = local(1);
    LedgerServer server = closing(LedgerServer.builder().ledger(local).host("127.0.0.1").port(0)
        .heartbeat(Duration.ofMillis(100)).start());
    // A timeout of 15 heartbeats: a slow machine's pauses do not reach it, a silent stream does.
    RemoteLedger remote = closing(RemoteLedger.builder().streamTimeout(Duration.ofMillis(1500))
        .connect(server.uri()));
    local.produceBlock();
    assertTrue(remote.awaitBlock(1, WAIT));
    // No block for over two of the client's timeouts: only heartbeats keep the stream up.
    for (long end = System.nanoTime() + 3_500_000_000L; System.nanoTime() < end; ) {
      assertTrue(remote.isConnected(), "the client took a silent stream for dead");
      Thread.sleep(20);
    }
    local.produceBlock();
    assertTrue(remote.awaitBlock(2, WAIT));
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"in memory", "compacted"})
  void aClientTooFarBehindStartsAfreshAndFailsWhatItWaitedForWhenNoJournalHoldsTheBlocks(
      String ledger) throws Exception {
    LocalLedger local = ledger.equals("compacted") ? local(1) : closing(LocalLedger.builder()
        .genesis(genesis(params(8), 1))
        .clock(LedgerFixtures.fixedClock())
        .blocks(BlockPolicy.manual())
        .openInMemory());
    LedgerServer server = serve(local, 2);
    CuttableProxy proxy = closing(new CuttableProxy(server.port()));
    RemoteLedger remote = connect(proxy.uri());
    CompletableFuture<Receipt> f = remote.submit(key(0), Transaction.transfer(key(1).id(), 5));

    proxy.cut();
    awaitDisconnected(remote);
    local.produceBlocks(5);                        // the server keeps only blocks 4 and 5
    if (ledger.equals("compacted")) {
      local.compactJournal();                      // and its journal only the state after 5
    }
    proxy.restore();

    assertTrue(remote.awaitBlock(5, WAIT));
    CompletionException e = assertThrows(CompletionException.class, f::join);
    assertInstanceOf(LedgerException.class, e.getCause());
    assertFalse(e.getCause() instanceof TransactionRejectedException);
    assertTrue(e.getCause().getMessage().contains("missed blocks 1 to 5"), e.getCause()::getMessage);
    assertEquals(1, local.nextNonce(key(0).id()), "it was in fact accepted: hence 'check nonce'");
    assertEquals(5, remote.metagraph().block().number(), "the client starts again from block 5");
    assertEquals(LedgerFixtures.FUNDS - 5,
        remote.account(key(0).id()).map(Account::balance).orElseThrow());
  }

  @Test
  void aClientTooFarBehindHearsWhatItMissedFromTheLedgersJournal() throws Exception {
    LocalLedger local = local(1);
    Away away = cutOffWhileWaiting(serve(local, 2));
    Block withTx = local.produceBlock();           // block 1
    local.produceBlocks(11);                       // 2 .. 12: the server keeps only 11 and 12
    away.proxy().restore();

    assertTrue(away.remote().awaitBlock(12, WAIT));
    assertEquals(expected(1, 12, 5), away.heard().lines, "every block and epoch, in order");
    assertEquals(new Receipt(away.hash(), withTx.number(), 0),
        away.waiting().get(WAIT.toSeconds(), TimeUnit.SECONDS), "the receipt came with its block");
    assertEquals(local.metagraph().peers(), away.remote().metagraph().peers());
    assertEquals(LedgerFixtures.FUNDS - 5,
        away.remote().account(key(0).id()).map(Account::balance).orElseThrow());
  }

  /** A client connected through a proxy, its listener, and a transaction it waits for. */
  private record Away(CuttableProxy proxy, RemoteLedger remote, Heard heard, Hash256 hash,
      CompletableFuture<Receipt> waiting) {}

  /** Connects a listening client, has it submit a transfer, and cuts it off while it waits. */
  private Away cutOffWhileWaiting(LedgerServer server) throws Exception {
    CuttableProxy proxy = closing(new CuttableProxy(server.port()));
    RemoteLedger remote = connect(proxy.uri());
    Heard heard = new Heard();
    remote.subscribe(heard);
    SignedTransaction tx = SignedTransaction.sign(key(0), remote.chainId(),
        remote.nextNonce(key(0).id()), Transaction.transfer(key(1).id(), 5));
    CompletableFuture<Receipt> f = remote.submit(tx);
    assertFalse(f.isDone(), "accepted, waiting for its block");
    proxy.cut();
    awaitDisconnected(remote);
    return new Away(proxy, remote, heard, tx.hash(), f);
  }

  @Test
  void aClientHearsTheBlocksACompactionArchivedWhileItWasAway() throws Exception {
    LocalLedger local = closing(LocalLedger.builder()
        .genesis(genesis(params(8), 1))
        .clock(LedgerFixtures.fixedClock())
        .blocks(BlockPolicy.manual())
        .snapshotEvery(4)
        .compactAtSnapshots(true)
        .archiveCompacted(true)
        .open(dir.resolve("archiving")));
    Away away = cutOffWhileWaiting(serve(local, 2));
    local.produceBlocks(13);                       // compacted at 4, 8 and 12; 1 has the transfer
    away.proxy().restore();

    assertTrue(away.remote().awaitBlock(13, WAIT));
    assertEquals(expected(1, 13, 5), away.heard().lines, "every block, from the archive on");
    assertEquals(1, away.waiting().get(WAIT.toSeconds(), TimeUnit.SECONDS).block());
  }

  /**
   * A server reads back at most its history's bytes for a stream (LedgerHubTest), then sends a
   * resync; the client resumes after the last block read back, page by page, until it has heard
   * every block (before 2026-12-06 it took the first resync and skipped to the latest block).
   */
  @Test
  void aClientFarBehindIsReadBackPageByPageWithinTheHistorysByteLimit() throws Exception {
    LocalLedger local = local(1);
    java.util.concurrent.atomic.AtomicInteger streams =
        new java.util.concurrent.atomic.AtomicInteger();
    Away away = cutOffWhileWaiting(closing(LedgerServer.builder().ledger(local)
        .host("127.0.0.1").port(0).history(2).historyBytes(1500).requestListener(e -> {
          if (e.operation() == LedgerRequestEvent.Operation.EVENTS) {
            streams.incrementAndGet();
          }
        }).start()));
    local.produceBlocks(12);                       // block 1 holds the transaction
    local.submit(key(0), Transaction.transfer(key(1).id(), 1));
    local.produceBlocks(20);                       // 13, with a metagraph, .. 32
    away.proxy().restore();

    assertTrue(away.remote().awaitBlock(32, WAIT));
    assertEquals(1, away.waiting().get(WAIT.toSeconds(), TimeUnit.SECONDS).block(),
        "read back within the budget");
    assertEquals(expected(1, 32, 5), away.heard().lines, "every block and epoch, in order");
    assertEquals(32, away.remote().metagraph().block().number());
    assertEquals(local.metagraph().peers(), away.remote().metagraph().peers());
    // The stream cut, and more than one page after it: 32 blocks do not fit in 1,500 bytes.
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (streams.get() < 3 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertTrue(streams.get() >= 3, "streams ended: " + streams.get());
  }

  @Test
  void aRestartedServerTellsItsClientsWhatTheyMissedFromTheJournal() throws Exception {
    Path data = dir.resolve("ledger");
    LocalLedger first = local(1);
    LedgerServer server = serve(first, 1024);
    int port = server.port();
    first.produceBlocks(2);                        // the client starts from block 2
    Away away = cutOffWhileWaiting(server);
    Block withTx = first.produceBlock();           // block 3, its event never sent
    first.produceBlocks(3);                        // 4 .. 6
    server.close();                                // the server's process ends: its history
    first.close();                                 // is gone, the journal is not

    LocalLedger second = closing(LocalLedger.builder().clock(LedgerFixtures.fixedClock())
        .blocks(BlockPolicy.manual()).open(data));
    closing(LedgerServer.builder().ledger(second).host("127.0.0.1").port(port).start());
    second.produceBlocks(2);                       // 7, 8: the new history begins here
    away.proxy().restore();

    assertTrue(away.remote().awaitBlock(8, WAIT));
    assertEquals(expected(3, 8, 5), away.heard().lines, "every block and epoch, in order");
    assertEquals(new Receipt(away.hash(), withTx.number(), 0),
        away.waiting().get(WAIT.toSeconds(), TimeUnit.SECONDS), "the receipt outlived the server");
    second.produceBlock();
    assertTrue(away.remote().awaitBlock(9, WAIT), "and the stream goes on live");
    assertEquals(expected(3, 9, 5), away.heard().lines);
  }

  @Test
  void aTransactionARestartedServerLostFailsInsteadOfWaitingForever() throws Exception {
    Path data = dir.resolve("ledger");
    LocalLedger first = local(1);
    LedgerServer server = serve(first, 1024);
    int port = server.port();
    first.produceBlock();
    Away away = cutOffWhileWaiting(server);
    server.close();                                // the process ends before a block seals it
    first.close();

    LocalLedger second = closing(LocalLedger.builder().clock(LedgerFixtures.fixedClock())
        .blocks(BlockPolicy.manual()).open(data));
    closing(LedgerServer.builder().ledger(second).host("127.0.0.1").port(port).start());
    away.proxy().restore();

    CompletionException e = assertThrows(CompletionException.class,
        () -> away.waiting().orTimeout(WAIT.toSeconds(), TimeUnit.SECONDS).join());
    assertInstanceOf(LedgerException.class, e.getCause(), "not a timeout: " + e.getCause());
    assertTrue(e.getCause().getMessage().contains("no record of it"), e.getCause()::getMessage);
    assertTrue(e.getCause().getMessage().contains("check the signer's nonce"),
        e.getCause()::getMessage);
    assertEquals(0, second.nextNonce(key(0).id()), "it is indeed not in the ledger");
    // The failure is told by the stream's first events; the client counts itself connected
    // once it has taken the first, so allow it that moment.
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!away.remote().isConnected() && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertTrue(away.remote().isConnected(), "the stream itself goes on");

    CompletableFuture<Receipt> again =
        away.remote().submit(key(0), Transaction.transfer(key(1).id(), 5));
    second.produceBlock();
    assertEquals(2, again.get(WAIT.toSeconds(), TimeUnit.SECONDS).block(), "resent, sealed");
  }

  /** A block record as text that compares exactly: block, transactions, epoch, state. */
  private static String describe(io.bittensor.core.BlockRecord r) {
    return r.block() + " " + r.transactions().stream().map(SignedTransaction::hash).toList()
        + " " + r.epoch() + " " + r.after().block() + " " + r.after().supply() + " "
        + r.after().peers() + " " + java.util.Arrays.deepToString(r.after().weights().toArray());
  }

  @Test
  void readBlocksGivesWhatTheServersLedgerReadsBackPageByPage() throws Exception {
    LocalLedger local = local(3);
    LedgerServer server = serve(local, 16);
    RemoteLedger remote = connect(server.uri());
    local.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT));
    local.submit(key(1), Transaction.register(endpoint(1), Modality.TEXT));
    local.produceBlock();
    local.submit(key(0), Transaction.setWeights(new int[] {1}, new double[] {1}));
    local.submit(key(1), Transaction.transfer(key(2).id(), 7));
    local.produceBlocks(1100);                     // over one page of 1024 blocks
    local.submit(key(2), Transaction.transfer(key(0).id(), 3));
    local.produceBlocks(3);

    List<String> there = new ArrayList<>();
    assertEquals(1104, local.readBlocks(1, Long.MAX_VALUE, r -> there.add(describe(r))));
    List<String> here = new ArrayList<>();
    assertEquals(1104, remote.readBlocks(1, Long.MAX_VALUE, r -> here.add(describe(r))));
    assertEquals(there, here, "every block, its transactions, epoch and metagraph");
    List<io.bittensor.core.BlockBody> bodiesThere = new ArrayList<>();
    local.readBlockBodies(1, Long.MAX_VALUE, bodiesThere::add);
    List<io.bittensor.core.BlockBody> bodiesHere = new ArrayList<>();
    assertEquals(1104, remote.readBlockBodies(1, Long.MAX_VALUE, bodiesHere::add));
    assertEquals(bodiesThere, bodiesHere, "every block and its transactions, over two pages");
    assertEquals(1104, bodiesHere.size());

    List<String> some = new ArrayList<>();
    assertEquals(1002, remote.readBlocks(1000, 1104, r -> some.add(describe(r))
        && some.size() < 3), "the visitor stops it");
    assertEquals(there.subList(999, 1002), some);
    assertEquals(1104, remote.readBlocks(1105, 2000, r -> true), "nothing past the latest");
  }

  @Test
  void aClientAuditsTheServersChainFromItsGenesisBlock() throws Exception {
    LocalLedger local = local(3);
    RemoteLedger remote = connect(serve(local, 16).uri());
    local.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT));
    local.submit(key(1), Transaction.register(endpoint(1), Modality.TEXT));
    local.produceBlocks(3);
    local.submit(key(0), Transaction.setWeights(new int[] {1}, new double[] {1}));
    local.submit(key(1), Transaction.addStake(500));
    local.produceBlocks(8);
    assertTrue(remote.awaitBlock(11, WAIT));

    assertEquals(local.genesisBlock().length, remote.genesisBlock().length);
    io.bittensor.core.ChainAudit.Result r =
        io.bittensor.core.ChainAudit.verify(local.chainId(), remote, Long.MAX_VALUE);
    assertEquals(local.metagraph().block(), r.last());
    assertEquals(local.metagraph().peers(), r.state().peers());
    assertEquals(remote.metagraph().peers(), r.state().peers(), "what the server says, checked");
  }

  @Test
  void anAuditedRemoteLedgerHearsOnlyCheckedBlocksAndPassesTheReceiptsOn() throws Exception {
    LocalLedger local = local(3);
    local.produceBlocks(2);
    try (io.bittensor.core.AuditedLedger audited = io.bittensor.core.AuditedLedger.over(
        RemoteLedger.connect(serve(local, 16).uri()), local.chainId())) {
      Heard heard = new Heard();
      audited.subscribe(heard);
      CompletableFuture<Receipt> f =
          audited.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT));
      local.produceBlocks(4);
      assertEquals(3, f.get(WAIT.toSeconds(), TimeUnit.SECONDS).block());
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (heard.lines.size() < 5) {
        assertTrue(System.nanoTime() < deadline, "heard " + heard.lines);
        Thread.sleep(5);
      }
      assertEquals(expected(3, 6, 5), heard.lines);
      assertEquals(local.metagraph().peers(), audited.metagraph().peers());
      assertEquals(local.metagraph().block(), audited.metagraph().block());
    }
  }

  @Test
  void readBlocksSaysWhyTheServerCannotReadThem() throws Exception {
    LocalLedger local = local(1);
    local.produceBlocks(3);
    local.compactJournal();
    RemoteLedger remote = connect(serve(local, 16).uri());
    LedgerException compacted = assertThrows(LedgerException.class,
        () -> remote.readBlocks(1, 3, r -> true));
    assertTrue(compacted.getMessage().contains("compacted at block 3"), compacted::getMessage);
    assertThrows(IllegalArgumentException.class, () -> remote.readBlocks(0, 3, r -> true));

    LocalLedger memory = closing(LocalLedger.builder().genesis(genesis(params(8), 1))
        .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual()).openInMemory());
    memory.produceBlock();
    RemoteLedger toMemory = connect(serve(memory, 16).uri());
    LedgerException none = assertThrows(LedgerException.class,
        () -> toMemory.readBlocks(1, 1, r -> true));
    assertTrue(none.getMessage().contains("keeps no journal"), none::getMessage);
  }

  /** Counts the server side's metagraph reads. */
  private static final class CountingLedger extends ForwardingLedger {
    final AtomicInteger metagraphReads = new AtomicInteger();

    CountingLedger(Ledger inner) {
      super(inner);
    }

    @Override
    public Metagraph metagraph() throws LedgerException {
      metagraphReads.incrementAndGet();
      return super.metagraph();
    }
  }

  /**
   * A ledger that tells its listeners of a block before it completes the futures of the
   * block's transactions (the other order than LocalLedger's).
   */
  private static final class ListenersFirstLedger extends ForwardingLedger {
    final LocalLedger inner;
    final List<LedgerListener> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    final List<Runnable> completions = new ArrayList<>();

    ListenersFirstLedger(LocalLedger inner) {
      super(inner);
      this.inner = inner;
      inner.subscribe(new LedgerListener() {
        @Override
        public void onEpoch(Epoch epoch, Metagraph after) {
          listeners.forEach(l -> l.onEpoch(epoch, after));
        }

        @Override
        public void onBlock(Block block, Metagraph after) {
          listeners.forEach(l -> l.onBlock(block, after));
          List<Runnable> now;
          synchronized (completions) {
            now = new ArrayList<>(completions);
            completions.clear();
          }
          now.forEach(Runnable::run);
        }
      });
    }

    @Override
    public CompletableFuture<Receipt> submit(SignedTransaction transaction) {
      CompletableFuture<Receipt> late = new CompletableFuture<>();
      inner.submit(transaction).whenComplete((r, e) -> {
        Runnable complete = () -> {
          if (e != null) {
            late.completeExceptionally(e instanceof CompletionException c ? c.getCause() : e);
          } else {
            late.complete(r);
          }
        };
        if (e != null) {
          complete.run(); // rejections stay immediate
        } else {
          synchronized (completions) {
            completions.add(complete);
          }
        }
      });
      return late;
    }

    @Override
    public Subscription subscribe(LedgerListener listener) {
      listeners.add(listener);
      return () -> listeners.remove(listener);
    }
  }

  @Test
  void aReceiptThatComesAfterItsBlockStillReachesTheClient() throws Exception {
    LocalLedger local = local(2);
    ListenersFirstLedger ledger = new ListenersFirstLedger(local);
    RemoteLedger remote = connect(serve(ledger, 16).uri());
    CompletableFuture<Receipt> f = remote.submit(key(0), Transaction.transfer(key(1).id(), 5));
    CompletableFuture<Receipt> g = remote.submit(key(1), Transaction.transfer(key(0).id(), 7));
    Block b = local.produceBlock();
    assertTrue(remote.awaitBlock(b.number(), WAIT));
    assertEquals(b.number(), f.get(10, TimeUnit.SECONDS).block());
    assertEquals(b.number(), g.get(10, TimeUnit.SECONDS).block());
    assertEquals(java.util.Set.of(0, 1), java.util.Set.of(f.join().index(), g.join().index()));
  }

  @Test
  void theMetagraphCacheIsRefreshedByBlockEventsWithoutAskingTheServer() throws Exception {
    LocalLedger local = local(3);
    CountingLedger counting = new CountingLedger(local);
    LedgerServer server = serve(counting, 1024);
    CuttableProxy proxy = closing(new CuttableProxy(server.port()));
    RemoteLedger remote = connect(proxy.uri());
    int reads = counting.metagraphReads.get();

    for (int i = 0; i < 3; i++) {
      remote.submit(key(i), Transaction.register(endpoint(i), Modality.TEXT));
      Block b = local.produceBlock();
      assertTrue(remote.awaitBlock(b.number(), WAIT));
      Metagraph m = remote.metagraph();
      assertEquals(b, m.block());
      assertEquals(i + 1, m.size(), "the new peer is in the cached metagraph");
      assertEquals(key(i).id(), m.info(i).id());
    }
    remote.submit(key(1), Transaction.addStake(700));
    Block staked = local.produceBlock();
    Block empty = local.produceBlock();            // no transactions: the event has no metagraph
    assertTrue(remote.awaitBlock(empty.number(), WAIT));
    Metagraph m = remote.metagraph();
    assertEquals(empty, m.block());
    assertEquals(700, m.stake(1), "carried over from the previous block's metagraph");
    assertEquals(local.metagraph().weights(), m.weights());
    assertEquals(staked, remote.cachedMetagraph(staked.number()).orElseThrow().block());
    assertEquals(reads, counting.metagraphReads.get(), "every read came from the cache");
    // Block 5 ran an epoch; a served ledger that gives no genesis block (this wrapper) is not
    // asked to let clients run it, so none failed and reconnected (which would read above).
    assertTrue(EpochReplay.ranEpoch(local.metagraph()), "block 5's epoch ran");
    assertEquals(0, remote.epochsReplayed());

    proxy.cut();
    awaitDisconnected(remote);
    LedgerException e = assertThrows(LedgerException.class, remote::metagraph,
        "a disconnected client asks the server rather than serve a stale metagraph");
    assertTrue(e.getMessage().contains("cannot reach the ledger at " + proxy.uri()),
        e.getMessage());
    proxy.restore();
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!remote.isConnected() && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertEquals(empty, remote.metagraph().block());
  }

  @Test
  void aClientNeverFollowsAnotherChainBehindTheSameAddress() throws Exception {
    LocalLedger first = local(1);
    LedgerServer server = serve(first, 16);
    int port = server.port();
    RemoteLedger remote = connect(server.uri());
    Hash256 chain = remote.chainId();
    server.close();
    first.close();
    awaitDisconnected(remote);
    try (LocalLedger other = LocalLedger.builder()
            .genesis(genesis(params(4), 2))
            .clock(LedgerFixtures.fixedClock())
            .blocks(BlockPolicy.manual())
            .openInMemory();
        LedgerServer again = LedgerServer.builder().ledger(other).host("127.0.0.1").port(port)
            .start()) {
      assertFalse(other.chainId().equals(chain));
      other.produceBlocks(3);
      Thread.sleep(1500); // several reconnections, each refused by the client
      assertFalse(remote.isConnected());
      assertEquals(chain, remote.chainId());
      assertTrue(remote.latestBlock() < 3, "no block of the other chain was taken");
    }
  }

  @Test
  void rejectionsCrossTheWireWithTheLedgersReasonAndDetail() throws Exception {
    LocalLedger local = local(1);
    RemoteLedger remote = connect(serve(local, 16).uri());
    SignedTransaction ahead = SignedTransaction.sign(key(0), local.chainId(), 3,
        Transaction.transfer(key(1).id(), 5));
    SignedTransaction poor = SignedTransaction.sign(key(0), local.chainId(), 0,
        Transaction.transfer(key(1).id(), LedgerFixtures.FUNDS + 1));
    for (SignedTransaction tx : List.of(ahead, poor)) {
      CompletableFuture<Receipt> over = remote.submit(tx);
      assertTrue(over.isDone(), "a rejection is immediate");
      TransactionRejectedException r = assertInstanceOf(TransactionRejectedException.class,
          assertThrows(CompletionException.class, over::join).getCause());
      TransactionRejectedException direct = assertInstanceOf(TransactionRejectedException.class,
          assertThrows(CompletionException.class, () -> local.submit(tx).join()).getCause());
      assertEquals(direct.reason(), r.reason());
      assertEquals(direct.detail(), r.detail());
      assertEquals(direct.getMessage(), r.getMessage());
    }
    assertEquals(RejectReason.NONCE_WRONG, reason(remote.submit(ahead)));
    assertEquals(RejectReason.INSUFFICIENT_BALANCE, reason(remote.submit(poor)));
  }

  private static RejectReason reason(CompletableFuture<Receipt> f) {
    return ((TransactionRejectedException) assertThrows(CompletionException.class, f::join)
        .getCause()).reason();
  }

  @Test
  void anUnreachableServerIsAClearError() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    URI nowhere = URI.create("http://127.0.0.1:" + port);
    LedgerException e = assertThrows(LedgerException.class, () -> RemoteLedger.connect(nowhere));
    assertTrue(e.getMessage().startsWith("cannot reach the ledger at " + nowhere), e.getMessage());

    LocalLedger local = local(1);
    LedgerServer server = serve(local, 16);
    RemoteLedger remote = connect(server.uri());
    server.close();
    LedgerException read = assertThrows(LedgerException.class,
        () -> remote.account(key(0).id()));
    assertTrue(read.getMessage().contains(server.uri().toString()), read.getMessage());
    CompletableFuture<Receipt> f = remote.submit(SignedTransaction.sign(key(0), local.chainId(),
        0, Transaction.transfer(key(1).id(), 5)));
    Throwable failed = assertThrows(CompletionException.class, f::join).getCause();
    assertInstanceOf(LedgerException.class, failed);
    assertFalse(failed instanceof TransactionRejectedException);
    assertTrue(failed.getMessage().contains("check nonce 0"), failed.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> RemoteLedger.connect(URI.create("ftp://127.0.0.1:1")));
  }

  private static URI nowhere() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return URI.create("http://127.0.0.1:" + s.getLocalPort());
    }
  }

  /**
   * A transaction the client could not send to the server in use (it refused the connection)
   * goes to the next, which takes it: the move that follows does not fail it, and its block
   * comes on the next server's stream. Only what the server left behind may have taken fails.
   */
  @Test
  void aTransactionTheNextServerTookIsNotFailedByTheMove() throws Exception {
    LocalLedger local = local(1);
    LedgerServer first = serve(local, 16);
    LedgerServer second = serve(local, 16);
    try (CuttableProxy proxy = new CuttableProxy(first.uri().getPort())) {
      // HTTP/1.1: the stream holds its own connection, and a request needs a new one.
      RemoteLedger remote = closing(RemoteLedger.builder().protocol(HttpProtocol.HTTP_1_1)
          .connect(List.of(proxy.uri(), second.uri())));
      proxy.closePort(); // the stream stays up; connections to the first are refused
      assertEquals(1, proxy.accepted(), "the stream's is the client's only connection there");
      CompletableFuture<Receipt> f = remote.submit(SignedTransaction.sign(key(0),
          local.chainId(), 0, Transaction.transfer(key(1).id(), 5)));
      // The move follows the refused connection on this thread, before the resend.
      assertEquals(second.uri(), remote.uri(), "refused by the first, the client moved");
      Block b = local.produceBlock();
      assertEquals(b.number(), f.orTimeout(WAIT.toSeconds(), TimeUnit.SECONDS).join().block(),
          "the second took it, and its stream tells the block");
      assertEquals(1, proxy.accepted(), "no connection reached the first once its port closed");
    }
  }

  /**
   * A move made before the event thread first ran is not blamed on the server moved to when the
   * first server's stream ends: the client stays there, and what it sent there waits for its
   * block. The event thread took the server in use for its first stream's, and so moved back.
   */
  @Test
  void aMoveBeforeTheEventThreadRanIsNotUndone() throws Exception {
    LocalLedger local = local(1);
    LedgerServer first = serve(local, 16);
    LedgerServer second = serve(local, 16);
    CountDownLatch moved = new CountDownLatch(1);
    try (CuttableProxy proxy = new CuttableProxy(first.uri().getPort())) {
      RemoteLedger remote = closing(RemoteLedger.builder().protocol(HttpProtocol.HTTP_1_1)
          .eventThreads(r -> heldBack(moved, r))
          .connect(List.of(proxy.uri(), second.uri())));
      proxy.closePort();
      CompletableFuture<Receipt> f = remote.submit(SignedTransaction.sign(key(0),
          local.chainId(), 0, Transaction.transfer(key(1).id(), 5)));
      assertEquals(second.uri(), remote.uri(), "refused by the first, the client moved");
      moved.countDown(); // the event thread runs now, its stream to the first cancelled
      Block b = local.produceBlock();
      assertEquals(b.number(), f.orTimeout(WAIT.toSeconds(), TimeUnit.SECONDS).join().block(),
          "the second took it, and the client stayed there to hear its block");
      assertEquals(second.uri(), remote.uri(), "the client stayed at the second");
    }
  }

  /**
   * A submission that took the server in use just before the client moved on, and then found
   * that server refusing its connection, goes to the server moved to: the old one never saw it.
   * The move no longer fails it while its request is out; it failed so before.
   */
  @Test
  void aSubmissionRefusedByTheServerJustLeftGoesToTheNext() throws Exception {
    LocalLedger local = local(1);
    LedgerServer first = serve(local, 16);
    LedgerServer second = serve(local, 16);
    HeldClock clock = new HeldClock();
    try (CuttableProxy proxy = new CuttableProxy(first.uri().getPort())) {
      RemoteLedger remote = closing(RemoteLedger.builder().protocol(HttpProtocol.HTTP_1_1)
          .clock(clock).connect(List.of(proxy.uri(), second.uri())));
      SignedTransaction tx = SignedTransaction.sign(key(0), local.chainId(), 0,
          Transaction.transfer(key(1).id(), 5));
      // It signs its request once it has taken the server in use.
      CompletableFuture<CompletableFuture<Receipt>> submitted =
          submitOnItsOwnThread(remote, tx, () -> clock.holdNextReadOn("test-submitter"));
      clock.awaitHeld();
      proxy.closePort(); // the submission will be refused there
      proxy.cut(); // and the stream ends: the client moves to the second
      awaitServer(remote, second.uri());
      clock.release();
      CompletableFuture<Receipt> f = submitted.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      Block b = local.produceBlock();
      assertEquals(b.number(), f.orTimeout(WAIT.toSeconds(), TimeUnit.SECONDS).join().block(),
          "the second took it, and its stream tells the block");
      assertEquals(1, proxy.accepted(), "the first never saw the submission");
    }
  }

  /**
   * A submission whose connection to the server in use was made, and broke as the client moved
   * on, may have arrived there: it fails, saying so and naming that server, and is not sent to
   * the next, though a second connection to the old server would now be refused. Also when the
   * connection was one used before, which OkHttp follows with a new one (refused here): it
   * throws the refusal, and the earlier failure only as suppressed.
   */
  @ParameterizedTest(name = "over a connection used before: {0}")
  @ValueSource(booleans = {false, true})
  void aSubmissionThatMayHaveArrivedIsNotSentAgainByAMove(boolean reused) throws Exception {
    LocalLedger local = local(1);
    CountDownLatch arrived = new CountDownLatch(1);
    CountDownLatch answer = new CountDownLatch(1);
    LedgerServer first = serve(new ForwardingLedger(local) {
      @Override
      public CompletableFuture<Receipt> submit(SignedTransaction transaction) {
        arrived.countDown();
        try {
          answer.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return super.submit(transaction);
      }
    }, 16);
    AtomicInteger sentToSecond = new AtomicInteger();
    LedgerServer second = serve(new ForwardingLedger(local) {
      @Override
      public CompletableFuture<Receipt> submit(SignedTransaction transaction) {
        sentToSecond.incrementAndGet();
        return super.submit(transaction);
      }
    }, 16);
    try (CuttableProxy proxy = new CuttableProxy(first.uri().getPort())) {
      RemoteLedger remote = closing(RemoteLedger.builder().protocol(HttpProtocol.HTTP_1_1)
          .connect(List.of(proxy.uri(), second.uri())));
      if (reused) {
        remote.account(key(0).id()); // its connection idles in the client's pool
      }
      int connections = proxy.accepted();
      assertEquals(reused ? 2 : 1, connections, "the stream's, and the read's if any");
      CompletableFuture<CompletableFuture<Receipt>> submitted = submitOnItsOwnThread(remote,
          SignedTransaction.sign(key(0), local.chainId(), 0,
              Transaction.transfer(key(1).id(), 5)), () -> {});
      assertTrue(arrived.await(WAIT.toSeconds(), TimeUnit.SECONDS), "it never reached the first");
      assertEquals(reused ? connections : connections + 1, proxy.accepted(),
          reused ? "the submission took the idle connection" : "it took a new connection");
      proxy.closePort();
      proxy.cut(); // the submission's connection and the stream: the client moves on
      awaitServer(remote, second.uri());
      CompletableFuture<Receipt> f = submitted.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      answer.countDown();
      assertEquals(0, sentToSecond.get(), "it was sent again to the second");
      Throwable failed = assertThrows(CompletionException.class,
          () -> f.orTimeout(WAIT.toSeconds(), TimeUnit.SECONDS).join()).getCause();
      assertFalse(failed instanceof TransactionRejectedException, failed.toString());
      assertTrue(failed.getMessage().startsWith("cannot reach the ledger at " + proxy.uri()),
          failed.getMessage());
      assertTrue(failed.getMessage().contains("may or may not have arrived"),
          failed.getMessage());
      assertEquals(reused, failed.getMessage().contains(", then Failed to connect"),
          "names the break, then the refusal: " + failed.getMessage());
    } finally {
      answer.countDown();
    }
  }

  /**
   * An event stream opened at a server the client moved on from while the stream's request was
   * being made is given up, and opened where the client is: there it tells the blocks of what
   * the client sent there. It stayed at the old server, which says nothing of those.
   */
  @Test
  void aStreamOpenedAtAServerJustLeftFollowsTheClient() throws Exception {
    LocalLedger local = local(1);
    LedgerServer first = serve(local, 16);
    LedgerServer second = serve(local, 16);
    HeldClock clock = new HeldClock();
    try (CuttableProxy toFirst = new CuttableProxy(first.uri().getPort());
        CuttableProxy toSecond = new CuttableProxy(second.uri().getPort())) {
      toFirst.closePort(); // the client starts at the second
      RemoteLedger remote = closing(RemoteLedger.builder().protocol(HttpProtocol.HTTP_1_1)
          .clock(clock).connect(List.of(toFirst.uri(), toSecond.uri())));
      assertEquals(toSecond.uri(), remote.uri());
      // Its stream ends: the client moves (round) to the first, and the event thread signs its
      // request for a stream there, and is held.
      clock.holdNextReadOn("bittensor-ledger-events");
      toSecond.cut();
      toSecond.restore();
      clock.awaitHeld();
      // Refused by the first, a submission moves the client back to the second, which takes it.
      CompletableFuture<Receipt> f = remote.submit(SignedTransaction.sign(key(0),
          local.chainId(), 0, Transaction.transfer(key(1).id(), 5)));
      assertEquals(toSecond.uri(), remote.uri(), "refused by the first, the client moved");
      toFirst.reopenPort(); // the first would take the stream now
      clock.release();
      Block b = local.produceBlock();
      assertEquals(b.number(), f.orTimeout(WAIT.toSeconds(), TimeUnit.SECONDS).join().block(),
          "the stream followed the client to the second, which tells the block");
    }
  }

  /** Submits {@code tx} on a thread of its own, which runs {@code first} before. */
  private static CompletableFuture<CompletableFuture<Receipt>> submitOnItsOwnThread(
      RemoteLedger remote, SignedTransaction tx, Runnable first) {
    CompletableFuture<CompletableFuture<Receipt>> submitted = new CompletableFuture<>();
    Thread submitter = new Thread(() -> {
      first.run();
      submitted.complete(remote.submit(tx));
    }, "test-submitter");
    submitter.setDaemon(true);
    submitter.start();
    return submitted;
  }

  private static void awaitServer(RemoteLedger remote, URI server) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!remote.uri().equals(server)) {
      assertTrue(System.nanoTime() < deadline, "the client never moved to " + server);
      Thread.sleep(5);
    }
  }

  /** The system clock, which can hold back a thread at its next read until released. */
  private static final class HeldClock extends Clock {
    private final CountDownLatch held = new CountDownLatch(1);
    private final CountDownLatch released = new CountDownLatch(1);
    private volatile String holding;

    /** Holds the thread of that name at its next read. */
    void holdNextReadOn(String threadName) {
      holding = threadName;
    }

    void awaitHeld() throws InterruptedException {
      assertTrue(held.await(WAIT.toSeconds(), TimeUnit.SECONDS), "the clock was never read");
    }

    void release() {
      released.countDown();
    }

    @Override
    public Instant instant() {
      if (Thread.currentThread().getName().equals(holding)) {
        holding = null;
        held.countDown();
        try {
          released.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return Instant.now();
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      throw new UnsupportedOperationException();
    }
  }

  /** A daemon thread that runs {@code r} once {@code go} opens (not at all if interrupted). */
  private static Thread heldBack(CountDownLatch go, Runnable r) {
    Thread t = new Thread(() -> {
      try {
        go.await();
      } catch (InterruptedException closed) {
        return;
      }
      r.run();
    }, "test-held-back");
    t.setDaemon(true);
    return t;
  }

  /**
   * Given several servers, a client connects to the first that answers and moves to the next
   * when the one in use goes: what it waited for there fails, saying so, and the rest goes on at
   * the next. None answering is an error naming each.
   */
  @Test
  void aClientMovesToTheNextServerWhenTheOneInUseGoes() throws Exception {
    LocalLedger local = local(1);
    URI later = nowhere();
    LedgerServer first = serve(local, 16);
    try (RemoteLedger skipping = RemoteLedger.connect(List.of(later, first.uri()))) {
      assertEquals(first.uri(), skipping.uri(), "one that does not answer is passed over");
    }
    RemoteLedger remote = closing(RemoteLedger.builder().reconnectTimeout(Duration.ofSeconds(30))
        .connect(List.of(first.uri(), later)));
    assertEquals(first.uri(), remote.uri(), "the first answers: the rest are not tried");
    assertEquals(List.of(first.uri(), later), remote.servers());
    serve(local, 16, later.getPort());
    CompletableFuture<Receipt> f = remote.submit(key(0), Transaction.transfer(key(1).id(), 5));
    assertFalse(f.isDone(), "waiting for its block at the first");

    first.close();
    Throwable moved = assertThrows(CompletionException.class,
        () -> f.orTimeout(WAIT.toSeconds(), TimeUnit.SECONDS).join()).getCause();
    assertEquals("the client moved from " + first.uri() + " to " + later + ", which cannot tell"
        + " it the transaction's block; it may or may not be in the ledger: check the signer's"
        + " nonce before resending", moved.getMessage());
    assertEquals(later, remote.uri());
    Block b = local.produceBlock();
    assertTrue(remote.awaitBlock(b.number(), WAIT), "the stream goes on at the next");
    assertEquals(LedgerFixtures.FUNDS - 5,
        remote.account(key(0).id()).map(Account::balance).orElseThrow());

    URI third = nowhere();
    LedgerException none = assertThrows(LedgerException.class,
        () -> RemoteLedger.connect(List.of(first.uri(), third)));
    assertTrue(none.getMessage().startsWith("cannot reach any of the ledger servers: cannot"
        + " reach the ledger at " + first.uri()), none::getMessage);
    assertTrue(none.getMessage().contains("; cannot reach the ledger at " + third),
        none::getMessage);
    assertThrows(IllegalArgumentException.class, () -> RemoteLedger.connect(List.of()));
    assertThrows(IllegalArgumentException.class,
        () -> RemoteLedger.connect(URI.create("http:/no-host")));
  }

  @Test
  void unsignedOrForgedRequestsAreRefused() throws Exception {
    LocalLedger local = local(1);
    LedgerServer server = serve(local, 16);
    OkHttpClient http = new OkHttpClient.Builder().build();
    try {
      byte[] tx = SignedTransaction.sign(key(0), local.chainId(), 0,
          Transaction.transfer(key(1).id(), 5)).encode();
      LedgerRequest anonymous = LedgerRequest.newBuilder().setVersion(1)
          .setBody(SubmitRequest.newBuilder().setTransaction(ByteString.copyFrom(tx)).build()
              .toByteString())
          .build();
      LedgerResponse r = post(http, server.uri().resolve("/v1/ledger/submit"), anonymous, 401);
      assertEquals(13, r.getStatus(), "UNAUTHENTICATED: " + r.getMessage());

      LedgerRequest forged = anonymous.toBuilder().setCaller(
          io.bittensor.transport.internal.wire.Caller.newBuilder()
              .setPublicKey(ByteString.copyFrom(key(0).id().toBytes()))
              .setNonce(ByteString.copyFrom(new byte[16]))
              .setTimestampMs(System.currentTimeMillis())
              .setSignature(ByteString.copyFrom(key(0).sign(new byte[] {1}))))
          .build();
      r = post(http, server.uri().resolve("/v1/ledger/submit"), forged, 401);
      assertEquals(6, r.getStatus(), "BAD_SIGNATURE: " + r.getMessage());
      assertEquals(0, local.nextNonce(key(0).id()), "nothing reached the ledger");

      // A ledger request is always signed whole: the metadata-only scope is for tensors.
      LedgerRequest metadataOnly = anonymous.toBuilder().setCaller(
          new io.bittensor.transport.internal.CallerSigner(key(0), java.time.Clock.systemUTC())
              .sign(io.bittensor.transport.internal.wire.SignatureScope.METADATA_ONLY,
                  c -> io.bittensor.transport.internal.CanonicalDigest.ofLedger("submit",
                      anonymous.toBuilder().setCaller(c).buildPartial())))
          .build();
      r = post(http, server.uri().resolve("/v1/ledger/submit"), metadataOnly, 401);
      assertEquals(13, r.getStatus(), "UNAUTHENTICATED: " + r.getMessage());
      assertTrue(r.getMessage().contains("whole request"), r.getMessage());
      assertEquals(0, local.nextNonce(key(0).id()), "nothing reached the ledger");

      // The same server answers a signed client's next request.
      RemoteLedger remote = connect(server.uri());
      assertEquals(LedgerFixtures.FUNDS,
          remote.account(key(0).id()).map(Account::balance).orElseThrow());
    } finally {
      http.dispatcher().executorService().shutdown();
      http.connectionPool().evictAll();
    }
  }

  @Test
  void badRequestsGetAnAnswerNamingTheProblemAndTheServerGoesOn() throws Exception {
    LocalLedger local = local(1);
    LedgerServer server = closing(LedgerServer.builder().ledger(local).host("127.0.0.1")
        .port(0).allowAnonymous(true).maxPayloadBytes(1024).start());
    OkHttpClient http = new OkHttpClient.Builder().build();
    MediaType protobuf = MediaType.get("application/x-protobuf");
    try {
      URI submit = server.uri().resolve("/v1/ledger/submit");
      LedgerResponse r = send(http, new Request.Builder().url(submit.toString()).get(), 405);
      assertEquals("method", r.getField());
      r = send(http, new Request.Builder().url(server.uri().resolve("/v1/ledger/mint")
          .toString()).post(RequestBody.create(new byte[0], protobuf)), 404);
      assertTrue(r.getMessage().contains("submit|account|metagraph|events"), r.getMessage());
      r = send(http, new Request.Builder().url(submit.toString())
          .post(RequestBody.create("hi", MediaType.get("text/plain"))), 415);
      assertEquals("content-type", r.getField());
      r = send(http, new Request.Builder().url(submit.toString())
          .post(RequestBody.create(new byte[] {(byte) 0xff, 1, 2}, protobuf)), 400);
      assertEquals("body", r.getField());
      r = send(http, new Request.Builder().url(submit.toString())
          .post(RequestBody.create(new byte[2048], protobuf)), 413);
      assertEquals(10, r.getStatus(), "PAYLOAD_TOO_LARGE: " + r.getMessage());

      LedgerRequest garbage = LedgerRequest.newBuilder().setVersion(1)
          .setBody(SubmitRequest.newBuilder().setTransaction(ByteString.copyFrom(new byte[] {
              1, 2, 3})).build().toByteString())
          .build();
      r = post(http, submit, garbage, 200);
      assertEquals(RejectReason.MALFORMED.code(), r.getRejectReason());
      assertTrue(r.getMessage().startsWith("the transaction does not decode"), r.getMessage());
      r = post(http, submit, garbage.toBuilder().setVersion(2).build(), 400);
      assertEquals(14, r.getStatus(), "UNSUPPORTED_VERSION: " + r.getMessage());

      RemoteLedger remote = connect(server.uri());
      remote.submit(key(0), Transaction.transfer(key(1).id(), 5));
      Block b = local.produceBlock();
      assertTrue(remote.awaitBlock(b.number(), WAIT));
      assertEquals(5, remote.account(key(1).id()).map(Account::balance).orElseThrow());
    } finally {
      http.dispatcher().executorService().shutdown();
      http.connectionPool().evictAll();
    }
  }

  private static LedgerResponse send(OkHttpClient http, Request.Builder request, int httpStatus)
      throws IOException {
    try (Response response = http.newCall(request.build()).execute()) {
      assertEquals(httpStatus, response.code());
      return LedgerResponse.parseFrom(response.body().bytes());
    }
  }

  private static LedgerResponse post(OkHttpClient http, URI uri, LedgerRequest body,
      int httpStatus) throws IOException {
    return send(http, new Request.Builder().url(uri.toString())
        .post(RequestBody.create(body.toByteArray(), MediaType.get("application/x-protobuf"))),
        httpStatus);
  }
}
