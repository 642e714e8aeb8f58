package io.bittensor.raft;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Tells whether a member speaks TLS, for {@link RaftAdmin}'s hint to a cleartext contact: a TLS
 * member closes a cleartext gRPC connection, which gRPC reports as "Network closed", but on a
 * loaded machine the close can come after the deadline, and the contact then hears nothing.
 *
 * <p>It sends a TLS ClientHello over a plain socket and reads what comes back: a TLS server
 * answers with a TLS record (a handshake, or an alert refusing the hello), a cleartext gRPC
 * server with its HTTP/2 settings, or closes. A member that is down refuses the connection, one
 * that hangs answers nothing: neither reads as TLS. No handshake is finished, no certificate
 * checked: it only picks a hint. Thread-safe.
 */
final class TlsProbe {
  /** The first byte of a TLS record of a handshake, and of an alert. */
  private static final int HANDSHAKE = 0x16;
  private static final int ALERT = 0x15;

  private static final byte[] CLIENT_HELLO = clientHello();

  private TlsProbe() {}

  /**
   * Whether any of {@code addresses} answers a ClientHello with a TLS record, each asked at
   * once on a thread of its own after {@code delayNanos} (none if {@code cancelled} is set by
   * then), within {@code boundNanos} from then.
   */
  static CompletableFuture<Boolean> anySpeaksTls(Collection<InetSocketAddress> addresses,
      long delayNanos, long boundNanos, AtomicBoolean cancelled) {
    List<CompletableFuture<Boolean>> asked = addresses.stream()
        .map(a -> CompletableFuture.supplyAsync(() -> !cancelled.get() && speaksTls(a,
            boundNanos), CompletableFuture.delayedExecutor(delayNanos, TimeUnit.NANOSECONDS,
                RaftLedger.BLOCKING_CALLS)))
        .toList();
    CompletableFuture<Boolean> any = new CompletableFuture<>();
    // The first yes answers; a no waits for the others. Both read every answer: the futures
    // run what depends on them in no set order, so all of them done may come before a yes.
    asked.forEach(f -> f.thenAccept(yes -> {
      if (yes) {
        any.complete(true);
      }
    }));
    CompletableFuture.allOf(asked.toArray(CompletableFuture[]::new)).whenComplete((v, e) ->
        any.complete(asked.stream().anyMatch(f -> !f.isCompletedExceptionally() && f.join())));
    return any;
  }

  /** Whether {@code address} answers a ClientHello with a TLS record within {@code boundNanos}. */
  static boolean speaksTls(InetSocketAddress address, long boundNanos) {
    int ms = (int) Math.max(1, Math.min(Integer.MAX_VALUE,
        TimeUnit.NANOSECONDS.toMillis(boundNanos)));
    long deadline = System.nanoTime() + boundNanos;
    try (Socket s = new Socket()) {
      s.connect(address, ms);
      int left = (int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
      s.setSoTimeout(left);
      s.getOutputStream().write(CLIENT_HELLO);
      s.getOutputStream().flush();
      InputStream in = s.getInputStream();
      int type = in.read();
      // A record's version follows its type: 3, then 1 to 4 (TLS 1.0 to 1.3's records).
      return (type == HANDSHAKE || type == ALERT) && in.read() == 3;
    } catch (IOException e) {
      return false; // refused, closed, or nothing in time: no sign of TLS
    }
  }

  /** A TLS 1.2 ClientHello with common suites; the server's answer is all that matters. */
  private static byte[] clientHello() {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    body.writeBytes(new byte[] {3, 3}); // TLS 1.2
    body.writeBytes(new byte[32]); // random: nothing is negotiated further
    body.write(0); // no session id
    int[] suites = {0xc02f, 0xc02b, 0xc030, 0xc02c, 0x009c, 0x1301};
    u16(body, suites.length * 2);
    for (int suite : suites) {
      u16(body, suite);
    }
    body.writeBytes(new byte[] {1, 0}); // no compression
    byte[] extensions = {
        0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x17, 0x00, 0x1d, // groups: P-256, X25519
        0x00, 0x0b, 0x00, 0x02, 0x01, 0x00, // point formats: uncompressed
        0x00, 0x0d, 0x00, 0x0a, 0x00, 0x08, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01, 0x05, 0x01,
    };
    u16(body, extensions.length);
    body.writeBytes(extensions);
    ByteArrayOutputStream record = new ByteArrayOutputStream();
    record.writeBytes(new byte[] {HANDSHAKE, 3, 1});
    u16(record, body.size() + 4);
    record.write(1); // ClientHello
    record.write(0);
    u16(record, body.size());
    record.writeBytes(body.toByteArray());
    return record.toByteArray();
  }

  private static void u16(ByteArrayOutputStream out, int value) {
    out.write(value >>> 8);
    out.write(value & 0xff);
  }
}
