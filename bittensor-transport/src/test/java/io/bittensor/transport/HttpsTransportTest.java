package io.bittensor.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.DType;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.core.testing.TestCertificates;
import io.bittensor.transport.internal.Tls;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.X509TrustManager;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The transport contract over HTTPS ({@link PeerServer.Builder#tls}), with HTTP/2 and HTTP/1.1
 * chosen by ALPN on one port; and what a client that does not trust a server's certificate gets.
 * The certificates are the shared test ones ({@code bittensor-core/src/test/resources/tls}, made
 * by its {@code make.sh}).
 */
class HttpsTransportTest {
  static Path tls(String file) {
    return TestCertificates.file(file);
  }

  /** A raw client that trusts the test authority and speaks {@code protocols}. */
  static OkHttpClient raw(List<Protocol> protocols) {
    X509TrustManager trust = Tls.trustManager(tls("ca.pem"));
    return new OkHttpClient.Builder().protocols(protocols)
        .sslSocketFactory(Tls.clientContext(trust).getSocketFactory(), trust).build();
  }

  /** The HTTP transport's contract and tests, over a TLS port. */
  abstract static class Over extends HttpTransportTest.Over {
    abstract List<Protocol> protocols();

    @Override
    OkHttpClient rawClient() {
      return raw(protocols());
    }

    @Override
    PeerServer start(PeerServer.Builder b) throws IOException {
      return b.tls(tls("peer.key"), tls("peer.pem")).start();
    }

    /** The endpoint says https, and the answers came over the protocol ALPN chose. */
    @Test
    void theServerIsReachedOverTlsWithTheProtocolAlpnChose() throws Exception {
      PeerServer server = serve(io.bittensor.transport.BuiltinPeers.deterministic(OUTPUT_DIM));
      assertEquals("https", server.endpoint().getScheme());
      try (okhttp3.Response r = rawCall(new okhttp3.Request.Builder()
          .url(server.endpoint() + "/v1/forward").build())) {
        assertEquals(405, r.code(), "a GET is refused as over cleartext");
        assertEquals(protocols().get(0), r.protocol());
        assertTrue(r.handshake() != null && r.handshake().tlsVersion() != null);
      }
    }
  }

  @Nested
  class Http2 extends Over {
    @Override
    PeerClient.Builder clientBuilder() {
      return PeerClient.newBuilder().protocol(HttpProtocol.H2_PRIOR_KNOWLEDGE)
          .trustedCertificates(tls("ca.pem"));
    }

    @Override
    List<Protocol> protocols() {
      return List.of(Protocol.HTTP_2, Protocol.HTTP_1_1);
    }
  }

  @Nested
  class Http11 extends Over {
    @Override
    PeerClient.Builder clientBuilder() {
      return PeerClient.newBuilder().protocol(HttpProtocol.HTTP_1_1)
          .trustedCertificates(tls("ca.pem"));
    }

    @Override
    List<Protocol> protocols() {
      return List.of(Protocol.HTTP_1_1);
    }

    @Override
    boolean interruptEndsTheWait() {
      return false;
    }
  }

  /** Not the contract: the failures that TLS itself adds. */
  @Nested
  @ExtendWith(LeakCheck.class)
  class Trust {
    private static final ForwardRequest REQUEST = new ForwardRequest(Modality.TENSOR,
        Tensor.zeros(DType.FLOAT32, 1, 2, 3));

    @Test
    void aClientThatDoesNotTrustTheCertificateGetsUnavailableSayingWhy() throws Exception {
      try (PeerServer stranger = PeerServer.newBuilder(BuiltinPeers.deterministic(8))
              .host("127.0.0.1").port(0).allowAnonymous(true)
              .tls(tls("stranger.key"), tls("stranger.pem")).start();
          PeerServer trusted = PeerServer.newBuilder(BuiltinPeers.deterministic(8))
              .host("127.0.0.1").port(0).allowAnonymous(true)
              .tls(tls("peer.key"), tls("peer.pem")).start();
          PeerClient client = PeerClient.newBuilder().trustedCertificates(tls("ca.pem"))
              .build();
          PeerClient jdkDefaults = PeerClient.newBuilder().build()) {
        ForwardResult refused = client.connect(stranger.endpoint())
            .forwardAndWait(REQUEST, Duration.ofSeconds(10));
        assertEquals(Status.UNAVAILABLE, refused.status());
        assertTrue(refused.message().contains(stranger.endpoint().toString())
            && refused.message().toLowerCase(java.util.Locale.ROOT).contains("certif")
            && !refused.message().contains("client certificates"), refused.message());
        assertEquals(Status.SUCCESS, client.connect(trusted.endpoint())
            .forwardAndWait(REQUEST, Duration.ofSeconds(10)).status());
        // The JDK's own authorities do not know the test one.
        assertEquals(Status.UNAVAILABLE, jdkDefaults.connect(trusted.endpoint())
            .forwardAndWait(REQUEST, Duration.ofSeconds(10)).status());
        // Cleartext to a TLS port is no call either.
        java.net.URI cleartext = java.net.URI.create("http://127.0.0.1:" + trusted.port());
        // The JDK's authorities' refusal above is counted at the trusted port, and cleartext,
        // which is no handshake at all, too; the stranger's port counts the test client's.
        assertTrue(MutualTls.awaitAtLeast(trusted::failedTlsHandshakes, 1));
        long before = trusted.failedTlsHandshakes();
        assertEquals(Status.UNAVAILABLE, client.connect(cleartext)
            .forwardAndWait(REQUEST, Duration.ofSeconds(10)).status());
        assertTrue(MutualTls.awaitAtLeast(trusted::failedTlsHandshakes, before + 1));
        assertTrue(MutualTls.awaitAtLeast(stranger::failedTlsHandshakes, 1));
      }
    }

    @Test
    void aServerServesWithATlsContextOfTheCallersOwn() throws Exception {
      javax.net.ssl.SSLContext own = Tls.serverContext(tls("peer.key"), tls("peer.pem"));
      try (PeerServer server = PeerServer.newBuilder(BuiltinPeers.deterministic(8))
              .host("127.0.0.1").port(0).allowAnonymous(true).tls(own).start();
          PeerClient client = PeerClient.newBuilder().trustedCertificates(tls("ca.pem"))
              .build()) {
        assertEquals("https", server.endpoint().getScheme());
        assertEquals(Status.SUCCESS, client.connect(server.endpoint())
            .forwardAndWait(REQUEST, Duration.ofSeconds(10)).status());
      }
    }

    @Test
    void aLedgerServerServesWithATlsContextOfTheCallersOwn() throws Exception {
      javax.net.ssl.SSLContext own = Tls.serverContext(tls("peer.key"), tls("peer.pem"));
      try (io.bittensor.core.LocalLedger ledger = io.bittensor.core.LocalLedger.builder()
              .genesis(io.bittensor.core.Genesis.builder().build()).openInMemory();
          LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
              .tls(own).start();
          RemoteLedger remote = RemoteLedger.builder().trustedCertificates(tls("ca.pem"))
              .connect(List.of(server.uri()))) {
        assertEquals("https", server.uri().getScheme());
        assertEquals(ledger.chainId(), remote.chainId());
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0).tls(own)
                .requireClientCertificates(tls("ca.pem")).start().close());
        assertTrue(e.getMessage().contains("of the caller's own"), e.getMessage());
      }
    }

    @Test
    void aReloadedCertificateServesNewConnectionsAndOpenOnesGoOn() throws Exception {
      try (PeerServer server = PeerServer.newBuilder(BuiltinPeers.deterministic(8))
              .host("127.0.0.1").port(0).allowAnonymous(true)
              .tls(tls("peer.key"), tls("peer.pem")).start();
          PeerClient open = PeerClient.newBuilder().protocol(HttpProtocol.H2_PRIOR_KNOWLEDGE)
              .trustedCertificates(tls("ca.pem")).build()) {
        io.bittensor.core.Peer before = open.connect(server.endpoint());
        assertEquals(Status.SUCCESS, before.forwardAndWait(REQUEST, Duration.ofSeconds(10))
            .status());
        // A bad pair changes nothing.
        assertThrows(IllegalArgumentException.class,
            () -> server.reloadTls(tls("stranger.key"), tls("peer.pem")));
        server.reloadTls(tls("stranger.key"), tls("stranger.pem"));
        try (PeerClient trustsTheNew = PeerClient.newBuilder()
                .trustedCertificates(tls("stranger.pem")).build();
            PeerClient trustsTheOld = PeerClient.newBuilder()
                .trustedCertificates(tls("ca.pem")).build()) {
          assertEquals(Status.SUCCESS, trustsTheNew.connect(server.endpoint())
              .forwardAndWait(REQUEST, Duration.ofSeconds(10)).status());
          assertEquals(Status.UNAVAILABLE, trustsTheOld.connect(server.endpoint())
              .forwardAndWait(REQUEST, Duration.ofSeconds(10)).status(),
              "a new connection is shown the new certificate");
        }
        assertEquals(Status.SUCCESS, before.forwardAndWait(REQUEST, Duration.ofSeconds(10))
            .status(), "the connection open before keeps its session");
      }
      try (PeerServer cleartext = PeerServer.newBuilder(BuiltinPeers.deterministic(8))
          .host("127.0.0.1").port(0).start()) {
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> cleartext.reloadTls(tls("peer.key"), tls("peer.pem")));
        assertTrue(e.getMessage().contains("does not serve TLS"), e.getMessage());
      }
    }

    @Test
    void aClosedServerRefusesToReloadItsCertificates() throws Exception {
      PeerServer server = PeerServer.newBuilder(BuiltinPeers.deterministic(8))
          .host("127.0.0.1").port(0).tls(tls("peer.key"), tls("peer.pem"))
          .requireClientCertificates(tls("ca.pem")).start();
      server.close();
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> server.reloadTls(tls("stranger.key"), tls("stranger.pem")));
      assertTrue(e.getMessage().contains("closed"), e.getMessage());
      e = assertThrows(IllegalStateException.class,
          () -> server.reloadClientCertificates(tls("stranger.pem")));
      assertTrue(e.getMessage().contains("closed"), e.getMessage());
      try (io.bittensor.core.LocalLedger ledger = io.bittensor.core.LocalLedger.builder()
          .genesis(io.bittensor.core.Genesis.builder().build()).openInMemory()) {
        LedgerServer ledgerServer = LedgerServer.builder().ledger(ledger).host("127.0.0.1")
            .port(0).tls(tls("peer.key"), tls("peer.pem")).start();
        ledgerServer.close();
        e = assertThrows(IllegalStateException.class,
            () -> ledgerServer.reloadTls(tls("stranger.key"), tls("stranger.pem")));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
      }
    }

    @Test
    void aLedgerServerReloadsItsCertificateToo() throws Exception {
      try (io.bittensor.core.LocalLedger ledger = io.bittensor.core.LocalLedger.builder()
              .genesis(io.bittensor.core.Genesis.builder().build()).openInMemory();
          LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
              .tls(tls("peer.key"), tls("peer.pem")).start()) {
        server.reloadTls(tls("stranger.key"), tls("stranger.pem"));
        try (RemoteLedger remote = RemoteLedger.builder()
            .trustedCertificates(tls("stranger.pem")).connect(List.of(server.uri()))) {
          assertEquals(ledger.chainId(), remote.chainId());
        }
        assertThrows(io.bittensor.core.LedgerException.class, () -> RemoteLedger.builder()
            .trustedCertificates(tls("ca.pem")).connect(List.of(server.uri())));
      }
    }

    @Test
    void aTlsPortOffersHttp2AndHttp11ByAlpn() throws Exception {
      try (PeerServer server = PeerServer.newBuilder(BuiltinPeers.deterministic(8))
          .host("127.0.0.1").port(0).tls(tls("peer.key"), tls("peer.pem")).start()) {
        X509TrustManager trust = Tls.trustManager(tls("ca.pem"));
        SSLSocketFactory factory = Tls.clientContext(trust).getSocketFactory();
        for (String offered : List.of("h2", "http/1.1")) {
          try (SSLSocket socket = (SSLSocket) factory.createSocket("127.0.0.1", server.port())) {
            javax.net.ssl.SSLParameters p = socket.getSSLParameters();
            p.setApplicationProtocols(new String[] {offered});
            socket.setSSLParameters(p);
            socket.startHandshake();
            assertEquals(offered, socket.getApplicationProtocol());
          }
        }
      }
    }

    @Test
    void badKeyAndCertificateFilesAreRefusedNamingTheFile(@TempDir Path dir) throws Exception {
      PeerServer.Builder b = PeerServer.newBuilder(BuiltinPeers.deterministic(8));
      Path missing = dir.resolve("missing.key");
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> b.tls(missing, tls("peer.pem")));
      assertTrue(e.getMessage().contains("missing.key"), e.getMessage());
      Path sec1 = dir.resolve("sec1.key");
      Files.writeString(sec1, "-----BEGIN EC PRIVATE KEY-----\nAAAA\n"
          + "-----END EC PRIVATE KEY-----\n");
      e = assertThrows(IllegalArgumentException.class, () -> b.tls(sec1, tls("peer.pem")));
      assertTrue(e.getMessage().contains("openssl pkcs8 -topk8 -nocrypt"), e.getMessage());
      e = assertThrows(IllegalArgumentException.class,
          () -> b.tls(tls("peer.key"), tls("peer.key")));
      assertTrue(e.getMessage().contains("peer.key") && e.getMessage().contains("certificate"),
          e.getMessage());
      // A key that is not the certificate's: refused when the pair is made, not at a handshake.
      e = assertThrows(IllegalArgumentException.class,
          () -> b.tls(tls("stranger.key"), tls("peer.pem")));
      assertTrue(e.getMessage().contains("stranger.key"), e.getMessage());
      e = assertThrows(IllegalArgumentException.class,
          () -> PeerClient.newBuilder().trustedCertificates(tls("peer.key")));
      assertTrue(e.getMessage().contains("peer.key"), e.getMessage());
    }
  }

  /**
   * Mutual TLS: a server that asks for clients' certificates serves only the clients that show
   * one it trusts; the others fail the handshake and never reach the peer.
   */
  @Nested
  @ExtendWith(LeakCheck.class)
  class MutualTls {
    private static final ForwardRequest REQUEST = new ForwardRequest(Modality.TENSOR,
        Tensor.zeros(DType.FLOAT32, 1, 2, 3));

    private PeerServer serve(AtomicInteger heard, String trusted)
        throws IOException {
      return PeerServer.newBuilder(BuiltinPeers.deterministic(8)).host("127.0.0.1").port(0)
          .allowAnonymous(true).callListener(call -> heard.incrementAndGet())
          .tls(tls("peer.key"), tls("peer.pem")).requireClientCertificates(tls(trusted)).start();
    }

    /** Whether {@code count} reaches {@code n} within 10 s: the server counts on its own thread. */
    private static boolean awaitAtLeast(java.util.function.LongSupplier count, long n)
        throws InterruptedException {
      long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
      while (count.getAsLong() < n && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      return count.getAsLong() >= n;
    }

    private static ForwardResult call(PeerClient client, PeerServer server) {
      return client.connect(server.endpoint()).forwardAndWait(REQUEST, Duration.ofSeconds(10));
    }

    @Test
    void onlyClientsShowingATrustedCertificateReachThePeer() throws Exception {
      AtomicInteger heard = new AtomicInteger();
      try (PeerServer server = serve(heard, "ca.pem");
          PeerClient h1 = PeerClient.newBuilder().trustedCertificates(tls("ca.pem"))
              .clientCertificate(tls("client.key"), tls("client.pem")).build();
          PeerClient h2 = PeerClient.newBuilder().protocol(HttpProtocol.H2_PRIOR_KNOWLEDGE)
              .trustedCertificates(tls("ca.pem"))
              .clientCertificate(tls("client.key"), tls("client.pem")).build();
          PeerClient none = PeerClient.newBuilder().trustedCertificates(tls("ca.pem")).build();
          PeerClient stranger = PeerClient.newBuilder().trustedCertificates(tls("ca.pem"))
              .clientCertificate(tls("stranger.key"), tls("stranger.pem")).build();
          PeerClient serverOnly = PeerClient.newBuilder().trustedCertificates(tls("ca.pem"))
              .clientCertificate(tls("peer.key"), tls("peer.pem")).build()) {
        ForwardResult ok1 = call(h1, server);
        ForwardResult ok2 = call(h2, server);
        assertEquals(Status.SUCCESS, ok1.status(), ok1.message());
        assertEquals(Status.SUCCESS, ok2.status(), ok2.message());
        assertEquals(2, heard.get());
        assertEquals(0, server.failedTlsHandshakes());
        for (PeerClient refused : List.of(none, stranger, serverOnly)) {
          ForwardResult r = call(refused, server);
          assertEquals(Status.UNAVAILABLE, r.status(), r.message());
          assertTrue(r.message().contains(server.endpoint().toString())
              && r.message().contains("asks for client certificates"), r.message());
        }
        assertEquals(2, heard.get(), "a refused client never reached the server's peer");
        assertTrue(awaitAtLeast(server::failedTlsHandshakes, 3),
            "each refused client's handshake failed at the server: "
                + server.failedTlsHandshakes());
        // The trusted clients are still served after the strangers were turned away.
        assertEquals(Status.SUCCESS, call(h1, server).status());
        assertEquals(3, heard.get());
      }
    }

    /**
     * Each call's {@link CallStart} and {@link CallEvent} name the certificate its caller showed:
     * two callers with certificates of their own (one the authority issued, one self-signed),
     * over both protocols, forward and backward; none over TLS without mutual TLS.
     */
    @Test
    void theServersListenersHearTheCertificateEachCallerShowed() throws Exception {
      Path trusted = Files.createTempFile("trusted-clients", ".pem");
      Files.writeString(trusted,
          Files.readString(tls("ca.pem")) + Files.readString(tls("stranger.pem")));
      List<CallStart> starts = new java.util.concurrent.CopyOnWriteArrayList<>();
      List<CallEvent> ends = new java.util.concurrent.CopyOnWriteArrayList<>();
      CallListener.Factory listen = start -> {
        starts.add(start);
        return ends::add;
      };
      java.security.cert.X509Certificate issued = certificate("client.pem");
      java.security.cert.X509Certificate selfSigned = certificate("stranger.pem");
      try (PeerServer server = PeerServer.newBuilder(BuiltinPeers.deterministic(8))
              .host("127.0.0.1").port(0).allowAnonymous(true).callListenerFactory(listen)
              .tls(tls("peer.key"), tls("peer.pem")).requireClientCertificates(trusted).start();
          PeerClient h1 = PeerClient.newBuilder().trustedCertificates(tls("ca.pem"))
              .clientCertificate(tls("client.key"), tls("client.pem")).build();
          PeerClient h2 = PeerClient.newBuilder().protocol(HttpProtocol.H2_PRIOR_KNOWLEDGE)
              .trustedCertificates(tls("ca.pem"))
              .clientCertificate(tls("stranger.key"), tls("stranger.pem")).build()) {
        assertEquals(Status.SUCCESS, call(h1, server).status());
        assertEquals(Status.SUCCESS, call(h2, server).status());
        io.bittensor.core.BackwardResult back = h2.connect(server.endpoint()).backward(
            new io.bittensor.core.BackwardRequest(Modality.TENSOR, REQUEST.input(),
                REQUEST.input())).join();
        assertEquals(Status.SUCCESS, back.status(), back.message());
        assertTrue(awaitAtLeast(ends::size, 3), "the server heard " + ends);
        assertEquals(List.of(Optional.of(issued), Optional.of(selfSigned),
            Optional.of(selfSigned)), starts.stream().map(CallStart::clientCertificate).toList());
        assertEquals(List.of(Optional.of(issued), Optional.of(selfSigned),
            Optional.of(selfSigned)), ends.stream().map(CallEvent::clientCertificate).toList());
        assertEquals(List.of(CallEvent.Kind.FORWARD, CallEvent.Kind.FORWARD,
            CallEvent.Kind.BACKWARD), ends.stream().map(CallEvent::kind).toList());
      } finally {
        Files.deleteIfExists(trusted);
      }
      // Over TLS that asks for no certificate, a certificate the client holds is never sent.
      starts.clear();
      ends.clear();
      try (PeerServer server = PeerServer.newBuilder(BuiltinPeers.deterministic(8))
              .host("127.0.0.1").port(0).allowAnonymous(true).callListenerFactory(listen)
              .tls(tls("peer.key"), tls("peer.pem")).start();
          PeerClient h1 = PeerClient.newBuilder().trustedCertificates(tls("ca.pem"))
              .clientCertificate(tls("client.key"), tls("client.pem")).build()) {
        assertEquals(Status.SUCCESS, call(h1, server).status());
        assertTrue(awaitAtLeast(ends::size, 1), "the server heard " + ends);
        assertEquals(Optional.empty(), starts.get(0).clientCertificate());
        assertEquals(Optional.empty(), ends.get(0).clientCertificate());
      }
    }

    private static java.security.cert.X509Certificate certificate(String file)
        throws IOException, java.security.GeneralSecurityException {
      try (var in = Files.newInputStream(tls(file))) {
        return (java.security.cert.X509Certificate) java.security.cert.CertificateFactory
            .getInstance("X.509").generateCertificate(in);
      }
    }

    @Test
    void aServerCanTrustAClientsOwnSelfSignedCertificate() throws Exception {
      AtomicInteger heard = new AtomicInteger();
      try (PeerServer server = serve(heard, "stranger.pem");
          PeerClient stranger = PeerClient.newBuilder().trustedCertificates(tls("ca.pem"))
              .clientCertificate(tls("stranger.key"), tls("stranger.pem")).build();
          PeerClient signedByTheAuthority = PeerClient.newBuilder()
              .trustedCertificates(tls("ca.pem"))
              .clientCertificate(tls("client.key"), tls("client.pem")).build()) {
        assertEquals(Status.SUCCESS, call(stranger, server).status());
        assertEquals(Status.UNAVAILABLE, call(signedByTheAuthority, server).status());
        assertEquals(1, heard.get());
      }
    }

    @Test
    void aReloadedCertificateKeepsAskingForClientCertificates() throws Exception {
      AtomicInteger heard = new AtomicInteger();
      try (PeerServer server = serve(heard, "ca.pem")) {
        server.reloadTls(tls("stranger.key"), tls("stranger.pem"));
        try (PeerClient with = PeerClient.newBuilder().trustedCertificates(tls("stranger.pem"))
                .clientCertificate(tls("client.key"), tls("client.pem")).build();
            PeerClient without = PeerClient.newBuilder()
                .trustedCertificates(tls("stranger.pem")).build()) {
          assertEquals(Status.SUCCESS, call(with, server).status());
          assertEquals(Status.UNAVAILABLE, call(without, server).status());
          assertEquals(1, heard.get());
        }
      }
    }

    @Test
    void aClientShowsARenewedCertificateOnItsNextConnection() throws Exception {
      AtomicInteger heard = new AtomicInteger();
      try (PeerServer server = serve(heard, "stranger.pem");
          PeerClient client = PeerClient.newBuilder().trustedCertificates(tls("ca.pem"))
              .clientCertificate(tls("client.key"), tls("client.pem")).build();
          PeerClient without = PeerClient.newBuilder().trustedCertificates(tls("ca.pem"))
              .build()) {
        assertEquals(Status.UNAVAILABLE, call(client, server).status());
        // A pair that does not match changes nothing.
        assertThrows(IllegalArgumentException.class,
            () -> client.reloadClientCertificate(tls("stranger.key"), tls("client.pem")));
        assertEquals(Status.UNAVAILABLE, call(client, server).status());
        client.reloadClientCertificate(tls("stranger.key"), tls("stranger.pem"));
        assertEquals(Status.SUCCESS, call(client, server).status());
        assertEquals(1, heard.get());
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> without.reloadClientCertificate(tls("client.key"), tls("client.pem")));
        assertTrue(e.getMessage().contains("clientCertificate"), e.getMessage());
      }
    }

    /**
     * A connection made after a reload shows the new certificate even when the client could
     * resume its TLS session with the server from before the reload: a resumed session would
     * carry the old certificate along.
     */
    @Test
    void aNewConnectionAfterAReloadShowsTheNewCertificateNotAResumedSessions(@TempDir Path dir)
        throws Exception {
      Path trusted = dir.resolve("trusted.pem");
      Files.writeString(trusted,
          Files.readString(tls("ca.pem")) + Files.readString(tls("stranger.pem")));
      List<CallStart> starts = new java.util.concurrent.CopyOnWriteArrayList<>();
      try (PeerServer server = PeerServer.newBuilder(BuiltinPeers.deterministic(8))
              .host("127.0.0.1").port(0).allowAnonymous(true)
              .callListenerFactory(start -> {
                starts.add(start);
                return CallListener.NONE;
              })
              .tls(tls("peer.key"), tls("peer.pem")).requireClientCertificates(trusted).start();
          CuttableProxy proxy = new CuttableProxy(server.port());
          PeerClient client = PeerClient.newBuilder().trustedCertificates(tls("ca.pem"))
              .clientCertificate(tls("client.key"), tls("client.pem")).build()) {
        io.bittensor.core.Peer peer =
            client.connect(java.net.URI.create("https://127.0.0.1:" + proxy.uri().getPort()));
        assertEquals(Status.SUCCESS, peer.forwardAndWait(REQUEST, Duration.ofSeconds(10))
            .status());
        client.reloadClientCertificate(tls("stranger.key"), tls("stranger.pem"));
        proxy.cut(); // the next call needs a new connection, to the same server
        proxy.restore();
        ForwardResult r = peer.forwardAndWait(REQUEST, Duration.ofSeconds(10));
        assertEquals(Status.SUCCESS, r.status(), r.toString());
        assertTrue(proxy.accepted() >= 2, "a new connection was made");
        assertEquals(List.of(Optional.of(certificate("client.pem")),
            Optional.of(certificate("stranger.pem"))),
            starts.stream().map(CallStart::clientCertificate).toList());
      }
    }

    @Test
    void aServerTrustsReloadedClientCertificatesWithoutARestart(@TempDir Path dir)
        throws Exception {
      AtomicInteger heard = new AtomicInteger();
      Path members = dir.resolve("members.pem");
      try (PeerServer server = serve(heard, "stranger.pem");
          PeerClient first = PeerClient.newBuilder().trustedCertificates(tls("ca.pem"))
              .clientCertificate(tls("client.key"), tls("client.pem")).build()) {
        assertEquals(Status.UNAVAILABLE, call(first, server).status());
        // A new member's certificate added to the file: let in without a restart.
        Files.writeString(members, Files.readString(tls("stranger.pem"))
            + Files.readString(tls("client.pem")));
        server.reloadClientCertificates(members);
        assertEquals(Status.SUCCESS, call(first, server).status());
        // A file that does not read changes nothing.
        assertThrows(IllegalArgumentException.class,
            () -> server.reloadClientCertificates(dir.resolve("missing.pem")));
        // Removed again: refused at its next connection.
        server.reloadClientCertificates(tls("stranger.pem"));
        try (PeerClient again = PeerClient.newBuilder().trustedCertificates(tls("ca.pem"))
            .clientCertificate(tls("client.key"), tls("client.pem")).build()) {
          assertEquals(Status.UNAVAILABLE, call(again, server).status());
        }
        // A reloaded server certificate keeps the reloaded trust.
        server.reloadTls(tls("peer.key"), tls("peer.pem"));
        try (PeerClient stranger = PeerClient.newBuilder().trustedCertificates(tls("ca.pem"))
            .clientCertificate(tls("stranger.key"), tls("stranger.pem")).build()) {
          assertEquals(Status.SUCCESS, call(stranger, server).status());
        }
        assertEquals(2, heard.get());
      }
      try (PeerServer tlsOnly = PeerServer.newBuilder(BuiltinPeers.deterministic(8))
          .host("127.0.0.1").port(0).tls(tls("peer.key"), tls("peer.pem")).start()) {
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> tlsOnly.reloadClientCertificates(tls("ca.pem")));
        assertTrue(e.getMessage().contains("does not ask for client certificates"),
            e.getMessage());
      }
    }

    @Test
    void aTlsContextOfTheCallersOwnDecidesWhichClientCertificatesItTrusts() throws Exception {
      javax.net.ssl.SSLContext own = Tls.context(Tls.identity(tls("peer.key"), tls("peer.pem")),
          Tls.trustManager(tls("ca.pem")));
      AtomicInteger heard = new AtomicInteger();
      try (PeerServer server = PeerServer.newBuilder(BuiltinPeers.deterministic(8))
              .host("127.0.0.1").port(0).allowAnonymous(true)
              .callListener(call -> heard.incrementAndGet())
              .tls(own).requireClientCertificates().start();
          PeerClient with = PeerClient.newBuilder().trustedCertificates(tls("ca.pem"))
              .clientCertificate(tls("client.key"), tls("client.pem")).build();
          PeerClient without = PeerClient.newBuilder().trustedCertificates(tls("ca.pem"))
              .build()) {
        assertEquals(Status.SUCCESS, call(with, server).status());
        assertEquals(Status.UNAVAILABLE, call(without, server).status());
        assertEquals(1, heard.get());
        // The context's key and trust are the caller's: files do not replace them.
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> server.reloadTls(tls("peer.key"), tls("peer.pem")));
        assertTrue(e.getMessage().contains("of the caller's own"), e.getMessage());
        e = assertThrows(IllegalStateException.class,
            () -> server.reloadClientCertificates(tls("ca.pem")));
        assertTrue(e.getMessage().contains("of the caller's own"), e.getMessage());
        assertEquals(Status.UNAVAILABLE, call(without, server).status(), "still asking");
      }
      try (io.bittensor.core.LocalLedger ledger = io.bittensor.core.LocalLedger.builder()
              .genesis(io.bittensor.core.Genesis.builder().build()).openInMemory();
          LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
              .tls(own).requireClientCertificates().start();
          RemoteLedger remote = RemoteLedger.builder().trustedCertificates(tls("ca.pem"))
              .clientCertificate(tls("client.key"), tls("client.pem"))
              .connect(List.of(server.uri()))) {
        assertEquals(ledger.chainId(), remote.chainId());
        assertThrows(io.bittensor.core.LedgerException.class, () -> RemoteLedger.builder()
            .trustedCertificates(tls("ca.pem")).connect(List.of(server.uri())));
      }
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> PeerServer.newBuilder(BuiltinPeers.deterministic(8)).host("127.0.0.1").port(0)
              .tls(tls("peer.key"), tls("peer.pem")).requireClientCertificates().start());
      assertTrue(e.getMessage().contains("give tls(SSLContext)"), e.getMessage());
    }

    @Test
    void clientCertificatesNeedTheServersOwnKeyAndCertificateFiles() {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> PeerServer.newBuilder(BuiltinPeers.deterministic(8)).host("127.0.0.1").port(0)
              .requireClientCertificates(tls("ca.pem")).start());
      assertTrue(e.getMessage().contains("tls(privateKey, certificateChain)"), e.getMessage());
      javax.net.ssl.SSLContext own = Tls.serverContext(tls("peer.key"), tls("peer.pem"));
      e = assertThrows(IllegalStateException.class,
          () -> PeerServer.newBuilder(BuiltinPeers.deterministic(8)).host("127.0.0.1").port(0)
              .tls(own).requireClientCertificates(tls("ca.pem")).start());
      assertTrue(e.getMessage().contains("of the caller's own"), e.getMessage());
      e = assertThrows(IllegalStateException.class, () -> {
        try (io.bittensor.core.LocalLedger ledger = io.bittensor.core.LocalLedger.builder()
            .genesis(io.bittensor.core.Genesis.builder().build()).openInMemory()) {
          LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
              .requireClientCertificates(tls("ca.pem")).start().close();
        }
      });
      assertTrue(e.getMessage().contains("requireClientCertificates needs TLS"), e.getMessage());
    }

    @Test
    void badClientCertificateFilesAreRefusedNamingTheFile(@TempDir Path dir) {
      Path missing = dir.resolve("missing.pem");
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> PeerClient.newBuilder().clientCertificate(tls("client.key"), missing));
      assertTrue(e.getMessage().contains("missing.pem"), e.getMessage());
      e = assertThrows(IllegalArgumentException.class,
          () -> RemoteLedger.builder().clientCertificate(tls("stranger.key"), tls("client.pem")));
      assertTrue(e.getMessage().contains("stranger.key") && e.getMessage().contains("client.pem"),
          e.getMessage());
      e = assertThrows(IllegalArgumentException.class,
          () -> PeerServer.newBuilder(BuiltinPeers.deterministic(8))
              .requireClientCertificates(tls("client.key")));
      assertTrue(e.getMessage().contains("client.key"), e.getMessage());
      e = assertThrows(IllegalArgumentException.class,
          () -> LedgerServer.builder().requireClientCertificates(missing));
      assertTrue(e.getMessage().contains("missing.pem"), e.getMessage());
    }

    /**
     * A ledger client trusts a reloaded file from its next connection on: a ledger server that
     * moved to a certificate of another authority is reached without a restart of the client.
     */
    @Test
    void aLedgerClientTrustsReloadedCertificatesOnItsNextConnection() throws Exception {
      try (io.bittensor.core.LocalLedger ledger = io.bittensor.core.LocalLedger.builder()
              .genesis(io.bittensor.core.Genesis.builder().build())
              .blocks(io.bittensor.core.BlockPolicy.manual()).openInMemory();
          LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
              .tls(tls("peer.key"), tls("peer.pem")).start();
          CuttableProxy proxy = new CuttableProxy(server.port());
          RemoteLedger remote = RemoteLedger.builder().trustedCertificates(tls("ca.pem"))
              .connect(List.of(java.net.URI.create("https://127.0.0.1:"
                  + proxy.uri().getPort())))) {
        assertEquals(Optional.empty(), remote.account(remote.caller()));
        // A file that does not read changes nothing.
        assertThrows(IllegalArgumentException.class,
            () -> remote.reloadTrustedCertificates(tls("client.key")));
        server.reloadTls(tls("stranger.key"), tls("stranger.pem"));
        remote.reloadTrustedCertificates(tls("stranger.pem"));
        proxy.cut(); // the next request needs a new connection, to the renewed server
        proxy.restore();
        assertEquals(Optional.empty(), remote.account(remote.caller()));
        assertTrue(proxy.accepted() >= 2, "a new connection was made");
      }
    }

    @Test
    void aLedgerServerServesOnlyClientsWithATrustedCertificate() throws Exception {
      // Blocks sealed by hand (none here): on a timer, one could be sealed between a client's
      // read of the metagraph and the ledger's own, and the two would differ by a block.
      try (io.bittensor.core.LocalLedger ledger = io.bittensor.core.LocalLedger.builder()
              .genesis(io.bittensor.core.Genesis.builder().build())
              .blocks(io.bittensor.core.BlockPolicy.manual()).openInMemory();
          LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
              .tls(tls("peer.key"), tls("peer.pem")).requireClientCertificates(tls("ca.pem"))
              .start()) {
        for (HttpProtocol protocol : HttpProtocol.values()) {
          try (RemoteLedger remote = RemoteLedger.builder().protocol(protocol)
              .trustedCertificates(tls("ca.pem"))
              .clientCertificate(tls("client.key"), tls("client.pem"))
              .connect(List.of(server.uri()))) {
            assertEquals(ledger.chainId(), remote.chainId());
            assertEquals(ledger.metagraph().block(), remote.metagraph().block());
            assertThrows(IllegalArgumentException.class,
                () -> remote.reloadClientCertificate(tls("client.key"), tls("stranger.pem")));
            remote.reloadClientCertificate(tls("client.key"), tls("client.pem"));
            assertEquals(ledger.metagraph().block(), remote.metagraph().block());
          }
        }
        io.bittensor.core.LedgerException e = assertThrows(io.bittensor.core.LedgerException.class,
            () -> RemoteLedger.builder().trustedCertificates(tls("ca.pem"))
                .connect(List.of(server.uri())));
        assertTrue(e.getMessage().contains("asks for client certificates"), e.getMessage());
        assertTrue(awaitAtLeast(server::failedTlsHandshakes, 1), "the refusal is counted");
        server.reloadClientCertificates(tls("stranger.pem"));
        try (RemoteLedger stranger = RemoteLedger.builder().trustedCertificates(tls("ca.pem"))
            .clientCertificate(tls("stranger.key"), tls("stranger.pem"))
            .connect(List.of(server.uri()))) {
          assertEquals(ledger.chainId(), stranger.chainId(), "admitted by the reloaded trust");
        }
        server.reloadClientCertificates(tls("ca.pem"));
        server.reloadTls(tls("peer.key"), tls("peer.pem"));
        assertThrows(io.bittensor.core.LedgerException.class, () -> RemoteLedger.builder()
            .trustedCertificates(tls("ca.pem"))
            .clientCertificate(tls("stranger.key"), tls("stranger.pem"))
            .connect(List.of(server.uri())));
      }
      try (io.bittensor.core.LocalLedger ledger = io.bittensor.core.LocalLedger.builder()
              .genesis(io.bittensor.core.Genesis.builder().build()).openInMemory();
          LedgerServer cleartext = LedgerServer.builder().ledger(ledger).host("127.0.0.1")
              .port(0).start();
          RemoteLedger remote = RemoteLedger.connect(cleartext.uri())) {
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> remote.reloadClientCertificate(tls("client.key"), tls("client.pem")));
        assertTrue(e.getMessage().contains("clientCertificate"), e.getMessage());
        e = assertThrows(IllegalStateException.class,
            () -> remote.reloadTrustedCertificates(tls("ca.pem")));
        assertTrue(e.getMessage().contains("trustedCertificates"), e.getMessage());
        assertEquals(0, cleartext.failedTlsHandshakes(), "a cleartext port counts none");
      }
    }
  }
}
