package io.bittensor.benchmarks;

import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Keypair;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.Tensor;
import io.bittensor.core.TensorStandard;
import io.bittensor.onnx.OnnxPeer;
import io.bittensor.onnx.OutputAdapter;
import io.bittensor.onnx.TextInput;
import io.bittensor.transport.HttpProtocol;
import io.bittensor.transport.PeerClient;
import io.bittensor.transport.PeerServer;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * What does serving a model over the network cost its callers? MiniLM sentences per second at
 * batch 32 called in-process ({@code OnnxPeer.forward}) against the same peer served by a {@link
 * PeerServer} on loopback and called through a {@link PeerClient}: over HTTP/1.1 and HTTP/2 (prior
 * knowledge), each unsigned and signed (Ed25519 signature made by the client, checked by the
 * server, as on the network). The served answer is the standard's {@code [32, tokens, 384]}
 * float32 (the pooled row repeated at every position, about 0.9 MB).
 *
 * <p>All sides share one peer (one ONNX Runtime session, spin-waiting off) and run in rounds, one
 * call each in a random order per round, in one JVM, so that load from other processes falls on
 * all alike. Reported: each side's median time and sentences/s, and the median over rounds of
 * served/in-process (the bar: served within 15%, a ratio up to 1.15). Calls are
 * sequential, one at a time: this measures what the transport adds to each batch, not throughput
 * under concurrency.
 *
 * <p>Run: {@code mvn -B -q -Pbench -pl benchmarks -am package -DskipTests && java -cp
 * benchmarks/target/benchmarks.jar io.bittensor.benchmarks.OnnxServedPaired [rounds] [batch]}
 * (defaults 40 and 32).
 */
public final class OnnxServedPaired {
  private static final String[] SIDES = {"in-process", "HTTP/1.1", "HTTP/2", "HTTP/1.1 signed", "HTTP/2 signed"};

  private OnnxServedPaired() {}

  /** Measures and prints one line per side. */
  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 40;
    int batch = args.length > 1 ? Integer.parseInt(args[1]) : 32;
    double loadBefore = load();
    Tensor tokens = OnnxPeerBenchmark.miniLmTokens(batch);
    ForwardRequest request = new ForwardRequest(Modality.TEXT, tokens);
    Keypair key = Keypair.fromSeed(new byte[Keypair.SEED_LENGTH]);
    Duration timeout = Duration.ofSeconds(60);
    try (OnnxPeer peer = OnnxPeer.builder().model(OnnxPeerBenchmark.miniLmModel())
            .input(TextInput.bert().withMaxLength(128))
            .output(OutputAdapter.first().withPooling(OutputAdapter.Pooling.MEAN).withL2Normalize(true))
            .outputDim(384)
            .spinning(false)
            .build();
        PeerServer server = PeerServer.newBuilder(peer).host("127.0.0.1").port(0)
            .modalities(Modality.TEXT).standard(TensorStandard.of(384))
            .allowAnonymous(true).defaultTimeout(timeout).maxTimeout(timeout).start();
        PeerClient h1 = PeerClient.newBuilder().protocol(HttpProtocol.HTTP_1_1).build();
        PeerClient h2 = PeerClient.newBuilder().protocol(HttpProtocol.H2_PRIOR_KNOWLEDGE).build();
        PeerClient h1Signed = PeerClient.newBuilder().protocol(HttpProtocol.HTTP_1_1).keypair(key).build();
        PeerClient h2Signed = PeerClient.newBuilder().protocol(HttpProtocol.H2_PRIOR_KNOWLEDGE).keypair(key).build()) {
      URI at = server.endpoint();
      Peer[] sides = {peer, h1.connect(at), h2.connect(at), h1Signed.connect(at), h2Signed.connect(at)};
      for (int i = 0; i < 10; i++) {
        for (Peer p : sides) {
          call(p, request, timeout);
        }
      }
      double[][] ms = new double[SIDES.length][rounds];
      List<Integer> order = new ArrayList<>();
      for (int side = 0; side < SIDES.length; side++) {
        order.add(side);
      }
      Random shuffle = new Random(1);
      for (int r = 0; r < rounds; r++) {
        Collections.shuffle(order, shuffle);
        for (int side : order) {
          long t0 = System.nanoTime();
          call(sides[side], request, timeout);
          ms[side][r] = (System.nanoTime() - t0) / 1e6;
        }
      }
      System.out.printf(Locale.ROOT, "MiniLM int8, batch %d x %d tokens, answer %.2f MB, %d rounds, %d cores, "
          + "load average %.2f before, %.2f after%n", batch, tokens.dim(1), batch * tokens.dim(1) * 384 * 4 / 1e6,
          rounds, Runtime.getRuntime().availableProcessors(), loadBefore, load());
      double inProcess = OnnxOverheadPaired.median(ms[0]);
      for (int side = 0; side < SIDES.length; side++) {
        double m = OnnxOverheadPaired.median(ms[side]);
        String ratio = "";
        if (side > 0) {
          double[] perRound = new double[rounds];
          for (int r = 0; r < rounds; r++) {
            perRound[r] = ms[side][r] / ms[0][r];
          }
          ratio = String.format(Locale.ROOT, "  served/in-process: median per round %.3f, of medians %.3f",
              OnnxOverheadPaired.median(perRound), m / inProcess);
        }
        System.out.printf(Locale.ROOT, "%-15s median %8.2f ms  %7.1f sentences/s%s%n", SIDES[side], m,
            batch * 1000 / m, ratio);
      }
    }
  }

  private static void call(Peer peer, ForwardRequest request, Duration timeout) {
    ForwardResult r = peer.forward(request, timeout).join();
    if (!r.isSuccess()) {
      throw new IllegalStateException("the benchmark's call failed: " + r);
    }
  }

  /** The one-minute load average, or -1 where the system does not say. */
  private static double load() {
    return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
  }
}
