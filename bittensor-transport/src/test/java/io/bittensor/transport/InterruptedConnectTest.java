package io.bittensor.transport;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.BlockPolicy;
import io.bittensor.core.DType;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Genesis;
import io.bittensor.core.Keypair;
import io.bittensor.core.LedgerException;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.core.TensorStandard;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** A blocking call whose caller is interrupted while it waits for a connection. */
@ExtendWith(LeakCheck.class)
@Timeout(60)
class InterruptedConnectTest {
  /**
   * OkHttp 5 let an undeclared InterruptedException out of the call while it waited for its
   * connection: the caller's thread died with it (a contract test, interrupting a call under
   * load, then waited 10 s for an answer that never came).
   */
  @Test
  void aCallerInterruptedWhileConnectingGetsCancelledAndKeepsItsFlag() throws Exception {
    List<Socket> queued = new ArrayList<>();
    try (ServerSocket full = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        PeerClient client = PeerClient.newBuilder().standard(TensorStandard.of(2))
            .connectTimeout(Duration.ofSeconds(30)).build()) {
      fillAcceptQueue(full, queued);
      Peer remote = client.connect(URI.create("http://127.0.0.1:" + full.getLocalPort()));
      ForwardRequest req = new ForwardRequest(Modality.TENSOR, Tensor.zeros(DType.FLOAT32, 1,
          1, 2));
      CompletableFuture<ForwardResult> result = new CompletableFuture<>();
      CompletableFuture<Boolean> flagAfter = new CompletableFuture<>();
      Thread caller = new Thread(() -> {
        try {
          result.complete(remote.forwardAndWait(req, Duration.ofSeconds(30)));
          flagAfter.complete(Thread.currentThread().isInterrupted());
        } catch (Throwable t) {
          result.completeExceptionally(t);
        }
      }, "test-caller");
      caller.start();
      awaitWaitingInOkHttp(caller);
      caller.interrupt();
      ForwardResult r = assertDoesNotThrow(() -> result.get(10, TimeUnit.SECONDS),
          "the call answers");
      assertEquals(Status.CANCELLED, r.status(), r.toString());
      assertTrue(r.toString().contains("interrupted"), r.toString());
      assertTrue(flagAfter.get(10, TimeUnit.SECONDS), "the caller's interrupt flag is set again");
    } finally {
      for (Socket s : queued) {
        s.close();
      }
    }
  }

  /**
   * The same in {@link RemoteLedger}: the undeclared InterruptedException left its methods,
   * which declare only LedgerException, and a client of several servers would have moved on.
   */
  @Test
  void aRemoteLedgerCallerInterruptedWhileConnectingGetsALedgerExceptionAndKeepsItsFlag()
      throws Exception {
    List<Socket> queued = new ArrayList<>();
    try (LocalLedger local = LocalLedger.builder().genesis(Genesis.builder().build())
            .blocks(BlockPolicy.manual()).openInMemory();
        LedgerServer server = LedgerServer.builder().ledger(local).host("127.0.0.1").port(0)
            .start();
        CuttableProxy proxy = new CuttableProxy(server.port());
        RemoteLedger remote = RemoteLedger.connect(proxy.uri())) {
      proxy.cut();
      proxy.closePort();
      try (ServerSocket full = new ServerSocket()) {
        full.setReuseAddress(true);
        full.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(),
            proxy.uri().getPort()), 1);
        fillAcceptQueue(full, queued);
        CompletableFuture<Throwable> thrown = new CompletableFuture<>();
        CompletableFuture<Boolean> flagAfter = new CompletableFuture<>();
        Thread caller = new Thread(() -> {
          try {
            remote.account(Keypair.generate().id());
            thrown.complete(null);
          } catch (Throwable t) {
            thrown.complete(t);
          }
          flagAfter.complete(Thread.currentThread().isInterrupted());
        }, "test-caller");
        caller.start();
        awaitWaitingInOkHttp(caller);
        caller.interrupt();
        Throwable t = thrown.get(10, TimeUnit.SECONDS);
        LedgerException e = assertInstanceOf(LedgerException.class, t, String.valueOf(t));
        assertTrue(e.getMessage().startsWith("interrupted while asking the ledger at "
            + proxy.uri() + " (account)"), e.getMessage());
        assertTrue(flagAfter.get(10, TimeUnit.SECONDS), "the caller's interrupt flag is set again");
      }
    } finally {
      for (Socket s : queued) {
        s.close();
      }
    }
  }

  /** Connects until the listener's accept queue is full: the next connection then hangs. */
  private static void fillAcceptQueue(ServerSocket full, List<Socket> queued) throws IOException {
    for (int i = 0; i < 16; i++) {
      Socket s = new Socket();
      queued.add(s);
      try {
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), full.getLocalPort()),
            500);
      } catch (SocketTimeoutException e) {
        return; // the kernel drops the SYNs of connections it has no room for
      }
    }
    throw new AssertionError("16 connections queued and none hangs: no full queue to test with");
  }

  /** Waits until {@code caller} waits, with a deadline, inside OkHttp: for its connection. */
  private static void awaitWaitingInOkHttp(Thread caller) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (caller.getState() != Thread.State.TIMED_WAITING || Arrays.stream(caller
        .getStackTrace()).noneMatch(f -> f.getClassName().startsWith("okhttp3."))) {
      assertTrue(System.nanoTime() < deadline, "the caller never waited for its connection: "
          + caller.getState() + " " + Arrays.toString(caller.getStackTrace()));
      Thread.sleep(5);
    }
  }
}
