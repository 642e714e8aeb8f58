package io.bittensor.benchmarks;

import io.bittensor.core.DType;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.transport.BuiltinPeers;
import io.bittensor.transport.HttpProtocol;
import io.bittensor.transport.PeerClient;
import io.bittensor.transport.PeerServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What a new connection costs: the first call of a fresh client (built before the clock starts),
 * which connects, shakes hands and calls, over cleartext, TLS and mutual TLS (the server asking
 * for the client's certificate), one after the other in each round so that every kind meets the
 * same machine.
 * Reports the median time of such a first call per kind and its ratio to TLS.
 *
 * <pre>
 * mvn -B -q -Pbench -pl benchmarks -am package -DskipTests
 * java -cp benchmarks/target/benchmarks.jar io.bittensor.benchmarks.HandshakeCost \
 *     [--rounds 400] [--warmup 100] [--protocol HTTP_1_1|H2_PRIOR_KNOWLEDGE]
 * </pre>
 *
 * <p>Not JMH: each sample is one client's first call, which needs a new client each time; the
 * kinds are interleaved by hand.
 */
public final class HandshakeCost {
  private HandshakeCost() {}

  public static void main(String[] args) throws Exception {
    InterleavedRounds options = InterleavedRounds.parse(args, 400, 100);
    int rounds = options.rounds();
    int warmup = options.warmup();
    HttpProtocol protocol = options.protocol();
    Path tls = Files.createTempDirectory("bittensor-bench-handshake");
    TransportBenchmark.selfSigned(tls); // writes peer.key and peer.pem
    Path key = tls.resolve("peer.key");
    Path pem = tls.resolve("peer.pem");
    ForwardRequest request =
        new ForwardRequest(Modality.TENSOR, Tensor.zeros(DType.FLOAT32, 1, 4, 8));
    List<String> kinds = List.of("cleartext", "tls", "mtls");
    try (PeerServer cleartext = serve(null, null, null);
        PeerServer secure = serve(key, pem, null);
        PeerServer mutual = serve(key, pem, pem)) {
      List<List<Long>> samples = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
      for (int round = 0; round < warmup + rounds; round++) {
        for (int k = 0; k < kinds.size(); k++) {
          int kind = (k + round) % kinds.size(); // no kind always goes first
          PeerClient.Builder b = PeerClient.newBuilder().protocol(protocol);
          PeerServer server = switch (kinds.get(kind)) {
            case "cleartext" -> cleartext;
            case "tls" -> {
              b.trustedCertificates(pem);
              yield secure;
            }
            default -> {
              b.trustedCertificates(pem).clientCertificate(key, pem);
              yield mutual;
            }
          };
          ForwardResult r;
          long took;
          try (PeerClient client = b.build()) { // its files read and checked before the clock
            io.bittensor.core.Peer peer = client.connect(server.endpoint());
            long t0 = System.nanoTime();
            r = peer.forwardAndWait(request, Duration.ofSeconds(10));
            took = System.nanoTime() - t0;
          }
          if (r.status() != Status.SUCCESS) {
            throw new IllegalStateException(kinds.get(kind) + ": " + r.message());
          }
          if (round >= warmup) {
            samples.get(kind).add(took);
          }
        }
      }
      double tlsMedian = InterleavedRounds.median(samples.get(1));
      System.out.printf(Locale.ROOT, "# %s, %d rounds after %d of warm-up, JDK %s%n", protocol,
          rounds, warmup, Runtime.version());
      System.out.printf(Locale.ROOT, "%-10s %16s %10s%n", "kind", "first call, ms", "vs TLS");
      for (int k = 0; k < kinds.size(); k++) {
        double m = InterleavedRounds.median(samples.get(k));
        System.out.printf(Locale.ROOT, "%-10s %16.3f %10.2f%n", kinds.get(k), m / 1e6,
            m / tlsMedian);
      }
    } finally {
      LedgerWorkload.deleteTree(tls);
    }
  }

  private static PeerServer serve(Path key, Path pem, Path clientTrust) throws Exception {
    PeerServer.Builder b = PeerServer.newBuilder(BuiltinPeers.echo()).host("127.0.0.1").port(0)
        .allowAnonymous(true).modalities(Modality.TENSOR);
    if (key != null) {
      b.tls(key, pem);
    }
    if (clientTrust != null) {
      b.requireClientCertificates(clientTrust);
    }
    return b.start();
  }
}
