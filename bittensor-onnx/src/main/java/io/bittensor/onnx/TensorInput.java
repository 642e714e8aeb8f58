package io.bittensor.onnx;

import io.bittensor.core.Modality;
import java.util.Objects;

/**
 * TENSOR input: features {@code [batch, sequence, inputDim]} FLOAT32 passed to the model as they
 * are: as {@code [batch, sequence, inputDim]} to a rank-3 model input, or flattened to {@code
 * [batch * sequence, inputDim]} for a rank-2 one (a multi-layer perceptron's usual shape).
 *
 * <pre>{@code
 * Path mlpFile = Path.of("mlp.onnx");
 * OnnxPeer peer = OnnxPeer.builder().model(mlpFile).input(TensorInput.passThrough())
 *     .outputDim(64).build();
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 *
 * @param inputName the model input; empty for the model's only input not given as a constant
 */
public record TensorInput(String inputName) implements InputAdapter {
  /** Refuses null. */
  public TensorInput {
    Objects.requireNonNull(inputName, "inputName");
  }

  /** The model's only input, fed as is. */
  public static TensorInput passThrough() {
    return new TensorInput("");
  }

  /** {@link Modality#TENSOR}. */
  @Override
  public Modality modality() {
    return Modality.TENSOR;
  }
}
