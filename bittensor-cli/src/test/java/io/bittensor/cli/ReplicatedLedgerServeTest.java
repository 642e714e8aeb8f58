package io.bittensor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.Keypair;
import io.bittensor.core.Modality;
import io.bittensor.core.Receipt;
import io.bittensor.core.Transaction;
import io.bittensor.transport.RemoteLedger;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ledger serve --raft-self ... --raft-member ...}: three members as child processes on
 * loopback, one stopped with SIGTERM while the other two go on, then started again from its
 * folder without the genesis options, catching up; then {@code ledger members} lists the group
 * and takes in a fourth member, which catches up.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ReplicatedLedgerServeTest {
  /** A member's metrics when it leads its group, and when it knows which member does. */
  private static final Pattern LEADS = Pattern.compile("(?m)^bittensor_raft_leader 1(\\.0)?$");
  private static final Pattern KNOWS_A_LEADER =
      Pattern.compile("(?m)^bittensor_raft_leader_known 1(\\.0)?$");

  @TempDir Path dir;

  private static Keypair key(int i) {
    byte[] seed = new byte[32];
    seed[31] = (byte) i;
    seed[0] = 11;
    return Keypair.fromSeed(seed);
  }

  private static int freePort() throws IOException {
    return io.bittensor.core.testing.LoopbackPorts.free(); // outside the ephemeral range
  }

  /** Member {@code i} serves its metrics on {@code metricsPorts[i]}, where given. */
  private int[] metricsPorts = new int[0];

  private Process member(int i, List<String> members, Path log, boolean genesis)
      throws IOException {
    List<String> cmd = ChildCli.command("ledger", "serve", "--data",
        dir.resolve("m" + i).toString(), "--host", "127.0.0.1", "--port", "0", "--block-ms", "100",
        "--raft-self", "m" + i);
    for (String m : members) {
      cmd.add("--raft-member");
      cmd.add(m);
    }
    if (i < metricsPorts.length) {
      cmd.addAll(List.of("--metrics-port", Integer.toString(metricsPorts[i])));
    }
    if (i == 1) {
      // Member 1 keeps its blocks, archiving them at its snapshots; the others keep none.
      cmd.addAll(List.of("--keep-blocks", "--compact-journal", "--archive"));
    }
    if (genesis) {
      cmd.addAll(List.of("--created-at", "2026-12-05T00:00:00Z", "--max-peers", "8",
          "--allocate", key(0).id().toHex() + "=1000",
          "--allocate", key(1).id().toHex() + "=1000",
          "--allocate", key(2).id().toHex() + "=1000"));
    }
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  @Test
  void threeMembersServeOneLedgerAndTwoGoOnWithoutTheThird() throws Exception {
    List<String> members = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      members.add("m" + i + "=127.0.0.1:" + freePort());
    }
    Process[] p = new Process[3];
    Process fourth = null;
    URI[] uri = new URI[3];
    metricsPorts = new int[] {freePort(), freePort(), freePort()};
    try {
      for (int i = 0; i < 3; i++) {
        p[i] = member(i, members, dir.resolve("m" + i + ".log"), true);
      }
      for (int i = 0; i < 3; i++) {
        uri[i] = ServingLogs.awaitServing(p[i], dir.resolve("m" + i + ".log"));
      }
      try (RemoteLedger a = RemoteLedger.connect(uri[0]);
          RemoteLedger c = RemoteLedger.connect(uri[2])) {
        assertEquals(a.chainId(), c.chainId(), "every member makes the same genesis");
        a.submit(key(0), Transaction.register(URI.create("http://peer0:8091"), Modality.TEXT))
            .get(30, TimeUnit.SECONDS);
        Receipt r = c.submit(key(1),
            Transaction.register(URI.create("http://peer1:8091"), Modality.TEXT))
            .get(30, TimeUnit.SECONDS);
        assertTrue(a.awaitBlock(r.block(), Duration.ofSeconds(20)));
        assertEquals(2, a.metagraph().size());
      }
      // Each member's metrics say where it stands: three members, one of which leads.
      awaitOneLeader(0, 1, 2);

      p[0].destroy(); // SIGTERM: one of three stops; two are a majority
      assertTrue(p[0].waitFor(60, TimeUnit.SECONDS), "member 0 did not stop on SIGTERM");
      assertTrue(ServingLogs.read(dir.resolve("m0.log")).contains("closed the ledger"));
      awaitOneLeader(1, 2); // the two left: one of them leads, whichever led before
      long height;
      try (RemoteLedger b = RemoteLedger.connect(uri[1])) {
        Receipt r = b.submit(key(2),
            Transaction.register(URI.create("http://peer2:8091"), Modality.TEXT))
            .get(30, TimeUnit.SECONDS);
        assertTrue(b.awaitBlock(r.block(), Duration.ofSeconds(20)));
        assertEquals(3, b.metagraph().size());
        height = r.block();
      }
      // `ledger show` given every member reads from the first that answers (member 0 is down).
      CliRunner show = CliRunner.run("ledger", "show", "--remote",
          uri[0] + "," + uri[1] + "," + uri[2]);
      assertEquals(0, show.exitCode(), show.err());
      assertEquals(3, show.out().lines().filter(l -> l.contains("http://peer")).count(),
          show.out());

      // Member 1 keeps its blocks: read from its folder while it runs, and audited through it.
      CliRunner blocks = CliRunner.run("ledger", "blocks", "--data",
          dir.resolve("m1").toString(), "--json");
      assertEquals(0, blocks.exitCode(), blocks.err());
      assertTrue(blocks.out().lines().count() >= height, blocks.out());
      String chainId;
      try (RemoteLedger b = RemoteLedger.connect(uri[1])) {
        chainId = b.chainId().toHex();
      }
      CliRunner audit = CliRunner.run("ledger", "audit", "--remote", uri[1].toString(),
          "--chain", chainId, "--to", String.valueOf(height));
      assertEquals(0, audit.exitCode(), audit.err());
      assertTrue(audit.out().contains("blocks 1 to " + height), audit.out());
      // Member 2 does not: both say how to have them.
      CliRunner none = CliRunner.run("ledger", "audit", "--remote", uri[2].toString(),
          "--chain", chainId);
      assertEquals(Main.EXIT_FAILURE, none.exitCode(), none.err());
      assertTrue(none.err().contains("keepBlocks"), none.err());
      CliRunner noFolder = CliRunner.run("ledger", "blocks", "--data",
          dir.resolve("m2").toString());
      assertEquals(Main.EXIT_BAD_INPUT, noFolder.exitCode());
      assertTrue(noFolder.err().contains("--keep-blocks"), noFolder.err());

      // Member 0 comes back from its folder, without the genesis options, and catches up.
      Path log = dir.resolve("m0-again.log");
      p[0] = member(0, members, log, false);
      URI again = ServingLogs.awaitServing(p[0], log);
      try (RemoteLedger a = RemoteLedger.connect(again)) {
        assertTrue(a.awaitBlock(height, Duration.ofSeconds(30)), "member 0 did not catch up");
        assertEquals(3, a.metagraph().size());
      }

      // `ledger members`: the group as it is, then a fourth member taken in.
      String chainFrom = dir.resolve("m1").toString();
      CliRunner list = CliRunner.run("ledger", "members", "--data", chainFrom,
          "--via", members.get(1));
      assertEquals(0, list.exitCode(), list.err());
      assertLeads(list.out(), members);
      List<String> four = new ArrayList<>(members);
      four.add("m3=127.0.0.1:" + freePort());
      Path log3 = dir.resolve("m3.log");
      fourth = member(3, four, log3, true);
      URI uri3 = ServingLogs.awaitServing(fourth, log3);
      List<String> args = new ArrayList<>(List.of("ledger", "members", "--data", chainFrom,
          "--via", members.get(2), "--via", members.get(1)));
      for (String m : four) {
        args.add("--raft-member");
        args.add(m);
      }
      CliRunner change = CliRunner.run(args.toArray(String[]::new));
      assertEquals(0, change.exitCode(), change.err());
      assertTrue(change.out().startsWith("changed the members to [m0, m1, m2, m3]"),
          change.out());
      assertEquals(four, change.out().lines().skip(1).limit(4)
          .map(l -> l.substring(0, l.indexOf("  "))).toList());
      try (RemoteLedger d = RemoteLedger.connect(uri3)) {
        assertTrue(d.awaitBlock(height, Duration.ofSeconds(30)), "member 3 did not catch up");
        assertEquals(3, d.metagraph().size());
      }
    } finally {
      for (Process q : p) {
        if (q != null) {
          q.destroyForcibly();
        }
      }
      if (fourth != null) {
        fourth.destroyForcibly();
      }
    }
  }

  /**
   * {@code ledger members} over the group's TLS says which member leads, each member's role, term
   * and applied index; with two of three members stopped, that none leads and why, naming the
   * two that did not answer. Members in this JVM, the member files of bittensor-raft's tests.
   */
  @Test
  void membersSaysWhichMemberLeadsAndWhenNoneDoes() throws Exception {
    Path tls = Path.of("..", "bittensor-raft", "src", "test", "resources", "tls");
    List<String> raftTls = List.of("--raft-tls", tls.resolve("member.key").toString(),
        tls.resolve("member.pem").toString(), tls.resolve("ca.pem").toString());
    List<String> members = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      members.add("m" + i + "=127.0.0.1:" + freePort());
    }
    ServingCli[] serving = new ServingCli[3];
    try {
      for (int i = 0; i < 3; i++) {
        List<String> args = new ArrayList<>(List.of("ledger", "serve", "--data",
            dir.resolve("m" + i).toString(), "--host", "127.0.0.1", "--port", "0",
            "--raft-self", "m" + i, "--created-at", "2026-12-05T00:00:00Z"));
        members.forEach(m -> args.addAll(List.of("--raft-member", m)));
        args.addAll(raftTls);
        serving[i] = ServingCli.embedded(Pattern.compile(" at (http://\\S+) \\(block "),
            args.toArray(String[]::new));
      }
      List<String> ask = new ArrayList<>(List.of("ledger", "members", "--data",
          dir.resolve("m0").toString(), "--via", members.get(0)));
      ask.addAll(raftTls);
      // Settled once every member has the leader's first entry of its term: a follower's term is
      // its log's latest entry's, the one before until that entry reaches it.
      String listed = awaitLines(ask, "a leader every member follows in its term", lines -> {
        java.util.regex.Matcher led = Pattern.compile(" leads, in term (\\d+)$")
            .matcher(lines.get(lines.size() - 1));
        return led.find() && lines.subList(0, lines.size() - 1).stream()
            .allMatch(l -> l.contains("  term " + led.group(1) + "  "));
      });
      int leader = assertLeads(listed, members);

      // The leader and another stop: the one left answers, and leads no more.
      int left = (leader + 1) % 3;
      for (int i = 0; i < 3; i++) {
        if (i != left) {
          assertEquals(0, serving[i].interruptAndAwaitExit(), serving[i].err.toString());
          serving[i] = null;
        }
      }
      ask.set(ask.indexOf(members.get(0)), members.get(left));
      listed = awaitLines(ask, "a last line \"no member leads: \"",
          lines -> lines.get(lines.size() - 1).contains("no member leads: "));
      List<String> lines = listed.lines().toList();
      assertEquals("no member leads: only 1 of 3 members answered, fewer than the 2 a leader"
          + " needs: start the members that are down, and check that they reach each other's"
          + " Raft ports", lines.get(3), listed);
      for (int i = 0; i < 3; i++) {
        assertTrue(lines.get(i).startsWith(members.get(i) + "  "
            + (i == left ? "" : "unreachable: ")), listed);
      }
      assertFalse(lines.get(left).contains("leader"), listed);
      CliRunner noTls = CliRunner.run(ask.subList(0, 6).toArray(String[]::new));
      assertEquals(Main.EXIT_FAILURE, noTls.exitCode(), noTls.out());
      assertTrue(noTls.err().contains("--raft-tls KEY CERT CA"), noTls.err());
    } finally {
      for (ServingCli s : serving) {
        if (s != null) {
          s.interruptAndAwaitExit();
        }
      }
    }
  }

  /**
   * Runs {@code ledger members} until the lines it prints are {@code settled} (a group settles: a
   * leader is elected and followed, or a leader cut off steps down); what it printed then.
   */
  private static String awaitLines(List<String> args, String settledMeans,
      java.util.function.Predicate<List<String>> settled) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    CliRunner run;
    do {
      run = CliRunner.run(args.toArray(String[]::new));
      assertEquals(0, run.exitCode(), run.err());
      if (settled.test(run.out().lines().toList())) {
        return run.out();
      }
      Thread.sleep(100);
    } while (System.nanoTime() < deadline);
    throw new AssertionError("ledger members did not show " + settledMeans + " in 60 s: "
        + run.out());
  }

  /**
   * Checks what {@code ledger members} printed of a healthy group: a line a member, in order,
   * one the leader and the others followers in its term, then the line that names the leader;
   * returns the leader's index.
   */
  private static int assertLeads(String printed, List<String> members) {
    List<String> lines = printed.lines().toList();
    assertEquals(members.size() + 1, lines.size(), printed);
    java.util.regex.Matcher last = Pattern.compile("m(\\d+) leads, in term (\\d+)")
        .matcher(lines.get(members.size()));
    assertTrue(last.matches(), printed);
    int leader = Integer.parseInt(last.group(1));
    for (int i = 0; i < members.size(); i++) {
      assertTrue(lines.get(i).matches(Pattern.quote(members.get(i)) + "  "
          + (i == leader ? "leader" : "follower") + "  term " + last.group(2)
          + "  applied -?\\d+"), printed);
    }
    return leader;
  }

  /**
   * Scrapes the metrics of {@code running} members until every one knows a leader and counts
   * three members, and exactly one of them says it leads.
   */
  private void awaitOneLeader(int... running) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    String last = "";
    while (System.nanoTime() < deadline) {
      int leaders = 0;
      boolean settled = true;
      StringBuilder seen = new StringBuilder();
      for (int i : running) {
        String text = MultiProcessMarketTest.awaitMetrics(metricsPorts[i],
            "(?m)^bittensor_raft_members 3(\\.0)?$");
        settled &= KNOWS_A_LEADER.matcher(text).find();
        leaders += LEADS.matcher(text).find() ? 1 : 0;
        text.lines().filter(l -> l.startsWith("bittensor_raft_"))
            .forEach(l -> seen.append("m").append(i).append(' ').append(l).append('\n'));
      }
      if (settled && leaders == 1) {
        return;
      }
      last = seen.toString();
      Thread.sleep(200);
    }
    throw new AssertionError("not one leader among members " + java.util.Arrays.toString(running)
        + ":\n" + last);
  }

  /**
   * A member that keeps its blocks, killed with SIGKILL three times while blocks are sealed
   * every 100 ms and transactions flow, comes back each time from its folder: in the end it reads
   * back every block once, the blocks another member's client heard, and they audit from
   * genesis.
   */
  @Test
  void aMemberThatKeepsItsBlocksLosesNoneToSigkill() throws Exception {
    killTheMemberThatKeepsBlocks(3);
  }

  /**
   * The long variant ({@code mvn -B -o -pl bittensor-cli -am test -Dlong
   * -Dtest='ReplicatedLedgerServeTest#thirty*' -Dsurefire.failIfNoSpecifiedTests=false}): thirty
   * kills.
   */
  @Test
  @Tag("long")
  @Timeout(value = 1200, unit = TimeUnit.SECONDS)
  void thirtySigkillsOfAMemberThatKeepsItsBlocksLoseNone() throws Exception {
    killTheMemberThatKeepsBlocks(30);
  }

  private void killTheMemberThatKeepsBlocks(int kills) throws Exception {
    java.util.SplittableRandom random = new java.util.SplittableRandom(kills);
    List<String> members = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      members.add("m" + i + "=127.0.0.1:" + freePort());
    }
    Process[] p = new Process[3];
    try {
      URI[] uri = new URI[3];
      for (int i = 0; i < 3; i++) {
        p[i] = member(i, members, dir.resolve("m" + i + ".log"), true);
      }
      for (int i = 0; i < 3; i++) {
        uri[i] = ServingLogs.awaitServing(p[i], dir.resolve("m" + i + ".log"));
      }
      java.util.Map<Long, io.bittensor.core.Block> heard =
          new java.util.concurrent.ConcurrentHashMap<>();
      try (RemoteLedger a = RemoteLedger.connect(uri[0])) {
        a.subscribe(new io.bittensor.core.LedgerListener() {
          @Override
          public void onBlock(io.bittensor.core.Block block, io.bittensor.core.Metagraph after) {
            heard.put(block.number(), block);
          }
        });
        a.submit(key(0), Transaction.register(URI.create("http://peer0:8091"), Modality.TEXT))
            .get(30, TimeUnit.SECONDS);
        for (int cycle = 0; cycle < kills; cycle++) {
          a.submit(key(1), Transaction.transfer(key(2).id(), 1 + cycle)).get(30, TimeUnit.SECONDS);
          Thread.sleep(random.nextInt(300)); // so that kills land anywhere in a block's work
          p[1].destroyForcibly(); // SIGKILL: no shutdown hook, no closing
          assertTrue(p[1].waitFor(30, TimeUnit.SECONDS));
          a.submit(key(2), Transaction.transfer(key(1).id(), 1)).get(30, TimeUnit.SECONDS);
          Path log = dir.resolve("m1-" + cycle + ".log");
          p[1] = member(1, members, log, false);
          uri[1] = ServingLogs.awaitServing(p[1], log);
        }
        long height = a.metagraph().block().number();
        try (RemoteLedger b = RemoteLedger.connect(uri[1])) {
          assertTrue(b.awaitBlock(height, Duration.ofSeconds(30)), "member 1 caught up");
          List<io.bittensor.core.Block> read = new ArrayList<>();
          b.readBlocks(1, height, r -> read.add(r.block()));
          assertEquals(height, read.size(), "every block once");
          for (int i = 0; i < read.size(); i++) {
            assertEquals(i + 1, read.get(i).number());
            io.bittensor.core.Block other = heard.get(read.get(i).number());
            if (other != null) {
              assertEquals(other, read.get(i), "the block member 0's client heard");
            }
          }
          assertTrue(heard.size() >= height / 2, "compared " + heard.size() + " blocks");
          assertEquals(height,
              io.bittensor.core.ChainAudit.verify(a.chainId(), b, height).last().number());
        }
      }
    } finally {
      for (Process q : p) {
        if (q != null) {
          q.destroyForcibly();
        }
      }
    }
  }

  @Test
  void membersRefusesBadInputNamingIt() {
    CliRunner noChain = CliRunner.run("ledger", "members", "--via", "a=127.0.0.1:9");
    assertEquals(Main.EXIT_BAD_INPUT, noChain.exitCode());
    assertTrue(noChain.err().contains("--data DIR"), noChain.err());
    CliRunner badVia = CliRunner.run("ledger", "members", "--chain", "00".repeat(32),
        "--via", "a=nowhere");
    assertEquals(Main.EXIT_BAD_INPUT, badVia.exitCode());
    assertTrue(badVia.err().contains("--via a=nowhere"), badVia.err());
    CliRunner notAMember = CliRunner.run("ledger", "members", "--data",
        dir.resolve("none").toString(), "--via", "a=127.0.0.1:9");
    assertEquals(Main.EXIT_BAD_INPUT, notAMember.exitCode());
    assertTrue(notAMember.err().contains("holds no ledger member"), notAMember.err());
    CliRunner badChain = CliRunner.run("ledger", "members", "--chain", "xyz",
        "--via", "a=127.0.0.1:9");
    assertEquals(Main.EXIT_BAD_INPUT, badChain.exitCode());
  }

  @Test
  void serveRefusesAnIncompleteGroup() {
    String data = dir.resolve("m").toString();
    CliRunner noMembers = CliRunner.run("ledger", "serve", "--data", data, "--raft-self", "a");
    assertEquals(Main.EXIT_BAD_INPUT, noMembers.exitCode());
    assertTrue(noMembers.err().contains("--raft-member ID=HOST:PORT"), noMembers.err());

    CliRunner keepAlone = CliRunner.run("ledger", "serve", "--data", data, "--keep-blocks");
    assertEquals(Main.EXIT_BAD_INPUT, keepAlone.exitCode());
    assertTrue(keepAlone.err().contains("--keep-blocks is for a replicated member"),
        keepAlone.err());

    CliRunner noSelf = CliRunner.run("ledger", "serve", "--data", data,
        "--raft-member", "a=127.0.0.1:9871");
    assertEquals(Main.EXIT_BAD_INPUT, noSelf.exitCode());
    assertTrue(noSelf.err().contains("needs --raft-self"), noSelf.err());

    CliRunner noTime = CliRunner.run("ledger", "serve", "--data", data, "--raft-self", "a",
        "--raft-member", "a=127.0.0.1:9871");
    assertEquals(Main.EXIT_BAD_INPUT, noTime.exitCode());
    assertTrue(noTime.err().contains("--created-at"), noTime.err());

    CliRunner badAddress = CliRunner.run("ledger", "serve", "--data", data, "--raft-self", "a",
        "--raft-member", "a=127.0.0.1", "--created-at", "2026-12-05T00:00:00Z");
    assertEquals(Main.EXIT_BAD_INPUT, badAddress.exitCode());
    assertTrue(badAddress.err().contains("HOST:PORT"), badAddress.err());

    CliRunner stranger = CliRunner.run("ledger", "serve", "--data", data, "--raft-self", "b",
        "--raft-member", "a=127.0.0.1:9871", "--created-at", "2026-12-05T00:00:00Z");
    assertEquals(Main.EXIT_BAD_INPUT, stranger.exitCode());
    assertTrue(stranger.err().contains("not among the members"), stranger.err());

    CliRunner tlsAlone = CliRunner.run("ledger", "serve", "--data", data,
        "--raft-tls", "k.pem", "c.pem", "ca.pem");
    assertEquals(Main.EXIT_BAD_INPUT, tlsAlone.exitCode());
    assertTrue(tlsAlone.err().contains("--raft-tls is for a replicated ledger"), tlsAlone.err());

    CliRunner timeoutAlone = CliRunner.run("ledger", "serve", "--data", data,
        "--raft-timeout", "2000");
    assertEquals(Main.EXIT_BAD_INPUT, timeoutAlone.exitCode());
    assertTrue(timeoutAlone.err().contains("--raft-timeout is for a replicated ledger"),
        timeoutAlone.err());
    CliRunner zeroTimeout = CliRunner.run("ledger", "serve", "--data", data, "--raft-self",
        "a", "--raft-member", "a=127.0.0.1:9871", "--created-at", "2026-12-05T00:00:00Z",
        "--raft-timeout", "0");
    assertEquals(Main.EXIT_BAD_INPUT, zeroTimeout.exitCode());
    assertTrue(zeroTimeout.err().contains("--raft-timeout must be >= 1, was 0"),
        zeroTimeout.err());

    CliRunner compacting = CliRunner.run("ledger", "serve", "--data", data, "--raft-self", "a",
        "--raft-member", "a=127.0.0.1:9871", "--created-at", "2026-12-05T00:00:00Z",
        "--compact-journal");
    assertEquals(Main.EXIT_BAD_INPUT, compacting.exitCode());
    assertTrue(compacting.err().contains("--compact-journal --archive is for the blocks it"
        + " keeps, with --keep-blocks"), compacting.err());

    CliRunner tlsMissing = CliRunner.run("ledger", "serve", "--data", data, "--raft-self", "a",
        "--raft-member", "a=127.0.0.1:9871", "--created-at", "2026-12-05T00:00:00Z",
        "--raft-tls", dir.resolve("k.pem").toString(), "c.pem", "ca.pem");
    assertEquals(Main.EXIT_BAD_INPUT, tlsMissing.exitCode());
    assertTrue(tlsMissing.err().contains("no such file: " + dir.resolve("k.pem")),
        tlsMissing.err());

    CliRunner tlsShort = CliRunner.run("ledger", "serve", "--data", data, "--raft-self", "a",
        "--raft-member", "a=127.0.0.1:9871", "--raft-tls", "k.pem", "c.pem");
    assertEquals(Main.EXIT_BAD_INPUT, tlsShort.exitCode());

    CliRunner badTime = CliRunner.run("ledger", "serve", "--data", data, "--raft-self", "a",
        "--raft-member", "a=127.0.0.1:9871", "--created-at", "yesterday");
    assertEquals(Main.EXIT_BAD_INPUT, badTime.exitCode());
    assertTrue(badTime.err().contains("--created-at takes an instant"), badTime.err());
  }

  @Test
  void aClientOfAMemberWithoutAMajorityHearsWhy() throws Exception {
    List<String> members = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      members.add("m" + i + "=127.0.0.1:" + freePort());
    }
    Path log = dir.resolve("m0.log");
    Process alone = member(0, members, log, true); // m1 and m2 never start
    try {
      URI uri = ServingLogs.awaitServing(alone, log);
      // The client's own timeout is the default, 10 s: the member's 5 s ends first, and its
      // reason reaches the client instead of "cannot reach the ledger".
      try (RemoteLedger client = RemoteLedger.connect(uri)) {
        long start = System.nanoTime();
        io.bittensor.core.LedgerException e = org.junit.jupiter.api.Assertions.assertThrows(
            io.bittensor.core.LedgerException.class, () -> client.account(key(0).id()));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(e.getMessage().contains("took longer than 5000 ms: is a majority of the group"
            + " up?"), e.getMessage());
        assertTrue(ms >= 4_000 && ms < 10_000, ms + " ms");
      }
    } finally {
      alone.destroyForcibly();
      alone.waitFor(30, TimeUnit.SECONDS);
    }
  }

  /**
   * The command that made a member, run again as it was (genesis options and all), reopens the
   * member rather than refusing the options. (It was tested with the HTTP port taken, which
   * ended the first run after the member was made; a taken port is now found before.)
   */
  @Test
  void aMembersFirstCommandRunAgainReopensItsFolder() throws Exception {
    String data = dir.resolve("member").toString();
    int raftPort = freePort();
    java.util.function.Function<String, String[]> serve = createdAt -> new String[] {
        "ledger", "serve", "--data", data, "--host", "127.0.0.1", "--port", "0",
        "--raft-self", "a", "--raft-member", "a=127.0.0.1:" + raftPort, "--tau", "5",
        "--created-at", createdAt};
    for (int run = 0; run < 2; run++) {
      ServingCli serving = ServingCli.embedded(java.util.regex.Pattern.compile(
          " at (http://\\S+) \\(block "), serve.apply("2026-12-05T00:00:00Z"));
      assertEquals(0, serving.interruptAndAwaitExit(), serving.out + "\n" + serving.err);
      assertTrue(io.bittensor.raft.RaftLedger.holdsMember(Path.of(data)), "run " + run);
      // The block printed is the copy's as it opens, before Ratis replays the log: said so.
      assertTrue(serving.out.toString().contains("member a of [a]: it catches up with the group"
          + " from block "), serving.out.toString());
    }
    CliRunner other = CliRunner.run(serve.apply("2026-12-06T00:00:00Z"));
    assertEquals(Main.EXIT_FAILURE, other.exitCode(), other.err());
    assertTrue(other.err().contains("holds chain"), other.err());
    CliRunner noInstant = CliRunner.run("ledger", "serve", "--data", data, "--raft-self", "a",
        "--raft-member", "a=127.0.0.1:" + raftPort, "--tau", "5");
    assertEquals(Main.EXIT_BAD_INPUT, noInstant.exitCode(), noInstant.err());
    assertTrue(noInstant.err().contains("already holds a member"), noInstant.err());
  }

  /**
   * A ledger of one machine and a member's folder are not taken for each other: each used to be
   * served as the other kind, a new chain made beside the old one (the member's genesis without
   * the allocations of the ledger {@code ledger init} made, or a default ledger in a member's
   * folder that clients of the group then reached).
   */
  @Test
  void aLedgerOfOneMachineAndAMembersFolderAreNotTakenForEachOther() throws Exception {
    Path single = dir.resolve("single");
    CliRunner init = CliRunner.run("ledger", "init", "--data", single.toString(),
        "--allocate", key(0).id().toHex() + "=10");
    assertEquals(0, init.exitCode(), init.err());
    CliRunner asMember = CliRunner.run("ledger", "serve", "--data", single.toString(),
        "--port", "0", "--raft-self", "a", "--raft-member", "a=127.0.0.1:" + freePort(),
        "--created-at", "2026-12-05T00:00:00Z");
    assertEquals(Main.EXIT_BAD_INPUT, asMember.exitCode(), asMember.out());
    assertTrue(asMember.err().contains("--data " + single + " holds a ledger of one machine"
        + " (journal.btl), not a member"), asMember.err());
    assertFalse(io.bittensor.raft.RaftLedger.holdsMember(single), "no member made there");

    Path member = dir.resolve("member");
    ServingCli serving = ServingCli.embedded(java.util.regex.Pattern.compile(
        " at (http://\\S+) \\(block "), "ledger", "serve", "--data", member.toString(),
        "--host", "127.0.0.1", "--port", "0", "--raft-self", "a",
        "--raft-member", "a=127.0.0.1:" + freePort(), "--created-at", "2026-12-05T00:00:00Z");
    assertEquals(0, serving.interruptAndAwaitExit(), serving.out + "\n" + serving.err);
    for (String command : List.of("serve --port 0", "init")) {
      List<String> args = new ArrayList<>(List.of("ledger", "--data", member.toString()));
      args.addAll(1, List.of(command.split(" ")));
      CliRunner alone = CliRunner.run(args.toArray(String[]::new));
      assertEquals(Main.EXIT_BAD_INPUT, alone.exitCode(), command + ": " + alone.out());
      assertTrue(alone.err().contains("--data " + member + " holds a replicated ledger's member"
          + " (genesis.btg): serve it with --raft-self"), command + ": " + alone.err());
      assertFalse(Files.exists(member.resolve("journal.btl")), command + ": no ledger made");
    }
  }

  /**
   * A member's folder, and the folder in it where the member keeps its blocks, given to {@code
   * ledger serve} without the Raft options: refused, exit 2, before anything is opened. The
   * blocks folder was served as a ledger of one machine, which sealed blocks of its own into the
   * member's copy of the ledger; and a --submission-log was created before a refusal. {@code
   * ledger init} and {@code ledger compact} refuse the blocks folder too: compact rewrote it.
   */
  @Test
  void aMembersFolderAndItsKeptBlocksAreRefusedWithoutTheRaftOptionsChangingNothing()
      throws Exception {
    Path member = dir.resolve("member");
    String raft = "a=127.0.0.1:" + freePort();
    ServingCli serving = ServingCli.embedded(Pattern.compile(" at (http://\\S+) \\(block "),
        "ledger", "serve", "--data", member.toString(), "--host", "127.0.0.1", "--port", "0",
        "--raft-self", "a", "--raft-member", raft, "--created-at", "2026-12-05T00:00:00Z",
        "--keep-blocks");
    assertEquals(0, serving.interruptAndAwaitExit(), serving.out + "\n" + serving.err);
    Path blocks = io.bittensor.raft.RaftLedger.blocksFolder(member);
    assertTrue(Files.exists(blocks.resolve("journal.btl")), "the member kept its blocks");
    java.util.Map<Path, String> before = tree(member);
    Path log = dir.resolve("submissions.jsonl");

    String keptBlocks = "--data " + blocks + " holds the blocks that the replicated ledger's"
        + " member in " + member.toAbsolutePath() + " keeps, which only that member writes";
    List<List<String>> refused = List.of(
        List.of("ledger", "serve", "--data", blocks.toString(), "--port", "0",
            "--submission-log", log.toString()),
        List.of("ledger", "init", "--data", blocks.toString()),
        List.of("ledger", "compact", "--data", blocks.toString()),
        List.of("ledger", "compact", "--data", blocks.toString(), "--archive"),
        List.of("ledger", "serve", "--data", blocks.toString(), "--port", "0",
            "--raft-self", "a", "--raft-member", raft),
        List.of("ledger", "serve", "--data", member.toString(), "--port", "0",
            "--submission-log", log.toString()));
    for (List<String> args : refused) {
      CliRunner run = runBounded(args);
      assertEquals(Main.EXIT_BAD_INPUT, run.exitCode(), args + ": " + run.out() + run.err());
      String expected = args.contains(member.toString())
          ? "--data " + member + " holds a replicated ledger's member (genesis.btg)" : keptBlocks;
      assertTrue(run.err().contains(expected), args + ": " + run.err());
      assertEquals(args.contains("compact"), run.err().contains("; the member compacts them"
          + " itself when served with --keep-blocks --compact-journal --archive"), run.err());
      assertEquals(before, tree(member), args + " changed the member's folder");
      assertFalse(Files.exists(log), args + " created " + log);
    }
  }

  /**
   * Runs the command line as {@link CliRunner#run}, but fails, rather than hangs, when the
   * command serves instead of ending within 30 s.
   */
  private static CliRunner runBounded(List<String> args) throws InterruptedException {
    java.util.concurrent.atomic.AtomicReference<CliRunner> ran =
        new java.util.concurrent.atomic.AtomicReference<>();
    Thread t = new Thread(() -> ran.set(CliRunner.run(args.toArray(String[]::new))), "cli");
    t.start();
    t.join(TimeUnit.SECONDS.toMillis(30));
    if (t.isAlive()) {
      t.interrupt(); // how an embedded serve stops
      t.join(TimeUnit.SECONDS.toMillis(30));
      throw new AssertionError(args + " served instead of refusing the folder");
    }
    return ran.get();
  }

  /** Every file under {@code root}, its path to its size and last change, to compare. */
  private static java.util.Map<Path, String> tree(Path root) throws IOException {
    java.util.Map<Path, String> out = new java.util.TreeMap<>();
    try (java.util.stream.Stream<Path> files = Files.walk(root)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        out.put(root.relativize(f), Files.isDirectory(f) ? "folder"
            : Files.size(f) + " bytes, " + Files.getLastModifiedTime(f));
      }
    }
    return out;
  }

  @Test
  void aRaftPortTakenIsAFailureNotTheEndOfTheJvm() throws Exception {
    // In process: before RaftLedger switched Ratis' exits off, this ended the test JVM.
    try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 50,
        java.net.InetAddress.getLoopbackAddress())) {
      String address = "127.0.0.1:" + taken.getLocalPort();
      CliRunner run = CliRunner.run("ledger", "serve", "--data", dir.resolve("taken").toString(),
          "--host", "127.0.0.1", "--port", "0", "--raft-self", "a", "--raft-member",
          "a=" + address, "--created-at", "2026-12-05T00:00:00Z");
      assertEquals(Main.EXIT_FAILURE, run.exitCode(), run.err());
      assertTrue(run.err().contains("could not listen on " + address), run.err());
      assertTrue(run.err().contains("Address already in use"), run.err()); // Ratis' reason
    }
  }
}
