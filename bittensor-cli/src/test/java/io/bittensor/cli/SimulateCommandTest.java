package io.bittensor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SimulateCommandTest {
  @TempDir Path dir;

  @Test
  void collusionWritesThePapersNumbersAsCsvAndAPlot() throws Exception {
    CliRunner r = CliRunner.run("simulate", "collusion", "--honest-share", "0.51,0.45",
        "--epochs", "5", "--out", dir.toString());
    assertEquals(0, r.exitCode(), r.err());

    List<String> csv = Files.readAllLines(dir.resolve("collusion.csv"));
    assertEquals("epoch,cabal_share_at_honest_0.51,cabal_share_at_honest_0.45", csv.get(0));
    assertEquals(7, csv.size(), "header and epochs 0..5");
    double[] paper = {
      0.4877323388820201, 0.4849535784321247, 0.4815511535094221, 0.477389901500398,
      0.4723093486843246
    };
    for (int e = 1; e <= 5; e++) {
      String[] cells = csv.get(e + 1).split(",");
      assertEquals(e, Integer.parseInt(cells[0]));
      assertEquals(paper[e - 1], Double.parseDouble(cells[1]), 1e-12, "epoch " + e);
      assertTrue(Double.parseDouble(cells[2]) > 0.55, "a majority cabal grows");
    }
    BufferedImage png = ImageIO.read(dir.resolve("collusion.png").toFile());
    assertEquals(900, png.getWidth());
    assertEquals(540, png.getHeight());
    assertTrue(r.out().contains("cabal decays") && r.out().contains("cabal grows"), r.out());
  }

  /** An --out that is a file is named before the simulation runs, and left as it was. */
  @Test
  void anOutThatIsAFileIsBadInput() throws Exception {
    Path file = Files.writeString(dir.resolve("report"), "mine");
    CliRunner r = CliRunner.run("simulate", "collusion", "--epochs", "2", "--out",
        file.toString());
    assertEquals(2, r.exitCode(), r.err());
    assertTrue(r.err().contains("--out " + file + " is a file, not a folder"), r.err());
    assertEquals("mine", Files.readString(file));
  }

  /** The CSV and the plot replace the last run's whole, leaving no temporary file behind. */
  @Test
  void aSecondRunReplacesTheFilesWhole() throws Exception {
    for (int run = 0; run < 2; run++) {
      CliRunner r = CliRunner.run("simulate", "collusion", "--honest-share", "0.6",
          "--epochs", String.valueOf(3 - run), "--out", dir.toString());
      assertEquals(0, r.exitCode(), r.err());
    }
    assertEquals(4, Files.readAllLines(dir.resolve("collusion.csv")).size(), "epochs 0..2");
    assertEquals(900, ImageIO.read(dir.resolve("collusion.png").toFile()).getWidth());
    try (var files = Files.list(dir)) {
      assertEquals(2, files.count(), "collusion.csv and collusion.png only");
    }
  }

  /** An empty list of shares (",") is named as such, not as a progress bar's total. */
  @Test
  void noSharesAreRejected() {
    CliRunner r = CliRunner.run("simulate", "collusion", "--honest-share", ",",
        "--out", dir.toString());
    assertEquals(2, r.exitCode(), r.err());
    assertTrue(r.err().contains("--honest-share needs at least one share"), r.err());
  }

  /**
   * The summary shows each epoch once, the last one too when it is among those always shown, and
   * a share that did not move (no epochs, or no inflation) is said to stay, not to grow.
   */
  @Test
  void theSummaryShowsEachEpochOnceAndAShareThatStays() {
    CliRunner r = CliRunner.run("simulate", "collusion", "--honest-share", "0.6",
        "--epochs", "5", "--out", dir.toString());
    assertEquals(0, r.exitCode(), r.err());
    String header = r.out().lines().findFirst().orElseThrow();
    assertEquals(1, header.split("epoch 5", -1).length - 1, header);
    for (String[] args : new String[][] {{"--epochs", "0"}, {"--epochs", "3", "--inflation",
        "0"}}) {
      List<String> line = new java.util.ArrayList<>(List.of("simulate", "collusion",
          "--honest-share", "0.6", "--out", dir.toString()));
      line.addAll(List.of(args));
      r = CliRunner.run(line.toArray(String[]::new));
      assertEquals(0, r.exitCode(), r.err());
      assertTrue(r.out().contains("cabal's share stays") && !r.out().contains("cabal grows"),
          String.join(" ", args) + ": " + r.out());
    }
  }

  @Test
  void badSharesAreRejected() {
    CliRunner r = CliRunner.run("simulate", "collusion", "--honest-share", "1.2",
        "--out", dir.toString());
    assertEquals(2, r.exitCode());
    assertTrue(r.err().contains("honest share must be in (0, 1)"), r.err());
  }
}
