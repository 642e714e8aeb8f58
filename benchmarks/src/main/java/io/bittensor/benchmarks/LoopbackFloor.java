package io.bittensor.benchmarks;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * What the machine's loopback allows with no protocol at all: a length-prefixed echo over
 * blocking NIO sockets, both ends reading and writing direct buffers, so no byte is copied in
 * user space. Its rate is the ceiling any transport on this machine works under; the benchmark
 * reports it as the transport {@code tcp}, beside ours and gRPC.
 *
 * <p>One server thread per connection; one connection per caller thread.
 */
final class LoopbackFloor implements AutoCloseable {
  private final ServerSocketChannel server;
  private final Thread acceptor;

  LoopbackFloor() throws IOException {
    server = ServerSocketChannel.open()
        .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    acceptor = new Thread(this::accept, "floor-acceptor");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /**
   * A blocking exchange of {@code bytes} bytes each way, on a connection of the calling thread's
   * own; closing it closes those connections.
   */
  Callers exchange(int bytes) {
    return new Callers(bytes);
  }

  final class Callers implements TransportBenchmark.Exchange, AutoCloseable {
    private final List<SocketChannel> mine = new ArrayList<>();
    private final ThreadLocal<Connection> connection;

    private Callers(int bytes) {
      connection = ThreadLocal.withInitial(() -> {
        try {
          SocketChannel ch = SocketChannel.open(server.getLocalAddress());
          ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
          synchronized (mine) {
            mine.add(ch);
          }
          return new Connection(ch, bytes);
        } catch (IOException e) {
          throw new IllegalStateException("cannot connect to the echo", e);
        }
      });
    }

    @Override
    public void call() throws IOException {
      connection.get().call();
    }

    @Override
    public void close() throws IOException {
      synchronized (mine) {
        for (SocketChannel ch : mine) {
          ch.close(); // its echo thread reads the end and stops
        }
      }
    }
  }

  private void accept() {
    try {
      while (true) {
        SocketChannel ch = server.accept();
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        Thread t = new Thread(() -> echo(ch), "floor-echo");
        t.setDaemon(true);
        t.start();
      }
    } catch (IOException closed) {
      // the floor was closed
    }
  }

  private static void echo(SocketChannel ch) {
    ByteBuffer head = ByteBuffer.allocateDirect(4);
    ByteBuffer body = ByteBuffer.allocateDirect(1);
    try {
      while (true) {
        head.clear();
        readFully(ch, head);
        int n = head.flip().getInt(0);
        if (body.capacity() < n) {
          body = ByteBuffer.allocateDirect(n);
        }
        body.clear().limit(n);
        readFully(ch, body);
        body.flip();
        head.rewind();
        ch.write(new ByteBuffer[] {head, body});
        while (body.hasRemaining()) {
          ch.write(body);
        }
      }
    } catch (IOException closed) {
      // the caller went away
    } finally {
      try {
        ch.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
  }

  private static void readFully(SocketChannel ch, ByteBuffer into) throws IOException {
    while (into.hasRemaining()) {
      if (ch.read(into) < 0) {
        throw new EOFException();
      }
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
  }

  /** A caller's connection with its request (random bytes, sent every time) and answer buffers. */
  private static final class Connection {
    private final SocketChannel ch;
    private final ByteBuffer request;
    private final ByteBuffer answer;

    Connection(SocketChannel ch, int bytes) {
      this.ch = ch;
      request = ByteBuffer.allocateDirect(4 + bytes).putInt(bytes);
      for (int i = 0; i < bytes; i += 8) {
        request.put((byte) i);
        request.position(Math.min(4 + bytes, request.position() + 7));
      }
      answer = ByteBuffer.allocateDirect(4 + bytes);
    }

    void call() throws IOException {
      request.clear();
      while (request.hasRemaining()) {
        ch.write(request);
      }
      answer.clear();
      readFully(ch, answer);
      if (answer.getInt(0) != request.getInt(0)) {
        throw new IllegalStateException("the echo answered another length");
      }
    }
  }
}
