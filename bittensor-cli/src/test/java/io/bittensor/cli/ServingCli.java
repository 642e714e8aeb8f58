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
 * A serving command ({@code bittensor peer serve ...}, or any through {@link #embedded}) running
 * in this JVM on a thread of its own, through {@link Main#run}; {@link #close()} interrupts a
 * {@code peer serve} (the command's way of stopping when embedded) and checks that it stopped
 * cleanly.
 */
final class ServingCli implements AutoCloseable {
  private static final Pattern AT = Pattern.compile(" at (https?://127\\.0\\.0\\.1:\\d+)");

  final StringWriter out = new StringWriter();
  final StringWriter err = new StringWriter();
  final URI endpoint;
  /** What the command printed that {@code ready} matched: its addresses, as groups. */
  final Matcher printed;
  private final Thread thread;
  private volatile int exitCode = -1;

  private ServingCli(Pattern ready, String... args) throws InterruptedException {
    thread = new Thread(() -> exitCode = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true)),
        "serving-cli");
    thread.setDaemon(true);
    thread.start();
    Matcher m = ready.matcher("");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!(m = ready.matcher(out.toString())).find()) {
      if (!thread.isAlive()) {
        fail("the command ended with " + exitCode + " before serving: " + out + err);
      }
      if (System.nanoTime() > deadline) {
        fail("the command did not print " + ready + " in 60 s: " + out + err);
      }
      Thread.sleep(20);
    }
    printed = m;
    endpoint = URI.create(m.group(1));
  }

  /**
   * Runs any serving command ({@code ledger serve}, {@code neuron run}, ...) embedded, until it
   * prints what {@code ready} matches; its first group is the {@link #endpoint}.
   */
  static ServingCli embedded(Pattern ready, String... args) throws InterruptedException {
    return new ServingCli(ready, args);
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
    return new ServingCli(AT, all);
  }

  /**
   * Waits up to 10 s until the command has printed {@code text} and fails if it has not; what it
   * printed. A line printed after the one {@code ready} matched may come a moment after start.
   */
  String awaitPrinted(String text) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!out.toString().contains(text) && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertTrue(out.toString().contains(text), "did not print \"" + text + "\": " + out + err);
    return out.toString();
  }

  /**
   * Waits up to 10 s until what the command printed matches {@code line} and fails if it does
   * not; the match. A line is printed in pieces: match through to its end.
   */
  Matcher awaitPrinted(Pattern line) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    Matcher m = line.matcher(out.toString());
    while (!m.find() && System.nanoTime() < deadline) {
      Thread.sleep(10);
      m = line.matcher(out.toString());
    }
    assertTrue(m.find(0), "did not print " + line + ": " + out + err);
    return m;
  }

  /** Interrupts the command (its way of stopping when embedded) and waits for it to end. */
  int interruptAndAwaitExit() throws InterruptedException {
    thread.interrupt();
    thread.join(TimeUnit.SECONDS.toMillis(60));
    assertFalse(thread.isAlive(), "the command did not stop when interrupted: " + out + err);
    return exitCode;
  }

  /** Stops {@code peer serve} and checks that it closed everything and exited 0. */
  @Override
  public void close() throws InterruptedException {
    assertEquals(0, interruptAndAwaitExit(), out + "\n" + err);
    assertTrue(out.toString().endsWith("stopped" + System.lineSeparator()), out.toString());
  }
}
