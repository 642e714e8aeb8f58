package io.bittensor.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * {@link OnnxExport}'s sizes: what one ONNX file cannot hold is refused before it is copied.
 * Tested on the sizes alone: such a layer would take gigabytes to build.
 */
class OnnxExportTest {
  /**
   * A dense layer of 32768 x 16384 weights is 2 GiB, past what one ONNX file (one protobuf
   * message) holds; sized in {@code int} it wrapped to a negative capacity.
   */
  @Test
  void aLayerTooLargeForAnOnnxFileIsRefusedNamingIt() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> OnnxExport.plusTensor(0, "dense0.weight", 32768, 16384));
    assertTrue(e.getMessage().contains("tensor dense0.weight [32768, 16384] of 2147483648 bytes"),
        e.getMessage());
  }

  /** Layers that fit one by one but not together are refused at the one that goes past. */
  @Test
  void layersTooLargeTogetherAreRefusedAtTheOneThatGoesPast() {
    long first = OnnxExport.plusTensor(0, "dense0.weight", 16384, 16384);
    assertEquals(1L << 30, first);
    long second = OnnxExport.plusTensor(first, "dense1.weight", 16384, 16000);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> OnnxExport.plusTensor(second, "dense2.weight", 2048, 4096));
    assertTrue(e.getMessage().contains("dense2.weight")
        && e.getMessage().contains("takes the model to " + (second + (32L << 20)) + " bytes"),
        e.getMessage());
    assertEquals(second + 16, OnnxExport.plusTensor(second, "dense2.bias", 1, 4));
  }
}
