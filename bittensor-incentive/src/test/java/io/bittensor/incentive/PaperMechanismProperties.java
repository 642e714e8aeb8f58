package io.bittensor.incentive;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.bittensor.incentive.testing.RandomNetworks;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Invariants of the paper's mechanism over many seeded random networks (see {@link
 * RandomNetworks}); each failure names its seed.
 */
class PaperMechanismProperties {
  private static final int MAX_PEERS = 24;

  static LongStream seeds() {
    return RandomNetworks.seeds(300);
  }

  private static PaperParams params(long seed) {
    SplittableRandom random = new SplittableRandom(seed * 31 + 7);
    return PaperParams.defaults()
        .withRho(random.nextDouble(0, 30))
        .withKappa(random.nextDouble())
        .withBondShare(random.nextDouble())
        .withTau(random.nextDouble(0.001, 1000))
        .withMaskSelfWeights(random.nextInt(4) == 0);
  }

  private static void close(double expected, double actual, double relTol, String what) {
    double tol = relTol * Math.max(1, Math.abs(expected));
    if (!(Math.abs(expected - actual) <= tol)) {
      fail(what + ": expected " + expected + " but was " + actual);
    }
  }

  private static void close(PeerVector expected, PeerVector actual, double relTol, String what) {
    double scale = Math.max(1, expected.stream().map(Math::abs).max().orElse(1));
    for (int i = 0; i < expected.size(); i++) {
      close(expected.get(i) / scale, actual.get(i) / scale, relTol, what + "[" + i + "]");
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void totalEmissionEqualsTauWheneverAnyIncentiveIsNonZero(long seed) {
    NetworkState state = RandomNetworks.network(seed, MAX_PEERS);
    PaperParams p = params(seed);
    EpochResult r = PaperMechanism.of(p).step(state);

    double tau = p.emission().amount(state.stake().sum());
    if (r.incentive().sum() > 0) {
      close(tau, r.minted(), 1e-12, "seed " + seed + ": minted");
      close(1.0, r.incentive().sum(), 1e-12, "seed " + seed + ": sum of incentive");
      close(1.0, r.dividends().sum(), 1e-12, "seed " + seed + ": sum of dividends");
    } else {
      assertEquals(0.0, r.minted(), "seed " + seed + ": nothing to reward, nothing minted");
    }
    close(state.stake().sum() + r.minted(), r.stake().sum(), 1e-12, "seed " + seed + ": stake");
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void outputsAreFiniteAndWithinTheirRanges(long seed) {
    NetworkState state = RandomNetworks.network(seed, MAX_PEERS);
    EpochResult r = PaperMechanism.of(params(seed)).step(state);
    String at = "seed " + seed;

    for (int j = 0; j < r.size(); j++) {
      assertTrue(r.ranks().get(j) >= 0 && r.ranks().get(j) <= 1 + 1e-12, at + " rank " + j);
      assertTrue(r.trust().get(j) >= 0 && r.trust().get(j) <= 1 + 1e-12, at + " trust " + j);
      assertTrue(r.consensus().get(j) >= 0 && r.consensus().get(j) <= 1, at + " consensus " + j);
      assertTrue(r.incentive().get(j) >= 0, at + " incentive " + j);
      assertTrue(r.dividends().get(j) >= 0, at + " dividends " + j);
      assertTrue(r.emission().get(j) >= 0, at + " emission " + j);
      assertTrue(r.stake().get(j) >= state.stake().get(j), at + " stake never falls " + j);
      // A peer ranks no higher than the stake that trusts it.
      assertTrue(r.ranks().get(j) <= r.trust().get(j) + 1e-12, at + " rank <= trust " + j);
    }
    for (int i = 0; i < r.size(); i++) {
      for (int j = 0; j < r.size(); j++) {
        assertTrue(r.bonds().get(i, j) >= state.bonds().get(i, j), at + " bonds only grow");
      }
    }
    assertTrue(Double.isFinite(r.loss()), at);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void agreesWithTheNaiveMatrixReference(long seed) {
    NetworkState state = RandomNetworks.network(seed, MAX_PEERS);
    PaperParams p = params(seed);
    EpochResult r = PaperMechanism.of(p).step(state);
    NaiveReference.Result ref = NaiveReference.step(state, p);
    String at = "seed " + seed + " ";

    close(PeerVector.of(ref.ranks()), r.ranks(), 1e-12, at + "ranks");
    close(PeerVector.of(ref.trust()), r.trust(), 1e-12, at + "trust");
    close(PeerVector.of(ref.consensus()), r.consensus(), 1e-12, at + "consensus");
    close(PeerVector.of(ref.incentive()), r.incentive(), 1e-12, at + "incentive");
    close(PeerVector.of(ref.dividends()), r.dividends(), 1e-12, at + "dividends");
    close(PeerVector.of(ref.emission()), r.emission(), 1e-12, at + "emission");
    close(PeerVector.of(ref.stake()), r.stake(), 1e-12, at + "stake");
    close(ref.loss(), r.loss(), 1e-12, at + "loss");
    assertTrue(r.bonds().approximatelyEquals(DenseMatrix.of(ref.bonds()), 1e-12), at + "bonds");
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void denseAndSparseFormsAgreeTo1e12(long seed) {
    NetworkState dense = RandomNetworks.network(seed, 1 + (int) (seed % MAX_PEERS), false);
    PaperMechanism m = PaperMechanism.of(params(seed));
    NetworkState sparseWeights = dense.withWeights(dense.weights().toCsr());
    NetworkState allSparse = sparseWeights.withBonds(dense.bonds().toCsr());
    NetworkState denseWeightsSparseBonds = dense.withBonds(dense.bonds().toCsr());

    EpochResult expected = m.step(dense);
    for (NetworkState form : new NetworkState[] {allSparse, sparseWeights,
        denseWeightsSparseBonds}) {
      EpochResult actual = m.step(form);
      String at = "seed " + seed + " form " + form.weights().getClass().getSimpleName() + "/"
          + form.bonds().getClass().getSimpleName();
      for (var output : outputs()) {
        close(output.apply(expected), output.apply(actual), 1e-12, at);
      }
      close(expected.loss(), actual.loss(), 1e-12, at + " loss");
      assertTrue(expected.bonds().approximatelyEquals(actual.bonds(), 1e-12), at + " bonds");
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void anExecutorChangesNoBitOfTheResult(long seed) {
    NetworkState state = RandomNetworks.network(seed, 40);
    PaperMechanism sequential = PaperMechanism.of(params(seed));
    EpochResult expected = sequential.step(state);
    EpochResult parallel = sequential.withExecutor(POOL).step(state);

    for (var output : outputs()) {
      assertEquals(output.apply(expected), output.apply(parallel), "seed " + seed);
    }
    assertEquals(expected.loss(), parallel.loss(), "seed " + seed);
    assertEquals(expected.bonds().toDense(), parallel.bonds().toDense(), "seed " + seed);
  }

  private static final java.util.concurrent.ForkJoinPool POOL =
      new java.util.concurrent.ForkJoinPool(3);

  @org.junit.jupiter.api.AfterAll
  static void shutDownPool() {
    POOL.shutdownNow();
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void relabellingPeersPermutesEveryOutputTheSameWay(long seed) {
    NetworkState state = RandomNetworks.network(seed, MAX_PEERS);
    int[] perm = RandomNetworks.permutation(seed, state.size());
    PaperMechanism m = PaperMechanism.of(params(seed));
    EpochResult r = m.step(state);
    EpochResult p = m.step(RandomNetworks.permute(state, perm));

    for (var output : outputs()) {
      PeerVector before = output.apply(r);
      PeerVector after = output.apply(p);
      double[] unpermuted = new double[before.size()];
      for (int i = 0; i < unpermuted.length; i++) {
        unpermuted[i] = after.get(perm[i]);
      }
      close(before, PeerVector.of(unpermuted), 1e-12, "seed " + seed);
    }
    for (int i = 0; i < state.size(); i++) {
      for (int j = 0; j < state.size(); j++) {
        close(r.bonds().get(i, j), p.bonds().get(perm[i], perm[j]), 1e-12, "seed " + seed);
      }
    }
    close(r.loss(), p.loss(), 1e-12, "seed " + seed + " loss");
  }

  @SuppressWarnings("unchecked")
  private static Function<EpochResult, PeerVector>[] outputs() {
    return new Function[] {
      (Function<EpochResult, PeerVector>) EpochResult::ranks,
      (Function<EpochResult, PeerVector>) EpochResult::trust,
      (Function<EpochResult, PeerVector>) EpochResult::consensus,
      (Function<EpochResult, PeerVector>) EpochResult::incentive,
      (Function<EpochResult, PeerVector>) EpochResult::dividends,
      (Function<EpochResult, PeerVector>) EpochResult::emission,
      (Function<EpochResult, PeerVector>) EpochResult::stake,
    };
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void scalingAllStakeLeavesRanksTrustConsensusAndIncentiveUnchanged(long seed) {
    NetworkState state = RandomNetworks.network(seed, MAX_PEERS);
    double c = Math.pow(10, new SplittableRandom(seed).nextInt(-5, 6)) * 1.37;
    double[] scaled = state.stake().toArray();
    for (int i = 0; i < scaled.length; i++) {
      scaled[i] *= c;
    }
    PaperMechanism m = PaperMechanism.of(params(seed));
    EpochResult a = m.step(state);
    EpochResult b = m.step(state.withStake(PeerVector.of(scaled)));
    String at = "seed " + seed + " c=" + c;

    close(a.ranks(), b.ranks(), 1e-12, at + " ranks");
    close(a.trust(), b.trust(), 1e-12, at + " trust");
    close(a.consensus(), b.consensus(), 1e-12, at + " consensus");
    close(a.incentive(), b.incentive(), 1e-12, at + " incentive");
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void addingAVoteFromAStakedPeerNeverLowersTheTargetsRank(long seed) {
    NetworkState state = RandomNetworks.network(seed, MAX_PEERS);
    SplittableRandom random = new SplittableRandom(seed);
    int n = state.size();
    int voter = -1;
    for (int i = 0; i < n && voter < 0; i++) {
      int candidate = (int) ((i + seed) % n);
      if (state.stake().get(candidate) > 0) {
        voter = candidate;
      }
    }
    int target = random.nextInt(n);
    double[][] w = state.weights().toArray();
    w[voter][target] += random.nextDouble(0.01, 10);
    PaperMechanism m = PaperMechanism.of(params(seed).withMaskSelfWeights(false));
    EpochResult before = m.step(state);
    EpochResult after = m.step(state.withWeights(PeerMatrix.dense(w)));

    assertTrue(after.ranks().get(target) >= before.ranks().get(target) - 1e-15,
        "seed " + seed + ": rank of " + target + " fell from " + before.ranks().get(target)
            + " to " + after.ranks().get(target) + " when " + voter + " voted for it");
    assertTrue(after.trust().get(target) >= before.trust().get(target) - 1e-15,
        "seed " + seed + ": trust fell");
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void lossIsNegativeExactlyWhenRankFlowsMostlyToPeersWithConsensus(long seed) {
    NetworkState state = RandomNetworks.network(seed, MAX_PEERS);
    EpochResult r = PaperMechanism.of(params(seed)).step(state);

    double rankTotal = r.ranks().sum();
    double weightedConsensus = 0;
    for (int j = 0; j < r.size(); j++) {
      weightedConsensus += r.ranks().get(j) * r.consensus().get(j);
    }
    if (rankTotal == 0) {
      assertEquals(0.0, r.loss(), "seed " + seed);
      return;
    }
    // L = -R.(C - 0.5) < 0  <=>  the rank-weighted mean consensus exceeds one half.
    double meanConsensus = weightedConsensus / rankTotal;
    if (Math.abs(meanConsensus - 0.5) > 1e-9) {
      assertEquals(meanConsensus > 0.5, r.loss() < 0,
          "seed " + seed + ": mean consensus " + meanConsensus + " but loss " + r.loss());
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void runCarriesStakeAndBondsForward(long seed) {
    NetworkState state = RandomNetworks.network(seed, 12);
    PaperMechanism m = PaperMechanism.of(params(seed));
    var results = m.run(state, 3);
    assertEquals(3, results.size(), "seed " + seed + ": one result per epoch");
    assertEquals(List.of(), m.run(state, 0), "seed " + seed + ": no epochs, no results");

    NetworkState manual = state;
    for (EpochResult expected : results) {
      EpochResult actual = m.step(manual);
      assertEquals(expected.stake(), actual.stake(), "seed " + seed);
      // Each epoch adds diag(s) W to the bonds: row i gains s_i if its (masked) row has votes.
      double added = 0;
      double expectedAdded = 0;
      for (int i = 0; i < state.size(); i++) {
        added += actual.bonds().rowSum(i) - manual.bonds().rowSum(i);
        double votes = manual.weights().rowSum(i)
            - (m.params().maskSelfWeights() ? manual.weights().get(i, i) : 0);
        if (votes > 1e-300) {
          expectedAdded += manual.stake().get(i) / manual.stake().sum();
        }
      }
      close(expectedAdded, added, 1e-9, "seed " + seed + " bonds added in an epoch");
      manual = new NetworkState(actual.stake(), manual.weights(), actual.bonds());
    }
  }

  /**
   * A lone voter with a tiny stake share (its votes are all the rank there is) and a weight row
   * of any finite magnitude earns its targets what the same row scaled to sum 1 does: the row's
   * scale must not reach the votes through an underflowing {@code s_i / rowSum}.
   */
  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void aLoneVotersRowOfAnyMagnitudeRanksAsItsNormalisedRowWhateverItsStakeShare(long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    int n = 2 + random.nextInt(11);
    int voter = random.nextInt(n);
    double[] stake = new double[n];
    java.util.Arrays.fill(stake, 1.0);
    stake[voter] = Math.pow(10, -random.nextInt(0, 301)); // a share down to 1e-301
    double[] row = new double[n];
    for (int j = 0; j < n; j++) {
      row[j] = j != voter && random.nextInt(3) > 0 ? random.nextDouble(0.1, 1) : 0.0;
    }
    row[(voter + 1) % n] = random.nextDouble(0.1, 1); // one vote that masking keeps
    double rowSum = 0;
    for (double v : row) {
      rowSum += v;
    }
    double scale = Math.pow(10, random.nextInt(-300, 301));
    double[][] unit = new double[n][n];
    double[][] scaled = new double[n][n];
    for (int j = 0; j < n; j++) {
      unit[voter][j] = row[j] / rowSum;
      scaled[voter][j] = row[j] * scale;
    }
    PaperMechanism m = PaperMechanism.of(params(seed));
    double share = stake[voter] / PeerVector.of(stake).sum();
    EpochResult expected = m.step(NetworkState.of(PeerVector.of(stake), PeerMatrix.dense(unit)));
    for (PeerMatrix w : new PeerMatrix[] {PeerMatrix.dense(scaled),
        PeerMatrix.dense(scaled).toCsr()}) {
      EpochResult actual = m.step(NetworkState.of(PeerVector.of(stake), w));
      String at = "seed " + seed + " (share " + share + ", row x"
          + scale + ", " + w.getClass().getSimpleName() + ")";
      double top = expected.ranks().stream().max().orElse(0);
      assertTrue(top > 0, at + ": the unit row ranks nothing");
      for (int j = 0; j < n; j++) {
        close(expected.ranks().get(j) / top, actual.ranks().get(j) / top, 1e-12,
            at + " ranks[" + j + "] / max");
      }
      close(expected.incentive(), actual.incentive(), 1e-12, at + " incentive");
      close(expected.emission(), actual.emission(), 1e-12, at + " emission");
    }
  }
}
