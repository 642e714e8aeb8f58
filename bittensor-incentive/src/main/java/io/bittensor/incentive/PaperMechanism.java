package io.bittensor.incentive;

import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * The incentive mechanism of the paper "Bittensor: A Peer-to-Peer Intelligence Market", exactly.
 * For {@code n} peers with stake {@code S}, weights {@code W} and bonds {@code B}:
 *
 * <pre>
 * s    = S / sum(S)                         normalised stake
 * R    = W^T s                              r_j = sum_i w_ij s_i               (ranks)
 * T    = [w_ij &gt; 0]                        trust matrix
 * t    = T^T s                              stake share with an edge to j      (trust)
 * C    = sigmoid(rho (t - kappa))                                              (consensus)
 * I    = R*C / sum(R*C)                     zero vector when the sum is 0      (incentive)
 * B'   = B + diag(s) W                      b_ij += s_i w_ij                   (bonds)
 * beta = B' / colsum(B')                    a column of zeros stays zero
 * dS   = (1 - bondShare) I + bondShare beta I                                  (emission share)
 * S'   = S + tau dS                         emission = tau dS, summing to tau
 * L    = -R . (C - 0.5)                     the chain's loss; &lt; 0 is consensus
 * </pre>
 *
 * <p>{@code W} is first scaled row by row to sum 1 (unless {@link PaperParams#normalizeRows()} is
 * off) after dropping self-weights (when {@link PaperParams#maskSelfWeights()} is on, which needs
 * the scaling). The paper writes {@code dS = 0.5 B^T I + 0.5 I}; with {@code B} indexed [owner,
 * target], the owner's share of each target's incentive is {@code beta I}: a peer that bonded
 * early to peers the majority later values earns a share of their incentive. When no peer has
 * any incentive (no weights at all), nothing is minted.
 *
 * <pre>{@code
 * PaperMechanism mechanism = PaperMechanism.of(PaperParams.defaults().withTau(100));
 * EpochResult epoch = mechanism.step(NetworkState.of(
 *     PeerVector.of(60, 40),
 *     PeerMatrix.dense(new double[][] {{0, 1}, {1, 0}})));
 * epoch.emission();   // sums to 100
 * }</pre>
 *
 * <p>Cost: one pass over the weights and bonds, then one over the new bonds; dense and sparse
 * forms give the same numbers to about 1e-15. Sparse bonds that share the weights' pattern
 * (bonds carried forward under fixed weights do) cost only a new value array per epoch. Dense
 * epochs can use more cores through {@link #withExecutor}, with identical results.
 *
 * <p>Thread-safe: immutable; concurrent epochs share nothing.
 */
public final class PaperMechanism implements IncentiveMechanism {
  private final PaperParams params;
  private final Executor executor;

  private PaperMechanism(PaperParams params, Executor executor) {
    this.params = Objects.requireNonNull(params, "params");
    this.executor = executor;
  }

  /** The mechanism with the given parameters, running on the calling thread. */
  public static PaperMechanism of(PaperParams params) {
    return new PaperMechanism(params, null);
  }

  /**
   * A copy that runs each epoch's row blocks on {@code executor} as well as on the calling
   * thread. The results are identical, bit for bit, to running on the calling thread alone:
   * the blocks and the order their partial sums merge in are fixed. The executor stays the
   * caller's to shut down; a saturated or rejecting executor only slows the epoch down.
   *
   * @param executor for example a {@code ForkJoinPool} with one thread per core
   */
  public PaperMechanism withExecutor(Executor executor) {
    return new PaperMechanism(params, Objects.requireNonNull(executor, "executor"));
  }

  /** A copy that runs on the calling thread alone (the default). */
  public PaperMechanism sequential() {
    return new PaperMechanism(params, null);
  }

  /** Its parameters. */
  public PaperParams params() {
    return params;
  }

  /** A copy with other parameters. */
  public PaperMechanism withParams(PaperParams params) {
    return new PaperMechanism(params, executor);
  }

  @Override
  public String name() {
    return "paper";
  }

  /**
   * {@inheritDoc}
   *
   * @throws IllegalArgumentException if the network has no peers, all stake is zero, or (with row
   *     normalisation off) a non-zero weight row does not sum to 1 within {@link
   *     PaperParams#ROW_SUM_TOLERANCE}
   */
  @Override
  public EpochResult step(NetworkState state) {
    return compute(state.stake(), state.weights(), state.bonds(), null);
  }

  /**
   * One epoch. With {@code bondsInto} ({@code n * n}, dense epochs only) the new bonds are
   * written there, which may be the dense bonds' own array ({@link PaperSimulation} steps in
   * place); without it they take fresh memory.
   */
  EpochResult compute(
      PeerVector stakeVector, PeerMatrix weights, PeerMatrix bonds, double[] bondsInto) {
    int n = stakeVector.size();
    if (n == 0) {
      throw new IllegalArgumentException("the network has no peers");
    }
    double[] stake = stakeVector.raw();
    double total = stakeVector.sum();
    if (total <= 0) {
      throw new IllegalArgumentException(
          "stake is all zero: the mechanism weighs votes by stake, so some peer must hold stake");
    }
    if (!params.normalizeRows()) {
      requireStochasticRows(weights);
    }
    double[] s = new double[n];
    for (int i = 0; i < n; i++) {
      s[i] = stake[i] / total;
    }

    PaperKernel.Pass pass = firstPass(weights, bonds, s, bondsInto);

    double[] consensus = new double[n];
    PaperOps.consensus(pass.trust(), params.rho(), params.kappa(), consensus);
    double[] incentive = new double[n];
    PaperOps.incentive(pass.ranks(), consensus, incentive);
    double loss = PaperOps.loss(pass.ranks(), consensus);

    double[] dividends = new double[n];
    if (anyOutOfRange(pass.bondColumnSums(), incentive)) {
      PaperKernel.dividendsOfOutOfRangeColumns(
          pass.bonds(), pass.bondColumnSums(), incentive, dividends);
    } else {
      double[] perUnitBond = new double[n];
      PaperOps.perUnitBond(pass.bondColumnSums(), incentive, perUnitBond);
      PaperKernel.dividends(pass.bonds(), perUnitBond, dividends, executor);
    }

    double tau = params.emission().amount(total);
    double bondShare = params.bondShare();
    double[] emission = new double[n];
    double[] newStake = new double[n];
    for (int i = 0; i < n; i++) {
      double share = (1 - bondShare) * incentive[i] + bondShare * dividends[i];
      // A zero share mints nothing even when tau overflows (0 * Infinity would be NaN).
      emission[i] = share == 0 ? 0.0 : tau * share;
      newStake[i] = stake[i] + emission[i];
      if (!Double.isFinite(newStake[i])) {
        throw new ArithmeticException("stake of peer " + i + " overflows a double");
      }
    }
    return new EpochResult(
        PeerVector.adopt(pass.ranks()),
        PeerVector.adopt(pass.trust()),
        PeerVector.adopt(consensus),
        PeerVector.adopt(incentive),
        PeerVector.adopt(dividends),
        pass.bonds(),
        PeerVector.adopt(emission),
        PeerVector.adopt(newStake),
        loss);
  }

  private PaperKernel.Pass firstPass(
      PeerMatrix weights, PeerMatrix bonds, double[] s, double[] bondsInto) {
    boolean normalize = params.normalizeRows();
    boolean mask = params.maskSelfWeights();
    int n = s.length;
    if (weights instanceof CsrMatrix w && bonds instanceof CsrMatrix b) {
      return PaperKernel.csr(w, b, s, normalize, mask);
    }
    // Dense bonds already take n * n memory: a dense copy of sparse weights costs no more.
    DenseMatrix w = weights instanceof DenseMatrix d ? d : weights.toDense();
    double[] out = bondsInto != null ? bondsInto : new double[n * n];
    return PaperKernel.dense(w, bonds, s, normalize, mask, executor, out);
  }

  private static boolean anyOutOfRange(double[] columnSums, double[] incentive) {
    for (int j = 0; j < columnSums.length; j++) {
      if (PaperKernel.perUnitBondOutOfRange(columnSums[j], incentive[j])) {
        return true;
      }
    }
    return false;
  }

  private static void requireStochasticRows(PeerMatrix weights) {
    for (int i = 0; i < weights.size(); i++) {
      double sum = weights.rowSum(i);
      if (sum != 0 && Math.abs(sum - 1) > PaperParams.ROW_SUM_TOLERANCE) {
        throw new IllegalArgumentException(
            "weights row " + i + " sums to " + sum + "; with normalizeRows off every row must sum"
                + " to 1 (or be all zero)");
      }
    }
  }

  @Override
  public String toString() {
    return "PaperMechanism" + params;
  }
}
