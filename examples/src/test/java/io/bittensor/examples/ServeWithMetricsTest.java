package io.bittensor.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ServeWithMetricsTest {
  private static Timer timer(MeterRegistry registry, String side, String status) {
    return registry.get("bittensor.peer.calls").tag("side", side).tag("kind", "FORWARD")
        .tag("status", status).timer();
  }

  @Test
  void bothSidesCountTheServedAndTheRefusedCallsAlike() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    MeterRegistry registry;
    try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
      registry = ServeWithMetrics.run(new SimpleMeterRegistry(), out);
    }
    for (String side : List.of("server", "client")) {
      assertEquals(20, timer(registry, side, "SUCCESS").count(), side);
      assertEquals(3, timer(registry, side, "UNAUTHENTICATED").count(), side);
      // The client's time holds the server's, and the network's on top.
      assertTrue(timer(registry, side, "SUCCESS").totalTime(TimeUnit.NANOSECONDS) > 0, side);
    }
    assertTrue(timer(registry, "client", "SUCCESS").totalTime(TimeUnit.NANOSECONDS)
        > timer(registry, "server", "SUCCESS").totalTime(TimeUnit.NANOSECONDS),
        "a call takes longer seen from the client than inside the server");
    List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
    assertEquals(4, lines.size(), lines.toString());
    assertTrue(lines.get(0).startsWith("client FORWARD SUCCESS           20 calls, mean "),
        lines.get(0));
    assertTrue(lines.get(3).startsWith("server FORWARD UNAUTHENTICATED    3 calls"), lines.get(3));
  }
}
