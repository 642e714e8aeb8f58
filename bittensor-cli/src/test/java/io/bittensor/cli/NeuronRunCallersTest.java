package io.bittensor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.bittensor.core.BlockPolicy;
import io.bittensor.core.DType;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Genesis;
import io.bittensor.core.Keypair;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.core.Transaction;
import io.bittensor.core.testing.TestCertificates;
import io.bittensor.transport.LedgerServer;
import io.bittensor.transport.PeerClient;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Whom {@code neuron run} serves, in a child process. Over mutual TLS: it reaches a ledger server
 * that asks for client certificates with its {@code tls-client-key}/{@code tls-client-cert},
 * serves only callers that show one ({@code tls-client-ca}), and takes a renewed client
 * certificate from disk ({@code tls-reload-ms}). With {@code members-only=true}: only keys
 * registered on the ledger.
 */
@Timeout(120)
class NeuronRunCallersTest {
  private static final Pattern SERVING = Pattern.compile(" at (https?://\\S+) on ledger ");
  private static final ForwardRequest REQUEST = new ForwardRequest(Modality.TEXT,
      Tensor.zeros(DType.INT64, 1, 4));

  @TempDir Path dir;

  @Test
  void aNeuronReachesAMutualTlsLedgerAndServesOnlyCallersWithACertificate() throws Exception {
    Keypair key = Keypair.generate();
    Path keyFile = dir.resolve("neuron.key");
    key.save(keyFile);
    Path clientKey = Files.copy(TestCertificates.file("client.key"), dir.resolve("client.key"));
    Path clientCert = Files.copy(TestCertificates.file("client.pem"), dir.resolve("client.pem"));
    Path ca = TestCertificates.file("ca.pem");
    Genesis genesis = Genesis.builder().allocate(key.id(), 1_000_000).build();
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis)
            .blocks(BlockPolicy.every(Duration.ofMillis(100))).openInMemory();
        LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
            .tls(TestCertificates.file("peer.key"), TestCertificates.file("peer.pem"))
            .requireClientCertificates(ca).start()) {
      Path config = Files.writeString(dir.resolve("neuron.properties"), String.join("\n",
          "key=" + keyFile, "ledger=" + server.uri(), "peer=noise", "port=0", "output-dim=16",
          "tls-key=" + TestCertificates.file("peer.key"),
          "tls-cert=" + TestCertificates.file("peer.pem"), "tls-trust=" + ca,
          "tls-client-ca=" + ca, "tls-client-key=" + clientKey, "tls-client-cert=" + clientCert,
          "tls-reload-ms=100") + "\n");
      Path log = dir.resolve("neuron.log");
      Process neuron = run(config, log);
      try {
        URI endpoint = URI.create(ServingLogs.await(log, SERVING).group(1));
        // It registered through the ledger server, which served it for its certificate.
        assertTrue(ledger.metagraph().uid(key.id()).isPresent(), ServingLogs.read(log));
        try (PeerClient with = PeerClient.newBuilder().keypair(Keypair.generate())
                .trustedCertificates(ca).clientCertificate(clientKey, clientCert).build();
            PeerClient without = PeerClient.newBuilder().keypair(Keypair.generate())
                .trustedCertificates(ca).build()) {
          assertEquals(Status.SUCCESS,
              with.connect(endpoint).forwardAndWait(REQUEST, Duration.ofSeconds(10)).status());
          assertEquals(Status.UNAVAILABLE,
              without.connect(endpoint).forwardAndWait(REQUEST, Duration.ofSeconds(10))
                  .status());
        }
        // Renewed on disk: the neuron's client and its ledger client both take it.
        Files.setLastModifiedTime(clientCert, FileTime.from(Instant.now().plusSeconds(5)));
        ServingLogs.await(log, Pattern.compile("reloaded the TLS certificate from "
            + Pattern.quote(clientCert.toString())));
        assertTrue(!ServingLogs.read(log).contains("kept the TLS certificate"),
            ServingLogs.read(log));
      } finally {
        stop(neuron);
      }
    }
  }

  @Test
  void aMembersOnlyNeuronAnswersRegisteredKeysAndNoStranger() throws Exception {
    Keypair key = Keypair.generate();
    Keypair member = Keypair.generate();
    Path keyFile = dir.resolve("neuron.key");
    key.save(keyFile);
    Genesis genesis = Genesis.builder().allocate(key.id(), 1_000_000)
        .allocate(member.id(), 1_000_000).build();
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis)
            .blocks(BlockPolicy.every(Duration.ofMillis(100))).openInMemory();
        LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
            .start()) {
      Path config = Files.writeString(dir.resolve("neuron.properties"), String.join("\n",
          "key=" + keyFile, "ledger=" + server.uri(), "peer=noise", "port=0", "output-dim=16",
          "members-only=true", "access-log=" + dir.resolve("calls.jsonl")) + "\n");
      Path log = dir.resolve("neuron.log");
      Process neuron = run(config, log);
      ForwardResult after;
      try (PeerClient asMember = PeerClient.newBuilder().keypair(member).build();
          PeerClient asStranger = PeerClient.newBuilder().keypair(Keypair.generate()).build()) {
        URI endpoint = URI.create(ServingLogs.await(log, SERVING).group(1));
        Peer fromMember = asMember.connect(endpoint);
        ForwardResult before = fromMember.forwardAndWait(REQUEST, Duration.ofSeconds(10));
        assertEquals(Status.UNAUTHENTICATED, before.status(), "not registered yet: " + before);
        ledger.submit(member, Transaction.register(URI.create("http://127.0.0.1:9"),
            Modality.TEXT)).get(10, TimeUnit.SECONDS);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        after = before;
        while (after.status() != Status.SUCCESS && System.nanoTime() < deadline) {
          Thread.sleep(100);
          after = fromMember.forwardAndWait(REQUEST, Duration.ofSeconds(10));
        }
        assertEquals(Status.SUCCESS, after.status(), after + "\n" + ServingLogs.read(log));
        ForwardResult stranger = asStranger.connect(endpoint)
            .forwardAndWait(REQUEST, Duration.ofSeconds(10));
        assertEquals(Status.UNAUTHENTICATED, stranger.status(), stranger.toString());
        assertEquals("caller", stranger.field());
      } finally {
        stop(neuron);
      }
      // Its access log: the member refused before its block and served after it, named by
      // its key each time and proved only once served; the stranger last, never proved.
      List<String> lines = Files.readAllLines(dir.resolve("calls.jsonl"));
      ObjectMapper json = new ObjectMapper();
      List<String> heard = new ArrayList<>();
      for (String line : lines) {
        JsonNode call = json.readTree(line);
        String peer = call.get("peer").asText();
        heard.add(call.get("status").asText() + " "
            + (peer.equals(member.id().toHex()) ? "member" : "stranger") + " "
            + call.get("verified").asBoolean());
      }
      assertEquals("UNAUTHENTICATED member false", heard.get(0), lines.toString());
      assertEquals("SUCCESS member true", heard.get(heard.size() - 2), lines.toString());
      assertEquals("UNAUTHENTICATED stranger false", heard.get(heard.size() - 1),
          lines.toString());
      assertTrue(heard.stream().allMatch(h -> h.equals("UNAUTHENTICATED member false")
          || h.equals("SUCCESS member true") || h.equals("UNAUTHENTICATED stranger false")),
          lines.toString());
    }
  }

  /** {@code neuron run --config config} in a child process, its output to {@code log}. */
  private static Process run(Path config, Path log) throws java.io.IOException {
    return new ProcessBuilder(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m",
        "-cp", System.getProperty("java.class.path"), Main.class.getName(), "neuron", "run",
        "--config", config.toString()))
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  private static void stop(Process neuron) throws InterruptedException {
    neuron.destroy();
    if (!neuron.waitFor(30, TimeUnit.SECONDS)) {
      neuron.destroyForcibly();
    }
  }
}
