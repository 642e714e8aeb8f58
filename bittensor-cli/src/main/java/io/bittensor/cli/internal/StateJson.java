package io.bittensor.cli.internal;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.bittensor.cli.CliException;
import io.bittensor.incentive.CsrMatrix;
import io.bittensor.incentive.DenseMatrix;
import io.bittensor.incentive.Emission;
import io.bittensor.incentive.EpochResult;
import io.bittensor.incentive.NetworkState;
import io.bittensor.incentive.PaperParams;
import io.bittensor.incentive.PeerMatrix;
import io.bittensor.incentive.PeerVector;
import io.bittensor.incentive.YumaParams;
import io.bittensor.incentive.YumaResult;
import io.bittensor.incentive.YumaState;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Iterator;
import java.util.Set;

/**
 * The JSON form of a network state and of an epoch result, as documented in the CLI's README
 * section. Every error names the JSON path of the bad value.
 */
public final class StateJson {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final Set<String> STATE_FIELDS = Set.of("stake", "weights", "bonds", "params");
  private static final Set<String> PARAM_FIELDS =
      Set.of("rho", "kappa", "tau", "inflation", "bondShare", "normalizeRows", "maskSelfWeights");
  /** What a Yuma state adds: the chain's per-peer bookkeeping. */
  private static final Set<String> YUMA_ONLY_FIELDS =
      Set.of("currentBlock", "lastUpdate", "registeredAt", "validatorPermit");
  private static final Set<String> YUMA_STATE_FIELDS = Set.of("stake", "weights", "bonds",
      "params", "currentBlock", "lastUpdate", "registeredAt", "validatorPermit");
  private static final Set<String> YUMA_PARAM_FIELDS = Set.of("kappa", "bondsMovingAverage",
      "bondsPenalty", "liquidAlpha", "alphaLow", "alphaHigh", "alphaSigmoidSteepness",
      "maxAllowedValidators", "activityCutoff", "tempo", "minStake", "tau", "inflation",
      "precision");

  private StateJson() {}

  /** A parsed state: the network, the mechanism's parameters, and the form bonds came in. */
  public record Input(NetworkState state, PaperParams params, boolean sparseBonds) {}

  /** A parsed Yuma state: the chain's state, Yuma's parameters, and the form bonds came in. */
  public record YumaInput(YumaState state, YumaParams params, boolean sparseBonds) {}

  /** Parses a state document. */
  public static Input parse(byte[] json) {
    return parse(tree(json));
  }

  private static JsonNode tree(byte[] json) {
    try {
      return MAPPER.readTree(json);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      // Jackson names an unclosed array's start as "[Source: REDACTED (...); line: 1, ...]".
      String why = e.getOriginalMessage().replaceAll("\\[Source: [^;\\]]*; ([^\\]]*)\\]", "$1");
      throw bad("not valid JSON: " + why + " at line "
          + (e.getLocation() == null ? "?" : e.getLocation().getLineNr()));
    } catch (IOException e) {
      throw bad("cannot read JSON: " + e.getMessage());
    }
  }

  /** Parses a state document already read as a tree. */
  public static Input parse(JsonNode root) {
    requireObject(root);
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String name = it.next();
      if (YUMA_ONLY_FIELDS.contains(name)) {
        throw bad(name + ": only read with --mechanism yuma or yuma3");
      }
    }
    requireKnownFields(root, STATE_FIELDS, "");
    Network network = network(root);
    PaperParams params = params(root.get("params"));
    try {
      return new Input(new NetworkState(network.stake, network.weights, network.bonds), params,
          network.sparseBonds);
    } catch (IllegalArgumentException e) {
      throw bad(e.getMessage());
    }
  }

  /**
   * Parses a Yuma state document: the paper's fields, Yuma's {@code params}, and the optional
   * per-peer {@code lastUpdate}, {@code registeredAt}, {@code validatorPermit} and the
   * {@code currentBlock} (defaults: {@link YumaState#of}, everyone active and permitted).
   *
   * @param yuma3 run Yuma 3's bonds ({@code --mechanism yuma3})
   */
  public static YumaInput parseYuma(byte[] json, boolean yuma3) {
    JsonNode root = tree(json);
    requireObject(root);
    requireKnownFields(root, YUMA_STATE_FIELDS, "");
    Network network = network(root);
    YumaParams params = yumaParams(root.get("params")).withYuma3(yuma3);
    int n = network.stake.size();
    YumaState state;
    try {
      state = YumaState.of(new NetworkState(network.stake, network.weights, network.bonds));
    } catch (IllegalArgumentException e) {
      throw bad((e.getMessage().startsWith("bond") ? "bonds: " : "") + e.getMessage());
    }
    JsonNode lastUpdate = root.get("lastUpdate");
    if (lastUpdate != null && !lastUpdate.isNull()) {
      state = state.withLastUpdate(blocks(lastUpdate, "lastUpdate", n));
    }
    JsonNode registeredAt = root.get("registeredAt");
    if (registeredAt != null && !registeredAt.isNull()) {
      state = state.withRegisteredAt(blocks(registeredAt, "registeredAt", n));
    }
    JsonNode permits = root.get("validatorPermit");
    if (permits != null && !permits.isNull()) {
      state = state.withValidatorPermits(booleans(permits, "validatorPermit", n));
    }
    JsonNode block = root.get("currentBlock");
    if (block != null && !block.isNull()) {
      state = state.withCurrentBlock(block(block, "currentBlock"));
    } else if (lastUpdate != null && !lastUpdate.isNull()) {
      long latest = 0;
      for (long b : state.lastUpdate()) {
        latest = Math.max(latest, b);
      }
      state = state.withCurrentBlock(latest); // the newest update happened now
    }
    return new YumaInput(state, params, network.sparseBonds);
  }

  /** Stake, weights and bonds as read, and the form bonds should be written in. */
  private record Network(PeerVector stake, PeerMatrix weights, PeerMatrix bonds,
      boolean sparseBonds) {}

  private static Network network(JsonNode root) {
    PeerVector stake = vector(require(root, "stake", ""), "stake");
    int n = stake.size();
    PeerMatrix weights = matrix(require(root, "weights", ""), "weights", n);
    JsonNode bondsNode = root.get("bonds");
    PeerMatrix bonds = bondsNode == null || bondsNode.isNull()
        ? PeerMatrix.zeros(n) : matrix(bondsNode, "bonds", n);
    boolean sparseBonds = bondsNode == null || bondsNode.isNull()
        ? weights instanceof CsrMatrix : bondsNode.isObject();
    return new Network(stake, weights, bonds, sparseBonds);
  }

  private static void requireObject(JsonNode root) {
    if (root == null || !root.isObject()) {
      throw bad("the state must be a JSON object with \"stake\" and \"weights\"");
    }
  }

  private static YumaParams yumaParams(JsonNode node) {
    YumaParams p = YumaParams.defaults();
    if (node == null || node.isNull()) {
      return p;
    }
    if (!node.isObject()) {
      throw bad("params: must be an object");
    }
    requireKnownFields(node, YUMA_PARAM_FIELDS, "params.");
    if (node.has("tau") && node.has("inflation")) {
      throw bad("params: give either \"tau\" or \"inflation\", not both");
    }
    YumaParams.Builder b = p.toBuilder();
    try {
      if (node.has("kappa")) {
        b.kappa(number(node.get("kappa"), "params.kappa"));
      }
      if (node.has("bondsMovingAverage")) {
        b.bondsMovingAverage(number(node.get("bondsMovingAverage"), "params.bondsMovingAverage"));
      }
      if (node.has("bondsPenalty")) {
        b.bondsPenalty(number(node.get("bondsPenalty"), "params.bondsPenalty"));
      }
      if (node.has("liquidAlpha")) {
        b.liquidAlpha(bool(node.get("liquidAlpha"), "params.liquidAlpha"));
      }
      double low = node.has("alphaLow") ? number(node.get("alphaLow"), "params.alphaLow")
          : p.alphaLow();
      double high = node.has("alphaHigh") ? number(node.get("alphaHigh"), "params.alphaHigh")
          : p.alphaHigh();
      b.alphas(low, high);
      if (node.has("alphaSigmoidSteepness")) {
        b.alphaSigmoidSteepness(
            number(node.get("alphaSigmoidSteepness"), "params.alphaSigmoidSteepness"));
      }
      if (node.has("maxAllowedValidators")) {
        b.maxAllowedValidators(
            (int) block(node.get("maxAllowedValidators"), "params.maxAllowedValidators"));
      }
      if (node.has("activityCutoff")) {
        b.activityCutoff(block(node.get("activityCutoff"), "params.activityCutoff"));
      }
      if (node.has("tempo")) {
        b.tempo((int) block(node.get("tempo"), "params.tempo"));
      }
      if (node.has("minStake")) {
        b.minStake(number(node.get("minStake"), "params.minStake"));
      }
      if (node.has("tau")) {
        b.emission(Emission.fixed(number(node.get("tau"), "params.tau")));
      }
      if (node.has("inflation")) {
        b.emission(Emission.inflation(number(node.get("inflation"), "params.inflation")));
      }
      if (node.has("precision")) {
        b.precision(precision(node.get("precision")));
      }
      return b.build();
    } catch (IllegalArgumentException e) {
      throw bad("params." + e.getMessage());
    }
  }

  private static YumaParams.Precision precision(JsonNode node) {
    String text = node.isTextual() ? node.asText() : "";
    return switch (text) {
      case "float64" -> YumaParams.Precision.FLOAT64;
      case "fixed-point" -> YumaParams.Precision.FIXED_POINT;
      default -> throw bad("params.precision: must be \"float64\" or \"fixed-point\", was "
          + node);
    };
  }

  private static long[] blocks(JsonNode node, String path, int n) {
    requireArrayOf(node, path, n, "whole block numbers");
    long[] out = new long[n];
    for (int i = 0; i < n; i++) {
      out[i] = block(node.get(i), path + "[" + i + "]");
    }
    return out;
  }

  private static long block(JsonNode node, String path) {
    if (node == null || !node.canConvertToExactIntegral() || node.asLong() < 0) {
      throw bad(path + ": must be a whole number >= 0, was " + node);
    }
    return node.asLong();
  }

  private static boolean[] booleans(JsonNode node, String path, int n) {
    requireArrayOf(node, path, n, "true or false values");
    boolean[] out = new boolean[n];
    for (int i = 0; i < n; i++) {
      out[i] = bool(node.get(i), path + "[" + i + "]");
    }
    return out;
  }

  private static void requireArrayOf(JsonNode node, String path, int n, String what) {
    if (!node.isArray() || node.size() != n) {
      throw bad(path + ": expected an array of " + n + " " + what + " (one per peer), got "
          + (node.isArray() ? node.size() + " entries" : node.getNodeType()));
    }
  }

  private static PaperParams params(JsonNode node) {
    PaperParams p = PaperParams.defaults();
    if (node == null || node.isNull()) {
      return p;
    }
    if (!node.isObject()) {
      throw bad("params: must be an object");
    }
    requireKnownFields(node, PARAM_FIELDS, "params.");
    if (node.has("tau") && node.has("inflation")) {
      throw bad("params: give either \"tau\" or \"inflation\", not both");
    }
    try {
      if (node.has("rho")) {
        p = p.withRho(number(node.get("rho"), "params.rho"));
      }
      if (node.has("kappa")) {
        p = p.withKappa(number(node.get("kappa"), "params.kappa"));
      }
      if (node.has("tau")) {
        p = p.withEmission(Emission.fixed(number(node.get("tau"), "params.tau")));
      }
      if (node.has("inflation")) {
        p = p.withEmission(Emission.inflation(number(node.get("inflation"), "params.inflation")));
      }
      if (node.has("bondShare")) {
        p = p.withBondShare(number(node.get("bondShare"), "params.bondShare"));
      }
      if (node.has("normalizeRows")) {
        p = p.withNormalizeRows(bool(node.get("normalizeRows"), "params.normalizeRows"));
      }
      if (node.has("maskSelfWeights")) {
        p = p.withMaskSelfWeights(bool(node.get("maskSelfWeights"), "params.maskSelfWeights"));
      }
    } catch (IllegalArgumentException e) {
      throw bad("params." + e.getMessage());
    }
    return p;
  }

  private static PeerVector vector(JsonNode node, String path) {
    if (!node.isArray()) {
      throw bad(path + ": must be an array of numbers");
    }
    double[] v = new double[node.size()];
    for (int i = 0; i < v.length; i++) {
      v[i] = number(node.get(i), path + "[" + i + "]");
      if (v[i] < 0) {
        throw bad(path + "[" + i + "]: must be >= 0, was " + v[i]);
      }
    }
    return PeerVector.of(v);
  }

  private static PeerMatrix matrix(JsonNode node, String path, int n) {
    try {
      if (node.isArray()) {
        return denseMatrix(node, path, n);
      }
      if (node.isObject()) {
        return sparseMatrix(node, path, n);
      }
    } catch (IllegalArgumentException e) {
      throw bad(path + ": " + e.getMessage());
    }
    throw bad(
        path
            + ": must be an array of rows, or"
            + " {\"n\":N,\"rows\":[{\"cols\":[..],\"vals\":[..]},..]}");
  }

  private static DenseMatrix denseMatrix(JsonNode node, String path, int n) {
    if (node.size() != n) {
      throw bad(path + ": expected " + n + " rows to match stake, got " + node.size());
    }
    double[][] rows = new double[n][];
    for (int i = 0; i < n; i++) {
      JsonNode row = node.get(i);
      if (!row.isArray() || row.size() != n) {
        throw bad(path + "[" + i + "]: expected an array of " + n + " numbers");
      }
      rows[i] = new double[n];
      for (int j = 0; j < n; j++) {
        rows[i][j] = nonNegative(row.get(j), path + "[" + i + "][" + j + "]");
      }
    }
    return DenseMatrix.of(rows);
  }

  private static CsrMatrix sparseMatrix(JsonNode node, String path, int n) {
    requireKnownFields(node, Set.of("n", "rows"), path + ".");
    JsonNode size = require(node, "n", path + ".");
    if (!size.isIntegralNumber() || size.asLong() != n) {
      throw bad(path + ".n: must be " + n + " to match stake, was " + size);
    }
    JsonNode rows = require(node, "rows", path + ".");
    if (!rows.isArray() || rows.size() != n) {
      throw bad(path + ".rows: expected an array of " + n + " rows, got "
          + (rows.isArray() ? rows.size() : rows.getNodeType()));
    }
    CsrMatrix.Builder builder = CsrMatrix.builder(n);
    for (int i = 0; i < n; i++) {
      String rowPath = path + ".rows[" + i + "]";
      JsonNode row = rows.get(i);
      if (!row.isObject()) {
        throw bad(rowPath + ": must be {\"cols\":[..],\"vals\":[..]}");
      }
      requireKnownFields(row, Set.of("cols", "vals"), rowPath + ".");
      JsonNode cols = require(row, "cols", rowPath + ".");
      JsonNode vals = require(row, "vals", rowPath + ".");
      if (!cols.isArray() || !vals.isArray() || cols.size() != vals.size()) {
        throw bad(rowPath + ": cols and vals must be arrays of the same length");
      }
      int[] c = new int[cols.size()];
      double[] v = new double[vals.size()];
      for (int k = 0; k < c.length; k++) {
        JsonNode col = cols.get(k);
        if (!col.isIntegralNumber() || col.asLong() < 0 || col.asLong() >= n) {
          throw bad(rowPath + ".cols[" + k + "]: must be a uid in [0, " + n + "), was " + col);
        }
        c[k] = col.asInt();
        v[k] = nonNegative(vals.get(k), rowPath + ".vals[" + k + "]");
      }
      try {
        builder.row(i, c, v);
      } catch (IllegalArgumentException e) {
        throw bad(rowPath + ": " + e.getMessage());
      }
    }
    return builder.build();
  }

  private static double nonNegative(JsonNode node, String path) {
    double v = number(node, path);
    if (v < 0) {
      throw bad(path + ": must be >= 0, was " + v);
    }
    return v;
  }

  private static double number(JsonNode node, String path) {
    if (node == null || !node.isNumber()) {
      throw bad(path + ": must be a number, was " + (node == null ? "missing" : node));
    }
    double v = node.asDouble();
    if (!Double.isFinite(v)) {
      throw bad(path + ": must be finite, was " + node);
    }
    return v;
  }

  private static boolean bool(JsonNode node, String path) {
    if (!node.isBoolean()) {
      throw bad(path + ": must be true or false, was " + node);
    }
    return node.asBoolean();
  }

  private static JsonNode require(JsonNode node, String field, String prefix) {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      throw bad(prefix + field + ": missing");
    }
    return v;
  }

  private static void requireKnownFields(JsonNode node, Set<String> known, String prefix) {
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String name = it.next();
      if (!known.contains(name)) {
        throw bad(prefix + name + ": unknown field (known: " + String.join(", ",
            new java.util.TreeSet<>(known)) + ")");
      }
    }
  }

  private static CliException bad(String message) {
    return CliException.badInput(message, null);
  }

  /** Writes an epoch result; bonds dense or sparse as asked. */
  public static void write(EpochResult r, boolean sparseBonds, OutputStream out)
      throws IOException {
    try (JsonGenerator g = MAPPER.getFactory().createGenerator(out)) {
      g.useDefaultPrettyPrinter();
      g.writeStartObject();
      writeEpoch(g, r, sparseBonds);
      g.writeEndObject();
    }
  }

  /**
   * Writes a Yuma epoch result: the fields of {@link #write}, then {@code validatorTrust},
   * {@code serverEmission}, {@code validatorEmission}, {@code validatorPermit} (for the next
   * epoch) and {@code active}.
   */
  public static void writeYuma(YumaResult r, boolean sparseBonds, OutputStream out)
      throws IOException {
    try (JsonGenerator g = MAPPER.getFactory().createGenerator(out)) {
      g.useDefaultPrettyPrinter();
      g.writeStartObject();
      writeEpoch(g, r.epoch(), sparseBonds);
      writeVector(g, "validatorTrust", r.validatorTrust());
      writeVector(g, "serverEmission", r.serverEmission());
      writeVector(g, "validatorEmission", r.validatorEmission());
      writeBooleans(g, "validatorPermit", r.validatorPermits());
      writeBooleans(g, "active", r.active());
      g.writeEndObject();
    }
  }

  private static void writeBooleans(JsonGenerator g, String name, boolean[] values)
      throws IOException {
    g.writeArrayFieldStart(name);
    for (boolean b : values) {
      g.writeBoolean(b);
    }
    g.writeEndArray();
  }

  private static void writeEpoch(JsonGenerator g, EpochResult r, boolean sparseBonds)
      throws IOException {
    writeVector(g, "ranks", r.ranks());
    writeVector(g, "trust", r.trust());
    writeVector(g, "consensus", r.consensus());
    writeVector(g, "incentive", r.incentive());
    writeVector(g, "dividends", r.dividends());
    g.writeFieldName("bonds");
    if (sparseBonds) {
      writeSparse(g, r.bonds().toCsr());
    } else {
      writeDense(g, r.bonds());
    }
    writeVector(g, "emission", r.emission());
    writeVector(g, "stake", r.stake());
    g.writeNumberField("loss", r.loss());
  }

  private static void writeVector(JsonGenerator g, String name, PeerVector v) throws IOException {
    g.writeFieldName(name);
    double[] values = v.toArray();
    g.writeArray(values, 0, values.length);
  }

  private static void writeDense(JsonGenerator g, PeerMatrix m) throws IOException {
    g.writeStartArray();
    for (double[] row : m.toArray()) {
      g.writeArray(row, 0, row.length);
    }
    g.writeEndArray();
  }

  private static void writeSparse(JsonGenerator g, CsrMatrix m) throws IOException {
    g.writeStartObject();
    g.writeNumberField("n", m.size());
    g.writeArrayFieldStart("rows");
    for (int i = 0; i < m.size(); i++) {
      g.writeStartObject();
      g.writeArrayFieldStart("cols");
      for (int k = m.rowStart(i); k < m.rowEnd(i); k++) {
        g.writeNumber(m.colAt(k));
      }
      g.writeEndArray();
      g.writeArrayFieldStart("vals");
      for (int k = m.rowStart(i); k < m.rowEnd(i); k++) {
        g.writeNumber(m.valueAt(k));
      }
      g.writeEndArray();
      g.writeEndObject();
    }
    g.writeEndArray();
    g.writeEndObject();
  }
}
