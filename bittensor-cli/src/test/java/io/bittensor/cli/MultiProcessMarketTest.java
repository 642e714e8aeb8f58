package io.bittensor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.Keypair;
import io.bittensor.core.Metagraph;
import io.bittensor.core.PeerId;
import io.bittensor.transport.RemoteLedger;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The market as separate processes: {@code bittensor ledger serve} and one {@code bittensor
 * neuron run --config FILE} per peer, on loopback, killed and restarted.
 */
class MultiProcessMarketTest {
  @TempDir Path dir;
  final List<Process> processes = new ArrayList<>();
  int ledgerPort;

  @AfterEach
  void stopAll() throws InterruptedException {
    for (Process p : processes) {
      p.destroy();
    }
    for (Process p : processes) {
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    }
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  Process launch(String log, String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx512m", "-Djava.awt.headless=true",
        "-cp", System.getProperty("java.class.path"), "io.bittensor.cli.Main"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(log).toFile())).start();
    processes.add(p);
    return p;
  }

  void awaitLog(String log, String text, int count) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    Path file = dir.resolve(log);
    while (System.nanoTime() < deadline) {
      if (Files.exists(file)) {
        String s = Files.readString(file);
        int at = -1;
        int seen = 0;
        while ((at = s.indexOf(text, at + 1)) >= 0) {
          seen++;
        }
        if (seen >= count) {
          return;
        }
      }
      Thread.sleep(100);
    }
    throw new AssertionError("no \"" + text + "\" (x" + count + ") in " + log + ":\n"
        + (Files.exists(file) ? Files.readString(file) : "(no log)"));
  }

  Process startLedger(List<Keypair> keys, int count) throws Exception {
    List<String> args = new ArrayList<>(List.of("ledger", "serve", "--data",
        dir.resolve("ledger").toString(), "--host", "127.0.0.1", "--port",
        Integer.toString(ledgerPort), "--block-ms", "200"));
    if (count == 1) {
      // Genesis options only when creating the ledger; a restart reopens its journal.
      args.addAll(List.of("--epoch-length", "5", "--weights-rate-limit", "0", "--inflation",
          "0.1", "--immunity-period", "100000"));
    }
    for (Keypair k : count == 1 ? keys : List.<Keypair>of()) {
      args.add("--allocate");
      args.add(k.id().toHex() + "=1000000");
    }
    Process p = launch("ledger.log", args.toArray(String[]::new));
    awaitLog("ledger.log", "serving ledger", count);
    return p;
  }

  Path config(int i, Keypair key, String peer, boolean learn) throws IOException {
    Path keyFile = dir.resolve("neuron-" + i + ".key");
    if (!Files.exists(keyFile)) {
      key.save(keyFile);
    }
    Path file = dir.resolve("neuron-" + i + ".properties");
    Files.writeString(file, String.join("\n",
        "key=" + keyFile,
        "ledger=http://127.0.0.1:" + ledgerPort,
        "peer=" + peer,
        "port=" + freePort(),
        "stake=500000",
        "learn=" + learn,
        "weight-interval-ms=1500",
        "sync-interval-ms=500",
        "max-tokens=16",
        "per-era=20",
        "seed=" + i) + "\n");
    return file;
  }

  Process startNeuron(int i, Path config, int count) throws Exception {
    String log = "neuron-" + i + ".log";
    Process p = launch(log, "neuron", "run", "--config", config.toString());
    awaitLog(log, "serving", count);
    return p;
  }

  Metagraph metagraph() throws Exception {
    try (RemoteLedger ledger = RemoteLedger.builder().keypair(Keypair.generate())
        .connect(URI.create("http://127.0.0.1:" + ledgerPort))) {
      return ledger.metagraph();
    }
  }

  Metagraph awaitMetagraph(Predicate<Metagraph> condition, String what) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(150);
    Metagraph m = null;
    while (System.nanoTime() < deadline) {
      try {
        m = metagraph();
        if (condition.test(m)) {
          return m;
        }
      } catch (Exception e) {
        // The ledger may be restarting.
      }
      Thread.sleep(300);
    }
    throw new AssertionError(what + "; last metagraph: " + (m == null ? "none" : m.peers()));
  }

  static double incentive(Metagraph m, PeerId id) {
    return m.incentive().get(m.uid(id).orElseThrow());
  }

  /** The short variant, in the default suite: the ledger and a neuron are killed and come back. */
  @Test
  @Timeout(value = 240, unit = TimeUnit.SECONDS)
  void killingAndRestartingTheLedgerOrANeuronLosesNothing() throws Exception {
    ledgerPort = freePort();
    Keypair a = Keypair.generate();
    Keypair b = Keypair.generate();
    Process ledger = startLedger(List.of(a, b), 1);
    Path ca = config(1, a, "bag-of-words", false);
    Path cb = config(2, b, "noise", false);
    startNeuron(1, ca, 1);
    Process nb = startNeuron(2, cb, 1);
    Metagraph before = awaitMetagraph(m -> m.size() == 2 && m.stake(0) > 0 && m.stake(1) > 0,
        "both neurons registered and staked");

    ledger.destroyForcibly().waitFor(20, TimeUnit.SECONDS);   // kill -9: no clean shutdown
    startLedger(List.of(a, b), 2);
    Metagraph after = awaitMetagraph(m -> m.block().number() > before.block().number(),
        "the restarted ledger goes on");
    assertEquals(2, after.size());
    for (int uid = 0; uid < 2; uid++) {
      assertEquals(before.info(uid), after.info(uid), "uid " + uid + " kept its registration");
      assertTrue(after.stake(uid) >= before.stake(uid), "uid " + uid + " kept its stake");
    }

    nb.destroyForcibly().waitFor(20, TimeUnit.SECONDS);
    startNeuron(2, cb, 2);
    Metagraph rejoined = awaitMetagraph(m -> m.block().number() > after.block().number() + 2,
        "blocks go on");
    assertEquals(2, rejoined.size(), "a restarted neuron rejoins under its key, no new uid");
    assertEquals(after.uid(b.id()), rejoined.uid(b.id()));
  }

  /**
   * The long variant ({@code -Dgroups=long}): learning neurons; a killed peer's incentive falls
   * over the following epochs and comes back after a restart.
   */
  @Test
  @Tag("long")
  @Disabled("not passing yet: on a loaded 2-core machine the learning neurons start tens of"
      + " seconds apart and most never set a row before the kill; needs longer warm-up and"
      + " larger probe data (see the CHANGELOG)")
  @Timeout(value = 600, unit = TimeUnit.SECONDS)
  void aKilledPeerLosesIncentiveAndARestartedOneRegainsIt() throws Exception {
    ledgerPort = freePort();
    Keypair a = Keypair.generate();
    Keypair b = Keypair.generate();
    Keypair c = Keypair.generate();
    Keypair d = Keypair.generate();
    startLedger(List.of(a, b, c, d), 1);
    Path ca = config(1, a, "bag-of-words", true);
    startNeuron(1, ca, 1);
    startNeuron(2, config(2, b, "bag-of-words", true), 1);
    startNeuron(3, config(3, c, "bag-of-words", true), 1);
    startNeuron(4, config(4, d, "noise", true), 1);
    // Two others, each with a third of the honest stake, weigh peer 1 when it answers.
    Metagraph earning = awaitMetagraph(m -> m.size() == 4 && incentive(m, a.id()) > 0.15,
        "peer 1 earns incentive");
    long killedAt = earning.block().number();

    processes.get(1).destroyForcibly().waitFor(20, TimeUnit.SECONDS);
    Metagraph fallen = awaitMetagraph(m -> m.block().number() > killedAt
        && incentive(m, a.id()) < 0.05, "peer 1's incentive falls once it is gone");
    startNeuron(1, ca, 2);
    awaitMetagraph(m -> m.block().number() > fallen.block().number()
        && incentive(m, a.id()) > 0.15, "peer 1's incentive comes back after a restart");
  }
}
