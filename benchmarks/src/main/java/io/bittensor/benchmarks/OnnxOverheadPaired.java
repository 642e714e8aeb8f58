package io.bittensor.benchmarks;

import java.util.Arrays;
import java.util.Random;

/**
 * A noise-resistant companion to {@link OnnxPeerBenchmark} for shared, loaded machines: the two
 * sides run in strict alternation (in random order within each pair) in one JVM, so that load
 * from other processes hits both alike, and the report is the median time of each side and the
 * median of the per-pair ratios peer/bare.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar
 * io.bittensor.benchmarks.OnnxOverheadPaired [batch] [pairs]}; prints one line per batch size.
 */
public final class OnnxOverheadPaired {
  private OnnxOverheadPaired() {}

  /** Measures batch sizes 1 and 32 (or the one given) with the given number of pairs. */
  public static void main(String[] args) throws Exception {
    int[] batches = args.length > 0 ? new int[] {Integer.parseInt(args[0])} : new int[] {1, 32};
    for (int batch : batches) {
      int pairs = args.length > 1 ? Integer.parseInt(args[1]) : (batch == 1 ? 400 : 60);
      OnnxPeerBenchmark b = new OnnxPeerBenchmark();
      b.batch = batch;
      b.setUp();
      try {
        for (int i = 0; i < Math.max(20, pairs / 5); i++) {
          b.peer();
          b.bareSession();
        }
        double[] peer = new double[pairs];
        double[] bare = new double[pairs];
        double[] ratio = new double[pairs];
        Random order = new Random(1);
        for (int i = 0; i < pairs; i++) {
          boolean peerFirst = order.nextBoolean();
          if (peerFirst) {
            peer[i] = timePeer(b);
            bare[i] = timeBare(b);
          } else {
            bare[i] = timeBare(b);
            peer[i] = timePeer(b);
          }
          ratio[i] = peer[i] / bare[i];
        }
        double mp = median(peer);
        double mb = median(bare);
        System.out.printf(
            "batch %d, %d pairs: bare %.3f ms, peer %.3f ms, median ratio peer/bare %.4f, "
                + "peer %.1f sentences/s, bare %.1f sentences/s%n",
            batch, pairs, mb, mp, median(ratio), batch * 1000 / mp, batch * 1000 / mb);
      } finally {
        b.tearDown();
      }
    }
  }

  private static double timePeer(OnnxPeerBenchmark b) {
    long t0 = System.nanoTime();
    b.peer();
    return (System.nanoTime() - t0) / 1e6;
  }

  private static double timeBare(OnnxPeerBenchmark b) throws Exception {
    long t0 = System.nanoTime();
    b.bareSession();
    return (System.nanoTime() - t0) / 1e6;
  }

  /** The median of {@code v}; not modified. */
  static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }
}
