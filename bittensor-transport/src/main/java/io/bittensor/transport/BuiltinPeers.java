package io.bittensor.transport;

import io.bittensor.core.BackwardRequest;
import io.bittensor.core.BackwardResult;
import io.bittensor.core.DType;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Peer;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Peers with no model behind them: for {@code bittensor peer serve}, tests and benchmarks.
 *
 * <pre>{@code
 * Peer p = BuiltinPeers.deterministic(64);   // same input, same answer, on every machine
 * Peer e = BuiltinPeers.echo();              // answers a TENSOR input with itself
 * }</pre>
 *
 * <p>Both are thread-safe and answer on the calling thread.
 */
public final class BuiltinPeers {
  private BuiltinPeers() {}

  /**
   * A peer whose answer depends only on its input: for every position {@code (b, s)}, the
   * {@code outputDim} values are a fixed hash of that position's input bytes spread over
   * {@code [-1, 1)}. Accepts every modality and element type; takes gradients and counts them.
   *
   * @throws IllegalArgumentException if {@code outputDim < 1}
   */
  public static Deterministic deterministic(int outputDim) {
    if (outputDim < 1) {
      throw new IllegalArgumentException("outputDim must be >= 1, was " + outputDim);
    }
    return new Deterministic(outputDim);
  }

  /**
   * A peer that answers with its input, unchanged and uncopied: for TENSOR inputs
   * {@code [batch, sequence, dim]} it meets the standard with {@code outputDim = dim}. It
   * measures the transport alone, with no model time.
   */
  public static Peer echo() {
    return request -> CompletableFuture.completedFuture(ForwardResult.success(request.input()));
  }

  /** The peer of {@link #deterministic(int)}. Thread-safe. */
  public static final class Deterministic implements Peer {
    /** The most bytes an answer may have: what one tensor holds. */
    private static final long MAX_ANSWER_BYTES = Tensor.MAX_BYTES;
    private final int outputDim;
    private final AtomicLong gradients = new AtomicLong();

    private Deterministic(int outputDim) {
      this.outputDim = outputDim;
    }

    /** The answer, or PAYLOAD_TOO_LARGE for an input whose answer a tensor cannot hold. */
    @Override
    public CompletableFuture<ForwardResult> forward(ForwardRequest request) {
      String tooLarge = tooLarge(request.input());
      return CompletableFuture.completedFuture(tooLarge != null
          ? ForwardResult.failure(Status.PAYLOAD_TOO_LARGE, tooLarge)
          : ForwardResult.success(answer(request.input())));
    }

    /** Why the answer to {@code input} would be too large for a tensor, or null. */
    private String tooLarge(Tensor input) {
      if (input.rank() < 2) {
        return null; // answer() says what is wrong
      }
      long bytes = 4L * input.dim(0) * input.dim(1) * outputDim;
      return bytes <= MAX_ANSWER_BYTES ? null : "the answer to an input of [" + input.dim(0)
          + ", " + input.dim(1) + "] at " + outputDim + " floats a position would have " + bytes
          + " bytes, more than a tensor holds (" + MAX_ANSWER_BYTES + ")";
    }

    @Override
    public CompletableFuture<BackwardResult> backward(BackwardRequest request) {
      gradients.incrementAndGet();
      return CompletableFuture.completedFuture(BackwardResult.success());
    }

    /** How many gradients this peer has taken. */
    public long gradientsTaken() {
      return gradients.get();
    }

    /**
     * The answer to {@code input}, computed directly.
     *
     * @throws IllegalArgumentException if the input's rank is below 2, or the answer would be
     *     too large for a tensor (2^31 - 9 bytes)
     */
    public Tensor answer(Tensor input) {
      if (input.rank() < 2) {
        throw new IllegalArgumentException("an input is at least [batch, sequence]");
      }
      String tooLarge = tooLarge(input);
      if (tooLarge != null) {
        throw new IllegalArgumentException(tooLarge);
      }
      int batch = input.dim(0);
      int seq = input.dim(1);
      int positions = batch * seq;
      int bytesPer = positions == 0 ? 0 : input.byteSize() / positions;
      ByteBuffer in = input.data();
      ByteBuffer out = ByteBuffer.allocate(positions * outputDim * 4)
          .order(ByteOrder.LITTLE_ENDIAN);
      FloatBuffer floats = out.asFloatBuffer();
      for (int p = 0; p < positions; p++) {
        long h = 0x9E3779B97F4A7C15L ^ input.dtype().code();
        for (int i = p * bytesPer, end = i + bytesPer; i < end; i++) {
          h = mix(h ^ in.get(i));
        }
        for (int k = 0; k < outputDim; k++) {
          long v = mix(h + k * 0xD1B54A32D192ED03L);
          floats.put((float) ((v >>> 40) * 0x1.0p-23 - 1.0)); // 24 bits over [-1, 1)
        }
      }
      return Tensor.wrap(DType.FLOAT32, out, batch, seq, outputDim);
    }

    private static long mix(long z) {
      z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
      z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
      return z ^ (z >>> 31);
    }
  }
}
