package io.bittensor.benchmarks;

import io.bittensor.core.DType;
import io.bittensor.core.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Random;
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
 * The NaN/Inf scan that the tensor standard runs on every request and answer
 * ({@link Tensor#firstNonFinite()}), over a 1 MiB float32 tensor, beside the loop a user would
 * write ({@code Float.isFinite} over the tensor's float view). Before the benchmark, both scan a
 * heap, a read-only and a direct tensor, as a serving JVM does (protobuf, ONNX Runtime and our own
 * code make different buffers), so the JIT sees every buffer class at both call sites.
 * Scores are microseconds per scan.
 *
 * <pre>
 * java -jar benchmarks/target/benchmarks.jar NonFiniteScanBenchmark
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class NonFiniteScanBenchmark {
  private static final int ELEMENTS = 1 << 18; // 1 MiB of float32

  /** The buffer behind the scanned tensor. */
  @Param({"heap", "read-only", "direct"})
  public String buffer;

  private Tensor tensor;

  @Setup
  public void polluteAndPick() {
    Tensor heap = TransportBenchmark.randomTensor(new int[] {ELEMENTS}, new Random(5));
    ByteBuffer direct = ByteBuffer.allocateDirect(4 * ELEMENTS).order(ByteOrder.LITTLE_ENDIAN);
    direct.put(heap.data());
    Tensor[] kinds = {heap, Tensor.wrap(DType.FLOAT32, heap.data(), ELEMENTS),
        Tensor.wrap(DType.FLOAT32, direct.flip(), ELEMENTS)};
    for (int round = 0; round < 200; round++) {
      for (Tensor t : kinds) {
        if (t.firstNonFinite() != -1 || plain(t) != -1) {
          throw new IllegalStateException("the random tensor holds a NaN");
        }
      }
    }
    tensor = kinds[switch (buffer) {
      case "heap" -> 0;
      case "read-only" -> 1;
      default -> 2;
    }];
  }

  @Benchmark
  public int ours() {
    return tensor.firstNonFinite();
  }

  @Benchmark
  public int plainLoop() {
    return plain(tensor);
  }

  private static int plain(Tensor t) {
    FloatBuffer f = t.data().asFloatBuffer();
    for (int i = 0; i < f.limit(); i++) {
      if (!Float.isFinite(f.get(i))) {
        return i;
      }
    }
    return -1;
  }
}
