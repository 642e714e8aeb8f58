package io.bittensor.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class ServeModelTest {

  @Test
  void theServedModelPutsRelatedSentencesCloserAndAnswersAsInProcess() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Tensor answer;
    try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
      answer = ServeModel.run(out);
    }
    List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();

    assertTrue(lines.get(0).startsWith("serving TEXT on cpu at http://127.0.0.1:"), lines.get(0));
    assertEquals(3, answer.dim(0));
    assertEquals(384, answer.dim(2));
    assertEquals("answer [3, " + answer.dim(1) + ", 384]", lines.get(1));
    double related = ServeModel.cosine(answer, 0, 1);
    double unrelated01 = ServeModel.cosine(answer, 0, 2);
    double unrelated12 = ServeModel.cosine(answer, 1, 2);
    assertTrue(related > 0.6, "the two sentences about weights: cosine " + related);
    assertTrue(related > unrelated01 + 0.3 && related > unrelated12 + 0.3,
        "related " + related + ", unrelated " + unrelated01 + " and " + unrelated12);
    // Pooled and normalised: every position of a row carries the same unit-length vector.
    float[] v = answer.toFloatArray();
    int seq = answer.dim(1);
    for (int r = 0; r < 3; r++) {
      float[] first = Arrays.copyOfRange(v, r * seq * 384, r * seq * 384 + 384);
      float[] last = Arrays.copyOfRange(v, (r * seq + seq - 1) * 384, (r * seq + seq) * 384);
      assertArrayEquals(first, last, "row " + r);
      double norm = 0;
      for (float x : first) {
        norm += x * x;
      }
      assertEquals(1, norm, 1e-4, "row " + r);
    }
    String diff = lines.get(lines.size() - 1);
    assertTrue(diff.startsWith("largest difference served vs in-process "), diff);
    double d = Double.parseDouble(diff.substring(diff.lastIndexOf(' ') + 1));
    assertTrue(d <= 1e-6, diff);
  }
}
