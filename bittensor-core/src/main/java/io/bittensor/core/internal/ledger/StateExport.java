package io.bittensor.core.internal.ledger;

import io.bittensor.core.Block;
import io.bittensor.core.Hash256;
import java.time.Instant;

/**
 * A ledger's state between two blocks, with the block it follows, as bytes: what a replica
 * needs to go on from that block without replaying the blocks before it. The magic {@code BTS1},
 * the block (number, hash, parent, timestamp, transactions, whether an epoch ran), then the
 * state's own encoding ({@link LedgerState#encode}), whose height and hash must be the block's.
 */
public final class StateExport {
  private static final int MAGIC = 0x42545331; // "BTS1"
  private static final int MAX_STATE_BYTES = Integer.MAX_VALUE - 64;

  /** A decoded export. */
  public record Decoded(Block block, LedgerState state) {}

  private StateExport() {}

  public static byte[] encode(Block block, byte[] state) {
    ByteWriter w = new ByteWriter(state.length + 128);
    w.i32(MAGIC).i64(block.number()).bytes(block.hash().toBytes())
        .bytes(block.parent().toBytes()).i64(block.timestamp().toEpochMilli())
        .i32(block.transactions()).u8(block.epoch() ? 1 : 0).blob(state);
    return w.toByteArray();
  }

  /**
   * The number of the block an export is at, read from its header without decoding the state.
   *
   * @throws IllegalArgumentException if the bytes are not an export
   */
  public static long blockNumber(byte[] bytes) {
    ByteReader r = new ByteReader(bytes);
    if (r.i32("magic") != MAGIC) {
      throw new IllegalArgumentException("not a ledger state export (no BTS1 magic)");
    }
    return r.i64("block number");
  }

  /**
   * @throws IllegalArgumentException if the bytes are not an export, or the state does not
   *     follow the block they name
   */
  public static Decoded decode(byte[] bytes) {
    ByteReader r = new ByteReader(bytes);
    if (r.i32("magic") != MAGIC) {
      throw new IllegalArgumentException("not a ledger state export (no BTS1 magic)");
    }
    long number = r.i64("block number");
    Hash256 hash = Hash256.fromBytes(r.bytes(32, "block hash"));
    Hash256 parent = Hash256.fromBytes(r.bytes(32, "parent hash"));
    Instant timestamp = Instant.ofEpochMilli(r.i64("timestamp"));
    int transactions = r.i32("transactions");
    boolean epoch = r.flag("epoch flag");
    LedgerState state = LedgerState.decode(r.blob(MAX_STATE_BYTES, "state"));
    r.requireEnd("a state export");
    if (state.height() != number || !state.lastHash().equals(hash)) {
      throw new IllegalArgumentException("the exported state is at block " + state.height()
          + " (" + state.lastHash().toShortHex() + "), not at the block it names, " + number
          + " (" + hash.toShortHex() + ")");
    }
    return new Decoded(new Block(number, hash, parent, timestamp, transactions, epoch), state);
  }
}
