package io.bittensor.transport.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.Random;
import javax.net.SocketFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The client's sockets: Nagle off, small writes gathered until a flush (or a full buffer), and
 * every byte delivered in order once flushed, both ways.
 */
@Timeout(30)
class NoDelaySocketFactoryTest {

  @Test
  void smallWritesWaitForTheFlushThenArriveWholeAndInOrder() throws Exception {
    byte[] body = new byte[200 * 1024]; // under the buffer: nothing may leave before the flush
    new Random(7).nextBytes(body);
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        Socket client = new NoDelaySocketFactory().createSocket()) {
      client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(),
          server.getLocalPort()));
      assertTrue(client.getTcpNoDelay(), "Nagle is off");
      try (Socket accepted = server.accept()) {
        OutputStream out = client.getOutputStream();
        for (int at = 0; at < body.length; at += 8192) {
          out.write(body, at, Math.min(8192, body.length - at)); // as okio hands segments over
        }
        InputStream in = accepted.getInputStream();
        accepted.setSoTimeout(300);
        assertThrows(SocketTimeoutException.class, in::read,
            "bytes left before the flush: the writes were not gathered");

        out.flush();
        accepted.setSoTimeout(10_000);
        byte[] got = new byte[body.length];
        new DataInputStream(in).readFully(got);
        assertArrayEquals(body, got);

        // And back: reads through the client's buffered input see every byte in order.
        byte[] answer = new byte[1 << 20];
        new Random(8).nextBytes(answer);
        accepted.getOutputStream().write(answer);
        accepted.getOutputStream().flush();
        byte[] back = new byte[answer.length];
        new DataInputStream(client.getInputStream()).readFully(back);
        assertArrayEquals(answer, back);
      }
    }
  }

  /**
   * A connected socket whose options cannot be set (the connection reset as it opened) is
   * closed before the error goes up: the caller never holds it, so no one else could close it.
   */
  @Test
  void aSocketWhoseNoDelayCannotBeSetIsClosedBeforeTheErrorGoesUp() throws Exception {
    Socket[] made = new Socket[1];
    SocketFactory refusing = new SocketFactory() {
      @Override
      public Socket createSocket(String host, int port) {
        return made[0] = new Socket() {
          @Override
          public void setTcpNoDelay(boolean on) throws SocketException {
            throw new SocketException("Connection reset");
          }
        };
      }

      @Override
      public Socket createSocket(String host, int port, InetAddress localHost, int localPort) {
        return createSocket(host, port);
      }

      @Override
      public Socket createSocket(InetAddress host, int port) {
        return createSocket("", port);
      }

      @Override
      public Socket createSocket(InetAddress address, int port, InetAddress localAddress,
          int localPort) {
        return createSocket("", port);
      }
    };
    NoDelaySocketFactory factory = new NoDelaySocketFactory(refusing);
    InetAddress loopback = InetAddress.getLoopbackAddress();
    IOException e = assertThrows(IOException.class, () -> factory.createSocket(loopback, 1));
    assertEquals("Connection reset", e.getMessage());
    assertTrue(made[0].isClosed(), "the socket the caller never got is closed");
  }
}
