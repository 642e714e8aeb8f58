/**
 * The incentive mathematics of the market, standalone: stake and weights in; ranks, trust,
 * consensus, incentive, bonds, emission and new stake out. No networking and no runtime
 * dependencies, so research code can call it directly.
 *
 * <p>Entry points:
 *
 * <ul>
 *   <li>{@link io.bittensor.incentive.IncentiveMechanism}: one epoch ({@code step}) or many
 *       ({@code run}); {@link io.bittensor.incentive.PaperMechanism} is the paper's mechanism,
 *       exactly, with {@link io.bittensor.incentive.PaperParams}.
 *   <li>Immutable inputs and outputs: {@link io.bittensor.incentive.PeerVector},
 *       {@link io.bittensor.incentive.PeerMatrix} (dense or CSR, same numbers),
 *       {@link io.bittensor.incentive.NetworkState}, {@link io.bittensor.incentive.EpochResult}.
 *   <li>{@link io.bittensor.incentive.YumaConsensus}: Yuma Consensus, the mechanism the Bittensor
 *       chain runs, with {@link io.bittensor.incentive.YumaParams} (the chain's defaults),
 *       {@link io.bittensor.incentive.YumaState} (the chain's per-peer bookkeeping) and
 *       {@link io.bittensor.incentive.YumaResult}; in float64 or the chain's fixed-point formats.
 *   <li>{@link io.bittensor.incentive.PaperOps}: the same formulas as allocation-free static
 *       operations on arrays.
 *   <li>{@link io.bittensor.incentive.ConsensusPeg}: the rule that raises the fewest weights a
 *       row may hold while the chain's loss is positive.
 *   <li>{@link io.bittensor.incentive.CollusionSimulation}: the paper's section 10 experiment.
 *   <li>{@link io.bittensor.incentive.SyntheticNetworks}: seeded random networks, reproducible in
 *       any language.
 * </ul>
 *
 * <p>Every type here is immutable or stateless, hence thread-safe, but {@link PaperSimulation},
 * which one thread steps, and the builders, which one thread fills and builds. Bad input is
 * rejected with an {@link java.lang.IllegalArgumentException} naming the bad value; no method
 * returns NaN.
 */
package io.bittensor.incentive;
