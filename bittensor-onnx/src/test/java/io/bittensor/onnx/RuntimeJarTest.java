package io.bittensor.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import ai.onnxruntime.OrtEnvironment;
import java.io.File;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The build puts exactly one ONNX Runtime on the class path: the CPU jar by default, the GPU jar
 * under {@code -Pcuda}, never both.
 */
class RuntimeJarTest {
  @Test
  void exactlyTheProfilesOnnxRuntimeJarIsOnTheClassPath() {
    String expected = System.getProperty("onnxruntime.artifactId");
    assertNotNull(expected, "surefire passes the profile's artifact id");
    List<String> runtimes = Arrays.stream(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")).split(File.pathSeparator))
        .map(p -> new File(p).getName())
        .filter(n -> n.matches("onnxruntime(_gpu)?-\\d.*\\.jar"))
        .toList();
    assertEquals(1, runtimes.size(), "ONNX Runtime jars on the class path: " + runtimes);
    assertEquals(true, runtimes.get(0).startsWith(expected + "-"), runtimes + " for profile artifact " + expected);
    String loadedFrom = OrtEnvironment.class.getProtectionDomain().getCodeSource().getLocation().getPath();
    assertEquals(true, new File(loadedFrom).getName().startsWith(expected + "-"), loadedFrom);
  }
}
