package io.bittensor.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.Keypair;
import io.bittensor.core.Metagraph;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ColdKeyStakeTest {
  @TempDir Path dir;

  @Test
  void theColdKeyPaysTheHotKeyWhichStakesAndTheColdFileHoldsNoSeed() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Metagraph m = ColdKeyStake.run(dir, "cold".toCharArray(),
        new PrintStream(bytes, true, StandardCharsets.UTF_8));
    String out = bytes.toString(StandardCharsets.UTF_8);
    assertTrue(out.contains(": balance 6000\n"), out);
    assertTrue(out.contains(": uid 0, stake 3000, balance 1000\n"), out);
    assertEquals(1, m.size());
    Path cold = dir.resolve("cold.key");
    assertTrue(Keypair.isSealed(cold));
    assertTrue(Files.readString(cold).startsWith("bittensor-keypair-v2 "));
    IOException wrong = assertThrows(IOException.class,
        () -> Keypair.load(cold, "warm".toCharArray()));
    assertTrue(wrong.getMessage().contains("wrong passphrase"), wrong.getMessage());
  }
}
