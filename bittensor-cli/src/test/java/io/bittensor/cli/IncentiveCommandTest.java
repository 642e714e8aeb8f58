package io.bittensor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.bittensor.incentive.Emission;
import io.bittensor.incentive.EpochResult;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.incentive.NetworkState;
import io.bittensor.incentive.PaperParams;
import io.bittensor.incentive.PeerMatrix;
import io.bittensor.incentive.PeerVector;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class IncentiveCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  private Path write(String name, String json) throws Exception {
    Path file = dir.resolve(name);
    Files.writeString(file, json);
    return file;
  }

  private static double[] array(JsonNode node) {
    double[] v = new double[node.size()];
    for (int i = 0; i < v.length; i++) {
      v[i] = node.get(i).asDouble();
    }
    return v;
  }

  @Test
  void stepWritesTheSameEpochTheLibraryComputes() throws Exception {
    Path state = write("state.json", """
        {"stake": [3, 1, 2],
         "weights": [[0, 1, 1], [1, 0, 0], [0.2, 0.8, 0]],
         "bonds": [[0, 0.1, 0], [0, 0, 0], [0, 0, 0]],
         "params": {"rho": 8, "kappa": 0.4, "tau": 5, "bondShare": 0.3}}
        """);
    CliRunner r = CliRunner.run("incentive", "step", "--state", state.toString());
    assertEquals(0, r.exitCode(), r.err());

    EpochResult expected = IncentiveMechanism.paper(
            PaperParams.defaults().withRho(8).withKappa(0.4).withTau(5).withBondShare(0.3))
        .step(new NetworkState(PeerVector.of(3, 1, 2),
            PeerMatrix.dense(new double[][] {{0, 1, 1}, {1, 0, 0}, {0.2, 0.8, 0}}),
            PeerMatrix.dense(new double[][] {{0, 0.1, 0}, {0, 0, 0}, {0, 0, 0}})));
    JsonNode out = JSON.readTree(r.out());
    assertEquals(expected.ranks(), PeerVector.of(array(out.get("ranks"))));
    assertEquals(expected.trust(), PeerVector.of(array(out.get("trust"))));
    assertEquals(expected.consensus(), PeerVector.of(array(out.get("consensus"))));
    assertEquals(expected.incentive(), PeerVector.of(array(out.get("incentive"))));
    assertEquals(expected.emission(), PeerVector.of(array(out.get("emission"))));
    assertEquals(expected.stake(), PeerVector.of(array(out.get("stake"))));
    assertEquals(expected.loss(), out.get("loss").asDouble());
    assertTrue(out.get("bonds").isArray(), "dense bonds in, dense bonds out");
    assertEquals(expected.bonds().get(0, 1), out.get("bonds").get(0).get(1).asDouble());
  }

  @Test
  void sparseWeightsAndInflationOverSeveralEpochsToAFile() throws Exception {
    Path state = write("state.json", """
        {"stake": [60, 40],
         "weights": {"n": 2, "rows": [{"cols": [1], "vals": [1]}, {"cols": [0, 1], "vals": [1, 3]}]},
         "params": {"inflation": 0.1}}
        """);
    Path result = dir.resolve("out.json");
    CliRunner r = CliRunner.run(
        "incentive", "step", "--state", state.toString(), "--epochs", "3", "--out", result.toString());
    assertEquals(0, r.exitCode(), r.err());

    NetworkState s = NetworkState.of(PeerVector.of(60, 40),
        PeerMatrix.dense(new double[][] {{0, 1}, {1, 3}}));
    var mechanism = IncentiveMechanism.paper(
        PaperParams.defaults().withEmission(Emission.inflation(0.1)));
    EpochResult last = mechanism.run(s, 3).get(2);
    JsonNode out = JSON.readTree(result.toFile());
    assertEquals(last.stake(), PeerVector.of(array(out.get("stake"))));
    assertEquals(100 * 1.1 * 1.1 * 1.1, last.stake().sum(), 1e-9);
    JsonNode bonds = out.get("bonds");
    assertEquals(2, bonds.get("n").asInt(), "sparse weights, no bonds given: sparse bonds out");
    assertEquals(last.bonds().get(1, 1), bonds.get("rows").get(1).get("vals").get(1).asDouble());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
    "negative stake|{\"stake\":[1,-2],\"weights\":[[0,1],[1,0]]}|stake[1]: must be >= 0",
    "NaN as a string|{\"stake\":[1,\"NaN\"],\"weights\":[[0,1],[1,0]]}|stake[1]: must be a number",
    "negative weight|{\"stake\":[1,2],\"weights\":[[0,1],[-1,0]]}|weights[1][0]: must be >= 0",
    "ragged weights|{\"stake\":[1,2],\"weights\":[[0,1],[1]]}|weights[1]: expected an array of 2 numbers",
    "too few rows|{\"stake\":[1,2,3],\"weights\":[[0,1],[1,0]]}|weights: expected 3 rows to match stake",
    "sparse n mismatch|{\"stake\":[1,2],\"weights\":{\"n\":3,\"rows\":[]}}|weights.n: must be 2",
    "sparse column out of range|{\"stake\":[1,2],\"weights\":{\"n\":2,\"rows\":[{\"cols\":[2],\"vals\":[1]},{\"cols\":[],\"vals\":[]}]}}|weights.rows[0].cols[0]: must be a uid in [0, 2)",
    "all-zero stake|{\"stake\":[0,0],\"weights\":[[0,1],[1,0]]}|stake is all zero",
    "unknown field|{\"stake\":[1],\"weights\":[[1]],\"wieghts\":[[1]]}|wieghts: unknown field",
    "unknown param|{\"stake\":[1],\"weights\":[[1]],\"params\":{\"rh0\":1}}|params.rh0: unknown field",
    "tau and inflation|{\"stake\":[1],\"weights\":[[1]],\"params\":{\"tau\":1,\"inflation\":0.1}}|either \"tau\" or \"inflation\"",
    "kappa out of range|{\"stake\":[1],\"weights\":[[1]],\"params\":{\"kappa\":2}}|params.kappa must be in [0.0, 1.0]",
    "rows not stochastic|{\"stake\":[1,1],\"weights\":[[0.5,0.4],[0,1]],\"params\":{\"normalizeRows\":false}}|weights row 0 sums to 0.9",
    "missing weights|{\"stake\":[1]}|weights: missing",
    "not JSON|{\"stake\": [1,|not valid JSON",
  })
  void badStatesExitWithCodeTwoAndOneClearLine(String name, String json, String expected)
      throws Exception {
    Path state = write("bad.json", json);
    CliRunner r = CliRunner.run("incentive", "step", "--state", state.toString());

    assertEquals(2, r.exitCode(), name + ": " + r.err());
    assertTrue(r.err().contains(expected), name + ": stderr was " + r.err());
    assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
    assertEquals("", r.out());
  }

  /** Jackson's "[Source: REDACTED (`StreamReadFeature...` disabled); line: 1, ...]" left out. */
  @Test
  void anUnclosedArrayIsNamedByWhereItStarts() throws Exception {
    Path state = write("bad.json", "{\"stake\": [1, 2],\n \"weights\": [[0, 1], [1, 0]\n");
    CliRunner r = CliRunner.run("incentive", "step", "--state", state.toString());
    assertEquals(2, r.exitCode(), r.err());
    assertEquals("bittensor: not valid JSON: Unexpected end-of-input: expected close marker for"
        + " Array (start marker at line: 2, column: 13) at line 3", r.err().strip());
  }

  @Test
  void aMissingStateFileIsBadInput() {
    CliRunner r = CliRunner.run("incentive", "step", "--state", dir.resolve("nope.json").toString());
    assertEquals(2, r.exitCode());
    assertTrue(r.err().contains("no such file"), r.err());
  }

  /** An --out that cannot be written is named before any epoch runs; the old file is kept. */
  @Test
  void anOutIntoAMissingFolderOrOntoAFolderIsBadInput() throws Exception {
    Path state = write("state.json", "{\"stake\": [1, 1], \"weights\": [[0, 1], [1, 0]],"
        + " \"bonds\": [[0, 0], [0, 0]]}");
    Path missing = dir.resolve("no-such-folder").resolve("result.json");
    CliRunner r = CliRunner.run("incentive", "step", "--state", state.toString(), "--out",
        missing.toString());
    assertEquals(2, r.exitCode(), r.err());
    assertTrue(r.err().contains("--out " + missing + ": no such folder"), r.err());
    Path folder = Files.createDirectory(dir.resolve("folder"));
    r = CliRunner.run("incentive", "step", "--state", state.toString(), "--out",
        folder.toString());
    assertEquals(2, r.exitCode(), r.err());
    assertTrue(r.err().contains("--out " + folder + " is a folder"), r.err());
    assertTrue(Files.isDirectory(folder));
  }

  /** The result replaces --out whole, leaving no temporary file beside it. */
  @Test
  void anOutIsReplacedWhole() throws Exception {
    Path state = write("state.json", "{\"stake\": [1, 1], \"weights\": [[0, 1], [1, 0]],"
        + " \"bonds\": [[0, 0], [0, 0]]}");
    Path result = write("result.json", "old ".repeat(10_000));
    CliRunner r = CliRunner.run("incentive", "step", "--state", state.toString(), "--out",
        result.toString());
    assertEquals(0, r.exitCode(), r.err());
    assertTrue(JSON.readTree(result.toFile()).has("stake"));
    try (var files = Files.list(dir)) {
      assertEquals(2, files.count(), "state.json and result.json only");
    }
  }

  @Test
  void benchPrintsOneJsonLineForTheSizeAsked() throws Exception {
    CliRunner r = CliRunner.run("incentive", "bench", "--n", "2000", "--nnz-per-row", "16",
        "--epochs", "3", "--seed", "7");
    assertEquals(0, r.exitCode(), r.err());
    assertEquals(1, r.out().strip().lines().count());
    JsonNode line = JSON.readTree(r.out());
    assertEquals(2000, line.get("n").asInt());
    assertTrue(line.get("nnz").asLong() > 2000 * 15 && line.get("nnz").asLong() <= 2000 * 16);
    assertTrue(line.get("msPerEpoch").asDouble() > 0);

    CliRunner dense = CliRunner.run("incentive", "bench", "--n", "64", "--epochs", "1");
    assertEquals("dense", JSON.readTree(dense.out()).get("form").asText());
  }

  /** Each refusal names the option at fault, not SyntheticNetworks' parameter. */
  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
    "100 101|bittensor: --nnz-per-row must be in [1, --n 100], was 101",
    "100 0|bittensor: --nnz-per-row must be in [1, --n 100], was 0",
    "0|bittensor: --n must be >= 1, was 0",
    "46341|bittensor: --n 46341 is too large for a dense network (at most 46340 peers); give"
        + " --nnz-per-row K for a sparse one",
  })
  void benchRejectsImpossibleSizesNamingTheOption(String sizes, String expected) {
    String[] nk = sizes.split(" ");
    CliRunner r = nk.length == 1
        ? CliRunner.run("incentive", "bench", "--n", nk[0])
        : CliRunner.run("incentive", "bench", "--n", nk[0], "--nnz-per-row", nk[1]);
    assertEquals(2, r.exitCode(), r.err());
    assertEquals(expected, r.err().strip());
  }

  /** A network too large for the JVM's heap is one line that says so, not an error's trace. */
  @Test
  void benchTooLargeForTheHeapSaysSo() {
    CliRunner r = CliRunner.run("incentive", "bench", "--n", "2000000000", "--nnz-per-row", "1");
    assertEquals(1, r.exitCode(), r.err());
    assertTrue(r.err().startsWith("bittensor: --n 2000000000 --nnz-per-row 1 needs more memory"
        + " than this JVM may use"), r.err());
    assertEquals(1, r.err().strip().lines().count(), r.err());
  }
}
