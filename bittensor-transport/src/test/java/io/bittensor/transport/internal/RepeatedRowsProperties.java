package io.bittensor.transport.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.transport.internal.wire.Tensor.Builder;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Outputs whose rows repeat along the sequence ({@code Tensor.rows_repeated}): on random
 * [batch, sequence, dim] outputs, repeated or not, the compact form is taken exactly when every
 * example's rows are the same bit for bit, holds one row per example, and reads back as the
 * output it came from; compact data that does not fit, or a compact input, is refused.
 */
class RepeatedRowsProperties {

  /** A random output: each example's row at every position, or (when not) rows of their own. */
  private static float[] output(SplittableRandom random, int batch, int sequence, int dim,
      boolean repeated) {
    float[] v = new float[batch * sequence * dim];
    for (int b = 0; b < batch; b++) {
      float[] row = new float[dim];
      for (int d = 0; d < dim; d++) {
        row[d] = (float) random.nextGaussian();
      }
      for (int s = 0; s < sequence; s++) {
        System.arraycopy(row, 0, v, (b * sequence + s) * dim, dim);
      }
    }
    if (!repeated) {
      // One element of one position of one example differs, by as little as a float can.
      int at = random.nextInt(batch * sequence * dim);
      v[at] = Math.nextUp(v[at]);
    }
    return v;
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
  void theCompactFormIsTakenExactlyWhenRowsRepeatAndReadsBackAsTheOutput(int seed) {
    SplittableRandom random = new SplittableRandom(seed);
    for (int trial = 0; trial < 20; trial++) {
      int batch = 1 + random.nextInt(6);
      int sequence = 1 + random.nextInt(20);
      int dim = 1 + random.nextInt(40);
      boolean repeated = random.nextBoolean();
      float[] values = output(random, batch, sequence, dim, repeated);
      var full = WireTensors.toWire(Tensor.ofFloats(values, batch, sequence, dim));
      var sent = WireTensors.withRowsRepeated(full);
      String where = "seed " + seed + ", trial " + trial + ": [" + batch + ", " + sequence + ", "
          + dim + "], repeated " + repeated;
      // One position repeats trivially: nothing to save, so it goes as it is.
      boolean compact = repeated && sequence > 1;
      assertEquals(compact, sent.getRowsRepeated(), where);
      if (compact) {
        assertEquals(batch * dim * 4, sent.getData().size(), where);
        assertEquals(full.getShapeList(), sent.getShapeList(), where);
        // A signed answer covers the flag: the same bytes without it are another answer.
        byte[] request = new byte[32];
        byte[] key = new byte[32];
        var answer = io.bittensor.transport.internal.wire.Response.newBuilder().setVersion(1)
            .setOutput(sent).build();
        assertFalse(java.util.Arrays.equals(
            CanonicalDigest.ofAnswer(true, request, key, answer),
            CanonicalDigest.ofAnswer(true, request, key, answer.toBuilder().setOutput(
                sent.toBuilder().setRowsRepeated(false)).build())), where);
      } else {
        assertSame(full, sent, where);
      }
      Tensor read = WireTensors.outputFromWire(sent, "output", Status.BAD_RESPONSE, batch,
          sequence);
      assertArrayEquals(new int[] {batch, sequence, dim}, read.shape(), where);
      float[] back = new float[values.length];
      read.asFloatBuffer().get(back);
      assertArrayEquals(values, back, where);
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"data for two rows", "another batch", "another sequence",
      "a sequence past 2 GiB", "rank 2", "an input"})
  void compactTensorsThatDoNotFitAreRefusedNamingWhy(String what) {
    float[] values = output(new SplittableRandom(7), 3, 5, 4, true);
    var sent = WireTensors.withRowsRepeated(
        WireTensors.toWire(Tensor.ofFloats(values, 3, 5, 4)));
    assertTrue(sent.getRowsRepeated());
    Builder bad = sent.toBuilder();
    int batch = 3;
    int sequence = 5;
    switch (what) {
      case "data for two rows" -> bad.setData(sent.getData().concat(ByteString.copyFrom(
          new byte[16])));
      case "another batch" -> batch = 2;
      case "another sequence" -> sequence = 6;
      case "a sequence past 2 GiB" -> { // a small message must not ask for a large allocation
        bad.setShape(1, 1 << 30);
        sequence = 1 << 30;
      }
      case "rank 2" -> bad.clearShape().addShape(3).addShape(4);
      default -> { }
    }
    Rejected e;
    if (what.equals("an input")) {
      e = assertThrows(Rejected.class,
          () -> WireTensors.fromWire(bad.build(), "input", Status.BAD_SHAPE));
      assertEquals("input.rows_repeated", e.rejection().field());
      return;
    }
    int b = batch;
    int s = sequence;
    e = assertThrows(Rejected.class,
        () -> WireTensors.outputFromWire(bad.build(), "output", Status.BAD_RESPONSE, b, s));
    assertEquals(Status.BAD_RESPONSE, e.rejection().status(), e.getMessage());
    assertTrue(e.rejection().field().startsWith("output."), e.rejection().field());
    assertFalse(e.rejection().message().isEmpty());
  }
}
