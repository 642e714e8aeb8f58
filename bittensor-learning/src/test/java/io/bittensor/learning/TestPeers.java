package io.bittensor.learning;

import io.bittensor.core.BackwardRequest;
import io.bittensor.core.BackwardResult;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Peer;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/** Deterministic peers for the tests: a function of each row, recording what they were sent. */
final class TestPeers {
  private TestPeers() {}

  /** A peer answering {@code fn(row)} per row of a TENSOR [rows, 1, in] input. */
  static final class FnPeer implements Peer {
    final int outputDim;
    final Function<float[], float[]> fn;
    final List<Tensor> inputs = new CopyOnWriteArrayList<>();
    final List<BackwardRequest> gradients = new CopyOnWriteArrayList<>();
    volatile Status failWith;
    volatile boolean hang;
    volatile boolean badShape;

    FnPeer(int outputDim, Function<float[], float[]> fn) {
      this.outputDim = outputDim;
      this.fn = fn;
    }

    @Override
    public CompletableFuture<ForwardResult> forward(ForwardRequest request) {
      inputs.add(request.input());
      if (hang) {
        return new CompletableFuture<>();
      }
      if (failWith != null) {
        return CompletableFuture.completedFuture(ForwardResult.failure(failWith, "told to fail"));
      }
      Tensor x = request.input();
      int rows = x.dim(0) * x.dim(1); // each position of each example, on its own
      int in = x.dim(2);
      float[] all = x.toFloatArray();
      int dim = badShape ? outputDim + 1 : outputDim;
      float[] out = new float[rows * dim];
      for (int r = 0; r < rows; r++) {
        float[] y = fn.apply(java.util.Arrays.copyOfRange(all, r * in, (r + 1) * in));
        System.arraycopy(y, 0, out, r * dim, Math.min(dim, y.length));
      }
      return CompletableFuture.completedFuture(ForwardResult.success(
          Tensor.ofFloats(out, x.dim(0), x.dim(1), dim)));
    }

    @Override
    public CompletableFuture<BackwardResult> backward(BackwardRequest request) {
      gradients.add(request);
      return CompletableFuture.completedFuture(BackwardResult.success());
    }

    int rowsReceived() {
      return inputs.stream().mapToInt(t -> t.dim(0)).sum();
    }
  }

  /** A smooth random function of the row: tanh of a fixed random projection. */
  static Function<float[], float[]> projection(int in, int out, long seed) {
    Random r = new Random(seed);
    float[][] w = new float[in][out];
    for (float[] row : w) {
      for (int j = 0; j < out; j++) {
        row[j] = (float) r.nextGaussian();
      }
    }
    return x -> {
      float[] y = new float[out];
      for (int j = 0; j < out; j++) {
        double s = 0;
        for (int i = 0; i < in; i++) {
          s += x[i] * w[i][j];
        }
        y[j] = (float) Math.tanh(s);
      }
      return y;
    };
  }

  /** A random TENSOR batch [rows, 1, dim]. */
  static Tensor batch(Random r, int rows, int dim) {
    float[] x = new float[rows * dim];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) r.nextGaussian();
    }
    return Tensor.ofFloats(x, rows, 1, dim);
  }
}
