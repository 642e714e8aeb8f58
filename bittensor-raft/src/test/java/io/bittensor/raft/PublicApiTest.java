package io.bittensor.raft;

import io.bittensor.incentive.testing.ApiDump;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The public API is the one in {@code api/bittensor-raft.api} (see {@link ApiDump}). */
class PublicApiTest {
  @Test
  void thePublicApiIsTheOneOnFile() throws IOException {
    ApiDump.check(Path.of("src/main/java"), Path.of("api/bittensor-raft.api"));
  }
}
