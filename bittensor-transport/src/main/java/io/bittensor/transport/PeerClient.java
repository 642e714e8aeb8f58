package io.bittensor.transport;

import io.bittensor.core.Experimental;
import io.bittensor.core.Keypair;
import io.bittensor.core.Peer;
import io.bittensor.core.PeerInfo;
import io.bittensor.core.TensorStandard;
import io.bittensor.core.internal.OutstandingCalls;
import io.bittensor.transport.internal.Args;
import io.bittensor.transport.internal.ClientCore;
import io.bittensor.transport.internal.InProcessPeer;
import io.bittensor.transport.internal.ListenedPeer;
import io.bittensor.transport.internal.NoDelaySocketFactory;
import io.bittensor.transport.internal.OkHttpPeer;
import io.bittensor.transport.internal.ReloadableIdentity;
import io.bittensor.transport.internal.Tls;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManager;
import javax.net.ssl.X509TrustManager;
import okhttp3.ConnectionPool;
import okhttp3.Dispatcher;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;

/**
 * Turns endpoints into {@link Peer}s: {@code http://host:port} over OkHttp (pooled HTTP/1.1 by
 * default, the faster here; or HTTP/2 with prior knowledge), {@code https://host:port} over TLS
 * (trusting the JDK's authorities, or {@link Builder#trustedCertificates}), {@code inproc://name}
 * through an {@link InProcessNetwork}; an address without a port goes to 80 or 443. Requests
 * are signed with the client's {@link Keypair}, or sent anonymous without one; answers are
 * checked against the client's {@link TensorStandard}, and with {@link
 * Builder#requireSignedAnswers} against the signature of the peer's key.
 *
 * <pre>{@code
 * try (PeerClient client = PeerClient.newBuilder()
 *     .keypair(Keypair.load(Path.of("peer.key")))
 *     .standard(TensorStandard.of(512))
 *     .timeout(Duration.ofSeconds(2))
 *     .build()) {
 *   Peer bob = client.connect(URI.create("http://10.0.0.7:8091"));
 *   Tensor ids = Tensor.ofLongs(new long[] {101, 2023, 102}, 1, 3);   // token ids
 *   ForwardResult r = bob.forward(new ForwardRequest(Modality.TEXT, ids)).join();
 *   // or, from a thread that blocks anyway, the call made on this thread:
 *   ForwardResult s = bob.forwardAndWait(new ForwardRequest(Modality.TEXT, ids),
 *       Duration.ofSeconds(2));
 * }
 * }</pre>
 *
 * <p>Every call's future completes normally with a status: TIMEOUT when the deadline passes,
 * UNAVAILABLE when the peer cannot be reached, BAD_RESPONSE or BAD_SHAPE when its answer is
 * unreadable or breaks the standard, or the status the server answered.
 *
 * <p>Thread-safe; share one client across threads and peers (it pools connections). Lifecycle:
 * {@link #close()} stops its dispatcher threads (named {@code bittensor-client-*}) and closes
 * idle connections; calls in flight are cancelled. Close is idempotent. Peers from a closed
 * client answer UNAVAILABLE.
 */
public final class PeerClient implements AutoCloseable {
  private final OkHttpClient http;
  /** For https endpoints: the same dispatcher and connection pool, with TLS. */
  private final OkHttpClient https;
  /** The certificate shown to servers that ask for one, or null. */
  private final ReloadableIdentity identity;
  private final ExecutorService dispatcherThreads;
  private final ClientCore core;
  private final Keypair keypair;
  private final InProcessNetwork network;
  private final Duration timeout;
  private final long maxResponseBytes;
  private final boolean requireSignedAnswers;
  private final CallListener.Factory calls;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final OutstandingCalls inProcessCalls = new OutstandingCalls();

  private PeerClient(Builder b) {
    this.keypair = b.keypair;
    this.network = b.network;
    this.timeout = b.timeout;
    this.maxResponseBytes = b.maxResponseBytes;
    this.requireSignedAnswers = b.requireSignedAnswers;
    this.calls = b.calls;
    this.core = new ClientCore(b.keypair, b.clock, b.standard, b.scope.wire());
    AtomicInteger n = new AtomicInteger();
    this.dispatcherThreads = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 60, TimeUnit.SECONDS,
        new SynchronousQueue<>(), r -> {
          Thread t = new Thread(r, "bittensor-client-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
    Dispatcher dispatcher = new Dispatcher(dispatcherThreads);
    dispatcher.setMaxRequests(b.maxConcurrentCalls);
    dispatcher.setMaxRequestsPerHost(b.maxConcurrentCalls);
    this.http = new OkHttpClient.Builder()
        .protocols(b.protocol == HttpProtocol.H2_PRIOR_KNOWLEDGE
            ? List.of(Protocol.H2_PRIOR_KNOWLEDGE) : List.of(Protocol.HTTP_1_1))
        .dispatcher(dispatcher)
        .connectionPool(new ConnectionPool(b.maxIdleConnections, 5, TimeUnit.MINUTES))
        .socketFactory(new NoDelaySocketFactory())
        .connectTimeout(Args.forOkHttp(b.connectTimeout))
        .readTimeout(Duration.ZERO) // each call has its own deadline
        .writeTimeout(Duration.ZERO)
        .build();
    // Each client its own, so that a reload of one leaves the builder's other clients alone.
    this.identity = b.clientCertificate == null ? null : b.clientCertificate.copy();
    this.https = Tls.okHttp(http, b.protocol == HttpProtocol.H2_PRIOR_KNOWLEDGE, b.trust,
        identity == null ? null : new KeyManager[] {identity});
  }

  /** A builder with the defaults: anonymous, pooled HTTP/1.1, 12 s per call. */
  public static Builder newBuilder() {
    return new Builder();
  }

  /**
   * The peer at {@code endpoint}. Nothing is sent until its first call.
   *
   * @param endpoint {@code http://host:port}, {@code https://host:port} (without a port, 80 or
   *     443), or {@code inproc://name} when the client has an in-process network
   * @throws IllegalArgumentException for another scheme, no host, {@code inproc} without a
   *     network, or a client that requires signed answers (a bare address names no key to check
   *     them with: {@link #connect(PeerInfo)})
   */
  public Peer connect(URI endpoint) {
    Objects.requireNonNull(endpoint, "endpoint");
    if (requireSignedAnswers) {
      throw new IllegalArgumentException("this client requires signed answers, and " + endpoint
          + " names no key to check them with: connect(PeerInfo), which names the peer's key");
    }
    return connect(endpoint, null, null);
  }

  private Peer connect(URI endpoint, io.bittensor.core.PeerId signer,
      io.bittensor.core.PeerId callee) {
    Peer peer = connect(endpoint, signer);
    return calls == CallListener.Factory.NONE ? peer : new ListenedPeer(peer, callee, calls);
  }

  private Peer connect(URI endpoint, io.bittensor.core.PeerId signer) {
    String scheme = endpoint.getScheme();
    if (InProcessNetwork.SCHEME.equals(scheme)) {
      if (network == null) {
        throw new IllegalArgumentException(
            endpoint + " is in-process, but this client was built without inProcess(network)");
      }
      return new InProcessPeer(endpoint, network::lookup, core, timeout,
          keypair == null ? null : keypair.id(), signer, closed::get, inProcessCalls);
    }
    boolean secure = "https".equals(scheme);
    if (!(secure || "http".equals(scheme)) || endpoint.getHost() == null) {
      throw new IllegalArgumentException("an endpoint is http://host:port, https://host:port or"
          + " inproc://name, was " + endpoint);
    }
    return new OkHttpPeer(endpoint, secure ? https : http, core, timeout, maxResponseBytes,
        signer, closed::get);
  }

  /**
   * The peer {@code info} describes. With {@link Builder#requireSignedAnswers}, its successful
   * answers must be signed with {@code info.id()}.
   *
   * @throws IllegalArgumentException for an endpoint of another scheme, or {@code inproc} without
   *     a network
   */
  public Peer connect(PeerInfo info) {
    Objects.requireNonNull(info, "info");
    return connect(info.endpoint(), requireSignedAnswers ? info.id() : null, info.id());
  }

  /**
   * Shows the certificate chain in {@code certificateChain} with its key in {@code privateKey}
   * (PEM, as {@link Builder#clientCertificate}) from now on, without a restart: connections
   * made from now on show the new certificate, those open keep theirs. For client certificates
   * that are renewed while the client runs.
   *
   * @throws IllegalArgumentException if a file cannot be read or holds no key or certificate of
   *     a form {@link Builder#clientCertificate} takes, or the two do not match; the client goes
   *     on showing the certificate it had
   * @throws IllegalStateException if this client was built without {@link
   *     Builder#clientCertificate}
   */
  @Experimental
  public void reloadClientCertificate(Path privateKey, Path certificateChain) {
    ReloadableIdentity.reloadClient(identity, privateKey, certificateChain);
  }

  /** Cancels calls in flight, stops the dispatcher threads, closes pooled connections. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    http.dispatcher().cancelAll();
    inProcessCalls.cancelAll();
    dispatcherThreads.shutdown();
    http.connectionPool().evictAll();
  }

  /** Configures a {@link PeerClient}. Not thread-safe. */
  public static final class Builder {
    private Keypair keypair;
    private HttpProtocol protocol = HttpProtocol.HTTP_1_1;
    private X509TrustManager trust;
    private ReloadableIdentity clientCertificate;
    private Duration timeout = Duration.ofSeconds(12);
    private Duration connectTimeout = Duration.ofSeconds(5);
    private TensorStandard standard = TensorStandard.anyOutputDim();
    private InProcessNetwork network;
    private Clock clock = Clock.systemUTC();
    private int maxConcurrentCalls = 256;
    private int maxIdleConnections = 32;
    private long maxResponseBytes = 256L << 20;
    private SignatureScope scope = SignatureScope.WHOLE_REQUEST;
    private boolean requireSignedAnswers;
    private CallListener.Factory calls = CallListener.Factory.NONE;

    private Builder() {}

    /**
     * Hears every call made through this client's peers once its result is known, with the
     * status the caller got (a timeout, an unreachable peer, a refusal, a success); default
     * {@link CallListener#NONE}. Replaces a {@link #callListenerFactory} set before.
     */
    @Experimental
    public Builder callListener(CallListener listener) {
      this.calls = CallListener.Factory.of(listener);
      return this;
    }

    /**
     * Makes a listener for every call made through this client's peers as its caller makes it,
     * which hears its end ({@link CallListener.Factory}); default {@link
     * CallListener.Factory#NONE}, with which the peers are not wrapped at all. Replaces a {@link
     * #callListener} set before.
     */
    @Experimental
    public Builder callListenerFactory(CallListener.Factory factory) {
      this.calls = Objects.requireNonNull(factory, "factory");
      return this;
    }

    /**
     * Whether a successful answer counts only when the peer signed it, with the key its {@link
     * PeerInfo} names, over this very request ({@link PeerServer.Builder#signAnswers}). An answer
     * that is unsigned, signed by another key, changed on the way or moved from another request
     * is read as BAD_RESPONSE (field {@code signer}), so nobody on the path can put words in a
     * peer's mouth, and with them into a validator's weights. Default false. When true, peers are
     * reached only through {@link PeerClient#connect(PeerInfo)}. Costs one Ed25519 verification
     * (about 30 us for a key seen before) and a hash of the request and the output per answer.
     */
    public Builder requireSignedAnswers(boolean require) {
      this.requireSignedAnswers = require;
      return this;
    }

    /** Signs every request with {@code keypair}; without one, requests are anonymous. */
    public Builder keypair(Keypair keypair) {
      this.keypair = Objects.requireNonNull(keypair, "keypair");
      return this;
    }

    /**
     * What the signatures cover; default {@link SignatureScope#WHOLE_REQUEST}. {@link
     * SignatureScope#METADATA_ONLY} skips hashing the tensors (about 0.6 ms per MiB on each
     * side) and leaves their bytes unprotected: only for channels that protect them already, and
     * only servers configured to accept it will serve such calls.
     */
    public Builder signatureScope(SignatureScope scope) {
      this.scope = Objects.requireNonNull(scope, "scope");
      return this;
    }

    /**
     * Pooled HTTP/1.1 (default: it moved more requests and bytes per second than HTTP/2 in most
     * configurations measured, see benchmarks/TRANSPORT.md) or HTTP/2 with prior knowledge (one
     * multiplexed connection per peer: fewer sockets for many peers).
     */
    public Builder protocol(HttpProtocol protocol) {
      this.protocol = Objects.requireNonNull(protocol, "protocol");
      return this;
    }

    /**
     * Trusts the certificates in {@code pem} (PEM: the authorities that sign the peers'
     * certificates, or the peers' own self-signed ones) for {@code https://} peers, in place of
     * the JDK's default authorities. A peer's certificate must also name the host or address the
     * client dials. A peer it does not trust answers UNAVAILABLE, saying why.
     *
     * @throws IllegalArgumentException if the file cannot be read or holds no certificate
     */
    @Experimental
    public Builder trustedCertificates(Path pem) {
      this.trust = Tls.trustManager(Objects.requireNonNull(pem, "pem"));
      return this;
    }

    /**
     * Mutual TLS: shows the certificate chain in {@code certificateChain} (PEM, the client's own
     * certificate first), with its private key in {@code privateKey} (PEM, unencrypted PKCS#8),
     * to {@code https://} peers that ask for one ({@link
     * PeerServer.Builder#requireClientCertificates}). Such a server refuses a client without a
     * certificate it trusts at the handshake, which the caller sees as UNAVAILABLE. The
     * certificate must allow client authentication (an extended key usage of {@code
     * clientAuth}, or none).
     *
     * @throws IllegalArgumentException if a file cannot be read or holds no key or certificate
     *     of a form this takes, or the two do not match
     */
    @Experimental
    public Builder clientCertificate(Path privateKey, Path certificateChain) {
      this.clientCertificate = new ReloadableIdentity(privateKey, certificateChain);
      return this;
    }

    /** The deadline of a call made without one; default 12 s. */
    public Builder timeout(Duration timeout) {
      this.timeout = Args.positive(timeout, "timeout");
      return this;
    }

    /** How long to wait for a TCP connection; default 5 s (within the call's deadline). */
    public Builder connectTimeout(Duration timeout) {
      this.connectTimeout = Args.positive(timeout, "connectTimeout");
      return this;
    }

    /** What answers must meet; default {@link TensorStandard#anyOutputDim()}. */
    public Builder standard(TensorStandard standard) {
      this.standard = Objects.requireNonNull(standard, "standard");
      return this;
    }

    /** Lets {@link #connect(URI)} reach {@code inproc://} peers on {@code network}. */
    public Builder inProcess(InProcessNetwork network) {
      this.network = Objects.requireNonNull(network, "network");
      return this;
    }

    /** The clock requests are stamped with; default UTC system clock. */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * The most HTTP calls in flight, per host and in all; more wait in the client. Default 256.
     *
     * @throws IllegalArgumentException if below 1
     */
    public Builder maxConcurrentCalls(int n) {
      this.maxConcurrentCalls = Args.atLeast(n, 1, "maxConcurrentCalls");
      return this;
    }

    /**
     * The largest answer accepted, in bytes; larger ones are BAD_RESPONSE. Default 256 MiB.
     *
     * @throws IllegalArgumentException unless in {@code [1, 2^31 - 16]}
     */
    public Builder maxResponseBytes(long bytes) {
      this.maxResponseBytes = Args.byteLimit(bytes, "maxResponseBytes");
      return this;
    }

    /** Builds the client; it opens connections lazily. */
    public PeerClient build() {
      return new PeerClient(this);
    }

  }
}
