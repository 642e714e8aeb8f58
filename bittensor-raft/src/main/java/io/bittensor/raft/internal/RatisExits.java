package io.bittensor.raft.internal;

import java.util.ArrayList;
import java.util.List;
import org.apache.ratis.util.ExitUtils;

/**
 * Keeps Ratis from ending the JVM it is embedded in.
 *
 * <p>Ratis calls {@code System.exit(1)} when its gRPC server cannot listen (a port already
 * taken), and the first time its exit utility is touched it installs a default handler of
 * uncaught exceptions that exits too. A library must not do either to the application that
 * embeds it, so before any member starts this turns Ratis' exits into exceptions (which
 * {@code RaftLedger} reports as an {@code IOException}) and puts the application's own
 * handler back. The switch is Ratis' and so holds for every Ratis server in the JVM.
 */
public final class RatisExits {
  private static boolean disabled;

  private RatisExits() {
  }

  /** Turns Ratis' exits into exceptions, once per JVM; idempotent and thread-safe. */
  public static synchronized void disable() {
    if (disabled) {
      return;
    }
    Thread.UncaughtExceptionHandler application = Thread.getDefaultUncaughtExceptionHandler();
    ExitUtils.disableSystemExit();
    ExitUtils.setTerminateOnUncaughtException(false);
    Thread.setDefaultUncaughtExceptionHandler(application);
    disabled = true;
  }

  /**
   * Why Ratis stopped a server as it started, for a member's message: how the address failed
   * to bind ("could not listen on", with a hint where the port is in use) or else that the
   * server could not start, then Ratis' own messages from its exit down ({@link #reasons}).
   * Any exit used to read as a port taken.
   */
  public static String startFailure(String self, String address, Throwable exit) {
    String reasons = reasons(exit);
    if (!isBindFailure(exit)) {
      return "the Raft member " + self + " could not start its server on " + address + ": "
          + reasons;
    }
    return "the Raft member " + self + " could not listen on " + address
        + (reasons.contains("Address already in use")
            ? " (is the port taken by another process?): " : ": ")
        + reasons;
  }

  /**
   * The messages of {@code t}'s chain from Ratis' exit down (from {@code t} where no exit is in
   * it), joined by ": ", each left out that the text before already holds (a wrapper's
   * message is often its cause's); a cause without a message by its class's name.
   */
  public static String reasons(Throwable t) {
    List<Throwable> chain = chain(t);
    int exit = 0;
    while (exit < chain.size() && !(chain.get(exit) instanceof ExitUtils.ExitException)) {
      exit++;
    }
    StringBuilder text = new StringBuilder();
    for (Throwable c : chain.subList(exit < chain.size() ? exit : 0, chain.size())) {
      String m = c.getMessage() != null ? c.getMessage() : c.getClass().getSimpleName();
      if (text.indexOf(m) < 0) {
        text.append(text.length() == 0 ? "" : ": ").append(m);
      }
    }
    return text.toString();
  }

  /** Whether a cause in {@code t}'s chain is a failure to bind an address (gRPC's or the JDK's). */
  static boolean isBindFailure(Throwable t) {
    return chain(t).stream().anyMatch(c -> c instanceof java.net.BindException
        || String.valueOf(c.getMessage()).startsWith("Failed to bind")
        || String.valueOf(c.getMessage()).startsWith("bind("));
  }

  /** Whether {@code t} or one of its causes is Ratis' exit turned into an exception. */
  public static boolean isExit(Throwable t) {
    return chain(t).stream().anyMatch(c -> c instanceof ExitUtils.ExitException);
  }

  /** {@code t} and its causes, at most 16 of them (a chain with a cycle ends there). */
  public static List<Throwable> chain(Throwable t) {
    List<Throwable> chain = new ArrayList<>();
    for (Throwable c = t; c != null && chain.size() < 16; c = c.getCause()) {
      chain.add(c);
    }
    return chain;
  }
}
