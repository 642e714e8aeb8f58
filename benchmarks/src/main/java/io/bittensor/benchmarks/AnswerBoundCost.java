package io.bittensor.benchmarks;

import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Gated;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.Tensor;
import io.bittensor.learning.Learner;
import io.bittensor.learning.NoisyTopKGate;
import io.bittensor.learning.internal.AnswerScale;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the bound on an answer's scale ({@link AnswerScale}, which {@link NoisyTopKGate} applies
 * before its join) costs, beside the step it is part of: a training forward and backward of a
 * top-2 gate over twelve peers that answer at once, in process (no transport: the gate's own
 * arithmetic alone, where the bound's share is largest), for a batch of 64 examples of 10
 * values. {@code boundAlone} bounds the 128 answer vectors that step joins. {@code answers}:
 * {@code probabilities} (RMS under 1: the bound only measures) or {@code huge} (every vector
 * divided, and every peer's gradient taken through the bound). Microseconds per operation.
 *
 * <pre>
 * java -jar benchmarks/target/benchmarks.jar AnswerBoundCost
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class AnswerBoundCost {
  private static final int PEERS = 12;
  private static final int BATCH = 64;
  private static final int IN = 32;
  private static final int DIM = 10;
  private static final Duration TIMEOUT = Duration.ofSeconds(5);

  @Param({"probabilities", "huge"})
  public String answers;

  private NoisyTopKGate gate;
  private ForwardRequest request;
  private Tensor context;
  private Tensor gradient;
  private float[] joined;
  private float[] scratch;

  /** A peer answering each row with a fixed vector, at once. */
  private static Peer fixed(float[] row) {
    return request -> {
      int rows = request.input().dim(0);
      float[] out = new float[rows * row.length];
      for (int r = 0; r < rows; r++) {
        System.arraycopy(row, 0, out, r * row.length, row.length);
      }
      return CompletableFuture.completedFuture(
          ForwardResult.success(Tensor.ofFloats(out, rows, 1, row.length)));
    };
  }

  @Setup
  public void setUp() {
    Random random = new Random(11);
    boolean huge = answers.equals("huge");
    List<Peer> peers = new ArrayList<>();
    for (int j = 0; j < PEERS; j++) {
      float[] row = new float[DIM];
      double sum = 0;
      for (int e = 0; e < DIM; e++) {
        row[e] = random.nextFloat();
        sum += row[e];
      }
      for (int e = 0; e < DIM; e++) {
        row[e] = (float) (huge ? row[e] * 1e6 : row[e] / sum);
      }
      peers.add(fixed(row));
    }
    gate = NoisyTopKGate.builder().peers(peers).k(2).contextDim(IN).outputDim(DIM).seed(12)
        .build();
    float[] x = new float[BATCH * IN];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) random.nextGaussian();
    }
    Tensor input = Tensor.ofFloats(x, BATCH, 1, IN);
    request = new ForwardRequest(Modality.TENSOR, input);
    context = Learner.flatten(input);
    float[] g = new float[BATCH * DIM];
    for (int i = 0; i < g.length; i++) {
      g[i] = (float) random.nextGaussian() * 1e-2f;
    }
    gradient = Tensor.ofFloats(g, BATCH, 1, DIM);
    // The answers one step joins: two vectors an example.
    Gated once = gate.forwardAndWait(request, context, false, TIMEOUT);
    joined = new float[BATCH * 2 * DIM];
    int o = 0;
    for (var call : once.calls()) {
      float[] sent = call.result().result().output().orElseThrow().toFloatArray();
      System.arraycopy(sent, 0, joined, o, sent.length);
      o += sent.length;
    }
    scratch = new float[joined.length];
  }

  @Benchmark
  public Object gateStep() {
    Gated g = gate.forwardAndWait(request, context, true, TIMEOUT);
    return gate.backward(g, gradient);
  }

  @Benchmark
  public float[] boundAlone() {
    System.arraycopy(joined, 0, scratch, 0, joined.length);
    return AnswerScale.bound(scratch, DIM);
  }
}
