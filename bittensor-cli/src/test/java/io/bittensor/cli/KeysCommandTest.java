package io.bittensor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.Keypair;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KeysCommandTest {
  @Test
  void newWritesAKeyThatShowReadsBack(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("me.key");
    CliRunner made = CliRunner.run("keys", "new", file.toString());
    assertEquals(0, made.exitCode(), made.err());
    String id = made.out().strip();
    assertEquals(64, id.length());
    assertEquals(Keypair.load(file).id().toHex(), id);

    CliRunner shown = CliRunner.run("keys", "show", file.toString());
    assertEquals(0, shown.exitCode(), shown.err());
    assertEquals(id, shown.out().strip());
  }

  @Test
  void aKeyIsNeverOverwritten(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("me.key");
    assertEquals(0, CliRunner.run("keys", "new", file.toString()).exitCode());
    String before = Files.readString(file);
    CliRunner again = CliRunner.run("keys", "new", file.toString());
    assertEquals(Main.EXIT_BAD_INPUT, again.exitCode());
    assertTrue(again.err().contains("never overwritten"), again.err());
    assertEquals(before, Files.readString(file));
  }

  @Test
  void showNamesWhatIsWrongWithTheFile(@TempDir Path dir) throws Exception {
    CliRunner missing = CliRunner.run("keys", "show", dir.resolve("nope.key").toString());
    assertEquals(Main.EXIT_BAD_INPUT, missing.exitCode());
    assertTrue(missing.err().contains("no such key file"), missing.err());

    Path junk = dir.resolve("junk.key");
    Files.writeString(junk, "hello\n");
    Files.setPosixFilePermissions(junk, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    CliRunner bad = CliRunner.run("keys", "show", junk.toString());
    assertEquals(Main.EXIT_BAD_INPUT, bad.exitCode());
    assertTrue(bad.err().contains("not a bittensor key file"), bad.err());
  }

  @Test
  void newWithAPassphraseFileSealsTheKeyAndShowReadsItsIdWithoutIt(@TempDir Path dir)
      throws Exception {
    Path pass = passphraseFile(dir, "a long passphrase\n");
    Path file = dir.resolve("cold.key");
    CliRunner made = CliRunner.run("keys", "new", file.toString(),
        "--passphrase-file", pass.toString());
    assertEquals(0, made.exitCode(), made.err());
    String id = made.out().strip();
    assertTrue(Keypair.isSealed(file));
    assertEquals(id, Keypair.load(file, "a long passphrase".toCharArray()).id().toHex(),
        "the passphrase is the file's first line, without its line end");
    CliRunner shown = CliRunner.run("keys", "show", file.toString());
    assertEquals(0, shown.exitCode(), shown.err());
    assertEquals(id, shown.out().strip());
  }

  @Test
  void sealWritesASealedCopyAndLeavesTheKeyAsItWas(@TempDir Path dir) throws Exception {
    Path plain = dir.resolve("me.key");
    Path sealed = dir.resolve("me-sealed.key");
    Path pass = passphraseFile(dir, "s3cret\r\n");
    String id = CliRunner.run("keys", "new", plain.toString()).out().strip();
    String before = Files.readString(plain);
    CliRunner copy = CliRunner.run("keys", "seal", plain.toString(), sealed.toString(),
        "--passphrase-file", pass.toString());
    assertEquals(0, copy.exitCode(), copy.err());
    assertEquals(id, copy.out().strip());
    assertEquals(before, Files.readString(plain));
    assertEquals(id, Keypair.load(sealed, "s3cret".toCharArray()).id().toHex());

    // A sealed key's passphrase changed: opened with the old one, sealed under the new one.
    Path resealed = dir.resolve("me-resealed.key");
    CliRunner noOld = CliRunner.run("keys", "seal", sealed.toString(), resealed.toString(),
        "--passphrase-file", passphraseFile(dir, "n3w\n").toString());
    assertEquals(Main.EXIT_BAD_INPUT, noOld.exitCode());
    assertTrue(noOld.err().contains("is sealed under a passphrase: give --old-passphrase-file"),
        noOld.err());
    CliRunner changed = CliRunner.run("keys", "seal", sealed.toString(), resealed.toString(),
        "--old-passphrase-file", pass.toString(),
        "--passphrase-file", passphraseFile(dir, "n3w\n").toString());
    assertEquals(0, changed.exitCode(), changed.err());
    assertEquals(id, Keypair.load(resealed, "n3w".toCharArray()).id().toHex());
    assertThrows(java.io.IOException.class, () -> Keypair.load(resealed, "s3cret".toCharArray()));
  }

  @Test
  void sealingWithNoTerminalAndNoPassphraseFileWritesNothing(@TempDir Path dir) {
    Path file = dir.resolve("cold.key");
    CliRunner made = CliRunner.run("keys", "new", "--seal", file.toString());
    assertEquals(Main.EXIT_BAD_INPUT, made.exitCode());
    assertTrue(made.err().contains("no terminal to ask for a passphrase: give --passphrase-file"),
        made.err());
    assertFalse(Files.exists(file));
  }

  @Test
  void aPassphraseFileOthersMayReadOrWithAnEmptyFirstLineIsRefused(@TempDir Path dir)
      throws Exception {
    Path open = passphraseFile(dir, "pass\n");
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rw-r--r--"));
    CliRunner made = CliRunner.run("keys", "new", dir.resolve("a.key").toString(),
        "--passphrase-file", open.toString());
    assertEquals(Main.EXIT_BAD_INPUT, made.exitCode());
    assertTrue(made.err().contains("expected its owner's only (chmod 600)"), made.err());

    Path empty = dir.resolve("empty.txt");
    Files.writeString(empty, "\nsecond line\n");
    Files.setPosixFilePermissions(empty, PosixFilePermissions.fromString("rw-------"));
    made = CliRunner.run("keys", "new", dir.resolve("b.key").toString(),
        "--passphrase-file", empty.toString());
    assertEquals(Main.EXIT_BAD_INPUT, made.exitCode());
    assertTrue(made.err().contains("is empty"), made.err());
    assertFalse(Files.exists(dir.resolve("a.key")) || Files.exists(dir.resolve("b.key")));
  }

  /**
   * A passphrase file that is not UTF-8 (Latin-1, random bytes) is refused: each byte that did
   * not decode was read as U+FFFD, so a key sealed under "p\u00e4ssword" in Latin-1 opened with
   * "p\u00f6ssword" too, and random bytes kept about half their entropy.
   */
  @Test
  void aPassphraseFileThatIsNotUtf8IsRefused(@TempDir Path dir) throws Exception {
    Path latin1 = passphraseFile(dir,
        "p\u00e4ssword\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
    Path file = dir.resolve("sealed.key");
    CliRunner made = CliRunner.run("keys", "new", file.toString(),
        "--passphrase-file", latin1.toString());
    assertEquals(Main.EXIT_BAD_INPUT, made.exitCode(), made.out() + made.err());
    assertTrue(made.err().contains("passphrase file " + latin1 + " is not UTF-8 text"),
        made.err());
    assertFalse(Files.exists(file));
  }

  /**
   * Half a surrogate pair has no UTF-8 bytes, and Keypair refuses a passphrase holding one; its
   * three-byte encoding (CESU-8, "modified UTF-8") is not UTF-8, so a file cannot give one, to
   * seal a key or to open one. The terminal's decoder reads no such bytes as a surrogate either.
   */
  @Test
  void aPassphraseFileWithAnEncodedLoneSurrogateIsRefusedAsNotUtf8(@TempDir Path dir)
      throws Exception {
    Path half = passphraseFile(dir, new byte[] {'p', (byte) 0xED, (byte) 0xA0, (byte) 0x80, 'w',
        '\n'});
    Path file = dir.resolve("sealed.key");
    CliRunner made = CliRunner.run("keys", "new", file.toString(),
        "--passphrase-file", half.toString());
    assertEquals(Main.EXIT_BAD_INPUT, made.exitCode(), made.out() + made.err());
    assertTrue(made.err().contains("passphrase file " + half + " is not UTF-8 text"),
        made.err());
    assertFalse(Files.exists(file));

    Keypair.generate().save(file, "p?w".toCharArray(),
        io.bittensor.core.KeyProtection.argon2id(256, 1, 1));
    CliRunner opened = CliRunner.run("keys", "seal", file.toString(),
        dir.resolve("copy.key").toString(), "--old-passphrase-file", half.toString(),
        "--passphrase-file", passphraseFile(dir, "new\n").toString());
    assertEquals(Main.EXIT_BAD_INPUT, opened.exitCode(), opened.out() + opened.err());
    assertTrue(opened.err().contains("passphrase file " + half + " is not UTF-8 text"),
        opened.err());
    assertFalse(Files.exists(dir.resolve("copy.key")));
  }

  /** A pipe, as {@code --passphrase-file /dev/stdin} reads one: no permissions to check. */
  @Test
  void aPassphraseIsReadFromAPipeAndAMissingFileIsNamed(@TempDir Path dir) throws Exception {
    Path fifo = dir.resolve("passphrase.fifo");
    assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
    Thread writer = new Thread(() -> {
      try {
        Files.writeString(fifo, "through a pipe\n");
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    writer.start();
    Path file = dir.resolve("piped.key");
    CliRunner made = CliRunner.run("keys", "new", file.toString(),
        "--passphrase-file", fifo.toString());
    writer.join(10_000);
    assertEquals(0, made.exitCode(), made.err());
    assertEquals(made.out().strip(),
        Keypair.load(file, "through a pipe".toCharArray()).id().toHex());

    CliRunner missing = CliRunner.run("keys", "new", dir.resolve("other.key").toString(),
        "--passphrase-file", dir.resolve("none.txt").toString());
    assertEquals(Main.EXIT_BAD_INPUT, missing.exitCode());
    assertTrue(missing.err().contains("no such passphrase file: " + dir.resolve("none.txt")),
        missing.err());
  }

  static Path passphraseFile(Path dir, String text) throws Exception {
    return passphraseFile(dir, text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  static Path passphraseFile(Path dir, byte[] bytes) throws Exception {
    Path file = Files.createTempFile(dir, "passphrase", ".txt");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    Files.write(file, bytes);
    return file;
  }
}
