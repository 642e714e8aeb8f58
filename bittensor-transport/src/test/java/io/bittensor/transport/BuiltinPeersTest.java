package io.bittensor.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.DType;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The built-in peers at the edges of what a tensor holds. */
class BuiltinPeersTest {
  /**
   * A 1 MiB input whose answer would pass 2 GiB: [64, 2048] at 4096 floats a position is
   * exactly 2^31 bytes (the int product wraps negative), [1024, 1024] at 1024 is 2^32 (wraps
   * to 0). Each is refused naming the sizes, and as a call, PAYLOAD_TOO_LARGE.
   */
  @ParameterizedTest
  @CsvSource({"64, 2048, 4096", "1024, 1024, 1024"})
  void anAnswerTooLargeForATensorIsRefusedNamingItsSize(int batch, int sequence, int outputDim) {
    BuiltinPeers.Deterministic peer = BuiltinPeers.deterministic(outputDim);
    Tensor input = Tensor.zeros(DType.UINT8, batch, sequence);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> peer.answer(input));
    long bytes = 4L * batch * sequence * outputDim;
    assertTrue(e.getMessage().contains(bytes + " bytes"), e.getMessage());
    ForwardResult r = peer.forward(new ForwardRequest(Modality.TEXT, input)).join();
    assertEquals(Status.PAYLOAD_TOO_LARGE, r.status(), r.toString());
    assertTrue(r.message().contains(bytes + " bytes"), r.toString());
  }
}
