package io.bittensor.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An example run with arguments it cannot use, as a user mistypes them, says what is wrong and
 * exits with 2, without a stack trace. Each runs in a JVM of its own, as its javadoc runs it.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class UsageErrorsTest {
  record Exit(int code, String err) {}

  @Test
  void marketOverHttpsNamesAFileItCannotRead() throws Exception {
    Path tls = Path.of("..", "bittensor-core", "src", "test", "resources", "tls");
    Exit e = run("MarketOverHttps", "no-such.key", tls.resolve("peer.pem").toString(),
        tls.resolve("ca.pem").toString());
    assertEquals(2, e.code(), e.err());
    assertTrue(e.err().contains("no-such.key"), e.err());
    assertFalse(e.err().contains("\tat "), e.err());
  }

  @Test
  void learningMarketNamesTheOptionItDoesNotKnowOrCannotRead() throws Exception {
    Exit unknown = run("LearningMarket", "reduced", "target/never", "bogus=1");
    assertEquals(2, unknown.code(), unknown.err());
    assertTrue(unknown.err().contains("unknown option bogus=1"), unknown.err());
    assertFalse(unknown.err().contains("\tat "), unknown.err());

    Exit number = run("LearningMarket", "reduced", "target/never", "value-seeds=many");
    assertEquals(2, number.code(), number.err());
    assertTrue(number.err().contains("value-seeds=many"), number.err());
    assertFalse(number.err().contains("\tat "), number.err());
  }

  /** Runs the example's main in a new JVM with the tests' class path. */
  static Exit run(String example, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
        "io.bittensor.examples." + example));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .start();
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(example + " did not end: " + err);
    }
    return new Exit(p.exitValue(), err);
  }
}
