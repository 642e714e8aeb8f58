package io.bittensor.transport.internal;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.io.ManagedSelector;
import org.eclipse.jetty.io.SelectorManager;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.component.LifeCycle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A connection the acceptor takes from the kernel as the server stops is closed (answered or
 * not), never left open unserved: its caller would wait for its whole timeout
 * (FanOutOverHttpTest once saw a forward in flight as its peer closed answer TIMEOUT after 15 s).
 */
@Timeout(30)
class ClosingConnectorTest {
  @Test
  void aConnectionAcceptedAsTheServerStopsIsClosed() throws Exception {
    Server jetty = JettyServers.create("bittensor-server-test", 0);
    CountDownLatch accepted = new CountDownLatch(1);
    CountDownLatch selectorStopped = new CountDownLatch(1);
    // The acceptor pauses between taking the connection from the kernel and handing it to the
    // selector, until the selector has stopped (or, where the stop waits for the hand-over, 1 s):
    // the interleaving a loaded machine makes now and then.
    ClosingConnector connector = new ClosingConnector(jetty,
        new HttpConnectionFactory(JettyServers.http())) {
      @Override
      protected void configure(Socket socket) {
        super.configure(socket);
        accepted.countDown();
        awaitUninterruptibly(selectorStopped, 1_000); // the stop interrupts the acceptor
      }
    };
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    jetty.addConnector(connector);
    JettyServers.start(jetty, connector, "tests");
    SelectorManager selectors = connector.getSelectorManager();
    for (ManagedSelector selector : selectors.getBeans(ManagedSelector.class)) {
      selector.addEventListener(new LifeCycle.Listener() {
        @Override
        public void lifeCycleStopped(LifeCycle event) {
          selectorStopped.countDown();
        }
      });
    }
    try (Socket client = new Socket()) {
      client.connect(new InetSocketAddress("127.0.0.1", connector.getLocalPort()), 2_000);
      client.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(US_ASCII));
      assertTrue(accepted.await(5, TimeUnit.SECONDS), "the acceptor took no connection");
      jetty.stop();
      client.setSoTimeout(3_000);
      // The stop waits for a hand-over in progress, so the selector may still take the
      // connection and answer the request before it stops: an answer then the end is as good
      // as the end at once. Silence is what the caller must never hear.
      try {
        String heard = new String(client.getInputStream().readAllBytes(), US_ASCII);
        assertTrue(heard.isEmpty() || heard.startsWith("HTTP/1.1 "),
            "the stopping server sent what is not an HTTP answer: " + heard);
      } catch (SocketTimeoutException e) {
        fail("the server stopped and left a connection it had accepted open: its caller heard"
            + " nothing for 3 s");
      } catch (IOException e) {
        // Reset: closed with the request unread, which the caller hears at once too.
      }
    } finally {
      jetty.stop();
    }
  }

  /** Waits for {@code latch} up to {@code ms}, through interrupts, which it keeps. */
  private static void awaitUninterruptibly(CountDownLatch latch, long ms) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
    boolean interrupted = false;
    while (true) {
      try {
        latch.await(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
