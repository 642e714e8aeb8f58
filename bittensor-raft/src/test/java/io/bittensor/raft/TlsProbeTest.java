package io.bittensor.raft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * What a {@link TlsProbe} costs the administrator that schedules it: nothing TLS until a probe
 * is sent, since most calls are answered before the probe's delay and cancel it.
 */
class TlsProbeTest {
  /**
   * A probe cancelled before it is sent (as {@link RaftAdmin#members} cancels it once answered)
   * loads no TLS class, in a JVM of its own: the JDK's default TLS context took 0.7 to 1.2 s of
   * a fresh {@code ledger members} on two busy cores when the hello was written at class load.
   */
  @Test
  void aCancelledProbeLoadsNoTls() throws Exception {
    List<String> cmd = List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-verbose:class",
        "-cp", System.getProperty("surefire.test.class.path",
            System.getProperty("java.class.path")),
        Cancelled.class.getName());
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the child did not end");
    assertEquals(0, p.exitValue(), out);
    assertTrue(out.contains("io.bittensor.raft.TlsProbe "), "the probe's class loaded: " + out);
    assertTrue(out.contains("speaks TLS: false"), out);
    List<String> tls = out.lines().filter(l -> l.contains("javax.net.ssl.SSLContext ")).toList();
    assertEquals(List.of(), tls, "the TLS context was made for a probe never sent");
  }

  /** Schedules one probe, cancelled, and says what it found. */
  static final class Cancelled {
    public static void main(String[] args) throws InterruptedException, ExecutionException {
      InetSocketAddress nobody = new InetSocketAddress("127.0.0.1", 1); // never asked
      boolean tls = TlsProbe.anySpeaksTls(List.of(nobody), 0, TimeUnit.SECONDS.toNanos(5),
          new AtomicBoolean(true)).get();
      System.out.println("speaks TLS: " + tls);
    }
  }
}
