package io.bittensor.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.internal.ledger.BlockCodec;
import java.time.Instant;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class GenesisTest {
  private static Genesis at(Instant createdAt) {
    return new Genesis("test", createdAt, LedgerParams.defaults(), Optional.empty(),
        new TreeMap<>());
  }

  /**
   * The genesis block records the time in milliseconds since 1970, a long: a time it cannot
   * hold is refused when the genesis is made, not when a ledger writes its first block.
   */
  @Test
  void aCreationTimeTheGenesisBlockCannotRecordIsRefused() {
    for (Instant bad : new Instant[] {Instant.MAX, Instant.MIN,
        Instant.ofEpochMilli(Long.MAX_VALUE).plusMillis(1)}) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> at(bad), bad.toString());
      assertTrue(e.getMessage().contains("createdAt"), e.getMessage());
    }
    Instant last = Instant.ofEpochMilli(Long.MAX_VALUE);
    Genesis g = at(last.plusNanos(999_999));
    assertEquals(last, g.createdAt());
    assertEquals(g, BlockCodec.decode(BlockCodec.encodeGenesis(g, "m", null, 0)).genesis());
    assertEquals(Instant.ofEpochMilli(Long.MIN_VALUE), at(Instant.ofEpochMilli(Long.MIN_VALUE))
        .createdAt());
  }

  /** The registration rules: 0 from the old constructor and the defaults, never negative. */
  @Test
  void theRegistrationRulesDefaultToZeroAndRefuseNegativeValues() {
    LedgerParams five = new LedgerParams(100, 4096, 200, 1, 10);
    assertEquals(LedgerParams.defaults(), five);
    assertEquals(new LedgerParams(100, 4096, 200, 1, 10, 0, 0), five);
    LedgerParams p = five.withRegistrationBurn(7).withMaxRegistrationsPerBlock(3);
    assertEquals(new LedgerParams(100, 4096, 200, 1, 10, 7, 3), p);
    assertEquals(7, p.withEpochLength(5).registrationBurn(), "other withers keep them");
    assertEquals(3, p.withMaxPeers(9).maxRegistrationsPerBlock());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> five.withRegistrationBurn(-1));
    assertEquals("registrationBurn must be >= 0, was -1", e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> five.withMaxRegistrationsPerBlock(-2));
    assertEquals("maxRegistrationsPerBlock must be >= 0, was -2", e.getMessage());
  }
}
