package io.bittensor.core;

import java.util.Optional;

/**
 * Why a ledger refused a transaction, with a stable numeric code that travels on the wire. A
 * rejected transaction changes nothing: not the state, not the signer's nonce.
 *
 * <p>Codes never change meaning and are never reused; new reasons get new codes. Only {@link
 * #BUSY} is {@linkplain #retryable() retryable} unchanged; every other reason needs a different
 * transaction (or, for {@link #NONCE_WRONG}, {@link #RATE_LIMITED} and {@link
 * #TOO_MANY_REGISTRATIONS}, a later moment).
 *
 * <pre>{@code
 * Ledger ledger = LocalLedger.builder()...openInMemory();
 * SignedTransaction tx = ...;
 * try {
 *   ledger.submit(tx).join();
 * } catch (CompletionException e) {
 *   if (e.getCause() instanceof TransactionRejectedException r
 *       && r.reason() == RejectReason.NONCE_REUSED) {
 *     // resign with ledger.nextNonce(me.id())
 *   }
 * }
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public enum RejectReason {
  /**
   * The transaction does not decode, or breaks a rule of form: a non-positive amount, an
   * endpoint that is not absolute or longer than 1024 UTF-8 bytes, a protocol version below 1, a
   * uid given twice in a row.
   */
  MALFORMED(1),
  /** The transaction names another chain than this ledger's {@link Ledger#chainId()}. */
  WRONG_CHAIN(2),
  /** The signature does not verify against the signer's key. */
  BAD_SIGNATURE(3),
  /** The nonce was used before: it is below the signer's next nonce. */
  NONCE_REUSED(4),
  /** The nonce is ahead of the signer's next nonce: an earlier transaction is missing. */
  NONCE_WRONG(5),
  /** The signer has no account: it was never given tokens nor registered. */
  UNKNOWN_ACCOUNT(6),
  /** The signer is already registered as a peer. */
  ALREADY_REGISTERED(7),
  /** The transaction needs a registered peer and the signer has none. */
  NOT_REGISTERED(8),
  /** The ledger holds {@code maxPeers} peers and every one is within its immunity period. */
  NETWORK_FULL(9),
  /**
   * The amount exceeds the signer's balance; or a registration's {@code registrationBurn} does
   * (a key with no account has a balance of 0).
   */
  INSUFFICIENT_BALANCE(10),
  /** The amount exceeds the stake on the signer's peer. */
  INSUFFICIENT_STAKE(11),
  /** A weight is NaN or infinite. */
  WEIGHTS_NOT_FINITE(12),
  /** A weight is negative. */
  WEIGHTS_NEGATIVE(13),
  /** A uid is outside {@code [0, maxPeers)}: no peer could ever hold it. */
  WEIGHTS_OUT_OF_RANGE(14),
  /** A uid is within range but no peer holds it now. */
  WEIGHTS_UNKNOWN_UID(15),
  /**
   * The row has fewer non-zero entries than {@code minAllowedWeights} (the consensus peg), or
   * than the peers registered where they are fewer.
   */
  WEIGHTS_TOO_FEW(16),
  /** The peer set weights less than {@code weightsRateLimit} blocks ago. */
  RATE_LIMITED(17),
  /** The signer is not the ledger's authority, so it may not change the rules. */
  NOT_AUTHORITY(18),
  /** The new rules cannot apply to the present state ({@code maxPeers} below the peer count). */
  INVALID_PARAMS(19),
  /** The ledger holds as many unsealed transactions as it allows; try again shortly. */
  BUSY(20),
  /**
   * The block being built already holds {@code maxRegistrationsPerBlock} registrations; the same
   * registration may be sent again for a later block. An older client reports this code as
   * one it does not know.
   */
  @Experimental
  TOO_MANY_REGISTRATIONS(21);

  private final int code;

  RejectReason(int code) {
    this.code = code;
  }

  /** The stable number of this reason on the wire. */
  public int code() {
    return code;
  }

  /** True when the same transaction may be accepted later unchanged ({@link #BUSY} only). */
  public boolean retryable() {
    return this == BUSY;
  }

  /**
   * The reason with the given wire code.
   *
   * @return empty for a code this version does not know
   */
  public static Optional<RejectReason> ofCode(int code) {
    for (RejectReason r : values()) {
      if (r.code == code) {
        return Optional.of(r);
      }
    }
    return Optional.empty();
  }
}
