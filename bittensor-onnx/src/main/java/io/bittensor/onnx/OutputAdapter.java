package io.bittensor.onnx;

import java.util.Objects;

/**
 * How a model's output becomes the network's answer {@code [batch, sequence, outputDim]} float32:
 * which output to take, whether to pool a per-token sequence, and how to fit the model's feature
 * size to {@code outputDim}.
 *
 * <pre>{@code
 * // MiniLM sentence embeddings: mean over real tokens, L2-normalised, projected to 512
 * OutputAdapter out = OutputAdapter.first().withPooling(OutputAdapter.Pooling.MEAN)
 *     .withL2Normalize(true).withFit(OutputAdapter.Fit.PROJECT);
 * }</pre>
 *
 * <p>Shapes. A model output {@code [N, features...]} for a model batch of {@code N} pictures,
 * frames or rows gives one row per input position (trailing dimensions flattened). A TEXT model's
 * {@code [N, tokens, hidden]} gives one row per token ({@link Pooling#NONE}), or one pooled row
 * repeated at every position of the request's sequence ({@link Pooling#MEAN}, {@link
 * Pooling#FIRST}), so that the answer keeps the standard's shape. A TEXT model's {@code [N,
 * hidden]}, or a rank-3 TENSOR model's {@code [N, features]}, is one row per sequence, pooled by
 * the model, and is likewise repeated at every position.
 *
 * <p>Fitting, per row of {@code d} features to {@code outputDim}: {@link Fit#PAD_OR_TRUNCATE}
 * keeps the first {@code min(d, outputDim)} features and pads with zeros; {@link Fit#PROJECT}
 * multiplies by a fixed {@code d x outputDim} matrix of Gaussian entries with variance {@code
 * 1/outputDim}, drawn from {@code java.util.Random(seed)} row by row (the same on every JVM),
 * which keeps distances and inner products in expectation (Johnson-Lindenstrauss); a matrix of
 * more than 2^26 floats is refused, and the requests that need it fail as {@code
 * PAYLOAD_TOO_LARGE}. Normalisation applies before fitting.
 *
 * <p>Immutable and thread-safe.
 *
 * @param outputName the model output to answer with; empty for the model's first
 * @param pooling how a TEXT sequence is pooled
 * @param l2Normalize scale each row to unit Euclidean length (rows of zeros stay zero)
 * @param fit how features are fitted to {@code outputDim}
 * @param seed the projection's seed (used by {@link Fit#PROJECT} only)
 */
public record OutputAdapter(
    String outputName, Pooling pooling, boolean l2Normalize, Fit fit, long seed) {
  /** Pooling of a TEXT model's per-token output. */
  public enum Pooling {
    /** One row per token. */
    NONE,
    /** The mean over tokens that are not padding. */
    MEAN,
    /** The first token's row (BERT's [CLS]). */
    FIRST
  }

  /** Fitting a row of features to {@code outputDim}. */
  public enum Fit {
    /** Keep the first features, pad with zeros. */
    PAD_OR_TRUNCATE,
    /** A fixed seeded Gaussian random projection. */
    PROJECT
  }

  /** The projection seed used unless another is given. */
  public static final long DEFAULT_SEED = 0x6269_7474_656eL;

  /** Refuses nulls. */
  public OutputAdapter {
    Objects.requireNonNull(outputName, "outputName");
    Objects.requireNonNull(pooling, "pooling");
    Objects.requireNonNull(fit, "fit");
  }

  /** The first output, no pooling, no normalisation, padded or truncated. */
  public static OutputAdapter first() {
    return new OutputAdapter("", Pooling.NONE, false, Fit.PAD_OR_TRUNCATE, DEFAULT_SEED);
  }

  /** The named output, no pooling, no normalisation, padded or truncated. */
  public static OutputAdapter named(String outputName) {
    return new OutputAdapter(outputName, Pooling.NONE, false, Fit.PAD_OR_TRUNCATE, DEFAULT_SEED);
  }

  /** This adapter with another pooling. */
  public OutputAdapter withPooling(Pooling pooling) {
    return new OutputAdapter(outputName, pooling, l2Normalize, fit, seed);
  }

  /** This adapter with or without L2 normalisation. */
  public OutputAdapter withL2Normalize(boolean normalize) {
    return new OutputAdapter(outputName, pooling, normalize, fit, seed);
  }

  /** This adapter with another fit. */
  public OutputAdapter withFit(Fit fit) {
    return new OutputAdapter(outputName, pooling, l2Normalize, fit, seed);
  }

  /** This adapter projecting with {@link Fit#PROJECT} from {@code seed}. */
  public OutputAdapter withProjection(long seed) {
    return new OutputAdapter(outputName, pooling, l2Normalize, Fit.PROJECT, seed);
  }
}
