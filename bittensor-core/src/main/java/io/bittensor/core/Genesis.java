package io.bittensor.core;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * How a ledger begins: its name and creation time, its first {@link LedgerParams}, the key that
 * may change them, and the tokens each account holds before any block. The genesis block records
 * it, and that block's hash is the chain id every transaction names.
 *
 * <pre>{@code
 * Keypair admin = Keypair.generate(), alice = Keypair.generate();
 * Genesis genesis = Genesis.builder()
 *     .chainName("testnet-7")
 *     .params(LedgerParams.defaults().withEpochLength(10))
 *     .authority(admin.id())                // may send ChangeParams; optional
 *     .allocate(alice.id(), 1_000_000)      // tokens in whole units
 *     .build();
 * }</pre>
 *
 * <p>Tokens are whole units (a {@code long}); pick the scale you need (for example 10^9 units
 * to a token). Nothing but an epoch's emission creates tokens after genesis.
 *
 * <p>Immutable and thread-safe.
 *
 * @param chainName a name for people, 1 to 64 printable ASCII characters
 * @param createdAt when the chain began, to the millisecond; two chains with the same name,
 *     time, rules and allocations are the same chain
 * @param params the rules at block 0
 * @param authority the key that may change the rules, or empty for rules fixed forever
 * @param allocations tokens per account at genesis (sorted by key, unmodifiable); each {@code > 0},
 *     summing to at most {@link Long#MAX_VALUE}
 */
public record Genesis(
    String chainName,
    Instant createdAt,
    LedgerParams params,
    Optional<PeerId> authority,
    SortedMap<PeerId, Long> allocations) {

  /**
   * Validates the name, truncates the time to milliseconds and copies the allocations.
   *
   * @throws IllegalArgumentException for a bad name, a creation time whose milliseconds since
   *     1970 overflow a {@code long}, a non-positive allocation, or allocations whose sum
   *     overflows a {@code long}
   */
  public Genesis {
    Objects.requireNonNull(chainName, "chainName");
    Objects.requireNonNull(createdAt, "createdAt");
    Objects.requireNonNull(params, "params");
    Objects.requireNonNull(authority, "authority");
    Objects.requireNonNull(allocations, "allocations");
    if (chainName.isEmpty() || chainName.length() > 64
        || !chainName.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
      throw new IllegalArgumentException(
          "chainName must be 1 to 64 printable ASCII characters, was \"" + chainName + "\"");
    }
    createdAt = createdAt.truncatedTo(ChronoUnit.MILLIS);
    try {
      createdAt.toEpochMilli(); // as the genesis block records it
    } catch (ArithmeticException tooFar) {
      throw new IllegalArgumentException("createdAt must be within a long's milliseconds of"
          + " 1970 (about 292 million years), was " + createdAt, tooFar);
    }
    TreeMap<PeerId, Long> copy = new TreeMap<>();
    long total = 0;
    for (Map.Entry<PeerId, Long> e : allocations.entrySet()) {
      PeerId id = Objects.requireNonNull(e.getKey(), "allocation key");
      long amount = Objects.requireNonNull(e.getValue(), "allocation amount");
      if (amount <= 0) {
        throw new IllegalArgumentException(
            "allocation to " + id + " must be > 0, was " + amount);
      }
      try {
        total = Math.addExact(total, amount);
      } catch (ArithmeticException overflow) {
        throw new IllegalArgumentException("allocations sum to more than " + Long.MAX_VALUE,
            overflow);
      }
      copy.put(id, amount);
    }
    allocations = Collections.unmodifiableSortedMap(copy);
  }

  /** A builder: name "local", created now, default rules, no authority, no allocations. */
  public static Builder builder() {
    return new Builder();
  }

  /** The tokens that exist at genesis: the sum of the allocations. */
  public long supply() {
    long total = 0;
    for (long amount : allocations.values()) {
      total += amount;
    }
    return total;
  }

  /** A builder of a {@link Genesis}. Not thread-safe. */
  public static final class Builder {
    private String chainName = "local";
    private Instant createdAt;
    private LedgerParams params = LedgerParams.defaults();
    private PeerId authority;
    private final TreeMap<PeerId, Long> allocations = new TreeMap<>();

    private Builder() {}

    /** The chain's name for people (default "local"). */
    public Builder chainName(String chainName) {
      this.chainName = Objects.requireNonNull(chainName, "chainName");
      return this;
    }

    /** When the chain began (default: the time of {@link #build()}). */
    public Builder createdAt(Instant createdAt) {
      this.createdAt = Objects.requireNonNull(createdAt, "createdAt");
      return this;
    }

    /** The rules at block 0 (default {@link LedgerParams#defaults()}). */
    public Builder params(LedgerParams params) {
      this.params = Objects.requireNonNull(params, "params");
      return this;
    }

    /** The key that may change the rules (default: none, rules fixed). */
    public Builder authority(PeerId authority) {
      this.authority = Objects.requireNonNull(authority, "authority");
      return this;
    }

    /**
     * Gives {@code amount} tokens to {@code account} at genesis, added to what it was given
     * before.
     *
     * @throws IllegalArgumentException if {@code amount <= 0} or the account's total overflows
     */
    public Builder allocate(PeerId account, long amount) {
      Objects.requireNonNull(account, "account");
      if (amount <= 0) {
        throw new IllegalArgumentException("allocation to " + account + " must be > 0, was "
            + amount);
      }
      long before = allocations.getOrDefault(account, 0L);
      if (before > Long.MAX_VALUE - amount) {
        throw new IllegalArgumentException(
            "allocation to " + account + " overflows: " + before + " + " + amount);
      }
      allocations.put(account, before + amount);
      return this;
    }

    /**
     * The genesis.
     *
     * @throws IllegalArgumentException as the {@link Genesis} constructor
     */
    public Genesis build() {
      Instant at = createdAt != null ? createdAt : Instant.now();
      return new Genesis(chainName, at, params, Optional.ofNullable(authority), allocations);
    }
  }
}
