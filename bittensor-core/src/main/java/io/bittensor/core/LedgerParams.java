package io.bittensor.core;

/**
 * The rules of a ledger that its authority may change (with a {@link Transaction.ChangeParams}
 * transaction): how often epochs run, how many peers it holds, how newcomers are protected and
 * how weight rows are limited.
 *
 * <pre>{@code
 * LedgerParams p = LedgerParams.defaults()     // epochs of 100 blocks, 4096 peers
 *     .withEpochLength(10)
 *     .withMaxPeers(64);
 * }</pre>
 *
 * <p>Registering is free unless {@code registrationBurn} says otherwise, and a registration into
 * a full ledger evicts a peer: a public ledger should set both {@code registrationBurn} and
 * {@code maxRegistrationsPerBlock}, or fresh keys can evict every peer past its immunity, one
 * registration each. Left at 0 (the defaults), neither changes a byte the ledger writes.
 *
 * <p>When the ledger is full, a registration replaces the peer with the lowest pruning score
 * (its emission in the last epoch that ran, not skipped; ties go to the lower stake, then the
 * earlier registration, then the lower uid) among the peers registered at least {@code
 * immunityPeriod} blocks ago; if every peer is that young, the registration is rejected ({@link
 * RejectReason#NETWORK_FULL}).
 *
 * <p>Immutable and thread-safe.
 *
 * @param epochLength blocks per epoch: an epoch runs after every block whose number is a
 *     multiple of it; {@code >= 1}
 * @param maxPeers the most peers registered at once (uids {@code 0 .. maxPeers-1}); in {@code [1,
 *     }{@link #MAX_PEERS}{@code ]}
 * @param immunityPeriod blocks after its registration during which a peer cannot be replaced;
 *     {@code >= 0}
 * @param minAllowedWeights the fewest non-zero entries a weight row may have (every peer
 *     registered, where fewer are); in {@code [0, maxPeers]}. The consensus peg raises it by one
 *     after each epoch whose loss is positive.
 * @param weightsRateLimit the fewest blocks between two weight rows from the same peer; {@code
 *     >= 0} (0: no limit; 1: once per block)
 * @param registrationBurn tokens a registration takes from the signer's free balance and
 *     destroys (they leave the supply); {@code >= 0} (0: registering is free). A key whose
 *     balance is smaller, or that has no account, is refused ({@link
 *     RejectReason#INSUFFICIENT_BALANCE}).
 * @param maxRegistrationsPerBlock the most registrations one block accepts; {@code >= 0} (0: no
 *     cap). The rest are refused ({@link RejectReason#TOO_MANY_REGISTRATIONS}) and may be sent
 *     again for a later block.
 */
public record LedgerParams(
    int epochLength, int maxPeers, int immunityPeriod, int minAllowedWeights,
    int weightsRateLimit, @Experimental long registrationBurn,
    @Experimental int maxRegistrationsPerBlock) {

  /** The largest {@code maxPeers} a ledger accepts. */
  public static final int MAX_PEERS = 1 << 20;

  private static final LedgerParams DEFAULTS = new LedgerParams(100, 4096, 200, 1, 10);

  /**
   * Validates every parameter.
   *
   * @throws IllegalArgumentException naming the parameter out of range and its value
   */
  @Experimental
  public LedgerParams {
    requireAtLeast(epochLength, 1, "epochLength");
    requireAtLeast(maxPeers, 1, "maxPeers");
    if (maxPeers > MAX_PEERS) {
      throw new IllegalArgumentException(
          "maxPeers must be <= " + MAX_PEERS + ", was " + maxPeers);
    }
    requireAtLeast(immunityPeriod, 0, "immunityPeriod");
    requireAtLeast(minAllowedWeights, 0, "minAllowedWeights");
    if (minAllowedWeights > maxPeers) {
      throw new IllegalArgumentException(
          "minAllowedWeights must be <= maxPeers (" + maxPeers + "), was " + minAllowedWeights);
    }
    requireAtLeast(weightsRateLimit, 0, "weightsRateLimit");
    if (registrationBurn < 0) {
      throw new IllegalArgumentException(
          "registrationBurn must be >= 0, was " + registrationBurn);
    }
    requireAtLeast(maxRegistrationsPerBlock, 0, "maxRegistrationsPerBlock");
  }

  /**
   * The rules without the registration rules (no burn, no cap), as before they existed.
   *
   * @throws IllegalArgumentException naming the parameter out of range and its value
   */
  public LedgerParams(int epochLength, int maxPeers, int immunityPeriod, int minAllowedWeights,
      int weightsRateLimit) {
    this(epochLength, maxPeers, immunityPeriod, minAllowedWeights, weightsRateLimit, 0, 0);
  }

  private static void requireAtLeast(int value, int min, String name) {
    if (value < min) {
      throw new IllegalArgumentException(name + " must be >= " + min + ", was " + value);
    }
  }

  /**
   * Epochs of 100 blocks, 4096 peers, an immunity period of 200 blocks, at least one non-zero
   * weight per row, weights at most once per 10 blocks; registering free and uncapped.
   */
  public static LedgerParams defaults() {
    return DEFAULTS;
  }

  /** A copy with {@code epochLength} replaced. */
  public LedgerParams withEpochLength(int epochLength) {
    return new LedgerParams(
        epochLength, maxPeers, immunityPeriod, minAllowedWeights, weightsRateLimit,
        registrationBurn, maxRegistrationsPerBlock);
  }

  /** A copy with {@code maxPeers} replaced. */
  public LedgerParams withMaxPeers(int maxPeers) {
    return new LedgerParams(
        epochLength, maxPeers, immunityPeriod, minAllowedWeights, weightsRateLimit,
        registrationBurn, maxRegistrationsPerBlock);
  }

  /** A copy with {@code immunityPeriod} replaced. */
  public LedgerParams withImmunityPeriod(int immunityPeriod) {
    return new LedgerParams(
        epochLength, maxPeers, immunityPeriod, minAllowedWeights, weightsRateLimit,
        registrationBurn, maxRegistrationsPerBlock);
  }

  /** A copy with {@code minAllowedWeights} replaced. */
  public LedgerParams withMinAllowedWeights(int minAllowedWeights) {
    return new LedgerParams(
        epochLength, maxPeers, immunityPeriod, minAllowedWeights, weightsRateLimit,
        registrationBurn, maxRegistrationsPerBlock);
  }

  /** A copy with {@code weightsRateLimit} replaced. */
  public LedgerParams withWeightsRateLimit(int weightsRateLimit) {
    return new LedgerParams(
        epochLength, maxPeers, immunityPeriod, minAllowedWeights, weightsRateLimit,
        registrationBurn, maxRegistrationsPerBlock);
  }

  /**
   * A copy with {@code registrationBurn} replaced.
   *
   * @throws IllegalArgumentException if it is negative
   */
  @Experimental
  public LedgerParams withRegistrationBurn(long registrationBurn) {
    return new LedgerParams(epochLength, maxPeers, immunityPeriod, minAllowedWeights,
        weightsRateLimit, registrationBurn, maxRegistrationsPerBlock);
  }

  /**
   * A copy with {@code maxRegistrationsPerBlock} replaced.
   *
   * @throws IllegalArgumentException if it is negative
   */
  @Experimental
  public LedgerParams withMaxRegistrationsPerBlock(int maxRegistrationsPerBlock) {
    return new LedgerParams(epochLength, maxPeers, immunityPeriod, minAllowedWeights,
        weightsRateLimit, registrationBurn, maxRegistrationsPerBlock);
  }
}
