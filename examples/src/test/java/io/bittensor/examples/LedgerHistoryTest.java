package io.bittensor.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class LedgerHistoryTest {
  @TempDir Path dir;

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void anIndexerReadsEveryBlockFromGenesisThroughTheServerAcrossTheArchive() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
      LedgerHistory.run(dir, out);
    }
    List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
    assertEquals(List.of(
        "sealed 40 blocks; the journal holds those after block 40, the archive 4 journals",
        "read blocks 1 to 40 through the server",
        "transactions {AddStake=3, Register=3, SetWeights=21}",
        "weight rows {alice=7, bob=7, carol=7}"), lines.subList(0, 4), String.join("\n", lines));
    assertTrue(lines.get(4).startsWith("8 epochs minted "), lines.get(4));
    assertTrue(Long.parseLong(lines.get(4).substring("8 epochs minted ".length())) > 0,
        lines.get(4));
  }
}
