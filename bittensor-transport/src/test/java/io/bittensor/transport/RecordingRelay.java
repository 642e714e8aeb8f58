package io.bittensor.transport;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An HTTP/1.1 relay on loopback in front of a server that records every request it reads.
 * Armed ({@link #dropNext}), it reads the next request, holds it a while and closes that
 * connection without an answer, as a server that had closed a pooled connection: OkHttp then
 * sends the request again on a new one.
 */
final class RecordingRelay implements AutoCloseable {
  /** A request as the relay read it: when it arrived, and its body. */
  record Seen(long nanos, byte[] body) {
    io.bittensor.transport.internal.wire.ForwardRequest forward() throws IOException {
      return io.bittensor.transport.internal.wire.ForwardRequest.parseFrom(body);
    }
  }

  final List<Seen> requests = new CopyOnWriteArrayList<>();
  final AtomicBoolean dropNext = new AtomicBoolean();
  volatile long closedNanos;
  private final ServerSocket listener;
  private final int targetPort;
  private final long holdMs;
  private final List<Socket> open = new CopyOnWriteArrayList<>();

  /**
   * @param targetPort the server's port on loopback
   * @param holdMs how long a dropped request is held before its connection closes
   */
  RecordingRelay(int targetPort, long holdMs) throws IOException {
    this.targetPort = targetPort;
    this.holdMs = holdMs;
    this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    daemon(this::accept, "test-relay-accept");
  }

  URI uri() {
    return URI.create("http://127.0.0.1:" + listener.getLocalPort());
  }

  private void accept() {
    while (!listener.isClosed()) {
      try {
        Socket client = listener.accept();
        Socket server = new Socket();
        server.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort));
        open.add(client);
        open.add(server);
        daemon(() -> requests(client, server), "test-relay-requests");
        daemon(() -> answers(server, client), "test-relay-answers");
      } catch (IOException e) {
        return;
      }
    }
  }

  /** Reads the client's requests one by one and passes each on, or drops it when armed. */
  private void requests(Socket client, Socket server) {
    try (client; server) {
      InputStream in = client.getInputStream();
      OutputStream out = server.getOutputStream();
      while (true) {
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        String head = readLine(in, raw);
        long nanos = System.nanoTime();
        long length = -1;
        boolean chunked = false;
        for (String line = head; !line.isEmpty(); line = readLine(in, raw)) {
          String lower = line.toLowerCase(Locale.ROOT);
          if (lower.startsWith("content-length:")) {
            length = Long.parseLong(lower.substring(15).strip());
          } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
            chunked = true;
          }
        }
        byte[] body = chunked ? readChunked(in, raw) : readBytes(in, raw, (int) length);
        requests.add(new Seen(nanos, body));
        if (dropNext.compareAndSet(true, false)) {
          Thread.sleep(holdMs);
          closedNanos = System.nanoTime();
          return; // closes both sockets, no answer
        }
        out.write(raw.toByteArray());
        out.flush();
      }
    } catch (IOException e) {
      // The client or the server closed the connection.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void answers(Socket server, Socket client) {
    try (server; client) {
      server.getInputStream().transferTo(client.getOutputStream());
    } catch (IOException e) {
      // Closed.
    }
  }

  private static String readLine(InputStream in, ByteArrayOutputStream raw) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) != '\n') {
      if (b < 0) {
        throw new EOFException();
      }
      raw.write(b);
      if (b != '\r') {
        line.write(b);
      }
    }
    raw.write(b);
    return line.toString(StandardCharsets.US_ASCII);
  }

  private static byte[] readBytes(InputStream in, ByteArrayOutputStream raw, int n)
      throws IOException {
    byte[] bytes = in.readNBytes(n);
    if (bytes.length < n) {
      throw new EOFException();
    }
    raw.write(bytes);
    return bytes;
  }

  private static byte[] readChunked(InputStream in, ByteArrayOutputStream raw)
      throws IOException {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    while (true) {
      String size = readLine(in, raw);
      int n = Integer.parseInt(size.split(";", 2)[0].strip(), 16);
      if (n == 0) {
        while (!readLine(in, raw).isEmpty()) {
          // Trailers: none expected.
        }
        return body.toByteArray();
      }
      body.write(readBytes(in, raw, n));
      readLine(in, raw); // the CRLF after the chunk
    }
  }

  private static void daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    t.start();
  }

  @Override
  public void close() throws IOException {
    listener.close();
    for (Socket s : open) {
      s.close();
    }
  }
}
