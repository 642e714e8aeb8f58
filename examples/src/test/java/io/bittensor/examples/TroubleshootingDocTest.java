package io.bittensor.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.bittensor.core.RejectReason;
import io.bittensor.core.TransactionRejectedException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * {@code docs/troubleshooting.md} quotes the messages the code writes: each line of the form
 * {@code Message: `...`}, where {@code <...>} stands for a value the code puts in. This test
 * splits each message at those placeholders and checks that the fixed pieces are still written,
 * in that order, by one main source file of the {@code bittensor-*} modules, so that a message
 * reworded in the code fails here until the page follows it.
 *
 * <p>The code's text is read from its string literals, adjacent literals joined where only
 * {@code +} stands between them (a message wrapped over two lines). Two prefixes are checked
 * apart, since other code writes them: {@code "bittensor: "}, which the command line puts before
 * every error, and a {@link RejectReason} name, which {@link TransactionRejectedException} puts
 * before its detail. Lines starting {@code Printed by} quote other programs and are not checked.
 */
class TroubleshootingDocTest {
  static final Path ROOT = Path.of("..");
  static final Path DOC = ROOT.resolve(Path.of("docs", "troubleshooting.md"));
  static final Pattern MESSAGE = Pattern.compile("^\\s*(?:[-*]\\s+)?Message: `([^`]+)`\\s*$");
  static final Pattern PLACEHOLDER = Pattern.compile("<[^<>\\s][^<>]*>");
  static final Pattern REASON = Pattern.compile("^([A-Z][A-Z_]+): ");
  static final String CLI_PREFIX = "bittensor: ";
  /** A message must keep some words of its own, not only placeholders and punctuation. */
  static final int SHORTEST_ANCHOR = 10;

  @Test
  void everyQuotedMessageIsStillWrittenByTheCode() throws IOException {
    List<String> messages = messages(Files.readAllLines(DOC));
    assertTrue(messages.size() >= 25, DOC + " quotes only " + messages.size() + " messages");
    Map<Path, List<String>> sources = mainSources();
    assertTrue(sources.size() > 100, "found only " + sources.size() + " main source files");
    List<String> missing = new ArrayList<>();
    for (String message : messages) {
      String problem = check(message, sources);
      if (problem != null) {
        missing.add("  " + message + "\n    " + problem);
      }
    }
    if (!missing.isEmpty()) {
      fail(missing.size() + " message(s) in " + DOC + " are not written by the main sources of"
          + " the bittensor-* modules any more: reword the page after the code (placeholders"
          + " <...> where the code puts in a value), or drop the entry\n"
          + String.join("\n", missing));
    }
  }

  @Test
  void everyEntrySaysWhatItIsAbout() throws IOException {
    List<String> lines = Files.readAllLines(DOC);
    List<String> bare = new ArrayList<>();
    String entry = null;
    boolean quoted = false;
    for (String line : lines) {
      if (line.startsWith("#")) {
        if (entry != null && !quoted) {
          bare.add(entry);
        }
        entry = line.startsWith("### ") ? line : null;
        quoted = false;
      } else if (line.startsWith("Printed by ") || MESSAGE.matcher(line).matches()) {
        quoted = true;
      } else if (line.strip().startsWith("Message:")) {
        fail("not of the form Message: `...` (one message in backticks, alone on its line): "
            + line);
      }
    }
    if (entry != null && !quoted) {
      bare.add(entry);
    }
    assertEquals(List.of(), bare, "entries that quote no message");
  }

  @Test
  void aRefusedTransactionReadsAsItsReasonThenItsDetail() {
    // What the page's rejection lines rely on when the reason prefix is checked apart.
    assertEquals("NONCE_REUSED: nonce 3 was used",
        new TransactionRejectedException(RejectReason.NONCE_REUSED, "nonce 3 was used")
            .getMessage());
  }

  @Test
  void aRewordedMessageIsCaught() {
    Map<Path, List<String>> code = Map.of(Path.of("A.java"),
        literals("throw new X(\"the ledger in \" + dir + \" is open in another\"\n"
            + "    + \" process\");"));
    assertNull(check("the ledger in <dir> is open in another process", code));
    assertTrue(check("the ledger in <dir> is held by another process", code) != null);
    assertTrue(check("the ledger at <dir> is open in another process", code) != null);
    // In order, within one file.
    assertTrue(check("<x> is open in another process<y>the ledger in ", code) != null);
  }

  @Test
  void literalsJoinOnlyWhereThePlusStandsAlone() {
    assertEquals(List.of("ab", "c", "d\"e\\", "f"),
        literals("x(\"a\" /* \"no\" */ + \"b\", \"c\"); // \"no\n"
            + "y = \"d\\\"e\\\\\" + z + \"f\"; char q = '\"';"));
  }

  @Test
  void placeholdersSplitTheFixedText() {
    assertEquals(List.of("cannot serve ", " on ", ":", ": "),
        fixedParts("cannot serve <what> on <host>:<port>: <reason>"));
  }

  /** The messages the page quotes, in order. */
  static List<String> messages(List<String> lines) {
    List<String> out = new ArrayList<>();
    for (String line : lines) {
      Matcher m = MESSAGE.matcher(line);
      if (m.matches()) {
        out.add(m.group(1));
      }
    }
    return out;
  }

  /**
   * Null when the code still writes {@code message}; otherwise what is wrong.
   *
   * @param sources each file's string literals, joined as {@link #literals} does
   */
  static String check(String message, Map<Path, List<String>> sources) {
    String rest = message;
    if (rest.startsWith(CLI_PREFIX)) {
      if (!writes(sources, List.of(CLI_PREFIX))) {
        return "no main source writes the prefix \"" + CLI_PREFIX + "\"";
      }
      rest = rest.substring(CLI_PREFIX.length());
    }
    Matcher reason = REASON.matcher(rest);
    if (reason.find() && isRejectReason(reason.group(1))) {
      rest = rest.substring(reason.end());
    }
    List<String> parts = fixedParts(rest);
    int anchor = parts.stream().mapToInt(String::length).max().orElse(0);
    if (anchor < SHORTEST_ANCHOR) {
      return "too little fixed text to find it by: " + parts;
    }
    return writes(sources, parts) ? null
        : "no main source file writes these pieces, in this order: " + quoted(parts);
  }

  static boolean isRejectReason(String name) {
    for (RejectReason r : RejectReason.values()) {
      if (r.name().equals(name)) {
        return true;
      }
    }
    return false;
  }

  /** Whether one file's literals hold {@code parts} in order (a piece within one literal). */
  static boolean writes(Map<Path, List<String>> sources, List<String> parts) {
    for (List<String> runs : sources.values()) {
      int at = 0;
      boolean all = true;
      for (String part : parts) {
        while (at < runs.size() && !runs.get(at).contains(part)) {
          at++;
        }
        if (at == runs.size()) {
          all = false;
          break;
        }
      }
      if (all) {
        return true;
      }
    }
    return false;
  }

  /** The text between placeholders, empty pieces left out. */
  static List<String> fixedParts(String message) {
    List<String> out = new ArrayList<>();
    for (String piece : PLACEHOLDER.split(message, -1)) {
      if (!piece.isEmpty()) {
        out.add(piece);
      }
    }
    return out;
  }

  static String quoted(List<String> parts) {
    List<String> q = new ArrayList<>();
    for (String p : parts) {
      q.add("\"" + p + "\"");
    }
    return String.join(", ", q);
  }

  /** Every main source file of the bittensor-* modules, as its joined string literals. */
  static Map<Path, List<String>> mainSources() throws IOException {
    Map<Path, List<String>> out = new LinkedHashMap<>();
    List<Path> modules;
    try (Stream<Path> s = Files.list(ROOT)) {
      modules = s.filter(p -> p.getFileName().toString().startsWith("bittensor-"))
          .map(p -> p.resolve(Path.of("src", "main", "java")))
          .filter(Files::isDirectory).sorted().toList();
    }
    assertFalse(modules.isEmpty(), "no bittensor-*/src/main/java under " + ROOT.toAbsolutePath());
    for (Path dir : modules) {
      try (Stream<Path> files = Files.walk(dir)) {
        for (Path f : files.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
          out.put(f, literals(Files.readString(f)));
        }
      }
    }
    return out;
  }

  /**
   * The string literals of Java source {@code code}, unescaped, in order; a literal that follows
   * another with only {@code +} between them (comments and white space aside) is joined to it.
   */
  static List<String> literals(String code) {
    List<String> out = new ArrayList<>();
    StringBuilder between = new StringBuilder(); // code since the last literal
    int i = 0;
    int n = code.length();
    while (i < n) {
      char c = code.charAt(i);
      if (c == '/' && i + 1 < n && code.charAt(i + 1) == '/') {
        int end = code.indexOf('\n', i);
        i = end < 0 ? n : end + 1;
      } else if (c == '/' && i + 1 < n && code.charAt(i + 1) == '*') {
        int end = code.indexOf("*/", i + 2);
        i = end < 0 ? n : end + 2;
      } else if (c == '\'') {
        int j = i + 1;
        while (j < n && code.charAt(j) != '\'') {
          j += code.charAt(j) == '\\' ? 2 : 1;
        }
        between.append('c');
        i = j + 1;
      } else if (c == '"') {
        StringBuilder s = new StringBuilder();
        int j = i + 1;
        while (j < n && code.charAt(j) != '"') {
          char d = code.charAt(j);
          if (d == '\\' && j + 1 < n) {
            j++;
            char e = code.charAt(j);
            switch (e) {
              case 'n' -> s.append('\n');
              case 't' -> s.append('\t');
              case 'r' -> s.append('\r');
              case 'b' -> s.append('\b');
              case 'f' -> s.append('\f');
              case 's' -> s.append(' ');
              case '0' -> s.append('\0');
              case 'u' -> {
                s.append((char) Integer.parseInt(code.substring(j + 1, j + 5), 16));
                j += 4;
              }
              default -> s.append(e); // \" \' \\
            }
          } else {
            s.append(d);
          }
          j++;
        }
        if (!out.isEmpty() && between.toString().strip().equals("+")) {
          int last = out.size() - 1;
          out.set(last, out.get(last) + s);
        } else {
          out.add(s.toString());
        }
        between.setLength(0);
        i = j + 1;
      } else {
        between.append(c);
        i++;
      }
    }
    return out;
  }
}
