package io.bittensor.transport;

import static io.bittensor.core.testing.LedgerFixtures.endpoint;
import static io.bittensor.core.testing.LedgerFixtures.genesis;
import static io.bittensor.core.testing.LedgerFixtures.key;
import static io.bittensor.core.testing.LedgerFixtures.params;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Hash256;
import io.bittensor.core.Ledger;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Modality;
import io.bittensor.core.Receipt;
import io.bittensor.core.RejectReason;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Transaction;
import io.bittensor.core.TransactionRejectedException;
import io.bittensor.core.testing.ForwardingLedger;
import io.bittensor.core.testing.LedgerFixtures;
import io.bittensor.transport.internal.wire.LedgerRequest;
import io.bittensor.transport.internal.wire.SubmitRequest;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link SubmissionListener}: a ledger server hears each transaction once the ledger sealed it
 * or refused it (at once, with the reason), one that does not decode as MALFORMED, and a listener
 * that throws changes nothing.
 */
@Timeout(30)
class SubmissionListenerTest {
  @Test
  void aLedgerServerHearsWhatTheLedgerSealedAndWhatItRefusedAndWhy() throws Exception {
    List<SubmissionEvent> heard = new CopyOnWriteArrayList<>();
    SubmissionListener listener = e -> {
      heard.add(e);
      throw new IllegalStateException("a listener that throws");
    };
    OkHttpClient http = new OkHttpClient();
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis(params(8), 2))
            .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual()).openInMemory();
        LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
            .allowAnonymous(true).submissionListener(listener).start();
        RemoteLedger remote = RemoteLedger.builder().keypair(key(0)).connect(server.uri())) {
      var registered = remote.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT));
      assertEquals(List.of(), heard, "in the pool: not decided yet");
      ledger.produceBlock();
      assertEquals(1, registered.get(10, TimeUnit.SECONDS).block());
      // A nonce the ledger has seen: refused at once.
      var stale = remote.submit(SignedTransaction.sign(key(0), ledger.chainId(), 0,
          Transaction.transfer(key(1).id(), 1)));
      assertThrows(ExecutionException.class, () -> stale.get(10, TimeUnit.SECONDS));
      submitBytesThatAreNoTransaction(http, server);
      awaitHeard(heard, 3);
      SubmissionEvent sealed = heard.get(0);
      assertTrue(sealed.sealed(), sealed::toString);
      assertTrue(sealed.transaction().orElseThrow().body() instanceof Transaction.Register);
      assertEquals(key(0).id(), sealed.transaction().orElseThrow().signer());
      assertEquals(Optional.of(RejectReason.NONCE_REUSED), heard.get(1).refused());
      assertEquals(0, heard.get(1).transaction().orElseThrow().nonce());
      assertEquals(Optional.empty(), heard.get(2).transaction());
      assertEquals(Optional.of(RejectReason.MALFORMED), heard.get(2).refused());
      // The listener threw every time; the server serves on.
      assertEquals(LedgerFixtures.FUNDS, remote.account(key(1).id()).orElseThrow().balance());
    } finally {
      http.dispatcher().executorService().shutdown();
      http.connectionPool().evictAll();
    }
  }

  @Test
  void aTransactionTheLedgerFailedToDecideIsHeardAsFailed() throws Exception {
    List<SubmissionEvent> heard = new CopyOnWriteArrayList<>();
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis(params(8), 2))
            .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual()).openInMemory();
        LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
            .allowAnonymous(true).submissionListener(heard::add).start();
        RemoteLedger remote = RemoteLedger.builder().keypair(key(0)).connect(server.uri())) {
      // Returns once the server has put it in the ledger's pool.
      var pooled = remote.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT));
      assertEquals(List.of(), heard, "in the pool: not decided yet");
      ledger.close(); // fails what its pool holds
      assertThrows(ExecutionException.class, () -> pooled.get(10, TimeUnit.SECONDS));
      awaitHeard(heard, 1);
      SubmissionEvent failed = heard.get(0);
      assertTrue(failed.failed(), failed::toString);
      assertFalse(failed.sealed(), "a failure is no seal");
      assertEquals(Optional.empty(), failed.refused(), "nor a verdict");
      assertFalse(failed.failure().orElseThrow().isBlank());
      assertEquals(key(0).id(), failed.transaction().orElseThrow().signer());
    }
  }

  /**
   * A ledger that decides later, as one that decides through a log does: each submission waits
   * until the test completes its source, and is answered through a dependent stage, so that a
   * failure arrives wrapped in a {@link java.util.concurrent.CompletionException}.
   */
  private static final class DecidesLater extends ForwardingLedger {
    final List<CompletableFuture<Receipt>> sources = new CopyOnWriteArrayList<>();

    DecidesLater(Ledger inner) {
      super(inner);
    }

    @Override
    public CompletableFuture<Receipt> submit(SignedTransaction transaction) {
      CompletableFuture<Receipt> source = new CompletableFuture<>();
      sources.add(source);
      return source.thenApply(r -> r);
    }
  }

  @Test
  void aTransactionRefusedLaterIsHeardRefusedAndItsSenderToldWhy() throws Exception {
    List<SubmissionEvent> heard = new CopyOnWriteArrayList<>();
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis(params(8), 2))
            .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual()).openInMemory();
        DecidesLater deciding = new DecidesLater(ledger);
        LedgerServer server = LedgerServer.builder().ledger(deciding).host("127.0.0.1").port(0)
            .submissionListener(heard::add).start();
        RemoteLedger remote = RemoteLedger.builder().keypair(key(0)).connect(server.uri())) {
      var refused = remote.submit(SignedTransaction.sign(key(0), ledger.chainId(), 0,
          Transaction.transfer(key(1).id(), 1)));
      var failed = remote.submit(SignedTransaction.sign(key(0), ledger.chainId(), 1,
          Transaction.transfer(key(1).id(), 1)));
      assertFalse(refused.isDone() || failed.isDone(), "accepted: not decided yet");
      deciding.sources.get(0).completeExceptionally(
          new TransactionRejectedException(RejectReason.NONCE_WRONG, "the log said so"));
      deciding.sources.get(1).completeExceptionally(new IllegalStateException());

      TransactionRejectedException r = assertInstanceOf(TransactionRejectedException.class,
          assertThrows(ExecutionException.class, () -> refused.get(10, TimeUnit.SECONDS))
              .getCause(), "the sender is told the reason");
      assertEquals(RejectReason.NONCE_WRONG, r.reason());
      assertEquals("the log said so", r.detail());
      Throwable e = assertThrows(ExecutionException.class,
          () -> failed.get(10, TimeUnit.SECONDS)).getCause();
      assertFalse(e instanceof TransactionRejectedException, e::toString);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (heard.size() < 2 && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      assertEquals(2, heard.size(), heard::toString);
      assertEquals(Optional.of(RejectReason.NONCE_WRONG), heard.get(0).refused(),
          heard.get(0)::toString);
      assertEquals(0, heard.get(0).transaction().orElseThrow().nonce());
      assertEquals(Optional.of("java.lang.IllegalStateException"), heard.get(1).failure(),
          "a failure with no message is named by its type");
      assertEquals(1, heard.get(1).transaction().orElseThrow().nonce());
    }
  }

  @Test
  void anEventOfATransactionThatDidNotDecodeSaysWhyItWasRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new SubmissionEvent(Optional.empty(), Optional.empty()));
    assertTrue(e.getMessage().contains("did not decode is refused"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new SubmissionEvent(Optional.empty(),
        Optional.of(RejectReason.MALFORMED), Optional.of("closed")));
    assertTrue(e.getMessage().contains("not both"), e.getMessage());
    assertTrue(new SubmissionEvent(Optional.empty(), Optional.of(RejectReason.MALFORMED))
        .failure().isEmpty());
  }
  @Test
  void anEventSaysWhereTheLedgerSealedItWhoSentItAndWhyARefusalWas() throws Exception {
    List<SubmissionEvent> heard = new CopyOnWriteArrayList<>();
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis(params(8), 3))
            .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual()).openInMemory();
        LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
            .submissionListener(heard::add).start();
        // A wallet service: it signs its requests with key 2 and sends what keys 0 and 1 signed.
        RemoteLedger wallet = RemoteLedger.builder().keypair(key(2)).connect(server.uri())) {
      var first = wallet.submit(SignedTransaction.sign(key(0), ledger.chainId(), 0,
          Transaction.transfer(key(1).id(), 5)));
      var second = wallet.submit(SignedTransaction.sign(key(1), ledger.chainId(), 0,
          Transaction.transfer(key(0).id(), 7)));
      ledger.produceBlock();
      var receipts = List.of(first.get(10, TimeUnit.SECONDS), second.get(10, TimeUnit.SECONDS));
      var reused = wallet.submit(SignedTransaction.sign(key(0), ledger.chainId(), 0,
          Transaction.transfer(key(1).id(), 9)));
      ExecutionException refusal =
          assertThrows(ExecutionException.class, () -> reused.get(10, TimeUnit.SECONDS));
      awaitHeard(heard, 3);
      for (int i = 0; i < 2; i++) {
        SubmissionEvent sealed = heard.get(i);
        assertEquals(Optional.of(receipts.get(i)), sealed.receipt(), sealed::toString);
        assertTrue(sealed.sealed() && !sealed.failed(), sealed::toString);
        assertEquals(Optional.of(key(2).id()), sealed.caller(), "who sent it, not who signed it");
        assertEquals(key(i).id(), sealed.transaction().orElseThrow().signer());
        assertEquals(Optional.empty(), sealed.detail());
      }
      assertEquals(1, receipts.get(1).index(), "the second in its block");
      SubmissionEvent refused = heard.get(2);
      assertEquals(Optional.of(RejectReason.NONCE_REUSED), refused.refused());
      assertEquals(Optional.empty(), refused.receipt());
      assertEquals(Optional.of(key(2).id()), refused.caller());
      assertEquals(((TransactionRejectedException) refusal.getCause()).detail(),
          refused.detail().orElseThrow(), "the ledger's own words, as the sender heard them");
    }
  }

  @Test
  void anUnsignedRequestHasNoCallerAndBytesThatDoNotDecodeSayWhy() throws Exception {
    List<SubmissionEvent> heard = new CopyOnWriteArrayList<>();
    OkHttpClient http = new OkHttpClient();
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis(params(8), 2))
            .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual()).openInMemory();
        LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
            .allowAnonymous(true).submissionListener(heard::add).start()) {
      submitBytesThatAreNoTransaction(http, server);
      awaitHeard(heard, 1);
      SubmissionEvent malformed = heard.get(0);
      assertEquals(Optional.empty(), malformed.caller(), "nobody signed the request");
      assertTrue(malformed.detail().orElseThrow().startsWith("the transaction does not decode"),
          malformed::toString);
    } finally {
      http.dispatcher().executorService().shutdown();
      http.connectionPool().evictAll();
    }
  }

  /**
   * "What it throws is ignored", an Error too (a class its logger lacks, say), as for a peer's
   * call listeners: the transaction that does not decode is still answered, refused.
   */
  @Test
  void aListenerThatThrowsAnErrorLeavesTheAnswerAlone() throws Exception {
    List<SubmissionEvent> heard = new CopyOnWriteArrayList<>();
    SubmissionListener erring = e -> {
      heard.add(e);
      throw new NoClassDefFoundError("a class the listener's logger lacks");
    };
    OkHttpClient http = new OkHttpClient();
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis(params(8), 2))
            .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual()).openInMemory();
        LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
            .allowAnonymous(true).submissionListener(erring).start()) {
      submitBytesThatAreNoTransaction(http, server);
      awaitHeard(heard, 1);
      assertEquals(Optional.of(RejectReason.MALFORMED), heard.get(0).refused());
    } finally {
      http.dispatcher().executorService().shutdown();
      http.connectionPool().evictAll();
    }
  }

  @Test
  void listenersJoinedWithAndThenEachHearEveryTransaction() {
    SignedTransaction tx = SignedTransaction.sign(key(0), Hash256.ZERO, 0,
        Transaction.transfer(key(1).id(), 1));
    SubmissionEvent event = new SubmissionEvent(Optional.of(tx), Optional.empty());
    List<String> heard = new ArrayList<>();
    SubmissionListener throwing = e -> {
      heard.add("first");
      throw new IllegalStateException("a listener that throws");
    };
    throwing.andThen(e -> heard.add("second")).submitted(event);
    assertEquals(List.of("first", "second"), heard, "the first throwing silences no one");
    heard.clear();
    SubmissionListener erring = e -> {
      heard.add("first");
      throw new NoClassDefFoundError("a class the first listener's logger lacks");
    };
    erring.andThen(e -> heard.add("second")).submitted(event);
    assertEquals(List.of("first", "second"), heard, "an Error silences no one either");
    SubmissionListener one = e -> heard.add("one");
    assertSame(one, one.andThen(SubmissionListener.NONE));
    assertSame(one, SubmissionListener.NONE.andThen(one));
    assertThrows(NullPointerException.class, () -> one.andThen(null));
  }

  @Test
  void onlyASealedTransactionHasAReceiptItsOwnAndOnlyARefusedOneADetail() {
    SignedTransaction tx = SignedTransaction.sign(key(0), Hash256.ZERO, 0,
        Transaction.transfer(key(1).id(), 1));
    SignedTransaction other = SignedTransaction.sign(key(0), Hash256.ZERO, 1,
        Transaction.transfer(key(1).id(), 1));
    Optional<Receipt> receipt = Optional.of(new Receipt(tx.hash(), 3, 0));
    var e = assertThrows(IllegalArgumentException.class, () -> new SubmissionEvent(
        Optional.of(tx), Optional.of(RejectReason.NONCE_REUSED), Optional.empty(), receipt,
        Optional.empty(), Optional.empty()));
    assertTrue(e.getMessage().contains("only a sealed"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new SubmissionEvent(Optional.of(tx),
        Optional.empty(), Optional.of("closed"), receipt, Optional.empty(), Optional.empty()));
    assertTrue(e.getMessage().contains("only a sealed"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new SubmissionEvent(
        Optional.of(other), Optional.empty(), Optional.empty(), receipt, Optional.empty(),
        Optional.empty()));
    assertTrue(e.getMessage().contains("is not that of"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new SubmissionEvent(Optional.of(tx),
        Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
        Optional.of("why")));
    assertTrue(e.getMessage().contains("only a refused"), e.getMessage());
    SubmissionEvent sealed = new SubmissionEvent(Optional.of(tx), Optional.empty(),
        Optional.empty(), receipt, Optional.of(key(2).id()), Optional.empty());
    assertTrue(sealed.sealed());
    assertEquals(3, sealed.receipt().orElseThrow().block());
    assertEquals(Optional.empty(), new SubmissionEvent(Optional.of(tx), Optional.empty())
        .receipt(), "the older constructors give no receipt");
  }

  private static void awaitHeard(List<SubmissionEvent> heard, int count)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (heard.size() < count && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertEquals(count, heard.size(), heard::toString);
  }

  /** Posts a submit request whose transaction is three bytes that are none; answered 200. */
  private static void submitBytesThatAreNoTransaction(OkHttpClient http, LedgerServer server)
      throws IOException {
    LedgerRequest garbage = LedgerRequest.newBuilder().setVersion(1)
        .setBody(SubmitRequest.newBuilder().setTransaction(ByteString.copyFrom(
            new byte[] {1, 2, 3})).build().toByteString()).build();
    try (okhttp3.Response r = http.newCall(new Request.Builder()
        .url(server.uri().resolve("/v1/ledger/submit").toString())
        .post(RequestBody.create(garbage.toByteArray(),
            MediaType.get("application/x-protobuf"))).build()).execute()) {
      assertEquals(200, r.code(), "a refusal is an answer");
    }
  }
}
