package io.bittensor.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The runnable jar bundles every runtime dependency, so it must carry their list with each
 * licence. The build writes it from the dependencies' POMs (license-maven-plugin) into the CLI's
 * classes, and the shaded jar takes it from there.
 */
class ThirdPartyListTest {

  private static String thirdPartyList() throws IOException {
    try (InputStream in = Main.class.getResourceAsStream("/META-INF/THIRD-PARTY.txt")) {
      assertNotNull(in, "META-INF/THIRD-PARTY.txt is not on the CLI's classpath");
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void listsTheBundledLibrariesWithTheirLicences() throws IOException {
    String list = thirdPartyList();
    // One of each licence family the jar bundles, and the runtime-only Raft pieces.
    assertTrue(list.contains("(MIT License) onnx-runtime (com.microsoft.onnxruntime:onnxruntime:"), list);
    assertTrue(list.contains("(BSD-3-Clause) Protocol Buffers [Core] (com.google.protobuf:protobuf-java:"), list);
    assertTrue(list.contains("(GNU Lesser General Public Licence) JFreeChart (org.jfree:jfreechart:"), list);
    assertTrue(list.contains("org.apache.ratis:ratis-thirdparty-misc:"), list);
    assertTrue(list.contains("org.apache.ratis:ratis-metrics-default:"), list);
    assertTrue(list.contains("info.picocli:picocli:"), list);
  }

  @Test
  void leavesOutOurOwnModulesAndTestLibraries() throws IOException {
    String list = thirdPartyList();
    assertFalse(list.contains("io.bittensor:"), list);
    assertFalse(list.contains("org.junit"), list);
  }
}
