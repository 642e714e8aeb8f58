package io.bittensor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.bittensor.core.Keypair;
import io.bittensor.core.Metagraph;
import io.bittensor.core.PeerId;
import io.bittensor.core.PeerState;
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
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The market as separate processes: {@code bittensor ledger serve} and one {@code bittensor
 * neuron run --config FILE} per peer, on loopback, killed and restarted.
 */
class MultiProcessMarketTest {
  /** Blocks per epoch; at a block every 200 ms, an epoch a second. */
  static final int EPOCH_LENGTH = 5;

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

  /** The ledger server's submission log, each line read as JSON (a torn line fails). */
  List<JsonNode> submissionLog() throws IOException {
    return JsonLines.read(dir.resolve("submissions.jsonl"));
  }

  /** Where {@link #startLedger} serves its metrics, if above 0. */
  int ledgerMetricsPort;

  Process startLedger(List<Keypair> keys, int count) throws Exception {
    List<String> args = new ArrayList<>(List.of("ledger", "serve", "--data",
        dir.resolve("ledger").toString(), "--host", "127.0.0.1", "--port",
        Integer.toString(ledgerPort), "--block-ms", "200"));
    if (ledgerMetricsPort > 0) {
      args.addAll(List.of("--metrics-port", Integer.toString(ledgerMetricsPort),
          "--submission-log", dir.resolve("submissions.jsonl").toString()));
    }
    if (count == 1) {
      // Genesis options only when creating the ledger; a restart reopens its journal.
      // An epoch a second: at 1% inflation an epoch the stake of neurons that join seconds
      // apart stays comparable (at 10% the first ones own the market before the last arrive).
      args.addAll(List.of("--epoch-length", Integer.toString(EPOCH_LENGTH),
          "--weights-rate-limit", "0", "--inflation", "0.01", "--immunity-period", "100000"));
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
    return config(i, key, peer, learn, "");
  }

  /** As above, with {@code more} lines of configuration. */
  Path config(int i, Keypair key, String peer, boolean learn, String more) throws IOException {
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
        "warm-up-batches=10",
        "checkpoint-dir=" + dir.resolve("neuron-" + i + ".state"),
        "seed=" + i) + "\n" + more);
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
    throw new AssertionError(what + "; last metagraph: " + (m == null ? "none" : m.peers())
        + "\n" + logTails());
  }

  /** The last lines of every process's log, for a failure message. */
  String logTails() throws IOException {
    StringBuilder out = new StringBuilder();
    try (var files = Files.list(dir)) {
      for (Path log : files.filter(f -> f.toString().endsWith(".log")).sorted().toList()) {
        List<String> lines = Files.readAllLines(log);
        out.append("--- ").append(log.getFileName()).append('\n');
        for (String line : lines.subList(Math.max(0, lines.size() - 12), lines.size())) {
          out.append(line).append('\n');
        }
      }
    }
    return out.toString();
  }

  /** Scrapes {@code /metrics} on {@code port} until its text matches {@code regex}. */
  static String awaitMetrics(int port, String regex) throws Exception {
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    java.util.regex.Pattern want = java.util.regex.Pattern.compile(regex);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    String text = "";
    while (System.nanoTime() < deadline) {
      text = http.send(java.net.http.HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString()).body();
      if (want.matcher(text).find()) {
        return text;
      }
      Thread.sleep(200);
    }
    throw new AssertionError("no " + regex + " in the metrics:\n" + text);
  }

  static double incentive(Metagraph m, PeerId id) {
    return m.incentive().get(m.uid(id).orElseThrow());
  }

  /** The short variant, in the default suite: the ledger and a neuron are killed and come back. */
  @Test
  @Timeout(value = 240, unit = TimeUnit.SECONDS)
  void killingAndRestartingTheLedgerOrANeuronLosesNothing() throws Exception {
    ledgerPort = freePort();
    ledgerMetricsPort = freePort();
    Keypair a = Keypair.generate();
    Keypair b = Keypair.generate();
    Process ledger = startLedger(List.of(a, b), 1);
    int metricsPort = freePort();
    Path ca = config(1, a, "bag-of-words", false, "metrics-port=" + metricsPort + "\n");
    // Neuron 2 audits every block against the chain id, through the ledger's restart too.
    Path cb = config(2, b, "noise", false, "ledger-chain=" + metagraph().chainId().toHex()
        + "\n");
    startNeuron(1, ca, 1);
    Process nb = startNeuron(2, cb, 1);
    awaitLog("neuron-2.log", "every block audited against chain", 1);
    Metagraph before = awaitMetagraph(m -> m.size() == 2 && m.stake(0) > 0 && m.stake(1) > 0,
        "both neurons registered and staked");
    // Neuron 1's metrics: what it synced of the market, its own stake among them.
    awaitLog("neuron-1.log", "metrics on http://127.0.0.1:" + metricsPort + "/metrics", 1);
    String scraped = awaitMetrics(metricsPort, "(?m)^bittensor_ledger_peers 2(\\.0)?$");
    java.util.regex.Matcher stake = java.util.regex.Pattern
        .compile("(?m)^bittensor_neuron_stake ([0-9.E]+)$").matcher(scraped);
    assertTrue(stake.find() && Double.parseDouble(stake.group(1)) >= 500_000, scraped);
    assertTrue(scraped.contains("jvm_threads_live_threads"), scraped);
    // It runs the market's epochs itself rather than being sent what they changed.
    awaitMetrics(metricsPort, "(?m)^bittensor_ledger_epochs_replayed_total [1-9]");
    // The ledger server's: both registrations and stakes among the transactions it sealed.
    String ledgerMetrics = awaitMetrics(ledgerMetricsPort, "(?m)^bittensor_ledger_peers 2(\\.0)?$");
    java.util.regex.Matcher sealed = java.util.regex.Pattern
        .compile("(?m)^bittensor_ledger_transactions_total ([0-9.E]+)$").matcher(ledgerMetrics);
    assertTrue(sealed.find() && Double.parseDouble(sealed.group(1)) >= 2, ledgerMetrics);
    assertTrue(Pattern.compile("(?m)^bittensor_ledger_epochs_total [1-9]").matcher(ledgerMetrics)
        .find(), ledgerMetrics);
    assertTrue(Pattern.compile("(?m)^bittensor_ledger_submissions_total\\{kind=\"Register\","
        + "outcome=\"sealed\"\\} 2(\\.0)?$").matcher(ledgerMetrics).find(), ledgerMetrics);
    // The neurons following it, and the requests it answered: their submits among them.
    assertTrue(Pattern.compile("(?m)^bittensor_ledger_event_streams [1-9]").matcher(ledgerMetrics)
        .find(), ledgerMetrics);
    assertTrue(Pattern.compile("(?m)^bittensor_ledger_requests_seconds_count\\{operation="
        + "\"SUBMIT\",status=\"SUCCESS\"\\} [1-9]").matcher(ledgerMetrics).find(),
        ledgerMetrics);
    // Beside the metrics, the submission log: each neuron's registration, sent by itself.
    List<JsonNode> registered = submissionLog().stream()
        .filter(l -> l.get("kind").asText().equals("register")).toList();
    assertEquals(2, registered.size(), registered::toString);
    for (var line : registered) {
      assertEquals("sealed", line.get("outcome").asText(), line::toString);
      assertEquals(line.get("signer").asText(), line.get("caller").asText(), line::toString);
      assertTrue(line.get("block").asLong() >= 1, line::toString);
    }

    ledger.destroyForcibly().waitFor(20, TimeUnit.SECONDS);   // kill -9: no clean shutdown
    ledgerMetricsPort = freePort(); // the scraped one's last connection may linger
    startLedger(List.of(a, b), 2);
    Metagraph after = awaitMetagraph(m -> m.block().number() > before.block().number(),
        "the restarted ledger goes on");
    assertEquals(2, after.size());
    // Killed with -9 and started again: every line of the log whole (each one write), and the
    // restarted server appending to it.
    assertTrue(submissionLog().size() >= 2);
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
   * The long variant ({@code mvn -B -o -pl bittensor-cli -am test -Dlong
   * -Dtest='MultiProcessMarketTest#aKilled*' -Dsurefire.failIfNoSpecifiedTests=false}): four
   * learning neurons (three bag-of-words peers and a noise peer, each validating the others).
   * Once every one has set a weight row, peer 1 is killed: the others' probes score its failed
   * answers 0, so its incentive falls over the following epochs; restarted, it answers again and
   * its incentive comes back. Then the ledger is killed and restarted, and nothing is lost.
   */
  @Test
  @Tag("long")
  @Timeout(value = 600, unit = TimeUnit.SECONDS)
  void aKilledPeerLosesIncentiveAndARestartedOneRegainsIt() throws Exception {
    ledgerPort = freePort();
    List<Keypair> keys = List.of(Keypair.generate(), Keypair.generate(), Keypair.generate(),
        Keypair.generate());
    PeerId a = keys.get(0).id();
    Process ledger = startLedger(keys, 1);
    List<Path> configs = new ArrayList<>();
    for (int i = 1; i <= 4; i++) {
      configs.add(config(i, keys.get(i - 1), i == 4 ? "noise" : "bag-of-words", true));
    }
    // Started together, they register within a few blocks of each other; each joiner changes
    // the others' routing, which keeps what their probes learned about the rest.
    List<Process> neurons = new ArrayList<>();
    for (int i = 1; i <= 4; i++) {
      neurons.add(launch("neuron-" + i + ".log", "neuron", "run", "--config",
          configs.get(i - 1).toString()));
    }
    for (int i = 1; i <= 4; i++) {
      awaitLog("neuron-" + i + ".log", "serving", 1);
    }
    // Ready: every neuron has set a weight row (after its warm-up, not an interval later).
    awaitMetagraph(m -> m.size() == 4 && m.peers().stream().allMatch(p -> p.lastUpdate() >= 0),
        "every neuron sets a weight row");
    Metagraph earning = awaitMetagraph(m -> incentive(m, a) > 0.15, "peer 1 earns incentive");

    neurons.get(0).destroyForcibly().waitFor(20, TimeUnit.SECONDS);
    List<Double> afterKill = new ArrayList<>();
    Metagraph fallen = awaitMetagraph(m -> {
      if (m.block().number() <= earning.block().number()) {
        return false;
      }
      afterKill.add(incentive(m, a));
      return incentive(m, a) < 0.05;
    }, "peer 1's incentive falls once it is gone");
    long epochsToFall = (fallen.block().number() - earning.block().number()) / EPOCH_LENGTH;
    assertTrue(epochsToFall <= 30, "peer 1's incentive fell from " + incentive(earning, a)
        + " over the following epochs, not " + epochsToFall + ": " + afterKill);

    launch("neuron-1.log", "neuron", "run", "--config", configs.get(0).toString());
    awaitLog("neuron-1.log", "serving", 2);
    // Killed with kill -9, it saved nothing on the way out: what it restores is the checkpoint
    // of its last weight interval, over the same three peers.
    awaitLog("neuron-1.log", "the learner's state (", 1);
    Metagraph back = awaitMetagraph(m -> m.block().number() > fallen.block().number()
        && incentive(m, a) > 0.15, "peer 1's incentive comes back after a restart");
    assertEquals(4, back.size(), "the restarted neuron rejoins under its key, no new uid");
    assertEquals(earning.uid(a), back.uid(a));

    // kill -9 the ledger mid-run: the journal keeps every block the neurons were told of.
    Metagraph beforeCrash = metagraph();
    ledger.destroyForcibly().waitFor(20, TimeUnit.SECONDS);
    startLedger(keys, 2);
    Metagraph afterCrash = awaitMetagraph(m -> m.block().number() > beforeCrash.block().number(),
        "the restarted ledger goes on");
    for (int uid = 0; uid < 4; uid++) {
      PeerState was = beforeCrash.peers().get(uid);
      PeerState is = afterCrash.peers().get(uid);
      assertEquals(was.info(), is.info(), "uid " + uid + " kept its registration");
      assertTrue(is.stake() >= was.stake(), "uid " + uid + " kept its stake");
      assertTrue(is.lastUpdate() >= was.lastUpdate(), "uid " + uid + " kept its weight row");
    }
    awaitMetagraph(m -> m.block().number() > afterCrash.block().number() + 10
        && incentive(m, a) > 0.15, "peer 1 earns on after the ledger's restart");
  }
}
