package io.bittensor.raft.internal;

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

  /** Whether {@code t} or one of its causes is Ratis' exit turned into an exception. */
  public static boolean isExit(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof ExitUtils.ExitException) {
        return true;
      }
    }
    return false;
  }
}
