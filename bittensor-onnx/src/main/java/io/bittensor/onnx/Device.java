package io.bittensor.onnx;

/**
 * Where a model runs: the CPU, or one CUDA device.
 *
 * <pre>{@code
 * Path path = Path.of("model.onnx");
 * OnnxPeer peer = OnnxPeer.builder().model(path).modality(Modality.TENSOR).outputDim(64)
 *     .device(Device.cuda(0))       // asked for
 *     .build();
 * Device used = peer.device();      // Device.cpu() when CUDA could not be loaded
 * }</pre>
 *
 * <p>Asking for CUDA is a request, not a promise: when the CUDA execution provider cannot be
 * loaded (the CPU build of ONNX Runtime, no driver, no device) the peer falls back to the CPU,
 * logs one warning, and {@link OnnxPeer#device()} says so. Immutable and thread-safe.
 *
 * @param kind CPU or CUDA
 * @param index the CUDA device number, {@code >= 0}; 0 for the CPU
 */
public record Device(Kind kind, int index) {
  /** The kinds of device. */
  public enum Kind {
    /** ONNX Runtime's default CPU execution provider. */
    CPU,
    /** NVIDIA CUDA, through the {@code onnxruntime_gpu} artifact (the {@code cuda} profile). */
    CUDA
  }

  private static final Device CPU = new Device(Kind.CPU, 0);

  /** Checks the kind and index; the CPU has index 0. */
  public Device {
    if (kind == null) {
      throw new NullPointerException("kind");
    }
    if (index < 0 || (kind == Kind.CPU && index != 0)) {
      throw new IllegalArgumentException(
          "device index must be >= 0 (and 0 for the CPU), was " + kind + " " + index);
    }
  }

  /** The CPU. */
  public static Device cpu() {
    return CPU;
  }

  /**
   * CUDA device number {@code index}.
   *
   * @throws IllegalArgumentException if {@code index < 0}
   */
  public static Device cuda(int index) {
    return new Device(Kind.CUDA, index);
  }

  /**
   * Parses {@code cpu}, {@code cuda} (device 0) or {@code cuda:N}, case-insensitively, e.g. from a
   * command-line option.
   *
   * @throws IllegalArgumentException naming the text when it is none of these
   */
  public static Device parse(String text) {
    String t = text.trim().toLowerCase(java.util.Locale.ROOT);
    if (t.equals("cpu")) {
      return CPU;
    }
    if (t.equals("cuda")) {
      return cuda(0);
    }
    if (t.startsWith("cuda:")) {
      try {
        return cuda(Integer.parseInt(t.substring(5)));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "device must be cpu, cuda or cuda:N, was \"" + text + "\"", e);
      }
    }
    throw new IllegalArgumentException("device must be cpu, cuda or cuda:N, was \"" + text + "\"");
  }

  /** {@code cpu} or {@code cuda:N}, as {@link #parse} reads it. */
  @Override
  public String toString() {
    return kind == Kind.CPU ? "cpu" : "cuda:" + index;
  }
}
