package io.bittensor.neuron;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.bittensor.core.ForwardRequest;
import io.bittensor.core.Modality;
import io.bittensor.core.Tensor;
import org.junit.jupiter.api.Test;

class LabelledBatchTest {
  @Test
  void rowsThatNoIntCountsAreRefusedNotWrappedToZero() {
    // 65536 * 65536 wraps to 0 in int, which an empty label array would match.
    Tensor empty = Tensor.ofLongs(new long[0], 65536, 65536, 0);
    ForwardRequest request = new ForwardRequest(Modality.TEXT, empty);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new LabelledBatch(request, new int[0]));
    assertEquals("labels must hold one class per example and position (4294967296), had 0",
        e.getMessage());
  }

  @Test
  void labelsCountingTheRowsAreAccepted() {
    Tensor ids = Tensor.ofLongs(new long[] {1, 2, 3, 4, 5, 6}, 2, 3);
    LabelledBatch b = new LabelledBatch(new ForwardRequest(Modality.TEXT, ids), new int[6]);
    assertEquals(6, b.labels().length);
  }
}
