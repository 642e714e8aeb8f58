package io.bittensor.cli.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ProgressTest {
  /** A clock the test moves by hand. */
  static final class FakeClock {
    long nanos;

    void advanceMillis(long millis) {
      nanos += TimeUnit.MILLISECONDS.toNanos(millis);
    }
  }

  @Test
  void theBarFillsInProportionToWhatIsDone() {
    assertEquals("x [" + " ".repeat(30) + "] 0/100", Progress.bar("x", 0, 100));
    assertEquals("x [" + "#".repeat(15) + " ".repeat(15) + "] 50/100", Progress.bar("x", 50, 100));
    assertEquals("x [" + "#".repeat(10) + " ".repeat(20) + "] 1/3", Progress.bar("x", 1, 3));
    assertEquals("x [" + "#".repeat(30) + "] 7/7", Progress.bar("x", 7, 7));
    assertEquals("x [" + "#".repeat(30) + "] 7/7", Progress.bar("x", 9, 7), "clamped to the total");
    assertEquals("embedding: 25/100 (25%) after 6 s", Progress.line("embedding", 25, 100, 6.2));
    assertThrows(IllegalArgumentException.class, () -> Progress.bar("x", 0, 0));
  }

  @Test
  void quickWorkShowsNothing() {
    StringWriter err = new StringWriter();
    FakeClock clock = new FakeClock();
    try (Progress p = Progress.start(new PrintWriter(err), "quick", 10, Progress.Style.BAR,
        () -> clock.nanos)) {
      for (int i = 1; i <= 10; i++) {
        clock.advanceMillis(50);
        p.update(i);
      }
    }
    assertEquals("", err.toString());
  }

  @Test
  void onATerminalTheBarIsRedrawnInPlaceAndEndsItsLine() {
    StringWriter err = new StringWriter();
    FakeClock clock = new FakeClock();
    try (Progress p = Progress.start(new PrintWriter(err), "slow", 100, Progress.Style.BAR,
        () -> clock.nanos)) {
      for (int i = 1; i <= 100; i++) {
        clock.advanceMillis(50);                       // 5 s in all, a redraw every 0.1 s at most
        p.update(i);
      }
    }
    String s = err.toString();
    long redraws = s.chars().filter(c -> c == '\r').count();
    assertTrue(redraws >= 30 && redraws <= 45, redraws + " redraws: " + s);
    assertTrue(s.endsWith("\r" + Progress.bar("slow", 100, 100) + System.lineSeparator()), s);
    assertEquals(1, s.chars().filter(c -> c == '\n').count(), "one line, redrawn: " + s);
  }

  @Test
  void elsewhereItPrintsPlainPeriodicLinesWithoutCarriageReturns() {
    StringWriter err = new StringWriter();
    FakeClock clock = new FakeClock();
    try (Progress p = Progress.start(new PrintWriter(err), "epochs", 200, Progress.Style.LINES,
        () -> clock.nanos)) {
      for (int i = 1; i <= 200; i++) {
        clock.advanceMillis(100);                      // 20 s in all
        p.update(i);
      }
    }
    String s = err.toString();
    assertFalse(s.contains("\r"), s);
    long lines = s.lines().count();
    // One after the first second, then one every 5 s, and the last one on close.
    assertTrue(lines >= 4 && lines <= 6, lines + " lines: " + s);
    assertTrue(s.lines().allMatch(l -> l.startsWith("epochs: ")), s);
    assertTrue(s.strip().endsWith("epochs: 200/200 (100%) after 20 s"), s);
  }

  /**
   * A last line that shows what the line before it showed is left out: {@code peer query} whose
   * one request took over a second printed "requests: 1/1 (100%) after 2 s" twice.
   */
  @Test
  void closeAddsNoLineThatRepeatsTheLastOne() {
    StringWriter err = new StringWriter();
    FakeClock clock = new FakeClock();
    try (Progress p = Progress.start(new PrintWriter(err), "requests", 1, Progress.Style.LINES,
        () -> clock.nanos)) {
      clock.advanceMillis(2_000);
      p.update(1);
    }
    assertEquals(Progress.line("requests", 1, 1, 2) + System.lineSeparator(), err.toString());
  }

  @Test
  void noneShowsNothingAndCloseIsIdempotent() {
    StringWriter err = new StringWriter();
    FakeClock clock = new FakeClock();
    Progress p = Progress.start(new PrintWriter(err), "x", 5, Progress.Style.NONE,
        () -> clock.nanos);
    clock.advanceMillis(10_000);
    p.update(5);
    p.close();
    p.close();
    assertEquals("", err.toString());
    assertThrows(IllegalArgumentException.class,
        () -> Progress.start(new PrintWriter(err), "x", 0, Progress.Style.BAR));
  }
}
