package io.bittensor.onnx;

import java.io.IOException;

/**
 * A model could not be used: the file is missing, truncated or not ONNX, ONNX Runtime refused it,
 * or its inputs and outputs do not fit the adapter asked for. The message names the file and, for
 * a mismatch, the input or output at fault with what was expected and what the model declares.
 *
 * <pre>{@code
 * Path path = Path.of("model.onnx");
 * try (OnnxPeer peer = OnnxPeer.builder().model(path).modality(Modality.TEXT).build()) {
 *   ...
 * } catch (OnnxModelException e) {
 *   System.err.println("cannot serve " + path + ": " + e.getMessage());
 * }
 * }</pre>
 *
 * <p>An {@code OrtException} from ONNX Runtime is kept as the cause.
 */
public class OnnxModelException extends IOException {
  private static final long serialVersionUID = 1L;

  /**
   * A model failure.
   *
   * @param message what is wrong, naming the model and the input or output at fault
   * @param cause the underlying exception, or null
   */
  public OnnxModelException(String message, Throwable cause) {
    super(message, cause);
  }

  /** A model failure with no underlying exception. */
  public OnnxModelException(String message) {
    super(message);
  }
}
