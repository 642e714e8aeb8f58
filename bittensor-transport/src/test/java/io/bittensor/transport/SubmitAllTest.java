package io.bittensor.transport;

import static io.bittensor.core.testing.LedgerFixtures.genesis;
import static io.bittensor.core.testing.LedgerFixtures.key;
import static io.bittensor.core.testing.LedgerFixtures.params;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Hash256;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Receipt;
import io.bittensor.core.RejectReason;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Status;
import io.bittensor.core.Transaction;
import io.bittensor.core.TransactionRejectedException;
import io.bittensor.core.testing.LedgerFixtures;
import io.bittensor.transport.LedgerRequestEvent.Operation;
import io.bittensor.transport.internal.wire.LedgerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link RemoteLedger#submitAll}: many transactions in as few requests as fit, each decided as
 * one submitted alone would be (sealed in order, refused with its reason), and, to a server that
 * predates the request, one at a time.
 */
@Timeout(120)
class SubmitAllTest {
  /** Requests a server answered, by operation. */
  private static final class Counted implements LedgerRequestListener {
    final Map<Operation, AtomicInteger> counts = new ConcurrentHashMap<>();

    @Override
    public void requestEnd(LedgerRequestEvent r) {
      counts.computeIfAbsent(r.operation(), o -> new AtomicInteger()).incrementAndGet();
    }

    int of(Operation o) {
      AtomicInteger n = counts.get(o);
      return n == null ? 0 : n.get();
    }

    /**
     * The requests of {@code o} heard once {@code expected} were, or 10 s passed: a server tells
     * its listener when Jetty is done with a request, which may be just after the client has
     * its answer.
     */
    int await(Operation o, int expected) throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (of(o) < expected && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      return of(o);
    }
  }

  private final Counted requests = new Counted();
  private LocalLedger ledger;
  private LedgerServer server;

  @BeforeEach
  void serve() throws IOException {
    ledger = LocalLedger.builder().genesis(genesis(params(8), 3))
        .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual()).openInMemory();
    server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
        .requestListener(requests).start();
  }

  @AfterEach
  void stop() {
    server.close();
    ledger.close();
  }

  private static SignedTransaction transfer(Hash256 chain, int from, long nonce, long amount) {
    return SignedTransaction.sign(key(from), chain, nonce,
        Transaction.transfer(key((from + 1) % 3).id(), amount));
  }

  @Test
  void manyTransactionsGoInOneRequestAndEachIsDecidedAsAlone() throws Exception {
    try (RemoteLedger remote = RemoteLedger.builder().keypair(key(5))
        .connect(List.of(server.uri()))) {
      Hash256 chain = ledger.chainId();
      List<SignedTransaction> txs = List.of(transfer(chain, 0, 0, 1), transfer(chain, 0, 1, 2),
          transfer(chain, 1, 0, 3), transfer(chain, 0, 2, 4),
          transfer(chain, 1, 0, 5)); // key 1's nonce 0 again: refused
      List<CompletableFuture<Receipt>> futures = remote.submitAll(txs);
      assertEquals(5, futures.size());
      ExecutionException refused = assertThrows(ExecutionException.class,
          () -> futures.get(4).get(10, TimeUnit.SECONDS));
      assertEquals(RejectReason.NONCE_REUSED,
          assertInstanceOf(TransactionRejectedException.class, refused.getCause()).reason());
      ledger.produceBlock();
      for (int i = 0; i < 4; i++) {
        Receipt r = futures.get(i).get(10, TimeUnit.SECONDS);
        assertEquals(txs.get(i).hash(), r.transaction());
        assertEquals(1, r.block());
        assertEquals(i, r.index(), "sealed in the order sent");
      }
      assertEquals(1, requests.await(Operation.SUBMIT_ALL, 1), requests.counts.toString());
      assertEquals(0, requests.of(Operation.SUBMIT), requests.counts.toString());
      assertEquals(3, ledger.nextNonce(key(0).id()));
      assertEquals(1, ledger.nextNonce(key(1).id()));
    }
  }

  @Test
  void moreThanOneRequestHoldsGoInSeveralAndAnEmptyListInNone() throws Exception {
    try (RemoteLedger remote = RemoteLedger.builder().keypair(key(5))
        .connect(List.of(server.uri()))) {
      assertEquals(List.of(), remote.submitAll(List.of()));
      int each = 700;
      List<SignedTransaction> txs = new ArrayList<>();
      for (int from = 0; from < 3; from++) {
        for (int n = 0; n < each; n++) {
          txs.add(transfer(ledger.chainId(), from, n, 1));
        }
      }
      List<CompletableFuture<Receipt>> futures = remote.submitAll(txs);
      assertEquals(3, requests.await(Operation.SUBMIT_ALL, 3), "1024 + 1024 + 52: "
          + requests.counts);
      ledger.produceBlock();
      for (int i = 0; i < txs.size(); i++) {
        assertEquals(txs.get(i).hash(), futures.get(i).get(10, TimeUnit.SECONDS).transaction());
      }
      assertEquals(each, ledger.nextNonce(key(2).id()));
    }
  }

  @Test
  void aRelayPassesABatchUpstreamAsOne() throws Exception {
    try (RemoteLedger upstream = RemoteLedger.builder().keypair(key(6))
            .connect(List.of(server.uri()));
        LedgerServer relay = LedgerServer.builder().ledger(upstream).host("127.0.0.1").port(0)
            .start();
        RemoteLedger remote = RemoteLedger.builder().keypair(key(5))
            .connect(List.of(relay.uri()))) {
      Hash256 chain = ledger.chainId();
      List<CompletableFuture<Receipt>> futures = remote.submitAll(List.of(
          transfer(chain, 0, 0, 1), transfer(chain, 1, 0, 1), transfer(chain, 2, 0, 1)));
      ledger.produceBlock();
      for (int i = 0; i < 3; i++) {
        assertEquals(i, futures.get(i).get(10, TimeUnit.SECONDS).index());
      }
      assertEquals(1, requests.await(Operation.SUBMIT_ALL, 1), "the relay's, upstream");
      assertEquals(0, requests.of(Operation.SUBMIT));
    }
  }

  @Test
  void toAServerThatPredatesItTheyGoOneAtATime() throws Exception {
    try (OlderServer older = new OlderServer(server.uri());
        RemoteLedger remote = RemoteLedger.builder().keypair(key(5))
            .protocol(HttpProtocol.HTTP_1_1).connect(List.of(older.uri()))) {
      Hash256 chain = ledger.chainId();
      List<SignedTransaction> first = List.of(transfer(chain, 0, 0, 1), transfer(chain, 0, 1, 1));
      List<CompletableFuture<Receipt>> futures = new ArrayList<>(remote.submitAll(first));
      futures.addAll(remote.submitAll(List.of(transfer(chain, 0, 2, 1))));
      ledger.produceBlock();
      for (CompletableFuture<Receipt> f : futures) {
        assertEquals(1, f.get(10, TimeUnit.SECONDS).block());
      }
      assertEquals(1, older.refused.get(), "asked once, then one at a time for good");
      assertEquals(3, requests.await(Operation.SUBMIT, 3));
      assertEquals(0, requests.of(Operation.SUBMIT_ALL));
    }
  }

  /**
   * A group being upgraded: the client learns which of its servers predate submit-all, not that
   * all do. Once the older one is gone and the client moved on, many go in one request again.
   */
  @Test
  void anOlderServerOfSeveralIsTheOnlyOneAskedOneAtATime() throws Exception {
    OlderServer older = new OlderServer(server.uri());
    try (RemoteLedger remote = RemoteLedger.builder().keypair(key(5))
        .protocol(HttpProtocol.HTTP_1_1).connect(List.of(older.uri(), server.uri()))) {
      Hash256 chain = ledger.chainId();
      List<CompletableFuture<Receipt>> first = remote.submitAll(
          List.of(transfer(chain, 0, 0, 1), transfer(chain, 0, 1, 1)));
      assertEquals(1, older.refused.get());
      assertEquals(2, requests.await(Operation.SUBMIT, 2), "one at a time to the older server");
      ledger.produceBlock(); // sealed before the client moves (a move fails what it waits for)
      for (CompletableFuture<Receipt> f : first) {
        assertEquals(1, f.get(10, TimeUnit.SECONDS).block());
      }

      older.close();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!(remote.uri().equals(server.uri()) && remote.isConnected())) {
        assertTrue(System.nanoTime() < deadline, "the client never moved on");
        Thread.sleep(10);
      }
      List<CompletableFuture<Receipt>> then = remote.submitAll(List.of(transfer(chain, 0, 2, 1),
          transfer(chain, 0, 3, 1), transfer(chain, 0, 4, 1)));
      ledger.produceBlock();
      for (CompletableFuture<Receipt> f : then) {
        assertEquals(2, f.get(10, TimeUnit.SECONDS).block());
      }
      assertEquals(1, requests.await(Operation.SUBMIT_ALL, 1), "three in one request");
      assertEquals(2, requests.of(Operation.SUBMIT));
    } finally {
      older.close();
    }
  }

  /**
   * A server of the version before submit-all, as its clients see it: what a ledger server of
   * now answers, passed through, except that the submit-all path does not exist (404, status
   * BAD_REQUEST, field "path", as a server answers any path it does not serve). HTTP/1.1.
   */
  private static final class OlderServer implements AutoCloseable {
    final AtomicInteger refused = new AtomicInteger();
    private final HttpServer http;
    private final URI upstream;

    OlderServer(URI upstream) throws IOException {
      this.upstream = upstream;
      http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      http.setExecutor(Executors.newCachedThreadPool());
      http.createContext("/", this::pass);
      http.start();
    }

    URI uri() {
      return URI.create("http://127.0.0.1:" + http.getAddress().getPort());
    }

    private void pass(HttpExchange exchange) throws IOException {
      try (exchange) {
        String path = exchange.getRequestURI().getPath();
        if (path.equals("/v1/ledger/submit-all")) {
          refused.incrementAndGet();
          byte[] body = LedgerResponse.newBuilder().setVersion(1)
              .setStatus(Status.BAD_REQUEST.code()).setField("path")
              .setMessage("no such path " + path).build().toByteArray();
          exchange.getResponseHeaders().set("Content-Type", "application/x-protobuf");
          exchange.getResponseHeaders().set("Bittensor-Status", "4");
          exchange.sendResponseHeaders(404, body.length);
          exchange.getResponseBody().write(body);
          return;
        }
        HttpURLConnection c = (HttpURLConnection) upstream.resolve(path).toURL().openConnection();
        c.setRequestMethod("POST");
        c.setDoOutput(true);
        c.setRequestProperty("Content-Type", "application/x-protobuf");
        try (OutputStream out = c.getOutputStream(); InputStream in = exchange.getRequestBody()) {
          in.transferTo(out);
        }
        int code = c.getResponseCode();
        exchange.getResponseHeaders().set("Content-Type", "application/x-protobuf");
        exchange.getResponseHeaders().set("Bittensor-Status", c.getHeaderField("Bittensor-Status"));
        exchange.sendResponseHeaders(code, 0); // chunked: the events stream never ends
        try (InputStream in = code < 400 ? c.getInputStream() : c.getErrorStream();
            OutputStream out = exchange.getResponseBody()) {
          byte[] buffer = new byte[8192];
          for (int n; (n = in.read(buffer)) >= 0; ) {
            out.write(buffer, 0, n);
            out.flush(); // each event as it comes
          }
        } finally {
          c.disconnect();
        }
      }
    }

    @Override
    public void close() {
      http.stop(0);
    }
  }
}
