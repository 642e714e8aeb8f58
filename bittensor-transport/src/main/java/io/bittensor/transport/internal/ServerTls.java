package io.bittensor.transport.internal;

import java.nio.file.Path;
import java.util.Objects;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.X509TrustManager;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * The TLS of a server's port as reloads change it while it serves: the key and certificate it
 * shows, and the client certificates it trusts when it asks for them. Each reload builds a new
 * context from both and puts it in place for connections made from then on; those open keep
 * their session. A file that does not read changes nothing. Once the server is closed ({@link
 * #close}), reloads are refused.
 *
 * <p>Thread-safe: reloads are serialised, so one never undoes the other's half.
 */
public final class ServerTls {
  private final ServerConnector connector;
  private final boolean asks;
  private KeyManager[] identity;
  private X509TrustManager clientTrust;
  private boolean closed;

  /**
   * @param connector the port, null in process
   * @param identity what it shows, null for a TLS context of the caller's own or none
   * @param clientTrust the client certificates it trusts, null when it asks for none or its
   *     context of the caller's own decides
   * @param asks whether it asks clients for certificates
   */
  private ServerTls(ServerConnector connector, KeyManager[] identity,
      X509TrustManager clientTrust, boolean asks) {
    this.connector = connector;
    this.identity = identity;
    this.clientTrust = clientTrust;
    this.asks = asks;
  }

  /**
   * Shows the key and certificate chain in these files (as {@link Tls#identity} reads them),
   * still trusting the same client certificates.
   *
   * @throws IllegalArgumentException if the files do not read, as {@link Tls#identity}
   * @throws IllegalStateException if the server is closed, the port does not serve TLS, its
   *     client certificates are trusted by a context of the caller's own (which files would
   *     replace), or the new context cannot be put in place
   */
  public synchronized void reloadIdentity(Path privateKey, Path certificateChain) {
    open();
    factory(); // a cleartext port is refused before the files are read
    if (asks && clientTrust == null) {
      throw new IllegalStateException("this server's client certificates are trusted by a TLS"
          + " context of the caller's own; a key and certificate from files would lose that"
          + " trust");
    }
    KeyManager[] next = Tls.identity(privateKey, certificateChain);
    put(Tls.context(next, clientTrust));
    identity = next;
  }

  /**
   * Trusts the client certificates in {@code pem} (as {@link Tls#trustManager} reads it) from
   * now on, in place of those it trusted: a member added to the file is let in, one removed is
   * refused at its next connection.
   *
   * @throws IllegalArgumentException if the file does not read or holds no certificate
   * @throws IllegalStateException if the server is closed, the port does not ask for client
   *     certificates, or a context of the caller's own decides which it trusts
   */
  public synchronized void reloadClientTrust(Path pem) {
    open();
    if (!asks) {
      throw new IllegalStateException("this server does not ask for client certificates: build"
          + " it with requireClientCertificates(...)");
    }
    if (clientTrust == null) {
      throw new IllegalStateException("this server's client certificates are trusted by a TLS"
          + " context of the caller's own: give it a new context instead");
    }
    X509TrustManager next = Tls.trustManager(pem);
    put(Tls.context(identity, next));
    clientTrust = next;
  }

  /**
   * Refuses every reload from now on: for the server's {@code close()}, before it stops the port,
   * so that a reload after close says so instead of changing a port that no longer serves.
   * Idempotent.
   */
  public synchronized void close() {
    closed = true;
  }

  private void open() {
    if (closed) {
      throw new IllegalStateException("this server is closed: there is no TLS to reload");
    }
  }

  /**
   * A server builder's TLS settings, shared by {@code PeerServer.Builder} and {@code
   * LedgerServer.Builder}: files are read (and refused) as they are given, and {@link #context}
   * checks that the settings go together when the server starts. Not thread-safe, as a builder.
   */
  public static final class Settings {
    private SSLContext own;
    private KeyManager[] identity;
    private X509TrustManager clientTrust;
    private boolean askOwn;

    /** Shows the key and chain in these files ({@link Tls#identity}), in place of a context. */
    public void identity(Path privateKey, Path certificateChain) {
      identity = Tls.identity(privateKey, certificateChain);
      own = null;
    }

    /** Serves with the caller's own context, in place of files. */
    public void own(SSLContext context) {
      own = Objects.requireNonNull(context, "context");
      identity = null;
    }

    /** Asks for client certificates that one in {@code pem} issued. */
    public void trust(Path pem) {
      clientTrust = Tls.trustManager(Objects.requireNonNull(pem, "trustedCertificates"));
    }

    /** Asks for client certificates that the caller's own context trusts. */
    public void askOwn() {
      askOwn = true;
    }

    /** Whether the port asks clients for certificates. */
    public boolean asks() {
      return clientTrust != null || askOwn;
    }

    /**
     * The port's TLS context: the caller's, or the one that shows the identity and trusts the
     * client certificates given.
     *
     * @return null for cleartext (neither given)
     * @throws IllegalStateException if client certificates are to be checked without an
     *     identity of ours to put the trust beside, or by a context of the caller's that was not
     *     given
     */
    public SSLContext context() {
      if (askOwn && (own == null || clientTrust != null)) {
        throw new IllegalStateException(own == null
            ? "requireClientCertificates() trusts what a TLS context of the caller's own trusts:"
                + " give tls(SSLContext), or name the trusted certificates with"
                + " requireClientCertificates(Path)"
            : "requireClientCertificates() and requireClientCertificates(Path) together: the"
                + " first trusts the caller's TLS context, the second a file");
      }
      if (clientTrust == null) {
        return own != null ? own : identity == null ? null : Tls.context(identity, null);
      }
      if (identity == null) {
        throw new IllegalStateException(own == null
            ? "requireClientCertificates needs TLS: call tls(privateKey, certificateChain) too"
            : "requireClientCertificates(Path) needs tls(privateKey, certificateChain): a TLS"
                + " context of the caller's own decides itself which client certificates it"
                + " trusts (requireClientCertificates() asks for them on its terms)");
      }
      return Tls.context(identity, clientTrust);
    }

    /** What reloads change on {@code connector} (null in process) once the server serves. */
    public ServerTls forPort(ServerConnector connector) {
      return new ServerTls(connector, identity, clientTrust, asks());
    }
  }

  private SslConnectionFactory factory() {
    SslConnectionFactory tls =
        connector == null ? null : connector.getConnectionFactory(SslConnectionFactory.class);
    if (tls == null) {
      throw new IllegalStateException("this server does not serve TLS: build it with tls(...)");
    }
    return tls;
  }

  /**
   * Puts {@code context} in place of the port's. Jetty sets the new context before it loads it:
   * a load that fails would leave the port half way, with a context this object does not hold
   * (a later reload of the trust would then pair it with the old key), so the context the port
   * had is put back first.
   */
  private void put(SSLContext context) {
    SslContextFactory ssl = factory().getSslContextFactory();
    SSLContext before = ssl.getSslContext();
    try {
      ssl.reload(f -> f.setSslContext(context));
    } catch (Exception e) {
      try {
        ssl.reload(f -> f.setSslContext(before));
      } catch (Exception again) {
        e.addSuppressed(again);
      }
      if (e instanceof IllegalStateException state) {
        throw state;
      }
      throw new IllegalStateException("cannot put the new TLS context in place: "
          + e.getMessage(), e);
    }
  }
}
