package io.bittensor.incentive;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Yuma Consensus, the incentive mechanism the Bittensor chain (opentensor/subtensor) runs today:
 * the paper's sigmoid consensus grown into a stake-weighted median with clipping, and bonds that
 * pay validators for agreeing early with consensus.
 *
 * <pre>{@code
 * NetworkState network = SyntheticNetworks.dense(64, 7, true);
 * boolean[] permits = new boolean[64];
 * YumaConsensus yuma = YumaConsensus.of(YumaParams.defaults());
 * EpochResult epoch = yuma.step(network);            // everyone active and permitted
 * YumaResult full = yuma.epoch(YumaState.of(network)
 *     .withValidatorPermits(permits));                // the chain's full bookkeeping
 * }</pre>
 *
 * <h2>One epoch (restated from the chain's {@code run_epoch.rs})</h2>
 *
 * <ol>
 *   <li>Stake under {@code minStake} counts as zero; the rest is normalised: {@code S}. The next
 *       epoch's validator permits go to the {@code maxAllowedValidators} largest non-zero stakes
 *       (ties to the higher uid). This epoch uses the permits it was given.
 *   <li>Active stake: {@code S} with inactive peers (no weight update within
 *       {@code activityCutoff} blocks) and peers without a permit set to 0, normalised.
 *   <li>Weights: rows without a permit, self-weights, and weights set before their target's
 *       registration are dropped; rows normalised (all-zero rows stay zero).
 *   <li>Consensus {@code C_j}: the stake-weighted median of the validators' weights on {@code j},
 *       at majority {@code kappa} (the smallest weight that validators holding more than
 *       {@code 1 - kappa} of the stake give at most).
 *   <li>Clipped weights {@code Wc_ij = min(W_ij, C_j)}; validator trust {@code Tv_i = sum_j Wc_ij};
 *       ranks {@code R = Wc^T S}; server trust {@code R / (W^T S)}; incentive {@code I = R}
 *       normalised.
 *   <li>Bond weights {@code Wb = (1 - bondsPenalty) W + bondsPenalty Wc}.
 *   <li>Classic bonds: stored bonds to peers registered within the last tempo dropped, columns
 *       normalised; {@code dB = Wb} with each row scaled by the validator's active stake, columns
 *       normalised; {@code B' = alpha dB + (1 - alpha) B} with {@code alpha = 1 -
 *       bondsMovingAverage} (or liquid alpha: per target, a logistic in its consensus between
 *       {@code alphaLow} and {@code alphaHigh}); columns normalised; dividends
 *       {@code D_i = sum_j B'_ij I_j}, normalised; bonds stored column-max upscaled.
 *   <li>Yuma 3 bonds: {@code B' = alpha Wb + (1 - alpha) B} entry by entry (liquid alpha: per
 *       entry, a sigmoid in the distance to consensus, the result clamped to 1); dividends
 *       {@code D_i = S_i sum_j colnorm(B')_ij I_j}, normalised.
 *   <li>Emission: servers get {@code I / sum(I + D)}, validators {@code D / sum(I + D)} of the
 *       epoch's emission; when both are zero, validators get it by active stake (by stake when no
 *       stake is active). A peer's new bonds are stored when it holds a permit for the next epoch,
 *       cleared when it just lost one, and left as they were otherwise.
 * </ol>
 *
 * <p>{@link YumaParams.Precision#FIXED_POINT} follows the chain's number formats, and matches the
 * chain's own tests exactly (see the conformance suite); {@code FLOAT64} is the same algorithm in
 * doubles. Dense and sparse inputs run one sparse kernel, so they give the same numbers; the new
 * bonds come back in the form of the input weights. Where the chain's dense and sparse epochs
 * differ (with Yuma 3 and liquid alpha on, the chain's sparse epoch drops a bond whose validator
 * no longer weights its target, the dense one decays it), this follows the dense one, which is
 * also what the formulas say.
 *
 * <p>Thread-safe: immutable; concurrent epochs share nothing.
 */
public final class YumaConsensus implements IncentiveMechanism {
  private final YumaParams params;

  private YumaConsensus(YumaParams params) {
    this.params = Objects.requireNonNull(params, "params");
  }

  /** The mechanism with the given parameters. */
  public static YumaConsensus of(YumaParams params) {
    return new YumaConsensus(params);
  }

  /** The mechanism with the chain's defaults (classic Yuma, float64). */
  public static YumaConsensus defaults() {
    return new YumaConsensus(YumaParams.defaults());
  }

  /** Its parameters. */
  public YumaParams params() {
    return params;
  }

  /** A copy with other parameters. */
  public YumaConsensus withParams(YumaParams params) {
    return new YumaConsensus(params);
  }

  /** {@code "yuma3"} when Yuma 3 bonds are on, else {@code "yuma"}. */
  @Override
  public String name() {
    return params.yuma3() ? "yuma3" : "yuma";
  }

  /**
   * {@inheritDoc}
   *
   * <p>Runs {@link #epoch} on {@link YumaState#of(NetworkState)}: every peer active, permitted
   * and long registered.
   *
   * @throws IllegalArgumentException if the network has no peers, or a bond is outside
   *     {@code [0, 1]}
   */
  @Override
  public EpochResult step(NetworkState state) {
    return epoch(YumaState.of(state)).epoch();
  }

  /**
   * Runs one epoch on the full chain state.
   *
   * @param state stake, weights, bonds and per-peer bookkeeping; not modified
   * @return the epoch's results, including the bonds and stake after it and the next permits
   * @throws IllegalArgumentException if the network has no peers, or in fixed-point mode the
   *     emission is 2^63 units or more
   * @throws ArithmeticException if the new stake overflows a double, or the weights and bonds
   *     together hold more entries than an array can
   */
  public YumaResult epoch(YumaState state) {
    Objects.requireNonNull(state, "state");
    int n = state.size();
    if (n == 0) {
      throw new IllegalArgumentException("the network has no peers");
    }
    YumaLayout layout = YumaLayout.of(state, params);
    YumaOutcome o = params.precision() == YumaParams.Precision.FIXED_POINT
        ? YumaFixedKernel.run(state, params, layout)
        : YumaFloatKernel.run(state, params, layout);

    double[] stake = state.network().stake().raw();
    double[] emission = new double[n];
    double[] newStake = new double[n];
    for (int i = 0; i < n; i++) {
      emission[i] = o.serverEmission()[i] + o.validatorEmission()[i];
      newStake[i] = stake[i] + emission[i];
      if (!Double.isFinite(newStake[i])) {
        throw new ArithmeticException("stake of peer " + i + " overflows a double");
      }
    }
    PeerMatrix bonds = newBonds(layout, state, o);
    if (state.network().weights() instanceof DenseMatrix) {
      bonds = bonds.toDense();
    }
    EpochResult epoch = new EpochResult(
        PeerVector.adopt(o.ranks()),
        PeerVector.adopt(o.trust()),
        PeerVector.adopt(o.consensus()),
        PeerVector.adopt(o.incentive()),
        PeerVector.adopt(o.dividends()),
        bonds,
        PeerVector.adopt(emission),
        PeerVector.adopt(newStake),
        0.0);
    boolean[] active = new boolean[n];
    for (int i = 0; i < n; i++) {
      active[i] = !layout.inactive[i];
    }
    return new YumaResult(
        epoch,
        PeerVector.adopt(o.validatorTrust()),
        PeerVector.adopt(o.serverEmission()),
        PeerVector.adopt(o.validatorEmission()),
        PeerVector.adopt(o.activeStake()),
        o.newPermits(),
        active);
  }

  /**
   * The bonds after the epoch: a peer holding a permit for the next epoch stores its new row, a
   * peer that just lost its permit is cleared, any other keeps its row.
   */
  private static CsrMatrix newBonds(YumaLayout layout, YumaState state, YumaOutcome o) {
    int n = layout.n;
    boolean[] permits = state.validatorPermitArray();
    boolean[] next = o.newPermits();
    double[] union = o.unionBonds();
    CsrMatrix old = layout.bonds;
    int[] rowPtr = new int[n + 1];
    int size = 0;
    for (int i = 0; i < n; i++) {
      if (next[i]) {
        for (int u = layout.uPtr[i]; u < layout.uPtr[i + 1]; u++) {
          size += union[u] > 0 ? 1 : 0;
        }
      } else if (!permits[i]) {
        size += old.rowEnd(i) - old.rowStart(i);
      }
      rowPtr[i + 1] = size;
    }
    int[] cols = new int[size];
    double[] vals = new double[size];
    int m = 0;
    for (int i = 0; i < n; i++) {
      if (next[i]) {
        for (int u = layout.uPtr[i]; u < layout.uPtr[i + 1]; u++) {
          if (union[u] > 0) {
            cols[m] = layout.uCol[u];
            vals[m++] = union[u];
          }
        }
      } else if (!permits[i]) {
        for (int k = old.rowStart(i); k < old.rowEnd(i); k++) {
          cols[m] = old.colAt(k);
          vals[m++] = old.valueAt(k);
        }
      }
    }
    return CsrMatrix.adopt(n, rowPtr, cols, vals);
  }

  /**
   * The state the next epoch reads, {@code tempo + 1} blocks later (the chain runs an epoch every
   * {@code tempo + 1} blocks): the result's stake, bonds and permits, the same weights, and every
   * active peer having set them again at the new block (inactive peers stay inactive).
   *
   * @param state the state {@code result} was computed from; not modified
   * @param result its epoch; not modified
   * @throws ArithmeticException if the new block is past {@link Long#MAX_VALUE}
   */
  public YumaState advance(YumaState state, YumaResult result) {
    long current = state.currentBlock();
    if (current > Long.MAX_VALUE - params.tempo() - 1) {
      throw new ArithmeticException("the next epoch's block, block " + current + " + tempo "
          + params.tempo() + " + 1, overflows a long");
    }
    long block = current + params.tempo() + 1;
    long[] lastUpdate = state.lastUpdateArray().clone();
    for (int i = 0; i < lastUpdate.length; i++) {
      if (result.isActive(i)) {
        lastUpdate[i] = block;
      }
    }
    NetworkState network = new NetworkState(
        result.epoch().stake(), state.network().weights(), result.epoch().bonds());
    return new YumaState(network, block, lastUpdate, state.registeredAtArray(),
        result.validatorPermits());
  }

  /**
   * Runs {@code epochs} epochs, each on the state {@link #advance} leaves.
   *
   * @param initial the state before the first epoch; not modified
   * @param epochs {@code >= 0}
   * @return one result per epoch, in order
   * @throws IllegalArgumentException as {@link #epoch}, or if {@code epochs < 0}
   * @throws ArithmeticException as {@link #epoch} and {@link #advance}
   */
  public List<YumaResult> run(YumaState initial, int epochs) {
    if (epochs < 0) {
      throw new IllegalArgumentException("epochs must be >= 0, was " + epochs);
    }
    List<YumaResult> results = new ArrayList<>(epochs);
    YumaState state = initial;
    for (int e = 0; e < epochs; e++) {
      YumaResult result = epoch(state);
      results.add(result);
      state = advance(state, result);
    }
    return results;
  }

  @Override
  public String toString() {
    return "YumaConsensus" + params;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof YumaConsensus y && y.params.equals(params);
  }

  @Override
  public int hashCode() {
    return params.hashCode();
  }
}
