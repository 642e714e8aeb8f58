package io.bittensor.benchmarks;

import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Keypair;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.PeerInfo;
import io.bittensor.core.Tensor;
import io.bittensor.transport.BuiltinPeers;
import io.bittensor.transport.HttpProtocol;
import io.bittensor.transport.PeerClient;
import io.bittensor.transport.PeerServer;
import io.bittensor.transport.SignatureScope;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * What signing costs a call end to end, measured so that the machine's drift cancels: one server,
 * one caller thread, and the same request sent unsigned and signed in alternating blocks of
 * {@code --block} calls (the order within each pair of blocks alternating too), so that both
 * sides see the same minutes of a noisy machine. Each side has {@code --connections} clients of
 * its own, used in turn, because one connection can run a few percent faster than another for
 * its whole life. The transport benchmark's rounds of several seconds each are too coarse for a
 * difference of a tenth on this 2-core virtual machine.
 *
 * <p>Sides ({@code --sides}, comma-separated, the first the baseline): {@code unsigned}, {@code
 * metadata}, {@code whole} (the request's signature scope), each optionally with {@code
 * +answers}: the server signs its answers and the client requires them ({@code
 * PeerClient.Builder.requireSignedAnswers}).
 *
 * <p>Reports each side's median and mean latency over all calls, and the median over block
 * pairs of the ratio of their block medians.
 *
 * <pre>
 * mvn -B -q -Pbench -pl benchmarks -am package -DskipTests
 * java -Xms4g -Xmx4g -XX:+AlwaysPreTouch -cp benchmarks/target/benchmarks.jar \
 *      io.bittensor.benchmarks.SigningOverhead --payload 16x64x256 --seconds 60 --block 50
 * </pre>
 */
public final class SigningOverhead {
  private SigningOverhead() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> opt = TransportBenchmark.options(args);
    int[] shape = Arrays.stream(opt.getOrDefault("payload", "16x64x256").split("x"))
        .mapToInt(Integer::parseInt).toArray();
    double seconds = Double.parseDouble(opt.getOrDefault("seconds", "60"));
    double warmup = Double.parseDouble(opt.getOrDefault("warmup", "10"));
    int block = Integer.parseInt(opt.getOrDefault("block", "50"));
    int connections = Integer.parseInt(opt.getOrDefault("connections", "4"));
    List<String> sides = List.of(opt.getOrDefault("sides", "unsigned,metadata").split(","));

    Keypair key = Keypair.fromSeed(new byte[Keypair.SEED_LENGTH]);
    Tensor x = TransportBenchmark.randomTensor(shape, new Random(42));
    ForwardRequest request = new ForwardRequest(Modality.TENSOR, x);
    Duration timeout = Duration.ofSeconds(60);
    System.out.printf(
        Locale.ROOT,
        "# Signing overhead: %s %s, %d cores, payload %s, blocks of %d"
            + " calls, %d connections a side, %.0f s (after %.0f s warmup)%n",
        System.getProperty("java.vm.name"),
        System.getProperty("java.version"),
        Runtime.getRuntime().availableProcessors(),
        Arrays.toString(shape),
        block,
        connections,
        seconds,
        warmup);

    List<PeerClient> clients = new ArrayList<>();
    Keypair peerKey = Keypair.fromSeed(new byte[] {
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0});
    try (PeerServer server = PeerServer.newBuilder(BuiltinPeers.echo()).host("127.0.0.1").port(0)
        .allowAnonymous(true).acceptMetadataOnlySignatures(true)
        .maxPayloadBytes(256L << 20).modalities(Modality.TENSOR).start();
        // The same server but signing its answers, for the sides that require them.
        PeerServer signing = PeerServer.newBuilder(BuiltinPeers.echo()).host("127.0.0.1").port(0)
            .allowAnonymous(true).acceptMetadataOnlySignatures(true)
            .maxPayloadBytes(256L << 20).modalities(Modality.TENSOR)
            .signAnswers(peerKey).start()) {
      // Each side gets its own clients (so its own connections), used in turn block by block:
      // one connection can be a few percent faster than another for its whole life here.
      Map<String, Peer[]> peers = new LinkedHashMap<>();
      for (String side : sides) {
        Peer[] own = new Peer[connections];
        for (int c = 0; c < connections; c++) {
          PeerClient.Builder b = PeerClient.newBuilder().protocol(HttpProtocol.HTTP_1_1);
          boolean answers = side.endsWith("+answers");
          switch (answers ? side.substring(0, side.length() - "+answers".length()) : side) {
            case "unsigned" -> { }
            case "metadata" -> b.keypair(key).signatureScope(SignatureScope.METADATA_ONLY);
            case "whole" -> b.keypair(key).signatureScope(SignatureScope.WHOLE_REQUEST);
            default -> throw new IllegalArgumentException(
                "sides: unsigned, metadata, whole, each optionally with +answers");
          }
          PeerClient client = b.requireSignedAnswers(answers).build();
          clients.add(client);
          own[c] = answers
              ? client.connect(PeerInfo.of(peerKey.id(), signing.endpoint(), Modality.TENSOR))
              : client.connect(server.endpoint());
        }
        peers.put(side, own);
      }

      Map<String, List<Long>> all = new LinkedHashMap<>();
      List<double[]> blockMedians = new ArrayList<>();
      long warmupEnd = System.nanoTime() + (long) (warmup * 1e9);
      long end = warmupEnd + (long) (seconds * 1e9);
      int pair = 0;
      while (System.nanoTime() < end) {
        boolean recording = System.nanoTime() >= warmupEnd;
        List<String> order = new ArrayList<>(peers.keySet());
        java.util.Collections.rotate(order, pair);
        double[] medians = new double[sides.size()];
        for (String side : order) {
          long[] times = new long[block];
          Peer peer = peers.get(side)[pair % connections];
          for (int i = 0; i < block; i++) {
            long t0 = System.nanoTime();
            ForwardResult r = peer.forwardAndWait(request, timeout);
            times[i] = System.nanoTime() - t0;
            if (!r.isSuccess() || r.output().orElseThrow().byteSize() != x.byteSize()) {
              throw new IllegalStateException(side + ": the peer answered " + r);
            }
          }
          if (recording) {
            List<Long> list = all.computeIfAbsent(side, k -> new ArrayList<>());
            for (long t : times) {
              list.add(t);
            }
            Arrays.sort(times);
            medians[sides.indexOf(side)] = times[block / 2];
          }
        }
        if (recording) {
          blockMedians.add(medians);
        }
        pair++;
      }

      double base = InterleavedRounds.median(all.get(sides.get(0)));
      double baseMean = mean(all.get(sides.get(0)));
      for (String side : sides) {
        double p50 = InterleavedRounds.median(all.get(side));
        double mean = mean(all.get(side));
        System.out.printf(Locale.ROOT, "%-9s %7d calls  p50 %.3f ms (%+.1f%%)  mean %.3f ms"
                + " (%+.1f%%)  vs %s%n", side, all.get(side).size(), p50 / 1e6,
            100 * (p50 / base - 1), mean / 1e6, 100 * (mean / baseMean - 1), sides.get(0));
      }
      for (int s = 1; s < sides.size(); s++) {
        double[] ratios = new double[blockMedians.size()];
        for (int b = 0; b < ratios.length; b++) {
          ratios[b] = blockMedians.get(b)[s] / blockMedians.get(b)[0];
        }
        Arrays.sort(ratios);
        System.out.printf(Locale.ROOT, "%s / %s, block pairs: median %.3f, quartiles %.3f-%.3f"
                + " over %d pairs%n", sides.get(s), sides.get(0), ratios[ratios.length / 2],
            ratios[ratios.length / 4], ratios[3 * ratios.length / 4], ratios.length);
      }
    } finally {
      clients.forEach(PeerClient::close);
    }
  }

  private static double mean(List<Long> values) {
    return values.stream().mapToLong(Long::longValue).average().orElseThrow();
  }
}
