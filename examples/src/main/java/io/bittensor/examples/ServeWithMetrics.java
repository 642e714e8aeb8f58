package io.bittensor.examples;

import io.bittensor.core.DType;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.Keypair;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.PeerInfo;
import io.bittensor.core.Tensor;
import io.bittensor.transport.BuiltinPeers;
import io.bittensor.transport.CallListener;
import io.bittensor.transport.HttpProtocol;
import io.bittensor.transport.PeerClient;
import io.bittensor.transport.PeerServer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Comparator;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * A service's peer with metrics: its server and its client each given a {@link CallListener}
 * that times every call in a Micrometer registry, tagged with the call's kind and status, and the
 * server's calls in progress as a gauge. In a service the registry is the one it already has
 * (Spring Boot's, a Prometheus registry); here a {@link SimpleMeterRegistry}, printed at the end.
 *
 * <p>The server admits only signed calls: 20 signed ones are served, 3 anonymous ones refused,
 * and both sides count them alike.
 *
 * <pre>
 * mvn -B -q -pl examples -am package -DskipTests
 * java -cp "examples/target/classes:bittensor-cli/target/bittensor.jar" \
 *     io.bittensor.examples.ServeWithMetrics
 * </pre>
 */
public final class ServeWithMetrics {
  private ServeWithMetrics() {}

  public static void main(String[] args) throws IOException {
    run(new SimpleMeterRegistry(), System.out);
  }

  /** One timer per side, kind and status: what a dashboard plots as rates and latencies. */
  static CallListener timed(MeterRegistry registry) {
    return call -> registry.timer("bittensor.peer.calls",
            "side", call.side().name().toLowerCase(Locale.ROOT), "kind", call.kind().name(),
            "status", call.status().name())
        .record(call.duration());
  }

  /** Serves a peer, calls it 23 times, prints the registry's timers; returns the registry. */
  static MeterRegistry run(MeterRegistry registry, PrintStream out) throws IOException {
    CallListener timed = timed(registry); // the same listener on both ends: events say which
    Duration timeout = Duration.ofSeconds(10);
    Keypair serverKey = Keypair.generate();
    ForwardRequest request = new ForwardRequest(Modality.TENSOR,
        Tensor.zeros(DType.FLOAT32, 2, 4, 16));
    try (PeerServer server = PeerServer.newBuilder(BuiltinPeers.deterministic(32))
            .host("127.0.0.1").port(0)
            .allowAnonymous(false)                       // unsigned calls are refused
            .callListener(timed)
            .start();
        PeerClient signed = PeerClient.newBuilder().protocol(HttpProtocol.H2_PRIOR_KNOWLEDGE)
            .keypair(Keypair.generate()).callListener(timed).build();
        PeerClient anonymous = PeerClient.newBuilder().protocol(HttpProtocol.H2_PRIOR_KNOWLEDGE)
            .callListener(timed).build()) {
      Gauge.builder("bittensor.peer.calls.active", server, PeerServer::activeCalls)
          .register(registry);
      PeerInfo info = PeerInfo.of(serverKey.id(), server.endpoint(), Modality.TENSOR);
      Peer peer = signed.connect(info);
      for (int i = 0; i < 20; i++) {
        peer.forwardAndWait(request, timeout);
      }
      Peer stranger = anonymous.connect(info);
      for (int i = 0; i < 3; i++) {
        stranger.forwardAndWait(request, timeout);
      }
    }
    registry.find("bittensor.peer.calls").timers().stream()
        .sorted(
            Comparator.comparing((Timer t) -> t.getId().getTag("side"))
                .thenComparing(t -> t.getId().getTag("status")))
        .forEach(
            t ->
                out.printf(
                    Locale.ROOT,
                    "%-6s %-7s %-16s %3d calls, mean %.3f ms, max %.3f ms%n",
                    t.getId().getTag("side"),
                    t.getId().getTag("kind"),
                    t.getId().getTag("status"),
                    t.count(),
                    t.mean(TimeUnit.MILLISECONDS),
                    t.max(TimeUnit.MILLISECONDS)));
    return registry;
  }
}
