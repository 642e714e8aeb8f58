package io.bittensor.transport;

import static io.bittensor.core.testing.LedgerFixtures.endpoint;
import static io.bittensor.core.testing.LedgerFixtures.genesis;
import static io.bittensor.core.testing.LedgerFixtures.key;
import static io.bittensor.core.testing.LedgerFixtures.params;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.MessageLite;
import io.bittensor.core.Account;
import io.bittensor.core.Block;
import io.bittensor.core.BlockHistory;
import io.bittensor.core.BlockPolicy;
import io.bittensor.core.BlockRecord;
import io.bittensor.core.Hash256;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerException;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Modality;
import io.bittensor.core.PeerId;
import io.bittensor.core.Receipt;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Status;
import io.bittensor.core.Transaction;
import io.bittensor.core.testing.ForwardingLedger;
import io.bittensor.core.testing.LedgerFixtures;
import io.bittensor.transport.internal.LedgerWire;
import io.bittensor.transport.internal.wire.AccountRequest;
import io.bittensor.transport.internal.wire.BlocksRequest;
import io.bittensor.transport.internal.wire.EventsRequest;
import io.bittensor.transport.internal.wire.GenesisRequest;
import io.bittensor.transport.internal.wire.LedgerEvent;
import io.bittensor.transport.internal.wire.LedgerRequest;
import io.bittensor.transport.internal.wire.LedgerResponse;
import io.bittensor.transport.internal.wire.MetagraphRequest;
import io.bittensor.transport.internal.wire.SubmitRequest;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okio.BufferedSink;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ledger server's handler, request by request, as a client other than {@link RemoteLedger}
 * sees it: the HTTP envelope at its edges, each operation's answer, the checks on each body, and
 * what a failing ledger turns into. Anonymous requests, so that each test builds its bytes.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class LedgerHandlerTest {
  private static final MediaType PROTOBUF = MediaType.get("application/x-protobuf");

  @TempDir Path dir;
  @RegisterExtension final Closer closer = new Closer();
  private final OkHttpClient http = new OkHttpClient.Builder()
      .protocols(List.of(okhttp3.Protocol.HTTP_1_1)).build();

  @AfterEach
  void closeClient() {
    http.dispatcher().executorService().shutdown();
    http.connectionPool().evictAll();
  }

  private <T extends AutoCloseable> T closing(T c) {
    return closer.add(c);
  }

  private LocalLedger local(int funded) throws IOException {
    return closing(LocalLedger.builder().genesis(genesis(params(8), funded))
        .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual())
        .open(dir.resolve("ledger")));
  }

  private URI serve(Ledger ledger) throws IOException {
    return serve(ledger, 1 << 20);
  }

  private URI serve(Ledger ledger, long maxPayloadBytes) throws IOException {
    return closing(LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
        .allowAnonymous(true).maxPayloadBytes(maxPayloadBytes).start()).uri();
  }

  /** An HTTP answer: its status, {@code Allow} header and body. */
  private record Answer(int http, String allow, LedgerResponse body) {}

  private Answer send(Request request) throws IOException {
    try (Response response = http.newCall(request).execute()) {
      return new Answer(response.code(), response.header("Allow"),
          LedgerResponse.parseFrom(response.body().bytes()));
    }
  }

  private Answer send(URI server, String op, RequestBody body) throws IOException {
    return send(new Request.Builder().url(server.resolve("/v1/ledger/" + op).toString())
        .post(body).build());
  }

  /** An unsigned request of version 1 for {@code op}. */
  private Answer ask(URI server, String op, MessageLite body) throws IOException {
    byte[] request = LedgerRequest.newBuilder().setVersion(1).setBody(body.toByteString())
        .build().toByteArray();
    return send(server, op, RequestBody.create(request, PROTOBUF));
  }

  private static void assertRefused(Answer a, int http, Status status, String field,
      String inMessage) {
    assertEquals(http, a.http(), a.body()::toString);
    assertEquals(status.code(), a.body().getStatus(), a.body()::toString);
    assertEquals(field, a.body().getField(), a.body()::toString);
    assertTrue(a.body().getMessage().contains(inMessage), a.body()::getMessage);
  }

  /** As {@code PeerServerTest.thePortStaysTheOneServedAfterClose}: not Jetty's -2. */
  @Test
  void thePortStaysTheOneServedAfterClose() throws Exception {
    LedgerServer server = LedgerServer.builder().ledger(local(0)).host("127.0.0.1").port(0)
        .start();
    int port = server.port();
    assertEquals(server.uri().getPort(), port);
    server.close();
    assertEquals(port, server.port());
  }

  @Test
  void aMethodOtherThanPostIsToldToPost() throws Exception {
    URI server = serve(local(1));
    Answer a = send(new Request.Builder().url(server.resolve("/v1/ledger/account").toString())
        .put(RequestBody.create(new byte[0], PROTOBUF)).build());
    assertRefused(a, 405, Status.BAD_REQUEST, "method", "takes POST, not PUT");
    assertEquals("POST", a.allow());
  }

  @Test
  void theContentTypeIsCheckedWithoutRegardToCaseAndParameters() throws Exception {
    URI server = serve(local(1));
    byte[] request = LedgerRequest.newBuilder().setVersion(1)
        .setBody(MetagraphRequest.getDefaultInstance().toByteString()).build().toByteArray();
    Answer none = send(server, "metagraph", RequestBody.create(request, null));
    assertRefused(none, 415, Status.BAD_REQUEST, "content-type", "was null");
    Answer upper = send(server, "metagraph", RequestBody.create(request,
        MediaType.get("Application/X-Protobuf; proto=bittensor.v1.LedgerRequest")));
    assertEquals(200, upper.http(), upper.body()::toString);
    assertTrue(upper.body().hasMetagraph());
  }

  /** The version is unsigned on the wire, as the peer server tells it: not "version -1". */
  @Test
  void anotherVersionIsRefusedNamingTheVersionAsSent() throws Exception {
    URI server = serve(local(1));
    for (int version : new int[] {2, -1}) {
      byte[] request = LedgerRequest.newBuilder().setVersion(version)
          .setBody(MetagraphRequest.getDefaultInstance().toByteString()).build().toByteArray();
      Answer a = send(server, "metagraph", RequestBody.create(request, PROTOBUF));
      assertRefused(a, 400, Status.UNSUPPORTED_VERSION, "version",
          "the request was version " + Integer.toUnsignedString(version));
    }
  }

  @Test
  void aBodyOfExactlyTheLimitIsReadAndOneByteMoreIsRefused() throws Exception {
    LocalLedger ledger = local(1);
    byte[] request = LedgerRequest.newBuilder().setVersion(1)
        .setBody(AccountRequest.newBuilder().setId(ByteString.copyFrom(key(0).id().toBytes()))
            .build().toByteString()).build().toByteArray();
    URI server = serve(ledger, request.length);
    Answer fits = ask(server, "account", AccountRequest.newBuilder()
        .setId(ByteString.copyFrom(key(0).id().toBytes())).build());
    assertEquals(200, fits.http(), fits.body()::toString);
    assertEquals(LedgerFixtures.FUNDS, fits.body().getAccount().getBalance());

    byte[] longer = java.util.Arrays.copyOf(request, request.length + 1);
    Answer over = send(server, "account", RequestBody.create(longer, PROTOBUF));
    assertRefused(over, 413, Status.PAYLOAD_TOO_LARGE, "",
        "at most " + request.length + " bytes, had " + longer.length);
    // Sent without a length, the body is refused as it is read, with no length to name.
    Answer streamed = send(server, "account", new RequestBody() {
      @Override
      public MediaType contentType() {
        return PROTOBUF;
      }

      @Override
      public long contentLength() {
        return -1; // chunked
      }

      @Override
      public void writeTo(BufferedSink sink) throws IOException {
        sink.write(longer);
      }
    });
    assertRefused(streamed, 413, Status.PAYLOAD_TOO_LARGE, "",
        "at most " + request.length + " bytes");
    assertFalse(streamed.body().getMessage().contains("had"), streamed.body()::getMessage);
  }

  @Test
  void theMetagraphAndGenesisAreTheLedgersOwn() throws Exception {
    LocalLedger ledger = local(1);
    ledger.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT));
    ledger.produceBlocks(2);
    URI server = serve(ledger);
    Answer m = ask(server, "metagraph", MetagraphRequest.getDefaultInstance());
    assertEquals(200, m.http());
    assertEquals(LedgerWire.toWire(ledger.metagraph()), m.body().getMetagraph());
    Answer g = ask(server, "genesis", GenesisRequest.getDefaultInstance());
    assertEquals(200, g.http());
    assertArrayEquals(ledger.genesisBlock(), g.body().getGenesisBlock().toByteArray());
  }

  @Test
  void aLedgerThatKeepsNoBlocksSaysSoForGenesisAndBlocks() throws Exception {
    URI server = serve(new ForwardingLedger(local(1)));
    assertRefused(ask(server, "genesis", GenesisRequest.getDefaultInstance()), 501,
        Status.NOT_IMPLEMENTED, "", "does not give its genesis block");
    assertRefused(ask(server, "blocks", BlocksRequest.newBuilder().setFromBlock(1)
        .setToBlock(1).build()), 501, Status.NOT_IMPLEMENTED, "", "keeps no journal");
  }

  @Test
  void anAccountIsAskedForByAKeyOfItsSize() throws Exception {
    URI server = serve(local(1));
    Answer known = ask(server, "account", AccountRequest.newBuilder()
        .setId(ByteString.copyFrom(key(0).id().toBytes())).build());
    assertEquals(new Account(key(0).id(), LedgerFixtures.FUNDS, 0),
        LedgerWire.fromWire(known.body().getAccount()));
    Answer unknown = ask(server, "account", AccountRequest.newBuilder()
        .setId(ByteString.copyFrom(key(5).id().toBytes())).build());
    assertEquals(200, unknown.http());
    assertFalse(unknown.body().hasAccount());
    assertRefused(ask(server, "account", AccountRequest.newBuilder()
        .setId(ByteString.copyFrom(new byte[31])).build()), 400, Status.BAD_REQUEST, "id", "32");
  }

  @Test
  void anEventStreamAwaitingSomethingThatIsNoHashIsRefused() throws Exception {
    URI server = serve(local(1));
    EventsRequest events = EventsRequest.newBuilder().setFromBlock(1)
        .addAwaiting(ByteString.copyFrom(new byte[32]))
        .addAwaiting(ByteString.copyFrom(new byte[5])).build();
    assertRefused(ask(server, "events", events), 400, Status.BAD_REQUEST, "awaiting",
        "awaiting[1]");
  }

  /**
   * Each transaction an events request awaits that the server has no record of becomes an
   * event held for the stream, so the list is bounded: one hash past {@link
   * LedgerWire#MAX_AWAITING} is refused before any is looked up, and a list at the bound is
   * answered with one event per hash.
   */
  @Test
  void anEventStreamAwaitingMoreThanTheBoundIsRefusedAndOneAtTheBoundIsAnswered()
      throws Exception {
    URI server = serve(local(1), 8 << 20);
    EventsRequest.Builder over = EventsRequest.newBuilder().setFromBlock(1);
    for (int i = 0; i <= LedgerWire.MAX_AWAITING; i++) {
      over.addAwaiting(LedgerWire.bytes(Hash256.of(new byte[] {(byte) i, (byte) (i >> 8),
          (byte) (i >> 16)})));
    }
    try (Response r = openEvents(server, over.build())) {
      assertEquals(400, r.code(), () -> "accepted, with " + unknownEvents(r,
          LedgerWire.MAX_AWAITING + 1) + " 'no record' events");
      LedgerResponse body = LedgerResponse.parseFrom(r.body().bytes());
      assertEquals(Status.BAD_REQUEST.code(), body.getStatus(), body::toString);
      assertEquals("awaiting", body.getField(), body::toString);
      assertTrue(body.getMessage().contains("100000 transactions at most, the request named"
          + " 100001"), body::getMessage);
    }
    EventsRequest atTheBound = EventsRequest.newBuilder().setFromBlock(1)
        .addAllAwaiting(over.getAwaitingList().subList(0, LedgerWire.MAX_AWAITING)).build();
    try (Response r = openEvents(server, atTheBound)) {
      assertEquals(200, r.code());
      assertEquals(LedgerWire.MAX_AWAITING, unknownEvents(r, LedgerWire.MAX_AWAITING));
    }
  }

  /** An events request from block 1 awaiting {@code n} hashes no server knows, from {@code at}. */
  private static EventsRequest awaitingStrangers(int at, int n) {
    EventsRequest.Builder b = EventsRequest.newBuilder().setFromBlock(1);
    for (int i = at; i < at + n; i++) {
      b.addAwaiting(LedgerWire.bytes(Hash256.of(new byte[] {(byte) i, (byte) (i >> 8),
          (byte) (i >> 16), (byte) (i >> 24)})));
    }
    return b.build();
  }

  /**
   * One address could make the server hold 100,000 "no record" events for each of its 256
   * streams before the fix (about 6 GB, for a client that does not read them). The awaited
   * hashes whose events an address's streams still hold are bounded together: past the bound
   * a stream that awaits more is told to back off; one that awaits nothing is served, and the
   * hashes count no more once their events have gone out.
   */
  @Test
  void anAddressIsToldToBackOffOnceItsStreamsAwaitTheMostTheServerHoldsForIt()
      throws Exception {
    URI server = serve(local(1), 8 << 20);
    int half = LedgerWire.MAX_AWAITING_PER_ADDRESS / 2;
    // Not read: their events stay with the server, far more than the socket's buffers take.
    Response first = closing(openEvents(server, awaitingStrangers(0, half)));
    assertEquals(200, first.code());
    try (Response second = openEvents(server, awaitingStrangers(half, half))) {
      assertEquals(200, second.code(), "at the bound");
      try (Response over = openEvents(server, awaitingStrangers(2 * half, 1))) {
        assertEquals(429, over.code(), "a stream awaiting one more was served");
        LedgerResponse body = LedgerResponse.parseFrom(over.body().bytes());
        assertEquals(Status.BACKOFF.code(), body.getStatus(), body::toString);
        assertEquals("awaiting", body.getField(), body::toString);
        assertTrue(body.getMessage().contains("await " + 2 * half + " transactions whose"
            + " events are not sent yet; this one names 1, over the " + 2 * half),
            body::getMessage);
      }
      try (Response none = openEvents(server, EventsRequest.newBuilder().setFromBlock(1)
          .build())) {
        assertEquals(200, none.code(), "a stream that awaits nothing");
      }
      // Once the first stream's events have all gone out, its hashes count no more.
      assertEquals(half, unknownEvents(first, half));
      try (Response again = openEvents(server, awaitingStrangers(2 * half, 1))) {
        assertEquals(200, again.code());
      }
    }
  }

  private Response openEvents(URI server, EventsRequest events) throws IOException {
    byte[] request = LedgerRequest.newBuilder().setVersion(1).setBody(events.toByteString())
        .build().toByteArray();
    return http.newCall(new Request.Builder().url(server.resolve("/v1/ledger/events")
        .toString()).post(RequestBody.create(request, PROTOBUF)).build()).execute();
  }

  /** Reads events until {@code n} say a transaction is unknown here; the count read. */
  private static int unknownEvents(Response r, int n) {
    int unknown = 0;
    try (java.io.InputStream in = r.body().byteStream()) {
      while (unknown < n) {
        LedgerEvent e = LedgerEvent.parseDelimitedFrom(in);
        if (e == null) {
          break;
        }
        if (e.hasFailed() && e.getFailed().getMessage().contains("no record")) {
          unknown++;
        }
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return unknown;
  }

  @Test
  void aRangeOfBlocksIsCheckedBeforeTheJournalIsRead() throws Exception {
    LocalLedger ledger = local(1);
    ledger.produceBlocks(3);
    URI server = serve(ledger);
    assertRefused(ask(server, "blocks", BlocksRequest.newBuilder().setFromBlock(0)
        .setToBlock(3).build()), 400, Status.BAD_REQUEST, "from_block", "was 0");
    assertRefused(ask(server, "blocks", BlocksRequest.newBuilder().setFromBlock(3)
        .setToBlock(2).build()), 400, Status.BAD_REQUEST, "to_block", "from_block 3, was 2");
    Answer one = ask(server, "blocks", BlocksRequest.newBuilder().setFromBlock(3)
        .setToBlock(3).build());
    assertEquals(1, one.body().getBlocksCount(), "a range of one block");
    assertEquals(3, one.body().getBlocks(0).getBlock().getNumber());
  }

  /**
   * Before the fix a journal the server could not read was answered BAD_REQUEST, field
   * {@code from_block}, as if the client had asked for blocks that are not there: a client
   * that trusts that gives up on a read that a retry, or another member, would serve. Blocks
   * a compaction dropped are still the client's to ask for elsewhere.
   */
  @Test
  void aJournalThatCannotBeReadIsTheServersFailureNotTheClients() throws Exception {
    LocalLedger ledger = local(1);
    ledger.produceBlocks(3);
    URI server = serve(ledger);
    Path journal = dir.resolve("ledger").resolve("journal.btl");
    Path aside = dir.resolve("journal.aside");
    java.nio.file.Files.move(journal, aside); // each read opens the file anew: it fails
    try {
      for (boolean bodiesOnly : new boolean[] {false, true}) {
        assertRefused(ask(server, "blocks", BlocksRequest.newBuilder().setFromBlock(1)
            .setToBlock(3).setBodiesOnly(bodiesOnly).build()), 503, Status.UNAVAILABLE, "",
            "the ledger failed: cannot read blocks 1 to 3");
      }
    } finally {
      java.nio.file.Files.move(aside, journal);
    }
    ledger.compactJournal();
    assertRefused(ask(server, "blocks", BlocksRequest.newBuilder().setFromBlock(1)
        .setToBlock(3).build()), 400, Status.BAD_REQUEST, "from_block", "compacted at block 3");
  }

  @Test
  void aPageOfBlocksSendsAMetagraphFirstAndThenOnlyWhereABlockChangedIt() throws Exception {
    LocalLedger ledger = local(2);
    ledger.produceBlock();                                     // 1: nothing
    ledger.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT));
    ledger.produceBlock();                                     // 2: a registration
    ledger.produceBlocks(3);                                   // 3, 4 and 5, an epoch
    URI server = serve(ledger);
    for (boolean deltas : new boolean[] {false, true}) {
      LedgerResponse page = ask(server, "blocks", BlocksRequest.newBuilder().setFromBlock(1)
          .setToBlock(5).setDeltas(deltas).build()).body();
      assertEquals(5, page.getBlocksCount());
      List<String> sent = new ArrayList<>();
      for (var r : page.getBlocksList()) {
        sent.add(r.getBlock().getNumber() + (r.hasMetagraph() ? " whole" : "")
            + (r.hasDelta() ? " delta" : "") + (r.hasEpoch() ? " epoch" : ""));
      }
      String changed = deltas ? " delta" : " whole";
      assertEquals(List.of("1 whole", "2" + changed, "3", "4", "5" + changed + " epoch"), sent,
          "deltas " + deltas);
    }
    LedgerResponse bodies = ask(server, "blocks", BlocksRequest.newBuilder().setFromBlock(2)
        .setToBlock(9).setBodiesOnly(true).build()).body();
    assertEquals(4, bodies.getBlocksCount(), "up to the latest");
    assertEquals(1, bodies.getBlocks(0).getTransactionsCount());
    assertFalse(bodies.getBlocks(0).hasMetagraph(), "bodies only");
  }

  @Test
  void aPageHoldsAtMost1024Blocks() throws Exception {
    URI server = serve(new BigBlocks(local(2), 1));
    LedgerResponse page = ask(server, "blocks", BlocksRequest.newBuilder().setFromBlock(1)
        .setToBlock(2000).setBodiesOnly(true).build()).body();
    assertEquals(1024, page.getBlocksCount(), "of 2000");
    LedgerResponse full = ask(server, "blocks", BlocksRequest.newBuilder().setFromBlock(1)
        .setToBlock(2000).build()).body();
    assertEquals(1024, full.getBlocksCount());
  }

  /**
   * A ledger whose history is blocks 1 to 2000 of {@code size} transactions each (copies of one),
   * each block the child of the one before: pages of bytes rather than of blocks.
   */
  private static final class BigBlocks extends ForwardingLedger implements BlockHistory {
    private final LocalLedger inner;
    private final int size;

    BigBlocks(LocalLedger inner, int size) {
      super(inner);
      this.inner = inner;
      this.size = size;
    }

    static Hash256 hash(long n) {
      return Hash256.of(java.nio.ByteBuffer.allocate(8).putLong(n).array());
    }

    @Override
    public long readBlocks(long from, long to, Predicate<BlockRecord> visitor)
        throws LedgerException {
      SignedTransaction tx = SignedTransaction.sign(key(0), inner.chainId(), 0,
          Transaction.transfer(key(1).id(), 5));
      Metagraph m = inner.metagraph();
      for (long n = from; n <= Math.min(to, 2000); n++) {
        Block b = new Block(n, hash(n), hash(n - 1), m.block().timestamp(), size, false);
        if (!visitor.test(new BlockRecord(b, Collections.nCopies(size, tx), Optional.empty(),
            LedgerWire.atBlock(m, b)))) {
          return n;
        }
      }
      return Math.min(to, 2000);
    }

    @Override
    public byte[] genesisBlock() throws LedgerException {
      return inner.genesisBlock();
    }
  }

  @Test
  void aPageHoldsAbout4MiBOfBlocksAndAlwaysItsFirst() throws Exception {
    LocalLedger ledger = local(2);
    URI server = serve(new BigBlocks(ledger, 1000));
    LedgerResponse page = ask(server, "blocks", BlocksRequest.newBuilder().setFromBlock(1)
        .setToBlock(2000).setBodiesOnly(true).build()).body();
    long bytes = 0;
    for (var r : page.getBlocksList()) {
      bytes += r.getSerializedSize();
    }
    int record = page.getBlocks(0).getSerializedSize();
    assertTrue(bytes <= 4 << 20 && bytes + record > 4 << 20,
        page.getBlocksCount() + " blocks of " + record + " bytes");
    LedgerResponse full = ask(server, "blocks", BlocksRequest.newBuilder().setFromBlock(7)
        .setToBlock(2000).build()).body();
    assertEquals(page.getBlocksCount(), full.getBlocksCount(), "with their metagraphs");
    assertEquals(7, full.getBlocks(0).getBlock().getNumber());

    // Read back by a client, page after page: every block in turn.
    try (RemoteLedger remote = RemoteLedger.connect(server)) {
      long[] next = {1};
      assertEquals(100, remote.readBlockBodies(1, 100, b -> b.block().number() == next[0]++));
      assertEquals(101, next[0]);
    }

    URI huge = serve(new BigBlocks(ledger, 30_000)); // over 4 MiB each
    LedgerResponse one = ask(huge, "blocks", BlocksRequest.newBuilder().setFromBlock(1)
        .setToBlock(2000).setBodiesOnly(true).build()).body();
    assertEquals(1, one.getBlocksCount());
    assertTrue(one.getBlocks(0).getSerializedSize() > 4 << 20);
  }

  /** A ledger whose reads and submissions fail as {@code failure} says. */
  private static final class FailingLedger extends ForwardingLedger {
    private final RuntimeException failure;
    private final CompletableFuture<Receipt> submitted;

    FailingLedger(Ledger inner, RuntimeException failure, CompletableFuture<Receipt> submitted) {
      super(inner);
      this.failure = failure;
      this.submitted = submitted;
    }

    @Override
    public Optional<Account> account(PeerId id) throws LedgerException {
      if (failure == null) {
        throw new LedgerException("the disk is full");
      }
      throw failure;
    }

    @Override
    public CompletableFuture<Receipt> submit(SignedTransaction transaction) {
      return submitted;
    }
  }

  private static AccountRequest accountOf(int key) {
    return AccountRequest.newBuilder().setId(ByteString.copyFrom(key(key).id().toBytes()))
        .build();
  }

  @Test
  void whatTheLedgerThrowsBecomesUnavailableOrAnInternalError() throws Exception {
    LocalLedger ledger = local(1);
    URI io = serve(new FailingLedger(ledger, null, null));
    assertRefused(ask(io, "account", accountOf(0)), 503, Status.UNAVAILABLE, "",
        "the ledger failed: the disk is full");
    URI closed = serve(new FailingLedger(ledger, new IllegalStateException("closed"), null));
    assertRefused(ask(closed, "account", accountOf(0)), 503, Status.UNAVAILABLE, "",
        "the ledger cannot serve: closed");
    URI bug = serve(new FailingLedger(ledger, new ArithmeticException("/ by zero"), null));
    assertRefused(ask(bug, "account", accountOf(0)), 500, Status.INTERNAL_ERROR, "",
        "the ledger server failed: java.lang.ArithmeticException: / by zero");
  }

  @Test
  void aSubmissionTheLedgerDecidedAtOnceIsAnsweredWithItsOutcome() throws Exception {
    LocalLedger ledger = local(1);
    SignedTransaction tx = SignedTransaction.sign(key(0), ledger.chainId(), 0,
        Transaction.transfer(key(1).id(), 5));
    SubmitRequest submit = SubmitRequest.newBuilder()
        .setTransaction(ByteString.copyFrom(tx.encode())).build();
    Receipt receipt = new Receipt(tx.hash(), 7, 2);
    URI sealed = serve(new FailingLedger(ledger, null,
        CompletableFuture.completedFuture(receipt)));
    Answer a = ask(sealed, "submit", submit);
    assertEquals(200, a.http());
    assertEquals(receipt, LedgerWire.fromWire(a.body().getReceipt()));

    URI failed = serve(new FailingLedger(ledger, null,
        CompletableFuture.failedFuture(new LedgerException("the journal failed"))));
    assertRefused(ask(failed, "submit", submit), 503, Status.UNAVAILABLE, "",
        "the ledger failed the transaction: the journal failed");
  }

  /** A connection that sent a request's head and {@code sent} bytes of a longer body. */
  private java.net.Socket startSlowBody(URI server, String op, int length, int sent)
      throws IOException {
    java.net.Socket s = closing(new java.net.Socket(server.getHost(), server.getPort()));
    String head = "POST /v1/ledger/" + op + " HTTP/1.1\r\nHost: ledger\r\n"
        + "Content-Type: application/x-protobuf\r\nContent-Length: " + length + "\r\n\r\n";
    s.getOutputStream().write(head.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    s.getOutputStream().write(new byte[sent]);
    s.getOutputStream().flush();
    return s;
  }

  @Test
  void bodiesThatTrickleInHoldNoServerThread() throws Exception {
    LocalLedger ledger = local(1);
    URI server = closing(LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
        .allowAnonymous(true).threads(8).start()).uri();
    for (int i = 0; i < 16; i++) {
      startSlowBody(server, "metagraph", 100, 1);
    }
    OkHttpClient impatient = http.newBuilder().callTimeout(5, TimeUnit.SECONDS).build();
    byte[] request = LedgerRequest.newBuilder().setVersion(1)
        .setBody(MetagraphRequest.getDefaultInstance().toByteString()).build().toByteArray();
    try (Response response = impatient.newCall(new Request.Builder()
        .url(server.resolve("/v1/ledger/metagraph").toString())
        .post(RequestBody.create(request, PROTOBUF)).build()).execute()) {
      assertEquals(200, response.code());
      assertTrue(LedgerResponse.parseFrom(response.body().bytes()).hasMetagraph());
    }
  }

  @Test
  void aBodyThatBreaksOffIsHeardAsCancelledNotAsTooLarge() throws Exception {
    LocalLedger ledger = local(1);
    CompletableFuture<LedgerRequestEvent> heard = new CompletableFuture<>();
    URI server = closing(LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
        .allowAnonymous(true).requestListener(heard::complete).start()).uri();
    java.net.Socket s = startSlowBody(server, "metagraph", 100, 10);
    s.shutdownOutput(); // the body ends 90 bytes short
    LedgerRequestEvent event = heard.get(10, TimeUnit.SECONDS);
    assertEquals(Status.CANCELLED, event.status(), event::toString);
  }

  /**
   * A body sent a byte now and then (Jetty's idle timeout counts from the last byte) held its
   * connection and what it had sent for as long as the caller liked before the fix. It now has
   * twice the stale window to arrive: a signed request that late is stale anyway.
   */
  @Test
  void aBodyThatDoesNotArriveWithinTwiceTheStaleWindowIsTimedOut() throws Exception {
    CompletableFuture<LedgerRequestEvent> heard = new CompletableFuture<>();
    URI server = closing(LedgerServer.builder().ledger(local(1)).host("127.0.0.1").port(0)
        .allowAnonymous(true).staleWindow(Duration.ofMillis(250))
        .requestListener(heard::complete).start()).uri();
    java.net.Socket s = startSlowBody(server, "metagraph", 1000, 10);
    s.setSoTimeout(10_000);
    Thread trickle = new Thread(() -> {
      try {
        for (int i = 0; i < 100; i++) {
          Thread.sleep(100);
          s.getOutputStream().write(0);
          s.getOutputStream().flush();
        }
      } catch (IOException | InterruptedException e) {
        // the server answered and closed: the trickle is over
      }
    }, "trickle");
    trickle.start();
    try {
      byte[] buffer = new byte[4096];
      int n = s.getInputStream().read(buffer);
      assertTrue(n > 0, "an answer");
      String head = new String(buffer, 0, n, java.nio.charset.StandardCharsets.ISO_8859_1);
      assertTrue(head.startsWith("HTTP/1.1 504"), head);
      assertTrue(head.contains("Bittensor-Status: " + Status.TIMEOUT.code()), head);
      // The rest of the body is not waited for: the connection closes.
      while (s.getInputStream().read(buffer) >= 0) {
        continue;
      }
    } finally {
      trickle.interrupt();
      trickle.join();
    }
    LedgerRequestEvent event = heard.get(10, TimeUnit.SECONDS);
    assertEquals(Status.TIMEOUT, event.status(), event::toString);
  }

  /** Sends an events request from {@code from} over a connection of its own. */
  private java.net.Socket openEvents(URI server, String from) throws IOException {
    java.net.Socket s = closing(new java.net.Socket(java.net.InetAddress.getByName(
        server.getHost()), server.getPort(), java.net.InetAddress.getByName(from), 0));
    byte[] body = LedgerRequest.newBuilder().setVersion(1)
        .setBody(EventsRequest.getDefaultInstance().toByteString()).build().toByteArray();
    String head = "POST /v1/ledger/events HTTP/1.1\r\nHost: ledger\r\n"
        + "Content-Type: application/x-protobuf\r\nContent-Length: " + body.length + "\r\n\r\n";
    s.getOutputStream().write(head.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    s.getOutputStream().write(body);
    s.getOutputStream().flush();
    return s;
  }

  /** The status line of the answer on {@code s}. */
  private static String statusLine(java.net.Socket s) throws IOException {
    s.setSoTimeout(10_000);
    StringBuilder line = new StringBuilder();
    for (int c = s.getInputStream().read(); c >= 0 && c != '\n';
        c = s.getInputStream().read()) {
      line.append((char) c);
    }
    return line.toString().strip();
  }

  /**
   * One address could open event streams without end before the fix, each a cursor the hub
   * wakes and writes to. Past its bound it is told to back off; other addresses are served.
   */
  @Test
  void anAddressPastItsEventStreamsIsToldToBackOffAndOthersAreServed() throws Exception {
    try (java.net.Socket probe = new java.net.Socket()) {
      probe.bind(new InetSocketAddress("127.0.0.2", 0));
    } catch (IOException e) {
      org.junit.jupiter.api.Assumptions.assumeTrue(false, "no 127.0.0.2 here: " + e);
    }
    LedgerServer server = closing(LedgerServer.builder().ledger(local(1)).host("127.0.0.1")
        .port(0).allowAnonymous(true).heartbeat(Duration.ofMillis(100))
        .maxEventStreamsPerAddress(2).start());
    URI uri = server.uri();
    java.net.Socket first = openEvents(uri, "127.0.0.1");
    assertEquals("HTTP/1.1 200 OK", statusLine(first));
    assertEquals("HTTP/1.1 200 OK", statusLine(openEvents(uri, "127.0.0.1")));
    java.net.Socket third = openEvents(uri, "127.0.0.1");
    assertTrue(statusLine(third).startsWith("HTTP/1.1 429"), "the third from one address");
    assertEquals("HTTP/1.1 200 OK", statusLine(openEvents(uri, "127.0.0.2")));
    assertEquals(3, server.eventStreams());
    // A stream that ends gives its address the slot back.
    first.close();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      String line = statusLine(openEvents(uri, "127.0.0.1"));
      if (line.equals("HTTP/1.1 200 OK")) {
        break;
      }
      assertTrue(System.nanoTime() < deadline, "no slot came back: " + line);
      Thread.sleep(50);
    }
  }

  /**
   * The bound holds over IPv6 loopback too: ::1 is counted on its own (an IPv6 client elsewhere
   * by its /64, {@code ClientBucketTest}).
   */
  @Test
  void theBoundHoldsForAnIpv6LoopbackClient() throws Exception {
    try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
      probe.bind(new InetSocketAddress("::1", 0));
    } catch (IOException e) {
      org.junit.jupiter.api.Assumptions.assumeTrue(false, "no ::1 here: " + e);
    }
    LedgerServer server = closing(LedgerServer.builder().ledger(local(1)).host("::1").port(0)
        .allowAnonymous(true).heartbeat(Duration.ofMillis(100))
        .maxEventStreamsPerAddress(1).start());
    assertEquals("HTTP/1.1 200 OK", statusLine(openEvents(server.uri(), "::1")));
    java.net.Socket second = openEvents(server.uri(), "::1");
    assertTrue(statusLine(second).startsWith("HTTP/1.1 429"), "the second from ::1");
    assertEquals(1, server.eventStreams());
  }

  /**
   * A server started on a channel the caller bound serves on that channel's port, which is
   * never free in between: a second bind of it fails while the server starts and serves, and
   * the server's close frees it. Before the fix the builder took a port only: a caller that held
   * it ({@code ledger serve}) had to close it for the server to bind it again, and another
   * process could take it in between.
   */
  @Test
  void aServerStartedOnABoundChannelServesOnItsPortWhichIsNeverFree() throws Exception {
    ServerSocketChannel held = ServerSocketChannel.open();
    held.bind(new InetSocketAddress("127.0.0.1", 0));
    int port = ((InetSocketAddress) held.getLocalAddress()).getPort();
    LocalLedger ledger = local(1);
    LedgerServer.Builder b = LedgerServer.builder().ledger(ledger).host("0.0.0.0").port(1)
        .allowAnonymous(true).channel(held);
    assertThrows(BindException.class, () -> bindOnce(port), "held before the start");
    LedgerServer server = b.start();
    assertEquals(URI.create("http://127.0.0.1:" + port), server.uri());
    assertEquals(port, server.port());
    assertThrows(BindException.class, () -> bindOnce(port), "taken while serving");
    Answer a = ask(server.uri(), "metagraph", MetagraphRequest.getDefaultInstance());
    assertEquals(200, a.http(), a.body()::toString);
    server.close();
    assertFalse(held.isOpen(), "the server closes the channel it served on");
    bindOnce(port);

    // A channel bound to every interface reports IPv6's wildcard; 0.0.0.0 given shows as
    // 127.0.0.1, as when the server binds it itself (ledger serve showed http://[::1]:P).
    ServerSocketChannel every = ServerSocketChannel.open();
    every.bind(new InetSocketAddress("0.0.0.0", 0));
    try (LedgerServer wildcard = LedgerServer.builder().ledger(ledger).host("0.0.0.0")
        .allowAnonymous(true).channel(every).start()) {
      assertEquals(URI.create("http://127.0.0.1:" + wildcard.port()), wildcard.uri());
    }

    // A host given by name is the name the URI shows, as when the server binds it itself.
    ServerSocketChannel named = ServerSocketChannel.open();
    named.bind(new InetSocketAddress("127.0.0.1", 0));
    try (LedgerServer byName = LedgerServer.builder().ledger(ledger).host("localhost")
        .allowAnonymous(true).channel(named).start()) {
      assertEquals(URI.create("http://localhost:" + byName.port()), byName.uri());
    }
  }

  /** A start that fails closes the channel it was given; a closed one is refused at once. */
  @Test
  void aStartThatFailsClosesTheChannelItWasGiven() throws Exception {
    ServerSocketChannel held = ServerSocketChannel.open();
    held.bind(new InetSocketAddress("127.0.0.1", 0));
    LedgerServer.Builder b = LedgerServer.builder().channel(held); // no ledger
    assertThrows(IllegalStateException.class, b::start);
    assertFalse(held.isOpen());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LedgerServer.builder().channel(held));
    assertTrue(e.getMessage().contains("closed"), e::getMessage);
    try (ServerSocketChannel unbound = ServerSocketChannel.open()) {
      e = assertThrows(IllegalArgumentException.class,
          () -> LedgerServer.builder().channel(unbound));
      assertTrue(e.getMessage().contains("not bound"), e::getMessage);
    }
  }

  /** Binds {@code 127.0.0.1:port} and lets it go again. */
  private static void bindOnce(int port) throws IOException {
    try (ServerSocketChannel c = ServerSocketChannel.open()) {
      c.bind(new InetSocketAddress("127.0.0.1", port));
    }
  }

  /** The longest Duration, for "no limit": before the fix start() threw ArithmeticException. */
  @Test
  void theLongestDurationsServeAsNoLimit() throws Exception {
    Duration forever = Duration.ofSeconds(Long.MAX_VALUE, 999_999_999);
    URI server = closing(LedgerServer.builder().ledger(local(1)).host("127.0.0.1").port(0)
        .allowAnonymous(true).staleWindow(forever).heartbeat(forever).start()).uri();
    Answer a = ask(server, "metagraph", MetagraphRequest.getDefaultInstance());
    assertEquals(200, a.http(), a.body()::toString);
    assertTrue(a.body().hasMetagraph());
  }

  /** Before the fix a cancelled submission was an INTERNAL_ERROR of the server's own. */
  @Test
  void aSubmissionTheLedgerCancelledIsUnavailable() throws Exception {
    LocalLedger ledger = local(1);
    SignedTransaction tx = SignedTransaction.sign(key(0), ledger.chainId(), 0,
        Transaction.transfer(key(1).id(), 5));
    SubmitRequest submit = SubmitRequest.newBuilder()
        .setTransaction(ByteString.copyFrom(tx.encode())).build();
    CompletableFuture<Receipt> cancelled = new CompletableFuture<>();
    cancelled.cancel(false);
    URI server = serve(new FailingLedger(ledger, null, cancelled));
    assertRefused(ask(server, "submit", submit), 503, Status.UNAVAILABLE, "",
        "the ledger failed the transaction: CancellationException");
  }
}
