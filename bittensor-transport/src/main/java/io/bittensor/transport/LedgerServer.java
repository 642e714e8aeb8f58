package io.bittensor.transport;

import io.bittensor.core.Experimental;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerException;
import io.bittensor.core.internal.Deadlines;
import io.bittensor.transport.internal.Args;
import io.bittensor.transport.internal.Authenticator;
import io.bittensor.transport.internal.JettyServers;
import io.bittensor.transport.internal.ServerTls;
import io.bittensor.transport.internal.LedgerHandler;
import io.bittensor.transport.internal.LedgerHub;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import javax.net.ssl.SSLContext;
import org.eclipse.jetty.http2.server.HTTP2ServerConnectionFactory;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * Serves a {@link Ledger} (usually a {@link io.bittensor.core.LocalLedger}) over HTTP/2
 * cleartext and HTTP/1.1 on one port, so that peers on other machines share it through a
 * {@link RemoteLedger}. The wire format is {@code bittensor/v1/ledger.proto} in this jar.
 *
 * <pre>{@code
 * Genesis genesis = Genesis.builder()...build();
 * Path dataDir = Path.of("ledger-data");
 * try (LocalLedger ledger = LocalLedger.builder().genesis(genesis).open(dataDir);
 *      LedgerServer server = LedgerServer.builder().ledger(ledger).port(8092).start()) {
 *   System.out.println("ledger at " + server.uri());
 *   server.awaitClose();
 * }
 * }</pre>
 *
 * <p>Every operation of {@link Ledger} is served: submit (the ledger validates; a rejection
 * goes back with its {@link io.bittensor.core.RejectReason} code and message), account,
 * metagraph, and a stream of block and epoch events that a client can resume from a block
 * number (the server keeps the last {@link Builder#history(int) history} events in memory, and
 * reads older blocks back from the journal of a {@code LocalLedger} on disk, so a client that
 * was away, or a server restarted, loses no block the journal holds). Requests are
 * signed as peer requests are (Ed25519 over a canonical digest, a timestamp window, nonces
 * never replayed); transactions carry their own signatures besides.
 *
 * <p>Thread-safe. Lifecycle: {@link Builder#start()} binds the port and serves until {@link
 * #close()}, which ends the event streams and frees the port and threads; close is idempotent.
 * The server does not own the ledger: closing it leaves the ledger open.
 */
public final class LedgerServer implements AutoCloseable {
  private final Server jetty;
  /** The port bound at start: Jetty's connector says -2 once closed. */
  private final int port;
  private final LedgerHub hub;
  private final URI uri;
  private final ServerTls tls;
  private final LongAdder failedHandshakes;
  private final AtomicBoolean closed = new AtomicBoolean();
  /** Counted down once {@link #close} has stopped everything. */
  private final CountDownLatch stopped = new CountDownLatch(1);

  private LedgerServer(Server jetty, ServerConnector connector, LedgerHub hub, URI uri,
      ServerTls tls, LongAdder failedHandshakes) {
    this.tls = tls;
    this.failedHandshakes = failedHandshakes;
    this.jetty = jetty;
    this.port = connector.getLocalPort();
    this.hub = hub;
    this.uri = uri;
  }

  /** A builder with the defaults: port 8092, signed requests only, 1024 events of history. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Replaces the TLS key and certificate chain this server shows, without a restart, as {@link
   * PeerServer#reloadTls}: connections made from now on get the new certificate. A server that
   * asks for clients' certificates ({@link Builder#requireClientCertificates}) goes on trusting
   * the same ones.
   *
   * @throws IllegalArgumentException if a file cannot be read or holds no key or certificate of
   *     a form {@link Builder#tls} takes, or the two do not match
   * @throws IllegalStateException if this server does not serve TLS, or is closed
   */
  @Experimental
  public void reloadTls(Path privateKey, Path certificateChain) {
    tls.reloadIdentity(privateKey, certificateChain);
  }

  /**
   * Where clients reach this server: {@code http://host:port}, or {@code https://host:port} with
   * {@link Builder#tls} (the bound port).
   */
  public URI uri() {
    return uri;
  }

  /**
   * Trusts the client certificates in {@code trustedCertificates} (PEM, as {@link
   * Builder#requireClientCertificates}) from now on, in place of those it trusted, without a
   * restart: a client whose certificate was added connects, one whose certificate was removed
   * is refused at its next connection (connections already open keep their session). For a
   * market that trusts its members' own certificates and admits a new member, or a renewed
   * authority. A file that does not read changes nothing.
   *
   * @throws IllegalArgumentException if the file cannot be read or holds no certificate
   * @throws IllegalStateException if this server does not ask for client certificates, or is
   *     closed
   */
  @Experimental
  public void reloadClientCertificates(Path trustedCertificates) {
    tls.reloadClientTrust(trustedCertificates);
  }

  /**
   * The TLS handshakes this server's port has seen fail since it started: clients without a
   * certificate it trusts ({@link Builder#requireClientCertificates}), clients that do not trust
   * its own, cleartext sent to its TLS port. They are refused before any request is read, so
   * no {@link SubmissionListener} hears them; this count is how to watch them. 0 on a cleartext
   * port.
   */
  @Experimental
  public long failedTlsHandshakes() {
    return failedHandshakes.sum();
  }

  /**
   * The event streams open now: the clients following the ledger through this server (each
   * {@link RemoteLedger} holds one). A stream closes when its client hangs up or falls silent
   * past a failed write.
   */
  @Experimental
  public int eventStreams() {
    return hub.streams();
  }

  /** The bound TCP port (the one picked when 0 was asked; the one served on, once closed). */
  public int port() {
    return port;
  }

  /**
   * Blocks until the server is closed (by another thread, or a shutdown hook of the caller's).
   *
   * @throws InterruptedException if the waiting thread is interrupted
   */
  public void awaitClose() throws InterruptedException {
    stopped.await(); // not jetty.join(): a stop cut short leaves Jetty's threads behind
  }

  /** Ends the event streams, stops serving and frees the port and threads. Idempotent. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    tls.close();
    hub.close();
    JettyServers.stop(jetty, JettyServers.STOP_BOUND);
    stopped.countDown();
  }

  @Override
  public String toString() {
    return "LedgerServer[" + uri + "]";
  }

  /** Configures a {@link LedgerServer}. Not thread-safe. */
  public static final class Builder {
    private final ServerTls.Settings tls = new ServerTls.Settings();
    private Ledger ledger;
    private String host = "0.0.0.0";
    /** Whether {@link #host} was given: with a {@link #channel}, the name {@code uri()} shows. */
    private boolean hostGiven;
    private int port = 8092;
    private boolean allowAnonymous;
    private Duration staleWindow = Duration.ofSeconds(30);
    private long maxRememberedNonces = 1_000_000;
    private Clock clock = Clock.systemUTC();
    private int history = 1024;
    private long historyBytes = 64L << 20;
    private Duration heartbeat = Duration.ofSeconds(5);
    private long maxPayloadBytes = 17L << 20;
    private int threads;
    private int maxEventStreamsPerAddress = 256;
    private ServerSocketChannel channel;
    private SubmissionListener submissions = SubmissionListener.NONE;
    private LedgerRequestListener requests = LedgerRequestListener.NONE;

    private Builder() {}

    /**
     * Hears every transaction sent here once the ledger sealed or refused it
     * ({@link SubmissionListener}); default {@link SubmissionListener#NONE}.
     */
    @Experimental
    public Builder submissionListener(SubmissionListener listener) {
      this.submissions = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /**
     * Hears each request once it is over, answered, refused or turned away, an event stream when
     * it ends ({@link LedgerRequestListener}): for access logs and metrics of who reads the
     * ledger. Default {@link LedgerRequestListener#NONE}, which costs a field check.
     */
    @Experimental
    public Builder requestListener(LedgerRequestListener listener) {
      this.requests = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /** The ledger to serve; required. It stays the caller's: the server never closes it. */
    public Builder ledger(Ledger ledger) {
      this.ledger = Objects.requireNonNull(ledger, "ledger");
      return this;
    }

    /**
     * Serves HTTPS instead of cleartext HTTP, with the private key in {@code privateKey} (PEM,
     * unencrypted PKCS#8) and the certificate chain in {@code certificateChain} (PEM), as {@link
     * PeerServer.Builder#tls(Path, Path)}: clients reach it at {@code https://host:port} and
     * check its certificate ({@link RemoteLedger.Builder#trustedCertificates}).
     *
     * @throws IllegalArgumentException if a file cannot be read or holds no key or certificate
     *     of a form this takes, or the two do not match
     */
    @Experimental
    public Builder tls(Path privateKey, Path certificateChain) {
      tls.identity(privateKey, certificateChain);
      return this;
    }

    /**
     * Serves HTTPS with a TLS context of the caller's own (a key store, a hardware key), as
     * {@link PeerServer.Builder#tls(SSLContext)}. The context is used as it is and stays the
     * caller's; {@link #requireClientCertificates} needs {@link #tls(Path, Path)} instead.
     */
    @Experimental
    public Builder tls(SSLContext context) {
      tls.own(context);
      return this;
    }

    /**
     * Mutual TLS, as {@link PeerServer.Builder#requireClientCertificates}: serves only clients
     * that show a certificate issued by one in {@code trustedCertificates} (PEM) during the
     * handshake ({@link RemoteLedger.Builder#clientCertificate}); the others never reach the
     * ledger. Needs {@link #tls(Path, Path)}. For a ledger that only the market's own machines
     * may read.
     *
     * @throws IllegalArgumentException if the file cannot be read or holds no certificate
     */
    @Experimental
    public Builder requireClientCertificates(Path trustedCertificates) {
      tls.trust(trustedCertificates);
      return this;
    }

    /**
     * Mutual TLS with a TLS context of the caller's own ({@link #tls(SSLContext)}): asks every
     * client for a certificate and serves only those that the context's own trust managers (the
     * ones it was initialised with) accept, as {@link #requireClientCertificates(Path)} does
     * with a file. Such a server's key and trust are the context's: {@code reloadTls} and {@code
     * reloadClientCertificates} refuse to replace them from files.
     */
    @Experimental
    public Builder requireClientCertificates() {
      tls.askOwn();
      return this;
    }

    /** The address to bind; default {@code 0.0.0.0} (all interfaces). */
    public Builder host(String host) {
      this.host = Objects.requireNonNull(host, "host");
      this.hostGiven = true;
      return this;
    }

    /**
     * The TCP port; 0 picks a free one (read it back with {@link LedgerServer#port()}); default
     * 8092.
     *
     * @throws IllegalArgumentException unless {@code 0 <= port <= 65535}
     */
    public Builder port(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port must be in [0, 65535], was " + port);
      }
      this.port = port;
      return this;
    }

    /**
     * Serves on {@code channel}, a server socket the caller has bound already, in place of
     * binding {@link #host} and {@link #port}: the port is then never free between the caller's
     * finding that it can have it and the server's start, for another process to take (as a
     * launcher that binds the port first, then opens a ledger, needs). {@link LedgerServer#uri()}
     * names the {@link #host} given (the name the caller bound, {@code localhost} say) unless it
     * is a wildcard, and else the channel's address. Once {@link #start()} is called the channel
     * is the server's: {@link LedgerServer#close()} closes it, and so does a start that fails;
     * until then it stays the caller's.
     *
     * @param channel open and bound; the server puts it in blocking mode
     * @throws IllegalArgumentException if the channel is closed or not bound
     */
    @Experimental
    public Builder channel(ServerSocketChannel channel) {
      Objects.requireNonNull(channel, "channel");
      if (!channel.isOpen()) {
        throw new IllegalArgumentException("the channel to serve on is closed");
      }
      if (channel.socket().getLocalSocketAddress() == null) {
        throw new IllegalArgumentException("the channel to serve on is not bound: bind it first");
      }
      this.channel = channel;
      return this;
    }

    /**
     * Whether unsigned requests are served (for curl and protoc by hand). Default false: they
     * are answered UNAUTHENTICATED. Transactions must be signed either way.
     */
    public Builder allowAnonymous(boolean allow) {
      this.allowAnonymous = allow;
      return this;
    }

    /**
     * How far a request's timestamp may be from this server's clock before it is answered
     * STALE; nonces are remembered for twice this. A request's body must also arrive within
     * twice this of its head, or it is answered TIMEOUT (a signed request that late would be
     * stale): a client that sends its body a byte now and then holds nothing for longer. Default
     * 30 s.
     */
    public Builder staleWindow(Duration window) {
      this.staleWindow = Args.positive(window, "staleWindow");
      return this;
    }

    /**
     * The most request nonces remembered at once; while that many are remembered, signed requests
     * are refused with BACKOFF rather than any nonce forgotten early. Default 1,000,000.
     *
     * @throws IllegalArgumentException if below 1
     */
    public Builder maxRememberedNonces(long n) {
      this.maxRememberedNonces = Args.atLeast(n, 1L, "maxRememberedNonces");
      return this;
    }

    /** The clock request timestamps are checked against; default UTC system clock. */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * How many recent events (blocks and transaction failures) are kept in memory so that a
     * client that lost its stream resumes without missing one. A client further behind hears
     * the blocks it missed read back from the ledger's journal, with every transaction's
     * receipt, when the ledger is a {@code LocalLedger} on disk whose journal still holds them
     * (up to {@link #historyBytes(long)} of events a time). Otherwise, or past that, it gets a
     * fresh snapshot instead (and fails the transactions it was waiting for: their outcome is
     * unknown to it). Default 1024.
     *
     * @throws IllegalArgumentException if below 1
     */
    public Builder history(int events) {
      this.history = Args.atLeast(events, 1, "history");
      return this;
    }

    /**
     * The most bytes of encoded events kept (blocks with transactions carry the metagraph, whole
     * for clients that do not take deltas and as a delta for those that do, both kept):
     * past it the oldest go first, even within {@link #history(int)}. Also the most read back
     * from the journal for one client that fell further behind. Default 64 MiB.
     *
     * @throws IllegalArgumentException if below 1
     */
    public Builder historyBytes(long bytes) {
      this.historyBytes = Args.atLeast(bytes, 1L, "historyBytes");
      return this;
    }

    /**
     * How long an event stream may stay silent before the server sends a heartbeat, so that
     * clients notice a dead connection. Default 5 s.
     */
    public Builder heartbeat(Duration every) {
      this.heartbeat = Args.positive(every, "heartbeat");
      return this;
    }

    /**
     * The largest request body, in bytes. Default 17 MiB (a transaction may have 16 MiB).
     *
     * @throws IllegalArgumentException unless in {@code [1, 2^31 - 16]}
     */
    public Builder maxPayloadBytes(long bytes) {
      this.maxPayloadBytes = Args.byteLimit(bytes, "maxPayloadBytes");
      return this;
    }

    /**
     * The most event streams one client address may hold open at once (each {@link
     * RemoteLedger} holds one); a request for another is answered BACKOFF (HTTP 429) until one of
     * them ends. Streams from other addresses are not affected. An IPv4 address (an IPv4-mapped
     * IPv6 one too) counts on its own; an IPv6 client counts by its /64, all of whose addresses
     * one client usually holds and may pick at will (IPv6 loopback and link-local addresses count
     * on their own). Clients behind one proxy or NAT share its address, clients in one IPv6 /64
     * its prefix: raise this for them. Default 256.
     *
     * <p>Over all its streams an address may also await at most 200,000 transactions whose
     * answers have not been taken for writing yet ({@code EventsRequest.awaiting}, at most
     * 100,000 a stream); a stream past that is answered BACKOFF too, one that awaits nothing is
     * served. A {@link RemoteLedger} awaits only its own submissions in flight.
     *
     * @throws IllegalArgumentException if below 1
     */
    @Experimental
    public Builder maxEventStreamsPerAddress(int n) {
      this.maxEventStreamsPerAddress = Args.atLeast(n, 1, "maxEventStreamsPerAddress");
      return this;
    }

    /**
     * The most HTTP server threads; default 0: Jetty's choice (up to 200). Event streams hold
     * none while they wait, so a few threads serve many connected clients.
     *
     * @throws IllegalArgumentException if {@code n} is positive but below 4
     */
    public Builder threads(int n) {
      if (n != 0 && n < 4) {
        throw new IllegalArgumentException("threads must be 0 (default) or >= 4, was " + n);
      }
      this.threads = n;
      return this;
    }

    /**
     * Binds the port (or takes over the {@link #channel} bound already) and starts serving.
     *
     * @throws IllegalStateException if no ledger was given, {@link
     *     #requireClientCertificates(Path)} without {@link #tls(Path, Path)}, or {@link
     *     #requireClientCertificates()} without {@link #tls(SSLContext)}
     * @throws IOException if the port cannot be bound, or the ledger's metagraph cannot be read
     *     (a {@link LedgerException})
     */
    public LedgerServer start() throws IOException {
      boolean started = false;
      try {
        LedgerServer server = startServer();
        started = true;
        return server;
      } finally {
        if (!started && channel != null) {
          try {
            channel.close(); // the caller's to give, the server's from now on
          } catch (IOException e) {
            // Closing a listening socket frees the port whatever it reports.
          }
        }
      }
    }

    private LedgerServer startServer() throws IOException {
      if (ledger == null) {
        throw new IllegalStateException("a ledger server needs a ledger: call ledger(...)");
      }
      SSLContext context = tls.context();
      long beat = Deadlines.saturatedMillis(heartbeat);
      LedgerHub hub = new LedgerHub(ledger, history, historyBytes, beat, clock,
          LedgerHub.FORM_KEPT);
      Server jetty = JettyServers.create("bittensor-ledger-server", threads);
      HttpConfiguration http = JettyServers.http(context);
      // An idle connection is closed after this: far above the heartbeat, so streams stay up;
      // at most 100 days, which Jetty adds to its clock's nanoseconds without overflow.
      long idle = Math.max(30_000, Math.min(beat, 100L * 86_400_000 / 6) * 6);
      HTTP2ServerConnectionFactory h2 = JettyServers.h2(http, context);
      h2.setMaxConcurrentStreams(256);
      h2.setStreamIdleTimeout(idle);
      ServerConnector connector =
          JettyServers.connector(jetty, JettyServers.protocols(http, h2, context, tls.asks()));
      connector.setIdleTimeout(idle);
      jetty.addConnector(connector);
      Authenticator auth =
          new Authenticator(clock, staleWindow, allowAnonymous, maxRememberedNonces, false);
      // A body gets twice the stale window to arrive: a signed request later than that is
      // stale whatever the two clocks say.
      long window = Deadlines.saturatedMillis(staleWindow);
      long bodyDeadline = window > Long.MAX_VALUE / 2 ? Long.MAX_VALUE : 2 * window;
      jetty.setHandler(new LedgerHandler(ledger, hub, auth, (int) maxPayloadBytes, submissions,
          requests, jetty.getThreadPool(), bodyDeadline, maxEventStreamsPerAddress));
      LongAdder failedHandshakes = JettyServers.countFailedHandshakes(connector);
      URI uri;
      try {
        if (channel == null) {
          connector.setHost(host);
          connector.setPort(port);
        } else {
          // Jetty accepts on the channel as it is rather than binding one of its own.
          InetSocketAddress bound = (InetSocketAddress) channel.getLocalAddress();
          // A channel bound to 0.0.0.0 reports IPv6's wildcard (the JDK's sockets are dual
          // stack): the host given says which, so that ledger serve shows 127.0.0.1, not ::1.
          boolean shownAsGiven = hostGiven
              && (!JettyServers.isWildcard(host) || bound.getAddress().isAnyLocalAddress());
          connector.setHost(shownAsGiven ? host : bound.getAddress().getHostAddress());
          connector.setPort(bound.getPort());
          connector.open(channel);
        }
        uri = JettyServers.start(jetty, connector, "the ledger");
      } catch (IOException e) {
        hub.close();
        throw e;
      }
      return new LedgerServer(jetty, connector, hub, uri,
          tls.forPort(connector), failedHandshakes);
    }
  }
}
