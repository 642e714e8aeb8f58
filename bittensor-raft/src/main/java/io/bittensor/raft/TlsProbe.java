package io.bittensor.raft;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;

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

  /**
   * The hello, written at the first probe: the JDK's default TLS context (its authorities read,
   * key shares made) took 0.7 to 1.2 s of a fresh JVM on two busy cores, which every {@code
   * ledger members} paid before its first request while a probe is seldom sent.
   */
  private static final class Hello {
    static final byte[] BYTES = clientHello();
  }

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
      s.getOutputStream().write(Hello.BYTES);
      s.getOutputStream().flush();
      InputStream in = s.getInputStream();
      int type = in.read();
      // A record's version follows its type: 3, then 1 to 4 (TLS 1.0 to 1.3's records).
      return (type == HANDSHAKE || type == ALERT) && in.read() == 3;
    } catch (IOException e) {
      return false; // refused, closed, or nothing in time: no sign of TLS
    }
  }

  /**
   * The JDK's own first handshake message as a client, unsent: whatever TLS server the member
   * runs answers it with a handshake or an alert, and the probe needs nothing else.
   */
  private static byte[] clientHello() {
    try {
      SSLEngine engine = SSLContext.getDefault().createSSLEngine();
      engine.setUseClientMode(true);
      engine.beginHandshake();
      ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
      engine.wrap(ByteBuffer.allocate(0), out);
      out.flip();
      byte[] hello = new byte[out.remaining()];
      out.get(hello);
      return hello;
    } catch (GeneralSecurityException | SSLException e) {
      throw new IllegalStateException("this JDK cannot write a TLS ClientHello", e);
    }
  }
}
