package io.bittensor.transport.internal;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import javax.net.SocketFactory;

/**
 * Plain sockets with TCP_NODELAY on, and for OkHttp's own (unconnected) ones buffered streams.
 * OkHttp leaves Nagle's algorithm on, which delays the last segment of a request until the
 * previous one is acknowledged: several times slower for megabyte bodies on loopback.
 */
public final class NoDelaySocketFactory extends SocketFactory {
  private final SocketFactory delegate;

  /**
   * What a connection gathers before it writes to the socket (OkHttp flushes at each end), and
   * reads from it at once.
   */
  static final int BUFFER_BYTES = 256 * 1024;

  /** Sockets from the JVM's default factory. */
  public NoDelaySocketFactory() {
    this(SocketFactory.getDefault());
  }

  /** Sockets from {@code delegate} (for tests: one whose sockets fail). */
  NoDelaySocketFactory(SocketFactory delegate) {
    this.delegate = delegate;
  }

  @Override
  public Socket createSocket() throws IOException {
    return configure(new CoalescingSocket());
  }

  @Override
  public Socket createSocket(String host, int port) throws IOException {
    return configure(delegate.createSocket(host, port));
  }

  @Override
  public Socket createSocket(String host, int port, InetAddress localHost, int localPort)
      throws IOException {
    return configure(delegate.createSocket(host, port, localHost, localPort));
  }

  @Override
  public Socket createSocket(InetAddress host, int port) throws IOException {
    return configure(delegate.createSocket(host, port));
  }

  @Override
  public Socket createSocket(InetAddress address, int port, InetAddress localAddress,
      int localPort) throws IOException {
    return configure(delegate.createSocket(address, port, localAddress, localPort));
  }

  private static Socket configure(Socket s) throws IOException {
    try {
      s.setTcpNoDelay(true);
    } catch (IOException | RuntimeException e) {
      try {
        s.close(); // the caller never gets it: closed here or never
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    return s;
  }

  /**
   * A socket whose output gathers writes until they fill 256 KiB or the writer flushes, and whose
   * input reads up to 256 KiB at once. okio moves one 8 KiB segment at a time, and with Nagle off
   * each write became its own send: 128 system calls, each through the whole TCP stack, for a
   * 1 MiB body (and as many reads for the answer). OkHttp flushes after the headers it must send
   * alone, after every body and after every HTTP/2 frame batch, so nothing waits in the buffer.
   * Together these cut the CPU of a 1 MiB call by a fifth and of a 16 MiB call by two fifths
   * (TransportBenchmark, CPU ms per call).
   */
  static final class CoalescingSocket extends Socket {
    private OutputStream out;
    private InputStream in;

    @Override
    public synchronized InputStream getInputStream() throws IOException {
      if (in == null) {
        in = new BufferedInputStream(super.getInputStream(), BUFFER_BYTES);
      }
      return in;
    }

    @Override
    public synchronized OutputStream getOutputStream() throws IOException {
      if (out == null) {
        out = new BufferedOutputStream(super.getOutputStream(), BUFFER_BYTES);
      }
      return out;
    }
  }
}
