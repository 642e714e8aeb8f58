package io.bittensor.cli;

/**
 * How a serving command stops: SIGINT or SIGTERM run its shutdown hook, and an interrupt of the
 * thread running it (an embedding program's way of saying stop) closes the same on that thread.
 */
final class Stopping {
  /** What the command waits on while it serves. */
  @FunctionalInterface
  interface Wait {
    void await() throws InterruptedException;
  }

  private Stopping() {}

  /**
   * {@code close}, run once whoever calls it: a second caller waits until the first is done.
   */
  static Runnable once(Runnable close) {
    boolean[] done = {false};
    return () -> {
      synchronized (done) {
        if (!done[0]) {
          done[0] = true;
          close.run();
        }
      }
    };
  }

  /**
   * Waits on {@code until}, then runs {@code stop} (or waits for the hook's run of it), takes
   * {@code hook} off the JVM's shutdown hooks, and restores the interrupt that ended the wait.
   */
  static void await(Wait until, Runnable stop, Thread hook) {
    boolean interrupted = false;
    try {
      until.await();
    } catch (InterruptedException e) {
      interrupted = true;
    }
    stop.run();
    unhook(hook);
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /** Takes {@code hook} off the JVM's shutdown hooks, unless the JVM is running them already. */
  static void unhook(Thread hook) {
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // The JVM is shutting down: the hook has run.
    }
  }
}
