package io.bittensor.core.testing;

import io.bittensor.core.Genesis;
import io.bittensor.core.Keypair;
import io.bittensor.core.LedgerParams;
import java.net.URI;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/** Deterministic keys, genesis blocks and clocks for ledger tests. */
public final class LedgerFixtures {
  /** When every test chain began. */
  public static final Instant GENESIS_TIME = Instant.parse("2026-01-01T00:00:00Z");

  /** Tokens each funded test account starts with. */
  public static final long FUNDS = 1_000_000;

  private LedgerFixtures() {}

  /** A clock that never moves: block timestamps are then all equal, and hashes reproducible. */
  public static Clock fixedClock() {
    return Clock.fixed(GENESIS_TIME, ZoneOffset.UTC);
  }

  /**
   * A clock that throws {@code new Error(message)} whenever {@code fails} says so (asked at each
   * reading), and reads {@code otherwise} the rest of the time: an Error where the ledger reads
   * the time, as an OutOfMemoryError could come mid-seal.
   */
  public static Clock failingWhen(BooleanSupplier fails, String message, Clock otherwise) {
    return new Clock() {
      @Override
      public Instant instant() {
        if (fails.getAsBoolean()) {
          throw new Error(message);
        }
        return otherwise.instant();
      }

      @Override
      public ZoneId getZone() {
        return otherwise.getZone();
      }

      @Override
      public Clock withZone(ZoneId zone) {
        throw new UnsupportedOperationException("a test clock");
      }
    };
  }

  /** The key pair number {@code i}: the same seed, the same keys, in every run. */
  public static Keypair key(int i) {
    byte[] seed = new byte[Keypair.SEED_LENGTH];
    seed[0] = (byte) 0x42;
    seed[28] = (byte) (i >>> 24);
    seed[29] = (byte) (i >>> 16);
    seed[30] = (byte) (i >>> 8);
    seed[31] = (byte) i;
    return Keypair.fromSeed(seed);
  }

  /** Keys {@code 0 .. n-1}. */
  public static List<Keypair> keys(int n) {
    List<Keypair> keys = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      keys.add(key(i));
    }
    return keys;
  }

  /** The authority of every test chain. */
  public static Keypair authority() {
    return key(1_000_000);
  }

  /** An endpoint for peer {@code i}. */
  public static URI endpoint(int i) {
    return URI.create("http://10.0.0." + (i % 250 + 1) + ":" + (8000 + i));
  }

  /** A chain with the given rules where keys {@code 0 .. funded-1} hold {@link #FUNDS} each. */
  public static Genesis genesis(LedgerParams params, int funded) {
    Genesis.Builder b = Genesis.builder()
        .chainName("test")
        .createdAt(GENESIS_TIME)
        .params(params)
        .authority(authority().id());
    for (int i = 0; i < funded; i++) {
      b.allocate(key(i).id(), FUNDS);
    }
    return b.build();
  }

  /**
   * Test rules: epochs of 5 blocks, at most {@code maxPeers} peers, an immunity of 3 blocks, at
   * least one weight, no rate limit.
   */
  public static LedgerParams params(int maxPeers) {
    return new LedgerParams(5, maxPeers, 3, 1, 0);
  }
}
