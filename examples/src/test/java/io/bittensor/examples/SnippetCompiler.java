package io.bittensor.examples;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.sun.source.util.JavacTask;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;

/**
 * Compiles the code blocks of documents (DocSnippetsCompileTest) and of javadoc
 * (JavadocSnippetsCompileTest) against the API on the test class path, each block as the body of
 * a method of its own. Most blocks use names the text around them defines ({@code peer}, {@code
 * genesis}, a helper {@code use(...)}, a {@code log} in an anonymous class's body), so a name
 * unknown to the block itself is not an error; only what the block calls on our types must
 * resolve. {@code ...} stands for code left out: statements (alone on a line), an expression
 * ({@code = ...;}, {@code f(a, ...)}), a body ({@code { ... }}) or calls of a chain ({@code
 * builder()...listener(l)}, {@code builder().ledger(l)...} ending a statement).
 *
 * <p>Checks only: no class file is written. The blocks go to javac together, so that it reads
 * the class path once; only when that finds a problem is each compiled alone, to tell all.
 */
final class SnippetCompiler {
  static final String IMPORTS = String.join("\n",
      "import io.bittensor.core.*;", "import io.bittensor.incentive.*;",
      "import io.bittensor.transport.*;", "import io.bittensor.onnx.*;",
      "import io.bittensor.learning.*;", "import io.bittensor.neuron.*;",
      "import io.bittensor.raft.*;", "import java.net.*;", "import java.nio.file.*;",
      "import java.time.*;", "import java.util.*;", "import java.util.concurrent.*;",
      "import java.util.concurrent.atomic.*;", "");

  /**
   * A block of code.
   *
   * @param doc the file it is in
   * @param line the file's line that holds the block's first line
   * @param imports import lines the block needs besides {@link #IMPORTS}, each ending in a
   *     newline (javadoc's blocks see their own package); empty for none
   * @param code the block, unescaped
   */
  record Snippet(Path doc, int line, String imports, String code) {
    Snippet(Path doc, int line, String code) {
      this(doc, line, "", code);
    }

    /** Unique among the blocks of one compilation: the file's path and the line. */
    String className() {
      return "Snippet_" + doc.normalize().toString().replaceAll("\\W", "_") + "_" + line;
    }
  }

  private static final JavaCompiler JAVAC = ToolProvider.getSystemJavaCompiler();

  private SnippetCompiler() {}

  /**
   * Fails listing every problem of the blocks ({@link #problems}), or when fewer than {@code
   * atLeast} were found: a search that finds none checks nothing.
   */
  static void assertAllCompile(Path root, List<Snippet> snippets, int atLeast, String what) {
    assertTrue(snippets.size() >= atLeast,
        "found " + snippets.size() + " " + what + ", expected at least " + atLeast);
    List<String> problems = problems(root, snippets);
    if (!problems.isEmpty()) {
      fail(problems.size() + " problem(s) in " + what + " (make the code call the API as it is"
          + " now; fix the doc, not the API):\n" + String.join("\n", problems));
    }
  }

  /**
   * The errors of all the blocks, each as {@code file:line: message} with the file relative to
   * {@code root}, less those about names a block does not define.
   */
  static List<String> problems(Path root, List<Snippet> snippets) {
    try (StandardJavaFileManager files = JAVAC.getStandardFileManager(null, Locale.ROOT, null)) {
      List<List<String>> found = problems(files, snippets);
      List<String> problems = new ArrayList<>();
      for (int i = 0; i < snippets.size(); i++) {
        for (String problem : found.get(i)) {
          problems.add(root.relativize(snippets.get(i).doc()) + ":" + problem);
        }
      }
      return problems;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The errors javac reports for the block, each as its line in the document and the message,
   * less those about names the block does not define.
   */
  static List<String> compile(Snippet s) {
    try (StandardJavaFileManager files = JAVAC.getStandardFileManager(null, Locale.ROOT, null)) {
      return problems(files, List.of(s)).get(0);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The lines of each block that javac did not check: those that use a name the block does not
   * define, whose errors {@link #problems} passes over. Each is the document's line.
   */
  static List<SortedSet<Integer>> uncheckedLines(List<Snippet> snippets) {
    try (StandardJavaFileManager files = JAVAC.getStandardFileManager(null, Locale.ROOT, null)) {
      // One compilation tells them: an unknown name is an error of the block alone.
      return compile(files, snippets).stream().map(Compiled::unchecked).toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * What one compilation told of a block: whether it had any error, its problems, and the
   * document's lines that use a name the block does not define.
   */
  private record Compiled(boolean clean, List<String> problems, SortedSet<Integer> unchecked) {}

  /** For each block, its problems as javac tells them when it compiles the block alone. */
  private static List<List<String>> problems(StandardJavaFileManager files,
      List<Snippet> snippets) throws IOException {
    // One compilation for all reads the class path once: a second or two, not one a block.
    List<Compiled> together = compile(files, snippets);
    boolean fine = together.stream().allMatch(c -> c.problems().isEmpty());
    // javac checks flow (a catch of an exception nothing throws) only while it has met no
    // error, and most blocks leave a name to their text: those that leave none go again.
    List<Snippet> clean = new ArrayList<>();
    for (int i = 0; i < snippets.size(); i++) {
      if (together.get(i).clean()) {
        clean.add(snippets.get(i));
      }
    }
    if (fine && !clean.isEmpty() && clean.size() < snippets.size()) {
      fine = compile(files, clean).stream().allMatch(Compiled::clean);
    }
    if (!fine && snippets.size() > 1) {
      // A syntax error stops javac before it resolves any block, a flow error before it checks
      // the next block's flow: alone, each block tells all it has.
      together = new ArrayList<>();
      for (Snippet s : snippets) {
        together.addAll(compile(files, List.of(s)));
      }
    }
    return together.stream().map(Compiled::problems).toList();
  }

  /** One compilation of the blocks. */
  private static List<Compiled> compile(StandardJavaFileManager files, List<Snippet> snippets)
      throws IOException {
    List<JavaFileObject> sources = new ArrayList<>();
    List<Long> firstLines = new ArrayList<>();
    for (Snippet s : snippets) {
      String head = IMPORTS + s.imports() + "class " + s.className()
          + " {\n  void snippet() throws Exception {\n";
      String source = head + body(s.code()) + "\n  }\n}\n";
      // The source's line that holds the block's first line.
      firstLines.add(head.chars().filter(c -> c == '\n').count() + 1);
      sources.add(new SimpleJavaFileObject(
          URI.create("string:///" + s.className() + ".java"), JavaFileObject.Kind.SOURCE) {
        @Override
        public CharSequence getCharContent(boolean ignoreEncodingErrors) {
          return source;
        }
      });
    }
    DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
    // All errors are told: the names blocks leave to their text alone pass javac's default
    // limit of 100. analyze() writes no class file.
    List<String> options = List.of("-proc:none", "-Xmaxerrs", String.valueOf(Integer.MAX_VALUE),
        "-classpath",
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
    ((JavacTask) JAVAC.getTask(new StringWriter(), files, diagnostics, options, null, sources))
        .analyze();
    List<Compiled> compiled = new ArrayList<>();
    for (int i = 0; i < snippets.size(); i++) {
      JavaFileObject source = sources.get(i);
      List<Diagnostic<? extends JavaFileObject>> errors = diagnostics.getDiagnostics().stream()
          .filter(d -> d.getSource() == source && d.getKind() == Diagnostic.Kind.ERROR)
          .toList();
      Snippet s = snippets.get(i);
      long first = firstLines.get(i);
      Set<Long> unknown = namesUnknown(s, errors);
      SortedSet<Integer> unchecked = new TreeSet<>();
      unknown.forEach(line -> unchecked.add((int) (s.line() + line - first)));
      compiled.add(new Compiled(errors.isEmpty(), problems(s, first, errors, unknown),
          unchecked));
    }
    return compiled;
  }

  /** Stands in for the code {@code ...} leaves out. */
  private static String body(String code) {
    return code
        .replace("= ...;", "= null;")
        .replace("{ ... }", "{ }")
        .replaceAll("(?m)^\\s*\\.\\.\\.\\s*(//.*)?$", "")
        .replace(", ...)", ")")
        .replaceAll("\\)\\.\\.\\.(?=\\w)", ").")
        // A chain that goes on on the next line, or a statement that ends here.
        .replaceAll("\\)\\.\\.\\.(?=[ \\t]*(//[^\\n]*)?\\n\\s*\\.)", ")")
        .replace(")...", ");");
  }

  /** The lines of the block's source that use a name the block does not define. */
  private static Set<Long> namesUnknown(Snippet s,
      List<Diagnostic<? extends JavaFileObject>> errors) {
    // Lines using a name the text around the block defines: unknown to the block's own class
    // (in an anonymous class's body javac names no location). Newer javacs add errors that
    // follow from it on the same line (JDK 25: an inference error for List.of(memberA, ...)),
    // which say nothing about the API.
    Set<Long> namesUnknown = new HashSet<>();
    for (Diagnostic<? extends JavaFileObject> d : errors) {
      String message = d.getMessage(Locale.ROOT);
      if (message.contains("location: class " + s.className())
          || message.contains("symbol: variable") && !message.contains("location:")) {
        namesUnknown.add(d.getLineNumber());
      }
    }
    return namesUnknown;
  }

  /** The block's errors less those on lines that use a name the block does not define. */
  private static List<String> problems(Snippet s, long firstLine,
      List<Diagnostic<? extends JavaFileObject>> errors, Set<Long> namesUnknown) {
    List<String> problems = new ArrayList<>();
    for (Diagnostic<? extends JavaFileObject> d : errors) {
      if (!namesUnknown.contains(d.getLineNumber())) {
        problems.add((s.line() + d.getLineNumber() - firstLine) + ": "
            + d.getMessage(Locale.ROOT).replaceAll("\\s+", " "));
      }
    }
    return problems;
  }
}
