package io.bittensor.examples;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The folder an example's {@code main} works in: made in the system's temporary folder and
 * deleted with all it holds when the example ends, so that running an example leaves no ledger,
 * key or model copy behind.
 */
final class TemporaryFolder {
  /** What an example does in its folder. */
  interface Work {
    void run(Path dir) throws Exception;
  }

  private TemporaryFolder() {}

  /**
   * Runs {@code work} in a new temporary folder named from {@code prefix}, then deletes it,
   * whether the work ended or threw.
   */
  static void use(String prefix, Work work) throws Exception {
    Path dir = Files.createTempDirectory(prefix);
    try {
      work.run(dir);
    } catch (Throwable e) {
      try {
        delete(dir);
      } catch (IOException | RuntimeException d) {
        e.addSuppressed(d); // the work's failure is the one to tell
      }
      throw e;
    }
    delete(dir);
  }

  /** Deletes {@code dir} and everything under it, the deepest first. */
  static void delete(Path dir) throws IOException {
    List<Path> paths;
    try (Stream<Path> walk = Files.walk(dir)) {
      paths = walk.sorted(Comparator.reverseOrder()).toList();
    }
    for (Path p : paths) {
      Files.deleteIfExists(p);
    }
  }
}
