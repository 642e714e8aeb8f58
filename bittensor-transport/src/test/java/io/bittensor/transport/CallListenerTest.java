package io.bittensor.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.BackwardRequest;
import io.bittensor.core.DType;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Keypair;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.PeerId;
import io.bittensor.core.PeerInfo;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.core.TensorStandard;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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
  void aServerHearsTheRequestsItRefusesBeforeReadingTheirBody() throws Exception {
    Heard heard = new Heard();
    OkHttpClient raw = new OkHttpClient();
    okhttp3.MediaType protobuf = okhttp3.MediaType.get("application/x-protobuf");
    String alice = TransportContract.ALICE.id().toHex();
    try (PeerServer server = PeerServer.newBuilder(BuiltinPeers.deterministic(8))
            .host("127.0.0.1").port(0).maxPayloadBytes(1_000).callListener(heard).start()) {
      String forward = server.endpoint() + "/v1/forward";
      // A body that is not protobuf: 415.
      try (okhttp3.Response r = raw.newCall(new Request.Builder().url(forward)
          .header("Bittensor-Caller", alice)
          .post(okhttp3.RequestBody.create("{}", okhttp3.MediaType.get("application/json")))
          .build()).execute()) {
        assertEquals(415, r.code());
      }
      // More bytes than the server takes, by its Content-Length: 413 before reading them.
      try (okhttp3.Response r = raw.newCall(new Request.Builder().url(forward)
          .post(okhttp3.RequestBody.create(new byte[2_000], protobuf)).build()).execute()) {
        assertEquals(String.valueOf(Status.PAYLOAD_TOO_LARGE.code()),
            r.header("Bittensor-Status"));
      }
      // A caller header that is no key: a bad request, naming nobody.
      try (okhttp3.Response r = raw.newCall(new Request.Builder().url(forward)
          .header("Bittensor-Caller", "not-a-key")
          .post(okhttp3.RequestBody.create(new byte[10], protobuf)).build()).execute()) {
        assertEquals(String.valueOf(Status.BAD_REQUEST.code()), r.header("Bittensor-Status"));
      }
      await(() -> heard.calls.size() >= 3, "three refusals");
      assertEquals(List.of("SERVER FORWARD BAD_REQUEST " + TransportContract.ALICE.id(),
          "SERVER FORWARD PAYLOAD_TOO_LARGE -", "SERVER FORWARD BAD_REQUEST -"), heard.lines());
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
      for (CallEvent call : heard.calls) {
        assertEquals(Optional.empty(), call.verifiedCaller(), "a client proves no caller");
      }
    }
  }

  /** The calls heard, as "STATUS named verified" ("-" for none), in order. */
  private static List<String> proofs(Heard heard) {
    return heard.calls.stream().map(c -> c.status() + " "
        + c.peer().map(PeerId::toString).orElse("-") + " "
        + c.verifiedCaller().map(PeerId::toString).orElse("-")).toList();
  }

  private static final Keypair CAROL = TransportContract.seeded(3);

  /**
   * Calls a server that serves anonymous callers and every key but Carol's: Alice, anonymous,
   * Carol, and Alice's backward call with a gradient of the wrong shape (proved, then refused).
   * Returns the four calls as {@link #proofs} should hear them.
   */
  private static List<String> callAsEach(PeerClient alice, PeerClient anonymous,
      PeerClient carol, URI server) {
    assertEquals(Status.SUCCESS,
        alice.connect(server).forwardAndWait(forward(), TIMEOUT).status());
    assertEquals(Status.SUCCESS,
        anonymous.connect(server).forwardAndWait(forward(), TIMEOUT).status());
    assertEquals(Status.UNAUTHENTICATED,
        carol.connect(server).forwardAndWait(forward(), TIMEOUT).status());
    assertEquals(Status.BAD_SHAPE, alice.connect(server).backwardAndWait(new BackwardRequest(
        Modality.TENSOR, forward().input(), Tensor.zeros(DType.FLOAT32, 1, 3, 8)), TIMEOUT)
        .status());
    String a = TransportContract.ALICE.id().toString();
    return List.of("SUCCESS " + a + " " + a, "SUCCESS - -", "UNAUTHENTICATED " + CAROL.id() + " -",
        "BAD_SHAPE " + a + " " + a);
  }

  @Test
  void aServerNamesTheCallerItProvedApartFromTheOneARequestClaims() throws Exception {
    Heard heard = new Heard();
    OkHttpClient raw = new OkHttpClient();
    try (PeerServer server = PeerServer.newBuilder(BuiltinPeers.deterministic(8))
            .host("127.0.0.1").port(0).allowAnonymous(true)
            .callers(id -> !id.equals(CAROL.id())).callListener(heard).start();
        PeerClient alice = PeerClient.newBuilder().keypair(TransportContract.ALICE).build();
        PeerClient carol = PeerClient.newBuilder().keypair(CAROL).build();
        PeerClient anonymous = PeerClient.newBuilder().build()) {
      List<String> expected = new ArrayList<>(
          callAsEach(alice, anonymous, carol, server.endpoint()));
      // Alice's signed request under a header that names Bob: Bob is claimed, nobody proved.
      byte[] alicesBody = new io.bittensor.transport.internal.ClientCore(TransportContract.ALICE,
          java.time.Clock.systemUTC(), TransportContract.STANDARD)
          .message(forward(), 5_000).toByteArray();
      try (okhttp3.Response r = raw.newCall(new Request.Builder()
          .url(server.endpoint() + "/v1/forward")
          .header("Bittensor-Caller", TransportContract.BOB.id().toHex())
          .post(okhttp3.RequestBody.create(alicesBody,
              okhttp3.MediaType.get("application/x-protobuf"))).build()).execute()) {
        assertEquals(String.valueOf(Status.BAD_SIGNATURE.code()), r.header("Bittensor-Status"));
      }
      expected.add("BAD_SIGNATURE " + TransportContract.BOB.id() + " -");
      await(() -> heard.calls.size() >= 5, "five calls");
      assertEquals(expected, proofs(heard));
    } finally {
      raw.dispatcher().executorService().shutdown();
      raw.connectionPool().evictAll();
    }
  }

  @Test
  void aServerInProcessNamesTheCallerItProvedAsOverHttp() throws Exception {
    InProcessNetwork network = new InProcessNetwork();
    Heard heard = new Heard();
    try (PeerServer server = PeerServer.newBuilder(BuiltinPeers.deterministic(8))
            .allowAnonymous(true).callers(id -> !id.equals(CAROL.id())).callListener(heard)
            .startInProcess(network, "proving");
        PeerClient alice = PeerClient.newBuilder().keypair(TransportContract.ALICE)
            .inProcess(network).build();
        PeerClient carol = PeerClient.newBuilder().keypair(CAROL).inProcess(network).build();
        PeerClient anonymous = PeerClient.newBuilder().inProcess(network).build()) {
      List<String> expected = callAsEach(alice, anonymous, carol, server.endpoint());
      await(() -> heard.calls.size() >= 4, "four calls");
      assertEquals(expected, proofs(heard));
    }
  }

  /** One call as a factory's listener saw it: its start, and every end it heard. */
  private static final class Tracked implements CallListener {
    final CallStart start;
    final List<CallEvent> ends = new CopyOnWriteArrayList<>();

    Tracked(CallStart start) {
      this.start = start;
    }

    @Override
    public void callEnd(CallEvent call) {
      ends.add(call);
    }
  }

  /** Makes a {@link Tracked} listener for every call and keeps them all. */
  private static final class Tracker implements CallListener.Factory {
    final List<Tracked> calls = new CopyOnWriteArrayList<>();

    @Override
    public CallListener create(CallStart start) {
      Tracked t = new Tracked(start);
      calls.add(t);
      return t;
    }

    long ended() {
      return calls.stream().mapToLong(t -> t.ends.size()).sum();
    }
  }

  /** Holds every forward's answer until {@link #release}. */
  private static final class Held implements Peer {
    final List<CompletableFuture<ForwardResult>> waiting = new CopyOnWriteArrayList<>();
    final List<ForwardRequest> requests = new CopyOnWriteArrayList<>();

    @Override
    public CompletableFuture<ForwardResult> forward(ForwardRequest request) {
      CompletableFuture<ForwardResult> answer = new CompletableFuture<>();
      requests.add(request);
      waiting.add(answer);
      return answer;
    }

    void release() {
      for (int i = 0; i < waiting.size(); i++) {
        waiting.get(i).complete(ForwardResult.success(
            TensorStandard.of(8).zeros(requests.get(i).input())));
      }
    }
  }

  @Test
  void aFactoryGivesEachCallItsOwnListenerFromItsStartToItsEnd() throws Exception {
    Tracker serverSide = new Tracker();
    Tracker clientSide = new Tracker();
    Held peer = new Held();
    try (PeerServer server = PeerServer.newBuilder(peer).host("127.0.0.1").port(0)
            .callListenerFactory(serverSide).start();
        PeerClient alice = PeerClient.newBuilder().keypair(TransportContract.ALICE)
            .callListenerFactory(clientSide).build();
        PeerClient anonymous = PeerClient.newBuilder().build()) {
      Peer named = alice.connect(PeerInfo.of(SERVER_KEY.id(), server.endpoint(),
          Modality.TENSOR));
      List<CompletableFuture<ForwardResult>> calls = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        calls.add(named.forward(forward(), TIMEOUT));
      }
      // All three are in the peer's hands: each has started on both sides, none has ended.
      await(() -> peer.waiting.size() == 3, "three calls in the peer");
      assertEquals(3, clientSide.calls.size());
      assertEquals(3, serverSide.calls.size());
      assertEquals(0, clientSide.ended() + serverSide.ended(), "nothing is over yet");
      // A refused call starts and ends as well.
      assertEquals(Status.UNAUTHENTICATED,
          anonymous.connect(server.endpoint()).forwardAndWait(forward(), TIMEOUT).status());
      peer.release();
      for (CompletableFuture<ForwardResult> call : calls) {
        assertEquals(Status.SUCCESS, call.get(10, TimeUnit.SECONDS).status());
      }
      await(() -> clientSide.ended() == 3 && serverSide.ended() == 4, "every end heard");
      assertEquals(3, clientSide.calls.size());
      assertEquals(4, serverSide.calls.size());
      for (Tracker side : List.of(clientSide, serverSide)) {
        for (Tracked t : side.calls) {
          assertEquals(1, t.ends.size(), "one end per call: " + t.ends);
          CallEvent end = t.ends.get(0);
          assertEquals(List.of(t.start.side(), t.start.kind(), t.start.peer()),
              List.of(end.side(), end.kind(), end.peer()), "the end of the call that started");
        }
      }
      assertTrue(clientSide.calls.stream().allMatch(t -> t.start.side() == CallEvent.Side.CLIENT
          && t.start.peer().equals(Optional.of(SERVER_KEY.id()))
          && t.ends.get(0).status() == Status.SUCCESS));
      assertEquals(List.of("SUCCESS " + TransportContract.ALICE.id(),
          "SUCCESS " + TransportContract.ALICE.id(), "SUCCESS " + TransportContract.ALICE.id(),
          "UNAUTHENTICATED -"), serverSide.calls.stream()
          .map(t -> t.ends.get(0).status() + " " + t.start.peer().map(PeerId::toString)
              .orElse("-")).sorted().toList());
    }
  }

  @Test
  void twoFactoriesJoinedEachHearEveryCallWhateverTheOtherDoes() throws Exception {
    Tracker first = new Tracker();
    Tracker second = new Tracker();
    AtomicInteger throwingMade = new AtomicInteger();
    CallListener.Factory throwingFactory = start -> {
      throw new IllegalStateException("a factory that throws");
    };
    CallListener.Factory throwingListener = start -> {
      throwingMade.incrementAndGet();
      return call -> {
        throw new IllegalStateException("a listener that throws");
      };
    };
    CallListener.Factory joined = first.andThen(throwingFactory).andThen(throwingListener)
        .andThen(start -> null).andThen(second);
    try (PeerServer server = PeerServer.newBuilder(BuiltinPeers.deterministic(8))
            .host("127.0.0.1").port(0).callListenerFactory(joined).start();
        PeerClient alice = PeerClient.newBuilder().keypair(TransportContract.ALICE).build()) {
      Peer peer = alice.connect(server.endpoint());
      for (int i = 0; i < 3; i++) {
        assertEquals(Status.SUCCESS, peer.forwardAndWait(forward(), TIMEOUT).status());
      }
      await(() -> first.ended() == 3 && second.ended() == 3, "both heard three calls");
      for (Tracker t : List.of(first, second)) {
        assertEquals(3, t.calls.size());
        for (Tracked call : t.calls) {
          assertEquals(List.of(Status.SUCCESS),
              call.ends.stream().map(CallEvent::status).toList(), "each end heard once");
          assertEquals(Optional.of(TransportContract.ALICE.id()), call.start.peer());
        }
      }
      assertEquals(3, throwingMade.get());
    }
    // Joining nothing is no join: the factories are the ones given.
    assertTrue(first.andThen(CallListener.Factory.NONE) == first);
    assertTrue(CallListener.Factory.NONE.andThen(second) == second);
    assertThrowsNpe(() -> first.andThen(null));
  }

  @Test
  void aFactoryThatThrowsOrMakesNoListenerLeavesItsCallUnheardAndServed() throws Exception {
    InProcessNetwork network = new InProcessNetwork();
    Tracker tracker = new Tracker();
    AtomicInteger made = new AtomicInteger();
    CallListener.Factory unruly = start -> switch (made.getAndIncrement() % 3) {
      case 0 -> throw new IllegalStateException("a factory that throws");
      case 1 -> null;
      default -> tracker.create(start);
    };
    try (PeerServer server = PeerServer.newBuilder(BuiltinPeers.deterministic(8))
            .callListenerFactory(unruly).startInProcess(network, "unruly");
        PeerClient alice = PeerClient.newBuilder().keypair(TransportContract.ALICE)
            .inProcess(network).callListenerFactory(unruly).build()) {
      Peer peer = alice.connect(server.endpoint());
      for (int i = 0; i < 3; i++) {
        assertEquals(Status.SUCCESS, peer.forwardAndWait(forward(), TIMEOUT).status());
      }
      // Client, server, client, ...: of the six starts, the first and fourth threw, the second
      // and fifth made none, and the third (a client's) and sixth (the server's) were heard.
      await(() -> tracker.ended() == 2, "the two calls with a listener");
      assertEquals(6, made.get());
      assertEquals(List.of(CallEvent.Side.CLIENT, CallEvent.Side.SERVER),
          tracker.calls.stream().map(t -> t.start.side()).toList());
    }
  }

  @Test
  void aRequestWhoseCallerGoesAwayBeforeItsBodyEndsCancelled() throws Exception {
    Tracker tracker = new Tracker();
    String alice = TransportContract.ALICE.id().toString();
    try (PeerServer server = PeerServer.newBuilder(BuiltinPeers.deterministic(8))
            .host("127.0.0.1").port(0).callListenerFactory(tracker).start()) {
      URI at = server.endpoint();
      try (Socket socket = new Socket(at.getHost(), at.getPort())) {
        OutputStream out = socket.getOutputStream();
        out.write(("POST /v1/forward HTTP/1.1\r\nHost: " + at.getAuthority()
            + "\r\nContent-Type: application/x-protobuf\r\nContent-Length: 100000\r\n"
            + "Bittensor-Caller: " + alice + "\r\n\r\n0123456789")
            .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        await(() -> tracker.calls.size() == 1, "the call started");
      } // closed with 99,990 bytes of the body unsent
      await(() -> tracker.ended() == 1, "the call's end");
      Tracked call = tracker.calls.get(0);
      assertEquals(Optional.of(TransportContract.ALICE.id()), call.start.peer());
      assertEquals(Status.CANCELLED, call.ends.get(0).status());
      assertEquals(Optional.of(TransportContract.ALICE.id()), call.ends.get(0).peer());
      // A request refused before its body names its caller too.
      OkHttpClient raw = new OkHttpClient();
      try (okhttp3.Response get = raw.newCall(new Request.Builder().url(at + "/v1/forward")
          .header("Bittensor-Caller", alice).build()).execute()) {
        assertEquals(405, get.code());
      } finally {
        raw.dispatcher().executorService().shutdown();
        raw.connectionPool().evictAll();
      }
      await(() -> tracker.ended() == 2, "the refused call's end");
      assertEquals("BAD_REQUEST " + alice, tracker.calls.get(1).ends.get(0).status() + " "
          + tracker.calls.get(1).ends.get(0).peer().map(PeerId::toString).orElse("-"));
      assertEquals(0, server.activeCalls(), "the abandoned call's slot is free");
    }
  }

  /** The documentation's example of a factory, the calls in flight, as written there. */
  @Test
  void theFactoryCountsTheCallsInFlightAsDocumented() throws Exception {
    AtomicInteger inFlight = new AtomicInteger();
    CallListener.Factory counting = start -> {
      inFlight.incrementAndGet();
      return call -> inFlight.decrementAndGet();
    };
    InProcessNetwork network = new InProcessNetwork();
    Held peer = new Held();
    try (PeerServer server = PeerServer.newBuilder(peer).callListenerFactory(counting)
            .startInProcess(network, "counted");
        PeerClient alice = PeerClient.newBuilder().keypair(TransportContract.ALICE)
            .inProcess(network).build()) {
      Peer p = alice.connect(server.endpoint());
      var first = p.forward(forward(), TIMEOUT);
      var second = p.forward(forward(), TIMEOUT);
      await(() -> peer.waiting.size() == 2, "two calls in the peer");
      assertEquals(2, inFlight.get());
      peer.release();
      assertEquals(Status.SUCCESS, first.get(10, TimeUnit.SECONDS).status());
      assertEquals(Status.SUCCESS, second.get(10, TimeUnit.SECONDS).status());
      await(() -> inFlight.get() == 0, "both over");
    }
  }

  /**
   * A client's call refused before it is made (a timeout that is not positive, as a deadline
   * already passed gives) ends its listener too: the calls in flight come back to 0.
   */
  @Test
  void aClientCallRefusedBeforeItIsMadeIsHeardEndingAsWell() throws Exception {
    AtomicInteger inFlight = new AtomicInteger();
    List<CallEvent> ends = new CopyOnWriteArrayList<>();
    CallListener.Factory counting = start -> {
      inFlight.incrementAndGet();
      return call -> {
        ends.add(call);
        inFlight.decrementAndGet();
      };
    };
    InProcessNetwork network = new InProcessNetwork();
    try (PeerServer server = PeerServer.newBuilder(BuiltinPeers.deterministic(3))
            .startInProcess(network, "refused");
        PeerClient alice = PeerClient.newBuilder().keypair(TransportContract.ALICE)
            .inProcess(network).callListenerFactory(counting).build()) {
      Peer p = alice.connect(PeerInfo.of(SERVER_KEY.id(), server.endpoint(),
          Modality.TENSOR));
      org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
          () -> p.forward(forward(), Duration.ZERO));
      org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
          () -> p.forwardAndWait(forward(), Duration.ofMillis(-1)));
      assertEquals(0, inFlight.get(), "listeners made and never told the end: " + ends);
      assertEquals(List.of(Status.BAD_REQUEST, Status.BAD_REQUEST),
          ends.stream().map(CallEvent::status).toList());
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
    assertThrowsNpe(() -> new CallEvent(server, CallEvent.Kind.FORWARD, Optional.empty(),
        Status.SUCCESS, d, Optional.empty(), null));
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class, () -> new CallEvent(server, CallEvent.Kind.FORWARD,
            Optional.empty(), Status.SUCCESS, Duration.ofMillis(-1)));
    assertTrue(e.getMessage().contains("PT-0.001S"), e.getMessage());
    assertThrowsNpe(() -> new CallStart(null, CallEvent.Kind.FORWARD, Optional.empty()));
    assertThrowsNpe(() -> new CallStart(server, null, Optional.empty()));
    assertThrowsNpe(() -> new CallStart(server, CallEvent.Kind.FORWARD, null));
    assertThrowsNpe(() -> CallListener.Factory.of(null));
    assertTrue(CallListener.Factory.of(CallListener.NONE) == CallListener.Factory.NONE,
        "a factory of no listener is no factory: the client's peers stay unwrapped");
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
