package io.bittensor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Genesis;
import io.bittensor.core.Keypair;
import io.bittensor.core.testing.TestCertificates;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Modality;
import io.bittensor.core.Receipt;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Transaction;
import io.bittensor.transport.RemoteLedger;
import io.bittensor.transport.internal.wire.EventsRequest;
import io.bittensor.transport.internal.wire.LedgerRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ledger serve} as a child process (so that SIGTERM and the shutdown hook are real), and
 * {@code ledger show --remote} against it.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LedgerServeCommandTest {
  @TempDir Path dir;

  private static Keypair key(int i) {
    byte[] seed = new byte[32];
    seed[31] = (byte) i;
    seed[0] = 9;
    return Keypair.fromSeed(seed);
  }

  private static Process serve(Path data, Path log, String... more) throws IOException {
    List<String> cmd = ChildCli.command("ledger", "serve", "--data", data.toString(),
        "--host", "127.0.0.1", "--port", "0", "--block-ms", "50");
    cmd.addAll(List.of(more));
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  @Test
  void serveAnswersRemoteClientsAndClosesTheLedgerOnSigterm() throws Exception {
    Path data = dir.resolve("ledger");
    Path log = dir.resolve("serve.log");
    Path submissions = dir.resolve("submissions.jsonl");
    Path requests = dir.resolve("requests.jsonl");
    Process p = serve(data, log, "--epoch-length", "5", "--max-peers", "8",
        "--weights-rate-limit", "0", "--tau", "600",
        "--allocate", key(0).id().toHex() + "=1000",
        "--allocate", key(1).id().toHex() + "=1000",
        "--submission-log", submissions.toString(), "--access-log", requests.toString());
    List<Receipt> receipts = new ArrayList<>();
    try {
      URI uri = ServingLogs.awaitServing(p, log);
      // Printed after the address, so perhaps not yet there when the address is.
      ServingLogs.await(log, Pattern.compile(Pattern.quote("transactions logged to "
          + submissions)));

      try (RemoteLedger remote = RemoteLedger.builder().keypair(key(7)).connect(List.of(uri))) {
        for (int i = 0; i < 2; i++) {
          receipts.add(remote.submit(key(i), Transaction.register(
              URI.create("http://peer" + i + ":8091"), Modality.TEXT)).join());
          Receipt r = remote.submit(key(i), Transaction.addStake(100 * (i + 1))).join();
          assertTrue(r.block() >= 1);
          receipts.add(r);
        }
        // A nonce key 0 used already: refused, and logged with the ledger's reason.
        var reused = remote.submit(SignedTransaction.sign(key(0), remote.chainId(), 0,
            Transaction.transfer(key(1).id(), 1)));
        assertThrows(CompletionException.class, reused::join);
        Metagraph seen = remote.metagraph();
        assertEquals(2, seen.size());

        CliRunner show = CliRunner.run("ledger", "show", "--remote", uri.toString());
        assertEquals(0, show.exitCode(), show.err());
        assertTrue(show.out().contains("chain  " + remote.chainId()), show.out());
        var rows = show.out().lines().filter(l -> l.contains("http://peer")).toList();
        assertEquals(2, rows.size(), show.out());
        assertTrue(rows.get(1).contains(" 200 "), rows.get(1));

        CliRunner json = CliRunner.run("ledger", "show", "--remote", uri.toString(), "--json",
            "--sort", "stake");
        assertEquals(0, json.exitCode(), json.err());
        JsonNode root = new ObjectMapper().readTree(json.out());
        assertEquals(remote.chainId().toHex(), root.get("chainId").asText());
        assertEquals(key(1).id().toHex(), root.get("peers").get(0).get("id").asText());
      }

      p.destroy(); // SIGTERM
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), "serve did not stop on SIGTERM");
      String printed = ServingLogs.read(log);
      assertTrue(printed.contains("closed the ledger in " + data), printed);
    } finally {
      p.destroyForcibly();
    }
    // The lock is released and the journal ends on a whole block: it opens for writing, with
    // everything the client saw acknowledged.
    try (LocalLedger ledger = LocalLedger.builder().blocks(BlockPolicy.manual()).open(data)) {
      Metagraph m = ledger.metagraph();
      assertEquals(2, m.size());
      assertEquals(100, m.stake(0));
      assertEquals(200, m.stake(1));
      assertEquals(2, ledger.nextNonce(key(1).id()));
    }
    // Every transaction the server was sent, in the order the ledger decided them, each where
    // the client's receipt says and sent by the client's key, not the signers'.
    List<JsonNode> lines = JsonLines.read(submissions);
    assertEquals(5, lines.size(), lines::toString);
    for (int i = 0; i < 4; i++) {
      JsonNode sealed = lines.get(i);
      assertEquals("sealed", sealed.get("outcome").asText());
      assertEquals(receipts.get(i).transaction().toHex(), sealed.get("hash").asText());
      assertEquals(receipts.get(i).block(), sealed.get("block").asLong());
      assertEquals(i % 2 == 0 ? "register" : "addStake", sealed.get("kind").asText());
      assertEquals(key(i / 2).id().toHex(), sealed.get("signer").asText());
      assertEquals(key(7).id().toHex(), sealed.get("caller").asText());
    }
    JsonNode refused = lines.get(4);
    assertEquals("refused", refused.get("outcome").asText());
    assertEquals("NONCE_REUSED", refused.get("reason").asText());
    assertTrue(refused.get("detail").asText().contains("nonce 0 was used"), refused::toString);
    // And every request: the client's five submits and its event stream, which ended when it
    // closed, each proved to be key 7's; the stream with every byte it was sent.
    List<JsonNode> calls = JsonLines.read(requests);
    List<JsonNode> mine = calls.stream()
        .filter(c -> c.get("peer").asText().equals(key(7).id().toHex())).toList();
    assertEquals(5, mine.stream().filter(c -> c.get("kind").asText().equals("submit")).count(),
        calls::toString);
    JsonNode stream = mine.stream().filter(c -> c.get("kind").asText().equals("events"))
        .findFirst().orElseThrow(() -> new AssertionError(calls.toString()));
    assertTrue(stream.get("verified").asBoolean() && stream.get("bytes").asLong() > 100,
        stream::toString);
    assertTrue(calls.stream().allMatch(c -> c.get("status").asText().equals("SUCCESS")),
        calls::toString);
  }


  /** {@code ledger serve --tls}: clients reach it over HTTPS, and only those that trust it. */
  @Test
  void serveWithTlsIsReadOverHttpsByClientsThatTrustIt() throws Exception {
    Path log = dir.resolve("serve.log");
    String ca = TestCertificates.file("ca.pem").toString();
    Path key = Files.copy(TestCertificates.file("peer.key"), dir.resolve("server.key"));
    Path cert = Files.copy(TestCertificates.file("peer.pem"), dir.resolve("server.pem"));
    Process p = serve(dir.resolve("ledger"), log, "--tls", key.toString(), cert.toString(),
        "--tls-reload", "PT0.1S");
    try {
      URI uri = ServingLogs.awaitServing(p, log);
      assertEquals("https", uri.getScheme(), ServingLogs.read(log));
      try (RemoteLedger remote = RemoteLedger.builder()
          .trustedCertificates(TestCertificates.file("ca.pem")).connect(List.of(uri))) {
        CliRunner show = CliRunner.run("ledger", "show", "--remote", uri.toString(), "--trust",
            ca);
        assertEquals(0, show.exitCode(), show.err());
        assertTrue(show.out().contains("chain  " + remote.chainId()), show.out());
      }
      CliRunner untrusting = CliRunner.run("ledger", "show", "--remote", uri.toString());
      assertEquals(Main.EXIT_FAILURE, untrusting.exitCode(), untrusting.out());
      assertTrue(untrusting.err().contains(uri.toString()), untrusting.err());
      // Renewed on disk: the server reloads it and new clients are shown the new certificate.
      Files.copy(TestCertificates.file("stranger.key"), key, StandardCopyOption.REPLACE_EXISTING);
      Files.copy(TestCertificates.file("stranger.pem"), cert, StandardCopyOption.REPLACE_EXISTING);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!ServingLogs.read(log).contains("reloaded the TLS certificate")
          && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      CliRunner renewed = CliRunner.run("ledger", "show", "--remote", uri.toString(), "--trust",
          TestCertificates.file("stranger.pem").toString());
      assertEquals(0, renewed.exitCode(), renewed.err() + ServingLogs.read(log));
    } finally {
      p.destroyForcibly();
      p.waitFor(60, TimeUnit.SECONDS);
    }
  }

  /** {@code ledger serve --tls-client-ca}: only clients that show a trusted certificate. */
  @Test
  void serveWithTlsClientCaServesOnlyClientsShowingATrustedCertificate() throws Exception {
    Path log = dir.resolve("serve.log");
    String ca = TestCertificates.file("ca.pem").toString();
    Process p = serve(dir.resolve("ledger"), log, "--tls",
        TestCertificates.file("peer.key").toString(),
        TestCertificates.file("peer.pem").toString(), "--tls-client-ca", ca);
    try {
      URI uri = ServingLogs.awaitServing(p, log);
      CliRunner show = CliRunner.run("ledger", "show", "--remote", uri.toString(), "--trust", ca,
          "--client-cert", TestCertificates.file("client.key").toString(),
          TestCertificates.file("client.pem").toString());
      assertEquals(0, show.exitCode(), show.err());
      assertTrue(show.out().contains("chain  "), show.out());
      CliRunner without = CliRunner.run("ledger", "show", "--remote", uri.toString(), "--trust",
          ca);
      assertEquals(Main.EXIT_FAILURE, without.exitCode(), without.out());
      assertTrue(without.err().contains(uri.toString()), without.err());
    } finally {
      p.destroyForcibly();
      p.waitFor(60, TimeUnit.SECONDS);
    }
    CliRunner noTls = CliRunner.run("ledger", "serve", "--data", dir.resolve("other").toString(),
        "--port", "0", "--tls-client-ca", ca);
    assertEquals(2, noTls.exitCode(), noTls.out());
    assertTrue(noTls.err().contains("--tls-client-ca needs --tls KEY CERT"), noTls.err());
  }

  /**
   * A relay in front of a server that asks for client certificates: it shows its {@code
   * --client-cert} upstream, serves its own clients over {@code --tls} or in cleartext, and with
   * {@code --tls-reload} takes its renewed client certificate from disk (a cleartext relay too,
   * which has no certificate of its own to watch).
   */
  @org.junit.jupiter.params.ParameterizedTest(name = "relay over TLS {0}")
  @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
  void aRelayShowsItsClientCertificateUpstreamAndReloadsIt(boolean relayOverTls)
      throws Exception {
    String ca = TestCertificates.file("ca.pem").toString();
    Path clientKey = Files.copy(TestCertificates.file("client.key"), dir.resolve("client.key"));
    Path clientCert = Files.copy(TestCertificates.file("client.pem"), dir.resolve("client.pem"));
    try (LocalLedger origin = LocalLedger.builder().genesis(Genesis.builder().build())
            .blocks(BlockPolicy.every(java.time.Duration.ofMillis(50))).openInMemory();
        io.bittensor.transport.LedgerServer upstream = io.bittensor.transport.LedgerServer
            .builder().ledger(origin).host("127.0.0.1").port(0)
            .tls(TestCertificates.file("peer.key"), TestCertificates.file("peer.pem"))
            .requireClientCertificates(TestCertificates.file("ca.pem")).start()) {
      Path log = dir.resolve("relay.log");
      List<String> command = ChildCli.command("ledger", "serve", "--upstream",
          upstream.uri().toString(), "--trust", ca, "--client-cert", clientKey.toString(),
          clientCert.toString(), "--tls-reload", "PT0.1S", "--host", "127.0.0.1", "--port", "0");
      if (relayOverTls) {
        command.addAll(List.of("--tls", TestCertificates.file("peer.key").toString(),
            TestCertificates.file("peer.pem").toString()));
      }
      Process p = new ProcessBuilder(command)
          .redirectErrorStream(true).redirectOutput(log.toFile()).start();
      try {
        URI relay = ServingLogs.awaitServing(p, log);
        assertEquals(relayOverTls ? "https" : "http", relay.getScheme(), relay.toString());
        List<String> show = relayOverTls
            ? List.of("ledger", "show", "--remote", relay.toString(), "--trust", ca)
            : List.of("ledger", "show", "--remote", relay.toString());
        CliRunner before = CliRunner.run(show.toArray(String[]::new));
        assertEquals(0, before.exitCode(), before.err());
        assertTrue(before.out().contains("chain  " + origin.chainId()), before.out());
        Files.setLastModifiedTime(clientCert, java.nio.file.attribute.FileTime.from(
            java.time.Instant.now().plusSeconds(5)));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        String line = "reloaded the TLS certificate from " + clientCert;
        while (!ServingLogs.read(log).contains(line) && System.nanoTime() < deadline) {
          Thread.sleep(20);
        }
        assertTrue(ServingLogs.read(log).contains(line), ServingLogs.read(log));
        CliRunner after = CliRunner.run(show.toArray(String[]::new));
        assertEquals(0, after.exitCode(), after.err());
        assertTrue(after.out().contains("chain  " + origin.chainId()), after.out());
      } finally {
        p.destroyForcibly();
        p.waitFor(60, TimeUnit.SECONDS);
      }
    }
  }

  /**
   * A relay's {@code --trust} file, the authority it trusts the upstream server by, is watched
   * under {@code --tls-reload} as its {@code --client-cert} is: an upstream that moved to a
   * certificate of another authority is reached again once the file says to trust it, without a
   * restart of the relay (a cleartext one, with no files of its own to watch).
   */
  @Test
  void aRelayTrustsAChangedTrustFileOnItsNextConnectionUpstream() throws Exception {
    Path trust = Files.copy(TestCertificates.file("ca.pem"), dir.resolve("trust.pem"));
    io.bittensor.transport.LedgerServer moved = null;
    try (LocalLedger origin = LocalLedger.builder().genesis(Genesis.builder().build())
            .blocks(BlockPolicy.manual()).openInMemory();
        io.bittensor.transport.LedgerServer first = io.bittensor.transport.LedgerServer
            .builder().ledger(origin).host("127.0.0.1").port(0)
            .tls(TestCertificates.file("peer.key"), TestCertificates.file("peer.pem")).start()) {
      int port = first.uri().getPort();
      ServingCli relay = ServingCli.embedded(Pattern.compile(" at (http://\\S+) \\(block "),
          "ledger", "serve", "--upstream", first.uri().toString(), "--trust", trust.toString(),
          "--tls-reload", "PT0.02S", "--host", "127.0.0.1", "--port", "0");
      try (RemoteLedger client = RemoteLedger.connect(relay.endpoint)) {
        assertEquals(Optional.empty(), client.account(key(0).id()), "read upstream");
        // The upstream restarts on its port with a certificate of another authority: the
        // relay's connections to it close, and it cannot make one the file does not trust.
        first.close();
        moved = io.bittensor.transport.LedgerServer.builder().ledger(origin).host("127.0.0.1")
            .port(port).tls(TestCertificates.file("stranger.key"),
                TestCertificates.file("stranger.pem")).start();
        assertThrows(io.bittensor.core.LedgerException.class,
            () -> client.account(key(0).id()), "the relay trusted the moved upstream already");
        // Told to trust the new authority beside the old one.
        Files.writeString(trust, Files.readString(TestCertificates.file("ca.pem"))
            + Files.readString(TestCertificates.file("stranger.pem")));
        relay.awaitPrinted("reloaded the trusted server certificates from " + trust);
        assertEquals(Optional.empty(), client.account(key(0).id()), relay.out.toString());
      } finally {
        assertEquals(0, relay.interruptAndAwaitExit(), relay.out + "\n" + relay.err);
        if (moved != null) {
          moved.close();
        }
      }
    }
  }

  /**
   * {@code ledger serve --upstream URL}: a relay in a child process in front of a server in this
   * JVM. Its clients register through it and get their receipts, {@code ledger show --remote}
   * and {@code ledger audit --remote} read through it, and SIGTERM stops it.
   */
  @org.junit.jupiter.params.ParameterizedTest(name = "audited {0}")
  @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
  void aRelayServesTheLedgerOfTheServerUpstream(boolean audited) throws Exception {
    Genesis genesis = Genesis.builder().chainName("relayed").createdAt(
        java.time.Instant.parse("2026-12-05T00:00:00Z")).params(LedgerParams.defaults())
        .allocate(key(0).id(), 1000).allocate(key(1).id(), 1000).build();
    try (LocalLedger origin = LocalLedger.builder().genesis(genesis)
            .blocks(BlockPolicy.every(java.time.Duration.ofMillis(50))).open(dir.resolve("o"));
        io.bittensor.transport.LedgerServer upstream = io.bittensor.transport.LedgerServer
            .builder().ledger(origin).host("127.0.0.1").port(0).start()) {
      Path log = dir.resolve("relay.log");
      List<String> cmd = ChildCli.command("ledger", "serve", "--upstream",
          upstream.uri().toString(), "--host", "127.0.0.1", "--port", "0");
      if (audited) {
        // Every block audited against the chain id before it is relayed, the replica on disk.
        cmd.addAll(List.of("--chain", origin.chainId().toHex(), "--replica",
            dir.resolve("replica").toString()));
      }
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(log.toFile()).start();
      try {
        URI relay = ServingLogs.awaitServing(p, log);
        assertTrue(ServingLogs.read(log).contains("from upstream [" + upstream.uri() + "]"
            + (audited ? ", audited" : " at")), ServingLogs.read(log));
        try (RemoteLedger client = RemoteLedger.connect(relay)) {
          Receipt r = client.submit(key(0), Transaction.register(
              URI.create("http://peer0:8091"), Modality.TEXT)).get(30, TimeUnit.SECONDS);
          assertTrue(client.awaitBlock(r.block(), java.time.Duration.ofSeconds(10)));
          assertEquals(origin.chainId(), client.chainId());
          assertEquals(1, origin.metagraph().size(), "registered upstream");
        }
        CliRunner show = CliRunner.run("ledger", "show", "--remote", relay.toString());
        assertEquals(0, show.exitCode(), show.err());
        assertTrue(show.out().contains("http://peer0:8091"), show.out());
        CliRunner audit = CliRunner.run("ledger", "audit", "--remote", relay.toString(),
            "--chain", origin.chainId().toHex());
        assertEquals(0, audit.exitCode(), audit.err());

        p.destroy(); // SIGTERM
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the relay did not stop on SIGTERM");
        assertTrue(ServingLogs.read(log).contains("stopped relaying"), ServingLogs.read(log));
      } finally {
        p.destroyForcibly();
      }
    }
    for (String[] bad : List.of(
        new String[] {"ledger", "serve", "--port", "0"},
        new String[] {"ledger", "serve", "--upstream", "http://127.0.0.1:9", "--data", "d"},
        new String[] {"ledger", "serve", "--upstream", "http://127.0.0.1:9", "--tau", "5"},
        new String[] {"ledger", "serve", "--data", "d", "--chain", "ab".repeat(32)},
        new String[] {"ledger", "serve", "--upstream", "http://127.0.0.1:9", "--replica", "r"})) {
      CliRunner r = CliRunner.run(bad);
      assertEquals(Main.EXIT_BAD_INPUT, r.exitCode(), String.join(" ", bad));
      assertTrue(r.err().contains("--upstream") || r.err().contains("--chain"), r.err());
    }
  }

  /**
   * A --replica that names a file is the command line's mistake, said so by a relay and by an
   * audit; not the upstream ledger failing its audit.
   */
  @Test
  void aReplicaThatIsAFileIsNamedNotTheUpstreamsAudit() throws Exception {
    Path file = Files.writeString(dir.resolve("replica.txt"), "mine");
    try (LocalLedger origin = LocalLedger.builder().genesis(Genesis.builder()
            .params(LedgerParams.defaults()).build())
            .blocks(BlockPolicy.manual()).openInMemory();
        io.bittensor.transport.LedgerServer upstream = io.bittensor.transport.LedgerServer
            .builder().ledger(origin).host("127.0.0.1").port(0).start()) {
      for (String[] args : List.of(
          new String[] {"ledger", "serve", "--upstream", upstream.uri().toString(), "--chain",
              origin.chainId().toHex(), "--replica", file.toString(), "--host", "127.0.0.1",
              "--port", "0"},
          new String[] {"ledger", "audit", "--remote", upstream.uri().toString(), "--replica",
              file.toString()})) {
        CliRunner r = CliRunner.run(args);
        assertEquals(Main.EXIT_BAD_INPUT, r.exitCode(), args[1] + ": " + r.err());
        assertTrue(r.err().contains("--replica " + file + " is a file, not a folder"),
            args[1] + ": " + r.err());
      }
    }
    assertEquals("mine", Files.readString(file));
  }

  /** A --port out of range is refused before the ledger is opened: no block is sealed. */
  /** Clients behind one proxy share an address: the operator raises (or lowers) the bound. */
  @Test
  void maxEventStreamsPerAddressBoundsOneAddressesStreams() throws Exception {
    Path log = dir.resolve("serve.log");
    Process p = serve(dir.resolve("ledger"), log, "--allow-anonymous",
        "--max-event-streams-per-address", "1");
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    try {
      URI uri = ServingLogs.awaitServing(p, log);
      HttpRequest events = HttpRequest.newBuilder(uri.resolve("/v1/ledger/events"))
          .header("Content-Type", "application/x-protobuf")
          .POST(HttpRequest.BodyPublishers.ofByteArray(LedgerRequest.newBuilder().setVersion(1)
              .setBody(EventsRequest.getDefaultInstance().toByteString()).build().toByteArray()))
          .build();
      // Each answer returns at its head; the first stream stays open while the second is asked.
      HttpResponse<InputStream> first =
          http.send(events, HttpResponse.BodyHandlers.ofInputStream());
      try (InputStream open = first.body()) {
        assertEquals(200, first.statusCode(), ServingLogs.read(log));
        HttpResponse<InputStream> second =
            http.send(events, HttpResponse.BodyHandlers.ofInputStream());
        second.body().close();
        assertEquals(429, second.statusCode(), "the second stream from one address");
      }
    } finally {
      p.destroyForcibly();
      p.waitFor(60, TimeUnit.SECONDS);
    }
    CliRunner zero = CliRunner.run("ledger", "serve", "--data", dir.resolve("other").toString(),
        "--port", "0", "--max-event-streams-per-address", "0");
    assertEquals(Main.EXIT_BAD_INPUT, zero.exitCode(), zero.err());
    assertTrue(zero.err().contains("--max-event-streams-per-address must be >= 1, was 0"),
        zero.err());
    assertTrue(Files.notExists(dir.resolve("other")), "refused before a ledger was made");
  }

  @Test
  void aPortOutOfRangeLeavesTheLedgerAsItWas() throws IOException {
    Path data = dir.resolve("ledger");
    assertEquals(0, CliRunner.run("ledger", "init", "--data", data.toString()).exitCode());
    byte[] journal = Files.readAllBytes(data.resolve("journal.btl"));
    for (String port : List.of("70000", "-1")) {
      CliRunner r = CliRunner.run("ledger", "serve", "--data", data.toString(), "--port", port,
          "--block-ms", "1");
      assertEquals(Main.EXIT_BAD_INPUT, r.exitCode(), r.err());
      assertTrue(r.err().contains("--port must be 0 to 65535, was " + port), r.err());
    }
    assertTrue(java.util.Arrays.equals(journal, Files.readAllBytes(data.resolve("journal.btl"))),
        "the journal changed");
  }

  /**
   * A --port in use is found before the ledger is opened: the command fails naming the port,
   * and no block is sealed into the journal of the ledger it did not serve.
   */
  @Test
  void aPortInUseLeavesTheLedgerAsItWas() throws IOException {
    Path data = dir.resolve("ledger");
    assertEquals(0, CliRunner.run("ledger", "init", "--data", data.toString()).exitCode());
    byte[] journal = Files.readAllBytes(data.resolve("journal.btl"));
    try (ServerSocket taken = new ServerSocket(0, 1,
        java.net.InetAddress.getByName("127.0.0.1"))) {
      String port = String.valueOf(taken.getLocalPort());
      CliRunner r = CliRunner.run("ledger", "serve", "--data", data.toString(),
          "--host", "127.0.0.1", "--port", port, "--block-ms", "1");
      assertEquals(Main.EXIT_FAILURE, r.exitCode(), r.err());
      assertEquals(1, r.err().lines().count(), r.err());
      assertTrue(r.err().contains("cannot serve the ledger on 127.0.0.1:" + port), r.err());
    }
    assertTrue(java.util.Arrays.equals(journal, Files.readAllBytes(data.resolve("journal.btl"))),
        "the journal changed");
  }

  /**
   * The --port held while the ledger opens is the one the server serves on, never free in
   * between: while a relay waits for its upstream the port cannot be bound by another, and a
   * client that connected then is served once the server starts. Before the fix the command
   * closed the port it held and the server bound it anew: that client was reset, and another
   * process could have taken the port in between.
   */
  @Test
  void aClientThatConnectsWhileTheLedgerOpensIsServedOnTheHeldPort() throws Exception {
    Genesis genesis = Genesis.builder().params(LedgerParams.defaults())
        .allocate(key(0).id(), 1000).build();
    int port;
    try (ServerSocket free = new ServerSocket(0, 1,
        java.net.InetAddress.getByName("127.0.0.1"))) {
      port = free.getLocalPort();
    }
    // The upstream is bound but not served yet: the relay's connection waits in its backlog.
    java.nio.channels.ServerSocketChannel upstreamPort =
        java.nio.channels.ServerSocketChannel.open();
    upstreamPort.bind(new java.net.InetSocketAddress("127.0.0.1", 0));
    URI upstreamUri = URI.create("http://127.0.0.1:"
        + ((java.net.InetSocketAddress) upstreamPort.getLocalAddress()).getPort());
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int[] exit = {-1};
    Thread serving = new Thread(() -> exit[0] = Main.run(new String[] {"ledger", "serve",
        "--upstream", upstreamUri.toString(), "--host", "127.0.0.1", "--port",
        String.valueOf(port)}, new java.io.PrintWriter(out, true),
        new java.io.PrintWriter(err, true)), "relay");
    serving.setDaemon(true);
    try (LocalLedger origin = LocalLedger.builder().genesis(genesis)
            .blocks(BlockPolicy.manual()).openInMemory();
        upstreamPort) {
      serving.start();
      java.net.Socket early = null;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (early == null) {
        try {
          early = new java.net.Socket("127.0.0.1", port); // waits in the held port's backlog
        } catch (java.net.ConnectException notYet) {
          assertTrue(System.nanoTime() < deadline && serving.isAlive(), out + "\n" + err);
          Thread.sleep(10);
        }
      }
      try (java.net.Socket client = early) {
        assertThrows(java.net.BindException.class, () -> {
          try (ServerSocket other = new ServerSocket()) {
            other.bind(new java.net.InetSocketAddress("127.0.0.1", port));
          }
        }, "the port is held while the ledger opens");
        client.getOutputStream().write("GET /v1/ledger/metagraph HTTP/1.1\r\nHost: relay\r\n\r\n"
            .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        client.setSoTimeout(20_000);
        try (io.bittensor.transport.LedgerServer upstream = io.bittensor.transport.LedgerServer
            .builder().ledger(origin).channel(upstreamPort).start()) {
          String status = new String(client.getInputStream().readNBytes(12),
              java.nio.charset.StandardCharsets.US_ASCII);
          assertTrue(status.startsWith("HTTP/1.1 4"), "served: [" + status + "] " + out + err);
          while (!out.toString().contains("serving ledger")) {
            assertTrue(System.nanoTime() < deadline && serving.isAlive(), out + "\n" + err);
            Thread.sleep(10);
          }
          assertTrue(out.toString().contains("at http://127.0.0.1:" + port), out.toString());
          serving.interrupt();
          serving.join(TimeUnit.SECONDS.toMillis(30));
        }
      }
    } finally {
      serving.interrupt();
      serving.join(TimeUnit.SECONDS.toMillis(30));
    }
    assertEquals(0, exit[0], out + "\n" + err);
  }

  /**
   * TLS files that do not read and a metrics port in use are found before the ledger is opened:
   * no block is sealed.
   */
  @Test
  void badTlsFilesOrAMetricsPortInUseLeaveTheLedgerAsItWas() throws IOException {
    Path data = dir.resolve("ledger");
    assertEquals(0, CliRunner.run("ledger", "init", "--data", data.toString()).exitCode());
    byte[] journal = Files.readAllBytes(data.resolve("journal.btl"));
    String key = TestCertificates.file("peer.key").toString();
    String cert = TestCertificates.file("peer.pem").toString();
    String missing = dir.resolve("missing.pem").toString();
    try (ServerSocket taken = new ServerSocket(0, 1,
        java.net.InetAddress.getByName("127.0.0.1"))) {
      for (List<String> options : List.of(List.of("--tls", missing, cert),
          List.of("--tls", key, cert, "--tls-client-ca", missing),
          List.of("--metrics-port", String.valueOf(taken.getLocalPort())))) {
        List<String> args = new ArrayList<>(List.of("ledger", "serve", "--data",
            data.toString(), "--host", "127.0.0.1", "--port", "0", "--block-ms", "1"));
        args.addAll(options);
        CliRunner r = CliRunner.run(args.toArray(String[]::new));
        assertTrue(r.exitCode() != 0, options + ": " + r.out());
        assertEquals(1, r.err().lines().count(), options + ": " + r.err());
        assertTrue(java.util.Arrays.equals(journal,
            Files.readAllBytes(data.resolve("journal.btl"))), options + ": the journal changed");
      }
    }
  }

  @Test
  void serveRefusesGenesisOptionsForALedgerThatExists() {
    Path data = dir.resolve("ledger");
    CliRunner init = CliRunner.run("ledger", "init", "--data", data.toString(),
        "--allocate", key(0).id().toHex() + "=10");
    assertEquals(0, init.exitCode(), init.err());
    CliRunner r = CliRunner.run("ledger", "serve", "--data", data.toString(), "--port", "0",
        "--tau", "5");
    assertEquals(Main.EXIT_BAD_INPUT, r.exitCode());
    assertTrue(r.err().contains("already holds a ledger"), r.err());
  }

  @Test
  void aLedgerCreatedByAServeThatCannotListenIsRemovedAndTheSameCommandRunsAgain()
      throws IOException {
    Path fresh = dir.resolve("fresh");
    Path shared = Files.createDirectories(dir.resolve("shared"));
    Files.writeString(shared.resolve("notes.txt"), "mine");
    Path existing = dir.resolve("existing");
    CliRunner init = CliRunner.run("ledger", "init", "--data", existing.toString(),
        "--allocate", key(0).id().toHex() + "=10");
    assertEquals(0, init.exitCode(), init.err());
    try (ServerSocket taken = new ServerSocket(0, 50,
        java.net.InetAddress.getLoopbackAddress())) {
      String port = String.valueOf(taken.getLocalPort());
      for (int run = 0; run < 2; run++) { // the second run is not told the ledger exists
        CliRunner r = CliRunner.run("ledger", "serve", "--data", fresh.toString(),
            "--host", "127.0.0.1", "--port", port, "--allocate", key(0).id().toHex() + "=10");
        assertEquals(Main.EXIT_FAILURE, r.exitCode(), r.err());
        assertTrue(r.err().contains(port) && !r.err().contains("already holds"), r.err());
        assertTrue(Files.notExists(fresh), "run " + run + " left " + fresh);
      }
      CliRunner inShared = CliRunner.run("ledger", "serve", "--data", shared.toString(),
          "--host", "127.0.0.1", "--port", port, "--tau", "5");
      assertEquals(Main.EXIT_FAILURE, inShared.exitCode(), inShared.err());
      try (var left = Files.list(shared)) {
        assertEquals(List.of(shared.resolve("notes.txt")), left.toList());
      }
      CliRunner reopened = CliRunner.run("ledger", "serve", "--data", existing.toString(),
          "--host", "127.0.0.1", "--port", port);
      assertEquals(Main.EXIT_FAILURE, reopened.exitCode(), reopened.err());
    }
    // A ledger that was there before is never removed.
    try (LocalLedger ledger = LocalLedger.builder().blocks(BlockPolicy.manual()).open(existing)) {
      assertEquals(10, ledger.account(key(0).id()).orElseThrow().balance());
    }
  }

  /**
   * Embedded ({@link Main#run} on a thread of the caller's), an interrupt stops the serve as
   * SIGTERM does: the server, the metrics port and the logs are closed, the ledger sealed and its
   * folder released, and the command exits 0.
   */
  @Test
  void aServeInterruptedInThisJvmClosesWhatItOpenedAndExitsZero() throws Exception {
    Path data = dir.resolve("ledger");
    ServingCli serving = ServingCli.embedded(
        Pattern.compile("at (http://\\S+) \\(block \\d+\\)[\\s\\S]*metrics on (http://\\S+)"),
        "ledger", "serve", "--data", data.toString(), "--host", "127.0.0.1", "--port", "0",
        "--block-ms", "50", "--metrics-port", "0",
        "--access-log", dir.resolve("requests.jsonl").toString(),
        "--allocate", key(0).id().toHex() + "=10");
    URI served = serving.endpoint;
    URI metrics = URI.create(serving.printed.group(2));
    StringWriter out = serving.out;

    assertEquals(0, serving.interruptAndAwaitExit(), out + "\n" + serving.err);
    assertTrue(out.toString().contains("closed the ledger in " + data), out.toString());
    for (URI closed : List.of(served, metrics)) {
      assertThrows(IOException.class, () -> new java.net.Socket(closed.getHost(),
          closed.getPort()).close(), closed + " still listens");
    }
    // The folder is released within this JVM too: it opens for writing.
    try (LocalLedger ledger = LocalLedger.builder().blocks(BlockPolicy.manual()).open(data)) {
      assertEquals(10, ledger.account(key(0).id()).orElseThrow().balance());
    }
  }

  @Test
  void showRemoteNamesAServerItCannotReach() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    CliRunner r = CliRunner.run("ledger", "show", "--remote", "http://127.0.0.1:" + port);
    assertEquals(Main.EXIT_FAILURE, r.exitCode());
    assertTrue(r.err().contains("cannot reach the ledger at http://127.0.0.1:" + port), r.err());

    CliRunner neither = CliRunner.run("ledger", "show");
    assertEquals(Main.EXIT_BAD_INPUT, neither.exitCode());
    assertTrue(neither.err().contains("--data DIR or --remote URL"), neither.err());
  }
}
