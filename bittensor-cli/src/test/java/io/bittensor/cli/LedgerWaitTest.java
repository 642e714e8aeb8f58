package io.bittensor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.LedgerException;
import io.bittensor.transport.RemoteLedger;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link LedgerWait} alone: a ledger whose host name does not resolve (a Compose or Kubernetes
 * service name not in DNS yet, or a typo) is waited for, but with no limit given only for a
 * while; the full command's waits are {@link NeuronRunLifecycleTest}'s.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LedgerWaitTest {
  private final StringWriter err = new StringWriter();
  private final AtomicInteger tries = new AtomicInteger();

  private static LedgerException unknownHost(String host) {
    return new LedgerException("cannot reach the ledger at http://" + host + ":8092: " + host,
        new UnknownHostException(host));
  }

  /**
   * An unknown host that resolves at the third try is waited for: the command is told once that
   * it waits at most the limit for the name, and connects. Before, it failed at the first try.
   */
  @Test
  void anUnknownHostIsWaitedForUntilItsNameResolves() throws Exception {
    LedgerException unknown = unknownHost("ledger.invalid");
    var connected = LedgerWait.connect(() -> {
      if (tries.incrementAndGet() < 3) {
        throw unknown;
      }
      return null; // connected: the ledger itself is not what this test is about
    }, false, null, ms -> false, new PrintWriter(err), () -> { }, new Random(1));
    assertNull(connected);
    assertEquals(3, tries.get(), err.toString());
    String said = err.toString();
    assertTrue(said.startsWith("the ledger's host is unknown: waiting at most PT2M for its name"
        + " to resolve (--ledger-wait sets another limit)" + System.lineSeparator()
        + "waiting for the ledger: cannot reach the ledger at http://ledger.invalid:8092: "), said);
    assertEquals(said.indexOf("host is unknown"), said.lastIndexOf("host is unknown"),
        "said once: " + said);
  }

  /**
   * With no limit given, hosts that stay unknown are waited for only the unknown-host limit,
   * counted from the first failure; then the last failure ends it.
   */
  @Test
  void hostsThatStayUnknownAreWaitedForOnlyTheirLimit() {
    LedgerException unknown = unknownHost("typo.invalid");
    CountDownLatch never = new CountDownLatch(1);
    long start = System.nanoTime();
    LedgerException e = assertThrows(LedgerException.class, () -> LedgerWait.connect(() -> {
      tries.incrementAndGet();
      throw unknown;
    }, false, null, Duration.ofMillis(300), ms -> never.await(ms, TimeUnit.MILLISECONDS),
        new PrintWriter(err), () -> { }, new Random(1)));
    long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertSame(unknown, e);
    assertTrue(tookMs >= 300, "gave up after " + tookMs + " ms");
    assertTrue(tries.get() >= 2, "tried again: " + err);
    assertTrue(err.toString().contains("waiting at most PT0.3S for its name"), err.toString());
  }

  /**
   * Several servers: all unknown is the unknown-host case; one refused beside them is a server
   * that may come up, waited for without that limit, as a refused one alone.
   */
  @Test
  void onlyServersThatAreAllUnknownAreTheUnknownHostCase() {
    LedgerException all = new LedgerException("cannot reach any of the ledger servers");
    all.addSuppressed(unknownHost("a.invalid"));
    all.addSuppressed(unknownHost("b.invalid"));
    assertTrue(LedgerWait.unknownHosts(all));
    assertTrue(LedgerWait.mayPass(all, false));
    LedgerException mixed = new LedgerException("cannot reach any of the ledger servers");
    mixed.addSuppressed(unknownHost("a.invalid"));
    mixed.addSuppressed(new LedgerException("cannot reach the ledger at http://127.0.0.1:1",
        new ConnectException("Connection refused")));
    assertFalse(LedgerWait.unknownHosts(mixed));
    assertTrue(LedgerWait.mayPass(mixed, true));
  }

  static LongStream seeds() {
    return LongStream.range(0, 50).map(i -> 0x1ed9e7L + i);
  }

  /** 1 s doubling to 30 s, each drawn from half to all of it, as the same generator drew them. */
  @ParameterizedTest
  @MethodSource("seeds")
  void itWaitsOneSecondDoublingToThirtyEachDrawnFromHalfToAll(long seed) throws Exception {
    LedgerException down = new LedgerException("cannot reach the ledger",
        new ConnectException("Connection refused"));
    List<Long> waits = new ArrayList<>();
    RemoteLedger none = LedgerWait.connect(() -> {
      throw down;
    }, false, null, ms -> {
      waits.add(ms);
      return waits.size() == 10; // told to stop at the 10th
    }, new PrintWriter(new StringWriter()), () -> { }, new SplittableRandom(seed));
    assertNull(none);
    SplittableRandom same = new SplittableRandom(seed);
    List<Long> want = new ArrayList<>();
    for (long backoff = 1_000; want.size() < 10; backoff = Math.min(30_000, backoff * 2)) {
      want.add(backoff - same.nextLong(backoff / 2 + 1));
    }
    assertEquals(want, waits, "seed " + seed);
  }
}
