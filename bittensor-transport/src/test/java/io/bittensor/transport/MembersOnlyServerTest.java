package io.bittensor.transport;

import static io.bittensor.core.testing.LedgerFixtures.endpoint;
import static io.bittensor.core.testing.LedgerFixtures.genesis;
import static io.bittensor.core.testing.LedgerFixtures.key;
import static io.bittensor.core.testing.LedgerFixtures.params;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.bittensor.core.BlockPolicy;
import io.bittensor.core.DType;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.LedgerMembers;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.core.Transaction;
import io.bittensor.core.testing.LedgerFixtures;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A peer server that serves the market's members only, as {@link PeerServer.Builder#callers}
 * shows: its predicate a {@link LedgerMembers} following a ledger server through a {@link
 * RemoteLedger}. A key is served from the block that registers it, as the block's event arrives.
 */
@Timeout(30)
class MembersOnlyServerTest {
  @Test
  void aKeyIsServedFromTheBlockThatRegistersIt() throws Exception {
    ForwardRequest request =
        new ForwardRequest(Modality.TENSOR, Tensor.zeros(DType.FLOAT32, 1, 2, 3));
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis(params(8), 2))
            .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual()).openInMemory();
        LedgerServer ledgerServer = LedgerServer.builder().ledger(ledger).host("127.0.0.1")
            .port(0).start();
        RemoteLedger remote = RemoteLedger.builder().keypair(key(1)).connect(ledgerServer.uri());
        LedgerMembers members = LedgerMembers.follow(remote);
        PeerServer server = PeerServer.newBuilder(BuiltinPeers.deterministic(8))
            .host("127.0.0.1").port(0).callers(members).start();
        PeerClient client = PeerClient.newBuilder().keypair(key(0)).build()) {
      Peer peer = client.connect(server.endpoint());
      ForwardResult stranger = peer.forwardAndWait(request, Duration.ofSeconds(5));
      assertEquals(Status.UNAUTHENTICATED, stranger.status(), stranger.toString());
      var joined = remote.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT));
      ledger.produceBlock();
      long block = joined.get(10, TimeUnit.SECONDS).block();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (members.metagraph().block().number() < block && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      assertEquals(block, members.metagraph().block().number(), "the block's event arrived");
      assertEquals(Status.SUCCESS, peer.forwardAndWait(request, Duration.ofSeconds(5)).status());
    }
  }
}
