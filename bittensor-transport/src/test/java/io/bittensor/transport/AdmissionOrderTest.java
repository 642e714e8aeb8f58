package io.bittensor.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Keypair;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.PeerId;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** Under load a real server serves waiting callers by stake, anonymous ones last. */
@ExtendWith(LeakCheck.class)
@Timeout(60)
class AdmissionOrderTest {
  @Test
  void waitingCallersAreServedByStakeAndAnonymousLast() throws Exception {
    CountDownLatch firstEntered = new CountDownLatch(1);
    CompletableFuture<Void> gate = new CompletableFuture<>();
    List<Long> order = new CopyOnWriteArrayList<>();
    Peer peer = request -> {
      long who = request.input().longAt(0);
      order.add(who);
      firstEntered.countDown();
      CompletableFuture<ForwardResult> answer = new CompletableFuture<>();
      gate.thenRun(() -> answer.complete(ForwardResult.success(
          TransportContract.STANDARD.zeros(request.input()))));
      return answer;
    };
    double[] stakes = {0, 3, 7, 1, 9};
    Map<PeerId, Double> stakeOf = new HashMap<>();
    List<Keypair> keys = new ArrayList<>();
    for (int i = 0; i < stakes.length; i++) {
      Keypair k = TransportContract.seeded(10 + i);
      keys.add(k);
      stakeOf.put(k.id(), stakes[i]);
    }
    List<PeerClient> clients = new ArrayList<>();
    try (PeerServer server = PeerServer.newBuilder(peer).host("127.0.0.1").port(0)
        .standard(TransportContract.STANDARD).allowAnonymous(true)
        .maxConcurrentCalls(1).maxQueuedCalls(16)
        .stakeSource(id -> stakeOf.getOrDefault(id, 0.0)).start()) {
      List<CompletableFuture<ForwardResult>> calls = new ArrayList<>();
      // Caller 100 (stake 0) takes the only slot and holds it.
      calls.add(call(clients, server, keys.get(0), 100));
      assertTrue(firstEntered.await(10, TimeUnit.SECONDS));
      // While it runs, the others queue: anonymous first, then by rising and falling stake.
      calls.add(call(clients, server, null, 999));
      for (int i = 1; i < stakes.length; i++) {
        calls.add(call(clients, server, keys.get(i), 100 + i));
      }
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (server.queuedCalls() < stakes.length && System.nanoTime() < until) {
        Thread.sleep(5);
      }
      assertEquals(stakes.length, server.queuedCalls(), "all callers are waiting");
      gate.complete(null);
      for (CompletableFuture<ForwardResult> c : calls) {
        assertEquals(Status.SUCCESS, c.get(20, TimeUnit.SECONDS).status());
      }
      // Stakes 9, 7, 3, 1 then the anonymous caller.
      assertEquals(List.of(100L, 104L, 102L, 101L, 103L, 999L), order);
    } finally {
      clients.forEach(PeerClient::close);
    }
  }

  private static CompletableFuture<ForwardResult> call(List<PeerClient> clients,
      PeerServer server, Keypair key, long who) {
    PeerClient.Builder b = PeerClient.newBuilder().standard(TransportContract.STANDARD)
        .timeout(Duration.ofSeconds(30));
    if (key != null) {
      b.keypair(key);
    }
    PeerClient c = b.build();
    clients.add(c);
    return c.connect(server.endpoint()).forward(new ForwardRequest(Modality.TEXT,
        Tensor.ofLongs(new long[] {who, 0}, 1, 2)));
  }
}
