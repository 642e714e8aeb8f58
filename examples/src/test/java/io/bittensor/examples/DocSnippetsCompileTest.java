package io.bittensor.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.StringWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every {@code ```java} block of the documents is compiled against the current API, each as the
 * body of a method of its own: a renamed class, method or parameter type fails here. Most blocks
 * use names the text around them defines ({@code peer}, {@code genesis}, a helper {@code
 * use(...)}), so a name unknown to the block itself is not an error; only what the block calls
 * on our types must resolve. {@code ...} stands for code left out. ReadmeSnippetTest,
 * ResearchEpochTest, LedgerSnippetsTest and LearningSnippetsTest run some of these blocks too.
 */
class DocSnippetsCompileTest {
  static final Path ROOT = Path.of("..");
  static final String IMPORTS = String.join("\n",
      "import io.bittensor.core.*;", "import io.bittensor.incentive.*;",
      "import io.bittensor.transport.*;", "import io.bittensor.onnx.*;",
      "import io.bittensor.learning.*;", "import io.bittensor.neuron.*;",
      "import io.bittensor.raft.*;", "import java.net.*;", "import java.nio.file.*;",
      "import java.time.*;", "import java.util.*;", "import java.util.concurrent.*;",
      "import java.util.concurrent.atomic.*;", "");

  @TempDir Path out;
  final JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
  // One for all the blocks: each compilation then reads the class path's jars once, not again.
  final StandardJavaFileManager files = javac.getStandardFileManager(null, Locale.ROOT, null);

  @AfterEach
  void closeFiles() throws IOException {
    files.close();
  }

  record Snippet(Path doc, int line, String code) {
    String className() {
      return "Snippet_" + doc.getFileName().toString().replaceAll("\\W", "_") + "_" + line;
    }
  }

  @Test
  void everyJavaBlockOfTheDocsCompilesAgainstTheApi() throws IOException {
    List<Snippet> snippets = new ArrayList<>();
    for (Path doc : docs()) {
      snippets.addAll(javaBlocks(doc, Files.readAllLines(doc)));
    }
    assertTrue(snippets.size() >= 25, "found only " + snippets.size() + " java blocks");
    List<String> problems = new ArrayList<>();
    for (Snippet s : snippets) {
      for (String problem : compile(s)) {
        problems.add(ROOT.relativize(s.doc()) + ":" + problem);
      }
    }
    if (!problems.isEmpty()) {
      fail(problems.size() + " problem(s) in the documents' java blocks (make the block call"
          + " the API as it is now):\n" + String.join("\n", problems));
    }
  }

  @Test
  void aCallTheApiDoesNotHaveFailsWhereAnUnknownNameDoesNot() {
    Path doc = ROOT.resolve("docs/example.md");
    assertEquals(List.of(), compile(new Snippet(doc, 1,
        "Tensor t = Tensor.ofFloats(new float[] {1}, 1, 1, 1);\nuse(t, somePeer, ...);\n...")));
    List<String> problems = compile(new Snippet(doc, 2,
        "Tensor t = Tensor.ofFloatz(new float[] {1}, 1, 1, 1);"));
    assertEquals(1, problems.size(), problems::toString);
    assertTrue(problems.get(0).contains("ofFloatz"), problems::toString);
  }

  static List<Path> docs() throws IOException {
    List<Path> docs = new ArrayList<>();
    docs.add(ROOT.resolve("README.md"));
    try (Stream<Path> files = Files.list(ROOT.resolve("docs"))) {
      files.filter(p -> p.toString().endsWith(".md")).sorted().forEach(docs::add);
    }
    try (Stream<Path> modules = Files.list(ROOT)) {
      modules.map(m -> m.resolve("README.md"))
          .filter(p -> p.getParent().getFileName().toString().startsWith("bittensor-"))
          .filter(Files::isRegularFile).sorted().forEach(docs::add);
    }
    return docs;
  }

  /** The {@code ```java} blocks, each with the line of its first line. */
  static List<Snippet> javaBlocks(Path doc, List<String> lines) {
    List<Snippet> out = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).strip().equals("```java")) {
        int start = i + 1;
        int end = start;
        while (end < lines.size() && !lines.get(end).strip().equals("```")) {
          end++;
        }
        out.add(new Snippet(doc, start + 1, String.join("\n", lines.subList(start, end))));
        i = end;
      }
    }
    return out;
  }

  /**
   * The errors javac reports for the block, each as its line in the document and the message,
   * less those about names the block does not define.
   */
  List<String> compile(Snippet s) {
    String body = s.code()
        .replace("= ...;", "= null;")
        .replace("{ ... }", "{ }")
        .replaceAll("(?m)^\\s*\\.\\.\\.\\s*(//.*)?$", "")
        .replace(", ...)", ")");
    String source = IMPORTS + "class " + s.className() + " {\n  void snippet() throws Exception {\n"
        + body + "\n  }\n}\n";
    DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
    JavaFileObject file = new SimpleJavaFileObject(
        URI.create("string:///" + s.className() + ".java"), JavaFileObject.Kind.SOURCE) {
      @Override
      public CharSequence getCharContent(boolean ignoreEncodingErrors) {
        return source;
      }
    };
    List<String> options = List.of("-d", out.toString(), "-proc:none", "-classpath",
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
    javac.getTask(new StringWriter(), files, diagnostics, options, null, List.of(file)).call();
    List<String> problems = new ArrayList<>();
    // Lines using a name the text around the block defines: unknown to the block's own class.
    // Newer javacs add errors that follow from it on the same line (JDK 25: an inference error
    // for List.of(memberA, ...)), which say nothing about the API.
    java.util.Set<Long> namesUnknown = new java.util.HashSet<>();
    for (Diagnostic<? extends JavaFileObject> d : diagnostics.getDiagnostics()) {
      if (d.getMessage(Locale.ROOT).contains("location: class " + s.className())) {
        namesUnknown.add(d.getLineNumber());
      }
    }
    for (Diagnostic<? extends JavaFileObject> d : diagnostics.getDiagnostics()) {
      String message = d.getMessage(Locale.ROOT);
      if (d.getKind() != Diagnostic.Kind.ERROR || namesUnknown.contains(d.getLineNumber())) {
        continue;
      }
      // The document's line: the block's first line is the source's 16th.
      problems.add((s.line() + d.getLineNumber() - 16) + ": " + message.replaceAll("\\s+", " "));
    }
    return problems;
  }
}
