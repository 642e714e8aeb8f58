package io.bittensor.benchmarks;

import io.bittensor.cli.internal.AccessLog;
import io.bittensor.core.PeerId;
import io.bittensor.core.Status;
import io.bittensor.transport.CallEvent;
import io.bittensor.transport.CallListener;
import io.bittensor.transport.CallStart;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What a {@code CallListener} adds to each call, alone: the event a server or client makes when a
 * call ends (its clock reading, the record) and the listener's work, here the documentation's
 * Micrometer timer (a tagged timer looked up and recorded), beside {@code CallListener.NONE},
 * which is what a server or client runs without one; and a {@code CallListener.Factory} as the
 * CLI's metrics use one (a listener made at each call's start, counting the calls in flight, with
 * the same timer at its end); and the CLI's access log ({@code peer serve --access-log}: a line
 * of JSON, one write to a file on disk), with the same line written to {@code /dev/null} (making
 * it, and a system call that stores nothing). Nanoseconds per call; a small call over
 * loopback takes about 90 us on this machine (README, "Performance"), so the listener's share is
 * this figure over that.
 *
 * <pre>
 * java -jar benchmarks/target/benchmarks.jar CallListenerCost
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class CallListenerCost {
  private final MeterRegistry registry = new SimpleMeterRegistry();
  private CallListener timed;
  private CallListener.Factory inFlightAndTimed;
  private final AtomicInteger inFlight = new AtomicInteger();
  private Optional<PeerId> caller;
  private long start;
  private Path logDir;
  private AccessLog logToFile;
  private AccessLog logToNull;

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    logDir = Files.createTempDirectory("call-listener-cost");
    logToFile = AccessLog.open(logDir.resolve("calls.jsonl"));
    logToNull = AccessLog.open(Path.of("/dev/null"));
    timed = call -> registry.timer("bittensor.peer.calls", "side", call.side().name(),
            "kind", call.kind().name(), "status", call.status().name())
        .record(call.duration());
    inFlightAndTimed = begun -> {
      inFlight.incrementAndGet();
      return call -> {
        inFlight.decrementAndGet();
        timed.callEnd(call);
      };
    };
    caller = Optional.of(io.bittensor.core.Keypair.fromSeed(new byte[32]).id());
    start = System.nanoTime();
  }

  /** A server without a listener: its one check. */
  @Benchmark
  public boolean none() {
    return CallListener.NONE == timed;
  }

  /** A server with the documentation's Micrometer listener: the event and the timer. */
  @Benchmark
  public CallEvent micrometerTimer() {
    CallEvent e = new CallEvent(CallEvent.Side.SERVER, CallEvent.Kind.FORWARD, caller,
        Status.SUCCESS, Duration.ofNanos(Math.max(0, System.nanoTime() - start)));
    timed.callEnd(e);
    return e;
  }

  /**
   * A server with a factory: the start record, the call's own listener (counting the calls in
   * flight up), and at the end the event, the count down and the timer.
   */
  @Benchmark
  public CallEvent factoryInFlightAndTimer() {
    CallListener call = inFlightAndTimed.create(
        new CallStart(CallEvent.Side.SERVER, CallEvent.Kind.FORWARD, caller));
    CallEvent e = new CallEvent(CallEvent.Side.SERVER, CallEvent.Kind.FORWARD, caller,
        Status.SUCCESS, Duration.ofNanos(Math.max(0, System.nanoTime() - start)));
    call.callEnd(e);
    return e;
  }

  /** The CLI's access log: the event (its caller proved), its line, one write to a file. */
  @Benchmark
  public CallEvent accessLogToFile() {
    CallEvent e = provedEvent();
    logToFile.callEnd(e);
    return e;
  }

  /** The same line and write, to {@code /dev/null}: what is not the disk's. */
  @Benchmark
  public CallEvent accessLogToDevNull() {
    CallEvent e = provedEvent();
    logToNull.callEnd(e);
    return e;
  }

  private CallEvent provedEvent() {
    return new CallEvent(CallEvent.Side.SERVER, CallEvent.Kind.FORWARD, caller, Status.SUCCESS,
        Duration.ofNanos(Math.max(0, System.nanoTime() - start)), Optional.empty(), caller);
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    logToFile.close();
    logToNull.close();
    Files.deleteIfExists(logDir.resolve("calls.jsonl"));
    Files.deleteIfExists(logDir);
  }
}
