package io.bittensor.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The examples are what users copy: they use the public API only, never an internal package. */
class PublicApiOnlyTest {
  private static final Pattern INTERNAL =
      Pattern.compile("^import (static )?io\\.bittensor\\.[\\w.]*\\binternal\\b[\\w.*]*;",
          Pattern.MULTILINE);

  @Test
  void noExampleImportsAnInternalPackage() throws IOException {
    Path sources = Path.of("src/main/java");
    List<String> found = new ArrayList<>();
    int files = 0;
    try (Stream<Path> walk = Files.walk(sources)) {
      for (Path p : walk.filter(f -> f.toString().endsWith(".java")).toList()) {
        files++;
        Matcher m = INTERNAL.matcher(Files.readString(p));
        while (m.find()) {
          found.add(sources.relativize(p) + ": " + m.group());
        }
      }
    }
    assertTrue(files >= 5, "the examples' sources were not found under " + sources);
    assertEquals(List.of(), found, "examples import internals");
    assertTrue(INTERNAL.matcher("import io.bittensor.core.internal.StateFile;").find(),
        "the pattern itself finds an internal import");
  }
}
