package io.bittensor.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

  /**
   * A folder given as the file to write is named a folder, and is left as it was: the write
   * failed at its last step, the move into place, with the JDK's words for it.
   */
  @Test
  void aFolderGivenAsTheFileToWriteIsSaidToBeAFolder(@TempDir Path dir) throws Exception {
    Path folder = Files.createDirectory(dir.resolve("student.onnx"));
    Mlp mlp = Mlp.random(new int[] {2, 2}, Mlp.Activation.RELU, 1);
    IOException e = assertThrows(IOException.class,
        () -> OnnxExport.write(mlp, OnnxExport.Options.defaults(), folder));
    assertEquals(folder + " is a folder; give the model's file name", e.getMessage());
    assertTrue(Files.isDirectory(folder));
    try (var left = Files.list(dir)) {
      assertEquals(List.of(folder), left.toList(), "nothing else written");
    }
  }
}
