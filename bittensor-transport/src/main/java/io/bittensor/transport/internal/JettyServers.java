package io.bittensor.transport.internal;

import java.io.IOException;
import java.net.URI;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
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
   * Starts {@code jetty}, which is stopped again if that fails; close() cuts calls in flight off
   * (no graceful drain).
   *
   * @return {@code http://host:port} with the bound port ({@code 127.0.0.1} for all interfaces)
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
      throw new IOException("cannot serve " + what + " on " + connector.getHost() + ":"
          + connector.getPort() + ": " + e.getMessage(), e);
    }
    String host = connector.getHost();
    String shown = host == null || "0.0.0.0".equals(host) ? "127.0.0.1" : host;
    return URI.create("http://" + shown + ":" + connector.getLocalPort());
  }
}
