package io.bittensor.transport.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.testing.LoopbackPorts;
import java.io.InputStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A server whose stop does not end (as Jetty 12.1.14's can deadlock on its selector thread) is
 * cut short: the caller gets control back, the port is free, and an open connection ends.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class JettyServersStopTest {

  @Test
  void aStopThatNeverEndsIsCutShortWithThePortFreeAndTheConnectionsClosed() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    Server jetty = JettyServers.create("stuck-test", 4);
    // A connector whose stop hangs before it closes anything, as the deadlock does.
    ServerConnector connector = new ServerConnector(jetty, 1, 1,
        new HttpConnectionFactory(JettyServers.http())) {
      @Override
      protected void doStop() throws Exception {
        release.await();
        super.doStop();
      }
    };
    connector.setHost("127.0.0.1");
    // Below the ephemeral range: once freed, no connection can take the port as its own.
    connector.setPort(LoopbackPorts.free());
    jetty.addConnector(connector);
    JettyServers.start(jetty, connector, "the stuck test server");
    int port = connector.getLocalPort();
    try (Socket open = new Socket("127.0.0.1", port)) {
      awaitConnected(connector);
      long t0 = System.nanoTime();
      boolean stopped = JettyServers.stop(jetty, Duration.ofMillis(300));
      long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      assertFalse(stopped, "the stop hangs, so it is reported as cut short");
      assertTrue(ms >= 290 && ms < 5_000, "returned after " + ms + " ms");
      open.setSoTimeout(5_000);
      InputStream in = open.getInputStream();
      assertEquals(-1, in.read(), "the open connection was closed");
      awaitBindable(port);
    } finally {
      release.countDown();
    }
  }

  @Test
  void aStopThatEndsReportsSo() throws Exception {
    Server jetty = JettyServers.create("stop-test", 4);
    ServerConnector connector = JettyServers.connector(jetty,
        new HttpConnectionFactory(JettyServers.http()));
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    jetty.addConnector(connector);
    JettyServers.start(jetty, connector, "the test server");
    assertTrue(JettyServers.stop(jetty, Duration.ofSeconds(10)));
    assertTrue(jetty.isStopped());
  }

  /**
   * Waits until the port can be bound again. Not at once: the JDK finishes closing a listening
   * channel in the thread blocked accepting on it, here Jetty's acceptor, once that thread wakes
   * (at once on an idle machine; a bind right after the stop failed under load).
   */
  private static void awaitBindable(int port) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (true) {
      try (ServerSocketChannel again = ServerSocketChannel.open()) {
        again.bind(new InetSocketAddress("127.0.0.1", port));
        return;
      } catch (BindException e) {
        assertTrue(System.nanoTime() < deadline, "the port is still taken 5 s after the stop");
        Thread.sleep(5);
      }
    }
  }

  private static void awaitConnected(ServerConnector connector) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (connector.getConnectedEndPoints().isEmpty()) {
      assertTrue(System.nanoTime() < deadline, "the connection never reached the server");
      Thread.sleep(5);
    }
  }
}
