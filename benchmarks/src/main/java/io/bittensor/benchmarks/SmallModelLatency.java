package io.bittensor.benchmarks;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Tensor;
import io.bittensor.onnx.Mlp;
import io.bittensor.onnx.OnnxExport;
import io.bittensor.onnx.OnnxPeer;
import io.bittensor.onnx.TensorInput;
import java.nio.FloatBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * The latency of a small model (784 -> 64 -> 10, the size of the learning market's distilled
 * student) called one request at a time, three ways in one JVM: a bare ONNX Runtime session
 * ({@code OrtSession.run}, what a user would write without us), {@code OnnxPeer.forward(request,
 * timeout).join()} (a worker thread runs the model) and {@code OnnxPeer.forwardAndWait} (the
 * calling thread runs it when the peer is idle). The three alternate in blocks of 200 calls over
 * several rounds, so that each runs warm and all meet the same machine; it prints the median of
 * each per batch size, and the ratios to the bare session.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar
 * io.bittensor.benchmarks.SmallModelLatency [rounds]} (default 10).
 */
public final class SmallModelLatency {
  private static final int BLOCK = 200;

  private SmallModelLatency() {}

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    Mlp mlp = Mlp.random(new int[] {784, 64, 10}, Mlp.Activation.RELU, 1);
    byte[] model = OnnxExport.toBytes(mlp, OnnxExport.Options.defaults());
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    OrtSession.SessionOptions options = new OrtSession.SessionOptions();
    options.setIntraOpNumThreads(1);
    options.setInterOpNumThreads(1);
    options.addConfigEntry("session.intra_op.allow_spinning", "0");
    Duration timeout = Duration.ofSeconds(5);
    System.out.printf(Locale.ROOT, "# %s %s, %d cores, %d rounds of %d calls per way%n",
        System.getProperty("java.vm.name"), System.getProperty("java.version"),
        Runtime.getRuntime().availableProcessors(), rounds, BLOCK);
    try (OrtSession bare = env.createSession(model, options);
        OnnxPeer peer = OnnxPeer.builder().model(model).input(TensorInput.passThrough())
            .intraOpThreads(1).interOpThreads(1).spinning(false).maxBatch(256).build()) {
      String input = bare.getInputNames().iterator().next();
      Random random = new Random(7);
      for (int batch : new int[] {1, 64}) {
        float[] pixels = new float[batch * 784];
        for (int i = 0; i < pixels.length; i++) {
          pixels[i] = random.nextFloat();
        }
        ForwardRequest request = new ForwardRequest(Modality.TENSOR,
            Tensor.ofFloats(pixels, batch, 1, 784));
        long[] shape = {batch, 784};
        long[][] times = new long[3][rounds * BLOCK];
        for (int r = -1; r < rounds; r++) { // round -1 warms every way up
          for (int way = 0; way < 3; way++) {
            for (int i = 0; i < BLOCK; i++) {
              long t0 = System.nanoTime();
              switch (way) {
                case 0 -> {
                  try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(pixels), shape);
                      OrtSession.Result out = bare.run(Map.of(input, x))) {
                    if (out.size() != 1) {
                      throw new IllegalStateException("one output expected");
                    }
                  }
                }
                case 1 -> check(peer.forward(request, timeout).join());
                default -> check(peer.forwardAndWait(request, timeout));
              }
              long t = System.nanoTime() - t0;
              if (r >= 0) {
                times[way][r * BLOCK + i] = t;
              }
            }
          }
        }
        double bareUs = median(times[0]);
        double queuedUs = median(times[1]);
        double hereUs = median(times[2]);
        System.out.printf(
            Locale.ROOT,
            "batch %2d: bare session %.1f us, forward(timeout).join() %.1f us"
                + " (%.2fx bare), forwardAndWait %.1f us (%.2fx bare; %.2fx forward)%n",
            batch,
            bareUs,
            queuedUs,
            queuedUs / bareUs,
            hereUs,
            hereUs / bareUs,
            hereUs / queuedUs);
      }
    }
  }

  private static void check(ForwardResult r) {
    if (!r.isSuccess()) {
      throw new IllegalStateException("the peer failed: " + r);
    }
  }

  private static double median(long[] ns) {
    long[] s = ns.clone();
    Arrays.sort(s);
    return s[s.length / 2] / 1e3;
  }
}
