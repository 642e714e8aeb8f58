package io.bittensor.core;

import java.util.Objects;

/**
 * An account on a ledger: a public key's free tokens and its next nonce. Tokens staked on the
 * account's peer are in the {@link Metagraph}, not here.
 *
 * <pre>{@code
 * Keypair me = Keypair.load(Path.of("peer.key"));
 * Ledger ledger = LocalLedger.builder()...openInMemory();
 * Account a = ledger.account(me.id()).orElseThrow();
 * long spendable = a.balance();
 * }</pre>
 *
 * @param id the account's key
 * @param balance free tokens, {@code >= 0}
 * @param nonce the nonce its next transaction must carry, {@code >= 0}
 */
public record Account(PeerId id, long balance, long nonce) {
  /** Checks for nulls and ranges. */
  public Account {
    Objects.requireNonNull(id, "id");
    if (balance < 0) {
      throw new IllegalArgumentException("balance must be >= 0, was " + balance);
    }
    if (nonce < 0) {
      throw new IllegalArgumentException("nonce must be >= 0, was " + nonce);
    }
  }
}
