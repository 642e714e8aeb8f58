package io.bittensor.transport.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.bittensor.core.DType;
import io.bittensor.core.Rejection;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.transport.internal.wire.DataType;
import io.bittensor.transport.internal.wire.Response;
import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Decoded tensors point into the received bytes instead of copying them; the shape's limits. */
class WireTensorsTest {

  @Test
  void decodedTensorsAliasTheBody() throws Exception {
    Random random = new Random(20261203L);
    for (int trial = 0; trial < 50; trial++) {
      int elements = 1 + random.nextInt(50_000);
      float[] values = new float[elements];
      for (int i = 0; i < elements; i++) {
        values[i] = (float) random.nextGaussian();
      }
      Response r = Response.newBuilder().setVersion(1).setMessage("m" + trial)
          .setOutput(WireTensors.toWire(Tensor.ofFloats(values, elements))).build();
      byte[] encoded = r.toByteArray();
      int offset = random.nextInt(64); // the body may sit anywhere in its array
      byte[] body = new byte[offset + encoded.length + random.nextInt(64)];
      System.arraycopy(encoded, 0, body, offset, encoded.length);

      Tensor t = WireTensors.fromWire(Response.parser().parseFrom(
          WireTensors.aliasingInput(body, offset, encoded.length)).getOutput(), "output",
          Status.BAD_RESPONSE);
      assertEquals(values[elements - 1], t.floatAt(elements - 1));

      // The tensor's bytes are the last of the message: change the last element in the body.
      int last = offset + encoded.length - 4;
      float changed = values[elements - 1] + 1;
      ByteBuffer.wrap(body, last, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putFloat(changed);
      assertEquals(changed, t.floatAt(elements - 1), "trial " + trial + ": the tensor copied");
      assertEquals(DType.FLOAT32, t.dtype());
    }
  }

  private static io.bittensor.transport.internal.wire.Tensor wire(int bytes, int... shape) {
    var b = io.bittensor.transport.internal.wire.Tensor.newBuilder()
        .setDtype(DataType.forNumber(DType.UINT8.code()))
        .setData(ByteString.copyFrom(new byte[bytes]));
    for (int d : shape) {
      b.addShape(d);
    }
    return b.build();
  }

  private static Rejection refused(io.bittensor.transport.internal.wire.Tensor w) {
    return assertThrows(Rejected.class,
        () -> WireTensors.fromWire(w, "input", Status.BAD_SHAPE)).rejection();
  }

  /** The shape's limits, each at its edge: what a peer decodes of a stranger's request. */
  @Test
  void shapesAreTakenUpToTheirLimitsAndRefusedPastThem() {
    int[] sixteen = new int[16];
    java.util.Arrays.fill(sixteen, 1);
    assertArrayEquals(sixteen, WireTensors.fromWire(wire(1, sixteen), "input", Status.BAD_SHAPE)
        .shape(), "rank 16 is the most");
    int[] seventeen = new int[17];
    java.util.Arrays.fill(seventeen, 1);
    Rejection r = refused(wire(1, seventeen));
    assertEquals(Status.BAD_SHAPE, r.status());
    assertTrue(r.message().contains("rank 17 > 16"), r.message());
    // A dimension of 0 is a tensor of no elements, and no bytes.
    assertEquals(0, WireTensors.fromWire(wire(0, 3, 0, 5), "input", Status.BAD_SHAPE)
        .elementCount());
    assertEquals(Status.BAD_SHAPE, refused(wire(1, 3, 0, 5)).status());
    // 2^31 - 1 is the largest dimension; above it the uint32 reads negative and is refused.
    r = refused(wire(1, Integer.MAX_VALUE));
    assertTrue(r.message().contains("needs 2147483647 bytes, data has 1"), r.message());
    r = refused(wire(1, -1));
    assertTrue(r.message().contains("4294967295, above 2^31 - 1"), r.message());
    // Dimensions whose product passes 2^40 cannot be matched by any message's bytes; the count
    // stops growing there rather than wrapping around to a small number.
    r = refused(wire(16, 1 << 20, 1 << 20, 1 << 20, 16));
    assertEquals(Status.BAD_SHAPE, r.status());
    assertTrue(r.message().contains("needs 1099511627776 bytes"), r.message());
    // 2^40 times 2^24 is 2^64: a count that wrapped to 0 took an empty data field for a match.
    r = refused(wire(0, 1 << 20, 1 << 20, 1 << 24));
    assertEquals(Status.BAD_SHAPE, r.status());
    assertTrue(r.message().contains("needs 1099511627776 bytes, data has 0"), r.message());
  }
}
