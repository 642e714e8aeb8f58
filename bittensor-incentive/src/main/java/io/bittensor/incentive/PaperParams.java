package io.bittensor.incentive;

import io.bittensor.incentive.internal.Checks;
import java.util.Objects;

/**
 * The parameters of {@link PaperMechanism}, validated on construction.
 *
 * <pre>{@code
 * PaperParams p = PaperParams.defaults()          // rho 10, kappa 0.5, tau 1, bondShare 0.5
 *     .withEmission(Emission.inflation(0.1))
 *     .withMaskSelfWeights(true);
 * }</pre>
 *
 * @param rho the consensus temperature: the steepness of {@code sigmoid(rho * (t - kappa))};
 *     finite, {@code >= 0}; default 10
 * @param kappa the consensus shift: the share of stake at which a peer is half-trusted; in
 *     {@code [0, 1]}; default 0.5
 * @param emission how much stake an epoch mints; default {@code Emission.fixed(1.0)}
 * @param bondShare the share of each peer's emission paid through bonds ({@code beta I}) rather
 *     than directly ({@code I}); in {@code [0, 1]}; default 0.5, as the paper's
 *     {@code dS = 0.5 B^T I + 0.5 I}
 * @param normalizeRows scale each non-zero weight row to sum 1 before use (as the ledger does when
 *     weights are set); default on. When off, each row must already sum to 1 or be all zero.
 * @param maskSelfWeights ignore each peer's weight on itself ({@code w_ii}); default off, as in
 *     the paper. Masking happens before normalisation, and needs it: without, a masked row would
 *     sum to {@code 1 - w_ii}, so masking with {@code normalizeRows} off is refused.
 */
public record PaperParams(
    double rho,
    double kappa,
    Emission emission,
    double bondShare,
    boolean normalizeRows,
    boolean maskSelfWeights) {

  /** The tolerance on a row's sum when {@code normalizeRows} is off: {@code |sum - 1| <= 1e-9}. */
  public static final double ROW_SUM_TOLERANCE = 1e-9;

  private static final PaperParams DEFAULTS =
      new PaperParams(10.0, 0.5, Emission.fixed(1.0), 0.5, true, false);

  /**
   * Validates every parameter; the message names the bad one.
   *
   * @throws IllegalArgumentException for a value out of range, or {@code maskSelfWeights} with
   *     {@code normalizeRows} off
   */
  public PaperParams {
    Checks.nonNegativeFinite(rho, "rho");
    Checks.inRange(kappa, 0.0, 1.0, "kappa");
    Objects.requireNonNull(emission, "emission");
    Checks.inRange(bondShare, 0.0, 1.0, "bondShare");
    if (maskSelfWeights && !normalizeRows) {
      // Rows used as given must sum to 1; only normalising makes a masked row do so again.
      throw new IllegalArgumentException("maskSelfWeights needs normalizeRows: with rows used as"
          + " given, dropping w_ii would leave row i summing to 1 - w_ii; give rows without"
          + " self-weights, or switch normalizeRows on");
    }
  }

  /** rho 10, kappa 0.5, tau 1 per epoch, bondShare 0.5, rows normalised, self-weights kept. */
  public static PaperParams defaults() {
    return DEFAULTS;
  }

  /** A copy with {@code rho} replaced. */
  public PaperParams withRho(double rho) {
    return new PaperParams(rho, kappa, emission, bondShare, normalizeRows, maskSelfWeights);
  }

  /** A copy with {@code kappa} replaced. */
  public PaperParams withKappa(double kappa) {
    return new PaperParams(rho, kappa, emission, bondShare, normalizeRows, maskSelfWeights);
  }

  /** A copy with the emission replaced. */
  public PaperParams withEmission(Emission emission) {
    return new PaperParams(rho, kappa, emission, bondShare, normalizeRows, maskSelfWeights);
  }

  /** A copy minting a fixed {@code tau} per epoch. */
  public PaperParams withTau(double tau) {
    return withEmission(Emission.fixed(tau));
  }

  /** A copy with {@code bondShare} replaced. */
  public PaperParams withBondShare(double bondShare) {
    return new PaperParams(rho, kappa, emission, bondShare, normalizeRows, maskSelfWeights);
  }

  /** A copy with row normalisation switched on or off. */
  public PaperParams withNormalizeRows(boolean normalizeRows) {
    return new PaperParams(rho, kappa, emission, bondShare, normalizeRows, maskSelfWeights);
  }

  /** A copy with self-weight masking switched on or off. */
  public PaperParams withMaskSelfWeights(boolean maskSelfWeights) {
    return new PaperParams(rho, kappa, emission, bondShare, normalizeRows, maskSelfWeights);
  }
}
