package io.bittensor.onnx;

import io.bittensor.core.Modality;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * SPEECH input: float samples {@code [batch, sequence, frameSize]}, one frame per sequence step,
 * fed to a model input {@code [N, contextSize + frameSize]}: each frame is preceded by the last
 * {@code contextSize} samples of the frame before it (zeros before the first). Where the model
 * carries recurrent state (an input and the output that updates it), the steps of a request run
 * in order and the state flows from each step to the next, starting from zeros; otherwise every
 * frame of the batch runs in one call.
 *
 * <pre>{@code
 * // Silero VAD v5: 512-sample frames at 16 kHz with 64 samples of context, state -> stateN
 * SpeechInput vad = SpeechInput.frames(512).withContext(64).withState("state", "stateN");
 * OnnxPeer peer = OnnxPeer.builder().model(Path.of("silero_vad.onnx")).input(vad)
 *     .constantInput("sr", Tensor.ofLongs(new long[] {16000})).outputDim(1).build();
 * }</pre>
 *
 * <p>The state's shape comes from the model: its one dynamic dimension is the batch. Immutable
 * and thread-safe.
 *
 * @param inputName the model input for the samples; empty for the model's only float input that
 *     is neither state nor constant
 * @param frameSize samples per step, {@code >= 1}; 0 to accept any (only without context or state)
 * @param contextSize samples of the previous frame prepended to each, {@code >= 0}
 * @param state model input name to the output name that updates it (unmodifiable, ordered)
 */
public record SpeechInput(
    String inputName, int frameSize, int contextSize, Map<String, String> state)
    implements InputAdapter {
  /** Checks sizes; copies the state map keeping its order. */
  public SpeechInput {
    Objects.requireNonNull(inputName, "inputName");
    if (frameSize < 0 || contextSize < 0) {
      throw new IllegalArgumentException(
          "frameSize and contextSize must be >= 0, were " + frameSize + " and " + contextSize);
    }
    state = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(state));
    if (frameSize == 0 && (contextSize > 0 || !state.isEmpty())) {
      throw new IllegalArgumentException("context and state need a fixed frameSize (>= 1), was 0");
    }
  }

  /** Any number of samples per step, no context, no state: the model sees each step whole. */
  public static SpeechInput samples() {
    return new SpeechInput("", 0, 0, Map.of());
  }

  /**
   * Frames of {@code frameSize} samples.
   *
   * @throws IllegalArgumentException if {@code frameSize < 1}
   */
  public static SpeechInput frames(int frameSize) {
    if (frameSize < 1) {
      throw new IllegalArgumentException("frameSize must be >= 1, was " + frameSize);
    }
    return new SpeechInput("", frameSize, 0, Map.of());
  }

  /** This adapter with {@code samples} of context before each frame. */
  public SpeechInput withContext(int samples) {
    return new SpeechInput(inputName, frameSize, samples, state);
  }

  /** This adapter carrying state from model output {@code output} to input {@code input}. */
  public SpeechInput withState(String input, String output) {
    Map<String, String> s = new LinkedHashMap<>(state);
    s.put(Objects.requireNonNull(input, "input"), Objects.requireNonNull(output, "output"));
    return new SpeechInput(inputName, frameSize, contextSize, s);
  }

  /** This adapter feeding the model input {@code name}. */
  public SpeechInput withInputName(String name) {
    return new SpeechInput(name, frameSize, contextSize, state);
  }

  /** {@link Modality#SPEECH}. */
  @Override
  public Modality modality() {
    return Modality.SPEECH;
  }
}
