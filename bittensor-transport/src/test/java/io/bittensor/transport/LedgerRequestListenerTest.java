package io.bittensor.transport;

import static io.bittensor.core.testing.LedgerFixtures.endpoint;
import static io.bittensor.core.testing.LedgerFixtures.genesis;
import static io.bittensor.core.testing.LedgerFixtures.key;
import static io.bittensor.core.testing.LedgerFixtures.params;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.bittensor.core.BlockPolicy;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Modality;
import io.bittensor.core.PeerId;
import io.bittensor.core.Status;
import io.bittensor.core.Transaction;
import io.bittensor.core.testing.LedgerFixtures;
import io.bittensor.core.testing.TestCertificates;
import io.bittensor.transport.LedgerRequestEvent.Operation;
import io.bittensor.transport.internal.wire.Caller;
import io.bittensor.transport.internal.wire.LedgerRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link LedgerRequestListener}: a ledger server hears each request once it is over, with what
 * it asked for, the caller it named and the one its signature proved, the status it was
 * answered with, its time and bytes; an event stream when it ends, with all it was sent; over
 * mutual TLS, the certificate shown.
 */
@Timeout(60)
class LedgerRequestListenerTest {
  @Test
  void aServerHearsEachRequestWithItsCallerItsAnswerAndItsBytes() throws Exception {
    List<LedgerRequestEvent> heard = new CopyOnWriteArrayList<>();
    OkHttpClient http = new OkHttpClient();
    long opened;
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis(params(8), 4))
            .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual()).openInMemory();
        // No heartbeat for the test's life: a stream that ends is heard as its client hangs
        // up, not at the server's next write.
        LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
            .heartbeat(Duration.ofMinutes(1)).requestListener(heard::add).start()) {
      assertEquals(0, server.eventStreams());
      try (RemoteLedger reader = RemoteLedger.builder().keypair(key(3))
          .connect(List.of(server.uri()))) {
        opened = System.nanoTime();
        assertEquals(1, server.eventStreams(), "the reader follows the ledger");
        var registered = reader.submit(key(0),
            Transaction.register(endpoint(0), Modality.TEXT));
        ledger.produceBlock();
        long block = registered.get(10, TimeUnit.SECONDS).block();
        // The receipt may come before the block's event: wait until the reader has heard it.
        assertTrue(reader.awaitBlock(block, Duration.ofSeconds(10)));
        assertEquals(1, reader.metagraph().size());
        assertTrue(reader.account(key(0).id()).isPresent());
        Thread.sleep(50); // the stream stays open a while
      }
      long closed = System.nanoTime();
      LedgerRequestEvent stream = await(heard, e -> e.operation() == Operation.EVENTS);
      assertTrue(System.nanoTime() - closed < TimeUnit.SECONDS.toNanos(5),
          "heard as the client hung up");
      assertEquals(0, server.eventStreams(), "its stream is closed");
      assertEquals(Optional.of(key(3).id()), stream.verifiedCaller(), stream::toString);
      assertEquals(Status.SUCCESS, stream.status());
      assertTrue(stream.bytesSent() > 100, "the snapshot and the block at least: " + stream);
      assertTrue(stream.duration().toNanos() >= 50_000_000L
          && stream.duration().toNanos() <= System.nanoTime() - opened + 1_000_000_000L,
          "the stream's life: " + stream);
      LedgerRequestEvent submit = await(heard, e -> e.operation() == Operation.SUBMIT);
      assertEquals(Optional.of(key(3).id()), submit.peer(), "who sent it, not who signed it");
      assertEquals(Optional.of(key(3).id()), submit.verifiedCaller());
      assertEquals(Status.SUCCESS, submit.status());
      assertTrue(submit.bytesSent() > 0 && submit.clientCertificate().isEmpty(), submit::toString);
      assertTrue(heard.stream().anyMatch(e -> e.operation() == Operation.ACCOUNT
          && e.status() == Status.SUCCESS), heard::toString);

      // Unsigned, to a server that serves signed requests only: refused, nobody named.
      LedgerRequest unsigned = LedgerRequest.newBuilder().setVersion(1).build();
      post(http, server, "metagraph", unsigned, 401);
      LedgerRequestEvent refused = await(heard, e -> e.operation() == Operation.METAGRAPH
          && e.status() == Status.UNAUTHENTICATED);
      assertEquals(Optional.empty(), refused.peer());
      assertEquals(Optional.empty(), refused.verifiedCaller());
      // A caller block naming key 1 whose signature does not verify: named, not proved.
      LedgerRequest forged = unsigned.toBuilder().setCaller(Caller.newBuilder()
          .setPublicKey(ByteString.copyFrom(key(1).id().toBytes()))
          .setNonce(ByteString.copyFrom(new byte[16]))
          .setTimestampMs(System.currentTimeMillis())
          .setSignature(ByteString.copyFrom(key(1).sign(new byte[] {1})))).build();
      post(http, server, "account", forged, 401);
      LedgerRequestEvent impostor = await(heard, e -> e.status() == Status.BAD_SIGNATURE);
      assertEquals(Operation.ACCOUNT, impostor.operation());
      assertEquals(Optional.of(key(1).id()), impostor.peer());
      assertEquals(Optional.empty(), impostor.verifiedCaller());
      // A path the server does not serve.
      post(http, server, "nothing-here", unsigned, 404);
      LedgerRequestEvent other = await(heard, e -> e.operation() == Operation.OTHER);
      assertEquals(Status.BAD_REQUEST, other.status());
      assertTrue(other.bytesSent() > 0, "the refusal's body: " + other);
    } finally {
      http.dispatcher().executorService().shutdown();
      http.connectionPool().evictAll();
    }
  }

  @Test
  void overMutualTlsTheCertificateShownIsHeard() throws Exception {
    List<LedgerRequestEvent> heard = new CopyOnWriteArrayList<>();
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis(params(8), 1))
            .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual()).openInMemory();
        LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
            .tls(TestCertificates.file("peer.key"), TestCertificates.file("peer.pem"))
            .requireClientCertificates(TestCertificates.file("ca.pem"))
            .requestListener(heard::add).start();
        RemoteLedger reader = RemoteLedger.builder().keypair(key(2))
            .trustedCertificates(TestCertificates.file("ca.pem"))
            .clientCertificate(TestCertificates.file("client.key"),
                TestCertificates.file("client.pem"))
            .connect(List.of(server.uri()))) {
      reader.account(key(0).id());
      LedgerRequestEvent account = await(heard, e -> e.operation() == Operation.ACCOUNT);
      assertEquals("CN=client",
          account.clientCertificate().orElseThrow().getSubjectX500Principal().getName());
      assertEquals(Optional.of(key(2).id()), account.verifiedCaller());
    }
  }

  @Test
  void listenersJoinedWithAndThenEachHearEveryRequestAndEventsAreChecked() {
    LedgerRequestEvent event = new LedgerRequestEvent(Operation.BLOCKS, Optional.empty(),
        Optional.empty(), Status.SUCCESS, Duration.ofMillis(3), 10, Optional.empty());
    List<String> heard = new ArrayList<>();
    LedgerRequestListener throwing = e -> {
      heard.add("first");
      throw new IllegalStateException("a listener that throws");
    };
    throwing.andThen(e -> heard.add("second")).requestEnd(event);
    assertEquals(List.of("first", "second"), heard);
    heard.clear();
    LedgerRequestListener erring = e -> {
      heard.add("first");
      throw new NoClassDefFoundError("a class the first listener's logger lacks");
    };
    erring.andThen(e -> heard.add("second")).requestEnd(event);
    assertEquals(List.of("first", "second"), heard, "an Error silences no one either");
    LedgerRequestListener one = e -> heard.add("one");
    assertSame(one, one.andThen(LedgerRequestListener.NONE));
    assertSame(one, LedgerRequestListener.NONE.andThen(one));
    assertThrows(IllegalArgumentException.class, () -> new LedgerRequestEvent(Operation.BLOCKS,
        Optional.empty(), Optional.empty(), Status.SUCCESS, Duration.ofMillis(-1), 0,
        Optional.empty()));
    assertThrows(IllegalArgumentException.class, () -> new LedgerRequestEvent(Operation.BLOCKS,
        Optional.empty(), Optional.<PeerId>empty(), Status.SUCCESS, Duration.ZERO, -1,
        Optional.empty()));
  }

  private static LedgerRequestEvent await(List<LedgerRequestEvent> heard,
      Predicate<LedgerRequestEvent> which) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      for (LedgerRequestEvent e : heard) {
        if (which.test(e)) {
          return e;
        }
      }
      Thread.sleep(5);
    }
    throw new AssertionError("not heard among " + heard);
  }

  private static void post(OkHttpClient http, LedgerServer server, String op,
      LedgerRequest request, int httpStatus) throws Exception {
    try (okhttp3.Response r = http.newCall(new Request.Builder()
        .url(server.uri().resolve("/v1/ledger/" + op).toString())
        .post(RequestBody.create(request.toByteArray(),
            MediaType.get("application/x-protobuf"))).build()).execute()) {
      assertEquals(httpStatus, r.code());
    }
  }
}
