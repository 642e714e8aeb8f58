package io.bittensor.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The main code of every module keeps to 100 columns (docs/STYLE.md), javadoc and the examples
 * and benchmarks included: 188 lines had run past it, unnoticed, since nothing checked.
 */
class SourceLineLengthTest {
  static final int COLUMNS = 100;

  @Test
  void everyLineOfMainCodeFitsOneHundredColumns() throws IOException {
    List<String> wide = new ArrayList<>();
    int files = 0;
    try (Stream<Path> all = Files.walk(DocSnippetsCompileTest.ROOT)) {
      for (Path source : all.filter(SourceLineLengthTest::isMainCode).sorted().toList()) {
        files++;
        wide.addAll(wideLines(DocSnippetsCompileTest.ROOT.relativize(source),
            Files.readAllLines(source)));
      }
    }
    assertTrue(files >= 300, "found only " + files + " main source files");
    assertEquals(List.of(), wide, "lines of main code over " + COLUMNS + " columns");
  }

  @Test
  void aLineIsMeasuredInCharactersNotBytes() {
    String fits = "x".repeat(COLUMNS - 1) + "é";
    assertEquals(List.of(), wideLines(Path.of("A.java"), List.of(fits)));
    assertEquals(List.of("A.java:2 (101 columns)"),
        wideLines(Path.of("A.java"), List.of("ok", fits + "x")));
  }

  /** {@code path:line (n columns)} for each line of {@code lines} over {@link #COLUMNS}. */
  static List<String> wideLines(Path path, List<String> lines) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      int columns = lines.get(i).codePointCount(0, lines.get(i).length());
      if (columns > COLUMNS) {
        out.add(path + ":" + (i + 1) + " (" + columns + " columns)");
      }
    }
    return out;
  }

  private static boolean isMainCode(Path p) {
    String s = p.toString().replace('\\', '/');
    return s.endsWith(".java") && s.contains("/src/main/java/") && !s.contains("/target/");
  }
}
