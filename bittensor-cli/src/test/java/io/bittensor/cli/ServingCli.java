package io.bittensor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code bittensor peer serve ...} running in this JVM on a thread of its own, through {@link
 * Main#run}; {@link #close()} interrupts it (the command's way of stopping when embedded) and
 * checks that it stopped cleanly.
 */
final class ServingCli implements AutoCloseable {
  private static final Pattern AT = Pattern.compile(" at (https?://127\\.0\\.0\\.1:\\d+)");

  final StringWriter out = new StringWriter();
  final StringWriter err = new StringWriter();
  final URI endpoint;
  private final Thread thread;
  private volatile int exitCode = -1;

  private ServingCli(String... args) throws InterruptedException {
    thread = new Thread(() -> exitCode = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true)),
        "serving-cli");
    thread.setDaemon(true);
    thread.start();
    Matcher m = AT.matcher("");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!(m = AT.matcher(out.toString())).find()) {
      if (!thread.isAlive()) {
        fail("serve ended with " + exitCode + " before serving: " + out + err);
      }
      if (System.nanoTime() > deadline) {
        fail("serve did not print its endpoint in 30 s: " + out + err);
      }
      Thread.sleep(20);
    }
    endpoint = URI.create(m.group(1));
  }

  /** Starts {@code bittensor peer serve} with {@code args} on port 0 of the loopback address. */
  static ServingCli start(String... args) throws InterruptedException {
    String[] all = new String[args.length + 6];
    all[0] = "peer";
    all[1] = "serve";
    all[2] = "--port";
    all[3] = "0";
    all[4] = "--host";
    all[5] = "127.0.0.1";
    System.arraycopy(args, 0, all, 6, args.length);
    return new ServingCli(all);
  }

  /** Stops the command and checks that it closed everything and exited 0. */
  @Override
  public void close() throws InterruptedException {
    thread.interrupt();
    thread.join(TimeUnit.SECONDS.toMillis(30));
    assertFalse(thread.isAlive(), "serve stops when interrupted");
    assertEquals(0, exitCode, out + "\n" + err);
    assertTrue(out.toString().endsWith("stopped" + System.lineSeparator()), out.toString());
  }
}
