package io.bittensor.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Key files sealed under a passphrase: {@link Keypair#save(Path, char[], KeyProtection)}. */
class SealedKeyFileTest {
  /** Cheap enough for tests; files keep the cost they were written with. */
  static final KeyProtection CHEAP = KeyProtection.argon2id(256, 1, 1);
  private static final byte[] MESSAGE = "set weights".getBytes(StandardCharsets.UTF_8);
  private static final char[] PASSPHRASE = "correct horse battery staple".toCharArray();

  @TempDir Path dir;

  @Test
  void aSealedFileHoldsNoSeedAndOpensToTheSameKeys() throws IOException {
    byte[] seed = new byte[Keypair.SEED_LENGTH];
    for (int i = 0; i < seed.length; i++) {
      seed[i] = (byte) (31 * i + 7);
    }
    Keypair k = Keypair.fromSeed(seed);
    Path file = dir.resolve("cold.key");
    char[] passphrase = PASSPHRASE.clone();
    k.save(file, passphrase, CHEAP);
    assertArrayEquals(PASSPHRASE, passphrase, "the passphrase is not modified");
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    String text = Files.readString(file);
    assertFalse(text.contains(HexFormat.of().formatHex(seed)), text);
    assertTrue(text.startsWith("bittensor-keypair-v2 ed25519 argon2id aes-256-gcm\n"), text);
    assertTrue(text.contains("kdf: m=256 t=1 p=1 v=19\n"), text);
    assertTrue(text.contains("public: " + k.id().toHex() + "\n"), text);

    Keypair opened = Keypair.load(file, PASSPHRASE);
    assertEquals(k.id(), opened.id());
    assertArrayEquals(k.sign(MESSAGE), opened.sign(MESSAGE), "the same private key");
  }

  @Test
  void theDefaultCostIsRfc9106sSecondRecommendationAndRoundTrips() throws IOException {
    assertEquals(KeyProtection.argon2id(65_536, 3, 4), KeyProtection.defaults());
    Keypair k = Keypair.generate();
    Path file = dir.resolve("default.key");
    k.save(file, PASSPHRASE);
    assertTrue(Files.readString(file).contains("kdf: m=65536 t=3 p=4 v=19\n"));
    assertEquals(k.id(), Keypair.load(file, PASSPHRASE).id());
  }

  @Test
  void aWrongPassphraseIsRefusedNamingTheFile() throws IOException {
    Path file = dir.resolve("cold.key");
    Keypair.generate().save(file, PASSPHRASE, CHEAP);
    IOException e = assertThrows(IOException.class,
        () -> Keypair.load(file, "correct horse battery stapl".toCharArray()));
    assertTrue(e.getMessage().contains("wrong passphrase for key file " + file), e.getMessage());
  }

  @Test
  void loadWithoutAPassphraseRefusesASealedFileAndSaysHowToReadIt() throws IOException {
    Path file = dir.resolve("cold.key");
    Keypair.generate().save(file, PASSPHRASE, CHEAP);
    IOException e = assertThrows(IOException.class, () -> Keypair.load(file));
    assertTrue(e.getMessage().contains("sealed under a passphrase"), e.getMessage());
    assertTrue(e.getMessage().contains("Keypair.load(file, passphrase)"), e.getMessage());
  }

  @Test
  void thePublicIdReadsWithoutThePassphraseFromEitherKindOfFile() throws IOException {
    Keypair sealed = Keypair.generate();
    Keypair plain = Keypair.generate();
    Path sealedFile = dir.resolve("sealed.key");
    Path plainFile = dir.resolve("plain.key");
    sealed.save(sealedFile, PASSPHRASE, CHEAP);
    plain.save(plainFile);
    assertTrue(Keypair.isSealed(sealedFile));
    assertFalse(Keypair.isSealed(plainFile));
    assertEquals(sealed.id(), Keypair.readId(sealedFile));
    assertEquals(plain.id(), Keypair.readId(plainFile));
    assertEquals(plain.id(), Keypair.load(plainFile, PASSPHRASE).id(),
        "an unsealed file needs no passphrase, and one given is unused");
  }

  /** The cost and the public key are authenticated: changing either is refused, not obeyed. */
  @Test
  void aChangedCostOrPublicKeyIsRefused() throws IOException {
    Keypair k = Keypair.generate();
    Path file = dir.resolve("cold.key");
    k.save(file, PASSPHRASE, CHEAP);
    List<String> lines = Files.readAllLines(file);

    rewrite(file, lines, 1, "kdf: m=264 t=1 p=1 v=19");
    assertTrue(assertThrows(IOException.class, () -> Keypair.load(file, PASSPHRASE))
        .getMessage().contains("or the file was changed"));

    rewrite(file, lines, 5, "public: " + Keypair.generate().id().toHex());
    assertTrue(assertThrows(IOException.class, () -> Keypair.load(file, PASSPHRASE))
        .getMessage().contains("or the file was changed"));

    rewrite(file, lines, 5, lines.get(5));
    assertEquals(k.id(), Keypair.load(file, PASSPHRASE).id(), "restored, it opens again");
  }

  @Test
  void aFileAskingForMoreThanTheBoundsIsRefusedBeforeDerivingAnything() throws IOException {
    Path file = dir.resolve("cold.key");
    Keypair.generate().save(file, PASSPHRASE, CHEAP);
    List<String> lines = Files.readAllLines(file);
    rewrite(file, lines, 1, "kdf: m=999999999 t=1 p=1 v=19");
    IOException e = assertThrows(IOException.class, () -> Keypair.load(file, PASSPHRASE));
    assertTrue(e.getMessage().contains("Argon2id cost out of bounds: memoryKib must be 8 (8 per"
        + " lane) to 2097152, was 999999999"), e.getMessage());
    rewrite(file, lines, 1, "kdf: m=256 t=1 p=1 v=16");
    e = assertThrows(IOException.class, () -> Keypair.load(file, PASSPHRASE));
    assertTrue(e.getMessage().contains("expected \"kdf: m=KIB t=PASSES p=LANES v=19\""),
        e.getMessage());
    rewrite(file, lines, 2, "salt: 00");
    e = assertThrows(IOException.class, () -> Keypair.load(file, PASSPHRASE));
    assertTrue(e.getMessage().contains("salt has 1 bytes, expected 16"), e.getMessage());
  }

  @Test
  void misuseIsRefusedNamingTheValue() throws IOException {
    Keypair k = Keypair.generate();
    IllegalArgumentException empty = assertThrows(IllegalArgumentException.class,
        () -> k.save(dir.resolve("a.key"), new char[0], CHEAP));
    assertTrue(empty.getMessage().contains("empty passphrase"), empty.getMessage());
    assertFalse(Files.exists(dir.resolve("a.key")));
    assertEquals("parallelism must be 1 to 16, was 17", assertThrows(
        IllegalArgumentException.class, () -> KeyProtection.argon2id(1024, 1, 17)).getMessage());
    assertEquals("iterations must be 1 to 64, was 0", assertThrows(
        IllegalArgumentException.class, () -> KeyProtection.argon2id(1024, 0, 1)).getMessage());
    assertEquals("memoryKib must be 32 (8 per lane) to 2097152, was 31", assertThrows(
        IllegalArgumentException.class, () -> KeyProtection.argon2id(31, 1, 4)).getMessage());
  }

  /**
   * A lone UTF-16 surrogate has no UTF-8 bytes: it was encoded as '?', so passphrases that
   * differ only in such chars were one, and each opened the others' keys.
   */
  @Test
  void passphrasesWithAnUnpairedSurrogateAreRefusedSoNoTwoOpenEachOthersKey() throws IOException {
    char[] high = "pass\uD800word".toCharArray();
    char[] low = "pass\uDC00word".toCharArray();
    Path file = dir.resolve("cold.key");
    // As a key sealed under either of them was written: under "pass?word".
    Keypair.generate().save(file, "pass?word".toCharArray(), CHEAP);
    for (char[] lone : List.of(low, high)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> Keypair.load(file, lone),
          () -> "a key sealed as " + escaped(high) + " sealed it opened with " + escaped(lone));
      assertTrue(e.getMessage().contains("unpaired UTF-16 surrogate"), e.getMessage());
      assertTrue(e.getMessage().contains("'?' in place of each half"), e.getMessage());
    }
    Path other = dir.resolve("other.key");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Keypair.generate().save(other, high, CHEAP));
    assertTrue(e.getMessage().contains("unpaired UTF-16 surrogate"), e.getMessage());
    assertFalse(Files.exists(other), "nothing written");
    assertArrayEquals("pass\uD800word".toCharArray(), high, "the passphrase is not modified");

    // A pair of surrogates is one character (U+1F600 here), and seals as its four UTF-8 bytes.
    Keypair k = Keypair.generate();
    k.save(other, "pass\uD83D\uDE00word".toCharArray(), CHEAP);
    assertEquals(k.id(), Keypair.load(other, "pass\uD83D\uDE00word".toCharArray()).id());
    assertThrows(IOException.class, () -> Keypair.load(other, "pass?word".toCharArray()));
  }

  private static String escaped(char[] chars) {
    StringBuilder b = new StringBuilder();
    for (char c : chars) {
      b.append(c < 0x80 ? String.valueOf(c) : String.format("\\u%04X", (int) c));
    }
    return b.toString();
  }

  @Test
  void aSealedKeyIsNeverOverwritten() throws IOException {
    Path file = dir.resolve("cold.key");
    Keypair first = Keypair.generate();
    first.save(file, PASSPHRASE, CHEAP);
    assertThrows(FileAlreadyExistsException.class,
        () -> Keypair.generate().save(file, PASSPHRASE, CHEAP));
    assertThrows(FileAlreadyExistsException.class, () -> Keypair.generate().save(file));
    assertEquals(first.id(), Keypair.load(file, PASSPHRASE).id());
  }

  @Test
  void aSealedFileOthersMayReadIsRefused() throws IOException {
    Path file = dir.resolve("cold.key");
    Keypair.generate().save(file, PASSPHRASE, CHEAP);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    IOException e = assertThrows(IOException.class, () -> Keypair.load(file, PASSPHRASE));
    assertTrue(e.getMessage().contains("chmod 600"), e.getMessage());
    assertThrows(IOException.class, () -> Keypair.readId(file));
  }

  @Test
  void aFileFarLargerThanAKeyIsRefusedWithoutReadingIt() throws IOException {
    Path big = dir.resolve("big.key");
    Files.write(big, new byte[1 << 20]);
    Files.setPosixFilePermissions(big, PosixFilePermissions.fromString("rw-------"));
    IOException e = assertThrows(IOException.class, () -> Keypair.load(big, PASSPHRASE));
    assertTrue(e.getMessage().contains("not a bittensor key file (more than 4096 bytes)"),
        e.getMessage());
    assertThrows(IOException.class, () -> Keypair.readId(big));
    assertThrows(IOException.class, () -> Keypair.load(big));
  }

  @Test
  void aPathThatIsNotARegularFileIsRefused() throws IOException {
    Path fifo = dir.resolve("fifo.key");
    Process mkfifo = new ProcessBuilder("mkfifo", "-m", "600", fifo.toString()).start();
    assertEquals(0, assertTimeoutPreemptively(java.time.Duration.ofSeconds(10),
        () -> mkfifo.waitFor()));
    IOException e = assertTimeoutPreemptively(java.time.Duration.ofSeconds(10),
        () -> assertThrows(IOException.class, () -> Keypair.load(fifo, PASSPHRASE)));
    assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
  }

  private static void rewrite(Path file, List<String> lines, int index, String line)
      throws IOException {
    String[] copy = lines.toArray(String[]::new);
    copy[index] = line;
    Files.writeString(file, String.join("\n", copy) + "\n");
  }
}
