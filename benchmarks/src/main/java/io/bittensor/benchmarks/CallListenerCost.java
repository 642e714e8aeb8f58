package io.bittensor.benchmarks;

import io.bittensor.core.PeerId;
import io.bittensor.core.Status;
import io.bittensor.transport.CallEvent;
import io.bittensor.transport.CallListener;
import io.bittensor.transport.CallStart;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What a {@code CallListener} adds to each call, alone: the event a server or client makes when a
 * call ends (its clock reading, the record) and the listener's work, here the documentation's
 * Micrometer timer (a tagged timer looked up and recorded), beside {@code CallListener.NONE},
 * which is what a server or client runs without one; and a {@code CallListener.Factory} as the
 * CLI's metrics use one (a listener made at each call's start, counting the calls in flight, with
 * the same timer at its end). Nanoseconds per call; a small call over
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

  @Setup
  public void setUp() {
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
}
