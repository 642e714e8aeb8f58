package io.bittensor.benchmarks;

import io.bittensor.transport.HttpProtocol;
import java.util.Arrays;
import java.util.List;

/**
 * The options of the benchmarks that interleave their kinds by hand, round after round, rather
 * than through JMH ({@code HandshakeCost}, {@code StrangerCost}), and the median they report.
 *
 * @param rounds the rounds measured
 * @param warmup the rounds run first and not measured
 * @param protocol the HTTP protocol the clients speak
 */
record InterleavedRounds(int rounds, int warmup, HttpProtocol protocol) {
  /**
   * Reads {@code --rounds N}, {@code --warmup N} and {@code --protocol P} (HTTP/1.1 unless given).
   *
   * @throws IllegalArgumentException for any other option
   */
  static InterleavedRounds parse(String[] args, int rounds, int warmup) {
    HttpProtocol protocol = HttpProtocol.HTTP_1_1;
    for (int i = 0; i < args.length; i += 2) {
      switch (args[i]) {
        case "--rounds" -> rounds = Integer.parseInt(args[i + 1]);
        case "--warmup" -> warmup = Integer.parseInt(args[i + 1]);
        case "--protocol" -> protocol = HttpProtocol.valueOf(args[i + 1]);
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    return new InterleavedRounds(rounds, warmup, protocol);
  }

  /** The upper median of {@code samples}. */
  static double median(List<Long> samples) {
    long[] v = samples.stream().mapToLong(Long::longValue).toArray();
    Arrays.sort(v);
    return v[v.length / 2];
  }
}
