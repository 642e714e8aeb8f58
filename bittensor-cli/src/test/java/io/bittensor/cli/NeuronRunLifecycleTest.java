package io.bittensor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Genesis;
import io.bittensor.core.Keypair;
import io.bittensor.core.LocalLedger;
import io.bittensor.transport.LedgerServer;
import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code neuron run} embedded in this JVM through {@link Main#run}: how it stops. */
@Timeout(120)
class NeuronRunLifecycleTest {
  private static final Pattern SERVING = Pattern.compile(
      " at (http://\\S+) on ledger [\\s\\S]*metrics on (http://\\S+)");

  @TempDir Path dir;

  /**
   * An interrupt of the thread running it stops it as SIGTERM does: the neuron's port and its
   * metrics port are closed, and it exits 0.
   */
  @Test
  void anInterruptClosesTheNeuronAndItsMetricsAndExitsZero() throws Exception {
    Keypair key = Keypair.generate();
    Path keyFile = dir.resolve("neuron.key");
    key.save(keyFile);
    Genesis genesis = Genesis.builder().allocate(key.id(), 1_000_000).build();
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis)
            .blocks(BlockPolicy.every(Duration.ofMillis(100))).openInMemory();
        LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
            .start()) {
      Path config = Files.writeString(dir.resolve("neuron.properties"), String.join("\n",
          "key=" + keyFile, "ledger=" + server.uri(), "peer=noise", "port=0", "output-dim=16",
          "metrics-port=0") + "\n");
      ServingCli running = ServingCli.embedded(SERVING, "neuron", "run", "--config",
          config.toString());
      URI endpoint = running.endpoint;
      URI metrics = URI.create(running.printed.group(2));

      assertEquals(0, running.interruptAndAwaitExit(), running.out + "\n" + running.err);
      for (URI closed : List.of(endpoint, metrics)) {
        assertThrows(IOException.class,
            () -> new Socket(closed.getHost(), closed.getPort()).close(),
            closed + " still listens");
      }
    }
  }
}
