package io.bittensor.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ResearchEpochTest {

  private static String capture() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream saved = System.out;
    try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
      System.setOut(new PrintStream(new ByteArrayOutputStream())); // the README lines print too
      ResearchEpoch.run(out);
    } finally {
      System.setOut(saved);
    }
    return bytes.toString(StandardCharsets.UTF_8);
  }

  @Test
  void theSelfVoterEarnsAlmostNothingAndStakeGrowsByTauEachEpoch() {
    List<String> lines = capture().lines().toList();

    String incentive = lines.get(0);
    assertTrue(incentive.startsWith("incentive [0.191"), incentive);
    double selfVoter = Double.parseDouble(
        incentive.substring(incentive.lastIndexOf(',') + 1, incentive.length() - 1));
    assertTrue(selfVoter < 0.01, "self-voter's incentive " + selfVoter);
    assertTrue(Double.parseDouble(lines.get(1).substring("loss ".length())) < 0);
    assertEquals(7, lines.size());
    assertTrue(lines.get(6).startsWith("epoch 5: stake [57.19"), lines.get(6));
  }

  @Test
  void theReadmeShowsThisExampleVerbatim() throws Exception {
    String source = Files.readString(
        Path.of("src/main/java/io/bittensor/examples/ResearchEpoch.java"));
    String readme = Files.readString(Path.of("../README.md"));
    String block = source.substring(
        source.indexOf("// README-EXAMPLE-START") + "// README-EXAMPLE-START".length(),
        source.indexOf("    // README-EXAMPLE-END"));
    String unindented = block.strip().lines().map(l -> l.startsWith("    ") ? l.substring(4) : l)
        .reduce((a, b) -> a + "\n" + b).orElseThrow();
    assertTrue(readme.contains(unindented),
        "README.md must contain the example exactly as ResearchEpoch runs it:\n" + unindented);
  }
}
