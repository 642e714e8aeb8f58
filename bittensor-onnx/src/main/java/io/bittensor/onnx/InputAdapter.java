package io.bittensor.onnx;

import io.bittensor.core.Modality;

/**
 * How a request's input, in the network's layout for its {@link Modality}, becomes a model's
 * inputs. One implementation per modality: {@link TextInput}, {@link ImageInput}, {@link
 * SpeechInput}, {@link TensorInput}; each is a small immutable record with "with" methods.
 *
 * <pre>{@code
 * InputAdapter text = TextInput.bert().withMaxLength(256);
 * InputAdapter image = ImageInput.of(3, 48, 192).withNormalization(
 *     new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.5f, 0.5f, 0.5f});
 * OnnxPeer.builder().model(Path.of("ocr.onnx")).input(image).outputDim(64);
 * }</pre>
 *
 * <p>When a peer is built the adapter is checked against the model's declared inputs; a model
 * input that the adapter does not feed must be given with {@link
 * OnnxPeer.Builder#constantInput}, or the build fails naming it.
 *
 * <p>Implementations are immutable and thread-safe.
 */
public sealed interface InputAdapter permits TextInput, ImageInput, SpeechInput, TensorInput {
  /** The modality whose inputs this adapter takes. */
  Modality modality();

  /** The default adapter for {@code modality}, as {@link OnnxPeer.Builder#modality} picks it. */
  static InputAdapter defaultFor(Modality modality) {
    return switch (modality) {
      case TEXT -> TextInput.bert();
      case IMAGE -> ImageInput.any();
      case SPEECH -> SpeechInput.samples();
      case TENSOR -> TensorInput.passThrough();
    };
  }
}
