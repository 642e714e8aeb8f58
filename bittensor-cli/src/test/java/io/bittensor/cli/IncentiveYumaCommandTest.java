package io.bittensor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.bittensor.incentive.DenseMatrix;
import io.bittensor.incentive.NetworkState;
import io.bittensor.incentive.PeerMatrix;
import io.bittensor.incentive.PeerVector;
import io.bittensor.incentive.YumaConsensus;
import io.bittensor.incentive.YumaParams;
import io.bittensor.incentive.YumaResult;
import io.bittensor.incentive.YumaState;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code incentive step --mechanism yuma|yuma3}: the chain's mechanism on the same JSON state. */
class IncentiveYumaCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final double[][] WEIGHTS = {
      {0, 0, 0.75, 0.25}, {0, 0, 0.25, 0.75}, {0, 0, 0, 0}, {0, 0, 0, 0}};

  @TempDir Path dir;

  private Path write(String json) throws Exception {
    Path file = dir.resolve("state.json");
    Files.writeString(file, json);
    return file;
  }

  private static double[] array(JsonNode node) {
    return JSON.convertValue(node, double[].class);
  }

  private static boolean[] booleans(JsonNode node) {
    return JSON.convertValue(node, boolean[].class);
  }

  @Test
  void yumaStepWritesWhatTheLibraryComputesFromTheChainsBookkeeping() throws Exception {
    Path state = write("""
        {"stake": [3, 1, 0, 0],
         "weights": [[0, 0, 0.75, 0.25], [0, 0, 0.25, 0.75], [0, 0, 0, 0], [0, 0, 0, 0]],
         "currentBlock": 10000,
         "lastUpdate": [9990, 3000, 9000, 9000],
         "registeredAt": [0, 0, 100, 9500],
         "validatorPermit": [true, true, false, false],
         "params": {"tau": 14, "kappa": 0.5, "maxAllowedValidators": 1, "tempo": 99}}
        """);
    CliRunner r = CliRunner.run("incentive", "step", "--state", state.toString(),
        "--mechanism", "yuma");
    assertEquals(0, r.exitCode(), r.err());

    YumaParams params = YumaParams.defaults().withTau(14).withKappa(0.5)
        .withMaxAllowedValidators(1).withTempo(99);
    YumaResult expected = YumaConsensus.of(params).epoch(
        YumaState.of(NetworkState.of(PeerVector.of(3, 1, 0, 0), DenseMatrix.of(WEIGHTS)))
            .withCurrentBlock(10000)
            .withLastUpdate(new long[] {9990, 3000, 9000, 9000})
            .withRegisteredAt(new long[] {0, 0, 100, 9500})
            .withValidatorPermits(new boolean[] {true, true, false, false}));
    JsonNode out = JSON.readTree(r.out());
    assertEquals(expected.epoch().incentive(), PeerVector.of(array(out.get("incentive"))));
    assertEquals(expected.epoch().dividends(), PeerVector.of(array(out.get("dividends"))));
    assertEquals(expected.epoch().consensus(), PeerVector.of(array(out.get("consensus"))));
    assertEquals(expected.epoch().stake(), PeerVector.of(array(out.get("stake"))));
    assertEquals(expected.validatorTrust(), PeerVector.of(array(out.get("validatorTrust"))));
    assertEquals(expected.serverEmission(), PeerVector.of(array(out.get("serverEmission"))));
    assertEquals(expected.validatorEmission(),
        PeerVector.of(array(out.get("validatorEmission"))));
    assertEquals(java.util.Arrays.toString(expected.validatorPermits()),
        java.util.Arrays.toString(booleans(out.get("validatorPermit"))));
    // Validator 1 last updated 7000 blocks ago: inactive, so only validator 0 votes.
    assertEquals("[true, false, true, true]", java.util.Arrays.toString(booleans(out.get("active"))));
    assertEquals(0.0, out.get("loss").asDouble());
  }

  @Test
  void yuma3OverSeveralEpochsCarriesBondsAndPermits() throws Exception {
    Path state = write("""
        {"stake": [3, 1, 0, 0],
         "weights": {"n": 4, "rows": [{"cols": [2, 3], "vals": [0.75, 0.25]},
                                      {"cols": [2, 3], "vals": [0.25, 0.75]},
                                      {"cols": [], "vals": []}, {"cols": [], "vals": []}]},
         "params": {"liquidAlpha": true, "inflation": 0.1}}
        """);
    CliRunner r = CliRunner.run("incentive", "step", "--state", state.toString(),
        "--mechanism", "yuma3", "--epochs", "3");
    assertEquals(0, r.exitCode(), r.err());

    YumaConsensus yuma = YumaConsensus.of(YumaParams.defaults().withYuma3(true)
        .withLiquidAlpha(true).withEmission(io.bittensor.incentive.Emission.inflation(0.1)));
    YumaResult last = yuma.run(YumaState.of(NetworkState.of(PeerVector.of(3, 1, 0, 0),
        PeerMatrix.dense(WEIGHTS).toCsr())), 3).get(2);
    JsonNode out = JSON.readTree(r.out());
    assertEquals(last.epoch().stake(), PeerVector.of(array(out.get("stake"))));
    JsonNode bonds = out.get("bonds");
    assertEquals(4, bonds.get("n").asInt(), "sparse weights, no bonds given: sparse bonds out");
    assertEquals(last.epoch().bonds().get(0, 2),
        bonds.get("rows").get(0).get("vals").get(0).asDouble());
  }

  @Test
  void fixedPointMintsWholeUnits() throws Exception {
    Path state = write("""
        {"stake": [3, 1, 0, 0],
         "weights": [[0, 0, 0.75, 0.25], [0, 0, 0.25, 0.75], [0, 0, 0, 0], [0, 0, 0, 0]],
         "params": {"tau": 1000000007, "precision": "fixed-point"}}
        """);
    CliRunner r = CliRunner.run("incentive", "step", "--state", state.toString(),
        "--mechanism", "yuma");
    assertEquals(0, r.exitCode(), r.err());
    for (double e : array(JSON.readTree(r.out()).get("emission"))) {
      assertEquals(Math.rint(e), e, "whole units: " + e);
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
    "paper with Yuma fields|paper|{\"stake\":[1,2],\"weights\":[[0,1],[1,0]],\"lastUpdate\":[1,1]}|lastUpdate: only read with --mechanism yuma or yuma3",
    "Yuma with a paper param|yuma|{\"stake\":[1,2],\"weights\":[[0,1],[1,0]],\"params\":{\"rho\":10}}|params.rho: unknown field",
    "short lastUpdate|yuma|{\"stake\":[1,2],\"weights\":[[0,1],[1,0]],\"lastUpdate\":[1]}|lastUpdate: expected an array of 2 whole block numbers",
    "fractional block|yuma|{\"stake\":[1,2],\"weights\":[[0,1],[1,0]],\"registeredAt\":[0,1.5]}|registeredAt[1]: must be a whole number >= 0, was 1.5",
    "negative block|yuma3|{\"stake\":[1,2],\"weights\":[[0,1],[1,0]],\"currentBlock\":-3}|currentBlock: must be a whole number >= 0, was -3",
    "permit not boolean|yuma|{\"stake\":[1,2],\"weights\":[[0,1],[1,0]],\"validatorPermit\":[true,1]}|validatorPermit[1]: must be true or false",
    "bond above one|yuma|{\"stake\":[1,2],\"weights\":[[0,1],[1,0]],\"bonds\":[[0,2],[0,0]]}|bonds: bond (0, 1) must be in [0, 1]",
    "alpha bounds crossed|yuma|{\"stake\":[1,2],\"weights\":[[0,1],[1,0]],\"params\":{\"alphaLow\":0.9,\"alphaHigh\":0.7}}|params.alphaLow",
    "unknown precision|yuma|{\"stake\":[1,2],\"weights\":[[0,1],[1,0]],\"params\":{\"precision\":\"f32\"}}|params.precision: must be \"float64\" or \"fixed-point\"",
    "kappa out of range|yuma|{\"stake\":[1,2],\"weights\":[[0,1],[1,0]],\"params\":{\"kappa\":1.5}}|params.kappa must be in [0.0, 1.0]",
  })
  void badYumaStatesExitWithCodeTwoAndOneClearLine(
      String name, String mechanism, String json, String expected) throws Exception {
    Path state = write(json);
    CliRunner r = CliRunner.run("incentive", "step", "--state", state.toString(),
        "--mechanism", mechanism);
    assertEquals(2, r.exitCode(), name + ": " + r.err());
    assertTrue(r.err().contains(expected), name + ": stderr was " + r.err());
    assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
    assertEquals("", r.out());
  }

  @Test
  void anUnknownMechanismIsAUsageErrorListingTheChoices() throws Exception {
    Path state = write("{\"stake\":[1],\"weights\":[[0]]}");
    CliRunner r = CliRunner.run("incentive", "step", "--state", state.toString(),
        "--mechanism", "yuma4");
    assertEquals(2, r.exitCode());
    assertTrue(r.err().contains("paper, yuma, yuma3"), r.err());
  }
}
