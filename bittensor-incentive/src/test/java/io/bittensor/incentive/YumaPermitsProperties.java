package io.bittensor.incentive;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.bittensor.incentive.testing.RandomNetworks;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Validator permits and the sort under them, against the JDK's stable sort: the permits go to
 * the {@code k} largest stakes, ties to the higher uid, at every size (the sort switches from
 * insertion to partitioning above 24 peers) and with many ties.
 */
class YumaPermitsProperties {

  static LongStream seeds() {
    return RandomNetworks.seeds(120);
  }

  /** Keys with many ties (a few distinct values) or none, sometimes zero. */
  private static long[] keys(SplittableRandom random, int n) {
    int distinct = random.nextBoolean() ? 1 + random.nextInt(4) : Integer.MAX_VALUE;
    long[] keys = new long[n];
    for (int i = 0; i < n; i++) {
      keys[i] = distinct == Integer.MAX_VALUE ? random.nextLong(0, Long.MAX_VALUE)
          : random.nextInt(distinct);
    }
    return keys;
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void sortingByKeyIsAStableSortOfTheIndices(long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    int n = random.nextInt(400);
    long[] keys = keys(random, n);
    int from = n == 0 ? 0 : random.nextInt(n);
    int to = from + random.nextInt(n - from + 1);
    long[] sortedKeys = keys.clone();
    int[] idx = IntStream.range(0, n).toArray();
    YumaLayout.sortByKey(sortedKeys, idx, from, to);

    int[] expected = stableOutsideRange(n, from, to, keys);
    String at = "seed " + seed + " (n=" + n + ", [" + from + ", " + to + "))";
    assertArrayEquals(expected, idx, at + ": indices");
    long[] expectedKeys = new long[n];
    for (int i = 0; i < n; i++) {
      expectedKeys[i] = keys[expected[i]];
    }
    assertArrayEquals(expectedKeys, sortedKeys, at + ": keys moved with their indices");
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void permitsGoToTheLargestKeysTiesToTheHigherUid(long seed) {
    SplittableRandom random = new SplittableRandom(seed ^ 0x7065726DL);
    int n = random.nextInt(200);
    long[] keys = keys(random, n);
    for (int i = 0; i < n; i++) {
      keys[i] = random.nextInt(5) == 0 ? 0 : keys[i];
    }
    int k = random.nextInt(n + 2);
    boolean[] expected = new boolean[n];
    Integer[] byStake = IntStream.range(0, n).boxed().toArray(Integer[]::new);
    // Largest key first, the higher uid first among equals.
    java.util.Arrays.sort(byStake, Comparator.comparingLong((Integer i) -> keys[i]).reversed()
        .thenComparing(Comparator.reverseOrder()));
    for (int r = 0; r < Math.min(k, n); r++) {
      expected[byStake[r]] = keys[byStake[r]] != 0;
    }
    if (n < k) {
      for (int i = 0; i < n; i++) {
        expected[i] = keys[i] != 0;
      }
    }
    assertArrayEquals(expected, YumaLayout.topKNonZero(keys.clone(), k),
        "seed " + seed + " (n=" + n + ", k=" + k + ")");
  }

  /** The indices after a stable sort of {@code [from, to)} by key, the rest in place. */
  private static int[] stableOutsideRange(int n, int from, int to, long[] keys) {
    Integer[] inside = IntStream.range(from, to).boxed().toArray(Integer[]::new);
    java.util.Arrays.sort(inside, Comparator.comparingLong(i -> keys[i])); // stable
    int[] out = IntStream.range(0, n).toArray();
    for (int i = 0; i < inside.length; i++) {
      out[from + i] = inside[i];
    }
    return out;
  }
}
