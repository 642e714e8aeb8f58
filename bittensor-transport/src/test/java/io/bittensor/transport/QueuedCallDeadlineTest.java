package io.bittensor.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.DType;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.transport.internal.ClientCore;
import io.bittensor.transport.internal.wire.Response;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import okhttp3.OkHttpClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A call that waits in a queue keeps its caller's deadline. In the client (all {@code
 * maxConcurrentCalls} busy) it still ends at its own deadline, as {@link Peer#forward(
 * ForwardRequest, Duration)} promises, not when a slot frees, and once it starts it tells the
 * server the time it has left, not its whole timeout. In the server, the time a request
 * waited for a slot counts against the timeout it carries: the peer gets only what its caller
 * has left, and nothing once that ran out.
 */
@ExtendWith(LeakCheck.class)
@Timeout(60)
class QueuedCallDeadlineTest {
  private static final ForwardRequest REQUEST = FanOutOverHttpTest.REQUEST;

  @Test
  void aQueuedCallTimesOutAtItsDeadline() throws Exception {
    try (PeerServer server = PeerServer.newBuilder(TestPeers.silent())
            .host("127.0.0.1").port(0).allowAnonymous(true).start();
        PeerClient client = PeerClient.newBuilder().maxConcurrentCalls(1).build()) {
      Peer peer = client.connect(server.endpoint());
      ForwardRequest request = new ForwardRequest(Modality.TENSOR,
          Tensor.zeros(DType.FLOAT32, 1, 2, 3));
      // Holds the client's only slot for 50 s: the peer never answers.
      CompletableFuture<ForwardResult> first = peer.forward(request, Duration.ofSeconds(50));
      CompletableFuture<ForwardResult> queued = peer.forward(request, Duration.ofMillis(200));
      // Before the fix it ended only when the first call's 50 s deadline freed the slot.
      ForwardResult r = queued.get(10, TimeUnit.SECONDS);
      assertEquals(Status.TIMEOUT, r.status(), r.toString());
      assertFalse(first.isDone(), "the first call still holds its slot");
    }
  }

  @Test
  void aCallThatWaitedInTheClientIsSignedWithTheTimeItHasLeft() throws Exception {
    Holding peer = new Holding(TestPeers.delayed(0, TransportContract.OUTPUT_DIM));
    try (PeerServer server = PeerServer.newBuilder(peer).host("127.0.0.1").port(0)
            .standard(TransportContract.STANDARD).start();
        RecordingRelay relay = new RecordingRelay(server.port(), 0);
        PeerClient client = PeerClient.newBuilder().keypair(TransportContract.ALICE)
            .standard(TransportContract.STANDARD).maxConcurrentCalls(1).build()) {
      Peer remote = client.connect(relay.uri());
      CompletableFuture<ForwardResult> holder = remote.forward(REQUEST, Duration.ofSeconds(10));
      peer.firstArrived.get(10, TimeUnit.SECONDS);
      CompletableFuture<ForwardResult> queued = remote.forward(REQUEST, Duration.ofSeconds(10));
      long queuedAt = System.nanoTime();
      Thread.sleep(500); // the client's only slot stays taken
      long waited = (System.nanoTime() - queuedAt) / 1_000_000;
      peer.release();

      assertEquals(Status.SUCCESS, holder.get(10, TimeUnit.SECONDS).status());
      assertEquals(Status.SUCCESS, queued.get(10, TimeUnit.SECONDS).status());
      long told = relay.requests.get(1).forward().getTimeoutMs();
      assertTrue(told <= 10_000 - waited,
          "told the server " + told + " ms after waiting " + waited + " of 10,000");
    }
  }

  @Test
  void aCallWhoseTimeRanOutInTheServersQueueNeverReachesThePeer() throws Exception {
    // The queued call's 300 ms run out while it waits.
    assertEquals(0, callsAfterATimeoutInTheQueue(0, 300, 500),
        "the peer heard a call whose caller had given up");
  }

  @Test
  void theServerGivesAQueuedCallOnlyTheTimeItsCallerHasLeft() throws Exception {
    // Its peer takes 1,200 ms: within the whole timeout, not within the 700 or so left of it.
    assertEquals(1, callsAfterATimeoutInTheQueue(1_200, 1_500, 800),
        "with time left, the peer is called");
  }

  /**
   * Sends a signed forward carrying {@code timeoutMs} to a server with one slot, held by a first
   * call until the forward has waited {@code heldMs} in its queue; checks that the server
   * answers it TIMEOUT, and returns how many times the peer (which answers after {@code
   * peerMs}) was called for it.
   */
  private static int callsAfterATimeoutInTheQueue(long peerMs, long timeoutMs, long heldMs)
      throws Exception {
    Holding peer = new Holding(TestPeers.delayed(peerMs, TransportContract.OUTPUT_DIM));
    try (PeerServer server = PeerServer.newBuilder(peer).host("127.0.0.1").port(0)
            .standard(TransportContract.STANDARD).maxConcurrentCalls(1).start();
        PeerClient client = PeerClient.newBuilder().keypair(TransportContract.ALICE)
            .standard(TransportContract.STANDARD).build();
        Waiting waiting = new Waiting()) {
      CompletableFuture<ForwardResult> holder =
          client.connect(server.endpoint()).forward(REQUEST, Duration.ofSeconds(10));
      peer.firstArrived.get(10, TimeUnit.SECONDS);
      CompletableFuture<Response> queued = waiting.send(server, timeoutMs);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (server.queuedCalls() < 1) {
        assertTrue(System.nanoTime() < deadline, "the second call never queued");
        Thread.sleep(5);
      }
      Thread.sleep(heldMs);
      peer.release();
      Response r = queued.get(10, TimeUnit.SECONDS);
      assertEquals(Status.TIMEOUT.code(), r.getStatus(), r.getStatus() + " " + r.getMessage());
      assertEquals(Status.SUCCESS, holder.get(10, TimeUnit.SECONDS).status());
      return peer.later.get();
    }
  }

  /** Holds its first call until {@link #release}; passes later ones to another peer. */
  private static final class Holding implements Peer {
    final CompletableFuture<Void> firstArrived = new CompletableFuture<>();
    final AtomicInteger later = new AtomicInteger();
    private final CompletableFuture<ForwardResult> first = new CompletableFuture<>();
    private final Peer then;

    Holding(Peer then) {
      this.then = then;
    }

    void release() {
      first.complete(ForwardResult.success(TransportContract.STANDARD.zeros(REQUEST.input())));
    }

    @Override
    public CompletableFuture<ForwardResult> forward(ForwardRequest request) {
      if (firstArrived.complete(null)) {
        return first;
      }
      later.incrementAndGet();
      return then.forward(request);
    }
  }

  /**
   * Sends signed forwards whose caller waits for the answer whatever timeout they carry, so
   * that what the server answers shows how long it thought the caller would wait.
   */
  private static final class Waiting implements AutoCloseable {
    private final ClientCore core =
        new ClientCore(TransportContract.ALICE, Clock.systemUTC(), TransportContract.STANDARD);
    private final OkHttpClient http = new OkHttpClient();
    private final ExecutorService thread = Executors.newSingleThreadExecutor();

    CompletableFuture<Response> send(PeerServer server, long timeoutMs) {
      byte[] body = core.message(REQUEST, timeoutMs).toByteArray();
      return CompletableFuture.supplyAsync(() -> {
        try {
          return HttpTransportTest.parse(
              HttpTransportTest.post(http, server, "/v1/forward", body));
        } catch (java.io.IOException e) {
          throw new UncheckedIOException(e);
        }
      }, thread);
    }

    @Override
    public void close() {
      thread.shutdownNow();
      http.dispatcher().executorService().shutdown();
      http.connectionPool().evictAll();
    }
  }
}
