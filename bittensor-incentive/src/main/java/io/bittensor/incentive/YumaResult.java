package io.bittensor.incentive;

import java.util.Arrays;
import java.util.Objects;

/**
 * What one Yuma epoch computed: the {@link EpochResult} every mechanism gives, plus what only Yuma
 * has (validator trust, the server/validator split of the emission, the permits for the next
 * epoch).
 *
 * <pre>{@code
 * YumaState state = YumaState.of(SyntheticNetworks.dense(64, 7, true));
 * YumaResult r = YumaConsensus.of(YumaParams.defaults()).epoch(state);
 * r.epoch().incentive();        // what servers earn, normalised
 * r.validatorEmission();        // what validators earn through their bonds
 * r.validatorPermits();         // who may validate next epoch
 * }</pre>
 *
 * <p>In {@link EpochResult} terms, for Yuma: {@code ranks} are the stake-weighted clipped weights
 * each peer received ({@code R = Wc^T S}, not normalised); {@code trust} is the server trust
 * {@code R / (W^T S)}, the share of its votes that survived clipping; {@code consensus} the
 * consensus weights {@code C}; {@code incentive} {@code R} normalised; {@code dividends} the
 * validators' normalised dividends; {@code bonds} the bonds after the epoch (as the chain stores
 * them, fractions in {@code [0, 1]}); {@code emission} server plus validator emission;
 * {@code stake} the stake plus the emission; {@code loss} is 0 (Yuma has no loss term).
 *
 * <p>Thread-safe: immutable; arrays are copied in and out.
 *
 * @param epoch the mechanism-independent view
 * @param validatorTrust per peer, the sum of its clipped weights: the share of its vote that
 *     agreed with consensus
 * @param serverEmission per peer, the part of its emission earned as incentive
 * @param validatorEmission per peer, the part earned as dividends (or, when no peer earns either,
 *     by active stake)
 * @param activeStake the normalised stake that voted: active peers holding permits
 * @param validatorPermits per peer, whether it holds a validator permit for the next epoch
 * @param active per peer, whether it updated its weights within the activity cutoff
 */
public record YumaResult(
    EpochResult epoch,
    PeerVector validatorTrust,
    PeerVector serverEmission,
    PeerVector validatorEmission,
    PeerVector activeStake,
    boolean[] validatorPermits,
    boolean[] active) {

  /** Checks that every part is present and of one size, and copies the arrays. */
  public YumaResult {
    int n = Objects.requireNonNull(epoch, "epoch").size();
    for (PeerVector v :
        new PeerVector[] {validatorTrust, serverEmission, validatorEmission, activeStake}) {
      if (Objects.requireNonNull(v, "vector").size() != n) {
        throw new IllegalArgumentException("all vectors must have " + n + " entries");
      }
    }
    if (Objects.requireNonNull(validatorPermits, "validatorPermits").length != n
        || Objects.requireNonNull(active, "active").length != n) {
      throw new IllegalArgumentException("all masks must have " + n + " entries");
    }
    validatorPermits = validatorPermits.clone();
    active = active.clone();
  }

  /** The number of peers. */
  public int size() {
    return epoch.size();
  }

  /** A copy of the permits for the next epoch. */
  @Override
  public boolean[] validatorPermits() {
    return validatorPermits.clone();
  }

  /** A copy of the activity mask. */
  @Override
  public boolean[] active() {
    return active.clone();
  }

  /** Whether peer {@code uid} holds a validator permit for the next epoch. */
  public boolean validatorPermit(int uid) {
    return validatorPermits[uid];
  }

  /** Whether peer {@code uid} counted as active this epoch. */
  public boolean isActive(int uid) {
    return active[uid];
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof YumaResult r
        && r.epoch.equals(epoch)
        && r.validatorTrust.equals(validatorTrust)
        && r.serverEmission.equals(serverEmission)
        && r.validatorEmission.equals(validatorEmission)
        && r.activeStake.equals(activeStake)
        && Arrays.equals(r.validatorPermits, validatorPermits)
        && Arrays.equals(r.active, active);
  }

  @Override
  public int hashCode() {
    return Objects.hash(epoch, validatorTrust, serverEmission, validatorEmission, activeStake,
        Arrays.hashCode(validatorPermits), Arrays.hashCode(active));
  }

  @Override
  public String toString() {
    return "YumaResult[n=" + size() + ", minted=" + epoch.minted() + "]";
  }
}
