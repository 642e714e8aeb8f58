package io.bittensor.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.examples.MechanismComparison.Run;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The comparison runs, writes its files, and shows what docs/yuma.md says it shows. */
class MechanismComparisonTest {
  private static List<Run> runs;
  private static Map<String, Double> last;

  @BeforeAll
  static void runAll() {
    runs = MechanismComparison.runAll(MechanismComparison.EPOCHS);
    last = MechanismComparison.finals(runs);
  }

  private static Run run(String market, String mechanism) {
    return runs.stream()
        .filter(r -> r.market().name().equals(market) && r.mechanism().equals(mechanism))
        .findFirst().orElseThrow();
  }

  @Test
  void aCabalShrinksUnderEveryMechanismFastestUnderYuma() {
    double[] paper = run("cabal", "paper").tracked();
    double[] yuma = run("cabal", "yuma").tracked();
    for (int e = 1; e <= MechanismComparison.EPOCHS; e++) {
      assertTrue(paper[e] < paper[e - 1] && yuma[e] < yuma[e - 1], "epoch " + e);
      assertTrue(yuma[e] < paper[e], "epoch " + e + ": Yuma leaves the cabal less");
    }
    // The cabal earns nothing under Yuma (clipped to zero consensus): 0.4 / 1.1^e.
    assertEquals(0.4 / Math.pow(1.1, 10), yuma[10], 1e-9);
    assertEquals(last.get("cabal/yuma"), last.get("cabal/yuma3"), 1e-12);
  }

  @Test
  void copyingConsensusPaysUnderClassicYumaAndCostsUnderYuma3() {
    double paper = last.get("weight-copier/paper");
    double yuma = last.get("weight-copier/yuma");
    double yuma3 = last.get("weight-copier/yuma3");
    assertTrue(yuma > 1.0, "classic Yuma: the copier out-earns its honest twin, " + yuma);
    assertTrue(paper < 1.0 && paper > 0.98, "paper: " + paper);
    assertTrue(yuma3 < paper, "Yuma 3: the copier lags at every change, " + yuma3);
  }

  @Test
  void changingYourMindLateCostsUnderEveryMechanism() {
    for (String m : MechanismComparison.MECHANISMS) {
      double[] late = run("late-changer", m).tracked();
      assertEquals(1.0, late[20], 1e-9, m + ": twins until the switch");
      assertTrue(last.get("late-changer/" + m) < 0.6, m + ": " + last.get("late-changer/" + m));
    }
    assertTrue(last.get("late-changer/yuma3") < last.get("late-changer/yuma"));
  }

  @Test
  void writesTheCsvAndThePlot(@TempDir Path dir) throws IOException {
    MechanismComparison.write(runs, dir);
    List<String> csv = Files.readAllLines(dir.resolve("mechanism-comparison.csv"));
    assertEquals("market,mechanism,epoch,peer,share", csv.get(0));
    int peers = 10 + 9 + 6;
    assertEquals(1 + 3 * (MechanismComparison.EPOCHS + 1) * peers, csv.size());
    for (String market : new String[] {"cabal", "weight-copier", "late-changer"}) {
      byte[] png = Files.readAllBytes(dir.resolve("mechanism-comparison-" + market + ".png"));
      assertTrue(png.length > 10_000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G', market);
    }
  }
}
