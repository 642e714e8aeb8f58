package io.bittensor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Genesis;
import io.bittensor.core.Keypair;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Modality;
import io.bittensor.core.Receipt;
import io.bittensor.core.Transaction;
import io.bittensor.core.testing.TestCertificates;
import io.bittensor.transport.LedgerServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code neuron run} embedded in this JVM through {@link Main#run}: how it stops. */
@Timeout(120)
class NeuronRunLifecycleTest {
  private static final Pattern SERVING = Pattern.compile(
      " at (http://\\S+) on ledger [\\s\\S]*metrics on (http://\\S+)");

  @TempDir Path dir;

  private final Keypair key = Keypair.generate();

  /** A ledger that makes a block every 100 ms, where the neuron's key holds tokens. */
  private LocalLedger fundedLedger() throws Exception {
    return fundedLedger(BlockPolicy.every(Duration.ofMillis(100)));
  }

  /** A ledger that makes blocks by {@code blocks}, where the neuron's key holds tokens. */
  private LocalLedger fundedLedger(BlockPolicy blocks) throws Exception {
    return LocalLedger.builder()
        .genesis(Genesis.builder().allocate(key.id(), 1_000_000).build())
        .blocks(blocks).openInMemory();
  }

  /** A config for a noise neuron on port 0 of {@code server}'s ledger, with {@code more} keys. */
  private Path config(LedgerServer server, String... more) throws IOException {
    return config(server.uri().toString(), more);
  }

  /** A config for a noise neuron on port 0 of the ledger at {@code ledger} (a comma: several). */
  private Path config(String ledger, String... more) throws IOException {
    Path keyFile = dir.resolve("neuron.key");
    key.save(keyFile);
    List<String> lines = new java.util.ArrayList<>(List.of("key=" + keyFile,
        "ledger=" + ledger, "peer=noise", "port=0"));
    lines.addAll(List.of(more));
    return Files.writeString(dir.resolve("neuron.properties"), String.join("\n", lines) + "\n");
  }

  /**
   * An interrupt of the thread running it stops it as SIGTERM does: the neuron's port and its
   * metrics port are closed, and it exits 0.
   */
  @Test
  void anInterruptClosesTheNeuronAndItsMetricsAndExitsZero() throws Exception {
    try (LocalLedger ledger = fundedLedger();
        LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
            .start()) {
      Path config = config(server, "output-dim=16", "metrics-port=0");
      ServingCli running = ServingCli.embedded(SERVING, "neuron", "run", "--config",
          config.toString());
      URI endpoint = running.endpoint;
      URI metrics = URI.create(running.printed.group(2));

      assertEquals(0, running.interruptAndAwaitExit(), running.out + "\n" + running.err);
      assertTrue(running.out.toString().endsWith("stopped" + System.lineSeparator()),
          "says it closed cleanly: " + running.out);
      for (URI closed : List.of(endpoint, metrics)) {
        assertThrows(IOException.class,
            () -> new Socket(closed.getHost(), closed.getPort()).close(),
            closed + " still listens");
      }
    }
  }

  /**
   * A setup failure after its ledger client connected (here: more passages per era than the
   * corpus holds, refused naming the setting) closes that client as it fails: an embedding
   * program is not left with a client following the ledger.
   */
  @Test
  void aSetupFailureAfterReachingTheLedgerClosesTheLedgerClient() throws Exception {
    try (LocalLedger ledger = fundedLedger();
        LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
            .start()) {
      Path config = config(server, "learn=true", "per-era=1000000");
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      int code = Main.run(new String[] {"neuron", "run", "--config", config.toString()},
          new PrintWriter(out, true), new PrintWriter(err, true));
      assertEquals(Main.EXIT_BAD_INPUT, code, out + "\n" + err);
      assertTrue(err.toString().contains(config + ": per-era 1000000 is more than"),
          "names the setting: " + err);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (server.eventStreams() > 0 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertEquals(0, server.eventStreams(),
          "the failed command's ledger client still follows the ledger: " + err);
    }
  }

  /**
   * An interrupt while it waits for its registration's block (on a ledger that makes none) stops
   * it as one once it runs does: it closes what it opened, exits 0 and keeps the interrupt for
   * the program that runs it.
   */
  @Test
  void anInterruptWhileItAwaitsItsRegistrationStopsItAsWhenRunning() throws Exception {
    try (LocalLedger ledger = fundedLedger(BlockPolicy.manual());
        LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
            .start()) {
      Path config = config(server, "output-dim=16");
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      int[] code = {-1};
      boolean[] interrupted = {false};
      Thread running = new Thread(() -> {
        code[0] = Main.run(new String[] {"neuron", "run", "--config", config.toString()},
            new PrintWriter(out, true), new PrintWriter(err, true));
        interrupted[0] = Thread.currentThread().isInterrupted();
      }, "neuron-run");
      running.setDaemon(true);
      running.start();
      awaitRegistrationWait(running);
      running.interrupt();
      running.join(TimeUnit.SECONDS.toMillis(60));
      assertFalse(running.isAlive(), "the command did not stop: " + out + err);
      assertEquals(0, code[0], out + "\n" + err);
      assertTrue(interrupted[0], "the interrupt is kept");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (server.eventStreams() > 0 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertEquals(0, server.eventStreams(), "its ledger client still follows the ledger");
    }
  }

  /**
   * On a ledger that takes one registration a block, whose block being built holds one already,
   * it is refused, says so, registers again once the next block comes and then serves.
   */
  @Test
  void refusedByTheRegistrationCapItRegistersInALaterBlockAndServes() throws Exception {
    Keypair first = Keypair.generate();
    try (LocalLedger ledger = LocalLedger.builder()
            .genesis(Genesis.builder()
                .params(LedgerParams.defaults().withMaxRegistrationsPerBlock(1))
                .allocate(key.id(), 1_000_000).allocate(first.id(), 1_000_000).build())
            .blocks(BlockPolicy.manual()).openInMemory();
        LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
            .start()) {
      CompletableFuture<Receipt> taken = ledger.submit(first,
          Transaction.register(URI.create("http://127.0.0.1:1"), Modality.TENSOR));
      Path config = config(server, "output-dim=16");
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      int[] code = {-1};
      Thread running = new Thread(() -> code[0] = Main.run(
          new String[] {"neuron", "run", "--config", config.toString()},
          new PrintWriter(out, true), new PrintWriter(err, true)), "neuron-run");
      running.setDaemon(true);
      running.start();
      try {
        awaitPrinted(running, out, err, "registration refused at attempt 1 (TOO_MANY_REGISTRATIONS");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!out.toString().contains(" serving ") && System.nanoTime() < deadline) {
          ledger.produceBlock();
          Thread.sleep(50);
        }
        assertEquals(1, taken.get(10, TimeUnit.SECONDS).block());
        Pattern registeredThenServing =
            Pattern.compile("registered in block \\d+ at attempt \\d+\\R[^\\n]* serving ");
        assertTrue(registeredThenServing.matcher(out.toString()).find(),
            "registered, then served: " + out + err);
        assertTrue(ledger.metagraph().uid(key.id()).isPresent(), "registered");
      } finally {
        running.interrupt();
        running.join(TimeUnit.SECONDS.toMillis(60));
      }
      assertFalse(running.isAlive(), "the command did not stop: " + out + err);
      assertEquals(0, code[0], out + "\n" + err);
    }
  }

  /**
   * Started before its ledger (in the wrong order by a service manager, or while the ledger
   * restarts): it says on stderr what it waits for, why and when it tries again, and once a
   * ledger server listens at the address, connects, registers and serves. Before, it exited 1 at
   * once with "cannot reach the ledger".
   */
  @Test
  void aLedgerServerStartedAfterTheNeuronIsWaitedForAndJoined() throws Exception {
    URI uri = URI.create("http://127.0.0.1:" + freePort());
    Path config = config(uri.toString(), "output-dim=16");
    Embedded running = Embedded.start("neuron", "run", "--config", config.toString());
    String told = running.awaitErr("waiting for the ledger: cannot reach the ledger at " + uri);
    java.util.regex.Matcher m = Pattern.compile("waiting for the ledger: cannot reach the ledger"
        + " at " + Pattern.quote(uri.toString()) + ": .*; trying again in (\\d+) ms")
        .matcher(told);
    assertTrue(m.find(), told);
    long delay = Long.parseLong(m.group(1));
    assertTrue(delay >= 500 && delay <= 1000, "the first back-off, 1 s jittered: " + told);
    try (LocalLedger ledger = fundedLedger();
        LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1")
            .port(uri.getPort()).start()) {
      running.awaitOut(" serving ");
      assertTrue(ledger.metagraph().uid(key.id()).isPresent(), "registered");
      assertEquals(0, running.interruptAndJoin(), running.toString());
      assertTrue(running.out.toString().endsWith("stopped" + System.lineSeparator()),
          running.toString());
    }
  }

  /**
   * An interrupt while it waits for a ledger that cannot be reached stops it at once, not after
   * its back-off: it exits 0, says "stopped" and keeps the interrupt.
   */
  @Test
  void anInterruptWhileItWaitsForItsLedgerStopsItAtOnce() throws Exception {
    Path config = config("http://127.0.0.1:" + freePort(), "output-dim=16");
    Embedded running = Embedded.start("neuron", "run", "--config", config.toString());
    String told = running.awaitErr("waiting for the ledger (2 times in a row): ");
    long start = System.nanoTime();
    assertEquals(0, running.interruptAndJoin(), running.toString());
    long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertTrue(tookMs < 1000, "stopped " + tookMs + " ms after the interrupt, its back-off then"
        + " at least 1000 ms: " + told);
    assertTrue(running.interrupted, "the interrupt is kept");
    assertTrue(running.out.toString().endsWith("stopped" + System.lineSeparator()),
        running.toString());
  }

  /**
   * SIGTERM while it waits for a ledger that cannot be reached ends the process at once, its
   * last line "stopped", with the exit code of a JVM ended by SIGTERM (143).
   */
  @Test
  void sigtermWhileItWaitsForItsLedgerEndsItAtOnce() throws Exception {
    Path config = config("http://127.0.0.1:" + freePort(), "output-dim=16");
    Path out = dir.resolve("out.log");
    Path err = dir.resolve("err.log");
    Process p = new ProcessBuilder(ChildCli.command("neuron", "run", "--config",
        config.toString())).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!Files.readString(err).contains("waiting for the ledger: ")) {
        assertTrue(p.isAlive() && System.nanoTime() < deadline,
            "never said it waits: " + Files.readString(out) + Files.readString(err));
        Thread.sleep(20);
      }
      p.destroy(); // SIGTERM
      assertTrue(p.waitFor(10, TimeUnit.SECONDS), "SIGTERM did not end it: "
          + Files.readString(err));
      assertEquals(143, p.exitValue(), Files.readString(err));
      assertTrue(Files.readString(out).endsWith("stopped" + System.lineSeparator()),
          Files.readString(out) + Files.readString(err));
    } finally {
      p.destroyForcibly();
    }
  }

  /**
   * A failure that waiting cannot mend is not waited for: https:// to a server that speaks
   * plain HTTP fails at once, exit 1, with the client's message as before, and no wait said.
   */
  @Test
  void aTlsFailureIsNotWaitedFor() throws Exception {
    try (LocalLedger ledger = fundedLedger();
        LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
            .start()) {
      URI https = URI.create("https://127.0.0.1:" + server.uri().getPort());
      Path config = config(https.toString(), "output-dim=16");
      CliRunner r = CliRunner.run("neuron", "run", "--config", config.toString());
      assertEquals(Main.EXIT_FAILURE, r.exitCode(), r.err());
      assertTrue(r.err().startsWith("bittensor: cannot reach the ledger at " + https + ": "),
          r.err());
      assertFalse(r.err().contains("waiting for the ledger"), r.err());
    }
  }

  /**
   * --ledger-wait bounds the wait: once it is spent, the last failure ends it, exit 1, as it
   * did at once before; a negative one is bad input.
   */
  @Test
  void ledgerWaitBoundsTheWait() throws Exception {
    URI uri = URI.create("http://127.0.0.1:" + freePort());
    Path config = config(uri.toString(), "output-dim=16");
    long start = System.nanoTime();
    CliRunner r = CliRunner.run("neuron", "run", "--config", config.toString(),
        "--ledger-wait", "PT1.5S");
    long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertEquals(Main.EXIT_FAILURE, r.exitCode(), r.err());
    assertTrue(r.err().contains("waiting for the ledger: cannot reach the ledger at " + uri)
        && r.err().contains("bittensor: cannot reach the ledger at " + uri), r.err());
    assertTrue(tookMs >= 1500, "gave up after " + tookMs + " ms");
    CliRunner negative = CliRunner.run("neuron", "run", "--config", config.toString(),
        "--ledger-wait", "-PT1S");
    assertEquals(Main.EXIT_BAD_INPUT, negative.exitCode(), negative.err());
    assertTrue(negative.err().contains("--ledger-wait must be PT0S or more, was PT-1S"),
        negative.err());
  }

  /**
   * A ledger whose host name does not resolve (RFC 6761: a {@code .invalid} name never does), as
   * a Compose or Kubernetes service name before its DNS record: it is waited for as a server not
   * up yet, here for the --ledger-wait given, then the last failure ends it, exit 1. Before, an
   * unknown host failed at once.
   */
  @Test
  void anUnknownHostIsWaitedForUntilTheLedgerWaitIsSpent() throws Exception {
    URI uri = URI.create("http://ledger.invalid:8092");
    Path config = config(uri.toString(), "output-dim=16");
    long start = System.nanoTime();
    CliRunner r = CliRunner.run("neuron", "run", "--config", config.toString(),
        "--ledger-wait", "PT1S");
    long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertEquals(Main.EXIT_FAILURE, r.exitCode(), r.err());
    assertTrue(r.err().startsWith("waiting for the ledger: cannot reach the ledger at " + uri),
        r.err());
    assertTrue(r.err().contains("bittensor: cannot reach the ledger at " + uri), r.err());
    assertFalse(r.err().contains("host is unknown: waiting at most"),
        "--ledger-wait is the limit: " + r.err());
    assertTrue(tookMs >= 1000, "gave up after " + tookMs + " ms");
  }

  /**
   * With several ledger servers none of which can be reached yet, it waits as for one (each
   * server's failure, kept in the client's, says it may pass); before, the client's failure
   * for several kept no cause, and it would have failed at once.
   */
  @Test
  void severalLedgerServersNoneUpYetAreWaitedFor() throws Exception {
    URI a = URI.create("http://127.0.0.1:" + freePort());
    URI b = URI.create("http://127.0.0.1:" + freePort());
    Path config = config(a + "," + b, "output-dim=16");
    CliRunner r = CliRunner.run("neuron", "run", "--config", config.toString(),
        "--ledger-wait", "PT0.5S");
    assertEquals(Main.EXIT_FAILURE, r.exitCode(), r.err());
    assertTrue(r.err().startsWith("waiting for the ledger: cannot reach any of the ledger"
        + " servers: cannot reach the ledger at " + a), r.err());
    assertTrue(r.err().contains("bittensor: cannot reach any of the ledger servers: "), r.err());
  }

  /** A port on the loopback address that nothing listens on (it was free a moment ago). */
  private static int freePort() throws IOException {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1,
        java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** {@code neuron run} embedded, on a thread of its own. */
  private static final class Embedded {
    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();
    final Thread thread;
    volatile int code = -1;
    volatile boolean interrupted;

    private Embedded(String... args) {
      thread = new Thread(() -> {
        code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        interrupted = Thread.currentThread().isInterrupted();
      }, "neuron-run");
      thread.setDaemon(true);
    }

    static Embedded start(String... args) {
      Embedded e = new Embedded(args);
      e.thread.start();
      return e;
    }

    String awaitErr(String text) throws InterruptedException {
      awaitPrinted(thread, err, out, text);
      return err.toString();
    }

    void awaitOut(String text) throws InterruptedException {
      awaitPrinted(thread, out, err, text);
    }

    int interruptAndJoin() throws InterruptedException {
      thread.interrupt();
      thread.join(TimeUnit.SECONDS.toMillis(30));
      assertFalse(thread.isAlive(), "the command did not stop: " + this);
      return code;
    }

    @Override
    public String toString() {
      return out + "\n" + err;
    }
  }

  /**
   * It reads its TLS files as it starts (its ledger client's pair as it connects, its server's
   * as the neuron starts) but watched them ({@code tls-reload-ms}) only once its registration
   * landed, which may be many blocks later (a registration cap, a ledger it cannot read): a pair
   * renewed meanwhile was taken as the one in use and never reloaded. The watch starts from the
   * files as the config's check found them.
   */
  @Test
  void tlsFilesRenewedWhileItAwaitsItsRegistrationAreReloaded() throws Exception {
    Path serverKey = Files.copy(TestCertificates.file("peer.key"), dir.resolve("server.key"));
    Path serverCert = Files.copy(TestCertificates.file("peer.pem"), dir.resolve("server.pem"));
    Path clientKey = Files.copy(TestCertificates.file("client.key"), dir.resolve("client.key"));
    Path clientCert = Files.copy(TestCertificates.file("client.pem"), dir.resolve("client.pem"));
    Path ca = TestCertificates.file("ca.pem");
    Path clientCa = Files.copy(ca, dir.resolve("clients.pem"));
    try (LocalLedger ledger = fundedLedger(BlockPolicy.manual());
        LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
            .tls(TestCertificates.file("peer.key"), TestCertificates.file("peer.pem"))
            .requireClientCertificates(ca).start()) {
      Path config = config(server, "output-dim=16", "tls-key=" + serverKey,
          "tls-cert=" + serverCert, "tls-trust=" + ca, "tls-client-key=" + clientKey,
          "tls-client-cert=" + clientCert, "tls-client-ca=" + clientCa, "tls-reload-ms=20");
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      Thread running = new Thread(() -> Main.run(
          new String[] {"neuron", "run", "--config", config.toString()},
          new PrintWriter(out, true), new PrintWriter(err, true)), "neuron-run");
      running.setDaemon(true);
      running.start();
      try {
        awaitRegistrationWait(running);
        // Renewed while it waits (the same certificates written again, as certbot may).
        for (Path renewed : List.of(serverKey, serverCert, clientKey, clientCert, clientCa)) {
          Files.setLastModifiedTime(renewed, FileTime.from(Instant.now().plusSeconds(60)));
        }
        ledger.produceBlock();
        for (Path pair : List.of(serverCert, clientCert)) {
          awaitPrinted(running, out, err, "reloaded the TLS certificate from " + pair, 10);
        }
        awaitPrinted(running, out, err, "reloaded the trusted client certificates from "
            + clientCa, 10);
        assertFalse(out.toString().contains("kept the TLS certificate"), out.toString());
      } finally {
        running.interrupt();
        running.join(TimeUnit.SECONDS.toMillis(60));
      }
      assertFalse(running.isAlive(), "the command did not stop: " + out + err);
    }
  }

  /** Waits until the command printed {@code text}; fails if it ends first or in 60 s. */
  private static void awaitPrinted(Thread running, StringWriter out, StringWriter err,
      String text) throws InterruptedException {
    awaitPrinted(running, out, err, text, 60);
  }

  /** Waits until the command printed {@code text}; fails if it ends first or in the time. */
  private static void awaitPrinted(Thread running, StringWriter out, StringWriter err,
      String text, long seconds) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (!out.toString().contains(text)) {
      assertTrue(running.isAlive() && System.nanoTime() < deadline,
          "never printed " + text + ": " + out + err);
      Thread.sleep(20);
    }
  }

  /** Waits until {@code t} waits on a future in {@code neuron run}: its registration's. */
  private static void awaitRegistrationWait(Thread t) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      StackTraceElement[] stack = t.getStackTrace();
      boolean inGet = false;
      for (StackTraceElement e : stack) {
        inGet |= e.getClassName().equals(CompletableFuture.class.getName())
            && e.getMethodName().equals("get");
        if (inGet && e.getClassName().equals(NeuronCommand.Run.class.getName())) {
          if (t.getState() == Thread.State.WAITING) {
            return;
          }
        }
      }
      Thread.sleep(10);
    }
    throw new AssertionError("neuron run never waited for its registration");
  }
}
