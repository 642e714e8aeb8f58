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
}
