package io.bittensor.transport.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.ByteString;
import io.bittensor.transport.internal.wire.DataType;
import io.bittensor.transport.internal.wire.Response;
import io.bittensor.transport.internal.wire.Tensor;
import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The two-part encoding of an answer decodes to the same message as the usual encoding. */
class SplitEncodingTest {

  @Test
  void headThenDataDecodesToTheSameMessageForSeededAnswers() throws Exception {
    Random random = new Random(20261203L);
    for (int trial = 0; trial < 300; trial++) {
      int bytes = switch (trial % 3) {
        case 0 -> random.nextInt(SplitEncoding.MIN_SPLIT_BYTES);
        case 1 -> SplitEncoding.MIN_SPLIT_BYTES + random.nextInt(3) - 1;
        default -> random.nextInt(600_000);
      };
      byte[] data = new byte[bytes];
      random.nextBytes(data);
      Tensor.Builder tensor = Tensor.newBuilder().setDtype(DataType.forNumber(1 + random.nextInt(3)))
          .setData(ByteString.copyFrom(data));
      for (int d = random.nextInt(4); d > 0; d--) {
        tensor.addShape(1 + random.nextInt(300_000));
      }
      Response.Builder r = Response.newBuilder().setVersion(1).setStatus(random.nextInt(3));
      if (random.nextBoolean()) {
        r.setOutput(tensor);
      }
      if (random.nextBoolean()) {
        r.setMessage("note " + trial).setRetryAfterMs(random.nextInt(5_000));
      }
      Response message = r.build();

      ByteBuffer[] parts = SplitEncoding.encode(message);
      ByteBuffer joined = ByteBuffer.allocate(message.getSerializedSize());
      for (ByteBuffer p : parts) {
        joined.put(p.duplicate());
      }
      assertEquals(0, joined.remaining(), "the parts hold exactly the message's size");
      assertEquals(message, Response.parseFrom(joined.flip()), "trial " + trial);
      boolean large = message.hasOutput() && bytes >= SplitEncoding.MIN_SPLIT_BYTES;
      assertEquals(large ? 2 : 1, parts.length, "split only large answers, trial " + trial);
      if (large) {
        assertEquals(message.getOutput().getData(), ByteString.copyFrom(parts[1].duplicate()),
            "the second part is the tensor's bytes as they are");
      }
    }
  }
}
