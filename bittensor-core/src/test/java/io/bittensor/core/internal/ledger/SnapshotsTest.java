package io.bittensor.core.internal.ledger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.Hash256;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The snapshot file: what is written reads back exactly, the newest {@link Snapshots#KEEP} are
 * kept, and each kind of damage is refused naming it (opening then replays the journal instead:
 * {@code LocalLedgerTest}).
 */
class SnapshotsTest {
  @TempDir Path dir;

  private static byte[] state(int length, long seed) {
    byte[] b = new byte[length];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void whatIsWrittenReadsBackAndOnlyTheNewestAreKept() throws IOException {
    for (long block = 1; block <= 4; block++) {
      byte[] state = state((int) (block * 37), block);
      Hash256 hash = Hash256.of(state);
      Snapshots.write(dir, block * 10, hash, state);
      Snapshots.Snapshot s = Snapshots.read(dir, block * 10);
      assertEquals(block * 10, s.block());
      assertEquals(hash, s.hash());
      assertArrayEquals(state, s.state());
    }
    assertEquals(2, Snapshots.KEEP);
    assertEquals(List.of(40L, 30L), Snapshots.list(dir), "newest first, two kept");
    Files.writeString(dir.resolve("snapshot-12.bin"), "not ours: 20 digits or nothing");
    assertEquals(List.of(40L, 30L), Snapshots.list(dir));
    assertThrows(NoSuchFileException.class, () -> Snapshots.read(dir, 20));
    Snapshots.write(dir, 50, Hash256.of(new byte[0]), new byte[0]);
    assertEquals(0, Snapshots.read(dir, 50).state().length, "an empty state is a state");
  }

  /** A file whose 20 digits are past any block number is not ours: passed over, not thrown. */
  @Test
  void aNameOfTwentyDigitsPastALongIsPassedOver() throws IOException {
    Snapshots.write(dir, 3, Hash256.of(new byte[0]), new byte[0]);
    Files.write(dir.resolve("snapshot-99999999999999999999.bin"), new byte[0]);
    assertEquals(List.of(3L), Snapshots.list(dir));
    Snapshots.write(dir, 4, Hash256.of(new byte[0]), new byte[0]);
    assertEquals(List.of(4L, 3L), Snapshots.list(dir));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = ';', value = {
      "short; not a snapshot file",
      "magic; not a snapshot file",
      "checksum; fails its checksum",
      "version; unknown snapshot version 2",
      "block; the file of block 7 holds block 8",
      "length; the state length 41 does not fit"})
  void damageIsRefusedNamingIt(String damage, String message) throws IOException {
    byte[] state = state(40, 3);
    Snapshots.write(dir, 7, Hash256.of(state), state);
    Path file = Snapshots.path(dir, 7);
    byte[] b = Files.readAllBytes(file);
    ByteBuffer buf = ByteBuffer.wrap(b);
    switch (damage) {
      case "short" -> b = java.util.Arrays.copyOf(b, 59);
      case "magic" -> b[0] ^= 1;
      case "checksum" -> b[60] ^= 1;
      case "version" -> buf.putInt(8, 2);
      case "block" -> buf.putLong(12, 8);
      default -> buf.putInt(52, 41);
    }
    if (!damage.equals("checksum") && !damage.equals("short") && !damage.equals("magic")) {
      // Damage that still passes the checksum: only the field is wrong.
      CRC32C crc = new CRC32C();
      crc.update(b, 0, b.length - 4);
      buf.putInt(b.length - 4, (int) crc.getValue());
    }
    Files.write(file, b);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Snapshots.read(dir, 7));
    assertTrue(e.getMessage().contains(message), damage + ": " + e.getMessage());
  }
}
