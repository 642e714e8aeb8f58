package io.bittensor.benchmarks;

import io.bittensor.core.BackwardRequest;
import io.bittensor.core.BackwardResult;
import io.bittensor.core.DType;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Keypair;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.PeerId;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.transport.BuiltinPeers;
import io.bittensor.transport.HttpProtocol;
import io.bittensor.transport.PeerClient;
import io.bittensor.transport.PeerServer;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;

/**
 * What a caller the server does not serve costs it: signed requests from a stranger's key,
 * refused by {@link PeerServer.Builder#callers} (by the key, before the request is hashed or its
 * signature verified) against the same refusal made by the peer, which looks at {@link
 * ForwardRequest#caller()} after the server hashed the request and verified the signature (what
 * a user writes without {@code callers}). A served member's call is timed beside them.
 * One client calls in a closed loop; the kinds take turns in blocks of 50 calls. Reports, per
 * payload, each kind's median call and the process's CPU per call (client and server share the
 * process; the client's work, signing the request, is the same for both refusals).
 *
 * <pre>
 * mvn -B -q -Pbench -pl benchmarks -am package -DskipTests
 * java -cp benchmarks/target/benchmarks.jar io.bittensor.benchmarks.StrangerCost \
 *     [--rounds 40] [--warmup 10] [--protocol HTTP_1_1|H2_PRIOR_KNOWLEDGE]
 * </pre>
 *
 * <p>Not JMH: the kinds are interleaved by hand on one machine, as {@code HandshakeCost} does.
 */
public final class StrangerCost {
  private static final int BLOCK = 50;

  private StrangerCost() {}

  /** Answers members as the echo peer does and refuses anyone else itself. */
  private static final class RefusingPeer implements Peer {
    private final Peer echo = BuiltinPeers.echo();
    private final PeerId member;

    RefusingPeer(PeerId member) {
      this.member = member;
    }

    @Override
    public CompletableFuture<ForwardResult> forward(ForwardRequest request) {
      if (!request.caller().map(member::equals).orElse(false)) {
        return CompletableFuture.completedFuture(
            ForwardResult.failure(Status.UNAUTHENTICATED, "not a member"));
      }
      return echo.forward(request);
    }

    @Override
    public CompletableFuture<BackwardResult> backward(BackwardRequest request) {
      return echo.backward(request);
    }
  }

  public static void main(String[] args) throws Exception {
    InterleavedRounds options = InterleavedRounds.parse(args, 40, 10);
    int rounds = options.rounds();
    int warmup = options.warmup();
    HttpProtocol protocol = options.protocol();
    Keypair member = Keypair.generate();
    Keypair stranger = Keypair.generate();
    var os = (com.sun.management.OperatingSystemMXBean)
        ManagementFactory.getOperatingSystemMXBean();
    System.out.printf(Locale.ROOT, "# %s, %d rounds of %d calls a kind after %d, JDK %s%n",
        protocol, rounds, BLOCK, warmup, Runtime.version());
    System.out.printf(Locale.ROOT, "%-12s %-32s %10s %14s%n", "payload", "kind", "p50 ms",
        "CPU ms/call");
    for (int[] shape : new int[][] {{1, 16, 64}, {16, 64, 256}}) {
      ForwardRequest request = new ForwardRequest(Modality.TENSOR,
          Tensor.zeros(DType.FLOAT32, shape));
      List<String> kinds = List.of("stranger, refused by callers", "stranger, refused by the peer",
          "member, served");
      try (PeerServer filtered = PeerServer.newBuilder(BuiltinPeers.echo()).host("127.0.0.1")
              .port(0).modalities(Modality.TENSOR).callers(member.id()::equals).start();
          PeerServer unfiltered = PeerServer.newBuilder(new RefusingPeer(member.id()))
              .host("127.0.0.1").port(0).modalities(Modality.TENSOR).start();
          PeerClient asStranger = PeerClient.newBuilder().protocol(protocol).keypair(stranger)
              .build();
          PeerClient asMember = PeerClient.newBuilder().protocol(protocol).keypair(member)
              .build()) {
        List<Peer> peers = List.of(asStranger.connect(filtered.endpoint()),
            asStranger.connect(unfiltered.endpoint()), asMember.connect(filtered.endpoint()));
        List<Status> expected = List.of(Status.UNAUTHENTICATED, Status.UNAUTHENTICATED,
            Status.SUCCESS);
        List<List<Long>> times = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        long[] cpu = new long[kinds.size()];
        for (int round = 0; round < warmup + rounds; round++) {
          for (int k = 0; k < kinds.size(); k++) {
            int kind = (k + round) % kinds.size(); // no kind always goes first
            long c0 = os.getProcessCpuTime();
            for (int i = 0; i < BLOCK; i++) {
              long t0 = System.nanoTime();
              ForwardResult r = peers.get(kind).forwardAndWait(request, Duration.ofSeconds(10));
              long took = System.nanoTime() - t0;
              if (r.status() != expected.get(kind)) {
                throw new IllegalStateException(kinds.get(kind) + ": " + r);
              }
              if (round >= warmup) {
                times.get(kind).add(took);
              }
            }
            if (round >= warmup) {
              cpu[kind] += os.getProcessCpuTime() - c0;
            }
          }
        }
        for (int k = 0; k < kinds.size(); k++) {
          System.out.printf(Locale.ROOT, "%-12s %-32s %10.3f %14.3f%n",
              shape[0] + "x" + shape[1] + "x" + shape[2], kinds.get(k),
              InterleavedRounds.median(times.get(k)) / 1e6,
              cpu[k] / 1e6 / ((double) rounds * BLOCK));
        }
      }
    }
  }
}
