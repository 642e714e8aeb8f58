package io.bittensor.transport;

import static io.bittensor.core.testing.LedgerFixtures.genesis;
import static io.bittensor.core.testing.LedgerFixtures.params;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.BlockPolicy;
import io.bittensor.core.LedgerException;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.testing.LedgerFixtures;
import java.net.URI;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An {@code https://} URL for a server that speaks cleartext: the client's error says the server
 * does not speak TLS there, not that it may want a client certificate (which it said before).
 */
@Timeout(30)
class WrongSchemeTest {
  @Test
  void anHttpsUrlForACleartextServerSaysSo() throws Exception {
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis(params(8), 1))
            .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual()).openInMemory();
        LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
            .allowAnonymous(true).start()) {
      URI https = URI.create("https://127.0.0.1:" + server.port());
      LedgerException e = assertThrows(LedgerException.class,
          () -> RemoteLedger.builder().connect(https).close());
      assertTrue(e.getMessage().contains("the server does not speak TLS there"), e.getMessage());
      assertFalse(e.getMessage().contains("client certificates"), e.getMessage());
    }
  }
}
