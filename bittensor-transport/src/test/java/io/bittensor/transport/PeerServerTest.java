package io.bittensor.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.DType;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** How a server holds up when its peer, its callers or its own close misbehave. */
@ExtendWith(LeakCheck.class)
@Timeout(60)
class PeerServerTest {
  private static final ForwardRequest REQUEST =
      new ForwardRequest(Modality.TENSOR, Tensor.zeros(DType.FLOAT32, 1, 1, 2));

  private final InProcessNetwork network = new InProcessNetwork();

  private PeerServer start(PeerServer.Builder b, boolean inProcess) throws IOException {
    b.standard(TransportContract.STANDARD).allowAnonymous(true);
    return inProcess ? b.startInProcess(network, "peer") : b.host("127.0.0.1").port(0).start();
  }

  private PeerClient client(boolean inProcess) {
    PeerClient.Builder b = PeerClient.newBuilder().keypair(TransportContract.ALICE)
        .standard(TransportContract.STANDARD).timeout(Duration.ofSeconds(20));
    return (inProcess ? b.inProcess(network) : b).build();
  }

  private static ForwardResult zeros(ForwardRequest request) {
    return ForwardResult.success(TransportContract.STANDARD.zeros(request.input()));
  }

  @ParameterizedTest(name = "in process: {0}")
  @ValueSource(booleans = {false, true})
  void aPeerThatThrowsAnErrorIsAnInternalErrorAndFreesItsSlot(boolean inProcess)
      throws Exception {
    AtomicInteger calls = new AtomicInteger();
    Peer peer = request -> {
      if (calls.incrementAndGet() == 1) {
        throw new AssertionError("invariant broken");
      }
      return CompletableFuture.completedFuture(zeros(request));
    };
    try (PeerServer server = start(PeerServer.newBuilder(peer).maxConcurrentCalls(1), inProcess);
        PeerClient client = client(inProcess)) {
      Peer remote = client.connect(server.endpoint());
      ForwardResult failed = remote.forward(REQUEST).get(20, TimeUnit.SECONDS);
      assertEquals(Status.INTERNAL_ERROR, failed.status(), failed.toString());
      assertEquals("the peer failed: AssertionError: invariant broken", failed.message());
      assertEquals(0, server.activeCalls(), "the slot is free again");
      ForwardResult next = remote.forward(REQUEST, Duration.ofSeconds(5)).get(20, TimeUnit.SECONDS);
      assertEquals(Status.SUCCESS, next.status(), next.toString());
    }
  }

  /** Before the fix a queued call waited for a slot to free, however long that took. */
  @ParameterizedTest(name = "in process: {0}")
  @ValueSource(booleans = {false, true})
  void aQueuedCallIsTurnedAwayAtMaxQueueWaitWhileEverySlotStaysBusy(boolean inProcess)
      throws Exception {
    CountDownLatch entered = new CountDownLatch(1);
    CompletableFuture<ForwardResult> hold = new CompletableFuture<>();
    Peer peer = request -> {
      entered.countDown();
      return hold;
    };
    try (PeerServer server = start(PeerServer.newBuilder(peer).maxConcurrentCalls(1)
            .maxQueueWait(Duration.ofMillis(200)), inProcess);
        PeerClient client = client(inProcess)) {
      Peer remote = client.connect(server.endpoint());
      CompletableFuture<ForwardResult> first = remote.forward(REQUEST, Duration.ofSeconds(20));
      assertTrue(entered.await(10, TimeUnit.SECONDS));
      ForwardResult queued = remote.forward(REQUEST, Duration.ofSeconds(5))
          .get(20, TimeUnit.SECONDS);
      assertEquals(Status.BACKOFF, queued.status(), queued.toString());
      assertEquals("waited longer than 200 ms for a free slot", queued.message());
      assertEquals(0, server.queuedCalls());
      assertEquals(1, server.activeCalls(), "the first call still holds its slot");
      hold.complete(ForwardResult.success(TransportContract.STANDARD.zeros(REQUEST.input())));
      assertEquals(Status.SUCCESS, first.get(20, TimeUnit.SECONDS).status());
    }
  }

  /**
   * What close does to a call already in the peer, as its javadoc says: over HTTP the connection
   * goes and the caller hears UNAVAILABLE at once; in process there is no connection to cut, and
   * the call runs on to the peer's answer.
   */
  @ParameterizedTest(name = "in process: {0}")
  @ValueSource(booleans = {false, true})
  void closeCutsOffACallInFlightOverHttpButNotInProcess(boolean inProcess) throws Exception {
    CountDownLatch entered = new CountDownLatch(1);
    CompletableFuture<ForwardResult> hold = new CompletableFuture<>();
    Peer peer = request -> {
      entered.countDown();
      return hold;
    };
    PeerServer server = start(PeerServer.newBuilder(peer), inProcess);
    try (PeerClient client = client(inProcess)) {
      CompletableFuture<ForwardResult> call =
          client.connect(server.endpoint()).forward(REQUEST, Duration.ofSeconds(20));
      assertTrue(entered.await(10, TimeUnit.SECONDS));
      server.close();
      if (inProcess) {
        assertFalse(call.isDone(), "in process, the call waits for the peer");
        hold.complete(zeros(REQUEST));
        assertEquals(Status.SUCCESS, call.get(20, TimeUnit.SECONDS).status());
      } else {
        ForwardResult r = call.get(10, TimeUnit.SECONDS);
        assertEquals(Status.UNAVAILABLE, r.status(), r.toString());
        hold.complete(zeros(REQUEST));
      }
    }
  }

  /**
   * A call whose stake was being looked up as the server closed reached admission after close
   * had turned the waiting calls away: before the fix it was served after close returned.
   */
  @Test
  void aCallThatReachesAdmissionAfterCloseIsUnavailableAndNeverServed() throws Exception {
    CountDownLatch weighing = new CountDownLatch(1);
    CountDownLatch closed = new CountDownLatch(1);
    StakeSource stakes = id -> {
      weighing.countDown();
      try {
        closed.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return 1;
    };
    AtomicInteger served = new AtomicInteger();
    Peer peer = request -> {
      served.incrementAndGet();
      return CompletableFuture.completedFuture(zeros(request));
    };
    PeerServer server = start(PeerServer.newBuilder(peer).stakeSource(stakes), true);
    try (PeerClient client = client(true)) {
      Peer remote = client.connect(server.endpoint());
      CompletableFuture<ForwardResult> call =
          CompletableFuture.supplyAsync(() -> remote.forward(REQUEST).join());
      assertTrue(weighing.await(10, TimeUnit.SECONDS));
      server.close();
      closed.countDown();
      ForwardResult r = call.get(20, TimeUnit.SECONDS);
      assertEquals(Status.UNAVAILABLE, r.status(), r.toString());
      assertEquals(0, served.get(), "the peer was called after close returned");
      assertEquals(0, server.activeCalls());
      assertEquals(0, server.queuedCalls());
    }
  }

  /**
   * In process the thread that frees a slot runs the queued call it passes to; before the fix it
   * did so before it answered its own caller, who waited for that call's peer too.
   */
  @Test
  void anInProcessAnswerDoesNotWaitForTheQueuedCallItsSlotPassesTo() throws Exception {
    CountDownLatch firstEntered = new CountDownLatch(1);
    CountDownLatch secondEntered = new CountDownLatch(1);
    CountDownLatch secondMayAnswer = new CountDownLatch(1);
    CompletableFuture<ForwardResult> holdFirst = new CompletableFuture<>();
    AtomicInteger calls = new AtomicInteger();
    Peer peer = request -> {
      if (calls.incrementAndGet() == 1) {
        firstEntered.countDown();
        return holdFirst;
      }
      secondEntered.countDown();
      try {
        secondMayAnswer.await(); // a model running on the calling thread
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return CompletableFuture.completedFuture(zeros(request));
    };
    try (PeerServer server = start(PeerServer.newBuilder(peer).maxConcurrentCalls(1), true);
        PeerClient client = client(true)) {
      Peer remote = client.connect(server.endpoint());
      CompletableFuture<ForwardResult> first = remote.forward(REQUEST);
      assertTrue(firstEntered.await(10, TimeUnit.SECONDS));
      CompletableFuture<ForwardResult> second = remote.forward(REQUEST);
      assertEquals(1, server.queuedCalls());
      try {
        new Thread(() -> holdFirst.complete(zeros(REQUEST)), "first-peer").start();
        assertEquals(Status.SUCCESS, first.get(5, TimeUnit.SECONDS).status());
        assertTrue(secondEntered.await(10, TimeUnit.SECONDS));
        assertEquals(1, server.activeCalls(), "the second call has the slot");
      } finally {
        secondMayAnswer.countDown();
      }
      assertEquals(Status.SUCCESS, second.get(10, TimeUnit.SECONDS).status());
    }
  }

  /**
   * A caller that sends its headers and a little of its body, then a byte now and then, held a
   * slot for as long as it liked before the fix (Jetty's idle timeout counts from the last byte):
   * as many such callers as slots stopped the server.
   */
  @Test
  void aBodyThatDoesNotArriveWithinTheLongestDeadlineIsTimedOutAndFreesItsSlot()
      throws Exception {
    try (PeerServer server = start(PeerServer.newBuilder(BuiltinPeers.deterministic(8))
            .maxConcurrentCalls(1).defaultTimeout(Duration.ofMillis(500))
            .maxTimeout(Duration.ofMillis(500)), false);
        Socket socket = new Socket("127.0.0.1", server.port())) {
      OutputStream out = socket.getOutputStream();
      out.write(("POST /v1/forward HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf"
          + "\r\nContent-Length: 1000\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write(new byte[10]);
      out.flush();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (server.activeCalls() == 0 && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      assertEquals(1, server.activeCalls(), "the slow caller holds the only slot");
      socket.setSoTimeout(10_000);
      // A byte every 100 ms keeps Jetty's idle timeout away; the answer must come all the same.
      ByteArrayOutputStream answer = new ByteArrayOutputStream();
      InputStream in = socket.getInputStream();
      Thread trickle = new Thread(() -> {
        try {
          for (int i = 0; i < 100; i++) {
            Thread.sleep(100);
            out.write(0);
            out.flush();
          }
        } catch (IOException | InterruptedException e) {
          // the server answered and closed: the trickle is over
        }
      }, "trickle");
      trickle.start();
      byte[] buffer = new byte[4096];
      int n = in.read(buffer);
      trickle.interrupt();
      assertTrue(n > 0, "an answer");
      answer.write(buffer, 0, n);
      String head = answer.toString(StandardCharsets.ISO_8859_1);
      assertTrue(head.startsWith("HTTP/1.1 504"), head);
      assertTrue(head.contains("Bittensor-Status: " + Status.TIMEOUT.code()), head);
      assertEquals(0, server.activeCalls(), "the slot is free again");
      try (PeerClient client = client(false)) {
        ForwardResult r = client.connect(server.endpoint()).forward(REQUEST)
            .get(20, TimeUnit.SECONDS);
        assertEquals(Status.SUCCESS, r.status(), r.toString());
      }
    }
  }

  /** The longest Duration, for "no limit": before the fix start() threw ArithmeticException. */
  @ParameterizedTest(name = "in process: {0}")
  @ValueSource(booleans = {false, true})
  void theLongestDurationsServeAsNoLimit(boolean inProcess) throws Exception {
    Duration forever = Duration.ofSeconds(Long.MAX_VALUE, 999_999_999);
    try (PeerServer server = start(PeerServer.newBuilder(BuiltinPeers.deterministic(8))
            .maxQueueWait(forever).defaultTimeout(forever).maxTimeout(forever)
            .staleWindow(forever), inProcess);
        PeerClient client = client(inProcess)) {
      ForwardResult r = client.connect(server.endpoint()).forward(REQUEST)
          .get(20, TimeUnit.SECONDS);
      assertEquals(Status.SUCCESS, r.status(), r.toString());
    }
  }

  /**
   * A caller that declares a body of 1 GiB and sends 10 bytes made the server allocate the whole
   * GiB at admission: three such callers ran a 2 GiB heap out of memory without sending more.
   */
  @Test
  void aDeclaredLengthIsNotAllocatedBeforeItsBytesCome() throws Exception {
    try (PeerServer server = start(PeerServer.newBuilder(BuiltinPeers.deterministic(8))
        .maxConcurrentCalls(4).maxPayloadBytes(1L << 30), false)) {
      java.util.List<Socket> slow = new java.util.ArrayList<>();
      try {
        for (int i = 0; i < 3; i++) {
          Socket socket = new Socket("127.0.0.1", server.port());
          slow.add(socket);
          OutputStream out = socket.getOutputStream();
          out.write(("POST /v1/forward HTTP/1.1\r\nHost: x\r\nContent-Type: "
              + "application/x-protobuf\r\nContent-Length: " + (1L << 30) + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
          out.write(new byte[10]);
          out.flush();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (server.activeCalls() < 3 && System.nanoTime() < deadline) {
          Thread.sleep(5);
        }
        for (Socket socket : slow) {
          socket.setSoTimeout(300);
          byte[] buffer = new byte[4096];
          try {
            int n = socket.getInputStream().read(buffer);
            throw new AssertionError("a caller whose body is on its way was answered: "
                + (n < 0 ? "closed" : new String(buffer, 0, n, StandardCharsets.ISO_8859_1)));
          } catch (java.net.SocketTimeoutException stillWaiting) {
            // its body is awaited, as it should be
          }
        }
        assertEquals(3, server.activeCalls());
        try (PeerClient client = client(false)) {
          ForwardResult r = client.connect(server.endpoint()).forward(REQUEST)
              .get(20, TimeUnit.SECONDS);
          assertEquals(Status.SUCCESS, r.status(), r.toString());
        }
      } finally {
        for (Socket socket : slow) {
          socket.close();
        }
      }
    }
  }

  /**
   * A listener that throws an Error (a metrics library missing a class) is ignored as one that
   * throws an exception is: before the fix the caller over HTTP never got its answer, and in
   * process got the Error.
   */
  @ParameterizedTest(name = "in process: {0}")
  @ValueSource(booleans = {false, true})
  void aListenerOrFactoryThatThrowsAnErrorLeavesCallsAnswered(boolean inProcess)
      throws Exception {
    CallListener listener = call -> {
      throw new NoClassDefFoundError("io/micrometer/core/instrument/Timer");
    };
    CallListener.Factory factory = start -> {
      throw new NoClassDefFoundError("io/opentelemetry/api/trace/Span");
    };
    for (PeerServer.Builder b : java.util.List.of(
        PeerServer.newBuilder(BuiltinPeers.deterministic(8)).callListener(listener),
        PeerServer.newBuilder(BuiltinPeers.deterministic(8)).callListenerFactory(factory))) {
      try (PeerServer server = start(b, inProcess); PeerClient client = client(inProcess)) {
        ForwardResult r = client.connect(server.endpoint()).forward(REQUEST, Duration.ofSeconds(5))
            .get(20, TimeUnit.SECONDS);
        assertEquals(Status.SUCCESS, r.status(), r.toString());
      }
    }
  }

  /** Before the fix an Error from the stake source was a bare HTTP 500, or thrown in process. */
  @ParameterizedTest(name = "in process: {0}")
  @ValueSource(booleans = {false, true})
  void aStakeSourceThatThrowsAnErrorCountsAsStakeZero(boolean inProcess) throws Exception {
    StakeSource stakes = id -> {
      throw new NoClassDefFoundError("io/bittensor/ledger/Metagraph");
    };
    try (PeerServer server = start(PeerServer.newBuilder(BuiltinPeers.deterministic(8))
            .stakeSource(stakes), inProcess);
        PeerClient client = client(inProcess)) {
      ForwardResult r = client.connect(server.endpoint()).forward(REQUEST, Duration.ofSeconds(5))
          .get(20, TimeUnit.SECONDS);
      assertEquals(Status.SUCCESS, r.status(), r.toString());
    }
  }

  /**
   * A server closed on one of its own threads (a peer, or a listener, that shuts it down) does
   * not wait out the 5 s bound for Jetty's stop, which waits for that very thread.
   */
  @Test
  void aServerClosedOnItsOwnThreadClosesAtOnce() throws Exception {
    PeerServer[] server = new PeerServer[1];
    long[] closeMillis = {-1};
    CountDownLatch closed = new CountDownLatch(1);
    Peer peer = request -> {
      long t0 = System.nanoTime();
      server[0].close();
      closeMillis[0] = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      closed.countDown();
      return CompletableFuture.completedFuture(zeros(request));
    };
    server[0] = start(PeerServer.newBuilder(peer), false);
    try (PeerClient client = client(false)) {
      // Answered or cut off as the server closes: either way the call ends.
      client.connect(server[0].endpoint()).forward(REQUEST).get(20, TimeUnit.SECONDS);
      assertTrue(closed.await(20, TimeUnit.SECONDS), "close never returned");
      assertTrue(closeMillis[0] < 4_000, "close took " + closeMillis[0] + " ms");
      server[0].awaitClose();
    }
  }

  /** A connect timeout too long to matter is no limit to speak of, not OkHttp's refusal. */
  @Test
  void aClientTakesAConnectTimeoutTooLongToMatter() throws Exception {
    try (PeerServer server = start(PeerServer.newBuilder(BuiltinPeers.deterministic(8)), false);
        PeerClient client = PeerClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(Long.MAX_VALUE)).build()) {
      assertEquals(Status.SUCCESS, client.connect(server.endpoint()).forward(REQUEST)
          .get(10, TimeUnit.SECONDS).status());
    }
  }

  /** Before the fix Jetty's -2 for a closed connector showed through. */
  @Test
  void thePortStaysTheOneServedAfterClose() throws Exception {
    PeerServer server = start(PeerServer.newBuilder(BuiltinPeers.deterministic(8)), false);
    int port = server.port();
    assertEquals(server.endpoint().getPort(), port);
    server.close();
    assertEquals(port, server.port());
    PeerServer inProcess = start(PeerServer.newBuilder(BuiltinPeers.deterministic(8)), true);
    inProcess.close();
    assertEquals(-1, inProcess.port());
  }

  /**
   * A server bound to an IPv6 address is reached at it: the endpoint puts the address in
   * brackets, as a URI must, or its host is null and no client can connect.
   */
  @Test
  void aServerOnAnIpv6AddressHasAnEndpointClientsReach() throws Exception {
    try (PeerServer server = PeerServer.newBuilder(BuiltinPeers.deterministic(8)).host("::1")
            .port(0).allowAnonymous(true).start();
        PeerClient client = PeerClient.newBuilder().build()) {
      assertEquals("http://[::1]:" + server.port(), server.endpoint().toString());
      assertEquals("[::1]", server.endpoint().getHost());
      ForwardResult r = client.connect(server.endpoint()).forwardAndWait(new ForwardRequest(
          Modality.TENSOR, Tensor.zeros(DType.FLOAT32, 1, 1, 2)), Duration.ofSeconds(10));
      assertEquals(Status.SUCCESS, r.status(), r.toString());
    }
  }

  /** Jetty's "Failed to bind to /127.0.0.1:p" alone did not say why: taken, or no such host. */
  @Test
  void aPortThatCannotBeBoundSaysWhy() throws Exception {
    try (ServerSocket taken = new ServerSocket()) {
      taken.bind(new InetSocketAddress("127.0.0.1", 0));
      IOException e = assertThrows(IOException.class, () -> PeerServer.newBuilder(
          BuiltinPeers.deterministic(8)).host("127.0.0.1").port(taken.getLocalPort()).start());
      assertTrue(e.getMessage().startsWith("cannot serve peers on 127.0.0.1:"
          + taken.getLocalPort() + ": "), e.getMessage());
      assertTrue(e.getMessage().contains("Address already in use"), e.getMessage());
    }
    // .invalid never resolves (RFC 2606); the cause, UnresolvedAddressException, has no message.
    IOException e = assertThrows(IOException.class, () -> PeerServer.newBuilder(
        BuiltinPeers.deterministic(8)).host("nosuchhost.invalid").port(0).start());
    assertTrue(e.getMessage().startsWith("cannot serve peers on nosuchhost.invalid:0: ")
        && e.getMessage().endsWith(" (unknown host)"), e.getMessage());
  }

  /** Before the fix an IPv6 host was printed bare: {@code ::1:port} reads as host {@code ::1:p}. */
  @Test
  void aPortTakenAtAnIpv6AddressIsNamedInBrackets() throws Exception {
    try (ServerSocket taken = new ServerSocket()) {
      try {
        taken.bind(new InetSocketAddress("::1", 0));
      } catch (IOException e) {
        Assumptions.assumeTrue(false, "no IPv6 loopback here: " + e);
      }
      IOException e = assertThrows(IOException.class, () -> PeerServer.newBuilder(
          BuiltinPeers.deterministic(8)).host("::1").port(taken.getLocalPort()).start());
      assertTrue(e.getMessage().startsWith("cannot serve peers on [::1]:" + taken.getLocalPort()
          + ": "), e.getMessage());
    }
  }

  /**
   * HTTP/2 lets a client open as many streams at once as the server's SETTINGS say: every call
   * that may run or wait, at least 128. Near Integer.MAX_VALUE the sum overflowed, and the
   * server allowed 128 streams (or a negative count) for limits meant to be all but unbounded.
   */
  @ParameterizedTest(name = "{0} running, {1} queued: {2} streams")
  @CsvSource({"64, 256, 320", "1, 0, 128", "2147483647, 1, 2147483647",
      "2147483547, 256, 2147483647", "2147483647, 2147483647, 2147483647"})
  void theStreamsAClientMayOpenAreEveryCallThatMayRunOrWaitWithoutOverflow(int running,
      int queued, long streams) throws Exception {
    try (PeerServer server = PeerServer.newBuilder(BuiltinPeers.deterministic(8))
        .maxConcurrentCalls(running).maxQueuedCalls(queued).host("127.0.0.1").port(0).start();
        Socket socket = new Socket("127.0.0.1", server.port())) {
      socket.setSoTimeout(10_000);
      assertEquals(streams, advertisedMaxConcurrentStreams(socket));
    }
  }

  /**
   * Opens HTTP/2 in clear text (prior knowledge) and reads the server's first SETTINGS frame
   * for SETTINGS_MAX_CONCURRENT_STREAMS (RFC 9113, 6.5.2): unsigned, -1 when it is not sent.
   */
  private static long advertisedMaxConcurrentStreams(Socket socket) throws IOException {
    OutputStream out = socket.getOutputStream();
    out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    out.write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0}); // our SETTINGS: empty
    out.flush();
    DataInputStream in = new DataInputStream(socket.getInputStream());
    while (true) {
      int length = in.readUnsignedShort() << 8 | in.readUnsignedByte();
      int type = in.readUnsignedByte();
      int flags = in.readUnsignedByte();
      in.readInt(); // the stream
      byte[] payload = new byte[length];
      in.readFully(payload);
      if (type != 4 || (flags & 1) != 0) {
        continue; // not SETTINGS, or the ACK of ours
      }
      DataInputStream settings = new DataInputStream(new ByteArrayInputStream(payload));
      long found = -1;
      for (int i = 0; i < length / 6; i++) {
        int id = settings.readUnsignedShort();
        long value = settings.readInt() & 0xFFFF_FFFFL;
        if (id == 3) {
          found = value;
        }
      }
      return found;
    }
  }
}
