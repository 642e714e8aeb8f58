package io.bittensor.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The examples' {@code main}s work in a temporary folder and delete it when they end: run as
 * documented, none leaves its ledger, key or copy of a model behind. Each is run as its javadoc
 * runs it, with standard input at its end and standard output captured.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TemporaryFolderTest {
  static final Path TMP = Path.of(System.getProperty("java.io.tmpdir"));

  /** A {@code main} to run. */
  interface Main {
    void run() throws Exception;
  }

  @Test
  void theFolderAndAllItHoldsAreGoneWhetherTheWorkEndsOrThrows() throws Exception {
    AtomicReference<Path> used = new AtomicReference<>();
    TemporaryFolder.use("folder-test", dir -> {
      used.set(dir);
      Files.createDirectories(dir.resolve("a/b"));
      Files.writeString(dir.resolve("a/b/c.txt"), "c");
      Files.writeString(dir.resolve("d.txt"), "d");
    });
    assertTrue(used.get().getFileName().toString().startsWith("folder-test"), used::toString);
    assertFalse(Files.exists(used.get()), used + " is left");

    IllegalStateException thrown = new IllegalStateException("failed");
    IllegalStateException caught = assertThrows(IllegalStateException.class,
        () -> TemporaryFolder.use("folder-test", dir -> {
          used.set(dir);
          Files.writeString(dir.resolve("e.txt"), "e");
          throw thrown;
        }));
    assertSame(thrown, caught);
    assertFalse(Files.exists(used.get()), used + " is left");
  }

  @Test
  void coldKeyStakeLeavesNoSealedKeyBehind() throws Exception {
    String printed = printedBy("cold-key", () -> ColdKeyStake.main(new String[0]));
    assertTrue(printed.contains(": uid 0, stake 3000, balance 1000"), printed);
  }

  @Test
  void ledgerHistoryLeavesNoLedgerBehind() throws Exception {
    String printed = printedBy("ledger-history", () -> LedgerHistory.main(new String[0]));
    assertTrue(printed.contains("read blocks 1 to 40 through the server"), printed);
  }

  @Test
  void joinMarketLeavesNoCopyOfTheModelBehind() throws Exception {
    String printed = printedBy("market", () -> JoinMarket.main(new String[0]));
    assertTrue(printed.startsWith("uid 0 serving at http://"), printed);
  }

  /**
   * What {@code main} prints to standard output, given an empty standard input; fails if it
   * leaves a new entry named from {@code prefix} in the temporary folder.
   */
  static String printedBy(String prefix, Main main) throws Exception {
    Set<Path> before = entries(prefix);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = System.out;
    InputStream in = System.in;
    try (PrintStream captured = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
      System.setOut(captured);
      System.setIn(new ByteArrayInputStream(new byte[0]));
      main.run();
    } finally {
      System.setOut(out);
      System.setIn(in);
    }
    Set<Path> left = entries(prefix);
    left.removeAll(before);
    assertEquals(Set.of(), left, "left in " + TMP);
    return bytes.toString(StandardCharsets.UTF_8);
  }

  private static Set<Path> entries(String prefix) throws IOException {
    try (Stream<Path> files = Files.list(TMP)) {
      return new HashSet<>(files.filter(p -> p.getFileName().toString().startsWith(prefix))
          .toList());
    }
  }
}
