package io.bittensor.cli;

import io.bittensor.core.LedgerException;
import io.bittensor.core.internal.Backoff;
import io.bittensor.transport.RemoteLedger;
import java.io.EOFException;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.random.RandomGenerator;
import javax.net.ssl.SSLException;

/**
 * The first connection of {@code neuron run} to its ledger: a server that cannot be reached yet
 * (down, restarting, or started after the neuron by a service manager) is tried again after a
 * back-off of 1 s doubling to 30 s, each wait drawn from half of it to all of it (as the
 * neuron's registrar waits for a ledger it cannot read), until it answers, the wait given is
 * spent, or the command is told to stop. A failure that waiting cannot mend (a TLS failure, a
 * server that answers but is not a ledger) ends it at once, as before. An unknown host is waited
 * for too (a Compose or Kubernetes service name not in DNS yet), but with no limit given only for
 * {@link #UNKNOWN_HOST_WAIT}, so that a typo does not wait for ever. Each try that fails is said
 * on stderr at the 1st, 2nd, 4th, 8th ... failure in a row.
 */
final class LedgerWait {
  static final long FIRST_BACKOFF_MS = 1_000;
  static final long MAX_BACKOFF_MS = 30_000;
  /**
   * How long, with no limit given, hosts that are all unknown are waited for, counted from the
   * first failure: a service name that does not resolve yet does within seconds of its start.
   */
  static final Duration UNKNOWN_HOST_WAIT = Duration.ofMinutes(2);

  /** One try at connecting. */
  @FunctionalInterface
  interface Connect {
    RemoteLedger connect() throws LedgerException;
  }

  /** Waits up to {@code ms}: true if the command was told to stop meanwhile. */
  @FunctionalInterface
  interface Pause {
    boolean stopped(long ms) throws InterruptedException;
  }

  private LedgerWait() {}

  /**
   * Connects, trying again while the failure may pass and {@code limit} (null: no limit),
   * counted from the first failure, is not spent.
   *
   * @param https whether any server is reached over TLS: there, a connection closed or reset
   *     is a server that refuses the client's certificate, not one restarting
   * @param waiting run before the first wait
   * @return null if the command was told to stop while it waited
   * @throws LedgerException the last failure: one that waiting cannot mend, or once the limit
   *     is spent
   * @throws InterruptedException if interrupted while it waits
   */
  static RemoteLedger connect(Connect connect, boolean https, Duration limit, Pause pause,
      PrintWriter err, Runnable waiting, RandomGenerator random)
      throws LedgerException, InterruptedException {
    return connect(connect, https, limit, UNKNOWN_HOST_WAIT, pause, err, waiting, random);
  }

  /**
   * As above, hosts that are all unknown waited for at most {@code unknownHostLimit} when
   * {@code limit} is null.
   */
  static RemoteLedger connect(Connect connect, boolean https, Duration limit,
      Duration unknownHostLimit, Pause pause, PrintWriter err, Runnable waiting,
      RandomGenerator random) throws LedgerException, InterruptedException {
    // Capped: toNanos overflows past 292 years, which is no limit anyway.
    long limitNanos = limit == null || limit.compareTo(Duration.ofNanos(Long.MAX_VALUE / 2)) > 0
        ? Long.MAX_VALUE / 2 : limit.toNanos();
    boolean unknownHostSaid = false;
    long waitedSince = 0;
    Backoff backoff = Backoff.jittered(FIRST_BACKOFF_MS, MAX_BACKOFF_MS, random);
    for (long inARow = 1; ; inARow++) {
      try {
        return connect.connect();
      } catch (LedgerException e) {
        if (Thread.interrupted()) { // an embedding program's stop, not the ledger's failure
          throw new InterruptedException("told to stop while connecting to the ledger");
        }
        if (inARow == 1) {
          waitedSince = System.nanoTime(); // the wait starts at the first failure
        }
        // With no limit given, hosts all unknown are waited for as a name not in DNS yet
        // would be, and no longer: a typo is not waited for for ever.
        boolean unknownHost = limit == null && unknownHosts(e);
        long left = (unknownHost ? unknownHostLimit.toNanos() : limitNanos)
            - (System.nanoTime() - waitedSince);
        if (!mayPass(e, https) || left <= 0) {
          throw e;
        }
        if (unknownHost && !unknownHostSaid) {
          unknownHostSaid = true;
          // As one literal, for docs/troubleshooting.md to quote.
          err.println("the ledger's host is unknown: waiting at most " + unknownHostLimit
              + " for its name to resolve (--ledger-wait sets another limit)");
        }
        long delay = Math.max(1, Math.min(backoff.next(), Duration.ofNanos(left).toMillis()));
        if (inARow == 1) {
          waiting.run();
        }
        // A ledger down for an hour is said at its 1st, 2nd, 4th ... failure, not at each try.
        if (Long.bitCount(inARow) == 1) {
          // The first as one literal, for docs/troubleshooting.md to quote.
          String said = inARow == 1 ? "waiting for the ledger: "
              : "waiting for the ledger (" + inARow + " times in a row): ";
          err.println(said + e.getMessage() + "; trying again in " + delay + " ms");
          err.flush();
        }
        if (pause.stopped(delay)) {
          return null;
        }
      }
    }
  }

  /**
   * Whether a failure to connect may pass by itself: each server's (one, or each suppressed in
   * the failure of several) was a connection that could not be made or broke, not an answer.
   */
  static boolean mayPass(LedgerException e, boolean https) {
    for (Throwable server : servers(e)) {
      if (!mayPassAlone(server.getCause(), https)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether each server's failure (one, or each suppressed in the failure of several) was that
   * its host name did not resolve.
   */
  static boolean unknownHosts(LedgerException e) {
    for (Throwable server : servers(e)) {
      if (!(server.getCause() instanceof UnknownHostException)) {
        return false;
      }
    }
    return true;
  }

  /** Each server's failure: the one, or each suppressed in the failure of several. */
  private static List<Throwable> servers(LedgerException e) {
    return e.getSuppressed().length > 0 ? List.of(e.getSuppressed()) : List.of(e);
  }

  private static boolean mayPassAlone(Throwable cause, boolean https) {
    if (cause == null) { // the server answered: refused, not a ledger, a bad snapshot
      return false;
    }
    for (Throwable t = cause; t != null; t = t.getCause()) {
      if (t instanceof SSLException) {
        return false; // a certificate, a protocol: not mended by waiting
      }
    }
    if (cause instanceof ConnectException || cause instanceof NoRouteToHostException
        || cause instanceof SocketTimeoutException || cause instanceof UnknownHostException) {
      return true; // nothing listens yet, the host is not up yet, or its name not in DNS yet
    }
    // Over plain HTTP, a server that stops as the client connects (over TLS, such a close is
    // also how a server refuses a client's certificate, which waiting does not mend).
    return !https && (cause instanceof SocketException || cause instanceof EOFException
        || cause.getClass().getName().equals("okhttp3.internal.http2.StreamResetException")
        || String.valueOf(cause.getMessage()).startsWith("unexpected end of stream"));
  }
}
