package io.bittensor.cli;

import io.bittensor.core.LedgerParams;
import picocli.CommandLine.Option;

/**
 * The ledger's rules as options, for a new ledger's genesis ({@code ledger init}, {@code serve})
 * and for the authority's change of them ({@code ledger params}). Options left out are null and
 * keep the rule they would replace.
 */
final class RuleOptions {
  @Option(names = "--epoch-length", paramLabel = "BLOCKS",
      description = "Blocks per epoch (a new ledger's default: 100).")
  Integer epochLength;

  @Option(names = "--max-peers", paramLabel = "N",
      description = "Most peers at once (a new ledger's default: 4096).")
  Integer maxPeers;

  @Option(names = "--immunity-period", paramLabel = "BLOCKS",
      description = "Blocks a newcomer cannot be replaced (a new ledger's default: 200).")
  Integer immunityPeriod;

  @Option(names = "--min-allowed-weights", paramLabel = "K",
      description = "Fewest non-zero weights per row (a new ledger's default: 1; the consensus"
          + " peg raises it after epochs whose loss is positive).")
  Integer minAllowedWeights;

  @Option(names = "--weights-rate-limit", paramLabel = "BLOCKS",
      description = "Fewest blocks between two weight rows of a peer (0: no limit; a new"
          + " ledger's default: 10).")
  Integer weightsRateLimit;

  @Option(names = "--registration-burn", paramLabel = "TOKENS",
      description = "Tokens a registration takes from the signer's balance and destroys (0:"
          + " free, a new ledger's default; a public ledger should set it, with"
          + " --max-registrations-per-block, or fresh keys can evict every peer).")
  Long registrationBurn;

  @Option(names = "--max-registrations-per-block", paramLabel = "N",
      description = "Most registrations one block takes; the rest are refused"
          + " (TOO_MANY_REGISTRATIONS) and may be sent again (0: no cap, a new ledger's"
          + " default).")
  Integer maxRegistrationsPerBlock;

  /** True when any rule was given. */
  boolean anyGiven() {
    return epochLength != null || maxPeers != null || immunityPeriod != null
        || minAllowedWeights != null || weightsRateLimit != null || registrationBurn != null
        || maxRegistrationsPerBlock != null;
  }

  /**
   * {@code base} with the rules given replaced.
   *
   * @throws CliException (bad input) naming a rule out of its range
   */
  LedgerParams over(LedgerParams base) {
    try {
      return new LedgerParams(or(epochLength, base.epochLength()), or(maxPeers, base.maxPeers()),
          or(immunityPeriod, base.immunityPeriod()),
          or(minAllowedWeights, base.minAllowedWeights()),
          or(weightsRateLimit, base.weightsRateLimit()),
          registrationBurn != null ? registrationBurn : base.registrationBurn(),
          or(maxRegistrationsPerBlock, base.maxRegistrationsPerBlock()));
    } catch (IllegalArgumentException e) {
      throw CliException.badInput(e.getMessage(), e);
    }
  }

  private static int or(Integer value, int otherwise) {
    return value != null ? value : otherwise;
  }
}
