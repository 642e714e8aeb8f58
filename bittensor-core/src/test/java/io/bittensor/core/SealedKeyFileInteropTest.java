package io.bittensor.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A sealed key file opens with another implementation: {@code scripts/open_sealed_key.py}, on
 * Python's {@code cryptography} (OpenSSL's Argon2id, AES-GCM and Ed25519), reads what
 * {@link Keypair#save(Path, char[], KeyProtection)} wrote. Skipped where python3 has no
 * {@code cryptography} 44 or later.
 */
class SealedKeyFileInteropTest {
  private static final Path SCRIPT = Path.of("..", "scripts", "open_sealed_key.py");

  @TempDir Path dir;

  @Test
  void pythonsCryptographyOpensASealedKeyAndFindsItsPublicKey() throws Exception {
    assumeTrue(pythonHasArgon2(), "python3 with cryptography >= 44");
    String passphrase = "p\u00e4 \u6f22\ud83d\udd11 word";
    Keypair k = Keypair.generate();
    Path key = dir.resolve("cold.key");
    k.save(key, passphrase.toCharArray(), KeyProtection.argon2id(1024, 2, 2));
    Path pass = dir.resolve("pass.txt");
    Files.writeString(pass, passphrase + "\n", StandardCharsets.UTF_8);

    Result opened = python(SCRIPT.toString(), key.toString(), pass.toString());
    assertEquals(0, opened.code, opened.out);
    assertEquals(k.id().toHex(), opened.out.strip());

    Files.writeString(pass, passphrase + "!\n", StandardCharsets.UTF_8);
    Result wrong = python(SCRIPT.toString(), key.toString(), pass.toString());
    assertEquals(1, wrong.code, wrong.out);
    assertEquals("wrong passphrase for " + key + " (or the file was changed)", wrong.out.strip());
  }

  private static boolean pythonHasArgon2() {
    try {
      return python("-c", "from cryptography.hazmat.primitives.kdf.argon2 import Argon2id").code
          == 0 && Files.isRegularFile(SCRIPT);
    } catch (IOException e) {
      return false;
    }
  }

  private record Result(int code, String out) {}

  private static Result python(String... args) throws IOException {
    String[] command = new String[args.length + 1];
    command[0] = "python3";
    System.arraycopy(args, 0, command, 1, args.length);
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    try {
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException("python3 did not finish");
      }
      return new Result(p.exitValue(), out);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }
}
