package io.bittensor.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import java.nio.FloatBuffer;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Silero VAD v5 as a SPEECH peer on the fixture recording (1 s silence, a sentence, 1 s silence). */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SileroVadPeerTest {
  private static final int FRAME = 512;
  private static final int CONTEXT = 64;
  private static OnnxPeer vad;
  private static float[] samples;
  private static int frames;

  @BeforeAll
  static void load() throws Exception {
    vad = OnnxPeer.builder()
        .model(TestModels.resource(TestModels.VAD))
        .input(SpeechInput.frames(FRAME).withContext(CONTEXT).withState("state", "stateN"))
        .constantInput("sr", Tensor.ofLongs(new long[] {16000}))
        .outputDim(1)
        .intraOpThreads(1)
        .build();
    samples = TestModels.wavSamples(TestModels.resource(TestModels.WAV));
    frames = samples.length / FRAME;
  }

  @AfterAll
  static void close() {
    vad.close();
  }

  private static Tensor recording() {
    float[] x = new float[frames * FRAME];
    System.arraycopy(samples, 0, x, 0, x.length);
    return Tensor.ofFloats(x, 1, frames, FRAME);
  }

  private static float[] probabilities(ForwardResult r) {
    assertTrue(r.isSuccess(), r::toString);
    Tensor y = r.output().orElseThrow();
    assertArrayEquals(new int[] {1, frames, 1}, y.shape());
    return y.toFloatArray();
  }

  @Test
  void tellsSpeechFramesFromSilence() {
    float[] p = probabilities(TestModels.forward(vad, Modality.SPEECH, recording()));
    int second = 16000 / FRAME; // frames per second, 31
    float silenceMax = 0;
    for (int i = 0; i < (int) (0.8 * second); i++) {
      silenceMax = Math.max(silenceMax, p[i]);
    }
    for (int i = frames - (int) (0.6 * second); i < frames; i++) {
      silenceMax = Math.max(silenceMax, p[i]);
    }
    int speech = 0;
    for (int i = second + 3; i < frames - second - 3; i++) {
      speech += p[i] > 0.5 ? 1 : 0;
    }
    int middle = frames - 2 * second - 6;
    assertTrue(silenceMax < 0.3, "silent frames scored up to " + silenceMax);
    assertTrue(speech > middle / 2, speech + " of " + middle + " frames in the sentence scored as speech");
  }

  /** The peer's frames, context and carried state equal a hand-written loop over the session. */
  @Test
  void carriesStateLikeADirectSessionLoop() throws Exception {
    float[] ours = probabilities(TestModels.forward(vad, Modality.SPEECH, recording()));
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
      o.setIntraOpNumThreads(1);
      try (OrtSession s = env.createSession(TestModels.resource(TestModels.VAD), o);
          OnnxTensor sr = OnnxTensor.createTensor(env, 16000L)) {
        float[][][] state = new float[2][1][128];
        for (int f = 0; f < frames; f++) {
          float[][] window = new float[1][CONTEXT + FRAME];
          for (int k = 0; k < CONTEXT + FRAME; k++) {
            int i = f * FRAME - CONTEXT + k;
            window[0][k] = i >= 0 ? samples[i] : 0f;
          }
          try (OnnxTensor x = OnnxTensor.createTensor(env, window);
              OnnxTensor st = OnnxTensor.createTensor(env, state);
              OrtSession.Result r = s.run(Map.of("input", x, "state", st, "sr", sr))) {
            float p = ((float[][]) r.get("output").orElseThrow().getValue())[0][0];
            assertEquals(p, ours[f], 1e-5, "frame " + f);
            FloatBuffer next = ((OnnxTensor) r.get("stateN").orElseThrow()).getFloatBuffer();
            for (int a = 0; a < 2; a++) {
              next.get(state[a][0]);
            }
          }
        }
      }
    }
  }

  @Test
  void requestsRunTogetherKeepTheirOwnState() {
    Tensor speech = recording();
    Tensor silence = Tensor.zeros(io.bittensor.core.DType.FLOAT32, 1, frames, FRAME);
    float[] alone = probabilities(TestModels.forward(vad, Modality.SPEECH, speech));
    CompletableFuture<ForwardResult> a = vad.forward(new ForwardRequest(Modality.SPEECH, speech));
    CompletableFuture<ForwardResult> b = vad.forward(new ForwardRequest(Modality.SPEECH, silence));
    CompletableFuture<ForwardResult> c = vad.forward(new ForwardRequest(Modality.SPEECH, speech));
    float[] together = probabilities(c.join());
    assertTrue(a.join().isSuccess());
    float[] quiet = probabilities(b.join());
    assertArrayEquals(alone, together, 1e-5f);
    for (float q : quiet) {
      assertTrue(q < 0.3, "silence scored " + q);
    }
  }

  /**
   * Two recordings in one request run as a batch of two through every step, deterministically
   * (requests sent together are combined only when the worker is busy): each keeps its own
   * frames, context and state, as it does alone.
   */
  @Test
  void aBatchOfTwoRecordingsKeepsEachItsOwnState() {
    float[] speech = recording().toFloatArray();
    float[] reversed = new float[speech.length]; // another recording: the same, backwards
    for (int i = 0; i < speech.length; i++) {
      reversed[i] = speech[speech.length - 1 - i];
    }
    float[] both = new float[2 * speech.length];
    System.arraycopy(reversed, 0, both, 0, speech.length);
    System.arraycopy(speech, 0, both, speech.length, speech.length);
    ForwardResult r = TestModels.forward(vad, Modality.SPEECH,
        Tensor.ofFloats(both, 2, frames, FRAME));
    assertTrue(r.isSuccess(), r::toString);
    Tensor y = r.output().orElseThrow();
    assertArrayEquals(new int[] {2, frames, 1}, y.shape());
    float[] got = y.toFloatArray();
    float[] first = probabilities(TestModels.forward(vad, Modality.SPEECH,
        Tensor.ofFloats(reversed, 1, frames, FRAME)));
    float[] second = probabilities(TestModels.forward(vad, Modality.SPEECH, recording()));
    assertArrayEquals(first, java.util.Arrays.copyOfRange(got, 0, frames), 1e-5f);
    assertArrayEquals(second, java.util.Arrays.copyOfRange(got, frames, 2 * frames), 1e-5f);
    assertTrue(!java.util.Arrays.equals(first, second), "the two recordings score differently");
  }

  @Test
  void framesOfTheWrongSizeAreRefused() {
    ForwardResult r = TestModels.forward(vad, Modality.SPEECH, Tensor.ofFloats(new float[2 * 480], 1, 2, 480));
    assertEquals(Status.BAD_SHAPE, r.status());
    assertTrue(r.message().contains("512"), r.message());
  }

  /** The INT64 sample rate cannot take FLOAT samples: the adapter says to give it, not which. */
  @Test
  void theSampleRateLeftOutIsNamedAsTheInputToGive() {
    OnnxModelException e = assertThrows(OnnxModelException.class, () -> OnnxPeer.builder()
        .model(TestModels.resource(TestModels.VAD))
        .input(SpeechInput.frames(FRAME).withContext(CONTEXT).withState("state", "stateN"))
        .outputDim(1)
        .build());
    assertTrue(e.getMessage().endsWith("does not fit the SPEECH adapter: model input sr INT64 []"
        + " is not fed by the SPEECH adapter; give it a fixed value with constantInput(\"sr\","
        + " ...)"), e.getMessage());
  }
}
