package io.bittensor.benchmarks;

import io.bittensor.core.internal.Deadlines;
import java.lang.management.ManagementFactory;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * What a call's deadline costs when the call answers in time, as every served request and every
 * {@code forward(request, timeout)} does: {@link Deadlines#bound} (our timer) beside {@code
 * CompletableFuture.completeOnTimeout} (the JDK's, what a user would write) and no deadline at
 * all. Calls come 50 us apart, spinning in between, as requests do: a timer thread then parks
 * between calls, which a back-to-back loop (JMH's way) would hide. Each call puts a 2 s deadline
 * on a future, completes the future and reads the result. Printed per call: the time on the
 * calling thread, and the CPU the process spent beyond the wall time (the timer thread's work and
 * the wake-ups), for each round; the first round is warm-up.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar io.bittensor.benchmarks.DeadlineCost
 * [rounds]} (default 5).
 */
public final class DeadlineCost {
  private static final int CALLS = 20_000;
  private static final long GAP_NANOS = 50_000;
  private static final long TIMEOUT_MS = 2_000;
  private static volatile long sink;

  private DeadlineCost() {}

  public static void main(String[] args) {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    String[] ways = {"no deadline", "completeOnTimeout", "Deadlines.bound"};
    for (int round = 0; round < rounds; round++) {
      for (int way = 0; way < ways.length; way++) {
        long onCaller = 0;
        long cpu0 = os.getProcessCpuTime();
        long wall0 = System.nanoTime();
        for (int i = 0; i < CALLS; i++) {
          spin(GAP_NANOS);
          long t0 = System.nanoTime();
          CompletableFuture<String> call = new CompletableFuture<>();
          CompletableFuture<String> answer = switch (way) {
            case 0 -> call.thenApply(r -> r);
            case 1 -> call.thenApply(r -> r)
                .completeOnTimeout("late", TIMEOUT_MS, TimeUnit.MILLISECONDS);
            default -> Deadlines.bound(call, TIMEOUT_MS, "late");
          };
          call.complete("answer");
          if (!"answer".equals(answer.join())) {
            throw new IllegalStateException("a 2 s deadline fired");
          }
          onCaller += System.nanoTime() - t0;
        }
        long wall = System.nanoTime() - wall0;
        long cpu = os.getProcessCpuTime() - cpu0;
        System.out.printf(Locale.ROOT, "round %d %-18s %6.2f us a call on the caller, %6.2f us"
            + " of CPU elsewhere%n", round, ways[way], onCaller / 1e3 / CALLS,
            (cpu - wall) / 1e3 / CALLS);
      }
    }
  }

  private static void spin(long nanos) {
    long end = System.nanoTime() + nanos;
    long x = 0;
    while (System.nanoTime() < end) {
      x++;
    }
    sink = x;
  }
}
