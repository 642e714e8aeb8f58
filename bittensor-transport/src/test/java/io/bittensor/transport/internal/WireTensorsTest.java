package io.bittensor.transport.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.bittensor.core.DType;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.transport.internal.wire.Response;
import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Decoded tensors point into the received bytes instead of copying them. */
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
}
