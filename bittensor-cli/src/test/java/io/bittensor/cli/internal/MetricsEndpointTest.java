package io.bittensor.cli.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.Hash256;
import io.bittensor.core.Keypair;
import io.bittensor.core.RejectReason;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Status;
import io.bittensor.core.Transaction;
import io.bittensor.transport.CallEvent;
import io.bittensor.transport.CallListener;
import io.bittensor.transport.CallStart;
import io.bittensor.transport.LedgerRequestEvent;
import io.bittensor.transport.LedgerRequestListener;
import io.bittensor.transport.SubmissionEvent;
import io.bittensor.transport.SubmissionListener;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** {@link MetricsEndpoint#calls()}: the calls in flight on each side, and each call timed. */
class MetricsEndpointTest {
  private static CallStart start(CallEvent.Side side) {
    return new CallStart(side, CallEvent.Kind.FORWARD, Optional.empty());
  }

  private static CallEvent end(CallEvent.Side side, Status status) {
    return new CallEvent(side, CallEvent.Kind.FORWARD, Optional.empty(), status,
        Duration.ofMillis(3));
  }

  private static double inFlight(MetricsEndpoint metrics, String side) {
    return metrics.registry().get("bittensor.peer.calls.in.flight").tag("side", side).gauge()
        .value();
  }

  @Test
  void eachSidesCallsCountFromTheirStartToTheirEnd() throws Exception {
    try (MetricsEndpoint metrics = MetricsEndpoint.start("127.0.0.1", 0)) {
      CallListener.Factory calls = metrics.calls();
      assertSame(calls, metrics.calls(), "one factory, so one gauge per side");
      CallListener served = calls.create(start(CallEvent.Side.SERVER));
      CallListener made = calls.create(start(CallEvent.Side.CLIENT));
      CallListener madeToo = calls.create(start(CallEvent.Side.CLIENT));
      assertEquals(1, inFlight(metrics, "server"));
      assertEquals(2, inFlight(metrics, "client"));
      made.callEnd(end(CallEvent.Side.CLIENT, Status.TIMEOUT));
      served.callEnd(end(CallEvent.Side.SERVER, Status.SUCCESS));
      assertEquals(0, inFlight(metrics, "server"));
      assertEquals(1, inFlight(metrics, "client"));
      madeToo.callEnd(end(CallEvent.Side.CLIENT, Status.SUCCESS));
      assertEquals(0, inFlight(metrics, "client"));
      assertEquals(1, metrics.registry().get("bittensor.peer.calls").tag("side", "client")
          .tag("status", "TIMEOUT").timer().count());
      assertEquals(3, metrics.registry().get("bittensor.peer.calls").timers().stream()
          .mapToLong(t -> t.count()).sum());
    }
  }

  @Test
  void submissionsCountByKindAndOutcomeFailuresApart() throws Exception {
    SignedTransaction transfer = SignedTransaction.sign(Keypair.generate(), Hash256.ZERO, 1,
        Transaction.transfer(Keypair.generate().id(), 5));
    try (MetricsEndpoint metrics = MetricsEndpoint.start("127.0.0.1", 0)) {
      SubmissionListener heard = metrics.submissions();
      heard.submitted(new SubmissionEvent(Optional.of(transfer), Optional.empty()));
      heard.submitted(new SubmissionEvent(Optional.of(transfer),
          Optional.of(RejectReason.NONCE_REUSED)));
      heard.submitted(new SubmissionEvent(Optional.of(transfer), Optional.empty(),
          Optional.of("the ledger is closed")));
      heard.submitted(new SubmissionEvent(Optional.empty(), Optional.of(RejectReason.MALFORMED)));
      for (String[] kindAndOutcome : new String[][] {{"Transfer", "sealed"},
          {"Transfer", "NONCE_REUSED"}, {"Transfer", "failed"}, {"unknown", "MALFORMED"}}) {
        assertEquals(1, metrics.registry().get("bittensor.ledger.submissions")
            .tag("kind", kindAndOutcome[0]).tag("outcome", kindAndOutcome[1]).counter().count(),
            String.join(" ", kindAndOutcome));
      }
    }
  }

  @Test
  void ledgerRequestsAreTimedByOperationAndStatusWithTheBytesSent() throws Exception {
    try (MetricsEndpoint metrics = MetricsEndpoint.start("127.0.0.1", 0)) {
      LedgerRequestListener heard = metrics.ledgerRequests();
      heard.requestEnd(request(LedgerRequestEvent.Operation.EVENTS, Status.SUCCESS, 5_000_000));
      heard.requestEnd(request(LedgerRequestEvent.Operation.EVENTS, Status.SUCCESS, 700));
      heard.requestEnd(request(LedgerRequestEvent.Operation.SUBMIT, Status.UNAUTHENTICATED, 90));
      assertEquals(2, metrics.registry().get("bittensor.ledger.requests")
          .tag("operation", "EVENTS").tag("status", "SUCCESS").timer().count());
      assertEquals(1, metrics.registry().get("bittensor.ledger.requests")
          .tag("operation", "SUBMIT").tag("status", "UNAUTHENTICATED").timer().count());
      assertEquals(5_000_700, metrics.registry().get("bittensor.ledger.sent.bytes")
          .tag("operation", "EVENTS").counter().count());
      assertEquals(90, metrics.registry().get("bittensor.ledger.sent.bytes")
          .tag("operation", "SUBMIT").counter().count());
    }
  }

  private static LedgerRequestEvent request(LedgerRequestEvent.Operation operation,
      Status status, long bytes) {
    return new LedgerRequestEvent(operation, Optional.empty(), Optional.empty(), status,
        Duration.ofMillis(3), bytes, Optional.empty());
  }

  private static HttpResponse<String> get(HttpClient client, URI uri, String method)
      throws Exception {
    return client.send(HttpRequest.newBuilder(uri).method(method, HttpRequest.BodyPublishers
        .noBody()).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aClientStalledMidRequestDoesNotHoldUpTheNextScrape() throws Exception {
    try (MetricsEndpoint metrics = MetricsEndpoint.start("127.0.0.1", 0);
        Socket stalled = new Socket(metrics.uri().getHost(), metrics.uri().getPort())) {
      OutputStream out = stalled.getOutputStream();
      out.write("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Half: "
          .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      Thread.sleep(200); // the stalled request is the server's before the next one comes
      HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      HttpResponse<String> scrape = get(client, metrics.uri(), "GET");
      assertEquals(200, scrape.statusCode());
      assertEquals(MetricsEndpoint.CONTENT_TYPE,
          scrape.headers().firstValue("Content-Type").orElseThrow());
      assertTrue(scrape.body().contains("jvm_memory_used_bytes"), scrape.body());
      assertEquals(405, get(client, metrics.uri(), "POST").statusCode());
      assertEquals("GET", get(client, metrics.uri(), "POST").headers().firstValue("Allow")
          .orElseThrow());
      assertEquals(404, get(client, metrics.uri().resolve("/other"), "GET").statusCode());
    }
  }
}
