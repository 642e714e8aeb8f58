package io.bittensor.cli.internal;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Progress of a long piece of work, on stderr. Nothing shows for work that ends within
 * {@link #DELAY_NANOS} (a second); after that, on a terminal a bar redrawn in place
 * ({@code \r}) at most every tenth of a second, and elsewhere (a log, a pipe, CI) a plain line
 * every {@link #LINE_PERIOD_NANOS} (five seconds) with no carriage return. Closing ends the bar's
 * line, or prints a last plain line, if anything showed.
 *
 * <pre>{@code
 * int epochs = 100;
 * try (Progress p = Progress.start(err, "epochs", epochs, Progress.Style.of(terminal))) {
 *   for (int e = 0; e < epochs; e++) {
 *     step(e);
 *     p.update(e + 1);
 *   }
 * }
 * }</pre>
 *
 * <p>Thread-safe: {@link #update} may come from any thread.
 */
public final class Progress implements AutoCloseable {
  /** How long work runs before anything shows. */
  public static final long DELAY_NANOS = TimeUnit.SECONDS.toNanos(1);

  /** The fewest nanoseconds between two redraws of a bar. */
  public static final long REDRAW_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  /** The fewest nanoseconds between two plain lines. */
  public static final long LINE_PERIOD_NANOS = TimeUnit.SECONDS.toNanos(5);

  /** The bar's width in characters, between the brackets. */
  public static final int WIDTH = 30;

  /** How progress shows. */
  public enum Style {
    /** A bar redrawn in place, for a terminal. */
    BAR,
    /** A plain line now and then, for logs and pipes. */
    LINES,
    /** Nothing. */
    NONE;

    /** {@link #BAR} on a terminal, {@link #LINES} otherwise. */
    public static Style of(boolean terminal) {
      return terminal ? BAR : LINES;
    }
  }

  private final PrintWriter err;
  private final String label;
  private final long total;
  private final Style style;
  private final LongSupplier nanos;
  private final long started;
  private long done;
  private long shownAt = Long.MIN_VALUE;
  private long shownDone = -1;
  private boolean closed;

  private Progress(PrintWriter err, String label, long total, Style style, LongSupplier nanos) {
    this.err = Objects.requireNonNull(err, "err");
    this.label = Objects.requireNonNull(label, "label");
    this.style = Objects.requireNonNull(style, "style");
    this.nanos = Objects.requireNonNull(nanos, "nanos");
    if (total < 1) {
      throw new IllegalArgumentException("total must be >= 1, was " + total);
    }
    this.total = total;
    this.started = nanos.getAsLong();
  }

  /**
   * Progress of {@code total} units of work, on {@code err} (not closed here).
   *
   * @throws IllegalArgumentException if {@code total < 1}
   */
  public static Progress start(PrintWriter err, String label, long total, Style style) {
    return new Progress(err, label, total, style, System::nanoTime);
  }

  /** As {@link #start(PrintWriter, String, long, Style)}, timed by {@code nanos} (for tests). */
  public static Progress start(PrintWriter err, String label, long total, Style style,
      LongSupplier nanos) {
    return new Progress(err, label, total, style, nanos);
  }

  /**
   * {@code done} of the total units are done (clamped to {@code [0, total]}); shows it if it is
   * time to.
   */
  public synchronized void update(long done) {
    if (closed) {
      return;
    }
    this.done = Math.max(0, Math.min(total, done));
    long now = nanos.getAsLong();
    if (style == Style.NONE || now - started < DELAY_NANOS) {
      return;
    }
    long period = style == Style.BAR ? REDRAW_NANOS : LINE_PERIOD_NANOS;
    if (shownAt != Long.MIN_VALUE && now - shownAt < period) {
      return;
    }
    show(now, false);
  }

  /** Draws the bar (ending its line if {@code last}) or prints a plain line. */
  private void show(long now, boolean last) {
    if (style == Style.BAR) {
      err.print("\r" + bar(label, done, total));
      if (last) {
        err.println();
      }
    } else {
      err.println(line(label, done, total, (now - started) / 1e9));
    }
    err.flush();
    shownAt = now;
    shownDone = done;
  }

  /** One more unit done. */
  public synchronized void step() {
    update(done + 1);
  }

  /**
   * The line a bar shows, e.g. {@code "embedding [###############               ] 50/100"}.
   *
   * @throws IllegalArgumentException if {@code total < 1}
   */
  public static String bar(String label, long done, long total) {
    if (total < 1) {
      throw new IllegalArgumentException("total must be >= 1, was " + total);
    }
    long d = Math.max(0, Math.min(total, done));
    int filled = (int) (WIDTH * d / total);
    return String.format(Locale.ROOT, "%s [%s%s] %d/%d", label, "#".repeat(filled),
        " ".repeat(WIDTH - filled), d, total);
  }

  /**
   * A plain progress line, e.g. {@code "embedding: 50/100 (50%) after 6 s"}.
   *
   * @throws IllegalArgumentException if {@code total < 1}
   */
  public static String line(String label, long done, long total, double seconds) {
    if (total < 1) {
      throw new IllegalArgumentException("total must be >= 1, was " + total);
    }
    long d = Math.max(0, Math.min(total, done));
    return String.format(Locale.ROOT, "%s: %d/%d (%d%%) after %.0f s", label, d, total,
        100 * d / total, seconds);
  }

  /**
   * Ends the bar's line, or prints a last plain line, if anything showed and the last line does
   * not show the same count already. Idempotent.
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    // A bar's line is ended either way; a plain line only if it says something new.
    if (shownAt != Long.MIN_VALUE && (style == Style.BAR || shownDone != done)) {
      show(nanos.getAsLong(), true);
    }
    closed = true;
  }
}
