package io.bittensor.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.ForwardResult;
import io.bittensor.core.Peer;
import io.bittensor.core.Status;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A forward that OkHttp sends again (here: on a pooled connection that closes without an answer)
 * tells the server the time its caller has left, not the whole timeout again: otherwise the
 * server would go on computing, and answer, after the caller gave up.
 */
@ExtendWith(LeakCheck.class)
@Timeout(60)
class ResentForwardDeadlineTest {
  /** How long the relay holds the dropped attempt before it closes the connection. */
  private static final long HELD_MS = 300;

  @Test
  void aResentForwardIsSignedWithTheTimeItsCallerHasLeft() throws Exception {
    // 16,600 ms is a three-byte varint, 300 ms less a two-byte one: the resend is smaller.
    Duration timeout = Duration.ofMillis(16_600);
    try (PeerServer server = PeerServer.newBuilder(BuiltinPeers.deterministic(
            TransportContract.OUTPUT_DIM)).host("127.0.0.1").port(0).start();
        RecordingRelay relay = new RecordingRelay(server.port(), HELD_MS);
        PeerClient client = PeerClient.newBuilder().keypair(TransportContract.ALICE)
            .standard(TransportContract.STANDARD).build()) {
      Peer peer = client.connect(relay.uri());
      ForwardResult warm = peer.forward(FanOutOverHttpTest.REQUEST, timeout).join();
      assertEquals(Status.SUCCESS, warm.status(), warm.toString()); // now a pooled connection
      relay.requests.clear();

      relay.dropNext.set(true);
      ForwardResult r = peer.forward(FanOutOverHttpTest.REQUEST, timeout).join();

      assertEquals(Status.SUCCESS, r.status(), "the resend is served: " + r);
      assertEquals(2, relay.requests.size(), "the dropped attempt and its resend");
      var first = relay.requests.get(0).forward();
      var second = relay.requests.get(1).forward();
      assertNotEquals(first.getCaller().getNonce(), second.getCaller().getNonce());
      assertEquals(relay.requests.get(0).body().length - 1, relay.requests.get(1).body().length,
          "the resend's timeout takes a byte less, and the server read it whole");
      long passed = (relay.closedNanos - relay.requests.get(0).nanos()) / 1_000_000;
      assertTrue(passed >= HELD_MS, passed + " ms");
      // The whole timeout, less what a first attempt waited for a dispatcher slot on a busy
      // machine (over 5 ms, and it is signed with the time left too).
      assertTrue(first.getTimeoutMs() <= timeout.toMillis()
          && first.getTimeoutMs() > timeout.toMillis() - HELD_MS,
          "the first attempt said " + first.getTimeoutMs() + " ms of " + timeout.toMillis());
      // Rounding to whole milliseconds may cost the resend one.
      assertTrue(second.getTimeoutMs() <= first.getTimeoutMs() - passed + 1,
          "the first attempt said " + first.getTimeoutMs() + " ms, the resend "
              + second.getTimeoutMs() + " ms, " + passed + " ms later");
      // Both attempts name the same deadline: each one's signed time plus its timeout. The
      // clock is read for the signature after the timeout and the tensor's encoding, so a
      // thread descheduled in between shifts one by a few ms (2 in one Temurin 25 run); a
      // resend signed with the whole timeout again would end HELD_MS later.
      long firstEnds = first.getCaller().getTimestampMs() + first.getTimeoutMs();
      long secondEnds = second.getCaller().getTimestampMs() + second.getTimeoutMs();
      assertTrue(secondEnds <= firstEnds + 25,
          "the resend ends at " + secondEnds + ", the first attempt at " + firstEnds);
    }
  }
}
