package io.bittensor.benchmarks;

import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Genesis;
import io.bittensor.core.Keypair;
import io.bittensor.core.Ledger;
import io.bittensor.core.LocalLedger;
import io.bittensor.raft.RaftLedger;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * What sealing blocks costs in CPU when no one submits anything: a {@link LocalLedger} on disk
 * (the single machine's ledger) beside a group of three {@link RaftLedger} members on loopback in
 * this JVM, each sealing a block every {@code interval}, and each with no blocks at all (its
 * floor: Raft's heartbeats, the timers). For each it reports the process's CPU time over a
 * measured window, after a warm-up, and the CPU per block above the floor.
 *
 * <pre>
 * mvn -B -q -Pbench -pl benchmarks -am package -DskipTests
 * java -cp benchmarks/target/benchmarks.jar io.bittensor.benchmarks.BlockCpuCost \
 *     [--intervals-ms 5,100] [--warmup-s 8] [--measure-s 20] [--snapshot-every 1000] \
 *     [--election-timeout-ms 150] [--ledgers local,raft3]
 * </pre>
 *
 * <p>{@code --election-timeout-ms} sets the Raft members' election timeout (150 ms by default
 * here, as in the other ledger benchmarks; {@code RaftLedger}'s own default is 1000 ms), which
 * sets how often the leader sends heartbeats, and so the group's floor.
 *
 * <p>Not a JMH benchmark: JMH times calls, and this measures what a ledger costs between them.
 * Each case runs after the previous one closed, in the same JVM, so later cases meet more
 * compiled code; run it twice and read the second, or compare rounds.
 */
public final class BlockCpuCost {
  private BlockCpuCost() {}

  /** Runs every case; see the class comment for the options. */
  public static void main(String[] args) throws Exception {
    List<Integer> intervals = List.of(5, 100);
    int warmup = 8;
    int measure = 20;
    int snapshotEvery = 1000;
    int electionMs = 150;
    List<String> ledgers = List.of("local", "raft3");
    for (int i = 0; i < args.length; i += 2) {
      String value = args[i + 1];
      switch (args[i]) {
        case "--intervals-ms" -> intervals =
            java.util.Arrays.stream(value.split(",")).map(Integer::valueOf).toList();
        case "--warmup-s" -> warmup = Integer.parseInt(value);
        case "--measure-s" -> measure = Integer.parseInt(value);
        case "--snapshot-every" -> snapshotEvery = Integer.parseInt(value);
        case "--election-timeout-ms" -> electionMs = Integer.parseInt(value);
        case "--ledgers" -> ledgers = List.of(value.split(","));
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    Keypair k = Keypair.fromSeed(new byte[32]);
    Genesis genesis = Genesis.builder().chainName("block-cpu")
        .createdAt(Instant.parse("2026-01-01T00:00:00Z")).allocate(k.id(), 1_000_000).build();
    System.out.printf(Locale.ROOT, "%-28s %9s %8s %10s %14s%n", "case", "interval", "blocks",
        "CPU", "CPU per block");
    for (String ledger : ledgers) {
      Result floor = run(ledger, genesis, 0, warmup, measure, snapshotEvery, electionMs);
      print(ledger, 0, floor, null);
      for (int ms : intervals) {
        print(ledger, ms, run(ledger, genesis, ms, warmup, measure, snapshotEvery, electionMs),
            floor);
      }
    }
  }

  private record Result(long blocks, double cpuSeconds, double wallSeconds) {}

  private static void print(String ledger, int ms, Result r, Result floor) {
    String perBlock = floor == null || r.blocks == 0 ? "-"
        : String.format(Locale.ROOT, "%.2f ms",
            1000 * (r.cpuSeconds - floor.cpuSeconds * r.wallSeconds / floor.wallSeconds)
                / r.blocks);
    System.out.printf(Locale.ROOT, "%-28s %9s %8d %9.0f%% %14s%n",
        ledger.equals("local") ? "LocalLedger on disk" : "three RaftLedger members",
        ms == 0 ? "none" : ms + " ms", r.blocks, 100 * r.cpuSeconds / r.wallSeconds, perBlock);
  }

  private static Result run(String ledger, Genesis genesis, int ms, int warmup, int measure,
      int snapshotEvery, int electionMs) throws Exception {
    Path dir = Files.createTempDirectory("block-cpu");
    BlockPolicy policy = ms == 0 ? BlockPolicy.manual() : BlockPolicy.every(Duration.ofMillis(ms));
    List<AutoCloseable> open = new ArrayList<>();
    try {
      Ledger probe;
      if (ledger.equals("local")) {
        LocalLedger l = LocalLedger.builder().genesis(genesis).blocks(policy)
            .snapshotEvery(snapshotEvery).open(dir);
        open.add(l);
        probe = l;
      } else {
        probe = LedgerWorkload.raftGroup(genesis, dir,
            b -> b.blocks(policy).snapshotEvery(snapshotEvery)
                .electionTimeout(Duration.ofMillis(electionMs)), RaftLedger::isLeader, open);
      }
      Thread.sleep(TimeUnit.SECONDS.toMillis(warmup));
      var os = (com.sun.management.OperatingSystemMXBean)
          ManagementFactory.getOperatingSystemMXBean();
      long b0 = probe.metagraph().block().number();
      long c0 = os.getProcessCpuTime();
      long t0 = System.nanoTime();
      Thread.sleep(TimeUnit.SECONDS.toMillis(measure));
      long c1 = os.getProcessCpuTime();
      long t1 = System.nanoTime();
      long b1 = probe.metagraph().block().number();
      return new Result(b1 - b0, (c1 - c0) / 1e9, (t1 - t0) / 1e9);
    } finally {
      for (AutoCloseable c : open) {
        c.close();
      }
      LedgerWorkload.deleteTree(dir);
    }
  }
}
