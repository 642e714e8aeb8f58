package io.bittensor.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.DType;
import io.bittensor.core.FanOut;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.QueryResult;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** Fan-out and failures over real sockets: slow, silent, dead and dying peers. */
@ExtendWith(LeakCheck.class)
@Timeout(60)
class FanOutOverHttpTest {
  static final ForwardRequest REQUEST = new ForwardRequest(Modality.TENSOR,
      Tensor.zeros(DType.FLOAT32, 2, 4, 6));

  @Test
  void sixteenPeersCostAboutTheSlowestAndFailuresCountAsZeros() throws Exception {
    List<PeerServer> servers = new ArrayList<>();
    try (PeerClient client = PeerClient.newBuilder().keypair(TransportContract.ALICE)
        .standard(TransportContract.STANDARD).build()) {
      List<Peer> peers = new ArrayList<>();
      for (int i = 0; i < 14; i++) {
        PeerServer s = PeerServer.newBuilder(TestPeers.delayed(50L * i, TransportContract.OUTPUT_DIM))
            .host("127.0.0.1").port(0).start();
        servers.add(s);
        peers.add(client.connect(s.endpoint()));
      }
      PeerServer silent = PeerServer.newBuilder(TestPeers.silent()).host("127.0.0.1").port(0)
          .start();
      servers.add(silent);
      peers.add(client.connect(silent.endpoint()));
      peers.add(client.connect(deadEndpoint()));
      // Warm the connections so the timing measures the fan-out, not TCP and JIT.
      FanOut fanOut = FanOut.of(TransportContract.STANDARD);
      fanOut.queryAndWait(peers.subList(0, 14), REQUEST, Duration.ofSeconds(10));

      long t0 = System.nanoTime();
      List<QueryResult> rs = fanOut.queryAndWait(peers, REQUEST, Duration.ofMillis(1_000));
      long ms = (System.nanoTime() - t0) / 1_000_000;

      for (int i = 0; i < 14; i++) {
        assertEquals(Status.SUCCESS, rs.get(i).status(), "peer " + i + ": " + rs.get(i).result());
        assertTrue(rs.get(i).latency().toMillis() >= 50L * i, rs.get(i).latency().toString());
      }
      assertEquals(Status.TIMEOUT, rs.get(14).status(), rs.get(14).result().toString());
      assertEquals(Status.UNAVAILABLE, rs.get(15).status(), rs.get(15).result().toString());
      Tensor zeros = TransportContract.STANDARD.zeros(REQUEST.input());
      assertEquals(zeros, rs.get(14).output());
      assertEquals(zeros, rs.get(15).output());
      // The delays sum to 4.55 s, the slowest answering peer takes 650 ms, the timeout is 1 s:
      // in parallel the query costs about the timeout (with slack for a loaded machine).
      assertTrue(ms >= 980 && ms < 3_000, "the fan-out took " + ms + " ms");
    } finally {
      servers.forEach(PeerServer::close);
    }
  }

  @Test
  void aPeerThatDiesMidRunTurnsUnavailableAndRecovers() throws Exception {
    PeerServer server = PeerServer.newBuilder(BuiltinPeers.deterministic(8))
        .host("127.0.0.1").port(0).start();
    int port = server.port();
    try (PeerClient client = PeerClient.newBuilder().keypair(TransportContract.ALICE)
        .standard(TransportContract.STANDARD).timeout(Duration.ofSeconds(15)).build()) {
      Peer peer = client.connect(server.endpoint());
      for (int i = 0; i < 20; i++) {
        assertEquals(Status.SUCCESS, peer.forward(REQUEST).join().status());
      }
      List<CompletableFuture<ForwardResult>> inFlight = new ArrayList<>();
      for (int i = 0; i < 100; i++) {
        inFlight.add(peer.forward(REQUEST));
      }
      server.close(); // dies with calls in flight
      for (CompletableFuture<ForwardResult> f : inFlight) {
        ForwardResult r = f.join(); // completes, never throws
        Status s = r.status();
        assertTrue(s == Status.SUCCESS || s == Status.UNAVAILABLE,
            "a call in flight when the peer died: " + r);
      }
      ForwardResult dead = peer.forward(REQUEST).join();
      assertEquals(Status.UNAVAILABLE, dead.status(), dead.toString());
      // The peer comes back on the same port; the same client reaches it again.
      try (PeerServer again = PeerServer.newBuilder(BuiltinPeers.deterministic(8))
          .host("127.0.0.1").port(port).start()) {
        assertEquals(Status.SUCCESS, peer.forward(REQUEST).join().status());
      }
    } finally {
      server.close();
    }
  }

  /** An address where nothing listens: a port bound and released. */
  private static URI deadEndpoint() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return URI.create("http://127.0.0.1:" + s.getLocalPort());
    }
  }
}
