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

/**
 * The commands that say how to run the examples: each example with a {@code main} names itself
 * as the main class of a {@code java} command in its class javadoc, and every command that
 * writes the examples' class path (README, docs, javadoc) is the one that works on a fresh
 * clone. That one packages: the class path names the core's tests jar, which {@code compile}
 * does not make, and it goes online, since no build of ours uses the dependency plugin it calls.
 */
class RunCommandsTest {
  static final Path ROOT = DocSnippetsCompileTest.ROOT;
  static final Path SOURCES = Path.of("src", "main", "java", "io", "bittensor", "examples");
  static final String CLASSPATH_COMMAND = "mvn -B -q -pl examples -am package -DskipTests"
      + " dependency:build-classpath -Dmdep.outputFile=target/classpath.txt";
  private static final Pattern PRE = Pattern.compile("(?s)<pre>\\s*\\n(.*?)</pre>");
  private static final Pattern MAIN_CLASS =
      Pattern.compile("^java .*?\\s(io\\.bittensor\\.examples\\.\\w+)(\\s|$)");

  @Test
  void everyExampleWithAMainNamesItselfInItsJavaCommand() throws IOException {
    List<String> wrong = new ArrayList<>();
    int mains = 0;
    for (Path source : examples()) {
      String text = Files.readString(source);
      if (!text.contains("public static void main(")) {
        continue;
      }
      mains++;
      String name = source.getFileName().toString().replace(".java", "");
      List<String> classes = mainClasses(javadocCommands(text));
      if (!classes.equals(List.of("io.bittensor.examples." + name))) {
        wrong.add(name + " runs " + classes);
      }
    }
    assertTrue(mains >= 12, "found only " + mains + " examples with a main");
    assertEquals(List.of(), wrong, "examples whose javadoc's java command does not run them");
  }

  @Test
  void everyCommandThatWritesTheClassPathIsTheOneThatWorksOnAFreshClone() throws IOException {
    List<String> wrong = new ArrayList<>();
    int found = 0;
    for (Path doc : DocSnippetsCompileTest.docs()) {
      for (String command : commands(shellBlocks(Files.readAllLines(doc)))) {
        if (command.contains("dependency:build-classpath")) {
          found++;
          if (!command.equals(CLASSPATH_COMMAND)) {
            wrong.add(ROOT.relativize(doc) + ": " + command);
          }
        }
      }
    }
    for (Path source : examples()) {
      for (String command : javadocCommands(Files.readString(source))) {
        if (command.contains("dependency:build-classpath")) {
          found++;
          if (!command.equals(CLASSPATH_COMMAND)) {
            wrong.add(source.getFileName() + ": " + command);
          }
        }
      }
    }
    assertTrue(found >= 7, "found only " + found + " commands that write the class path");
    assertEquals(List.of(), wrong, "not " + CLASSPATH_COMMAND);
  }

  /**
   * Every Maven command the documents give works on a fresh clone, whose {@code ~/.m2} is empty:
   * none is offline ({@code -o} finds neither plugins nor dependencies there), and one that
   * builds some modules ({@code -pl}) builds those they need with them ({@code -am}) or comes
   * after the document's {@code install} of them.
   */
  @Test
  void everyDocumentedMavenCommandWorksOnAFreshClone() throws IOException {
    List<String> wrong = new ArrayList<>();
    int found = 0;
    for (Path doc : DocSnippetsCompileTest.docs()) {
      List<String> lines = Files.readAllLines(doc);
      boolean installed = false;
      for (String command : mavenCommands(lines)) {
        found++;
        String why = freshCloneFailure(command, installed);
        if (why != null) {
          wrong.add(ROOT.relativize(doc) + ": " + command + " (" + why + ")");
        }
        installed |= List.of(command.split(" ")).contains("install");
      }
    }
    assertTrue(found >= 20, "found only " + found + " Maven commands in the documents");
    assertEquals(List.of(), wrong, "documented Maven commands that fail on a fresh clone");
  }

  @Test
  void aMavenCommandFailsOnAFreshCloneOfflineOrWithoutItsModules() {
    assertEquals("offline", freshCloneFailure("mvn -B -o -pl a -am test", true));
    assertEquals("-pl without -am or an install before it",
        freshCloneFailure("mvn -B -pl a test", false));
    assertEquals(null, freshCloneFailure("mvn -B -pl a test", true));
    assertEquals(null, freshCloneFailure("mvn -B -pl a -am test", false));
    assertEquals(List.of("mvn -B -pl a -am test -Dx", "mvn -o -q verify"),
        mavenCommands(List.of("The long variant (`mvn -B -pl a -am test", "-Dx`) ran;",
            "```sh", "mvn -o -q \\", "    verify", "```", "`mvnw` is not one.")));
  }

  /** Why {@code command} fails on a fresh clone, {@code installed} after an install; or null. */
  static String freshCloneFailure(String command, boolean installed) {
    List<String> words = List.of(command.split(" "));
    if (words.contains("-o") || words.contains("--offline")) {
      return "offline";
    }
    boolean some = words.contains("-pl") || words.contains("--projects");
    boolean also = words.contains("-am") || words.contains("--also-make");
    return some && !also && !installed ? "-pl without -am or an install before it" : null;
  }

  /**
   * The Maven commands of a document, in order: those of its {@code ```sh} blocks, and those
   * quoted in its text ({@code `mvn ...`}, which may run onto the next line).
   */
  static List<String> mavenCommands(List<String> lines) {
    List<String> out = new ArrayList<>();
    boolean in = false;
    List<String> block = new ArrayList<>();
    StringBuilder text = new StringBuilder();
    for (String line : lines) {
      if (line.strip().startsWith("```")) {
        if (in) {
          commands(block).stream().filter(c -> c.startsWith("mvn ")).forEach(out::add);
          block.clear();
        } else {
          quoted(text.toString(), out);
          text.setLength(0);
        }
        in = !in && line.strip().equals("```sh");
        continue;
      }
      if (in) {
        block.add(line);
      } else {
        text.append(line).append('\n');
      }
    }
    quoted(text.toString(), out);
    return out;
  }

  private static final Pattern QUOTED_MAVEN = Pattern.compile("`(mvn [^`]*)`");

  private static void quoted(String text, List<String> out) {
    Matcher m = QUOTED_MAVEN.matcher(text);
    while (m.find()) {
      out.add(m.group(1).strip().replaceAll("\\s+", " "));
    }
  }

  @Test
  void commandsAreReadAsAShellReadsThem() {
    String text = String.join("\n",
        "/**",
        " * Runs.",
        " *",
        " * <pre>",
        " * mvn -B -q package \\",
        " *     -DskipTests",
        " * java -cp \"a:b\" \\",
        " *     io.bittensor.examples.Some arg",
        " * </pre>",
        " */");
    List<String> commands = javadocCommands(text);
    assertEquals(List.of("mvn -B -q package -DskipTests",
        "java -cp \"a:b\" io.bittensor.examples.Some arg"), commands);
    assertEquals(List.of("io.bittensor.examples.Some"), mainClasses(commands));
    assertEquals(List.of(List.of("mvn -o x", "java -cp y z")), List.of(commands(shellBlocks(
        List.of("text", "```sh", "mvn -o x", "java -cp y \\", "    z", "```", "java no")))));
  }

  static List<Path> examples() throws IOException {
    try (Stream<Path> files = Files.list(SOURCES)) {
      return files.filter(p -> p.toString().endsWith(".java")).sorted().toList();
    }
  }

  /** The commands of the plain {@code <pre>} blocks of a source's javadoc. */
  static List<String> javadocCommands(String source) {
    List<String> lines = new ArrayList<>();
    Matcher m = PRE.matcher(source);
    while (m.find()) {
      for (String line : m.group(1).split("\n")) {
        lines.add(line.replaceFirst("^\\s*\\*\\s?", ""));
      }
    }
    return commands(lines);
  }

  /** The lines of a document's {@code ```sh} blocks. */
  static List<String> shellBlocks(List<String> lines) {
    List<String> out = new ArrayList<>();
    boolean in = false;
    for (String line : lines) {
      if (line.strip().startsWith("```")) {
        in = !in && line.strip().equals("```sh");
      } else if (in) {
        out.add(line);
      }
    }
    return out;
  }

  /** Lines joined where one ends in a backslash, as a shell joins them; spaces collapsed. */
  static List<String> commands(List<String> lines) {
    List<String> out = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String line : lines) {
      String s = line.strip();
      boolean goesOn = s.endsWith("\\");
      current.append(goesOn ? s.substring(0, s.length() - 1) : s).append(' ');
      if (!goesOn) {
        String command = current.toString().strip().replaceAll("\\s+", " ");
        if (!command.isEmpty()) {
          out.add(command);
        }
        current.setLength(0);
      }
    }
    return out;
  }

  /** The main class of each {@code java} command that runs an example. */
  static List<String> mainClasses(List<String> commands) {
    return commands.stream().map(MAIN_CLASS::matcher).filter(Matcher::find)
        .map(m -> m.group(1)).toList();
  }
}
