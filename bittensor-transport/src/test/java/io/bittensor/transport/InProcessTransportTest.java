package io.bittensor.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.bittensor.core.DType;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.Modality;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.transport.internal.Serving;
import io.bittensor.transport.internal.wire.Response;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The transport contract in one JVM. */
class InProcessTransportTest extends TransportContract {
  private final InProcessNetwork network = new InProcessNetwork();
  private final AtomicInteger names = new AtomicInteger();

  @Override
  PeerServer start(PeerServer.Builder b) {
    return b.startInProcess(network, "peer-" + names.incrementAndGet());
  }

  @Override
  PeerClient.Builder clientBuilder() {
    return PeerClient.newBuilder().inProcess(network);
  }

  @Override
  Response sendRaw(PeerServer server, io.bittensor.transport.internal.wire.ForwardRequest msg) {
    Serving s = network.lookup(server.endpoint().getAuthority());
    return s.admitAndServe(null, msg, m -> s.core().forward(m, null)).join();
  }

  @Test
  void namesAreUniqueOnANetworkAndFreedOnClose() throws IOException {
    PeerServer a = PeerServer.newBuilder(BuiltinPeers.echo()).startInProcess(network, "a");
    assertThrows(IllegalArgumentException.class,
        () -> PeerServer.newBuilder(BuiltinPeers.echo()).startInProcess(network, "a"));
    a.close();
    PeerServer.newBuilder(BuiltinPeers.echo()).startInProcess(network, "a").close();
    assertEquals(java.util.Set.of(), network.names());
  }

  @Test
  void anUnknownNameIsUnavailable() {
    try (PeerClient c = clientBuilder().keypair(ALICE).build()) {
      var r = c.connect(inproc("nobody")).forward(new ForwardRequest(Modality.TENSOR,
          Tensor.zeros(DType.FLOAT32, 1, 1, 2))).join();
      assertEquals(Status.UNAVAILABLE, r.status(), r.toString());
    }
  }
}
