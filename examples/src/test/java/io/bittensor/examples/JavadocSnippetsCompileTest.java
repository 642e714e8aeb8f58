package io.bittensor.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.examples.SnippetCompiler.Snippet;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every <code>&lt;pre&gt;&#123;@code ...}&lt;/pre&gt;</code> example in the javadoc of the
 * modules' main sources is compiled against the current API as DocSnippetsCompileTest compiles
 * the documents' blocks ({@link SnippetCompiler}: a name the block does not define is not an
 * error, {@code ...} is code left out), seeing its own package's types and its class's nested
 * ones as the reader does. A renamed method an example still calls fails here with the source's
 * file and line. An error on a line that uses a name the example leaves to its text is passed
 * over, so the examples declare what they use ({@code Peer peer = ...;} at the least): no example
 * may leave all its lines to its text, nor may the share of lines javac checks fall.
 *
 * <p>An example is read as javadoc shows it: each line less its leading {@code *} and one space,
 * up to the brace that closes <code>&#123;@code</code> (javadoc balances the braces inside),
 * with <code>&#123;@literal x}</code>, {@code &lt;}, {@code &gt;}, {@code &#64;} and {@code
 * &amp;} undone. It is Java unless its first line starts with <code>{</code>, {@code [},
 * {@code <}, {@code $}, {@code #}, {@code mvn }, {@code java -}, {@code ./} or {@code curl }:
 * JSON, XML, shell and properties are left alone (the access and submission logs' JSON lines
 * today). The rule errs towards compiling: a block of another kind fails here until the rule
 * names it. No example is exempt. Plain {@code <pre>} blocks, the benchmarks' commands and the
 * binary layouts, are not read.
 */
class JavadocSnippetsCompileTest {
  static final Path ROOT = DocSnippetsCompileTest.ROOT;
  private static final Pattern NOT_JAVA =
      Pattern.compile("^([{\\[<$#]|mvn |java -|\\./|curl )");
  /** A line of code: one with more than braces, parentheses, {@code ...} or a comment. */
  private static final Pattern CODE_LINE =
      Pattern.compile("^(?!\\s*(//|/\\*|\\*)).*?[^\\s{}();,.]");
  /**
   * The share of the examples' lines of code that javac checks, in percent: what the examples
   * reached once they declared the names they use (557 of 587). The rest use a logger or a
   * helper of the reader's, or values whose making would bury the point (a gate's context).
   */
  private static final double CHECKED_PERCENT = 94.8;
  private static final Pattern OPEN = Pattern.compile("<pre>[ \\t]*\\{@code");
  private static final Pattern PACKAGE = Pattern.compile("(?m)^package\\s+([\\w.]+);");
  private static final Pattern TYPE = Pattern.compile(
      "(?m)^public\\s+(?:(?:final|abstract|sealed|non-sealed)\\s+)*"
          + "(?:class|interface|enum|record|@interface)\\s+(\\w+)");

  @Test
  void everyJavaExampleOfTheJavadocCompilesAgainstTheApi() throws IOException {
    SnippetCompiler.assertAllCompile(ROOT, javaExamples(), 100, "javadoc examples");
  }

  @Test
  void theExamplesDeclareTheNamesTheyUseSoThatTheirLinesAreChecked() throws IOException {
    // An error on a line that uses a name the example leaves to its text is passed over: such a
    // line could call a method that does not exist. Examples declare what they use instead.
    List<Snippet> snippets = javaExamples();
    assertTrue(snippets.size() >= 100, "found " + snippets.size() + " javadoc examples");
    List<SortedSet<Integer>> unchecked = SnippetCompiler.uncheckedLines(snippets);
    int lines = 0;
    List<String> skipped = new ArrayList<>();
    List<String> wholly = new ArrayList<>();
    for (int i = 0; i < snippets.size(); i++) {
      Snippet s = snippets.get(i);
      String where = ROOT.relativize(s.doc()) + ":";
      String[] code = s.code().split("\n", -1);
      int ofThis = 0;
      int skippedOfThis = 0;
      for (int k = 0; k < code.length; k++) {
        if (CODE_LINE.matcher(code[k]).find()) {
          ofThis++;
          if (unchecked.get(i).contains(s.line() + k)) {
            skippedOfThis++;
            skipped.add(where + (s.line() + k) + ": " + code[k].strip());
          }
        }
      }
      lines += ofThis;
      if (ofThis > 0 && skippedOfThis == ofThis) {
        wholly.add(where + s.line());
      }
    }
    assertTrue(wholly.isEmpty(), wholly.size() + " example(s) none of whose lines javac checks:"
        + " each line uses a name the example does not declare (declare it, `Peer peer = ...;`"
        + " at the least):\n" + String.join("\n", wholly));
    int checked = lines - skipped.size();
    assertTrue(checked * 100.0 >= CHECKED_PERCENT * lines, skipped.size() + " of " + lines
        + " lines of the javadoc's examples are not checked (they use a name the example does"
        + " not declare), fewer than " + CHECKED_PERCENT + "% checked:\n"
        + String.join("\n", skipped));
  }

  @Test
  void anExampleIsReadAsJavadocShowsIt() {
    Path source = ROOT.resolve("bittensor-core/src/main/java/io/bittensor/core/Example.java");
    String text = String.join("\n",
        "package io.bittensor.core;",
        "/**",
        " * One sentence.",
        " * <pre>{@code",
        " * &#64;SuppressWarnings(\"unused\") List<Tensor> ts = new ArrayList<>();",
        " * if (ts.size() &lt; 2 &amp;&amp; {@literal ts.isEmpty()}) {",
        " *   ts.add(null);",
        " * }",
        " * }</pre>",
        " * <pre>{@code {\"time\":\"2026-12-06T14:03:11Z\"}}</pre>",
        " * <pre>{@code DType t = DType.FLOAT32; }</pre>",
        " */",
        "public final class Example {}");
    List<Snippet> examples = javaExamples(source, text);
    assertEquals(2, examples.size(), examples::toString);
    assertEquals(new Snippet(source, 5,
        "import io.bittensor.core.*;\nimport io.bittensor.core.Example.*;\n",
        "@SuppressWarnings(\"unused\") List<Tensor> ts = new ArrayList<>();\n"
            + "if (ts.size() < 2 && ts.isEmpty()) {\n  ts.add(null);\n}"), examples.get(0));
    assertEquals(11, examples.get(1).line());
    assertEquals("DType t = DType.FLOAT32;", examples.get(1).code());
  }

  @Test
  void aCallTheApiDoesNotHaveFailsWithTheSourcesFileAndLineBesideAnotherExamplesSyntaxError() {
    Path source = ROOT.resolve("bittensor-core/src/main/java/io/bittensor/core/Tensor.java");
    String text = String.join("\n",
        "package io.bittensor.core;",
        "/**",
        " * <pre>{@code",
        " * Tensor x = Tensor.ofFloats(new float[] {1, 2}, 1, 1, 2)",
        " * }</pre>",
        " * <pre>{@code",
        " * Tensor x = Tensor.ofFloats(new float[] {1, 2}, 1, 1, 2);",
        " * float f = x.floatAt(1) + somethingTheDocDefines.get();",
        " * Tensor y = x.withShapez(1, 2, 1);",
        " * }</pre>",
        " */",
        "public final class Tensor {}");
    List<String> problems = SnippetCompiler.problems(ROOT, javaExamples(source, text));
    String file = "bittensor-core/src/main/java/io/bittensor/core/Tensor.java";
    assertEquals(2, problems.size(), problems::toString);
    assertEquals(file + ":4: ';' expected", problems.get(0));
    assertTrue(problems.get(1).startsWith(file + ":9: cannot find symbol"), problems::toString);
    assertTrue(problems.get(1).contains("withShapez"), problems::toString);
  }

  @Test
  void aCatchOfAnExceptionNothingThrowsFailsBesideAnExampleThatLeavesNamesToItsText() {
    Path source = ROOT.resolve("bittensor-core/src/main/java/io/bittensor/core/Tensor.java");
    List<Snippet> examples = javaExamples(source, String.join("\n",
        "package io.bittensor.core;",
        "/**",
        " * <pre>{@code Tensor x = Tensor.ofFloats(floatsTheDocDefines, 1, 1, 2); }</pre>",
        " * <pre>{@code",
        " * try {",
        " *   Tensor.ofFloats(new float[] {1, 2}, 1, 1, 2);",
        " * } catch (java.io.IOException e) {",
        " * }",
        " * }</pre>",
        " */",
        "public final class Tensor {}"));
    assertEquals(List.of("bittensor-core/src/main/java/io/bittensor/core/Tensor.java:7: exception"
        + " java.io.IOException is never thrown in body of corresponding try statement"),
        SnippetCompiler.problems(ROOT, examples));
  }

  /** The Java examples of every module's main sources. */
  static List<Snippet> javaExamples() throws IOException {
    List<Snippet> snippets = new ArrayList<>();
    for (Path source : sources()) {
      snippets.addAll(javaExamples(source, Files.readString(source)));
    }
    return snippets;
  }

  /** The Java files of every module's main sources. */
  static List<Path> sources() throws IOException {
    List<Path> sources = new ArrayList<>();
    try (Stream<Path> modules = Files.list(ROOT)) {
      for (Path main : modules.map(m -> m.resolve("src/main/java")).filter(Files::isDirectory)
          .sorted().toList()) {
        try (Stream<Path> files = Files.walk(main)) {
          files.filter(p -> p.toString().endsWith(".java")).sorted().forEach(sources::add);
        }
      }
    }
    return sources;
  }

  /**
   * The Java examples of a source's javadoc, each with the source's line of its first line and
   * imports of the source's package and its public class's nested types.
   */
  static List<Snippet> javaExamples(Path source, String text) {
    String imports = "";
    Matcher pkg = PACKAGE.matcher(text);
    if (pkg.find()) {
      imports = "import " + pkg.group(1) + ".*;\n";
      Matcher type = TYPE.matcher(text);
      if (type.find()) {
        imports += "import " + pkg.group(1) + "." + type.group(1) + ".*;\n";
      }
    }
    List<Snippet> out = new ArrayList<>();
    Matcher open = OPEN.matcher(text);
    while (open.find()) {
      int start = open.end();
      int end = closingBrace(text, start);
      String code = text.substring(start, end);
      int line = lineOf(text, start);
      // A block that opens on a line of its own starts on the next.
      if (code.matches("(?s)[ \\t]*\\n.*")) {
        code = code.substring(code.indexOf('\n') + 1);
        line++;
      }
      code = unescape(code.replaceAll("(?m)^[ \\t]*\\*[ \\t]?", ""))
          .replaceFirst("^[ \\t]+", "").stripTrailing();
      if (!NOT_JAVA.matcher(code).find()) {
        out.add(new Snippet(source, line, imports, code));
      }
    }
    return out;
  }

  /** Where the brace that closes {@code {@code} is: javadoc balances the braces inside it. */
  private static int closingBrace(String text, int from) {
    int depth = 1;
    for (int i = from; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '{') {
        depth++;
      } else if (c == '}' && --depth == 0) {
        return i;
      }
    }
    throw new IllegalArgumentException("no brace closes the {@code at " + from);
  }

  private static int lineOf(String text, int index) {
    return (int) text.substring(0, index).chars().filter(c -> c == '\n').count() + 1;
  }

  private static String unescape(String code) {
    return code.replaceAll("\\{@literal ([^}]*)}", "$1")
        .replace("&lt;", "<").replace("&gt;", ">").replace("&#64;", "@").replace("&amp;", "&");
  }
}
