package io.bittensor.onnx;

import io.bittensor.incentive.testing.ApiDump;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** This module's public API is the one in {@code api/bittensor-onnx.api} (see {@link ApiDump}). */
class PublicApiTest {
  @Test
  void thePublicApiIsTheOneOnFile() throws IOException {
    ApiDump.check(Path.of("src/main/java"), Path.of("api/bittensor-onnx.api"));
  }
}
