package io.bittensor.transport.internal;

import java.io.IOException;
import java.net.URI;
import javax.net.ssl.SSLContext;
import org.eclipse.jetty.alpn.server.ALPNServerConnectionFactory;
import org.eclipse.jetty.http2.server.HTTP2ServerConnectionFactory;
import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;

/** What the peer server and the ledger server set up alike on Jetty. */
public final class JettyServers {
  private JettyServers() {}

  /**
   * A server whose threads are daemons named {@code name-*}.
   *
   * @param threads the most threads, or 0 for Jetty's choice
   */
  public static Server create(String name, int threads) {
    QueuedThreadPool pool = threads == 0 ? new QueuedThreadPool() : new QueuedThreadPool(threads);
    pool.setName(name);
    pool.setDaemon(true);
    return new Server(pool, new ScheduledExecutorScheduler(name + "-scheduler", true), null);
  }

  /** An HTTP configuration without the server's version and date headers. */
  public static HttpConfiguration http() {
    HttpConfiguration http = new HttpConfiguration();
    http.setSendServerVersion(false);
    http.setSendDateHeader(false);
    return http;
  }

  /**
   * The connection factories of a TLS port on which ALPN chooses HTTP/2 or HTTP/1.1 (HTTP/1.1
   * for a client that names neither): TLS, ALPN, {@code h2}, {@code http/1.1}, in that order.
   *
   * @param h2 the HTTP/2 factory, configured by the caller
   */
  public static ConnectionFactory[] tls(SSLContext context, HttpConfiguration http,
      HTTP2ServerConnectionFactory h2) {
    HttpConnectionFactory h1 = new HttpConnectionFactory(http);
    ALPNServerConnectionFactory alpn = new ALPNServerConnectionFactory();
    alpn.setDefaultProtocol(h1.getProtocol());
    SslContextFactory.Server ssl = new SslContextFactory.Server();
    ssl.setSslContext(context);
    return new ConnectionFactory[] {new SslConnectionFactory(ssl, alpn.getProtocol()), alpn, h2,
        h1};
  }

  /**
   * Gives the TLS port of {@code connector} a new key and certificate: connections made from now
   * on are served with {@code context}; those open keep the session they have.
   *
   * @throws IllegalStateException if the port does not serve TLS, or the new context cannot be
   *     put in place
   */
  public static void reloadTls(ServerConnector connector, SSLContext context) {
    SslConnectionFactory tls =
        connector == null ? null : connector.getConnectionFactory(SslConnectionFactory.class);
    if (tls == null) {
      throw new IllegalStateException("this server does not serve TLS: build it with tls(...)");
    }
    try {
      tls.getSslContextFactory().reload(f -> f.setSslContext(context));
    } catch (Exception e) {
      throw new IllegalStateException("cannot put the new TLS key in place: " + e.getMessage(),
          e);
    }
  }

  /**
   * An HTTP configuration for a TLS port: {@link #http()} with the request marked secure. The
   * client's SNI name is not checked against the certificate: peers are often reached by
   * address, and a client checks the certificate against the name or address it dialled.
   */
  public static HttpConfiguration https() {
    HttpConfiguration https = http();
    SecureRequestCustomizer secure = new SecureRequestCustomizer();
    secure.setSniHostCheck(false);
    https.addCustomizer(secure);
    return https;
  }

  /**
   * Starts {@code jetty}, which is stopped again if that fails; close() cuts calls in flight off
   * (no graceful drain).
   *
   * @return {@code http://host:port} with the bound port ({@code 127.0.0.1} for all interfaces)
   * @throws IOException if the port cannot be bound
   */
  public static URI start(Server jetty, ServerConnector connector, String what)
      throws IOException {
    return start(jetty, connector, what, "http");
  }

  /**
   * As {@link #start(Server, ServerConnector, String)}, the endpoint with {@code scheme}.
   *
   * @throws IOException if the port cannot be bound
   */
  public static URI start(Server jetty, ServerConnector connector, String what, String scheme)
      throws IOException {
    jetty.setStopTimeout(0);
    jetty.setStopAtShutdown(false);
    try {
      jetty.start();
    } catch (Exception e) {
      try {
        jetty.stop();
      } catch (Exception ignored) {
        // Already failing; the start failure is what matters.
      }
      throw new IOException("cannot serve " + what + " on " + connector.getHost() + ":"
          + connector.getPort() + ": " + e.getMessage(), e);
    }
    String host = connector.getHost();
    String shown = host == null || "0.0.0.0".equals(host) ? "127.0.0.1" : host;
    return URI.create(scheme + "://" + shown + ":" + connector.getLocalPort());
  }
}
