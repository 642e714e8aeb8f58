package io.bittensor.transport;

import io.bittensor.core.Experimental;
import io.bittensor.core.Keypair;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.PeerId;
import io.bittensor.core.TensorStandard;
import io.bittensor.core.internal.Deadlines;
import io.bittensor.core.internal.Timer;
import io.bittensor.transport.internal.Admission;
import io.bittensor.transport.internal.Args;
import io.bittensor.transport.internal.Authenticator;
import io.bittensor.transport.internal.HttpPeerHandler;
import io.bittensor.transport.internal.JettyServers;
import io.bittensor.transport.internal.ServerTls;
import io.bittensor.transport.internal.Serving;
import io.bittensor.transport.internal.ServingCore;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;
import javax.net.ssl.SSLContext;
import org.eclipse.jetty.http2.server.HTTP2ServerConnectionFactory;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * Serves a {@link Peer} to the network: over HTTP (HTTP/2 cleartext and HTTP/1.1 on one port,
 * on Jetty 12), over HTTPS ({@link Builder#tls}: HTTP/2 or HTTP/1.1 chosen by ALPN) or inside
 * this JVM through an {@link InProcessNetwork}, with the same checks and status codes each way.
 *
 * <pre>{@code
 * Peer myPeer = ...;                    // an OnnxPeer, a TrainablePeer, your own
 * Metagraph metagraph = ...;            // the ledger's last, as a Neuron keeps it
 * try (PeerServer server = PeerServer.newBuilder(myPeer)
 *     .port(8091)
 *     .modalities(Modality.TEXT)
 *     .standard(TensorStandard.of(512))
 *     .stakeSource(id -> metagraph.uid(id).stream().mapToDouble(metagraph::stake).sum())
 *     .start()) {
 *   System.out.println("serving at " + server.endpoint());
 *   server.awaitClose();
 * }
 * }</pre>
 *
 * <p>Every request is checked in this order: HTTP envelope (path, method, content type),
 * payload size, admission (bounded concurrency; under load higher stake first, anonymous
 * last; a full queue answers BACKOFF), protocol version, caller (signature, timestamp window,
 * replayed nonce), modality, tensors, then the peer's call under the request's deadline. Bad input
 * gets its status and a message naming the field; the server keeps serving. With {@link
 * Builder#signAnswers} every SUCCESS answer is signed with the peer's key.
 *
 * <p>Thread-safe. Lifecycle: {@link Builder#start()} binds the port and serves until
 * {@link #close()}, which stops accepting, turns away waiting calls with UNAVAILABLE, cuts off
 * HTTP calls in flight (an in-process one runs on to its answer) and frees the port and threads;
 * close is idempotent. The server does not own the peer: closing it does
 * not close the peer.
 */
public final class PeerServer implements AutoCloseable {
  private final Server jetty;
  private final Serving serving;
  private final InProcessNetwork network;
  private final URI endpoint;
  /** The port bound at start, -1 in process: Jetty's connector says -2 once closed. */
  private final int port;
  private final ServerTls tls;
  private final LongAdder failedHandshakes;
  private final AtomicBoolean closed = new AtomicBoolean();
  /** Guarded by {@code closed}: {@link #close} has stopped everything. */
  private boolean stopped;

  private PeerServer(Server jetty, ServerConnector connector, Serving serving,
      InProcessNetwork network, URI endpoint, ServerTls tls, LongAdder failedHandshakes) {
    this.tls = tls;
    this.failedHandshakes = failedHandshakes;
    this.jetty = jetty;
    this.serving = serving;
    this.network = network;
    this.endpoint = endpoint;
    this.port = connector == null ? -1 : connector.getLocalPort();
  }

  /**
   * A builder for a server of {@code peer}.
   *
   * @param peer answers the requests; must accept concurrent calls
   */
  public static Builder newBuilder(Peer peer) {
    return new Builder(peer);
  }

  /**
   * Where callers reach this server: {@code http://host:port} or, with {@link Builder#tls},
   * {@code https://host:port} (the bound port, when 0 was asked), or {@code inproc://name}.
   */
  public URI endpoint() {
    return endpoint;
  }

  /**
   * Replaces the TLS key and certificate chain this server shows (PEM, as {@link
   * Builder#tls(Path, Path)}), without a restart: connections made from now on get the new
   * certificate, those open keep theirs. For certificates that are renewed while the peer runs.
   * A server that asks for clients' certificates ({@link Builder#requireClientCertificates})
   * goes on trusting the same ones.
   *
   * @throws IllegalArgumentException if a file cannot be read or holds no key or certificate of
   *     a form {@link Builder#tls(Path, Path)} takes, or the two do not match; the server goes on
   *     with the certificate it had
   * @throws IllegalStateException if this server does not serve TLS, or is closed
   */
  @Experimental
  public void reloadTls(Path privateKey, Path certificateChain) {
    tls.reloadIdentity(privateKey, certificateChain);
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
   * no {@link CallListener} hears them; this count is how to watch them. 0 on a cleartext port
   * and in process.
   */
  @Experimental
  public long failedTlsHandshakes() {
    return failedHandshakes.sum();
  }

  /** The bound TCP port (the one it served on, once closed), or -1 for an in-process server. */
  public int port() {
    return port;
  }

  /**
   * The calls holding a slot now (being read, verified or answered); 0 when idle. For
   * monitoring and tests.
   */
  public int activeCalls() {
    return serving.activeCalls();
  }

  /** The calls waiting for a slot now, highest stake first. For monitoring and tests. */
  public int queuedCalls() {
    return serving.queuedCalls();
  }

  /**
   * Blocks until the server is closed (by another thread or a shutdown hook of the caller's).
   *
   * @throws InterruptedException if the waiting thread is interrupted
   */
  public void awaitClose() throws InterruptedException {
    // Not jetty.join(): a stop cut short (JettyServers.stop) leaves Jetty's threads behind.
    synchronized (closed) {
      while (!stopped) {
        closed.wait();
      }
    }
  }

  /**
   * Stops serving and frees the port and threads. Calls waiting for a slot are turned away with
   * UNAVAILABLE; over HTTP calls in flight are cut off (their callers hear UNAVAILABLE), while an
   * in-process call already in the peer runs on to its answer. Idempotent.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    tls.close();
    if (network != null) {
      network.unbind(endpoint.getAuthority(), serving);
    }
    serving.shutdown();
    if (jetty != null) {
      JettyServers.stop(jetty, JettyServers.STOP_BOUND);
    }
    synchronized (closed) {
      stopped = true;
      closed.notifyAll();
    }
  }

  @Override
  public String toString() {
    return "PeerServer[" + endpoint + "]";
  }

  /**
   * Configures a {@link PeerServer}. Not thread-safe; the defaults suit a peer on a small
   * machine.
   */
  public static final class Builder {
    private final Peer peer;
    private String host = "0.0.0.0";
    private int port = 8091;
    private final ServerTls.Settings tls = new ServerTls.Settings();
    private Set<Modality> modalities = EnumSet.allOf(Modality.class);
    private TensorStandard standard = TensorStandard.anyOutputDim();
    private int maxConcurrentCalls = 64;
    private int maxQueuedCalls = 256;
    private Duration maxQueueWait = Duration.ofSeconds(5);
    private long maxPayloadBytes = 64L << 20;
    private StakeSource stakeSource = StakeSource.NONE;
    private boolean allowAnonymous;
    private Predicate<PeerId> callers;
    private boolean acceptMetadataOnly;
    private Duration staleWindow = Duration.ofSeconds(30);
    private long maxRememberedNonces = 1_000_000;
    private Duration defaultTimeout = Duration.ofSeconds(12);
    private Duration maxTimeout = Duration.ofSeconds(60);
    private Clock clock = Clock.systemUTC();
    private int threads = 0;
    private Keypair answerKey;
    private CallListener.Factory calls = CallListener.Factory.NONE;

    private Builder(Peer peer) {
      this.peer = Objects.requireNonNull(peer, "peer");
    }

    /** The address to bind; default {@code 0.0.0.0} (all interfaces). */
    public Builder host(String host) {
      this.host = Objects.requireNonNull(host, "host");
      return this;
    }

    /**
     * The TCP port; 0 picks a free one (read it back with {@link PeerServer#port()}); default
     * 8091.
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
     * The modalities served; others are answered UNKNOWN_MODALITY. Default: all.
     *
     * @throws IllegalArgumentException if none is given
     */
    public Builder modalities(Modality... modalities) {
      if (modalities.length == 0) {
        throw new IllegalArgumentException("serve at least one modality");
      }
      this.modalities = EnumSet.of(modalities[0], modalities);
      return this;
    }

    /**
     * The standard inputs and gradients are checked against; default
     * {@link TensorStandard#anyOutputDim()}.
     */
    public Builder standard(TensorStandard standard) {
      this.standard = Objects.requireNonNull(standard, "standard");
      return this;
    }

    /**
     * How many calls run at once (decoding, verifying, in the peer); default 64.
     *
     * @throws IllegalArgumentException if below 1
     */
    public Builder maxConcurrentCalls(int n) {
      this.maxConcurrentCalls = Args.atLeast(n, 1, "maxConcurrentCalls");
      return this;
    }

    /**
     * How many calls may wait for a slot, highest stake first; beyond it the lowest stake is
     * answered BACKOFF. Default 256.
     *
     * @throws IllegalArgumentException if negative
     */
    public Builder maxQueuedCalls(int n) {
      this.maxQueuedCalls = Args.atLeast(n, 0, "maxQueuedCalls");
      return this;
    }

    /** How long a call may wait for a slot before it is answered BACKOFF; default 5 s. */
    public Builder maxQueueWait(Duration wait) {
      this.maxQueueWait = Args.positive(wait, "maxQueueWait");
      return this;
    }

    /**
     * The largest request body, in bytes; larger ones are answered PAYLOAD_TOO_LARGE before
     * they are read. Default 64 MiB.
     *
     * @throws IllegalArgumentException unless in {@code [1, 2^31 - 16]}
     */
    public Builder maxPayloadBytes(long bytes) {
      this.maxPayloadBytes = Args.byteLimit(bytes, "maxPayloadBytes");
      return this;
    }

    /** Where callers' stake comes from, for admission under load; default: all equal. */
    public Builder stakeSource(StakeSource stakes) {
      this.stakeSource = Objects.requireNonNull(stakes, "stakes");
      return this;
    }

    /**
     * Whether unsigned requests are served (after every signed one under load). Default false:
     * they are answered UNAUTHENTICATED.
     */
    public Builder allowAnonymous(boolean allow) {
      this.allowAnonymous = allow;
      return this;
    }

    /**
     * Serves only the signed callers {@code callers} accepts, for example the keys registered on
     * the ledger; the others are answered UNAUTHENTICATED (field {@code caller}) and never reach
     * the peer. The key is checked before the request is hashed or its signature verified, so a
     * refused key costs the server the reading of its body and nothing more. Anonymous requests
     * are {@link #allowAnonymous}'s question. It runs on the serving threads for every request
     * and must be quick and thread-safe: a set, or a look at the last metagraph read. Default:
     * every key.
     *
     * <pre>{@code
     * Peer peer = ...;
     * Ledger ledger = RemoteLedger.connect(URI.create("http://10.0.0.2:8092"));
     * LedgerMembers members = LedgerMembers.follow(ledger);   // registered keys, block by block
     * PeerServer.newBuilder(peer).callers(members)...start();
     * }</pre>
     */
    @Experimental
    public Builder callers(Predicate<PeerId> callers) {
      this.callers = Objects.requireNonNull(callers, "callers");
      return this;
    }

    /**
     * Whether requests signed with {@link SignatureScope#METADATA_ONLY} (the tensors' bytes not
     * covered) are served. Default false: they are answered UNAUTHENTICATED with field {@code
     * caller.scope}. Turn it on only where the channel protects the bytes (a VPN, a mesh with
     * mutual TLS); whole-request signatures are accepted either way.
     */
    public Builder acceptMetadataOnlySignatures(boolean accept) {
      this.acceptMetadataOnly = accept;
      return this;
    }

    /**
     * Signs every SUCCESS answer with {@code key}, the peer's own (the key it registered on the
     * ledger), so that a client that knows the key can tell the answer is the peer's, unchanged,
     * and to its own request ({@link PeerClient.Builder#requireSignedAnswers}). Failures are not
     * signed. Default: no key, answers unsigned. Costs one Ed25519 signature (about 30 us) and a
     * hash of the output per answer.
     */
    public Builder signAnswers(Keypair key) {
      this.answerKey = Objects.requireNonNull(key, "key");
      return this;
    }

    /**
     * How far a request's timestamp may be from this server's clock, either way, before it is
     * answered STALE; nonces are remembered for twice this. Default 30 s.
     */
    public Builder staleWindow(Duration window) {
      this.staleWindow = Args.positive(window, "staleWindow");
      return this;
    }

    /**
     * The most nonces remembered at once (each for twice the stale window); while that many are
     * remembered, signed requests are refused with BACKOFF rather than any nonce forgotten early.
     * Default 1,000,000 (about 100 MB).
     *
     * @throws IllegalArgumentException if below 1
     */
    public Builder maxRememberedNonces(long n) {
      this.maxRememberedNonces = Args.atLeast(n, 1L, "maxRememberedNonces");
      return this;
    }

    /** The deadline of a request that names none; default 12 s. */
    public Builder defaultTimeout(Duration timeout) {
      this.defaultTimeout = Args.positive(timeout, "defaultTimeout");
      return this;
    }

    /**
     * The longest deadline granted to a request; default 60 s. A request's deadline (the
     * timeout it carries, at most this; {@link #defaultTimeout} when it carries none) runs from
     * its arrival: the time it waited for a slot counts, and a request whose time ran out while
     * it waited is answered TIMEOUT without reaching the peer. Over HTTP it also bounds how long
     * an admitted request's body may take to arrive: one that has not is answered TIMEOUT, so
     * that a caller sending a byte now and then cannot hold a slot for good.
     */
    public Builder maxTimeout(Duration timeout) {
      this.maxTimeout = Args.positive(timeout, "maxTimeout");
      return this;
    }

    /**
     * Hears every request this server answers, served or refused, once its answer is ready
     * ({@link CallListener}); default {@link CallListener#NONE}. Requests for paths other than
     * the peer's two are not calls and are not heard. Replaces a {@link #callListenerFactory}
     * set before.
     */
    @Experimental
    public Builder callListener(CallListener listener) {
      this.calls = CallListener.Factory.of(listener);
      return this;
    }

    /**
     * Makes a listener for every request this server answers as it arrives, which hears its end
     * ({@link CallListener.Factory}); default {@link CallListener.Factory#NONE}. For state of each
     * call's own, from its start: a tracing span, the calls in flight. Replaces a {@link
     * #callListener} set before.
     */
    @Experimental
    public Builder callListenerFactory(CallListener.Factory factory) {
      this.calls = Objects.requireNonNull(factory, "factory");
      return this;
    }

    /** The clock timestamps are checked against; default UTC system clock. */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * The most HTTP server threads; default 0: Jetty's choice (up to 200). Threads are created
     * on demand and named {@code bittensor-server-*}.
     *
     * @throws IllegalArgumentException if {@code n} is positive but below 4 (Jetty needs them)
     */
    public Builder threads(int n) {
      if (n != 0 && n < 4) {
        throw new IllegalArgumentException("threads must be 0 (default) or >= 4, was " + n);
      }
      this.threads = n;
      return this;
    }

    /**
     * Serves HTTPS instead of cleartext HTTP: TLS with the private key in {@code privateKey}
     * (PEM, unencrypted PKCS#8: EC, RSA or Ed25519) and the certificate chain in {@code
     * certificateChain} (PEM, the server's certificate first), on which each client's ALPN
     * chooses HTTP/2 or HTTP/1.1. The endpoint becomes {@code https://host:port}; a client
     * checks the certificate against the host or address it dials, so the certificate names the
     * one the peer advertises. TLS keeps what peers send each other private on the way; who sent
     * it is still the request's Ed25519 signature, and who answered the answer's ({@link
     * #signAnswers}).
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
     * Serves HTTPS with a TLS context of the caller's own (a key store, a hardware key): as
     * {@link #tls(Path, Path)}. The context is used as it is and stays the caller's.
     */
    @Experimental
    public Builder tls(SSLContext context) {
      tls.own(context);
      return this;
    }

    /**
     * Mutual TLS: asks every client for a certificate during the TLS handshake and serves only
     * those whose certificate is issued by one in {@code trustedCertificates} (PEM: the
     * authority that signs the clients' certificates, or their own self-signed ones). A client
     * without one never reaches the peer: the handshake fails and no request is read, so a
     * stranger cannot even make the server parse a body. Clients show theirs with {@link
     * PeerClient.Builder#clientCertificate}. Needs {@link #tls(Path, Path)}; the certificate
     * says which machine may connect, while who sent a request is still its Ed25519 signature.
     * With it, signatures over the metadata only ({@link SignatureScope#METADATA_ONLY}) are as
     * safe as on a private network: no one without a trusted certificate can change the bytes.
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

    /**
     * Binds the HTTP port (HTTPS with {@link #tls}) and starts serving.
     *
     * @throws IOException if the port cannot be bound (in use, no permission)
     * @throws IllegalStateException if {@link #requireClientCertificates(Path)} was called
     *     without {@link #tls(Path, Path)}, or {@link #requireClientCertificates()} without
     *     {@link #tls(SSLContext)}
     */
    public PeerServer start() throws IOException {
      SSLContext context = tls.context();
      Serving serving = serving();
      Server jetty = JettyServers.create("bittensor-server", threads);
      HttpConfiguration http = JettyServers.http(context);
      HTTP2ServerConnectionFactory h2 = JettyServers.h2(http, context);
      // Every call that may run or wait; summed in long, as near Integer.MAX_VALUE it overflows.
      long streams = (long) maxConcurrentCalls + maxQueuedCalls;
      h2.setMaxConcurrentStreams((int) Math.min(Integer.MAX_VALUE, Math.max(128, streams)));
      int window = (int) Math.min(Integer.MAX_VALUE, Math.max(maxPayloadBytes, 1 << 20));
      h2.setInitialStreamRecvWindow(Math.min(window, 16 << 20));
      h2.setInitialSessionRecvWindow(Math.min(window, 16 << 20) * 2);
      ServerConnector connector =
          JettyServers.connector(jetty, JettyServers.protocols(http, h2, context, tls.asks()));
      connector.setHost(host);
      connector.setPort(port);
      connector.setAcceptQueueSize(256);
      jetty.addConnector(connector);
      jetty.setHandler(new HttpPeerHandler(serving, jetty.getThreadPool()));
      LongAdder failedHandshakes = JettyServers.countFailedHandshakes(connector);
      URI endpoint = JettyServers.start(jetty, connector, "peers");
      return new PeerServer(jetty, connector, serving, null, endpoint,
          tls.forPort(connector), failedHandshakes);
    }

    /**
     * Serves inside this JVM as {@code inproc://name} on {@code network}, with the same checks
     * and codes as over HTTP; clients reach it through a {@link PeerClient} built with the same
     * network.
     *
     * @throws IllegalArgumentException if the name is taken on that network or not a valid URI
     *     authority
     */
    public PeerServer startInProcess(InProcessNetwork network, String name) {
      Objects.requireNonNull(network, "network");
      URI endpoint = InProcessNetwork.endpoint(name);
      Serving serving = serving();
      network.bind(name, serving);
      return new PeerServer(null, null, serving, network, endpoint,
          new ServerTls.Settings().forPort(null), new LongAdder());
    }

    private Serving serving() {
      if (maxTimeout.compareTo(defaultTimeout) < 0) {
        throw new IllegalArgumentException("maxTimeout " + maxTimeout
            + " must be >= defaultTimeout " + defaultTimeout);
      }
      Authenticator auth =
          new Authenticator(clock, staleWindow, allowAnonymous, maxRememberedNonces,
              acceptMetadataOnly, callers);
      ServingCore core =
          new ServingCore(peer, modalities, standard, auth, defaultTimeout, maxTimeout, answerKey);
      Admission admission = new Admission(maxConcurrentCalls, maxQueuedCalls,
          Deadlines.saturatedNanos(maxQueueWait), System::nanoTime, Timer.SHARED);
      return new Serving(core, admission, stakeSource, maxPayloadBytes, 100, calls);
    }

  }
}
