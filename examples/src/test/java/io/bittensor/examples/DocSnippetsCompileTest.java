package io.bittensor.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.examples.SnippetCompiler.Snippet;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every {@code ```java} block of the documents is compiled against the current API, each as the
 * body of a method of its own: a renamed class, method or parameter type fails here. A name
 * unknown to the block itself is not an error, and {@code ...} is code left out ({@link
 * SnippetCompiler} has the rules; JavadocSnippetsCompileTest applies them to javadoc).
 * ReadmeSnippetTest, ResearchEpochTest, LedgerSnippetsTest and LearningSnippetsTest run some of
 * these blocks too.
 */
class DocSnippetsCompileTest {
  static final Path ROOT = Path.of("..");

  @Test
  void everyJavaBlockOfTheDocsCompilesAgainstTheApi() throws IOException {
    List<Snippet> snippets = new ArrayList<>();
    for (Path doc : docs()) {
      snippets.addAll(javaBlocks(doc, Files.readAllLines(doc)));
    }
    SnippetCompiler.assertAllCompile(ROOT, snippets, 25, "java blocks of the documents");
  }

  @Test
  void aCallTheApiDoesNotHaveFailsWhereAnUnknownNameDoesNot() {
    Path doc = ROOT.resolve("docs/example.md");
    assertEquals(List.of(), SnippetCompiler.compile(new Snippet(doc, 1,
        "Tensor t = Tensor.ofFloats(new float[] {1}, 1, 1, 1);\nuse(t, somePeer, ...);\n...")));
    List<String> problems = SnippetCompiler.compile(new Snippet(doc, 2,
        "Tensor t = Tensor.ofFloatz(new float[] {1}, 1, 1, 1);"));
    assertEquals(1, problems.size(), problems::toString);
    assertTrue(problems.get(0).contains("ofFloatz"), problems::toString);
  }

  @Test
  void callsLeftOutOfAChainAndNamesInAnAnonymousBodyAreNotErrors() {
    Path doc = ROOT.resolve("docs/example.md");
    assertEquals(List.of(), SnippetCompiler.compile(new Snippet(doc, 1, String.join("\n",
        "LocalLedger.builder()...genesis(genesis)...   // a comment",
        "Genesis.builder()...",
        "    .build();",
        "ledger.subscribe(new LedgerListener() {",
        "  public void onEpoch(Epoch epoch, Metagraph after) {",
        "    log.info(\"epoch {}\", epoch.number());",
        "  }",
        "});"))));
    List<String> problems = SnippetCompiler.compile(new Snippet(doc, 10, String.join("\n",
        "LocalLedger.builder()...genesiz(null)...",
        "LocalLedger.builder().open(Path.of(\"x\")).subscribe(new LedgerListener() {",
        "  public void onEpoch(Epoch epoch, Metagraph after) {",
        "    System.out.println(epoch.numbr());",
        "  }",
        "});")));
    assertEquals(2, problems.size(), problems::toString);
    assertTrue(problems.get(0).startsWith("10: cannot find symbol"), problems::toString);
    assertTrue(problems.get(0).contains("genesiz"), problems::toString);
    assertTrue(problems.get(1).startsWith("13: cannot find symbol"), problems::toString);
    assertTrue(problems.get(1).contains("numbr"), problems::toString);
  }

  /**
   * A ledger connected inside the call that takes it over ({@code
   * AuditedLedger.over(RemoteLedger.connect(uri), chainId)}) leaks when that call throws: no name
   * is left to close it by. An example names it first, then closes it if the call throws.
   */
  @Test
  void noExampleConnectsALedgerInsideTheCallThatTakesIt() throws IOException {
    List<Snippet> examples = new ArrayList<>(JavadocSnippetsCompileTest.javaExamples());
    for (Path doc : docs()) {
      examples.addAll(javaBlocks(doc, Files.readAllLines(doc)));
    }
    Pattern inline =
        Pattern.compile("\\w\\(\\s*RemoteLedger\\.(connect|builder\\(\\)[^;]*?\\.connect)\\(");
    assertTrue(examples.size() > 100, "examples found: " + examples.size());
    assertEquals(List.of(), examples.stream().filter(s -> inline.matcher(s.code()).find())
        .map(s -> ROOT.relativize(s.doc()) + ":" + s.line()).toList(),
        "a ledger connected inside the call that takes it leaks if that call throws");
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
}
