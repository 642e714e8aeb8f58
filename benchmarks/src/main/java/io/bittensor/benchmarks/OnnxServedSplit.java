package io.bittensor.benchmarks;

import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.Tensor;
import io.bittensor.core.TensorStandard;
import io.bittensor.transport.HttpProtocol;
import io.bittensor.transport.PeerClient;
import io.bittensor.transport.PeerServer;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Where a served MiniLM call's time goes beyond the model's: each served call (HTTP/1.1, one at a
 * time, the caller blocking) beside the server's own time for it (from the request's arrival to
 * its answer being ready, as a {@code CallListener} hears it). Three ways: the model served,
 * alternating with an in-process call (as {@link OnnxServedPaired} does); a peer that answers the
 * model's own answer at once, alternating the same way; and that peer alone. Whatever the server
 * does not account for is the transport's and the threads' between the two ends.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar
 * io.bittensor.benchmarks.OnnxServedSplit [calls]} (default 300 a way, after 30 of warm-up).
 */
public final class OnnxServedSplit {
  private OnnxServedSplit() {}

  /** Measures and prints one line per way. */
  public static void main(String[] args) throws Exception {
    int calls = args.length > 0 ? Integer.parseInt(args[0]) : 300;
    OnnxPeerBenchmark b = new OnnxPeerBenchmark();
    b.batch = 32;
    b.setUp();
    try {
      ForwardRequest request = b.request();
      Tensor answer = b.peer.forward(request).join().output().orElseThrow();
      Peer fixed = r -> CompletableFuture.completedFuture(ForwardResult.success(answer));
      System.out.printf(Locale.ROOT, "MiniLM int8, batch 32 x %d tokens, HTTP/1.1, %d calls a"
          + " way, medians%n", request.input().dim(1), calls);
      run("the model, beside in-process calls", b.peer, b, calls, true);
      run("its answer at once, beside them", fixed, b, calls, true);
      run("its answer at once, alone", fixed, b, calls, false);
    } finally {
      b.tearDown();
    }
  }

  private static void run(String what, Peer served, OnnxPeerBenchmark b, int calls,
      boolean alternate) throws Exception {
    AtomicLong serverNanos = new AtomicLong();
    try (PeerServer server = PeerServer.newBuilder(served).host("127.0.0.1").port(0)
            .modalities(Modality.TEXT).standard(TensorStandard.of(384)).allowAnonymous(true)
            .callListener(e -> serverNanos.set(e.duration().toNanos())).start();
        PeerClient client = PeerClient.newBuilder().protocol(HttpProtocol.HTTP_1_1)
            .standard(TensorStandard.of(384)).build()) {
      Peer remote = client.connect(server.endpoint());
      ForwardRequest request = b.request();
      double[] inProcess = new double[calls];
      double[] call = new double[calls];
      double[] serverOwn = new double[calls];
      for (int i = -30; i < calls; i++) {
        long t0 = System.nanoTime();
        if (alternate) {
          b.peer.forward(request).join();
        }
        long t1 = System.nanoTime();
        ForwardResult r = remote.forwardAndWait(request, Duration.ofSeconds(10));
        long t2 = System.nanoTime();
        if (r.output().isEmpty()) {
          throw new IllegalStateException("the served call failed: " + r);
        }
        if (i >= 0) {
          inProcess[i] = (t1 - t0) / 1e6;
          call[i] = (t2 - t1) / 1e6;
          serverOwn[i] = serverNanos.get() / 1e6; // heard before the answer is written
        }
      }
      System.out.printf(Locale.ROOT, "%-36s in-process %6.2f ms  served %6.2f ms  server's own"
          + " %6.2f ms  between the ends %5.2f ms%n", what, alternate ? median(inProcess) : 0,
          median(call), median(serverOwn), median(call) - median(serverOwn));
    }
  }

  private static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s[s.length / 2];
  }
}
