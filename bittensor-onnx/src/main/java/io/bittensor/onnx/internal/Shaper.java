package io.bittensor.onnx.internal;

import io.bittensor.core.DType;
import io.bittensor.core.Tensor;
import io.bittensor.onnx.OutputAdapter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Random;

/**
 * Turns rows of model features into the standard's {@code [batch, sequence, outputDim]}: L2
 * normalisation, then padding/truncation or the seeded projection. Thread-safe.
 */
public final class Shaper {
  /** The most projections kept: a model's output width may follow the caller's input. */
  private static final int MAX_PROJECTIONS = 16;
  /** The most floats of projections kept (256 MiB), for the same reason. */
  private static final long MAX_KEPT_FLOATS = 1L << 26;
  /**
   * The most floats of one projection (256 MiB, what the shaper keeps in all): a wider row,
   * whose width a caller may pick, is refused before its matrix is drawn.
   */
  public static final long MAX_PROJECTION_FLOATS = 1L << 26;

  /** A row too wide to project: the requests that made it fail, PAYLOAD_TOO_LARGE. */
  public static final class ProjectionTooLarge extends RuntimeException {
    ProjectionTooLarge(String message) {
      super(message, null, false, false);
    }
  }

  private final OutputAdapter adapter;
  private final int outputDim;
  private final long maxKeptFloats;
  /** Projections by input width, least recently used first; guarded by itself. */
  private final LinkedHashMap<Integer, float[]> projections = new LinkedHashMap<>(16, 0.75f, true);
  /** Floats in {@link #projections}; guarded by it. */
  private long keptFloats;

  /** A shaper for {@code outputDim >= 1}. */
  public Shaper(OutputAdapter adapter, int outputDim) {
    this(adapter, outputDim, MAX_KEPT_FLOATS);
  }

  /** A shaper keeping at most {@code maxKeptFloats} floats of projections (for tests). */
  public Shaper(OutputAdapter adapter, int outputDim, long maxKeptFloats) {
    if (outputDim < 1) {
      throw new IllegalArgumentException("outputDim must be >= 1, was " + outputDim);
    }
    this.adapter = adapter;
    this.outputDim = outputDim;
    this.maxKeptFloats = maxKeptFloats;
  }

  public int outputDim() {
    return outputDim;
  }

  /** How many projections are kept now (for tests). */
  public int projectionsKept() {
    synchronized (projections) {
      return projections.size();
    }
  }

  /**
   * The answer for one request.
   *
   * @param rows the source rows, {@code features} floats each; read by absolute index, not modified
   * @param firstRow the request's first row in {@code rows}
   * @param batch the request's batch
   * @param sequence the request's sequence
   * @param features floats per row
   * @param repeat true when there is one row per batch item, repeated at every sequence position;
   *     false when there is one row per position
   */
  public Tensor answer(
      FloatBuffer rows, int firstRow, int batch, int sequence, int features, boolean repeat) {
    ByteBuffer out = ByteBuffer.allocate(Math.multiplyExact(batch * sequence, outputDim * 4))
        .order(ByteOrder.LITTLE_ENDIAN);
    FloatBuffer dst = out.asFloatBuffer();
    float[] row = new float[features];
    float[] fitted = new float[outputDim];
    float[] p = adapter.fit() == OutputAdapter.Fit.PROJECT ? projection(features) : null;
    int sourceRows = repeat ? batch : batch * sequence;
    for (int r = 0; r < sourceRows; r++) {
      rows.get((firstRow + r) * features, row, 0, features);
      fit(row, p, fitted);
      int copies = repeat ? sequence : 1;
      for (int c = 0; c < copies; c++) {
        dst.put(fitted);
      }
    }
    return Tensor.wrap(DType.FLOAT32, out, batch, sequence, outputDim);
  }

  /**
   * Normalises (if asked) and fits {@code row} into {@code out} with projection {@code p} (null
   * unless projecting); {@code row} may be modified.
   */
  void fit(float[] row, float[] p, float[] out) {
    if (adapter.l2Normalize()) {
      l2Normalize(row);
    }
    if (adapter.fit() == OutputAdapter.Fit.PAD_OR_TRUNCATE) {
      int n = Math.min(row.length, out.length);
      System.arraycopy(row, 0, out, 0, n);
      java.util.Arrays.fill(out, n, out.length, 0f);
    } else {
      project(row, p, out);
    }
  }

  /** Scales {@code v} in place to unit Euclidean length; a zero vector stays zero. */
  public static void l2Normalize(float[] v) {
    double sum = 0;
    for (float x : v) {
      sum += (double) x * x;
    }
    if (sum > 0) {
      float inv = (float) (1.0 / Math.sqrt(sum));
      for (int i = 0; i < v.length; i++) {
        v[i] *= inv;
      }
    }
  }

  /** {@code out = row x P}, P row-major {@code [row.length, out.length]}. */
  static void project(float[] row, float[] p, float[] out) {
    int m = out.length;
    java.util.Arrays.fill(out, 0f);
    for (int i = 0; i < row.length; i++) {
      float x = row[i];
      if (x == 0f) {
        continue;
      }
      int base = i * m;
      for (int j = 0; j < m; j++) {
        out[j] += x * p[base + j];
      }
    }
  }

  /**
   * The fixed projection from {@code features}, kept for the sizes used most recently.
   *
   * @throws ProjectionTooLarge past {@link #MAX_PROJECTION_FLOATS}, before drawing it
   */
  float[] projection(int features) {
    long floats = (long) features * outputDim;
    if (floats > MAX_PROJECTION_FLOATS) {
      throw new ProjectionTooLarge("the model's rows of " + features + " features projected to"
          + " outputDim " + outputDim + " need a matrix of " + floats + " floats, more than "
          + MAX_PROJECTION_FLOATS + "; send fewer features per row, or serve the model with"
          + " Fit.PAD_OR_TRUNCATE or a smaller outputDim");
    }
    synchronized (projections) {
      float[] p = projections.get(features);
      if (p != null) {
        return p;
      }
    }
    // Made outside the lock: other workers' rows of other widths need not wait for it.
    float[] p = projectionMatrix(features, outputDim, adapter.seed());
    synchronized (projections) {
      if (p.length <= maxKeptFloats && projections.putIfAbsent(features, p) == null) {
        keptFloats += p.length;
        // Least recently used first; never p, the last, which alone fits.
        Iterator<float[]> eldest = projections.values().iterator();
        while (projections.size() > MAX_PROJECTIONS || keptFloats > maxKeptFloats) {
          keptFloats -= eldest.next().length;
          eldest.remove();
        }
      }
    }
    return p;
  }

  /**
   * The {@code [in, out]} projection: Gaussian entries of variance {@code 1/out} drawn row by row
   * from {@code java.util.Random(seed)}, whose algorithm the JDK specifies, so every JVM draws the
   * same matrix.
   */
  public static float[] projectionMatrix(int in, int out, long seed) {
    Random random = new Random(seed);
    float[] p = new float[Math.multiplyExact(in, out)];
    double scale = 1.0 / Math.sqrt(out);
    for (int i = 0; i < p.length; i++) {
      p[i] = (float) (random.nextGaussian() * scale);
    }
    return p;
  }
}
