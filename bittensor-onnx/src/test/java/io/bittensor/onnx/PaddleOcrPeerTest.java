package io.bittensor.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** PaddleOCR's text-direction classifier as an IMAGE peer: {0, 180} degrees. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PaddleOcrPeerTest {
  private static final int H = 48;
  private static final int W = 192;
  private static OnnxPeer ocr;

  @BeforeAll
  static void load() throws Exception {
    ocr = OnnxPeer.builder()
        .model(TestModels.resource(TestModels.OCR))
        .input(ImageInput.of(3, H, W).withNormalization(new float[] {0.5f}, new float[] {0.5f}))
        .outputDim(2)
        .build();
  }

  @AfterAll
  static void close() {
    ocr.close();
  }

  /** RGB bytes {@code [1, 1, 3, H, W]} of a line of black text on white, turned 180 degrees if asked. */
  private static Tensor text(boolean upsideDown) {
    BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, W, H);
    g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
    if (upsideDown) {
      g.rotate(Math.PI, W / 2.0, H / 2.0);
    }
    g.setColor(Color.BLACK);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 26));
    g.drawString("Peer to peer", 6, 34);
    g.dispose();
    byte[] px = new byte[3 * H * W];
    int dark = 0;
    for (int y = 0; y < H; y++) {
      for (int x = 0; x < W; x++) {
        int rgb = img.getRGB(x, y);
        for (int c = 0; c < 3; c++) {
          px[c * H * W + y * W + x] = (byte) (rgb >> (16 - 8 * c));
        }
        dark += (rgb & 0xff) < 128 ? 1 : 0;
      }
    }
    Assumptions.assumeTrue(dark > 200, "no font could draw text on this machine");
    return Tensor.ofBytes(px, 1, 1, 3, H, W);
  }

  /** ONNX Runtime reports Long.MAX_VALUE for a file that records no version; ONNX reads 0. */
  @Test
  void aModelThatRecordsNoVersionHasVersionZero() {
    assertEquals(0, ocr.modelInfo().version(), () -> ocr.modelInfo().toString());
  }

  @Test
  void classifiesUprightAndUpsideDownText() {
    Tensor up = TestModels.forward(ocr, Modality.IMAGE, text(false)).output().orElseThrow();
    Tensor down = TestModels.forward(ocr, Modality.IMAGE, text(true)).output().orElseThrow();
    assertTrue(up.floatAt(0) > up.floatAt(1), "upright text: p(0) " + up.floatAt(0) + ", p(180) " + up.floatAt(1));
    assertTrue(down.floatAt(1) > down.floatAt(0),
        "upside-down text: p(0) " + down.floatAt(0) + ", p(180) " + down.floatAt(1));
  }

  /** Pixels through the adapter equal the documented normalisation fed to the session by hand. */
  @Test
  void imagePipelineMatchesADirectSessionRun() throws Exception {
    Random random = new Random(7);
    int batch = 2;
    int seq = 2;
    byte[] px = new byte[batch * seq * 3 * H * W];
    random.nextBytes(px);
    ForwardResult r = TestModels.forward(ocr, Modality.IMAGE, Tensor.ofBytes(px, batch, seq, 3, H, W));
    assertTrue(r.isSuccess(), r::toString);
    Tensor y = r.output().orElseThrow();
    assertArrayEquals(new int[] {batch, seq, 2}, y.shape());
    float[][][][] x = new float[batch * seq][3][H][W];
    int i = 0;
    for (float[][][] picture : x) {
      for (float[][] channel : picture) {
        for (float[] row : channel) {
          for (int c = 0; c < W; c++) {
            row[c] = ((px[i++] & 0xff) / 255f - 0.5f) / 0.5f;
          }
        }
      }
    }
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession s = env.createSession(TestModels.resource(TestModels.OCR));
        OnnxTensor t = OnnxTensor.createTensor(env, x);
        OrtSession.Result out = s.run(Map.of("x", t))) {
      float[][] p = (float[][]) out.get(0).getValue();
      for (int k = 0; k < batch * seq; k++) {
        assertEquals(p[k][0], y.floatAt(2 * k), 1e-5, "picture " + k);
        assertEquals(p[k][1], y.floatAt(2 * k + 1), 1e-5, "picture " + k);
      }
    }
  }

  @Test
  void floatPixelsInZeroOneGiveTheSameAnswerAsBytes() {
    Random random = new Random(3);
    byte[] px = new byte[3 * H * W];
    random.nextBytes(px);
    float[] f = new float[px.length];
    for (int i = 0; i < px.length; i++) {
      f[i] = (px[i] & 0xff) / 255f;
    }
    Tensor a = TestModels.forward(ocr, Modality.IMAGE, Tensor.ofBytes(px, 1, 1, 3, H, W)).output().orElseThrow();
    Tensor b = TestModels.forward(ocr, Modality.IMAGE, Tensor.ofFloats(f, 1, 1, 3, H, W)).output().orElseThrow();
    assertArrayEquals(a.toFloatArray(), b.toFloatArray(), 1e-6f);
  }

  @Test
  void imagesOfTheWrongSizeAreRefusedNamingTheSize() {
    ForwardResult r = TestModels.forward(ocr, Modality.IMAGE, Tensor.zeros(io.bittensor.core.DType.UINT8, 1, 1, 3, 32, 100));
    assertEquals(Status.BAD_SHAPE, r.status());
    assertEquals("input.shape", r.field());
    assertTrue(r.message().contains("[batch, sequence, 3, 48, 192]"), r.message());
  }
}
