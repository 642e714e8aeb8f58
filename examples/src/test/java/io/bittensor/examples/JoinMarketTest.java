package io.bittensor.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.Keypair;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Modality;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 120, unit = TimeUnit.SECONDS)
class JoinMarketTest {
  @Test
  void theModelJoinsRegisteredAndStakedWhileTheApplicationRuns(@TempDir Path dir)
      throws Exception {
    Keypair me = Keypair.generate();
    Path keyFile = dir.resolve("me.key");
    me.save(keyFile);
    Path modelFile = JoinMarket.copyModel(dir.resolve("my-model.onnx"));
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    AtomicReference<Metagraph> seen = new AtomicReference<>();
    try (LocalLedger ledger = JoinMarket.ledger(me, dir)) {
      JoinMarket.join(ledger, modelFile, keyFile, () -> seen.set(
          JoinMarket.report(new PrintStream(buf, true, StandardCharsets.UTF_8), ledger, me)));
    }
    Metagraph m = seen.get();
    assertNotNull(m, "the application ran");
    assertEquals(1, m.size());
    assertEquals(Modality.TEXT, m.info(0).modality());
    assertTrue(m.info(0).endpoint().toString().startsWith("http://127.0.0.1:"));
    assertTrue(m.stake(0) >= 500_000, "staked: " + m.stake(0));
    assertTrue(buf.toString(StandardCharsets.UTF_8).startsWith("uid 0 serving at http://"),
        buf::toString);
  }
}
