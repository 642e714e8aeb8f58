package io.bittensor.transport.internal;

import java.net.Socket;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * The server certificates a client trusts, replaceable while the client runs (a renewed or
 * replaced authority): each handshake checks the server against the trust that is current then.
 *
 * <p>Thread-safe: handshakes read it on any thread, {@link #reload} may run at the same time.
 */
public final class ReloadableTrust extends X509ExtendedTrustManager {
  private volatile X509ExtendedTrustManager current;
  /** The TLS sessions of the clients that trust this: forgotten at each reload. */
  private final List<SSLSessionContext> sessions = new CopyOnWriteArrayList<>();

  /**
   * The certificates in {@code pem} (as {@link Tls#trustManager} reads them).
   *
   * @throws IllegalArgumentException if the file does not read or holds no certificate
   */
  public ReloadableTrust(Path pem) {
    reload(pem);
  }

  private ReloadableTrust(X509ExtendedTrustManager current) {
    this.current = current;
  }

  /**
   * A trust of its own that trusts what this one trusts now: for each client a builder makes,
   * so that reloading one client's trust leaves the others'.
   */
  public ReloadableTrust copy() {
    return new ReloadableTrust(current);
  }

  /**
   * Trusts the certificates in {@code pem} from the next handshake on, in place of those it
   * trusted; connections already made keep theirs.
   *
   * @throws IllegalArgumentException if the file does not read or holds no certificate; the
   *     trust so far stays
   */
  public synchronized void reload(Path pem) {
    X509TrustManager read = Tls.trustManager(pem);
    if (!(read instanceof X509ExtendedTrustManager extended)) {
      // The JDK's own is extended; a plain one would lose the checks the JDK adds to those.
      throw new IllegalStateException("the JDK made a trust manager that is not extended: "
          + read.getClass().getName());
    }
    current = extended;
    // A new connection that resumed a session from before would skip the check of the server's
    // certificate against the new trust: forget them.
    ReloadableIdentity.forgetSessions(sessions);
  }

  /** Forgets the sessions in {@code context} at each reload from now on (the client's). */
  void forgetsOnReload(SSLSessionContext context) {
    sessions.add(context);
  }

  /**
   * Reloads the trust of a client, {@code trust}, which is null for a client built without
   * certificates of its own to trust.
   *
   * @throws IllegalStateException if {@code trust} is null
   * @throws IllegalArgumentException as {@link #reload}
   */
  public static void reloadClient(ReloadableTrust trust, Path pem) {
    if (trust == null) {
      throw new IllegalStateException("this client trusts the JDK's authorities, not a file:"
          + " build it with trustedCertificates(...)");
    }
    trust.reload(pem);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    current.checkServerTrusted(chain, authType, socket);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    current.checkServerTrusted(chain, authType, engine);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    current.checkServerTrusted(chain, authType);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    current.checkClientTrusted(chain, authType, socket);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    current.checkClientTrusted(chain, authType, engine);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    current.checkClientTrusted(chain, authType);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return current.getAcceptedIssuers();
  }
}
