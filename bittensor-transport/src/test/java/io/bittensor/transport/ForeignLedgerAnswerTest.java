package io.bittensor.transport;

import static io.bittensor.core.testing.LedgerFixtures.endpoint;
import static io.bittensor.core.testing.LedgerFixtures.genesis;
import static io.bittensor.core.testing.LedgerFixtures.key;
import static io.bittensor.core.testing.LedgerFixtures.params;
import static io.bittensor.transport.ScriptedLedgerServer.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.bittensor.core.Block;
import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Epoch;
import io.bittensor.core.Hash256;
import io.bittensor.core.LedgerException;
import io.bittensor.core.LedgerListener;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Modality;
import io.bittensor.core.Receipt;
import io.bittensor.core.RejectReason;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Status;
import io.bittensor.core.Transaction;
import io.bittensor.core.TransactionRejectedException;
import io.bittensor.core.testing.LedgerFixtures;
import io.bittensor.transport.ScriptedLedgerServer.Answer;
import io.bittensor.transport.internal.HttpPeerHandler;
import io.bittensor.transport.internal.LedgerWire;
import io.bittensor.transport.internal.MetagraphDeltas;
import io.bittensor.transport.internal.wire.BlockEvent;
import io.bittensor.transport.internal.wire.Heartbeat;
import io.bittensor.transport.internal.wire.LedgerEvent;
import io.bittensor.transport.internal.wire.LedgerResponse;
import io.bittensor.transport.internal.wire.TransactionFailed;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What a {@link RemoteLedger} makes of answers and events no server of ours sends, from a
 * {@link ScriptedLedgerServer}: each is an error naming the server and what is wrong, or is
 * passed over, and the client never takes a block that does not follow the last it took.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ForeignLedgerAnswerTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final LedgerResponse ACCEPTED = LedgerResponse.newBuilder().setVersion(1).build();

  @RegisterExtension final Closer closer = new Closer();
  private LocalLedger ledger;
  /** What the ledger's listeners heard: block n's metagraph at n. */
  private final List<Metagraph> after = new ArrayList<>();
  private ScriptedLedgerServer server;
  /** Block 1's one transaction. */
  private SignedTransaction registration;

  @BeforeEach
  void open() throws Exception {
    ledger = closing(LocalLedger.builder().genesis(genesis(params(8), 2))
        .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual()).openInMemory());
    after.add(ledger.metagraph());
    ledger.subscribe(new LedgerListener() {
      @Override
      public void onBlock(Block block, Metagraph m) {
        after.add(m);
      }
    });
    registration = SignedTransaction.sign(key(0), ledger.chainId(), 0,
        Transaction.register(endpoint(0), Modality.TEXT));
    ledger.submit(registration);
    ledger.produceBlocks(4);
    server = closing(new ScriptedLedgerServer());
  }

  private <T extends AutoCloseable> T closing(T c) {
    return closer.add(c);
  }

  /** A client over HTTP/1.1 (the scripted server's), every option given by a chained call. */
  private RemoteLedger connect() throws LedgerException {
    return closing(RemoteLedger.builder().protocol(HttpProtocol.HTTP_1_1)
        .timeout(WAIT).connectTimeout(WAIT).streamTimeout(Duration.ofSeconds(20))
        .reconnectTimeout(Duration.ofSeconds(30)).cachedMetagraphs(4)
        .clock(java.time.Clock.systemUTC()).replayEpochs(true)
        .epochMechanism(io.bittensor.incentive.IncentiveMechanism.paper(
            io.bittensor.incentive.PaperParams.defaults()))
        .keypair(key(7)).connect(server.uri()));
  }

  /** Block {@code n}'s event, its metagraph whole. */
  private LedgerEvent block(int n) {
    Metagraph m = after.get(n);
    return LedgerEvent.newBuilder().setBlock(BlockEvent.newBuilder()
        .setBlock(LedgerWire.toWire(m.block())).setMetagraph(LedgerWire.toWire(m))).build();
  }

  private SignedTransaction transfer(int nonce) {
    return SignedTransaction.sign(key(0), ledger.chainId(), nonce,
        Transaction.transfer(key(1).id(), 5));
  }

  private static Throwable failure(CompletableFuture<Receipt> f) {
    return assertThrows(CompletionException.class,
        () -> f.orTimeout(WAIT.toSeconds(), TimeUnit.SECONDS).join()).getCause();
  }

  private static void awaitDisconnected(RemoteLedger remote) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (remote.isConnected()) {
      assertTrue(System.nanoTime() < deadline, "the client never noticed the end");
      Thread.sleep(5);
    }
  }

  private void assertConnectFails(String message) {
    LedgerException e = assertThrows(LedgerException.class, this::connect);
    assertTrue(e.getMessage().contains(message), e::getMessage);
  }

  @Test
  void aStreamThatIsNoLedgersIsRefusedNamingWhatCame() throws Exception {
    server.answer("events", new Answer(200, "text/html",
        "<html>hello</html>".getBytes(StandardCharsets.UTF_8)));
    assertConnectFails(server.uri() + " is not a ledger server: it answered HTTP 200 with "
        + "text/html");
    server.answer("events", new Answer(200, "application/json",
        "{}".getBytes(StandardCharsets.UTF_8)));
    assertConnectFails("it answered HTTP 200 with application/json");
    server.answer("events", new Answer(503, "application/x-protobuf", new byte[] {-1, 2, 3}));
    assertConnectFails(server.uri() + " answered a body that is not a LedgerResponse");
    server.answer("events", Answer.of(ACCEPTED.toBuilder()
        .setStatus(Status.BAD_REQUEST.code()).setField("from_block").setMessage("no").build()));
    assertConnectFails("the ledger at " + server.uri()
        + " refused the request: BAD_REQUEST from_block: no");
    server.answer("events", Answer.of(ACCEPTED.toBuilder().setStatus(99).setMessage("new")
        .build()));
    assertConnectFails("refused the request: status 99: new");
    // Codes are unsigned on the wire: one past 2^31 - 1 is told as sent, not as a negative.
    server.answer("events", Answer.of(ACCEPTED.toBuilder().setStatus(-1).setMessage("new")
        .build()));
    assertConnectFails("refused the request: status 4294967295: new");
  }

  @Test
  void aStreamMustStartWithASnapshotItCanRead() throws Exception {
    Metagraph m = ledger.metagraph();
    server.stream().end();
    assertConnectFails("did not start its event stream with a snapshot");
    server.stream().send(LedgerEvent.newBuilder().setHeartbeat(Heartbeat.getDefaultInstance())
        .build());
    assertConnectFails("did not start its event stream with a snapshot");
    server.stream().send(block(4));
    assertConnectFails("did not start its event stream with a snapshot");
    server.stream().send(LedgerEvent.newBuilder().setBlock(snapshot(m).getBlock().toBuilder()
        .clearMetagraph().setDelta(MetagraphDeltas.between(after.get(3), m))).build());
    assertConnectFails(server.uri() + " sent a bad snapshot: " + server.uri()
        + " sent block 4 as a delta with no metagraph to apply it to");

    ScriptedLedgerServer.Stream stream = server.stream().send(snapshot(m));
    RemoteLedger remote = connect();
    assertEquals(ledger.chainId(), remote.chainId());
    assertEquals(4, remote.latestBlock());
    assertEquals(LedgerWire.toWire(m), LedgerWire.toWire(remote.metagraph()));
    // Nor later: a snapshot is whole, so one that is a delta breaks the stream.
    stream.send(LedgerEvent.newBuilder().setBlock(snapshot(m).getBlock().toBuilder()
        .clearMetagraph().setDelta(MetagraphDeltas.between(after.get(3), m))).build());
    awaitDisconnected(remote);
  }

  /**
   * A stream whose first event does not decode, at the first of two servers: the client connects
   * to the second and lets go of that stream (its connection was kept, and the server's stream
   * open, for the client's whole life).
   */
  @Test
  void aStreamThatStartsUnreadableIsLetGoOfWhenTheNextServerIsTried() throws Exception {
    CountDownLatch letGo = new CountDownLatch(1);
    ServerSocket garbled = closing(new ServerSocket(0, 1, InetAddress.getLoopbackAddress()));
    Thread t = new Thread(() -> {
      try (Socket s = garbled.accept()) {
        // A length of 5, then 5 bytes that end a varint too soon: no LedgerEvent.
        byte[] chunk = {5, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff};
        OutputStream out = s.getOutputStream();
        out.write(("HTTP/1.1 200 OK\r\nContent-Type: " + HttpPeerHandler.PROTOBUF + "\r\n"
            + HttpPeerHandler.STATUS_HEADER + ": 0\r\nTransfer-Encoding: chunked\r\n\r\n"
            + Integer.toHexString(chunk.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(chunk);
        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        InputStream in = s.getInputStream();
        while (in.read() >= 0) {
          // the request, then nothing until the client lets go
        }
        letGo.countDown();
      } catch (IOException e) {
        letGo.countDown(); // a reset is letting go too
      }
    }, "test-garbled-server");
    t.setDaemon(true);
    t.start();
    server.stream().send(snapshot(ledger.metagraph()));
    URI first = URI.create("http://127.0.0.1:" + garbled.getLocalPort());
    RemoteLedger remote = closing(RemoteLedger.builder().protocol(HttpProtocol.HTTP_1_1)
        .connect(List.of(first, server.uri())));
    assertEquals(server.uri(), remote.uri());
    assertTrue(letGo.await(WAIT.toSeconds(), TimeUnit.SECONDS), "the first stream is open");
  }

  @Test
  void answersThatAreNotWhatWasAskedAreErrorsNamingTheServer() throws Exception {
    server.stream().send(snapshot(ledger.metagraph())).end();
    RemoteLedger remote = connect();
    awaitDisconnected(remote); // and refused since: metagraph() asks the server
    server.answer("metagraph", ACCEPTED);
    LedgerException e = assertThrows(LedgerException.class, remote::metagraph);
    assertEquals(server.uri() + " answered a metagraph request without a metagraph",
        e.getMessage());
    server.answer("metagraph", ACCEPTED.toBuilder().setMetagraph(LedgerWire
        .toWire(ledger.metagraph()).toBuilder().setChainId(ByteString.copyFrom(new byte[3])))
        .build());
    e = assertThrows(LedgerException.class, remote::metagraph);
    assertTrue(e.getMessage().startsWith(server.uri() + " sent a bad metagraph: "),
        e::getMessage);
    server.answer("metagraph", ACCEPTED.toBuilder()
        .setMetagraph(LedgerWire.toWire(ledger.metagraph())).build());
    assertEquals(LedgerWire.toWire(ledger.metagraph()),
        LedgerWire.toWire(remote.metagraph()));

    server.answer("account", ACCEPTED.toBuilder().setAccount(
        io.bittensor.transport.internal.wire.Account.newBuilder()
            .setId(ByteString.copyFrom(new byte[3]))).build());
    e = assertThrows(LedgerException.class, () -> remote.account(key(0).id()));
    assertTrue(e.getMessage().startsWith(server.uri() + " sent a bad account: "),
        e::getMessage);

    byte[] otherChain = ledger.genesisBlock().clone();
    otherChain[otherChain.length - 1] ^= 1;
    server.answer("genesis", ACCEPTED.toBuilder()
        .setGenesisBlock(ByteString.copyFrom(otherChain)).build());
    e = assertThrows(LedgerException.class, remote::genesisBlock);
    assertEquals(server.uri() + " sent a genesis block of chain " + Hash256.of(otherChain)
        + ", not of chain " + ledger.chainId() + " that it serves", e.getMessage());

    server.answer("submit", ACCEPTED.toBuilder().setRejectReason(99).setMessage("new rule")
        .build());
    Throwable refused = failure(remote.submit(transfer(1)));
    assertEquals(LedgerException.class, refused.getClass());
    assertEquals(server.uri() + " rejected the transaction with reason code"
        + " 99, unknown to this client: new rule", refused.getMessage());
    server.answer("submit", ACCEPTED.toBuilder().setRejectReason(-1).setMessage("new rule")
        .build());
    refused = failure(remote.submit(transfer(2)));
    assertEquals(server.uri() + " rejected the transaction with reason code"
        + " 4294967295, unknown to this client: new rule", refused.getMessage());
  }

  @Test
  void theStreamTellsWhatBecameOfAcceptedTransactions() throws Exception {
    ScriptedLedgerServer.Stream stream = server.stream().send(snapshot(ledger.metagraph()));
    RemoteLedger remote = connect();
    server.answer("submit", ACCEPTED);
    SignedTransaction refused = transfer(1);
    SignedTransaction failed = transfer(2);
    SignedTransaction sealed = transfer(3);
    CompletableFuture<Receipt> f = remote.submit(refused);
    CompletableFuture<Receipt> g = remote.submit(failed);
    CompletableFuture<Receipt> h = remote.submit(sealed);
    CompletableFuture<Receipt> again = remote.submit(sealed);
    assertTrue(again.isDone(), "the same transaction twice through one client");
    assertTrue(failure(again).getMessage().contains("is already waiting for its block through"
        + " this client; use that future"), failure(again)::getMessage);
    assertFalse(f.isDone() || g.isDone() || h.isDone(), "accepted: waiting");

    stream.send(LedgerEvent.newBuilder().setFailed(TransactionFailed.newBuilder()
        .setTransaction(LedgerWire.bytes(refused.hash()))
        .setRejectReason(RejectReason.NONCE_WRONG.code()).setMessage("a nonce ahead")).build());
    stream.send(LedgerEvent.newBuilder().setHeartbeat(Heartbeat.getDefaultInstance()).build());
    stream.send(LedgerEvent.newBuilder().setFailed(TransactionFailed.newBuilder()
        .setTransaction(LedgerWire.bytes(failed.hash())).setMessage("the disk is full"))
        .build());
    Receipt receipt = new Receipt(sealed.hash(), 5, 0);
    stream.send(LedgerEvent.newBuilder().setReceipt(LedgerWire.toWire(receipt)).build());

    TransactionRejectedException r = assertInstanceOf(TransactionRejectedException.class,
        failure(f));
    assertEquals(RejectReason.NONCE_WRONG, r.reason());
    assertEquals("a nonce ahead", r.detail());
    Throwable e = failure(g);
    assertEquals(LedgerException.class, e.getClass());
    assertEquals("the ledger at " + server.uri() + " failed the transaction after accepting it:"
        + " the disk is full; it may or may not be in the ledger: check the signer's nonce"
        + " before resending", e.getMessage());
    assertEquals(receipt, h.get(WAIT.toSeconds(), TimeUnit.SECONDS));
    assertTrue(remote.isConnected(), "none of that breaks the stream");
    assertEquals(4, remote.latestBlock());

    ScriptedLedgerServer.Stream next = server.stream();
    stream.end();
    next.send(block(4)); // heard already: the client takes it as its first event, and is up
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (server.opened.size() < 2 || !remote.isConnected()) {
      assertTrue(System.nanoTime() < deadline, "never reconnected");
      Thread.sleep(5);
    }
    assertEquals(List.of(), server.opened.get(1).getAwaitingList(), "nothing waits any more");
  }

  @Test
  void whatWaitsFailsOnceTheStreamHasBeenDownForTheReconnectTimeout() throws Exception {
    server.stream().send(snapshot(ledger.metagraph())).end();
    long start = System.nanoTime(); // the stream goes down after this
    RemoteLedger remote = closing(RemoteLedger.builder().protocol(HttpProtocol.HTTP_1_1)
        .reconnectTimeout(Duration.ofMillis(300)).connect(server.uri()));
    server.answer("submit", ACCEPTED);
    CompletableFuture<Receipt> f = remote.submit(transfer(1));
    Throwable e = failure(f);
    long waited = System.nanoTime() - start;
    // Not "over 0 s": a timeout under a second is told in milliseconds.
    assertEquals("the event stream from " + server.uri() + " has been down for over 300 ms; it may"
        + " or may not be in the ledger: check the signer's nonce before resending",
        e.getMessage());
    assertTrue(waited >= 300_000_000L, "failed after " + waited + " ns");
    assertTrue(server.opened.size() >= 3, "reconnecting meanwhile: " + server.opened.size());
  }

  @Test
  void aSubmissionThatFailedOrWasDecidedAtOnceMayBeSentAgain() throws Exception {
    server.stream().send(snapshot(ledger.metagraph()));
    RemoteLedger remote = connect();
    SignedTransaction tx = transfer(1);
    server.answer("submit", ACCEPTED.toBuilder().setStatus(Status.UNAVAILABLE.code())
        .setMessage("busy").build());
    assertTrue(failure(remote.submit(tx)).getMessage().contains("may or may not have arrived:"
        + " check nonce 1 of " + key(0).id().toHex()));
    Receipt receipt = new Receipt(tx.hash(), 5, 0);
    server.answer("submit", ACCEPTED.toBuilder().setReceipt(LedgerWire.toWire(receipt)).build());
    assertEquals(receipt, remote.submit(tx).get(WAIT.toSeconds(), TimeUnit.SECONDS));
    server.answer("submit", ACCEPTED);
    CompletableFuture<Receipt> waiting = remote.submit(tx);
    assertFalse(waiting.isDone(), "waiting for its block, not refused as waiting already");
  }

  @Test
  void aClosedClientRefusesEveryCallAndWakesWhoWaitsForABlock() throws Exception {
    server.stream().send(snapshot(ledger.metagraph()));
    RemoteLedger remote = connect();
    Thread events = Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().equals("bittensor-ledger-events")).findFirst().orElseThrow();
    assertTrue(events.isDaemon(), "a client never closed does not keep its program alive");
    assertEquals("RemoteLedger[" + server.uri() + ", block 4]", remote.toString());
    CompletableFuture<Boolean> awaited = CompletableFuture.supplyAsync(() -> {
      try {
        return remote.awaitBlock(99, Duration.ofSeconds(20));
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });
    Thread.sleep(100);
    remote.close();
    assertFalse(awaited.get(5, TimeUnit.SECONDS), "woken by the close");
    awaitDisconnected(remote); // the event thread's last step
    assertEquals("RemoteLedger[" + server.uri() + ", block 4, disconnected]", remote.toString());
    List<org.junit.jupiter.api.function.Executable> calls = List.of(remote::metagraph,
        () -> remote.account(key(0).id()), remote::genesisBlock, () -> remote.submit(transfer(1)),
        () -> remote.subscribe(new Heard()), () -> remote.readBlocks(1, 2, r -> true),
        () -> remote.readBlockBodies(1, 2, b -> true));
    for (var call : calls) {
      assertEquals("the remote ledger client is closed",
          assertThrows(IllegalStateException.class, call).getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> remote.readBlockBodies(0, 2, b -> true));
  }

  @Test
  void aPageOfBlocksThatDoNotFollowIsAnError() throws Exception {
    server.stream().send(snapshot(ledger.metagraph()));
    RemoteLedger remote = connect();
    List<io.bittensor.transport.internal.wire.BlockRecord> records = new ArrayList<>();
    for (int n = 1; n <= 4; n++) {
      records.add(io.bittensor.transport.internal.wire.BlockRecord.newBuilder()
          .setBlock(LedgerWire.toWire(after.get(n).block()))
          .setMetagraph(LedgerWire.toWire(after.get(n)))
          .addAllTransactions(n == 1 ? List.of(ByteString.copyFrom(registration.encode()))
              : List.of()).build());
    }
    server.answer("blocks", ACCEPTED.toBuilder().addAllBlocks(records).build());
    List<Long> read = new ArrayList<>();
    assertEquals(3, remote.readBlockBodies(1, 4, b -> read.add(b.block().number())
        && b.block().number() < 3), "the visitor stops it");
    assertEquals(List.of(1L, 2L, 3L), read);

    server.answer("blocks", ACCEPTED.toBuilder().addBlocks(records.get(1)).build());
    LedgerException e = assertThrows(LedgerException.class,
        () -> remote.readBlockBodies(1, 4, b -> true));
    Block two = after.get(2).block();
    assertEquals(server.uri() + " sent block 2 with parent " + two.parent().toShortHex()
        + " where block 1 was due", e.getMessage());
    server.answer("blocks", ACCEPTED.toBuilder().addBlocks(records.get(0))
        .addBlocks(records.get(2)).build());
    e = assertThrows(LedgerException.class, () -> remote.readBlocks(1, 4, r -> true));
    assertEquals(server.uri() + " sent block 3 with parent "
        + after.get(3).block().parent().toShortHex() + " where block 2 was due, after "
        + after.get(1).block().hash().toShortHex(), e.getMessage());
  }

  /** Records the blocks a listener hears. */
  private static final class Heard implements LedgerListener {
    final List<Long> blocks = new java.util.concurrent.CopyOnWriteArrayList<>();

    @Override
    public void onBlock(Block block, Metagraph after) {
      blocks.add(block.number());
    }

    @Override
    public void onEpoch(Epoch epoch, Metagraph after) {
      blocks.add(-epoch.block());
    }
  }

  @Test
  void aBlockThatDoesNotFollowBreaksTheStreamWhichResumesAfterTheLastBlockTaken()
      throws Exception {
    ScriptedLedgerServer.Stream first = server.stream().send(snapshot(after.get(1)));
    RemoteLedger remote = connect();
    Heard heard = new Heard();
    remote.subscribe(heard);
    server.answer("submit", ACCEPTED);
    SignedTransaction waiting = transfer(1);
    CompletableFuture<Receipt> f = remote.submit(waiting);
    ScriptedLedgerServer.Stream second = server.stream();
    first.send(block(2)).send(block(4)); // 3 skipped
    assertTrue(remote.awaitBlock(2, WAIT));
    assertFalse(remote.awaitBlock(3, Duration.ofMillis(200)));
    awaitDisconnected(remote);

    second.send(block(2)).send(block(3)).send(block(4)); // 2 again: heard already
    assertTrue(remote.awaitBlock(4, WAIT));
    assertEquals(List.of(2L, 3L, 4L), heard.blocks);
    assertEquals(LedgerWire.toWire(after.get(4)), LedgerWire.toWire(remote.metagraph()));
    assertEquals(LedgerWire.toWire(after.get(3)),
        LedgerWire.toWire(remote.cachedMetagraph(3).orElseThrow()));
    assertEquals(3, server.opened.get(1).getFromBlock(), "resumed after block 2");
    assertEquals(List.of(LedgerWire.bytes(waiting.hash())),
        server.opened.get(1).getAwaitingList(), "naming the transaction it awaits");
    assertFalse(f.isDone());
  }
}
