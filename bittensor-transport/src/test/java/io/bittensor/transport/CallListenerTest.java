package io.bittensor.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.BackwardRequest;
import io.bittensor.core.DType;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.Keypair;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.PeerId;
import io.bittensor.core.PeerInfo;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@link CallListener}: a server hears every call it answers, served or refused, with the caller
 * its request named; a client hears every call it made, with the peer called and the status its
 * caller got; a listener that throws breaks neither; and the listener feeds Micrometer as its
 * documentation shows.
 */
@ExtendWith(LeakCheck.class)
@Timeout(60)
class CallListenerTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private static final Keypair SERVER_KEY = TransportContract.BOB;

  /** Records what it hears, then throws when told to (which must change nothing). */
  private static final class Heard implements CallListener {
    final List<CallEvent> calls = new CopyOnWriteArrayList<>();
    volatile boolean throwAfter;

    @Override
    public void callEnd(CallEvent call) {
      calls.add(call);
      if (throwAfter) {
        throw new IllegalStateException("a listener that throws");
      }
    }

    /** The calls heard, as "KIND STATUS peer", in order. */
    List<String> lines() {
      return calls.stream().map(c -> c.side() + " " + c.kind() + " " + c.status() + " "
          + c.peer().map(PeerId::toString).orElse("-")).toList();
    }
  }

  private static ForwardRequest forward() {
    return new ForwardRequest(Modality.TENSOR, Tensor.zeros(DType.FLOAT32, 1, 2, 3));
  }

  private static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
      Thread.sleep(5);
    }
  }

  @Test
  void aServerHearsEveryCallItAnswersServedOrRefused() throws Exception {
    Heard heard = new Heard();
    heard.throwAfter = true;
    OkHttpClient raw = new OkHttpClient();
    try (PeerServer server = PeerServer.newBuilder(BuiltinPeers.deterministic(8))
            .host("127.0.0.1").port(0).callListener(heard).start();
        PeerClient alice = PeerClient.newBuilder().keypair(TransportContract.ALICE).build();
        PeerClient anonymous = PeerClient.newBuilder().build()) {
      Peer signed = alice.connect(server.endpoint());
      assertEquals(Status.SUCCESS, signed.forwardAndWait(forward(), TIMEOUT).status());
      Status backward = signed.backwardAndWait(new BackwardRequest(Modality.TENSOR,
          forward().input(), Tensor.zeros(DType.FLOAT32, 1, 2, 8)), TIMEOUT).status();
      // Anonymous calls are refused by default; the request names no caller.
      assertEquals(Status.UNAUTHENTICATED,
          anonymous.connect(server.endpoint()).forwardAndWait(forward(), TIMEOUT).status());
      // Wrong before the protocol starts: heard as the kind its path names...
      try (okhttp3.Response get = raw.newCall(new Request.Builder()
          .url(server.endpoint() + "/v1/backward").build()).execute()) {
        assertEquals(405, get.code());
      }
      // ...and a path that is not a call is not heard.
      try (okhttp3.Response other = raw.newCall(new Request.Builder()
          .url(server.endpoint() + "/metrics").build()).execute()) {
        assertEquals(404, other.code());
      }
      String alicesId = TransportContract.ALICE.id().toString();
      await(() -> heard.calls.size() >= 4, "four calls");
      assertEquals(List.of("SERVER FORWARD SUCCESS " + alicesId,
          "SERVER BACKWARD " + backward + " " + alicesId, "SERVER FORWARD UNAUTHENTICATED -",
          "SERVER BACKWARD BAD_REQUEST -"), heard.lines());
      for (CallEvent call : heard.calls) {
        assertTrue(call.duration().toNanos() > 0, call.toString());
      }
      // The listener threw every time, and the server served on.
      assertEquals(Status.SUCCESS, signed.forwardAndWait(forward(), TIMEOUT).status());
    } finally {
      raw.dispatcher().executorService().shutdown();
      raw.connectionPool().evictAll();
    }
  }

  @Test
  void aServerInProcessHearsItsCallsAsOverHttp() throws Exception {
    InProcessNetwork network = new InProcessNetwork();
    Heard heard = new Heard();
    try (PeerServer server = PeerServer.newBuilder(TestPeers.delayed(1, 8))
            .maxConcurrentCalls(1).maxQueuedCalls(0).callListener(heard)
            .startInProcess(network, "listened");
        PeerClient alice = PeerClient.newBuilder().keypair(TransportContract.ALICE)
            .inProcess(network).build()) {
      Peer peer = alice.connect(server.endpoint());
      assertEquals(Status.SUCCESS, peer.forwardAndWait(forward(), TIMEOUT).status());
      // No slot free and no queue: the second of two calls at once is turned away.
      PeerServer slow = PeerServer.newBuilder(TestPeers.delayed(500, 8))
          .maxConcurrentCalls(1).maxQueuedCalls(0).callListener(heard)
          .startInProcess(network, "busy");
      try (slow) {
        Peer busy = alice.connect(slow.endpoint());
        var first = busy.forward(forward(), TIMEOUT);
        assertEquals(Status.BACKOFF, busy.forwardAndWait(forward(), TIMEOUT).status());
        assertEquals(Status.SUCCESS, first.get(10, TimeUnit.SECONDS).status());
      }
      String alicesId = TransportContract.ALICE.id().toString();
      await(() -> heard.calls.size() >= 3, "three calls");
      assertEquals(List.of("SERVER FORWARD SUCCESS " + alicesId,
          "SERVER FORWARD BACKOFF " + alicesId, "SERVER FORWARD SUCCESS " + alicesId),
          heard.lines());
      assertTrue(heard.calls.get(2).duration().toMillis() >= 400,
          "the slow call took its 500 ms: " + heard.calls.get(2));
    }
  }

  @Test
  void aClientHearsEachCallWithThePeerCalledAndTheStatusItsCallerGot() throws Exception {
    Heard heard = new Heard();
    try (PeerServer server = PeerServer.newBuilder(TestPeers.delayed(300, 8))
            .host("127.0.0.1").port(0).allowAnonymous(true).start();
        PeerClient client = PeerClient.newBuilder().callListener(heard).build()) {
      Peer named = client.connect(PeerInfo.of(SERVER_KEY.id(), server.endpoint(),
          Modality.TENSOR));
      assertEquals(Status.SUCCESS, named.forward(forward(), TIMEOUT)
          .get(10, TimeUnit.SECONDS).status());
      await(() -> heard.calls.size() == 1, "the first call heard"); // after its caller, maybe
      assertEquals(Status.TIMEOUT,
          named.forwardAndWait(forward(), Duration.ofMillis(50)).status());
      URI nobody = URI.create("http://127.0.0.1:" + freePort());
      assertEquals(Status.UNAVAILABLE,
          client.connect(nobody).forwardAndWait(forward(), TIMEOUT).status());
      heard.throwAfter = true;
      assertEquals(Status.SUCCESS, named.forwardAndWait(forward(), TIMEOUT).status(),
          "a listener that throws does not break the call");
      String server0 = SERVER_KEY.id().toString();
      assertEquals(List.of("CLIENT FORWARD SUCCESS " + server0, "CLIENT FORWARD TIMEOUT " + server0,
          "CLIENT FORWARD UNAVAILABLE -", "CLIENT FORWARD SUCCESS " + server0), heard.lines());
      assertTrue(heard.calls.get(0).duration().toMillis() >= 250, heard.calls.get(0).toString());
      assertTrue(heard.calls.get(1).duration().toMillis() < 250, heard.calls.get(1).toString());
      assertEquals(Optional.empty(), heard.calls.get(2).peer());
    }
  }

  /** The documentation's Micrometer example, as written there. */
  @Test
  void theListenerFeedsMicrometerAsDocumented() throws Exception {
    MeterRegistry registry = new SimpleMeterRegistry();
    CallListener metrics = call -> registry.timer("bittensor.peer.calls",
            "kind", call.kind().name(), "status", call.status().name())
        .record(call.duration());
    try (PeerServer server = PeerServer.newBuilder(BuiltinPeers.deterministic(8))
            .host("127.0.0.1").port(0).callListener(metrics).start();
        PeerClient alice = PeerClient.newBuilder().keypair(TransportContract.ALICE).build();
        PeerClient anonymous = PeerClient.newBuilder().build()) {
      for (int i = 0; i < 3; i++) {
        alice.connect(server.endpoint()).forwardAndWait(forward(), TIMEOUT);
      }
      anonymous.connect(server.endpoint()).forwardAndWait(forward(), TIMEOUT);
      await(() -> registry.find("bittensor.peer.calls").timers().stream()
          .mapToLong(t -> t.count()).sum() == 4, "four calls timed");
      assertEquals(3, registry.get("bittensor.peer.calls").tag("kind", "FORWARD")
          .tag("status", "SUCCESS").timer().count());
      assertEquals(1, registry.get("bittensor.peer.calls")
          .tag("status", "UNAUTHENTICATED").timer().count());
    }
  }

  @Test
  void aCallEventChecksItsComponents() {
    Duration d = Duration.ofMillis(1);
    CallEvent.Side server = CallEvent.Side.SERVER;
    assertThrowsNpe(() -> new CallEvent(null, CallEvent.Kind.FORWARD, Optional.empty(),
        Status.SUCCESS, d));
    assertThrowsNpe(() -> new CallEvent(server, null, Optional.empty(), Status.SUCCESS, d));
    assertThrowsNpe(() -> new CallEvent(server, CallEvent.Kind.FORWARD, null, Status.SUCCESS,
        d));
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class, () -> new CallEvent(server, CallEvent.Kind.FORWARD,
            Optional.empty(), Status.SUCCESS, Duration.ofMillis(-1)));
    assertTrue(e.getMessage().contains("PT-0.001S"), e.getMessage());
  }

  private static void assertThrowsNpe(org.junit.jupiter.api.function.Executable e) {
    org.junit.jupiter.api.Assertions.assertThrows(NullPointerException.class, e);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
