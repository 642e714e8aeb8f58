package io.bittensor.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.bittensor.core.DType;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A call that waits in the client (all {@code maxConcurrentCalls} busy) still ends at its own
 * deadline, as {@link Peer#forward(ForwardRequest, Duration)} promises, not when a slot frees.
 */
@ExtendWith(LeakCheck.class)
@Timeout(60)
class QueuedCallDeadlineTest {
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
}
