package io.bittensor.incentive;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.bittensor.incentive.YumaParams.Precision;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Replays every vector of {@code conformance/yuma.json} (numbers read from opentensor/subtensor's
 * own tests; see that folder's README): in fixed-point mode the numbers the chain's tests assert
 * must match exactly, and in float64 mode within the tolerance stated beside each check.
 *
 * <p>Where the chain's test builds an input through {@code f32} (its {@code vec_to_fixed} helper
 * takes {@code f32}) the replay does the same: that rounding is part of the asserted number.
 */
class YumaConformanceTest {
  private static final JsonNode ROOT = load();
  private static final long ONE = I32F32.ONE;

  /** The vectors this suite knows how to replay; a new vector must be added here. */
  private static final Set<String> KNOWN = new TreeSet<>(List.of(
      "yuma_epoch_test_bonds_8uids",
      "yuma_epoch_10_self_weight_only",
      "math_sigmoid_safe_paper_consensus",
      "math_weighted_median",
      "math_weighted_median_col",
      "math_matrix_orientation",
      "math_mat_ema_alpha"));

  private static JsonNode load() {
    try (InputStream in = YumaConformanceTest.class.getResourceAsStream("/conformance/yuma.json")) {
      if (in == null) {
        throw new IllegalStateException("conformance/yuma.json is missing from test resources");
      }
      return new ObjectMapper().readTree(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Test
  void everyVectorInTheFileHasAReplay() {
    Set<String> ids = new TreeSet<>();
    ROOT.get("vectors").forEach(v -> ids.add(v.get("id").asText()));
    assertEquals(KNOWN, ids, "vectors in yuma.json vs vectors this suite replays");
    assertEquals(1, ROOT.get("format_version").asInt());
  }

  @TestFactory
  Stream<DynamicTest> everyVectorMatchesInFixedPoint() {
    return vectors().map(v -> DynamicTest.dynamicTest(
        v.get("id").asText() + " (fixed point)", () -> replay(v, Precision.FIXED_POINT)));
  }

  @TestFactory
  Stream<DynamicTest> everyVectorMatchesInFloat64WithinTolerance() {
    return vectors().map(v -> DynamicTest.dynamicTest(
        v.get("id").asText() + " (float64)", () -> replay(v, Precision.FLOAT64)));
  }

  private static Stream<JsonNode> vectors() {
    List<JsonNode> list = new ArrayList<>();
    ROOT.get("vectors").forEach(list::add);
    return list.stream();
  }

  private static void replay(JsonNode v, Precision precision) {
    String id = v.get("id").asText();
    switch (id) {
      case "yuma_epoch_test_bonds_8uids" -> testBonds(v, precision);
      case "yuma_epoch_10_self_weight_only" -> selfWeightsOnly(v, precision);
      case "math_sigmoid_safe_paper_consensus" -> sigmoid(v, precision);
      case "math_weighted_median" -> weightedMedian(v, precision);
      case "math_weighted_median_col" -> weightedMedianColumns(v, precision);
      case "math_matrix_orientation" -> matrixOrientation(v, precision);
      case "math_mat_ema_alpha" -> emaAlpha(v, precision);
      default -> fail("no replay for vector " + id);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // test_bonds: eight peers, seven epochs

  /**
   * The weight changes of the chain's {@code test_bonds} after its first epoch, by epoch: the
   * vector describes them in words ({@code change}); these are those words as rows.
   */
  private static final Map<Integer, Map.Entry<Integer, Map<Integer, Integer>>> CHANGES = Map.of(
      2, Map.entry(0, Map.of(0, 65535)),
      3, Map.entry(1, Map.of(1, 65535)),
      4, Map.entry(2, Map.of(2, 65535)),
      5, Map.entry(2, Map.of(7, 65535)));

  /**
   * Float64 keeps no 16-bit storage, so it skips the truncations the chain's stored bonds
   * accumulate (each epoch reads back what the last one floored). Measured: at most 3 units of
   * 65535 over the seven epochs (epoch 4, bond (0, 7): 12604.6 against the chain's 12602).
   */
  private static final int FLOAT64_BOND_UNITS = 4;

  /**
   * The same drift in shares of the epoch's emission (dividends, emission): measured at most
   * 1.5e-5 (epoch 7's dividends).
   */
  private static final double FLOAT64_SHARE = 2e-5;

  /**
   * The debug dumps print 10 decimals; emission shares are read back from whole rao, one more
   * unit of 1e-9.
   */
  private static final double DUMP_DIGITS = 2e-9;

  private static void testBonds(JsonNode v, Precision precision) {
    JsonNode params = v.get("params");
    JsonNode inputs = v.get("inputs");
    int n = inputs.get("n").asInt();
    long rao = params.get("rao_emission_per_epoch").asLong();
    YumaConsensus yuma = YumaConsensus.of(YumaParams.defaults()
        .withKappaU16(params.get("kappa_u16").asInt())
        .withBondsMovingAverage(params.get("bonds_moving_average_millionths").asLong() / 1e6)
        .withBondsPenalty(params.get("bonds_penalty_u16").asInt() / 65535.0)
        .withLiquidAlpha(params.get("liquid_alpha").asBoolean())
        .withYuma3(params.get("yuma3").asBoolean())
        .withMaxAllowedValidators(params.get("max_allowed_validators").asInt())
        .withActivityCutoff(params.get("activity_cutoff").asLong())
        .withTempo(params.get("tempo").asInt())
        .withTau(rao)
        .withPrecision(precision));
    double[] stake = doubles(inputs.get("stake"));

    // The chain's test registers everyone at block 0 and runs a first epoch (block 0, no weights)
    // to issue validator permits; the validators set weights at block 1 and each later epoch runs
    // one block after the previous one (its debug dumps: "current_block: 1; Last update:
    // [1, 1, 1, 1, 0, 0, 0, 0]; Block at registration: [0, ...]").
    double[][] w = new double[n][n];
    long[] lastUpdate = new long[n];
    YumaState state = new YumaState(NetworkState.of(PeerVector.of(stake), DenseMatrix.of(w)), 0,
        lastUpdate, new long[n], new boolean[n]);
    YumaResult permitsEpoch = yuma.epoch(state);
    assertEquals("[true, true, true, true, false, false, false, false]",
        Arrays.toString(permitsEpoch.validatorPermits()), "permits issued by the first epoch");
    state = state.withValidatorPermits(permitsEpoch.validatorPermits())
        .withNetwork(state.network().withBonds(permitsEpoch.epoch().bonds()));

    JsonNode first = v.get("epochs").get(0).get("weights_u16");
    for (Iterator<String> it = first.fieldNames(); it.hasNext(); ) {
      String row = it.next();
      int i = Integer.parseInt(row);
      first.get(row).fields().forEachRemaining(e ->
          w[i][Integer.parseInt(e.getKey())] = e.getValue().asDouble());
      lastUpdate[i] = 1;
    }

    for (JsonNode epoch : v.get("epochs")) {
      int e = epoch.get("epoch").asInt();
      Map.Entry<Integer, Map<Integer, Integer>> change = CHANGES.get(e);
      if (change != null) {
        int uid = change.getKey();
        assertTrue(epoch.get("change").asText().contains(String.valueOf(uid)),
            "epoch " + e + ": the vector's change names uid " + uid);
        Arrays.fill(w[uid], 0);
        change.getValue().forEach((j, value) -> w[uid][j] = value);
        lastUpdate[uid] = e - 1;
      }
      state = state.withCurrentBlock(e).withLastUpdate(lastUpdate)
          .withNetwork(state.network().withWeights(DenseMatrix.of(w)));
      YumaResult result = yuma.epoch(state);
      checkTestBondsEpoch(epoch, result, precision, rao);
      state = state.withValidatorPermits(result.validatorPermits())
          .withNetwork(state.network().withBonds(result.epoch().bonds()));
    }
  }

  private static void checkTestBondsEpoch(
      JsonNode epoch, YumaResult result, Precision precision, long rao) {
    int e = epoch.get("epoch").asInt();
    String key = epoch.has("asserted_bonds_u16_col4") ? "asserted_bonds_u16_col4"
        : "asserted_bonds_u16_col7";
    int col = key.endsWith("col4") ? 4 : 7;
    long[] expected = longs(epoch.get(key));
    PeerMatrix bonds = result.epoch().bonds();
    for (int i = 0; i < expected.length; i++) {
      long got = Math.round(bonds.get(i, col) * 65535);
      String where = "epoch " + e + ", bond (" + i + ", " + col + ") in u16";
      if (precision == Precision.FIXED_POINT) {
        assertEquals(expected[i], got, where);
      } else {
        assertTrue(Math.abs(expected[i] - got) <= FLOAT64_BOND_UNITS,
            where + ": expected " + expected[i] + " +- " + FLOAT64_BOND_UNITS + ", got " + got);
      }
    }
    // The debug dumps beside each epoch are not asserted by the chain's test; they are matched
    // here as well: emission in rao exactly, the 10-decimal dumps to 1e-9.
    JsonNode logged = epoch.get("logged");
    if (logged == null) {
      return;
    }
    double[] server = result.serverEmission().toArray();
    double[] validator = result.validatorEmission().toArray();
    if (logged.has("emission_rao")) {
      long[] rao64 = longs(logged.get("emission_rao"));
      for (int i = 0; i < rao64.length; i++) {
        double got = server[i] + validator[i];
        String where = "epoch " + e + ", emission of peer " + i + " in rao";
        if (precision == Precision.FIXED_POINT) {
          assertEquals(rao64[i], (long) got, where);
        } else {
          // float64 mints exact shares; the chain floors 32-bit shares to whole rao.
          assertEquals(rao64[i], got, FLOAT64_SHARE * rao, where);
        }
      }
    }
    double tolerance = precision == Precision.FIXED_POINT ? DUMP_DIGITS : FLOAT64_SHARE;
    compare(logged, "D", result.epoch().dividends(), e, tolerance);
    compare(logged, "I", result.epoch().incentive(), e, tolerance);
    compare(logged, "C", result.epoch().consensus(), e, tolerance);
    compare(logged, "validator_trust", result.validatorTrust(), e, tolerance);
    if (logged.has("normalized_emission")) {
      double[] share = new double[server.length];
      for (int i = 0; i < share.length; i++) {
        share[i] = (server[i] + validator[i]) / rao;
      }
      compare(logged, "normalized_emission", PeerVector.of(share), e, tolerance);
    }
  }

  private static void compare(JsonNode logged, String key, PeerVector got, int e, double tol) {
    if (!logged.has(key)) {
      return;
    }
    double[] expected = doubles(logged.get(key));
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], got.get(i), tol, "epoch " + e + ", logged " + key + "[" + i + "]");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // test_10_graph: ten peers weighting only themselves

  private static void selfWeightsOnly(JsonNode v, Precision precision) {
    JsonNode inputs = v.get("inputs");
    JsonNode expected = v.get("expected");
    int n = inputs.get("n").asInt();
    double[] stake = doubles(inputs.get("stake"));
    double[][] w = new double[n][n];
    for (int i = 0; i < n; i++) {
      w[i][i] = 65535;
    }
    long rao = inputs.get("rao_emission").asLong();
    YumaConsensus yuma = YumaConsensus.of(YumaParams.defaults().withTau(rao)
        .withPrecision(precision));
    YumaResult r = yuma.epoch(YumaState.of(NetworkState.of(PeerVector.of(stake),
        DenseMatrix.of(w))));
    EpochResult epoch = r.epoch();
    assertEquals(PeerVector.of(doubles(expected.get("rank"))), epoch.ranks(), "rank");
    assertEquals(PeerVector.of(doubles(expected.get("trust"))), epoch.trust(), "trust");
    assertEquals(PeerVector.of(doubles(expected.get("consensus"))), epoch.consensus(),
        "consensus");
    assertEquals(PeerVector.of(doubles(expected.get("incentive"))), epoch.incentive(),
        "incentive");
    assertEquals(PeerVector.of(doubles(expected.get("dividends"))), epoch.dividends(),
        "dividends");
    long each = expected.get("emission_rao_each").asLong();
    double[] after = doubles(expected.get("stake_after"));
    for (int i = 0; i < n; i++) {
      if (precision == Precision.FIXED_POINT) {
        assertEquals(each, (long) epoch.emission().get(i), "emission of peer " + i);
      } else {
        // float64 mints exactly a tenth; the chain's 32-bit share of 0.1 is just under it.
        assertEquals(each, epoch.emission().get(i), 2.0, "emission of peer " + i + " (float64)");
      }
      // The chain's epoch computes emission and leaves stake to the coinbase; ours adds it. The
      // stake before minting is what the chain's test reads back.
      assertEquals(after[i], epoch.stake().get(i) - epoch.emission().get(i), 1e-6,
          "stake of peer " + i + " before minting");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // math helpers

  private static long fixedOf(JsonNode x) {
    if (x.isTextual()) {
      return switch (x.asText()) {
        case "I32F32::MIN" -> I32F32.MIN;
        case "I32F32::MAX" -> I32F32.MAX;
        default -> throw new IllegalArgumentException("unknown constant " + x.asText());
      };
    }
    return I32F32.fromDouble(x.asDouble());
  }

  private static double doubleOf(JsonNode x) {
    return x.isTextual() ? I32F32.toDouble(fixedOf(x)) : x.asDouble();
  }

  /** {@code I32F32::from_num(x as f32)}: the chain's {@code vec_to_fixed}. */
  private static long viaF32(double x) {
    return I32F32.fromDouble((float) x);
  }

  private static void sigmoid(JsonNode v, Precision precision) {
    double tolerance = v.get("tolerance").get("suggested_float_abs").asDouble();
    int caseIndex = 0;
    for (JsonNode c : v.get("cases")) {
      // The chain's test: the rho=40 inputs go through vec_to_fixed (f32); the targets of the
      // I32F32::MAX / MIN cases too; the others are from_num(f64).
      boolean inputsViaF32 = caseIndex == 1;
      boolean targetsViaF32 = c.get("rho").isTextual();
      long rho = fixedOf(c.get("rho"));
      long kappa = fixedOf(c.get("kappa"));
      for (int k = 0; k < c.get("input").size(); k++) {
        JsonNode in = c.get("input").get(k);
        long x = inputsViaF32 && !in.isTextual() ? viaF32(in.asDouble()) : fixedOf(in);
        double target = c.get("expected").get(k).asDouble();
        String where = "case " + caseIndex + ", input " + in;
        if (precision == Precision.FIXED_POINT) {
          long expected = targetsViaF32 ? viaF32(target) : I32F32.fromDouble(target);
          assertEquals(expected, I32F32.sigmoidSafe(x, rho, kappa), where + " (I32F32 bits)");
        } else {
          double exponent = -I32F32.toDouble(rho) * (I32F32.toDouble(x) - I32F32.toDouble(kappa));
          double clamped = Math.max(-20, Math.min(20, exponent)); // exp_safe's clamp
          assertEquals(target, PaperOps.sigmoid(-clamped), tolerance, where);
        }
      }
      caseIndex++;
    }
  }

  private static void weightedMedian(JsonNode v, Precision precision) {
    int caseIndex = 0;
    for (JsonNode c : v.get("cases")) {
      String where = "case " + caseIndex++ + ": " + c;
      double[] stake = c.get("stake").isTextual() ? normalizedFromText(c.get("stake").asText())
          : doubles(c.get("stake"));
      double[] score = doubles(c.get("score"));
      double majority = c.get("majority").asDouble();
      double expected = c.get("expected").asDouble();
      if (precision == Precision.FIXED_POINT) {
        long[] s = new long[stake.length];
        long[] x = new long[score.length];
        for (int i = 0; i < s.length; i++) {
          s[i] = viaF32(stake[i]);
          x[i] = viaF32(score[i]);
        }
        if (c.get("stake").isTextual()) {
          YumaFixedKernel.normalize(s);
        }
        long minority = ONE - viaF32(majority);
        assertEquals(viaF32(expected), YumaFixedKernel.weightedMedian(s, x, s.length, minority),
            where);
      } else {
        assertEquals(expected,
            YumaFloatKernel.weightedMedian(stake, score, stake.length, 1 - majority), 0.0, where);
      }
    }
  }

  /** {@code "normalize([0.51])"}: the one stake vector the vector writes as an expression. */
  private static double[] normalizedFromText(String text) {
    assertEquals("normalize([0.51])", text);
    return new double[] {0.51};
  }

  private static void weightedMedianColumns(JsonNode v, Precision precision) {
    int caseIndex = 0;
    for (JsonNode c : v.get("cases")) {
      String where = "case " + caseIndex++ + ": " + c;
      double[] stake = doubles(c.get("stake"));
      Pattern m = Pattern.of(matrix(c.get("weights")));
      double majority = c.get("majority").asDouble();
      double[] expected = doubles(c.get("expected"));
      if (precision == Precision.FIXED_POINT) {
        long[] s = new long[stake.length];
        for (int i = 0; i < s.length; i++) {
          s[i] = viaF32(stake[i]);
        }
        long[] median = YumaFixedKernel.medianColumns(m.cols, m.colPtr, m.colEntry, m.rowOf,
            m.fixedViaF32(), s, viaF32(majority));
        for (int j = 0; j < expected.length; j++) {
          assertEquals(viaF32(expected[j]), median[j], where + ", column " + j);
        }
      } else {
        double[] median = YumaFloatKernel.medianColumns(m.cols, m.colPtr, m.colEntry, m.rowOf,
            m.values, stake, majority);
        for (int j = 0; j < expected.length; j++) {
          assertEquals(expected[j], median[j], 0.0, where + ", column " + j);
        }
      }
    }
  }

  private static void matrixOrientation(JsonNode v, Precision precision) {
    for (JsonNode c : v.get("cases")) {
      String op = c.get("op").asText();
      String name = op.substring(0, op.indexOf('(')).trim();
      double tolerance = c.has("tolerance_abs") ? c.get("tolerance_abs").asDouble() : 0;
      double[][] expected;
      double[][] got;
      switch (name) {
        case "matmul", "matmul_transpose", "row_hadamard", "inplace_col_clip",
            "inplace_row_normalize" -> {
          Pattern m = Pattern.of(matrix(c.get("M")));
          double[] vec = c.has("v") ? doubles(c.get("v")) : c.has("c") ? doubles(c.get("c"))
              : null;
          got = applyOp(name, m, vec, precision);
          expected = c.get("expected").get(0).isArray() ? matrix(c.get("expected"))
              : new double[][] {doubles(c.get("expected"))};
        }
        case "inplace_col_max_upscale" -> {
          Pattern m = Pattern.of(transpose(matrix(c.get("columns_of_M"))));
          got = transpose(applyOp(name, m, null, precision));
          expected = matrix(c.get("expected_columns"));
        }
        default -> throw new AssertionError("unknown op " + op);
      }
      for (int i = 0; i < expected.length; i++) {
        for (int j = 0; j < expected[i].length; j++) {
          assertEquals(expected[i][j], got[i][j], tolerance,
              op + " at (" + i + ", " + j + ") in " + precision);
        }
      }
    }
  }

  /** Applies one of the kernels' matrix operations; vectors come back as a one-row matrix. */
  private static double[][] applyOp(String name, Pattern m, double[] v, Precision precision) {
    if (precision == Precision.FIXED_POINT) {
      long[] values = m.fixedViaF32();
      long[] vec = v == null ? null : Arrays.stream(v).mapToLong(YumaConformanceTest::viaF32)
          .toArray();
      return switch (name) {
        case "matmul" -> new double[][] {
            toDoubles(YumaFixedKernel.columnDot(m.cols, m.rowOf, m.colOf, values, vec))};
        case "matmul_transpose" -> new double[][] {
            toDoubles(YumaFixedKernel.rowDot(m.rows, m.rowOf, m.colOf, values, vec))};
        case "row_hadamard" -> m.dense(toDoubles(YumaFixedKernel.rowScale(m.rowOf, values, vec)));
        case "inplace_col_clip" -> m.dense(toDoubles(
            YumaFixedKernel.columnClip(m.colOf, values, vec)));
        case "inplace_row_normalize" -> {
          YumaFixedKernel.rowNormalize(m.rowPtr, values);
          yield m.dense(toDoubles(values));
        }
        case "inplace_col_max_upscale" -> {
          YumaFixedKernel.columnMaxUpscale(values, m.colOf, m.cols);
          yield m.dense(toDoubles(values));
        }
        default -> throw new AssertionError(name);
      };
    }
    double[] values = m.values.clone();
    return switch (name) {
      case "matmul" -> new double[][] {
          YumaFloatKernel.columnDot(m.cols, m.rowOf, m.colOf, values, v)};
      case "matmul_transpose" -> new double[][] {
          YumaFloatKernel.rowDot(m.rows, m.rowOf, m.colOf, values, v)};
      case "row_hadamard" -> m.dense(YumaFloatKernel.rowScale(m.rowOf, values, v));
      case "inplace_col_clip" -> m.dense(YumaFloatKernel.columnClip(m.colOf, values, v));
      case "inplace_row_normalize" -> {
        YumaFloatKernel.rowNormalize(m.rowPtr, values);
        yield m.dense(values);
      }
      case "inplace_col_max_upscale" -> {
        YumaFloatKernel.columnMaxUpscale(values, m.colOf, m.cols);
        yield m.dense(values);
      }
      default -> throw new AssertionError(name);
    };
  }

  private static void emaAlpha(JsonNode v, Precision precision) {
    int caseIndex = 0;
    for (JsonNode c : v.get("cases")) {
      double[][] neu = matrix(c.get("new"));
      double[][] old = matrix(c.get("old"));
      double[][] alpha = matrix(c.get("alpha"));
      double[][] expected = matrix(c.get("expected"));
      double tolerance = c.get("tolerance").asDouble();
      for (int i = 0; i < neu.length; i++) {
        for (int j = 0; j < neu[i].length; j++) {
          String where = "case " + caseIndex + " at (" + i + ", " + j + ")";
          double got = precision == Precision.FIXED_POINT
              ? I32F32.toDouble(YumaFixedKernel.emaClamped(
                  viaF32(neu[i][j]), viaF32(old[i][j]), viaF32(alpha[i][j])))
              : YumaFloatKernel.emaClamped(neu[i][j], old[i][j], alpha[i][j]);
          double want = precision == Precision.FIXED_POINT
              ? I32F32.toDouble(viaF32(expected[i][j])) : expected[i][j];
          assertEquals(want, got, tolerance, where);
        }
      }
      caseIndex++;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // helpers

  /** A (possibly rectangular) dense matrix as the kernels' parallel pattern arrays, zeros kept. */
  private static final class Pattern {
    final int rows;
    final int cols;
    final int[] rowOf;
    final int[] colOf;
    final int[] rowPtr;
    final int[] colPtr;
    final int[] colEntry;
    final double[] values;

    private Pattern(double[][] m) {
      rows = m.length;
      cols = rows == 0 ? 0 : m[0].length;
      int size = rows * cols;
      rowOf = new int[size];
      colOf = new int[size];
      values = new double[size];
      rowPtr = new int[rows + 1];
      for (int i = 0, k = 0; i < rows; i++) {
        for (int j = 0; j < cols; j++, k++) {
          rowOf[k] = i;
          colOf[k] = j;
          values[k] = m[i][j];
        }
        rowPtr[i + 1] = (i + 1) * cols;
      }
      colPtr = new int[cols + 1];
      colEntry = new int[size];
      for (int j = 0, e = 0; j < cols; j++) {
        for (int i = 0; i < rows; i++) {
          colEntry[e++] = i * cols + j;
        }
        colPtr[j + 1] = e;
      }
    }

    static Pattern of(double[][] m) {
      return new Pattern(m);
    }

    long[] fixedViaF32() {
      return Arrays.stream(values).mapToLong(YumaConformanceTest::viaF32).toArray();
    }

    double[][] dense(double[] entries) {
      double[][] out = new double[rows][cols];
      for (int k = 0; k < entries.length; k++) {
        out[rowOf[k]][colOf[k]] = entries[k];
      }
      return out;
    }
  }

  private static double[] toDoubles(long[] bits) {
    return Arrays.stream(bits).mapToDouble(I32F32::toDouble).toArray();
  }

  private static double[][] transpose(double[][] m) {
    if (m.length == 0) {
      return m;
    }
    double[][] t = new double[m[0].length][m.length];
    for (int i = 0; i < m.length; i++) {
      for (int j = 0; j < m[i].length; j++) {
        t[j][i] = m[i][j];
      }
    }
    return t;
  }

  private static double[][] matrix(JsonNode rows) {
    double[][] m = new double[rows.size()][];
    for (int i = 0; i < m.length; i++) {
      m[i] = doubles(rows.get(i));
    }
    return m;
  }

  private static double[] doubles(JsonNode array) {
    double[] out = new double[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = doubleOf(array.get(i));
    }
    return out;
  }

  private static long[] longs(JsonNode array) {
    long[] out = new long[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).asLong();
    }
    return out;
  }
}
