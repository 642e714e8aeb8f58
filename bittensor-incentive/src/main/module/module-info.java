/**
 * The incentive mathematics of the market, standalone: stake and weights in; ranks, trust,
 * consensus, incentive and emission out. No networking and no dependencies.
 *
 * <p>Exports {@code io.bittensor.incentive}; its {@code internal} package is not exported.
 */
module io.bittensor.incentive {
  exports io.bittensor.incentive;
}
