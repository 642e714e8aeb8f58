package io.bittensor.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reading what a {@code ledger serve} child process prints to its log. */
final class ServingLogs {
  private static final Pattern SERVING = Pattern.compile("at (https?://\\S+) \\(block (\\d+)\\)");

  private ServingLogs() {}

  /** The address the process serves at, once it printed it (60 s at most). */
  static URI awaitServing(Process p, Path log) throws InterruptedException {
    Matcher m = SERVING.matcher("");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!m.find()) {
      assertTrue(p.isAlive(), () -> "serve stopped: " + read(log));
      assertTrue(System.nanoTime() < deadline, () -> "serve printed no address: " + read(log));
      Thread.sleep(20);
      m = SERVING.matcher(read(log));
    }
    return URI.create(m.group(1));
  }

  /** The first match of {@code pattern} in the log, once it is there (60 s at most). */
  static Matcher await(Path log, Pattern pattern) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      Matcher m = pattern.matcher(read(log));
      if (m.find()) {
        return m;
      }
      Thread.sleep(50);
    }
    throw new AssertionError("no " + pattern + " in:\n" + read(log));
  }

  static String read(Path log) {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return e.toString();
    }
  }
}
