package io.bittensor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.Keypair;
import java.nio.file.Files;
import java.nio.file.Path;
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
}
