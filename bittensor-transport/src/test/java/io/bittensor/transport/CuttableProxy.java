package io.bittensor.transport;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP proxy on loopback whose connections a test can cut, and whose port it can make refuse
 * new ones for a while: a network failure between a client and a server that both stay up. It
 * can also stop passing on what the server sends ({@link #pause()}), with a small receive
 * buffer toward the server, so that the server's writes wait: a client that does not read.
 */
final class CuttableProxy implements AutoCloseable {
  private volatile ServerSocket listener;
  private volatile Thread acceptor;
  private final int targetPort;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private volatile boolean refusing;
  private volatile boolean paused;
  private volatile boolean closed;
  private volatile int accepted;

  CuttableProxy(int targetPort) throws IOException {
    this.targetPort = targetPort;
    listen(new ServerSocket(0, 50, InetAddress.getLoopbackAddress()));
  }

  private void listen(ServerSocket socket) {
    listener = socket;
    acceptor = new Thread(this::accept, "test-proxy-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  URI uri() {
    return URI.create("http://127.0.0.1:" + listener.getLocalPort());
  }

  /** Connections accepted and passed on so far. */
  int accepted() {
    return accepted;
  }

  /** Cuts every connection and refuses new ones until {@link #restore()}. */
  void cut() {
    refusing = true;
    for (Socket s : open) {
      closeQuietly(s);
    }
    open.clear();
  }

  /**
   * Closes the port: new connections are refused (the client's connect fails), while those open
   * go on. Returns once the port is closed: the socket stays listening until the thread blocked
   * in its accept has left it, and a connection made meanwhile would be taken and passed on.
   */
  void closePort() throws IOException, InterruptedException {
    listener.close();
    acceptor.join(10_000);
    if (acceptor.isAlive()) {
      throw new IllegalStateException("the proxy's accept thread did not stop in 10 s");
    }
  }

  /** Opens the port {@link #closePort()} closed again, on the same number. */
  void reopenPort() throws IOException {
    ServerSocket socket = new ServerSocket();
    socket.setReuseAddress(true);
    socket.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(),
        listener.getLocalPort()), 50);
    listen(socket);
  }

  void restore() {
    refusing = false;
  }

  /** Stops passing on what servers send, until {@link #resume()}: the connections stay open. */
  void pause() {
    paused = true;
  }

  synchronized void resume() {
    paused = false;
    notifyAll();
  }

  private synchronized void awaitResumed() throws IOException {
    while (paused && !closed) {
      try {
        wait(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while paused", e);
      }
    }
  }

  private void accept() {
    ServerSocket listener = this.listener;
    while (!closed) {
      Socket client;
      try {
        client = listener.accept();
      } catch (IOException e) {
        return;
      }
      if (refusing) {
        closeQuietly(client);
        continue;
      }
      try {
        Socket server = new Socket();
        // Small, so that a pause holds the server's writes back soon rather than after megabytes.
        server.setReceiveBufferSize(4096);
        server.connect(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(),
            targetPort));
        open.add(client);
        open.add(server);
        accepted++;
        pump(client, server, false);
        pump(server, client, true);
      } catch (IOException e) {
        closeQuietly(client);
      }
    }
  }

  private void pump(Socket from, Socket to, boolean pausable) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[16 * 1024];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        int n;
        while ((n = in.read(buf)) >= 0) {
          if (pausable) {
            awaitResumed();
          }
          out.write(buf, 0, n);
          out.flush();
        }
      } catch (IOException e) {
        // Cut or closed.
      } finally {
        closeQuietly(from);
        closeQuietly(to);
      }
    }, "test-proxy-pump");
    t.setDaemon(true);
    t.start();
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // Closing.
    }
  }

  @Override
  public void close() throws IOException {
    closed = true;
    listener.close();
    cut();
  }
}
