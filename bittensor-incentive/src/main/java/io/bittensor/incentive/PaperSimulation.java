package io.bittensor.incentive;

import java.util.Objects;

/**
 * A network advanced epoch after epoch under the paper's mechanism, holding its own stake and
 * bonds and overwriting them in place: for research loops that run many epochs.
 *
 * <p>{@link PaperMechanism#step} leaves its input untouched and returns the new bonds in fresh
 * memory, an {@code n x n} array every epoch (134 MB at 4096 dense peers) that the JVM must zero
 * and the epoch must then fill. Here the dense bonds live in one array that each epoch updates row
 * by row, {@code B += diag(s) W}, so an epoch makes two passes over memory (weights and bonds,
 * then the new bonds for the dividends) instead of four. The numbers are the same, bit for bit,
 * as chaining {@code step} on the same mechanism.
 *
 * <pre>{@code
 * PeerVector stake = ...;
 * PeerMatrix weights = ...;
 * PeerMatrix newWeights = ...;
 * PaperSimulation sim = PaperSimulation.start(
 *     PaperMechanism.of(PaperParams.defaults()), NetworkState.of(stake, weights));
 * for (int epoch = 0; epoch < 1000; epoch++) {
 *   EpochSummary summary = sim.step();        // stake and bonds advance in place
 *   if (epoch == 500) {
 *     sim.setWeights(newWeights);              // peers re-vote
 *   }
 * }
 * NetworkState end = sim.snapshot();           // copies, for keeping
 * }</pre>
 *
 * <p>Bonds are kept dense (and updated in place) whenever the weights or the initial bonds are
 * dense, as {@code step} would make them. Sparse weights over sparse bonds stay sparse, and each
 * epoch's new bonds then take new memory as with {@code step}.
 *
 * <p>Not thread-safe: one thread steps it (the mechanism's executor may still split each epoch).
 * The initial state and every matrix or vector handed in or out are never modified.
 */
public final class PaperSimulation {
  private final PaperMechanism mechanism;
  private final int n;
  /** The dense bonds, written in place each epoch; null while the bonds are sparse. */
  private double[] bondsBuffer;
  private PeerVector stake;
  private PeerMatrix weights;
  /** A view of {@link #bondsBuffer} (never handed out), or the sparse bonds. */
  private PeerMatrix bonds;
  private long epochs;
  private boolean broken;

  private PaperSimulation(PaperMechanism mechanism, NetworkState initial) {
    this.mechanism = Objects.requireNonNull(mechanism, "mechanism");
    this.n = Objects.requireNonNull(initial, "initial").size();
    this.stake = initial.stake();
    this.bonds = initial.bonds();
    this.weights = initial.weights();
    if (!(weights instanceof CsrMatrix && bonds instanceof CsrMatrix)) {
      makeBondsDense();
    }
  }

  /** From here on the bonds live in {@link #bondsBuffer}, as {@code step} would make them. */
  private void makeBondsDense() {
    // toRowMajor copies: the caller's bonds stay as they were.
    bondsBuffer = bonds.toDense().toRowMajor();
    bonds = DenseMatrix.adopt(n, bondsBuffer);
    weights = weights.toDense();
  }

  /**
   * A simulation starting from {@code initial} (its bonds are copied once).
   *
   * @throws NullPointerException if either argument is null
   */
  public static PaperSimulation start(PaperMechanism mechanism, NetworkState initial) {
    return new PaperSimulation(mechanism, initial);
  }

  /**
   * Runs one epoch: the stake gains the epoch's emission and the bonds its votes.
   *
   * @return what the epoch computed, except the bonds (see {@link #bonds()})
   * @throws IllegalArgumentException as {@link PaperMechanism#step} does (all stake zero, or rows
   *     that do not sum to 1 with normalisation off); nothing has changed then
   * @throws ArithmeticException if a peer's stake overflows a double; the bonds have advanced but
   *     the stake has not, so the simulation refuses to step again
   * @throws IllegalStateException after such an overflow
   */
  public EpochSummary step() {
    if (broken) {
      throw new IllegalStateException(
          "a stake overflowed in epoch " + epochs + "; the simulation's state is inconsistent");
    }
    EpochResult result;
    try {
      result = mechanism.compute(stake, weights, bonds, bondsBuffer);
    } catch (ArithmeticException e) {
      broken = bondsBuffer != null;
      throw e;
    }
    stake = result.stake();
    if (bondsBuffer == null) {
      bonds = result.bonds();
    }
    epochs++;
    return new EpochSummary(
        result.ranks(), result.trust(), result.consensus(), result.incentive(),
        result.dividends(), result.emission(), result.stake(), result.loss());
  }

  /** The number of epochs run so far. */
  public long epochs() {
    return epochs;
  }

  /** The number of peers. */
  public int size() {
    return n;
  }

  /** The current stake (immutable). */
  public PeerVector stake() {
    return stake;
  }

  /** The current weights (immutable). */
  public PeerMatrix weights() {
    return weights;
  }

  /** A copy of the current bonds: {@code n * n} entries when they are dense. */
  public PeerMatrix bonds() {
    return bondsBuffer != null ? DenseMatrix.adopt(n, bondsBuffer.clone()) : bonds;
  }

  /** The current state, copied: it does not change as the simulation goes on. */
  public NetworkState snapshot() {
    return new NetworkState(stake, weights, bonds());
  }

  /**
   * Replaces the weights from the next epoch on (peers re-vote). With dense bonds, sparse weights
   * are stored dense, once, rather than densified every epoch; dense weights over sparse bonds
   * make the bonds dense from here on (as {@code step} would).
   *
   * @throws IllegalArgumentException if {@code weights} is not {@code n x n}
   */
  public void setWeights(PeerMatrix weights) {
    Objects.requireNonNull(weights, "weights");
    if (weights.size() != n) {
      throw new IllegalArgumentException(
          "weights must be " + n + " x " + n + ", was " + weights.size() + " x " + weights.size());
    }
    this.weights = weights;
    if (bondsBuffer != null) {
      this.weights = weights.toDense();
    } else if (weights instanceof DenseMatrix) {
      makeBondsDense();
    }
  }

  /**
   * Replaces the stake from the next epoch on (stake moved outside the mechanism).
   *
   * @throws IllegalArgumentException if {@code stake} does not have {@code n} entries or one is
   *     negative
   */
  public void setStake(PeerVector stake) {
    Objects.requireNonNull(stake, "stake");
    if (stake.size() != n) {
      throw new IllegalArgumentException(
          "stake must have " + n + " entries, was " + stake.size());
    }
    for (int i = 0; i < n; i++) {
      if (stake.get(i) < 0) {
        throw new IllegalArgumentException(
            "stake[" + i + "] must be finite and >= 0, was " + stake.get(i));
      }
    }
    this.stake = stake;
  }

  @Override
  public String toString() {
    return "PaperSimulation[n=" + n + ", epochs=" + epochs + ", bonds="
        + (bondsBuffer != null ? "dense" : "sparse") + ", " + mechanism + "]";
  }
}
