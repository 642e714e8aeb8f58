package io.bittensor.cli.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.bittensor.core.Status;
import io.bittensor.transport.CallEvent;
import io.bittensor.transport.CallListener;
import io.bittensor.transport.CallStart;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** {@link MetricsEndpoint#calls()}: the calls in flight on each side, and each call timed. */
class MetricsEndpointTest {
  private static CallStart start(CallEvent.Side side) {
    return new CallStart(side, CallEvent.Kind.FORWARD, Optional.empty());
  }

  private static CallEvent end(CallEvent.Side side, Status status) {
    return new CallEvent(side, CallEvent.Kind.FORWARD, Optional.empty(), status,
        Duration.ofMillis(3));
  }

  private static double inFlight(MetricsEndpoint metrics, String side) {
    return metrics.registry().get("bittensor.peer.calls.in.flight").tag("side", side).gauge()
        .value();
  }

  @Test
  void eachSidesCallsCountFromTheirStartToTheirEnd() throws Exception {
    try (MetricsEndpoint metrics = MetricsEndpoint.start("127.0.0.1", 0)) {
      CallListener.Factory calls = metrics.calls();
      assertSame(calls, metrics.calls(), "one factory, so one gauge per side");
      CallListener served = calls.create(start(CallEvent.Side.SERVER));
      CallListener made = calls.create(start(CallEvent.Side.CLIENT));
      CallListener madeToo = calls.create(start(CallEvent.Side.CLIENT));
      assertEquals(1, inFlight(metrics, "server"));
      assertEquals(2, inFlight(metrics, "client"));
      made.callEnd(end(CallEvent.Side.CLIENT, Status.TIMEOUT));
      served.callEnd(end(CallEvent.Side.SERVER, Status.SUCCESS));
      assertEquals(0, inFlight(metrics, "server"));
      assertEquals(1, inFlight(metrics, "client"));
      madeToo.callEnd(end(CallEvent.Side.CLIENT, Status.SUCCESS));
      assertEquals(0, inFlight(metrics, "client"));
      assertEquals(1, metrics.registry().get("bittensor.peer.calls").tag("side", "client")
          .tag("status", "TIMEOUT").timer().count());
      assertEquals(3, metrics.registry().get("bittensor.peer.calls").timers().stream()
          .mapToLong(t -> t.count()).sum());
    }
  }
}
