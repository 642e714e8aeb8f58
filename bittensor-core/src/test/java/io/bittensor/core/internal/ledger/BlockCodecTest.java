package io.bittensor.core.internal.ledger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.Block;
import io.bittensor.core.Genesis;
import io.bittensor.core.Hash256;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.testing.LedgerFixtures;
import io.bittensor.incentive.Emission;
import io.bittensor.incentive.PaperParams;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The block payloads: what is written reads back, and nothing else is read as a block. */
class BlockCodecTest {
  private static final PaperParams PAPER =
      PaperParams.defaults().withEmission(Emission.inflation(0.1));

  private static Genesis genesis() {
    return LedgerFixtures.genesis(LedgerParams.defaults(), 2);
  }

  private static byte[] genesisPayload() {
    return BlockCodec.encodeGenesis(genesis(), "paper", PAPER, 1234);
  }

  /** {@code payload} with the byte at {@code at} (from the end when negative) set to {@code v}. */
  private static byte[] with(byte[] payload, int at, int v) {
    byte[] b = payload.clone();
    b[at < 0 ? b.length + at : at] = (byte) v;
    return b;
  }

  private static void refused(byte[] payload, String field) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> BlockCodec.decode(payload), field);
    assertTrue(e.getMessage().contains(field), e.getMessage());
  }

  @Test
  void aGenesisPayloadReadsBack() {
    BlockCodec.Decoded d = BlockCodec.decode(genesisPayload());
    assertEquals(genesis(), d.genesis());
    assertEquals(PAPER, d.paperParams().orElseThrow());
    assertEquals(1234, d.timestamp());
  }

  /**
   * A flag is 0 or 1 and an emission kind 0 or 1: any other byte there is damage, not "absent"
   * or "inflation" (which a payload re-encoded from the decoded block would not even say).
   */
  @Test
  void aFlagOrEmissionKindOtherThanZeroOrOneIsRefusedNamingTheField() {
    byte[] g = genesisPayload();
    // From the end: u8 paper flag, f64 rho, f64 kappa, u8 emission kind, f64 rate, f64
    // bondShare, u8 normalizeRows, u8 maskSelfWeights.
    refused(with(g, -1, 2), "maskSelfWeights");
    refused(with(g, -2, 7), "normalizeRows");
    refused(with(g, -19, 2), "emission kind");
    refused(with(g, -36, 2), "paper flag");
    byte[] none = BlockCodec.encodeGenesis(genesis(), "other", null, 1234);
    refused(with(none, -1, 3), "paper flag");
    // After kind, number, parent, timestamp, the name "test", createdAt and five parameters.
    int authority = 1 + 8 + 32 + 8 + 2 + 4 + 8 + 20;
    assertEquals(1, g[authority], "the fixture has an authority");
    refused(with(g, authority, 2), "authority flag");

    byte[] block = BlockCodec.encodeBlock(3, Hash256.ZERO, 1234, List.of(), null);
    assertTrue(BlockCodec.decode(block).epochDigest().isEmpty());
    refused(with(block, -1, 2), "epoch flag");
  }

  @Test
  void aCheckpointWhoseEpochFlagIsNeitherZeroNorOneIsRefused() {
    Hash256 chain = Hash256.of(genesisPayload());
    LedgerState state = LedgerState.genesis(genesis(), chain);
    Block block = new Block(0, chain, Hash256.ZERO, Instant.ofEpochMilli(1234), 0, false);
    byte[] payload = BlockCodec.encodeCheckpoint(block, state.encode());
    assertEquals(block, BlockCodec.decodeCheckpoint(payload).block());
    // The checkpoint's kind, number and parent; the export's magic, number, hash, parent,
    // timestamp and transactions; then whether an epoch ran.
    int epoch = 1 + 8 + 32 + 4 + 8 + 32 + 32 + 8 + 4;
    assertEquals(0, payload[epoch]);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> BlockCodec.decodeCheckpoint(with(payload, epoch, 2)));
    assertTrue(e.getMessage().contains("epoch"), e.getMessage());
  }

  /**
   * Allocations are written sorted by key, each once: a payload that repeats a key (which read
   * into a map silently kept the last amount) or reorders them is not one this codec wrote.
   */
  @Test
  void genesisAllocationsOutOfOrderOrRepeatedAreRefused() {
    byte[] g = genesisPayload();
    // The authority flag and key, then the count, then (32 key, i64 amount) each.
    int first = 1 + 8 + 32 + 8 + 2 + 4 + 8 + 20 + 1 + 32 + 4;
    assertEquals(2, g[first - 1], "the fixture funds two keys");
    byte[] repeated = g.clone();
    System.arraycopy(g, first, repeated, first + 40, 32);
    refused(repeated, "allocation");
    byte[] swapped = g.clone();
    System.arraycopy(g, first, swapped, first + 40, 40);
    System.arraycopy(g, first + 40, swapped, first, 40);
    refused(swapped, "allocation");
  }

  /** A payload too short for its header is refused as truncated, not read past its end. */
  @Test
  void aPayloadShorterThanItsHeaderIsRefusedAsTruncated() {
    byte[] shortCheckpoint = {2, 0, 0, 0, 0, 0};
    for (java.util.function.Function<byte[], Object> read :
        List.<java.util.function.Function<byte[], Object>>of(BlockCodec::decodeCheckpoint,
            BlockCodec::number, BlockCodec::parent, BlockCodec::checkpointHash)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> read.apply(shortCheckpoint));
      assertTrue(e.getMessage().startsWith("truncated"), e.getMessage());
    }
    assertEquals(1, BlockCodec.number(new byte[] {2, 0, 0, 0, 0, 0, 0, 0, 1}));
  }

  /** A genesis block is block 0 with no parent, and every other block comes after it. */
  @Test
  void aGenesisWithANumberOrParentOrABlockNumberedZeroIsRefused() {
    byte[] g = genesisPayload();
    refused(with(g, 8, 1), "genesis");
    refused(with(g, 9 + 31, 1), "genesis");
    refused(BlockCodec.encodeBlock(0, Hash256.ZERO, 1234, List.of(), null), "block 0");
    refused(BlockCodec.encodeBlock(-1, Hash256.ZERO, 1234, List.of(), null), "block -1");
  }

  /**
   * Registration rules go in a section after everything else, only when set: the bytes before
   * it are the genesis without them (so a reader before the rules stops at them as trailing
   * bytes, never misreads them), and a section of zeros or of an unknown tag is refused.
   */
  @Test
  void registrationRulesAreATrailingSectionOnlyWhenSet() {
    LedgerParams rules = LedgerParams.defaults().withRegistrationBurn(10_000)
        .withMaxRegistrationsPerBlock(3);
    Genesis with = LedgerFixtures.genesis(rules, 2);
    byte[] payload = BlockCodec.encodeGenesis(with, "paper", PAPER, 1234);
    byte[] without = BlockCodec.encodeGenesis(
        LedgerFixtures.genesis(LedgerParams.defaults(), 2), "paper", PAPER, 1234);
    assertArrayEquals(without, Arrays.copyOf(payload, without.length));
    assertEquals(without.length + 1 + 8 + 4, payload.length);
    assertEquals(with, BlockCodec.decode(payload).genesis());
    assertEquals(rules, BlockCodec.decode(payload).genesis().params());

    byte[] zeros = payload.clone();
    Arrays.fill(zeros, without.length + 1, zeros.length, (byte) 0);
    refused(zeros, "not a canonical encoding");
    refused(with(payload, without.length, 2), "unknown genesis section 2");
    refused(Arrays.copyOf(payload, payload.length - 1), "maxRegistrationsPerBlock");
  }
}
