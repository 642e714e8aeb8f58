package io.bittensor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Genesis;
import io.bittensor.core.Keypair;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Modality;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Transaction;
import io.bittensor.core.testing.TestCertificates;
import io.bittensor.transport.BuiltinPeers;
import io.bittensor.transport.LedgerServer;
import io.bittensor.transport.PeerServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class PeerCommandTest {
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    return Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
  }

  @Test
  void queryPrintsStatusShapeAndLatencyAndExitsZeroOnSuccess() throws IOException {
    try (PeerServer server = PeerServer.newBuilder(BuiltinPeers.deterministic(32))
        .host("127.0.0.1").port(0).allowAnonymous(true).start()) {
      int code = run("peer", "query", "--endpoint", server.endpoint().toString(),
          "--modality", "TEXT", "--shape", "2,5");
      assertEquals(0, code, out + "\n" + err);
      assertTrue(out.toString().contains("status  SUCCESS (0)"), out.toString());
      assertTrue(out.toString().contains("shape   [2, 5, 32]"), out.toString());
      assertTrue(out.toString().matches("(?s).*latency \\d+\\.\\d ms.*"), out.toString());
    }
  }

  @Test
  void queryExitsOneWithTheStatusWhenThePeerRefuses() throws IOException {
    try (PeerServer server = PeerServer.newBuilder(BuiltinPeers.deterministic(32))
        .host("127.0.0.1").port(0).start()) { // signatures required; the query is unsigned
      int code = run("peer", "query", "--endpoint", server.endpoint().toString());
      assertEquals(1, code, out.toString());
      assertTrue(out.toString().contains("UNAUTHENTICATED"), out.toString());
    }
  }

  @Test
  void aMetadataOnlySignatureIsServedOnlyWhereAccepted(@TempDir Path dir) throws IOException {
    Path key = dir.resolve("caller.key");
    Keypair.generate().save(key);
    try (PeerServer strict = PeerServer.newBuilder(BuiltinPeers.deterministic(32))
            .host("127.0.0.1").port(0).start();
        PeerServer accepting = PeerServer.newBuilder(BuiltinPeers.deterministic(32))
            .host("127.0.0.1").port(0).acceptMetadataOnlySignatures(true).start()) {
      assertEquals(1, run("peer", "query", "--endpoint", strict.endpoint().toString(),
          "--key", key.toString(), "--metadata-only-signature"), out.toString());
      assertTrue(out.toString().contains("UNAUTHENTICATED"), out.toString());
      assertEquals(0, run("peer", "query", "--endpoint", accepting.endpoint().toString(),
          "--key", key.toString(), "--metadata-only-signature"), out + "\n" + err);
      assertTrue(out.toString().contains("status  SUCCESS (0)"), out.toString());
    }
    assertEquals(2, run("peer", "query", "--endpoint", "http://127.0.0.1:1",
        "--metadata-only-signature"));
    assertTrue(err.toString().contains("needs --key"), err.toString());
  }

  @Test
  void aSealedKeySignsWithItsPassphraseFileAndIsRefusedWithoutIt(@TempDir Path dir)
      throws Exception {
    Path key = dir.resolve("caller.key");
    Keypair.generate().save(key, "open sesame".toCharArray());
    Path right = KeysCommandTest.passphraseFile(dir, "open sesame\n");
    Path wrong = KeysCommandTest.passphraseFile(dir, "open sesam\n");
    try (PeerServer server = PeerServer.newBuilder(BuiltinPeers.deterministic(32))
        .host("127.0.0.1").port(0).start()) { // signatures required
      String endpoint = server.endpoint().toString();
      assertEquals(2, run("peer", "query", "--endpoint", endpoint, "--key", key.toString()));
      assertTrue(err.toString().contains(key + " is sealed under a passphrase: give"
          + " --passphrase-file FILE"), err.toString());
      assertEquals(2, run("peer", "query", "--endpoint", endpoint, "--key", key.toString(),
          "--passphrase-file", wrong.toString()));
      assertTrue(err.toString().contains("wrong passphrase for key file " + key), err.toString());
      assertEquals(0, run("peer", "query", "--endpoint", endpoint, "--key", key.toString(),
          "--passphrase-file", right.toString()), out + "\n" + err);
      assertTrue(out.toString().contains("status  SUCCESS (0)"), out.toString());
    }
  }

  @Test
  void serveWithTlsIsQueriedOverHttpsByAClientThatTrustsItsCertificate() throws Exception {
    String key = TestCertificates.file("peer.key").toString();
    String cert = TestCertificates.file("peer.pem").toString();
    String ca = TestCertificates.file("ca.pem").toString();
    try (ServingCli serving = ServingCli.start("--output-dim", "16", "--tls", key, cert)) {
      String endpoint = serving.endpoint.toString();
      assertTrue(endpoint.startsWith("https://"), serving.out.toString());
      assertEquals(0, run("peer", "query", "--endpoint", endpoint, "--trust", ca),
          out + "\n" + err);
      assertTrue(out.toString().contains("status  SUCCESS (0)"), out.toString());
      out.getBuffer().setLength(0);
      assertEquals(0, run("peer", "query", "--endpoint", endpoint, "--trust", ca, "--h2"),
          out + "\n" + err);
      assertTrue(out.toString().contains("status  SUCCESS (0)"), out.toString());
      out.getBuffer().setLength(0);
      // Without --trust the JDK's authorities decide, and they do not know the test one.
      assertEquals(1, run("peer", "query", "--endpoint", endpoint), out + "\n" + err);
      assertTrue(out.toString().contains("UNAVAILABLE"), out.toString());
    }
    assertEquals(2, run("peer", "serve", "--port", "0", "--tls", cert, cert));
    assertTrue(err.toString().contains("PKCS#8"), err.toString());
    assertEquals(2, run("peer", "query", "--endpoint", "https://127.0.0.1:1", "--trust", key));
    assertTrue(err.toString().contains("peer.key"), err.toString());
  }

  @Test
  void serveWithTlsClientCaAnswersOnlyQueriesShowingATrustedCertificate() throws Exception {
    String key = TestCertificates.file("peer.key").toString();
    String cert = TestCertificates.file("peer.pem").toString();
    String ca = TestCertificates.file("ca.pem").toString();
    String clientKey = TestCertificates.file("client.key").toString();
    String clientCert = TestCertificates.file("client.pem").toString();
    try (ServingCli serving = ServingCli.start("--output-dim", "16", "--tls", key, cert,
        "--tls-client-ca", ca, "--metrics-port", "0")) {
      String endpoint = serving.endpoint.toString();
      for (String h2 : new String[] {"--h2", "--seed=2"}) {
        out.getBuffer().setLength(0);
        assertEquals(0, run("peer", "query", "--endpoint", endpoint, "--trust", ca,
            "--client-cert", clientKey, clientCert, h2), out + "\n" + err);
        assertTrue(out.toString().contains("status  SUCCESS (0)"), out.toString());
      }
      out.getBuffer().setLength(0);
      assertEquals(1, run("peer", "query", "--endpoint", endpoint, "--trust", ca),
          out + "\n" + err);
      assertTrue(out.toString().contains("UNAVAILABLE"), out.toString());
      out.getBuffer().setLength(0);
      assertEquals(1, run("peer", "query", "--endpoint", endpoint, "--trust", ca,
          "--client-cert", TestCertificates.file("stranger.key").toString(),
          TestCertificates.file("stranger.pem").toString()), out + "\n" + err);
      assertTrue(out.toString().contains("UNAVAILABLE"), out.toString());
      // The two refused queries' handshakes, counted for Prometheus (a query may retry).
      Matcher at = serving.awaitPrinted(
          Pattern.compile("metrics on (http://127\\.0\\.0\\.1:\\d+/metrics)\\R"));
      Pattern failed = Pattern.compile("(?m)^bittensor_tls_handshakes_failed_total (\\d+)");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      long counted = 0;
      while (counted < 2 && System.nanoTime() < deadline) {
        String text = java.net.http.HttpClient.newHttpClient().send(
            java.net.http.HttpRequest.newBuilder(URI.create(at.group(1))).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = failed.matcher(text);
        assertTrue(m.find(), text);
        counted = Long.parseLong(m.group(1));
        Thread.sleep(counted < 2 ? 20 : 0);
      }
      assertTrue(counted >= 2 && counted <= 8, "refused handshakes counted: " + counted);
    }
    assertEquals(2, run("peer", "serve", "--port", "0", "--tls-client-ca", ca));
    assertTrue(err.toString().contains("--tls-client-ca needs --tls KEY CERT"), err.toString());
    assertEquals(2, run("peer", "query", "--endpoint", "https://127.0.0.1:1", "--client-cert",
        TestCertificates.file("stranger.key").toString(), clientCert));
    assertTrue(err.toString().contains("--client-cert") && err.toString().contains("stranger.key"),
        err.toString());
  }

  @Test
  void serveWithAnAccessLogWritesALineForEveryCallBesideItsMetrics(@TempDir Path dir)
      throws Exception {
    String ca = TestCertificates.file("ca.pem").toString();
    Path log = dir.resolve("calls.jsonl");
    Path key = dir.resolve("caller.key");
    Keypair caller = Keypair.generate();
    caller.save(key);
    try (ServingCli serving = ServingCli.start("--output-dim", "16",
        "--tls", TestCertificates.file("peer.key").toString(),
        TestCertificates.file("peer.pem").toString(), "--tls-client-ca", ca,
        "--metrics-port", "0", "--access-log", log.toString())) {
      serving.awaitPrinted("calls logged to " + log);
      String endpoint = serving.endpoint.toString();
      String[] clientCert = {"--client-cert", TestCertificates.file("client.key").toString(),
          TestCertificates.file("client.pem").toString()};
      List<String> signed = new ArrayList<>(List.of("peer", "query", "--endpoint", endpoint,
          "--trust", ca, "--key", key.toString()));
      signed.addAll(List.of(clientCert));
      assertEquals(0, run(signed.toArray(String[]::new)), out + "\n" + err);
      List<String> unsigned =
          new ArrayList<>(List.of("peer", "query", "--endpoint", endpoint, "--trust", ca));
      unsigned.addAll(List.of(clientCert));
      assertEquals(0, run(unsigned.toArray(String[]::new)), out + "\n" + err);
      // The metrics still count: the two listeners hear the calls side by side.
      Matcher at = serving.awaitPrinted(
          Pattern.compile("metrics on (http://127\\.0\\.0\\.1:\\d+/metrics)\\R"));
      String text = java.net.http.HttpClient.newHttpClient().send(
          java.net.http.HttpRequest.newBuilder(URI.create(at.group(1))).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString()).body();
      assertTrue(Pattern.compile("(?m)^bittensor_peer_calls_seconds_count\\{kind=\"FORWARD\","
          + "side=\"server\",status=\"SUCCESS\"\\} 2(\\.0)?$").matcher(text).find(), text);
    }
    List<String> lines = Files.readAllLines(log);
    assertEquals(2, lines.size(), lines.toString());
    com.fasterxml.jackson.databind.ObjectMapper json =
        new com.fasterxml.jackson.databind.ObjectMapper();
    var first = json.readTree(lines.get(0));
    assertEquals("server", first.get("side").asText());
    assertEquals(caller.id().toHex(), first.get("peer").asText());
    assertTrue(first.get("verified").asBoolean(), lines.get(0));
    assertEquals("SUCCESS", first.get("status").asText());
    assertEquals("CN=client", first.get("certificate").asText());
    var second = json.readTree(lines.get(1));
    assertTrue(second.get("peer").isNull(), lines.get(1));
    assertFalse(second.get("verified").asBoolean(), lines.get(1));
    assertEquals("SUCCESS", second.get("status").asText(), lines.get(1));
    assertEquals(2, run("peer", "serve", "--port", "0", "--access-log", dir.toString()));
    assertTrue(err.toString().contains(dir.toString()) && err.toString().contains("directory"),
        err.toString());
  }

  /** With --tls-reload, the --tls-client-ca file is watched too: a member added is let in. */
  @Test
  void serveWithTlsReloadLetsInAClientCertificateAddedToTheClientCa(@TempDir Path dir)
      throws Exception {
    Path trusted = Files.copy(TestCertificates.file("stranger.pem"), dir.resolve("members.pem"));
    String ca = TestCertificates.file("ca.pem").toString();
    String[] query = {"peer", "query", "--trust", ca, "--client-cert",
        TestCertificates.file("client.key").toString(),
        TestCertificates.file("client.pem").toString(), "--endpoint"};
    try (ServingCli serving = ServingCli.start("--output-dim", "16", "--tls",
        TestCertificates.file("peer.key").toString(), TestCertificates.file("peer.pem").toString(),
        "--tls-client-ca", trusted.toString(), "--tls-reload", "PT0.1S")) {
      String[] args = java.util.Arrays.copyOf(query, query.length + 1);
      args[query.length] = serving.endpoint.toString();
      assertEquals(1, run(args), "not a member yet: " + out);
      Files.writeString(trusted, Files.readString(trusted)
          + Files.readString(TestCertificates.file("client.pem")));
      Files.setLastModifiedTime(trusted, java.nio.file.attribute.FileTime.from(
          java.time.Instant.now().plusSeconds(5)));
      serving.awaitPrinted("reloaded the trusted client certificates from " + trusted);
      out.getBuffer().setLength(0);
      assertEquals(0, run(args), out + "\n" + err);
      assertTrue(out.toString().contains("status  SUCCESS (0)"), out.toString());
    }
  }

  @Test
  void serveWithTlsReloadServesACertificateRenewedOnDisk(@TempDir Path dir) throws Exception {
    Path key = dir.resolve("server.key");
    Path cert = dir.resolve("server.pem");
    Files.copy(TestCertificates.file("peer.key"), key);
    Files.copy(TestCertificates.file("peer.pem"), cert);
    String ca = TestCertificates.file("ca.pem").toString();
    String stranger = TestCertificates.file("stranger.pem").toString();
    try (ServingCli serving = ServingCli.start("--output-dim", "16", "--tls", key.toString(),
        cert.toString(), "--tls-reload", "PT0.1S")) {
      String endpoint = serving.endpoint.toString();
      assertEquals(0, run("peer", "query", "--endpoint", endpoint, "--trust", ca),
          out + "\n" + err);
      // Renewed on disk, as certbot would: the next connection is shown the new certificate.
      Files.copy(TestCertificates.file("stranger.key"), key,
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      Files.copy(TestCertificates.file("stranger.pem"), cert,
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      serving.awaitPrinted("reloaded the TLS certificate from " + cert);
      out.getBuffer().setLength(0);
      assertEquals(0, run("peer", "query", "--endpoint", endpoint, "--trust", stranger),
          out + "\n" + err);
      assertEquals(1, run("peer", "query", "--endpoint", endpoint, "--trust", ca),
          "the old authority's certificate is no longer served: " + out);
    }
    assertEquals(2, run("peer", "serve", "--port", "0", "--tls-reload", "PT1M"));
    assertTrue(err.toString().contains("--tls-reload needs --tls KEY CERT"), err.toString());
  }

  @Test
  void serveMembersOfALedgerAnswersItsStakedKeysOnly(@TempDir Path dir) throws Exception {
    Path key = dir.resolve("member.key");
    Keypair member = newKeyIn(key);
    try (LocalLedger ledger = ledgerFunding(member);
        LedgerServer ledgerServer = serve(ledger);
        ServingCli serving = ServingCli.start("--output-dim", "16", "--members-of",
            ledgerServer.uri().toString(), "--min-stake", "10")) {
      String endpoint = serving.endpoint.toString();
      assertEquals(1, run("peer", "query", "--endpoint", endpoint, "--key", key.toString()),
          out.toString());
      assertTrue(out.toString().contains("UNAUTHENTICATED"), out.toString());
      var joined = ledger.submit(member, Transaction.register(URI.create("http://127.0.0.1:9"),
          Modality.TEXT));
      var staked = ledger.submit(SignedTransaction.sign(member, ledger.chainId(), 1,
          Transaction.addStake(10)));
      ledger.produceBlock();
      joined.get(10, TimeUnit.SECONDS);
      staked.get(10, TimeUnit.SECONDS);
      assertEquals(0, queryUntilServed(endpoint, key), "registered with 10 staked: " + out);
      out.getBuffer().setLength(0);
      assertEquals(1, run("peer", "query", "--endpoint", endpoint), "unsigned: " + out);
      assertTrue(out.toString().contains("UNAUTHENTICATED"), out.toString());
      serving.awaitPrinted("serving the members of " + ledgerServer.uri()
          + " holding at least 10 staked");
    }
    assertEquals(1, run("peer", "serve", "--port", "0", "--members-of", "http://127.0.0.1:9"),
        err.toString());
    assertTrue(err.toString().contains("cannot reach the ledger at http://127.0.0.1:9"),
        err.toString());
    assertEquals(1, err.toString().split("cannot reach", -1).length - 1,
        "said once: " + err);
  }

  /**
   * A replicated ledger's members, comma-separated as every other ledger option takes them: the
   * peer goes on following the chain through the next server when the one it used goes.
   */
  @Test
  void serveMembersOfSeveralServersMovesOnWhenOneGoes(@TempDir Path dir) throws Exception {
    Path key = dir.resolve("member.key");
    Keypair member = newKeyIn(key);
    try (LocalLedger ledger = ledgerFunding(member);
        LedgerServer first = serve(ledger);
        LedgerServer second = serve(ledger)) {
      String both = first.uri() + "," + second.uri();
      try (ServingCli serving = ServingCli.start("--output-dim", "16", "--members-of", both)) {
        // Printed after the line naming the endpoint, which ServingCli waited for.
        serving.awaitPrinted("serving the members of " + both);
        first.close(); // the member the peer followed goes
        var joined = ledger.submit(member, Transaction.register(
            URI.create("http://127.0.0.1:9"), Modality.TEXT));
        ledger.produceBlock();
        joined.get(10, TimeUnit.SECONDS);
        assertEquals(0, queryUntilServed(serving.endpoint.toString(), key),
            "registered after the first server went: " + out + serving.out);
      }
    }
  }

  private static Keypair newKeyIn(Path file) throws IOException {
    Keypair k = Keypair.generate();
    k.save(file);
    return k;
  }

  private static LedgerServer serve(LocalLedger ledger) throws IOException {
    return LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0).start();
  }

  /** An in-memory ledger that seals when told, whose genesis gives {@code member} 1,000. */
  private static LocalLedger ledgerFunding(Keypair member) {
    return LocalLedger.builder().genesis(Genesis.builder().allocate(member.id(), 1_000).build())
        .blocks(BlockPolicy.manual()).openInMemory();
  }

  /**
   * Queries {@code endpoint} signed with {@code key} until it answers (the server follows the
   * ledger's members a moment after a block) or 10 s pass; the last exit code.
   */
  private int queryUntilServed(String endpoint, Path key) {
    int code = 1;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (code != 0 && System.nanoTime() < deadline) {
      out.getBuffer().setLength(0);
      code = run("peer", "query", "--endpoint", endpoint, "--key", key.toString());
    }
    return code;
  }

  /**
   * {@code --members-of} an https:// ledger server signed by a private authority that serves only
   * clients with a certificate: {@code --members-trust} and {@code --members-client-cert}.
   */
  @Test
  void serveMembersOfAnHttpsLedgerAskingForClientCertificates(@TempDir Path dir)
      throws Exception {
    Keypair member = Keypair.generate();
    Path key = dir.resolve("member.key");
    member.save(key);
    String ca = TestCertificates.file("ca.pem").toString();
    String clientKey = TestCertificates.file("client.key").toString();
    String clientCert = TestCertificates.file("client.pem").toString();
    Genesis genesis = Genesis.builder().allocate(member.id(), 1_000).build();
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis)
            .blocks(BlockPolicy.manual()).openInMemory();
        LedgerServer ledgerServer = LedgerServer.builder().ledger(ledger).host("127.0.0.1")
            .port(0).tls(TestCertificates.file("peer.key"), TestCertificates.file("peer.pem"))
            .requireClientCertificates(TestCertificates.file("ca.pem")).start()) {
      String uri = ledgerServer.uri().toString();
      assertTrue(uri.startsWith("https://"), uri);
      // Without the client certificate the ledger server turns the client away.
      assertEquals(1, run("peer", "serve", "--port", "0", "--members-of", uri,
          "--members-trust", ca), err.toString());
      assertTrue(err.toString().contains(uri), err.toString());
      err.getBuffer().setLength(0);
      try (ServingCli serving = ServingCli.start("--output-dim", "16", "--members-of", uri,
          "--members-trust", ca, "--members-client-cert", clientKey, clientCert)) {
        String endpoint = serving.endpoint.toString();
        assertEquals(1, run("peer", "query", "--endpoint", endpoint, "--key", key.toString()),
            out.toString());
        assertTrue(out.toString().contains("UNAUTHENTICATED"), out.toString());
        var joined = ledger.submit(member, Transaction.register(
            URI.create("http://127.0.0.1:9"), Modality.TEXT));
        ledger.produceBlock();
        joined.get(10, TimeUnit.SECONDS);
        assertEquals(0, queryUntilServed(endpoint, key), "registered on the https ledger: " + out);
      }
    }
    assertEquals(2, run("peer", "serve", "--port", "0", "--members-trust", "ca.pem"));
    assertTrue(err.toString().contains("--members-trust needs --members-of"), err.toString());
    err.getBuffer().setLength(0);
    assertEquals(2, run("peer", "serve", "--port", "0", "--members-of", "https://127.0.0.1:9",
        "--members-trust", dir.resolve("missing.pem").toString()));
    assertTrue(err.toString().contains("--members-trust"), err.toString());
  }

  /**
   * {@code --members-client-cert} is the client certificate the members' ledger client shows;
   * under {@code --tls-reload} it is renewed without a restart like --tls's own. It was the one
   * certificate never watched: the old one was shown until the ledger server turned it away.
   */
  @Test
  void tlsReloadReloadsARenewedMembersClientCert(@TempDir Path dir) throws Exception {
    Path clientKey = Files.copy(TestCertificates.file("client.key"), dir.resolve("client.key"));
    Path clientCert = Files.copy(TestCertificates.file("client.pem"), dir.resolve("client.pem"));
    try (LocalLedger ledger = LocalLedger.builder().genesis(Genesis.builder().build())
            .blocks(BlockPolicy.manual()).openInMemory();
        LedgerServer ledgerServer = LedgerServer.builder().ledger(ledger).host("127.0.0.1")
            .port(0).tls(TestCertificates.file("peer.key"), TestCertificates.file("peer.pem"))
            .requireClientCertificates(TestCertificates.file("ca.pem")).start();
        // With --tls too, so that the watch of --tls's files alone cannot pass for it.
        ServingCli serving = ServingCli.start("--output-dim", "16",
            "--tls", TestCertificates.file("peer.key").toString(),
            TestCertificates.file("peer.pem").toString(), "--tls-reload", "PT0.02S",
            "--members-of", ledgerServer.uri().toString(),
            "--members-trust", TestCertificates.file("ca.pem").toString(),
            "--members-client-cert", clientKey.toString(), clientCert.toString())) {
      serving.awaitPrinted("serving the members of ");
      Files.copy(TestCertificates.file("stranger.key"), clientKey,
          StandardCopyOption.REPLACE_EXISTING);
      Files.copy(TestCertificates.file("stranger.pem"), clientCert,
          StandardCopyOption.REPLACE_EXISTING);
      serving.awaitPrinted("reloaded the TLS certificate from " + clientCert);
    }
  }

  /**
   * {@code --members-trust} is the authority the members' ledger client trusts the ledger's
   * servers by; under {@code --tls-reload} a changed file is trusted without a restart, as the
   * client certificate is. Without --tls: the watch needs no files of the server's own.
   */
  @Test
  void tlsReloadReloadsAChangedMembersTrustFile(@TempDir Path dir) throws Exception {
    Path trust = Files.copy(TestCertificates.file("ca.pem"), dir.resolve("trust.pem"));
    try (LocalLedger ledger = LocalLedger.builder().genesis(Genesis.builder().build())
            .blocks(BlockPolicy.manual()).openInMemory();
        LedgerServer ledgerServer = LedgerServer.builder().ledger(ledger).host("127.0.0.1")
            .port(0).tls(TestCertificates.file("peer.key"), TestCertificates.file("peer.pem"))
            .start();
        ServingCli serving = ServingCli.start("--output-dim", "16", "--tls-reload", "PT0.02S",
            "--members-of", ledgerServer.uri().toString(), "--members-trust", trust.toString())) {
      serving.awaitPrinted("serving the members of ");
      // The authority of a server the ledger moves to, added beside the one it has now.
      Files.writeString(trust, Files.readString(TestCertificates.file("ca.pem"))
          + Files.readString(TestCertificates.file("stranger.pem")));
      serving.awaitPrinted("reloaded the trusted server certificates from " + trust);
    }
  }

  @Test
  void answersSignedByServeKeyPassQueryPeerKeyAndNoOtherKey(@TempDir Path dir) throws Exception {
    Path key = dir.resolve("peer.key");
    Keypair peer = Keypair.generate();
    peer.save(key);
    try (ServingCli serving = ServingCli.start("--key", key.toString(), "--output-dim", "16")) {
      String endpoint = serving.endpoint.toString();
      // The line after the one that names the endpoint, which ServingCli waited for.
      serving.awaitPrinted("answers signed by " + peer.id().toHex());
      assertEquals(0, run("peer", "query", "--endpoint", endpoint, "--peer-key",
          peer.id().toHex()), out + "\n" + err);
      assertTrue(out.toString().contains("status  SUCCESS (0)"), out.toString());
      out.getBuffer().setLength(0);
      String other = Keypair.generate().id().toHex();
      assertEquals(1, run("peer", "query", "--endpoint", endpoint, "--peer-key", other),
          out.toString());
      assertTrue(out.toString().contains("BAD_RESPONSE"), out.toString());
      assertTrue(out.toString().contains("signer: ") && out.toString().contains(other),
          out.toString());
    }
    try (PeerServer unsigned = PeerServer.newBuilder(BuiltinPeers.deterministic(32))
        .host("127.0.0.1").port(0).allowAnonymous(true).start()) {
      out.getBuffer().setLength(0);
      assertEquals(1, run("peer", "query", "--endpoint", unsigned.endpoint().toString(),
          "--peer-key", peer.id().toHex()), out.toString());
      assertTrue(out.toString().contains("without signing"), out.toString());
    }
  }

  @Test
  void serveWithAMetricsPortExposesItsCallsToPrometheus() throws Exception {
    try (ServingCli serving = ServingCli.start("--output-dim", "16", "--metrics-port", "0")) {
      Pattern on = Pattern.compile("metrics on (http://127\\.0\\.0\\.1:\\d+/metrics)");
      Matcher m = on.matcher("");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!(m = on.matcher(serving.out.toString())).find() && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertTrue(m.find(0), serving.out.toString());
      URI metrics = URI.create(m.group(1));
      String endpoint = serving.endpoint.toString();
      assertEquals(0, run("peer", "query", "--endpoint", endpoint), out + "\n" + err);
      assertEquals(0, run("peer", "query", "--endpoint", endpoint), out + "\n" + err);
      java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
      java.net.http.HttpResponse<String> scrape = http.send(
          java.net.http.HttpRequest.newBuilder(metrics).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      assertEquals(200, scrape.statusCode());
      assertTrue(scrape.headers().firstValue("Content-Type").orElse("")
          .startsWith("text/plain; version=0.0.4"), scrape.headers().toString());
      String text = scrape.body();
      assertTrue(Pattern.compile("(?m)^bittensor_peer_calls_seconds_count\\{kind=\"FORWARD\","
          + "side=\"server\",status=\"SUCCESS\"\\} 2(\\.0)?$").matcher(text).find(), text);
      assertTrue(Pattern.compile("(?m)^bittensor_peer_calls_active 0(\\.0)?$").matcher(text)
          .find(), text);
      assertTrue(Pattern.compile("(?m)^bittensor_peer_calls_in_flight\\{side=\"server\"\\} "
          + "0(\\.0)?$").matcher(text).find(), text);
      assertTrue(text.contains("jvm_memory_used_bytes{"), "the JVM's metrics too");
      assertTrue(Pattern.compile("(?m)^bittensor_tls_handshakes_failed_total 0(\\.0)?$")
          .matcher(text).find(), text);
      java.net.http.HttpResponse<Void> post = http.send(java.net.http.HttpRequest
              .newBuilder(metrics).POST(java.net.http.HttpRequest.BodyPublishers.noBody()).build(),
          java.net.http.HttpResponse.BodyHandlers.discarding());
      assertEquals(405, post.statusCode());
    }
    assertEquals(2, run("peer", "serve", "--metrics-port", "70000"));
    assertTrue(err.toString().contains("--metrics-port must be 0 to 65535, was 70000"),
        err.toString());
  }

  @Test
  void queryOfADeadEndpointIsUnavailable() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    int code = run("peer", "query", "--endpoint", "http://127.0.0.1:" + port, "--h2");
    assertEquals(1, code);
    assertTrue(out.toString().contains("UNAVAILABLE"), out.toString());
  }

  @Test
  void badArgumentsExitTwo() {
    assertEquals(2, run("peer", "query", "--endpoint", "ftp://x"));
    assertTrue(err.toString().contains("http://host:port"), err.toString());
    assertEquals(2, run("peer", "query"));
  }

  @Test
  void serveAnswersQueriesUntilStopped() throws Exception {
    CompletableFuture<Integer> serving = CompletableFuture.supplyAsync(
        () -> run("peer", "serve", "--port", "0", "--host", "127.0.0.1", "--output-dim", "16",
            "--stop-after", "PT5S"));
    Pattern at = Pattern.compile("at (http://127\\.0\\.0\\.1:\\d+)");
    Matcher m = at.matcher("");
    for (int i = 0; i < 400 && !m.find(); i++) {
      Thread.sleep(25);
      m = at.matcher(out.toString());
    }
    assertTrue(m.find(0), "serve printed its endpoint: " + out + err);
    String endpoint = m.group(1);
    StringWriter queryOut = new StringWriter();
    int code = Main.run(new String[] {"peer", "query", "--endpoint", endpoint},
        new PrintWriter(queryOut, true), new PrintWriter(new StringWriter(), true));
    assertEquals(0, code, queryOut.toString());
    assertTrue(queryOut.toString().contains("shape   [1, 4, 16]"), queryOut.toString());
    assertEquals(0, serving.get(30, java.util.concurrent.TimeUnit.SECONDS), "serve stops");
  }

  /**
   * SIGTERM (a child process, so that the hook is real) ends its output with "stopped", as
   * the README promises: it was printed by the command's thread after the hook's close, which
   * the JVM's halt overtook in 2 of 5 runs.
   */
  @Test
  void serveSaysStoppedLastWhenSigtermStopsIt(@TempDir Path dir) throws Exception {
    Path log = dir.resolve("serve.log");
    Path calls = dir.resolve("calls.jsonl");
    Process p = new ProcessBuilder(ChildCli.command("peer", "serve", "--port", "0", "--host",
        "127.0.0.1", "--output-dim", "16", "--access-log", calls.toString()))
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      // The access log's line is the last one printed before serving.
      ServingLogs.await(log, Pattern.compile(Pattern.quote("calls logged to " + calls)));
      p.destroy(); // SIGTERM
      assertTrue(p.waitFor(30, TimeUnit.SECONDS), "serve did not stop on SIGTERM");
      String printed = ServingLogs.read(log);
      assertTrue(printed.endsWith("stopped" + System.lineSeparator()), printed);
    } finally {
      p.destroyForcibly();
    }
  }
}
