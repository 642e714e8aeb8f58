package io.bittensor.incentive;

import io.bittensor.incentive.internal.Checks;
import java.util.Objects;

/**
 * The parameters of {@link YumaConsensus}, validated on construction, each defaulting to the
 * chain's own default (opentensor/subtensor's runtime).
 *
 * <pre>{@code
 * YumaParams p = YumaParams.defaults()            // Yuma as the chain runs it by default
 *     .withYuma3(true)
 *     .withPrecision(YumaParams.Precision.FIXED_POINT);
 * YumaParams q = YumaParams.builder()               // many at once
 *     .liquidAlpha(true).alphas(0.6, 0.95).tempo(99).build();
 * }</pre>
 *
 * <p>The chain stores most parameters as integers ({@code u16} fractions of 65535, millionths);
 * here they are fractions, and the defaults are those integers divided exactly, so that
 * {@link #kappaU16()} and friends give back the chain's integers. In {@link Precision#FIXED_POINT}
 * mode each fraction is rounded to the chain's integer first.
 *
 * <p>Thread-safe: immutable.
 *
 * @param kappa the consensus majority: a target's consensus weight is the weight that validators
 *     holding this share of stake give it at least (the stake-weighted {@code kappa}-quantile from
 *     the top); in {@code [0, 1]}; default {@code 32767/65535}, just under one half
 * @param bondsMovingAverage how much of the previous bonds each epoch keeps; the EMA's
 *     {@code alpha} is {@code 1 - bondsMovingAverage}; in {@code [0, 1]}; default 0.9
 * @param bondsPenalty how far bonds follow clipped rather than raw weights: 0 bonds on raw
 *     weights, 1 on weights clipped at consensus; in {@code [0, 1]}; default 1
 * @param liquidAlpha let each bond's {@code alpha} move between {@code alphaLow} and
 *     {@code alphaHigh} with consensus (classic path: per target, a logistic in the target's
 *     consensus; Yuma 3: per bond, a sigmoid in its distance to consensus); default off
 * @param alphaLow the lowest liquid {@code alpha}; in {@code [1638/65535, alphaHigh]}, the chain's
 *     lower limit; default {@code 45875/65535} (0.7)
 * @param alphaHigh the highest liquid {@code alpha}; in {@code [alphaLow, 1]}; default
 *     {@code 58982/65535} (0.9)
 * @param alphaSigmoidSteepness Yuma 3's liquid-alpha steepness (the sigmoid's slope is
 *     {@code -steepness / 100}); in the chain's {@code i16} range; default 1000
 * @param yuma3 run Yuma 3's bonds (per-entry EMA towards each validator's own weights, dividends
 *     weighted by the validator's stake) instead of the classic ones; default off
 * @param maxAllowedValidators how many peers, the largest stakes, get a validator permit for the
 *     next epoch; in {@code [0, 65535]}; default 128
 * @param activityCutoff blocks after its last weight update that a peer counts as active; its
 *     stake stops voting after that; {@code >= 0}; default 5000
 * @param tempo blocks between epochs: bonds to a peer registered within the last {@code tempo}
 *     blocks are dropped; in {@code [0, 65535]}; default 360
 * @param minStake stake below this counts as zero (the chain's stake threshold); finite,
 *     {@code >= 0}; default 0
 * @param emission how much an epoch mints, split between servers (incentive) and validators
 *     (dividends); default {@code Emission.fixed(1.0)}. In fixed-point mode the amount is rounded
 *     down to a whole number (the chain mints whole rao).
 * @param precision plain float64 arithmetic, or the chain's number formats; default
 *     {@link Precision#FLOAT64}
 */
public record YumaParams(
    double kappa,
    double bondsMovingAverage,
    double bondsPenalty,
    boolean liquidAlpha,
    double alphaLow,
    double alphaHigh,
    double alphaSigmoidSteepness,
    boolean yuma3,
    int maxAllowedValidators,
    long activityCutoff,
    int tempo,
    double minStake,
    Emission emission,
    Precision precision) {

  /** The chain's lower limit on both liquid-alpha bounds: {@code 1638/65535} (65535 / 40). */
  public static final double MIN_ALPHA = 1638.0 / 65535;

  /** How an epoch does its arithmetic. */
  public enum Precision {
    /**
     * Plain doubles: weights and bonds unquantised, {@code Math.exp} and {@code Math.log}. The
     * default, for research: it answers what the mechanism means.
     */
    FLOAT64,
    /**
     * The chain's number formats, for exact comparisons with it: stake normalised in 64.64 fixed
     * point, every other step in signed 32.32 fixed point with the chain's rounding, weights
     * quantised to {@code u16} (each row scaled so its largest entry is 65535), bonds read and
     * stored as {@code u16} (column-max upscaled on the classic path), emission in whole units.
     */
    FIXED_POINT
  }

  private static final YumaParams DEFAULTS =
      new YumaParams(
          32767.0 / 65535, 0.9, 1.0, false, 45875.0 / 65535, 58982.0 / 65535, 1000, false, 128,
          5000, 360, 0.0, Emission.fixed(1.0), Precision.FLOAT64);

  /** Validates every parameter; the message names the bad one. */
  public YumaParams {
    Checks.inRange(kappa, 0, 1, "kappa");
    Checks.inRange(bondsMovingAverage, 0, 1, "bondsMovingAverage");
    Checks.inRange(bondsPenalty, 0, 1, "bondsPenalty");
    Checks.inRange(alphaHigh, MIN_ALPHA, 1, "alphaHigh");
    Checks.inRange(alphaLow, MIN_ALPHA, alphaHigh, "alphaLow (at most alphaHigh)");
    Checks.inRange(alphaSigmoidSteepness, -32768, 32767, "alphaSigmoidSteepness");
    Checks.require(maxAllowedValidators >= 0 && maxAllowedValidators <= 65535,
        "maxAllowedValidators must be in [0, 65535], was %d", maxAllowedValidators);
    Checks.require(activityCutoff >= 0, "activityCutoff must be >= 0, was %d", activityCutoff);
    Checks.require(tempo >= 0 && tempo <= 65535, "tempo must be in [0, 65535], was %d", tempo);
    Checks.nonNegativeFinite(minStake, "minStake");
    Objects.requireNonNull(emission, "emission");
    Objects.requireNonNull(precision, "precision");
  }

  /** The chain's defaults: classic Yuma, no liquid alpha, float64 arithmetic. */
  public static YumaParams defaults() {
    return DEFAULTS;
  }

  /** {@code kappa} as the chain stores it: {@code round(kappa * 65535)}. */
  public int kappaU16() {
    return (int) Math.round(kappa * 65535);
  }

  /** {@code bondsMovingAverage} as the chain stores it: {@code round(bma * 1_000_000)}. */
  public long bondsMovingAverageMillionths() {
    return Math.round(bondsMovingAverage * 1_000_000);
  }

  /** {@code bondsPenalty} as the chain stores it: {@code round(bondsPenalty * 65535)}. */
  public int bondsPenaltyU16() {
    return (int) Math.round(bondsPenalty * 65535);
  }

  /** {@code alphaLow} as the chain stores it: {@code round(alphaLow * 65535)}. */
  public int alphaLowU16() {
    return (int) Math.round(alphaLow * 65535);
  }

  /** {@code alphaHigh} as the chain stores it: {@code round(alphaHigh * 65535)}. */
  public int alphaHighU16() {
    return (int) Math.round(alphaHigh * 65535);
  }

  /** {@code alphaSigmoidSteepness} as the chain stores it: rounded to an {@code i16}. */
  public int alphaSigmoidSteepnessI16() {
    return (int) Math.round(alphaSigmoidSteepness);
  }

  /** A builder starting from {@link #defaults()}. */
  public static Builder builder() {
    return DEFAULTS.toBuilder();
  }

  /** A builder starting from these parameters. */
  public Builder toBuilder() {
    return new Builder(this);
  }

  /** A copy with {@code kappa} replaced. */
  public YumaParams withKappa(double kappa) {
    return toBuilder().kappa(kappa).build();
  }

  /**
   * A copy with {@code kappa = kappaU16 / 65535}, the chain's form; {@code kappaU16} in [0, 65535].
   */
  public YumaParams withKappaU16(int kappaU16) {
    Checks.require(kappaU16 >= 0 && kappaU16 <= 65535, "kappaU16 must be in [0, 65535], was %d",
        kappaU16);
    return withKappa(kappaU16 / 65535.0);
  }

  /** A copy with {@code bondsMovingAverage} replaced. */
  public YumaParams withBondsMovingAverage(double bondsMovingAverage) {
    return toBuilder().bondsMovingAverage(bondsMovingAverage).build();
  }

  /** A copy with {@code bondsPenalty} replaced. */
  public YumaParams withBondsPenalty(double bondsPenalty) {
    return toBuilder().bondsPenalty(bondsPenalty).build();
  }

  /** A copy with liquid alpha switched on or off. */
  public YumaParams withLiquidAlpha(boolean liquidAlpha) {
    return toBuilder().liquidAlpha(liquidAlpha).build();
  }

  /** A copy with Yuma 3 switched on or off. */
  public YumaParams withYuma3(boolean yuma3) {
    return toBuilder().yuma3(yuma3).build();
  }

  /** A copy with {@code maxAllowedValidators} replaced. */
  public YumaParams withMaxAllowedValidators(int maxAllowedValidators) {
    return toBuilder().maxAllowedValidators(maxAllowedValidators).build();
  }

  /** A copy with {@code activityCutoff} replaced. */
  public YumaParams withActivityCutoff(long activityCutoff) {
    return toBuilder().activityCutoff(activityCutoff).build();
  }

  /** A copy with {@code tempo} replaced. */
  public YumaParams withTempo(int tempo) {
    return toBuilder().tempo(tempo).build();
  }

  /** A copy with the emission replaced. */
  public YumaParams withEmission(Emission emission) {
    return toBuilder().emission(emission).build();
  }

  /** A copy minting a fixed {@code amount} per epoch. */
  public YumaParams withTau(double amount) {
    return withEmission(Emission.fixed(amount));
  }

  /** A copy with the precision replaced. */
  public YumaParams withPrecision(Precision precision) {
    return toBuilder().precision(precision).build();
  }

  /**
   * Collects parameters; {@link #build()} validates them all at once. Not thread-safe.
   *
   * <pre>{@code
   * YumaParams p = YumaParams.builder().yuma3(true).liquidAlpha(true).alphas(0.7, 0.9).build();
   * }</pre>
   */
  public static final class Builder {
    private double kappa;
    private double bondsMovingAverage;
    private double bondsPenalty;
    private boolean liquidAlpha;
    private double alphaLow;
    private double alphaHigh;
    private double alphaSigmoidSteepness;
    private boolean yuma3;
    private int maxAllowedValidators;
    private long activityCutoff;
    private int tempo;
    private double minStake;
    private Emission emission;
    private Precision precision;

    private Builder(YumaParams p) {
      kappa = p.kappa;
      bondsMovingAverage = p.bondsMovingAverage;
      bondsPenalty = p.bondsPenalty;
      liquidAlpha = p.liquidAlpha;
      alphaLow = p.alphaLow;
      alphaHigh = p.alphaHigh;
      alphaSigmoidSteepness = p.alphaSigmoidSteepness;
      yuma3 = p.yuma3;
      maxAllowedValidators = p.maxAllowedValidators;
      activityCutoff = p.activityCutoff;
      tempo = p.tempo;
      minStake = p.minStake;
      emission = p.emission;
      precision = p.precision;
    }

    /** See {@link YumaParams#kappa()}. */
    public Builder kappa(double kappa) {
      this.kappa = kappa;
      return this;
    }

    /** See {@link YumaParams#bondsMovingAverage()}. */
    public Builder bondsMovingAverage(double bondsMovingAverage) {
      this.bondsMovingAverage = bondsMovingAverage;
      return this;
    }

    /** See {@link YumaParams#bondsPenalty()}. */
    public Builder bondsPenalty(double bondsPenalty) {
      this.bondsPenalty = bondsPenalty;
      return this;
    }

    /** See {@link YumaParams#liquidAlpha()}. */
    public Builder liquidAlpha(boolean liquidAlpha) {
      this.liquidAlpha = liquidAlpha;
      return this;
    }

    /** Both liquid-alpha bounds; see {@link YumaParams#alphaLow()}. */
    public Builder alphas(double alphaLow, double alphaHigh) {
      this.alphaLow = alphaLow;
      this.alphaHigh = alphaHigh;
      return this;
    }

    /** See {@link YumaParams#alphaSigmoidSteepness()}. */
    public Builder alphaSigmoidSteepness(double alphaSigmoidSteepness) {
      this.alphaSigmoidSteepness = alphaSigmoidSteepness;
      return this;
    }

    /** See {@link YumaParams#yuma3()}. */
    public Builder yuma3(boolean yuma3) {
      this.yuma3 = yuma3;
      return this;
    }

    /** See {@link YumaParams#maxAllowedValidators()}. */
    public Builder maxAllowedValidators(int maxAllowedValidators) {
      this.maxAllowedValidators = maxAllowedValidators;
      return this;
    }

    /** See {@link YumaParams#activityCutoff()}. */
    public Builder activityCutoff(long activityCutoff) {
      this.activityCutoff = activityCutoff;
      return this;
    }

    /** See {@link YumaParams#tempo()}. */
    public Builder tempo(int tempo) {
      this.tempo = tempo;
      return this;
    }

    /** See {@link YumaParams#minStake()}. */
    public Builder minStake(double minStake) {
      this.minStake = minStake;
      return this;
    }

    /** See {@link YumaParams#emission()}. */
    public Builder emission(Emission emission) {
      this.emission = emission;
      return this;
    }

    /** See {@link YumaParams#precision()}. */
    public Builder precision(Precision precision) {
      this.precision = precision;
      return this;
    }

    /**
     * The parameters.
     *
     * @throws IllegalArgumentException naming the first parameter out of range
     */
    public YumaParams build() {
      return new YumaParams(kappa, bondsMovingAverage, bondsPenalty, liquidAlpha, alphaLow,
          alphaHigh, alphaSigmoidSteepness, yuma3, maxAllowedValidators, activityCutoff, tempo,
          minStake, emission, precision);
    }
  }
}
