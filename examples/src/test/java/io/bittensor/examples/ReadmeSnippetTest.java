package io.bittensor.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The README's "Join a market with your own ONNX model" snippet is the marked region of
 * {@code JoinMarket.java}, which compiles and runs in {@code JoinMarketTest}: the two may not
 * drift apart.
 */
class ReadmeSnippetTest {
  static final Path README = Path.of("..", "README.md");
  static final Path EXAMPLE = Path.of("src", "main", "java", "io", "bittensor", "examples",
      "JoinMarket.java");
  static final String SECTION = "## Join a market with your own ONNX model";

  @Test
  void theReadmeShowsJoinMarketWordForWord() throws IOException {
    List<String> readme = readmeSnippet(Files.readAllLines(README));
    List<String> example = markedRegion(Files.readAllLines(EXAMPLE));
    assertTrue(example.size() >= 10, "the marked region is the snippet: " + example);
    if (!readme.equals(example)) {
      fail("README.md's snippet under \"" + SECTION + "\" differs from the region of "
          + EXAMPLE + " between // README:begin and // README:end; make them the same"
          + " (- README, + JoinMarket.java):\n" + String.join("\n", diff(readme, example)));
    }
  }

  @Test
  void theDiffNamesTheLinesThatDiffer() {
    assertEquals(List.of("  a", "- b", "+ B", "  c", "+ d"),
        diff(List.of("a", "b", "c"), List.of("a", "B", "c", "d")));
  }

  /** The first ```java block after the section's heading. */
  static List<String> readmeSnippet(List<String> lines) {
    int at = lines.indexOf(SECTION);
    assertTrue(at >= 0, "README.md has no \"" + SECTION + "\" section");
    while (at < lines.size() && !lines.get(at).strip().equals("```java")) {
      at++;
    }
    List<String> out = new ArrayList<>();
    for (at++; at < lines.size() && !lines.get(at).strip().equals("```"); at++) {
      out.add(lines.get(at));
    }
    assertTrue(at < lines.size(), "the README's snippet has no closing fence");
    return out;
  }

  /** The lines between the markers, less their common indentation. */
  static List<String> markedRegion(List<String> lines) {
    int begin = -1;
    int end = -1;
    for (int i = 0; i < lines.size(); i++) {
      String s = lines.get(i).strip();
      if (s.equals("// README:begin")) {
        begin = i;
      } else if (s.equals("// README:end")) {
        end = i;
      }
    }
    assertTrue(begin >= 0 && end > begin, EXAMPLE + " needs // README:begin before // README:end");
    List<String> region = lines.subList(begin + 1, end);
    int indent = region.stream().filter(l -> !l.isBlank())
        .mapToInt(l -> l.length() - l.stripLeading().length()).min().orElse(0);
    return region.stream().map(l -> l.isBlank() ? "" : l.substring(indent)).toList();
  }

  /** A line diff (longest common subsequence): "  " kept, "- " only in a, "+ " only in b. */
  static List<String> diff(List<String> a, List<String> b) {
    int[][] common = new int[a.size() + 1][b.size() + 1];
    for (int i = a.size() - 1; i >= 0; i--) {
      for (int j = b.size() - 1; j >= 0; j--) {
        common[i][j] = a.get(i).equals(b.get(j)) ? common[i + 1][j + 1] + 1
            : Math.max(common[i + 1][j], common[i][j + 1]);
      }
    }
    List<String> out = new ArrayList<>();
    int i = 0;
    int j = 0;
    while (i < a.size() || j < b.size()) {
      if (i < a.size() && j < b.size() && a.get(i).equals(b.get(j))) {
        out.add("  " + a.get(i++));
        j++;
      } else if (i < a.size() && (j == b.size() || common[i + 1][j] >= common[i][j + 1])) {
        out.add("- " + a.get(i++));
      } else {
        out.add("+ " + b.get(j++));
      }
    }
    return out;
  }
}
