package io.bittensor.transport.internal;

import java.io.IOException;
import java.net.Socket;
import java.util.HashSet;
import java.util.Set;
import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * A TCP connector with one acceptor and one selector that, as it stops, closes every connection
 * its acceptor took from the kernel, served or not.
 *
 * <p>Jetty's connector stops without waiting for its acceptor: a connection the acceptor had
 * just taken could reach the selector after the selector stopped, and then nothing read it or
 * closed it. Its caller heard nothing until its own timeout (a forward in flight as its peer
 * closed answered TIMEOUT after 15 s, not UNAVAILABLE), and the socket stayed open for good.
 * Here a connection that comes after the stop began is closed at once (its caller hears the
 * reset), and the stop waits for one being handed to the selector, which then closes it with
 * the others.
 *
 * <p>Thread-safe.
 */
class ClosingConnector extends ServerConnector {
  private final Object gate = new Object();
  /** The acceptor threads between taking a connection and handing it to the selector. */
  private final Set<Thread> handing = new HashSet<>();
  private boolean stopping;

  ClosingConnector(Server server, ConnectionFactory... factories) {
    super(server, 1, 1, factories);
  }

  @Override
  protected void doStart() throws Exception {
    synchronized (gate) {
      stopping = false; // started again after a stop
    }
    super.doStart();
  }

  @Override
  public void accept(int acceptorId) throws IOException {
    try {
      super.accept(acceptorId);
    } finally {
      synchronized (gate) {
        if (handing.remove(Thread.currentThread())) {
          gate.notifyAll();
        }
      }
    }
  }

  /** Runs on the acceptor between taking {@code socket} and handing it to the selector. */
  @Override
  protected void configure(Socket socket) {
    synchronized (gate) {
      if (!stopping) {
        handing.add(Thread.currentThread());
        super.configure(socket);
        return;
      }
    }
    try {
      socket.close(); // the selector may have stopped: nothing else would ever close it
    } catch (IOException e) {
      // Closing is all that is left to do.
    }
  }

  @Override
  protected void doStop() throws Exception {
    boolean interrupted = false;
    synchronized (gate) {
      stopping = true;
      // A hand-over only queues the connection for the selector: it never blocks.
      while (!handing.isEmpty()) {
        try {
          gate.wait();
        } catch (InterruptedException e) {
          interrupted = true; // the wait is short, and the stop must not skip the selector's
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt(); // as it came: Jetty's stop sees it as before
    }
    super.doStop();
  }
}
