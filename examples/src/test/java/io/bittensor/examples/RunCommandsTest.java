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
