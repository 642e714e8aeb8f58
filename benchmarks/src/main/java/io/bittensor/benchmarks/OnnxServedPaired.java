package io.bittensor.benchmarks;

import io.bittensor.core.ForwardRequest;
import io.bittensor.core.Keypair;
import io.bittensor.core.Peer;
import io.bittensor.transport.HttpProtocol;
import io.bittensor.transport.PeerClient;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * What does serving a model over the network cost its callers? MiniLM sentences per second at
 * batch 32 (by default) from a bare {@code OrtSession.run} and from {@code OnnxPeer.forward}
 * in-process, against the same peer served by a {@code PeerServer} on loopback and called through
 * a {@link PeerClient}: over HTTP/2 (prior knowledge) and HTTP/1.1, each unsigned and signed
 * (Ed25519 signature made by the client, checked by the server, as on the network). The served
 * answer is the standard's {@code [32, tokens, 384]} float32 (the pooled row repeated at every
 * position, about 0.9 MB at 17 tokens).
 *
 * <p>The sides are {@link OnnxPeerBenchmark}'s, set up by it (one model bytes, ONNX Runtime's
 * default threads, spin-waiting off). They run in rounds, one call each in a random order per
 * round, in one JVM, so that load from other processes falls on all alike. Reported: each side's
 * median time, sentences/s and the process's CPU time per call (all threads: what serving costs
 * in work, which load from other processes does not inflate as it does wall time), and for the
 * served sides the medians over rounds of served/bare
 * and served/in-process (the bar: served within 15%, a ratio up to 1.15). Calls are
 * sequential, one at a time: this measures what the transport adds to each batch, not throughput
 * under concurrency.
 *
 * <p>Run: {@code mvn -B -q -Pbench -pl benchmarks -am package -DskipTests && java -cp
 * benchmarks/target/benchmarks.jar io.bittensor.benchmarks.OnnxServedPaired [rounds] [batch]}
 * (defaults 40 and 32).
 */
public final class OnnxServedPaired {
  private static final String[] SIDES = {
    "bare session", "in-process", "HTTP/2", "HTTP/1.1", "HTTP/2 signed", "HTTP/1.1 signed"
  };
  private static final int BARE = 0;
  private static final int IN_PROCESS = 1;

  private OnnxServedPaired() {}

  /** Measures and prints one line per side. */
  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 40;
    int batch = args.length > 1 ? Integer.parseInt(args[1]) : 32;
    if (rounds < 1 || batch < 1) {
      throw new IllegalArgumentException(
          "rounds and batch must be >= 1, were " + rounds + " and " + batch);
    }
    double loadBefore = load();
    OnnxPeerBenchmark b = new OnnxPeerBenchmark();
    b.batch = batch;
    b.setUp();
    Keypair key = Keypair.fromSeed(new byte[Keypair.SEED_LENGTH]);
    try (PeerClient h2 = PeerClient.newBuilder().protocol(HttpProtocol.H2_PRIOR_KNOWLEDGE).build();
        PeerClient h1 = PeerClient.newBuilder().protocol(HttpProtocol.HTTP_1_1).build();
        PeerClient h2Signed =
            PeerClient.newBuilder().protocol(HttpProtocol.H2_PRIOR_KNOWLEDGE).keypair(key).build();
        PeerClient h1Signed =
            PeerClient.newBuilder().protocol(HttpProtocol.HTTP_1_1).keypair(key).build()) {
      URI at = b.endpoint();
      ForwardRequest request = b.request();
      Peer[] served = {h2.connect(at), h1.connect(at), h2Signed.connect(at), h1Signed.connect(at)};
      Side[] sides = new Side[SIDES.length];
      sides[BARE] = b::bareSession;
      sides[IN_PROCESS] = b::peer;
      for (int i = 0; i < served.length; i++) {
        Peer p = served[i];
        sides[IN_PROCESS + 1 + i] =
            () -> OnnxPeerBenchmark.answer(p.forward(request, OnnxPeerBenchmark.TIMEOUT).join());
      }
      for (int i = 0; i < 10; i++) {
        for (Side side : sides) {
          side.call();
        }
      }
      double[][] ms = new double[SIDES.length][rounds];
      double[][] cpuMs = new double[SIDES.length][rounds];
      List<Integer> order = new ArrayList<>();
      for (int side = 0; side < SIDES.length; side++) {
        order.add(side);
      }
      Random shuffle = new Random(1);
      for (int r = 0; r < rounds; r++) {
        Collections.shuffle(order, shuffle);
        for (int side : order) {
          long c0 = CPU.getProcessCpuTime();
          long t0 = System.nanoTime();
          sides[side].call();
          ms[side][r] = (System.nanoTime() - t0) / 1e6;
          cpuMs[side][r] = (CPU.getProcessCpuTime() - c0) / 1e6;
        }
      }
      int tokens = request.input().dim(1);
      System.out.printf(
          Locale.ROOT,
          "MiniLM int8, batch %d x %d tokens, answer %.2f MB, %d rounds, %d cores, "
              + "load average %.2f before, %.2f after%n",
          batch,
          tokens,
          batch * tokens * 384 * 4 / 1e6,
          rounds,
          Runtime.getRuntime().availableProcessors(),
          loadBefore,
          load());
      for (int side = 0; side < SIDES.length; side++) {
        double m = OnnxOverheadPaired.median(ms[side]);
        String ratios =
            side > IN_PROCESS
                ? String.format(
                    Locale.ROOT,
                    "  served/bare %.3f, served/in-process %.3f, CPU served/in-process %.3f "
                        + "(medians per round)",
                    perRound(ms[side], ms[BARE]),
                    perRound(ms[side], ms[IN_PROCESS]),
                    perRound(cpuMs[side], cpuMs[IN_PROCESS]))
                : "";
        System.out.printf(
            Locale.ROOT,
            "%-15s median %8.2f ms  %7.1f sentences/s  CPU %8.2f ms%s%n",
            SIDES[side],
            m,
            batch * 1000 / m,
            OnnxOverheadPaired.median(cpuMs[side]),
            ratios);
      }
    } finally {
      b.tearDown();
    }
  }

  /** The median over rounds of {@code a[r] / b[r]}. */
  private static double perRound(double[] a, double[] b) {
    double[] ratio = new double[a.length];
    for (int r = 0; r < a.length; r++) {
      ratio[r] = a[r] / b[r];
    }
    return OnnxOverheadPaired.median(ratio);
  }

  /** One call of one side. */
  @FunctionalInterface
  private interface Side {
    void call() throws Exception;
  }

  /** The JDK's view of this process's CPU time, all threads (ONNX Runtime's, Jetty's, OkHttp's). */
  private static final com.sun.management.OperatingSystemMXBean CPU =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

  /** The one-minute load average, or -1 where the system does not say. */
  private static double load() {
    return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
  }
}
