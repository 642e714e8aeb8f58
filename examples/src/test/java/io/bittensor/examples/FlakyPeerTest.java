package io.bittensor.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.bittensor.core.DType;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.transport.BuiltinPeers;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FlakyPeerTest {
  private static final ForwardRequest REQUEST =
      new ForwardRequest(Modality.TENSOR, Tensor.zeros(DType.FLOAT32, 1, 2, 4));

  @Test
  void aHangingFailureStillEndsAtTheCallersDeadline() throws Exception {
    Peer flaky = new FlakyPeer(BuiltinPeers.deterministic(4), 1.0, 7, true);
    // Peer's contract: a call still running when the timeout passes completes with TIMEOUT.
    ForwardResult r = flaky.forward(REQUEST, Duration.ofMillis(50)).get(20, TimeUnit.SECONDS);
    assertEquals(Status.TIMEOUT, r.status(), r::toString);
  }

  @Test
  void aQuickFailureAnswersTimeoutAndANeverFailingOneAnswers() throws Exception {
    Peer quick = new FlakyPeer(BuiltinPeers.deterministic(4), 1.0, 7, false);
    assertEquals(Status.TIMEOUT,
        quick.forward(REQUEST, Duration.ofSeconds(10)).get(20, TimeUnit.SECONDS).status());
    Peer steady = new FlakyPeer(BuiltinPeers.deterministic(4), 0.0, 7, true);
    assertEquals(Status.SUCCESS,
        steady.forward(REQUEST, Duration.ofSeconds(10)).get(20, TimeUnit.SECONDS).status());
  }

  @Test
  void aTimeoutThatIsNotPositiveIsRefusedAsPeerSays() {
    Peer flaky = new FlakyPeer(BuiltinPeers.deterministic(4), 1.0, 7, false);
    assertThrows(IllegalArgumentException.class, () -> flaky.forward(REQUEST, Duration.ZERO));
  }
}
