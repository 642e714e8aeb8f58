package io.bittensor.core.internal.ledger;

import io.bittensor.core.Hash256;
import io.bittensor.core.internal.DurableFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * Snapshots of the ledger state, so that opening replays only the blocks after the newest one.
 * One file per snapshot, {@code snapshot-<block, 20 digits>.bin}:
 *
 * <pre>
 * 8   magic "BTSNAPSH"
 * u32 format version (1)
 * i64 block number
 * 32  block hash (must match the journal's block of that number)
 * u32 state length, then the state ({@link LedgerState#encode()})
 * u32 CRC32C of everything above
 * </pre>
 *
 * <p>Written whole or not at all (temporary file, fsync, rename, directory fsync), after the
 * block is durable. A damaged or mismatched snapshot is skipped, never trusted: the journal is
 * the truth, and replaying it from genesis always works. The newest {@link #KEEP} up to the one
 * just written are kept.
 */
public final class Snapshots {
  /** How many snapshots are kept. */
  public static final int KEEP = 2;

  private static final byte[] MAGIC = "BTSNAPSH".getBytes(StandardCharsets.US_ASCII);
  private static final int VERSION = 1;
  private static final String PREFIX = "snapshot-";
  private static final String SUFFIX = ".bin";

  private Snapshots() {}

  /** A loaded snapshot. */
  public record Snapshot(long block, Hash256 hash, byte[] state) {}

  /** The block numbers of the snapshots in {@code dir}, newest first. */
  public static List<Long> list(Path dir) throws IOException {
    List<Long> blocks = new ArrayList<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, PREFIX + "*" + SUFFIX)) {
      for (Path f : files) {
        String name = f.getFileName().toString();
        String digits = name.substring(PREFIX.length(), name.length() - SUFFIX.length());
        if (isNumber(digits)) {
          blocks.add(Long.parseLong(digits));
        }
      }
    }
    Collections.sort(blocks, Collections.reverseOrder());
    return blocks;
  }

  /**
   * Whether {@code digits} is a block number as file names write it: 20 digits, at most {@link
   * Long#MAX_VALUE} (a larger one is not a name we wrote, and must not stop a listing).
   */
  static boolean isNumber(String digits) {
    return digits.length() == 20 && digits.chars().allMatch(c -> c >= '0' && c <= '9')
        && digits.compareTo("09223372036854775807") <= 0; // Long.MAX_VALUE in 20 digits
  }

  static Path path(Path dir, long block) {
    return dir.resolve(String.format("%s%020d%s", PREFIX, block, SUFFIX));
  }

  /**
   * Writes a snapshot and deletes all but the newest {@link #KEEP} up to it.
   *
   * @throws IOException if it cannot be written
   */
  public static void write(Path dir, long block, Hash256 hash, byte[] state) throws IOException {
    int length = 8 + 4 + 8 + 32 + 4 + state.length;
    ByteBuffer buf = ByteBuffer.allocate(length + 4);
    buf.put(MAGIC).putInt(VERSION).putLong(block).put(hash.toBytes()).putInt(state.length)
        .put(state);
    buf.putInt(Journal.crc(buf.array(), 0, length));
    DurableFiles.replace(path(dir, block), buf.array());
    int kept = 0;
    for (long other : list(dir)) {
      // One of a later block is of a history the journal no longer holds (a journal restored
      // from an older copy): it matches nothing, and is replaced when the chain gets there.
      if (other <= block && ++kept > KEEP) {
        Files.deleteIfExists(path(dir, other));
      }
    }
  }

  /**
   * Reads the snapshot of {@code block}.
   *
   * @throws IOException if it cannot be read
   * @throws IllegalArgumentException if it is damaged (bad magic, version, length or checksum)
   */
  public static Snapshot read(Path dir, long block) throws IOException {
    byte[] b = Files.readAllBytes(path(dir, block));
    if (b.length < 60 || !Arrays.equals(b, 0, 8, MAGIC, 0, 8)) {
      throw new IllegalArgumentException("not a snapshot file");
    }
    ByteBuffer buf = ByteBuffer.wrap(b);
    if (Journal.crc(b, 0, b.length - 4) != buf.getInt(b.length - 4)) {
      throw new IllegalArgumentException("the snapshot fails its checksum");
    }
    int version = buf.getInt(8);
    if (version != VERSION) {
      throw new IllegalArgumentException("unknown snapshot version " + version);
    }
    long stated = buf.getLong(12);
    if (stated != block) {
      throw new IllegalArgumentException("the file of block " + block + " holds block " + stated);
    }
    Hash256 hash = Hash256.fromBytes(Arrays.copyOfRange(b, 20, 52));
    int stateLength = buf.getInt(52);
    if (stateLength != b.length - 60) {
      throw new IllegalArgumentException("the state length " + stateLength + " does not fit");
    }
    return new Snapshot(block, hash, Arrays.copyOfRange(b, 56, 56 + stateLength));
  }
}
