package io.bittensor.transport;

import static io.bittensor.core.testing.LedgerFixtures.endpoint;
import static io.bittensor.core.testing.LedgerFixtures.genesis;
import static io.bittensor.core.testing.LedgerFixtures.key;
import static io.bittensor.core.testing.LedgerFixtures.params;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.bittensor.core.BlockPolicy;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Modality;
import io.bittensor.core.RejectReason;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Transaction;
import io.bittensor.core.testing.LedgerFixtures;
import io.bittensor.transport.internal.wire.LedgerRequest;
import io.bittensor.transport.internal.wire.SubmitRequest;
import java.util.List;
import java.util.Optional;
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
      // Bytes that are no transaction.
      LedgerRequest garbage = LedgerRequest.newBuilder().setVersion(1)
          .setBody(SubmitRequest.newBuilder().setTransaction(ByteString.copyFrom(
              new byte[] {1, 2, 3})).build().toByteString()).build();
      try (okhttp3.Response r = http.newCall(new Request.Builder()
          .url(server.uri().resolve("/v1/ledger/submit").toString())
          .post(RequestBody.create(garbage.toByteArray(),
              MediaType.get("application/x-protobuf"))).build()).execute()) {
        assertEquals(200, r.code());
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (heard.size() < 3 && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      assertEquals(3, heard.size(), heard::toString);
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
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (heard.isEmpty() && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      assertEquals(1, heard.size(), heard::toString);
      SubmissionEvent failed = heard.get(0);
      assertTrue(failed.failed(), failed::toString);
      assertFalse(failed.sealed(), "a failure is no seal");
      assertEquals(Optional.empty(), failed.refused(), "nor a verdict");
      assertFalse(failed.failure().orElseThrow().isBlank());
      assertEquals(key(0).id(), failed.transaction().orElseThrow().signer());
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
}
