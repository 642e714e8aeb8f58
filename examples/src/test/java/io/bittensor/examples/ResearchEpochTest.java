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
    assertEquals(9, lines.size());
    assertTrue(lines.get(6).startsWith("epoch 5: stake [57.19"), lines.get(6));
  }

  @Test
  void inTheLongSimulationPeerThreeEarnsOnlyOnceTheMajorityValuesIt() {
    List<String> lines = capture().lines().toList();
    String before = lines.get(7);
    String after = lines.get(8);
    assertTrue(before.startsWith("simulation epoch 100: "), before);
    assertTrue(after.startsWith("simulation epoch 200: "), after);
    assertTrue(field(before, "incentive") < 0.01, before);
    assertTrue(field(after, "incentive") > 0.2, after);
    assertTrue(field(after, "stake") > 10 * field(before, "stake"), after);
    // 100 staked at the start, tau = 10 minted each epoch.
    assertTrue(before.endsWith("of 1100.00"), before);
    assertTrue(after.endsWith("of 2100.00"), after);
  }

  private static double field(String line, String name) {
    String rest = line.substring(line.indexOf(name + " ") + name.length() + 1);
    return Double.parseDouble(rest.substring(0, rest.indexOf(' ')));
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
