package io.bittensor.incentive;

import io.bittensor.incentive.internal.Checks;
import java.util.Arrays;
import java.util.Objects;

/**
 * The collusion experiment of the paper's section 10: an honest sub-graph and a disjoint cabal
 * that votes only for itself share the network; each epoch mints stake by the mechanism, and the
 * cabal's share of all stake is tracked. With the honest side above half the stake, the cabal's
 * share decays towards zero; below half, the cabal wins.
 *
 * <pre>{@code
 * CollusionSimulation.Trajectory t = CollusionSimulation.builder()
 *     .honestShare(0.51)
 *     .epochs(100)
 *     .build()
 *     .run();
 * t.cabalShare(1);   // 0.4877323388820201, as the paper prints
 * }</pre>
 *
 * <p>Each group is fully connected: every member votes equally for every member of its own group
 * (itself included), never for the other group. The group sizes do not change the groups' shares
 * (each group's rank is its stake), only how they split inside. The epochs run through the
 * {@link IncentiveMechanism} given, the paper's with inflation 0.1 by default: the same code every
 * other caller runs. Thread-safe: immutable.
 */
public final class CollusionSimulation {
  private final double honestShare;
  private final int honestPeers;
  private final int cabalPeers;
  private final int epochs;
  private final IncentiveMechanism mechanism;

  private CollusionSimulation(Builder b) {
    this.honestShare = b.honestShare;
    this.honestPeers = b.honestPeers;
    this.cabalPeers = b.cabalPeers;
    this.epochs = b.epochs;
    this.mechanism = b.mechanism;
  }

  /** A builder with the paper's settings: honest share 0.51, inflation 0.1, rho 10, 100 epochs. */
  public static Builder builder() {
    return new Builder();
  }

  /** The paper's mechanism as section 10 runs it: rho 10, kappa 0.5, inflation 0.1 per epoch. */
  public static PaperMechanism papersMechanism() {
    return PaperMechanism.of(PaperParams.defaults().withEmission(Emission.inflation(0.1)));
  }

  /** The starting state: the honest peers first (uids {@code 0..honestPeers-1}), then the cabal. */
  public NetworkState initialState() {
    int n = honestPeers + cabalPeers;
    double[] stake = new double[n];
    CsrMatrix.Builder weights = CsrMatrix.builder(n, (int) weightCount(honestPeers, cabalPeers));
    for (int i = 0; i < n; i++) {
      boolean honest = i < honestPeers;
      int groupStart = honest ? 0 : honestPeers;
      int groupSize = honest ? honestPeers : cabalPeers;
      stake[i] = (honest ? honestShare : 1 - honestShare) / groupSize;
      int[] cols = new int[groupSize];
      double[] vals = new double[groupSize];
      for (int k = 0; k < groupSize; k++) {
        cols[k] = groupStart + k;
        vals[k] = 1.0 / groupSize;
      }
      weights.row(i, cols, vals);
    }
    return NetworkState.of(PeerVector.of(stake), weights.build());
  }

  /** Runs every epoch. */
  public Trajectory run() {
    double[] cabal = new double[epochs + 1];
    double[] loss = new double[epochs];
    NetworkState state = initialState();
    cabal[0] = cabalShare(state.stake());
    for (int e = 0; e < epochs; e++) {
      EpochResult result = mechanism.step(state);
      loss[e] = result.loss();
      state = mechanism.advance(state, result);
      cabal[e + 1] = cabalShare(state.stake());
    }
    return new Trajectory(honestShare, cabal, loss);
  }

  /** Every member votes for every member of its group: {@code h^2 + c^2} weights. */
  private static long weightCount(int honestPeers, int cabalPeers) {
    return (long) honestPeers * honestPeers + (long) cabalPeers * cabalPeers;
  }

  private double cabalShare(PeerVector stake) {
    double cabal = 0;
    for (int i = honestPeers; i < stake.size(); i++) {
      cabal += stake.get(i);
    }
    return cabal / stake.sum();
  }

  /**
   * The cabal's share of stake over the epochs of one run.
   *
   * @param honestShare the honest group's share of stake at the start
   */
  public record Trajectory(double honestShare, double[] cabalShares, double[] losses) {
    /** Copies the arrays. */
    public Trajectory {
      cabalShares = cabalShares.clone();
      losses = losses.clone();
    }

    /** The cabal's share after {@code epoch} epochs ({@code 0}: at the start). */
    public double cabalShare(int epoch) {
      return cabalShares[epoch];
    }

    /** The number of epochs run. */
    public int epochs() {
      return losses.length;
    }

    /** A copy of the shares, one per epoch, the start first. */
    @Override
    public double[] cabalShares() {
      return cabalShares.clone();
    }

    /** A copy of the chain's loss at each epoch. */
    @Override
    public double[] losses() {
      return losses.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Trajectory t
          && t.honestShare == honestShare
          && Arrays.equals(t.cabalShares, cabalShares)
          && Arrays.equals(t.losses, losses);
    }

    @Override
    public int hashCode() {
      return Double.hashCode(honestShare) * 31 + Arrays.hashCode(cabalShares);
    }

    @Override
    public String toString() {
      return "Trajectory[honestShare=" + honestShare + ", epochs=" + epochs()
          + ", finalCabalShare=" + cabalShares[epochs()] + "]";
    }
  }

  /** Configures a {@link CollusionSimulation}. Not thread-safe. */
  public static final class Builder {
    /** The most entries a {@link CsrMatrix.Builder} takes. */
    private static final long MAX_WEIGHTS = Integer.MAX_VALUE - 8;

    private double honestShare = 0.51;
    private int honestPeers = 6;
    private int cabalPeers = 4;
    private int epochs = 100;
    private IncentiveMechanism mechanism = papersMechanism();

    private Builder() {}

    /** The honest group's share of stake at the start, in {@code (0, 1)}; default 0.51. */
    public Builder honestShare(double share) {
      Checks.require(share > 0 && share < 1, "honest share must be in (0, 1), was %s", share);
      this.honestShare = share;
      return this;
    }

    /** Peers in the honest group, {@code >= 1}; default 6. */
    public Builder honestPeers(int count) {
      Checks.require(count >= 1, "honest peers must be >= 1, was %d", count);
      this.honestPeers = count;
      return this;
    }

    /** Peers in the cabal, {@code >= 1}; default 4. */
    public Builder cabalPeers(int count) {
      Checks.require(count >= 1, "cabal peers must be >= 1, was %d", count);
      this.cabalPeers = count;
      return this;
    }

    /** Epochs to run, {@code >= 0}; default 100. */
    public Builder epochs(int epochs) {
      Checks.require(epochs >= 0, "epochs must be >= 0, was %d", epochs);
      this.epochs = epochs;
      return this;
    }

    /** The mechanism that runs the epochs; default {@link #papersMechanism()}. */
    public Builder mechanism(IncentiveMechanism mechanism) {
      this.mechanism = Objects.requireNonNull(mechanism, "mechanism");
      return this;
    }

    /**
     * The simulation.
     *
     * @throws IllegalArgumentException if the groups' weights ({@code honestPeers^2 +
     *     cabalPeers^2}) are more than one sparse matrix holds
     */
    public CollusionSimulation build() {
      long weights = weightCount(honestPeers, cabalPeers);
      Checks.require(weights <= MAX_WEIGHTS,
          "%d honest and %d cabal peers vote with %d weights, more than one sparse matrix holds"
              + " (%d)", honestPeers, cabalPeers, weights, MAX_WEIGHTS);
      return new CollusionSimulation(this);
    }
  }
}
