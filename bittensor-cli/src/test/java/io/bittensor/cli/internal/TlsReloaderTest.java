package io.bittensor.cli.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class TlsReloaderTest {
  @TempDir Path dir;

  /**
   * A certificate read half-written is kept out; when the rest lands within the same tick of
   * the file system's clock (its modification time unchanged), the whole one is still taken.
   */
  @Test
  void aPairFinishedWithinTheSameModificationTimeAsAFailedReadIsStillTaken() throws Exception {
    Path key = Files.writeString(dir.resolve("tls.key"), "key");
    Path chain = Files.writeString(dir.resolve("tls.pem"), "good-1");
    FileTime before = FileTime.from(Instant.parse("2026-12-01T00:00:00Z"));
    Files.setLastModifiedTime(key, before);
    Files.setLastModifiedTime(chain, before);
    List<String> served = new CopyOnWriteArrayList<>();
    StringWriter printed = new StringWriter();
    PrintWriter out = new PrintWriter(printed);
    try (TlsReloader reloader = TlsReloader.watch(key, chain, Duration.ofMillis(10), (k, c) -> {
      String pem = read(c);
      if (!pem.startsWith("good")) {
        throw new IllegalArgumentException(c + " holds no certificate");
      }
      served.add(pem);
    }, out)) {
      FileTime renewed = FileTime.from(Instant.parse("2026-12-06T00:00:00Z"));
      replace(chain, "go", renewed); // half-written
      await(printed, "kept the TLS certificate");
      replace(chain, "good-2", renewed); // the rest, within the same tick
      await(printed, "reloaded the TLS certificate");
      assertEquals(List.of("good-2"), served, printed.toString());
    }
  }

  /** Gives {@code file} the content {@code text} and the time {@code at}, at once. */
  private static void replace(Path file, String text, FileTime at) throws IOException {
    Path next = Files.writeString(file.resolveSibling(file.getFileName() + ".next"), text);
    Files.setLastModifiedTime(next, at);
    Files.move(next, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  private static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      throw new IllegalArgumentException(e);
    }
  }

  private static void await(StringWriter printed, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!printed.toString().contains(what)) {
      assertTrue(System.nanoTime() < deadline, "no \"" + what + "\" in: " + printed);
      Thread.sleep(10);
    }
  }
}
