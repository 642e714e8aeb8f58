package io.bittensor.incentive;

/**
 * What a Yuma kernel computed, in doubles, before it is wrapped in {@link YumaResult}. The arrays
 * are fresh and owned by the receiver.
 *
 * @param stake the normalised stake (after the stake threshold)
 * @param activeStake the normalised stake of active, permitted peers
 * @param newPermits the validator permits for the next epoch
 * @param ranks {@code R = Wc^T S}
 * @param trust {@code R / (W^T S)}, 0 where nothing was voted
 * @param consensus the consensus weights
 * @param incentive {@code R} normalised
 * @param dividends the validators' dividends, normalised
 * @param validatorTrust row sums of the clipped weights
 * @param serverEmission per peer, emission from incentive
 * @param validatorEmission per peer, emission from dividends
 * @param unionBonds the new bonds on {@link YumaLayout}'s union pattern, as stored (0: none)
 */
record YumaOutcome(
    double[] stake,
    double[] activeStake,
    boolean[] newPermits,
    double[] ranks,
    double[] trust,
    double[] consensus,
    double[] incentive,
    double[] dividends,
    double[] validatorTrust,
    double[] serverEmission,
    double[] validatorEmission,
    double[] unionBonds) {}
