package io.bittensor.onnx.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.Tensor;
import org.junit.jupiter.api.Test;

/**
 * A run's buffers hold what a float tensor holds, no more and no less: the floats of
 * {@link Tensor#MAX_BYTES} (where the factories stop, as core's TensorTest checks), so the two
 * cannot drift apart. Nothing near 2 GiB is allocated.
 */
class BindingLimitsTest {
  @Test
  void aRunHoldsExactlyTheFloatsOfTheLargestFloatTensor() {
    int most = Tensor.MAX_BYTES / 4;
    assertEquals(most, Binding.floats("answer", most));
    assertEquals(most, Binding.floats("answer", 1, most, 1));
    Binding.TooLarge e = assertThrows(Binding.TooLarge.class,
        () -> Binding.floats("answer", most + 1L));
    assertTrue(e.getMessage().contains("(" + most + ")"), e.getMessage());
  }
}
