package io.bittensor.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KeypairTest {
  private static final byte[] MESSAGE = "forward 1".getBytes(StandardCharsets.UTF_8);

  @TempDir Path dir;

  @Test
  void signaturesVerifyOnlyForTheSignedMessageAndKey() {
    Keypair a = Keypair.generate();
    Keypair b = Keypair.generate();
    byte[] sig = a.sign(MESSAGE);
    assertEquals(Keypair.SIGNATURE_LENGTH, sig.length);
    assertTrue(a.id().verify(MESSAGE, sig));
    assertFalse(b.id().verify(MESSAGE, sig));
    byte[] other = MESSAGE.clone();
    other[0] ^= 1;
    assertFalse(a.verify(other, sig));
    sig[10] ^= 1;
    assertFalse(a.verify(MESSAGE, sig));
    assertFalse(a.verify(MESSAGE, new byte[3]), "a short signature is false, not an exception");
  }

  @Test
  void aBadKeyFirstOnAThreadDoesNotBreakLaterVerifications() throws Exception {
    Keypair a = Keypair.generate();
    byte[] sig = a.sign(MESSAGE);
    byte[] notAPoint = new byte[PeerId.LENGTH];
    java.util.Arrays.fill(notAPoint, (byte) 0xFF); // y >= p: the JDK refuses the key
    boolean[] results = new boolean[2];
    Thread t = new Thread(() -> {
      results[0] = PeerId.fromBytes(notAPoint).verify(MESSAGE, sig);
      results[1] = a.id().verify(MESSAGE, sig);
    });
    t.start();
    t.join();
    assertFalse(results[0]);
    assertTrue(results[1], "a valid signature verifies after a bad key on the same thread");
  }

  @Test
  void saveWritesOwnerOnlyPermissionsAndLoadRestoresTheSameKeys() throws IOException {
    Keypair k = Keypair.generate();
    Path file = dir.resolve("peer.key");
    k.save(file);
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    Keypair loaded = Keypair.load(file);
    assertEquals(k.id(), loaded.id());
    assertTrue(k.verify(MESSAGE, loaded.sign(MESSAGE)));
    assertTrue(Files.readString(file).contains(k.id().toHex()));
  }

  @Test
  void saveNeverOverwritesAKey() throws IOException {
    Path file = dir.resolve("peer.key");
    Keypair.generate().save(file);
    assertThrows(FileAlreadyExistsException.class, () -> Keypair.generate().save(file));
  }

  @Test
  void loadRefusesAFileOthersMayRead() throws IOException {
    Path file = dir.resolve("peer.key");
    Keypair.generate().save(file);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    IOException e = assertThrows(IOException.class, () -> Keypair.load(file));
    assertTrue(e.getMessage().contains("rw-r--r--"), e.getMessage());
  }

  @Test
  void loadRefusesACorruptFile() throws IOException {
    Path file = dir.resolve("peer.key");
    Keypair.generate().save(file);
    String text = Files.readString(file);
    String other = Keypair.generate().id().toHex();
    Files.writeString(file, text.replaceAll("public: .*", "public: " + other));
    IOException e = assertThrows(IOException.class, () -> Keypair.load(file));
    assertTrue(e.getMessage().contains("does not match"), e.getMessage());
    Files.writeString(file, "hello\n");
    assertThrows(IOException.class, () -> Keypair.load(file));
    // A folder is named as one, not blamed for its permissions.
    e = assertThrows(IOException.class, () -> Keypair.load(dir));
    assertTrue(e.getMessage().contains("is a folder"), e.getMessage());
  }

  @Test
  void toStringShowsOnlyThePublicKey() {
    byte[] seed = new byte[Keypair.SEED_LENGTH];
    seed[0] = 7;
    Keypair k = Keypair.fromSeed(seed);
    assertTrue(k.toString().contains(k.id().toHex()));
    assertFalse(k.toString().contains(HexFormat.of().formatHex(seed)));
  }

  @Test
  void peerIdsRoundTripThroughHexBytesAndJdkKeys() {
    PeerId id = Keypair.generate().id();
    assertEquals(id, PeerId.fromHex(id.toHex()));
    assertEquals(id, PeerId.fromBytes(id.toBytes()));
    assertEquals(id, PeerId.of(id.toPublicKey()));
    assertArrayEquals(id.toBytes(), PeerId.fromBytes(id.toBytes()).toBytes());
    assertNotEquals(id, Keypair.generate().id());
    assertThrows(IllegalArgumentException.class, () -> PeerId.fromBytes(new byte[31]));
    assertThrows(IllegalArgumentException.class, () -> PeerId.fromHex("zz".repeat(32)));
  }
}
