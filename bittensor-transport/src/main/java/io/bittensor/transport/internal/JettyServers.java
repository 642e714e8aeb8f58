package io.bittensor.transport.internal;

import io.bittensor.core.internal.HostPorts;
import java.io.Closeable;
import java.io.IOException;
import java.net.URI;
import java.nio.channels.UnresolvedAddressException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import javax.net.ssl.SSLContext;
import org.eclipse.jetty.alpn.server.ALPNServerConnectionFactory;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.http2.server.HTTP2ServerConnectionFactory;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.ssl.SslHandshakeListener;
import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnector;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;

/** What the peer server and the ledger server set up alike on Jetty. */
public final class JettyServers {
  private static final System.Logger LOG = System.getLogger("io.bittensor.transport");

  /** The pool whose thread this is, on the threads of {@link #create}'s servers. */
  private static final ThreadLocal<QueuedThreadPool> OWN_POOL = new ThreadLocal<>();

  private JettyServers() {}

  /**
   * A server whose threads are daemons named {@code name-*}.
   *
   * @param threads the most threads, or 0 for Jetty's choice
   */
  public static Server create(String name, int threads) {
    QueuedThreadPool pool = threads == 0 ? new MarkedPool() : new MarkedPool(threads);
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
   * The HTTP configuration of a port: {@link #http()}, and with {@code tls} the requests marked
   * secure. The client's SNI name is not checked against the certificate: peers are often
   * reached by address, and a client checks the certificate against the name or address it
   * dialled.
   *
   * @param tls the port's TLS, or null for cleartext
   */
  public static HttpConfiguration http(SSLContext tls) {
    HttpConfiguration http = http();
    if (tls != null) {
      SecureRequestCustomizer secure = new SecureRequestCustomizer();
      secure.setSniHostCheck(false);
      http.addCustomizer(secure);
    }
    return http;
  }

  /**
   * The HTTP/2 factory of a port, for the caller to configure: cleartext with prior knowledge,
   * or, with {@code tls}, the one ALPN chooses.
   */
  public static HTTP2ServerConnectionFactory h2(HttpConfiguration http, SSLContext tls) {
    return tls == null ? new HTTP2CServerConnectionFactory(http)
        : new HTTP2ServerConnectionFactory(http);
  }

  /**
   * The connection factories of a port that speaks HTTP/1.1 and {@code h2}: both in cleartext,
   * or, with {@code tls}, TLS then ALPN choosing between them (HTTP/1.1 for a client that names
   * neither), and where {@code needClientCertificates} every client showing a certificate that
   * {@code tls} trusts.
   */
  public static ConnectionFactory[] protocols(HttpConfiguration http,
      HTTP2ServerConnectionFactory h2, SSLContext tls, boolean needClientCertificates) {
    HttpConnectionFactory h1 = new HttpConnectionFactory(http);
    if (tls == null) {
      return new ConnectionFactory[] {h1, h2};
    }
    ALPNServerConnectionFactory alpn = new ALPNServerConnectionFactory();
    alpn.setDefaultProtocol(h1.getProtocol());
    SslContextFactory.Server ssl = new SslContextFactory.Server();
    ssl.setSslContext(tls);
    // A client without a certificate the context trusts fails the handshake: no request is read.
    ssl.setNeedClientAuth(needClientCertificates);
    return new ConnectionFactory[] {new SslConnectionFactory(ssl, alpn.getProtocol()), alpn, h2,
        h1};
  }

  /**
   * Counts the TLS handshakes on {@code connector} that failed: a client without a certificate
   * the port trusts (mutual TLS), one that does not trust the port's, cleartext sent to it, a
   * protocol or cipher the two do not share. They never become requests, so no call listener
   * hears them; this is how an operator sees them.
   *
   * @return the count, which stays 0 on a cleartext port
   */
  public static LongAdder countFailedHandshakes(ServerConnector connector) {
    LongAdder failed = new LongAdder();
    // SslConnectionFactory adds the connector's handshake listeners to each TLS connection.
    connector.addBean(new SslHandshakeListener() {
      @Override
      public void handshakeFailed(Event event, Throwable failure) {
        failed.increment();
      }
    });
    return failed;
  }

  /**
   * A connector of {@code jetty} speaking {@code factories}, with one acceptor and one selector,
   * for the caller to configure and add.
   */
  public static ServerConnector connector(Server jetty, ConnectionFactory... factories) {
    return new ClosingConnector(jetty, factories);
  }

  /**
   * Starts {@code jetty}, which is stopped again if that fails; close() cuts calls in flight off
   * (no graceful drain).
   *
   * @return {@code http://host:port} with the bound port ({@code 127.0.0.1} for all interfaces,
   *     {@code [::1]} for all of IPv6's, an IPv6 address in brackets), {@code https://} when the
   *     connector speaks TLS
   * @throws IOException if the port cannot be bound
   */
  public static URI start(Server jetty, ServerConnector connector, String what)
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
      throw new IOException("cannot serve " + what + " on "
          + HostPorts.of(connector.getHost(), connector.getPort()) + ": " + reason(e), e);
    }
    String shown = shownHost(connector.getHost());
    String scheme =
        connector.getConnectionFactory(SslConnectionFactory.class) == null ? "http" : "https";
    return URI.create(scheme + "://" + shown + ":" + connector.getLocalPort());
  }


  /**
   * Jetty's message with its cause's: "Failed to bind to /0.0.0.0:8091" alone does not say that
   * the port is taken ("Address already in use") or the address is not this machine's.
   */
  static String reason(Exception e) {
    String message = String.valueOf(e.getMessage());
    Throwable cause = e.getCause();
    if (cause instanceof UnresolvedAddressException) {
      return message + " (unknown host)"; // its own message is null
    }
    if (cause == null || cause.getMessage() == null || message.contains(cause.getMessage())) {
      return message;
    }
    return message + " (" + cause.getMessage() + ")";
  }

  /** How long {@link #stop} waits for Jetty's own stop. */
  public static final Duration STOP_BOUND = Duration.ofSeconds(5);

  /**
   * Stops {@code jetty}, waiting for its own stop at most {@code bound}; should that not end
   * (Jetty 12.1.14 can deadlock there: its selector thread, closing a connection whose response
   * was being sent, waits for the send's cancellation, which only that thread would complete),
   * closes the listening sockets and every connection's socket itself, so that the port is free
   * and each caller hears the connection end, and returns, leaving the stuck daemon threads.
   * The port is free once Jetty's acceptor, blocked accepting on it, wakes: the JDK finishes
   * closing the channel in that thread (at once on an idle machine).
   * Logs a warning then. Called on one of the server's own threads, it returns once the
   * connectors have stopped (the port closed, the connections cut off): Jetty's stop waits for
   * that thread, and ends after it returns to the pool. Never throws.
   *
   * @return true if Jetty's stop ended within {@code bound}
   */
  public static boolean stop(Server jetty, Duration bound) {
    // On one of the server's own threads (a peer or a listener that closes its server), Jetty's
    // stop waits for this very thread to return to the pool: wait for the connectors alone.
    boolean own = OWN_POOL.get() == jetty.getThreadPool();
    Thread stopping = new Thread(() -> {
      try {
        jetty.stop();
      } catch (Exception e) {
        // Stopping cuts the connections off whatever happens; nothing more to do.
      }
    }, "bittensor-server-stop");
    stopping.setDaemon(true);
    stopping.start();
    boolean interrupted = false;
    long deadline = System.nanoTime() + bound.toNanos();
    while (stopping.isAlive()) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        break;
      }
      if (own && connectorsStopped(jetty)) {
        if (interrupted) {
          Thread.currentThread().interrupt();
        }
        return false; // the rest of the stop ends once this thread is back in the pool
      }
      try {
        long ms = Math.max(1, TimeUnit.NANOSECONDS.toMillis(left));
        stopping.join(own ? Math.min(ms, 10) : ms);
      } catch (InterruptedException e) {
        interrupted = true; // the stop goes on either way; the flag is given back below
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    if (!stopping.isAlive()) {
      return true;
    }
    for (Connector c : jetty.getConnectors()) {
      for (EndPoint e : c.getConnectedEndPoints()) {
        closeQuietly(e.getTransport());
      }
      if (c instanceof NetworkConnector n) {
        closeQuietly(n.getTransport());
      }
    }
    LOG.log(System.Logger.Level.WARNING, "the server " + jetty.getURI() + " did not stop within "
        + bound.toMillis() + " ms; its sockets are closed, and its stuck threads left behind");
    return false;
  }

  private static boolean connectorsStopped(Server jetty) {
    for (Connector c : jetty.getConnectors()) {
      if (!c.isStopped()) {
        return false;
      }
    }
    return true;
  }

  /** A pool whose threads know it ({@link #OWN_POOL}). */
  private static final class MarkedPool extends QueuedThreadPool {
    MarkedPool() {}

    MarkedPool(int threads) {
      super(threads);
    }

    @Override
    public Thread newThread(Runnable runnable) {
      return super.newThread(() -> {
        OWN_POOL.set(this);
        runnable.run();
      });
    }
  }

  private static void closeQuietly(Object transport) {
    if (transport instanceof Closeable c) {
      try {
        c.close();
      } catch (IOException | RuntimeException e) {
        // Closing is all that is left to do.
      }
    }
  }

  /**
   * Whether {@code host} is {@code 0.0.0.0} or IPv6's all-zero address in any spelling, in
   * brackets or not: every interface.
   */
  public static boolean isWildcard(String host) {
    return "0.0.0.0".equals(host)
        || host.chars().allMatch(c -> c == ':' || c == '0' || c == '[' || c == ']');
  }

  /** {@code host} as a URI's host: an IPv6 literal in brackets, a wildcard as loopback. */
  private static String shownHost(String host) {
    if (host == null || "0.0.0.0".equals(host)) {
      return "127.0.0.1";
    }
    String bare = host.startsWith("[") && host.endsWith("]")
        ? host.substring(1, host.length() - 1) : host;
    if (!bare.contains(":")) {
      return host; // a name or an IPv4 address
    }
    if (isWildcard(bare)) {
      return "[::1]"; // all of IPv6's interfaces
    }
    return "[" + bare.replace("%", "%25") + "]"; // a zone (fe80::1%eth0) escaped
  }
}
