package io.bittensor.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class WatchLedgerServerTest {
  @Test
  void theServersOwnerSeesWhoReadWhatAndWhatWasRefusedFromWhom() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    WatchLedgerServer.Tally tally;
    try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
      tally = WatchLedgerServer.run(out);
    }
    assertEquals(3, tally.requests().get("wallet submit").sum(), tally.requests().toString());
    assertEquals(1, tally.requests().get("wallet events").sum());
    assertEquals(1, tally.requests().get("explorer events").sum());
    assertTrue(tally.bytes().get("explorer events").sum() > 0, tally.bytes().toString());
    assertTrue(tally.requests().keySet().stream().allMatch(k -> k.startsWith("wallet ")
        || k.startsWith("explorer ")), "only the two clients talked to it: " + tally.requests());
    assertEquals(1, tally.refusals().size(), tally.refusals().toString());
    assertTrue(tally.refusals().get(0).startsWith("bob's transaction, sent by wallet: "
        + "NONCE_REUSED (nonce 0 was used"), tally.refusals().get(0));
    String printed = bytes.toString(StandardCharsets.UTF_8);
    assertTrue(printed.contains("explorer sees 1 peer(s) at block 1"), printed);
  }
}
