package io.bittensor.incentive;

import io.bittensor.incentive.internal.Checks;

/**
 * How much new stake an epoch mints: a fixed {@code tau} per epoch, or an inflation rate
 * {@code r} with {@code tau = r * sum(S)} at each epoch (the paper's section 10).
 *
 * <pre>{@code
 * Emission.fixed(1.0).amount(500.0);      // 1.0
 * Emission.inflation(0.1).amount(500.0);  // 50.0
 * }</pre>
 *
 * <p>Thread-safe: immutable.
 */
public sealed interface Emission permits Emission.Fixed, Emission.Inflation {

  /** Mints {@code tau} per epoch, whatever the total stake. */
  static Emission fixed(double tau) {
    return new Fixed(tau);
  }

  /** Mints {@code rate * sum(S)} per epoch. */
  static Emission inflation(double rate) {
    return new Inflation(rate);
  }

  /**
   * The stake minted this epoch.
   *
   * @param totalStake {@code sum(S)} before the epoch
   */
  double amount(double totalStake);

  /**
   * A fixed amount per epoch.
   *
   * @param tau finite, {@code >= 0}
   */
  record Fixed(double tau) implements Emission {
    public Fixed {
      Checks.nonNegativeFinite(tau, "tau");
    }

    @Override
    public double amount(double totalStake) {
      return tau;
    }
  }

  /**
   * A fraction of the total stake per epoch.
   *
   * @param rate finite, {@code >= 0}
   */
  record Inflation(double rate) implements Emission {
    public Inflation {
      Checks.nonNegativeFinite(rate, "inflation rate");
    }

    @Override
    public double amount(double totalStake) {
      return rate * totalStake;
    }
  }
}
