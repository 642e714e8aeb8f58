package io.bittensor.raft;

import static io.bittensor.core.testing.LedgerFixtures.endpoint;
import static io.bittensor.core.testing.LedgerFixtures.genesis;
import static io.bittensor.core.testing.LedgerFixtures.key;
import static io.bittensor.core.testing.LedgerFixtures.params;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.Block;
import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Genesis;
import io.bittensor.core.Hash256;
import io.bittensor.core.LedgerException;
import io.bittensor.core.Modality;
import io.bittensor.core.Receipt;
import io.bittensor.core.Transaction;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@link RaftAdmin}: an operator outside the group reads and changes its members. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RaftAdminTest {
  @TempDir Path dir;

  @Test
  void anAdministratorOutsideTheGroupReadsItsMembersAndTakesInANewOne() throws Exception {
    Genesis g = genesis(params(8), 4);
    try (Cluster c = new Cluster(dir, 3, g, null, BlockPolicy.manual()).start()) {
      int leader = c.leader();
      int follower = (leader + 1) % 3;
      Map<String, InetSocketAddress> four = c.plus("m3");
      Map<String, InetSocketAddress> three = new LinkedHashMap<>(four);
      three.remove("m3");
      // Through a follower only, the chain read from its folder (while it runs).
      try (RaftAdmin admin = RaftAdmin.builder().chainOf(c.dirs.get(follower))
              .contact(c.ids.get(follower), c.addresses.get(follower)).build();
          RaftLedger fourth = c.openNewMember(dir, "m3", four)) {
        assertEquals(three.keySet(), admin.members().keySet());
        assertEquals(c.addresses.get(leader).getPort(),
            admin.members().get(c.ids.get(leader)).getPort());
        admin.changeMembers(four);
        assertEquals(four.keySet(), admin.members().keySet());
        assertEquals(four.keySet(), c.members[leader].members().keySet(),
            "the leader applied the change");
        c.members[leader].submit(key(0), Transaction.register(endpoint(0), Modality.TEXT));
        Block sealed = c.members[leader].produceBlock();
        Cluster.awaitTrue(() -> fourth.metagraph().block().number() == sealed.number(),
            "the new member caught up");
        assertEquals(c.members[leader].stateHash(), fourth.stateHash());
      }
    }
  }

  /**
   * {@link RaftAdmin#status} asks each member where it stands: one leads, the others follow it
   * in its term, and all have applied the same log entries once they keep up, more after a block.
   */
  @Test
  void theStatusNamesTheLeaderAndEachMembersRoleTermAndAppliedIndex() throws Exception {
    Genesis g = genesis(params(8), 4);
    try (Cluster c = new Cluster(dir, 3, g, null, BlockPolicy.manual()).start()) {
      int follower = (c.leader() + 1) % 3;
      c.members[0].submit(key(0), Transaction.register(endpoint(0), Modality.TEXT));
      c.awaitHeight(c.members[0].produceBlock().number());
      try (RaftAdmin admin = RaftAdmin.builder().chainOf(c.dirs.get(follower))
          .contact(c.ids.get(follower), c.addresses.get(follower)).build()) {
        GroupStatus s = statusOnceAllApplied(admin, c, 0);
        int leader = c.ids.indexOf(s.leader().orElseThrow().id());
        assertEquals(3, s.answered());
        long term = s.leader().orElseThrow().term();
        long applied = s.members().get(0).appliedIndex();
        assertTrue(term >= 1 && applied >= 1, s.toString());
        for (int i = 0; i < 3; i++) {
          GroupStatus.Member m = s.members().get(i);
          assertEquals(c.ids.get(i), m.id());
          assertEquals(c.addresses.get(i).getPort(), m.address().getPort());
          assertEquals(i == leader ? GroupStatus.Role.LEADER : GroupStatus.Role.FOLLOWER,
              m.role(), m.toString());
          assertEquals(term, m.term(), m.toString());
          assertEquals(Optional.of(c.ids.get(leader)), m.leader(), m.toString());
          assertEquals(Optional.empty(), m.failure(), m.toString());
        }
        c.awaitHeight(c.members[0].produceBlock().number());
        GroupStatus after = statusOnceAllApplied(admin, c, applied);
        assertTrue(after.members().get(0).appliedIndex() > applied, after.toString());
      }
    }
  }

  /**
   * A leader whose followers stop steps down (it cannot commit without a majority): the status
   * names no leader, says the two did not answer and why, and the one left leads no more.
   */
  @Test
  void withoutAMajorityTheStatusNamesNoLeaderAndWhoDidNotAnswer() throws Exception {
    Genesis g = genesis(params(8), 4);
    try (Cluster c = new Cluster(dir, 3, g, null, BlockPolicy.manual()).start()) {
      int leader = c.leader();
      c.stop((leader + 1) % 3, (leader + 2) % 3);
      try (RaftAdmin admin = RaftAdmin.builder().chainId(c.members[leader].chainId())
          .contact(c.ids.get(leader), c.addresses.get(leader)).build()) {
        GroupStatus[] last = new GroupStatus[1];
        Cluster.awaitTrue(() -> {
          last[0] = status(admin);
          return last[0].members().get(leader).role() != GroupStatus.Role.LEADER;
        }, "the leader to step down");
        GroupStatus s = last[0];
        assertEquals(Optional.empty(), s.leader(), s.toString());
        assertEquals(1, s.answered(), s.toString());
        for (int i = 0; i < 3; i++) {
          GroupStatus.Member m = s.members().get(i);
          assertEquals(i == leader, m.role() != GroupStatus.Role.UNREACHABLE, m.toString());
          assertEquals(i == leader, m.failure().isEmpty(), m.toString());
        }
      }
    }
  }

  /**
   * A member that takes the connection and never answers (a hung process) is told unreachable
   * once the timeout is spent, and the others as they answered: one hanging member does not
   * hold up or fail the status.
   */
  @Test
  void aMemberThatHangsIsUnreachableOnceTheTimeoutIsSpent() throws Exception {
    Cluster c = new Cluster(dir, 2, genesis(params(8), 4), null, BlockPolicy.manual());
    try (c; ServerSocket hung = new ServerSocket(c.addresses.get(1).getPort(), 50,
        java.net.InetAddress.getLoopbackAddress())) {
      c.open(0); // m1 is the socket that never answers: no majority, no leader
      try (RaftAdmin admin = RaftAdmin.builder().chainId(c.members[0].chainId())
          .contact(c.ids.get(0), c.addresses.get(0)).timeout(Duration.ofMillis(1500)).build()) {
        admin.members(); // Ratis' first call loads its classes: not counted
        long t0 = System.nanoTime();
        GroupStatus s = admin.status();
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(ms < 3000, "took " + ms + " ms for a timeout of 1500 ms");
        assertEquals(Optional.empty(), s.leader(), s.toString());
        assertTrue(s.members().get(0).failure().isEmpty(), s.toString());
        assertEquals(GroupStatus.Role.UNREACHABLE, s.members().get(1).role(), s.toString());
        assertEquals(Optional.of("no answer within the timeout"), s.members().get(1).failure());
      }
    }
  }

  /**
   * A member's request that gRPC ends at the deadline a moment before the wait for it ends (the
   * same deadline) reads as out of time too, not as gRPC's words: the hanging member's test
   * above got "DEADLINE_EXCEEDED: CallOptions deadline exceeded ..." once in CI.
   */
  @Test
  void aRequestEndedAtItsDeadlineIsOutOfTime() {
    assertTrue(RaftAdmin.outOfTime(new java.io.IOException(new RuntimeException(
        "DEADLINE_EXCEEDED: CallOptions deadline exceeded after 1.493515198s."))));
    assertTrue(RaftAdmin.outOfTime(
        new org.apache.ratis.protocol.exceptions.TimeoutIOException("timed out")));
    assertFalse(RaftAdmin.outOfTime(new java.io.IOException(
        "UNAVAILABLE: Network closed for unknown reason")));
    assertFalse(RaftAdmin.outOfTime(null));
  }

  /**
   * {@link RaftAdmin#members} reads a contact's request that gRPC or Ratis ended at its deadline
   * as the status does, out of time, and keeps an earlier contact's reason over it: it kept
   * "DEADLINE_EXCEEDED: CallOptions deadline exceeded ..." as the reason, over an earlier one.
   */
  @Test
  void aContactsRequestEndedAtItsDeadlineIsOutOfTimeForTheMembersToo() {
    LedgerException deadline = new LedgerException("asking member m1 for the group's members"
        + " failed: DEADLINE_EXCEEDED", new RuntimeException(
            "DEADLINE_EXCEEDED: CallOptions deadline exceeded after 0.318960314s."));
    assertEquals("asking member m1 for the group's members: no answer within the timeout",
        RaftAdmin.kept(null, "m1", deadline).getMessage());
    LedgerException ratis = new LedgerException("asking member m1 for the group's members"
        + " failed", new org.apache.ratis.protocol.exceptions.TimeoutIOException("timed out"));
    assertEquals("asking member m1 for the group's members: no answer within the timeout",
        RaftAdmin.kept(null, "m1", ratis).getMessage());
    LedgerException closed = new LedgerException("asking member m0 for the group's members"
        + " failed", new java.io.IOException("UNAVAILABLE: Network closed for unknown reason"));
    assertSame(closed, RaftAdmin.kept(null, "m0", closed));
    assertSame(closed, RaftAdmin.kept(closed, "m1", deadline), "the earlier reason stays");
    assertSame(closed, RaftAdmin.kept(deadline, "m0", closed), "a reason replaces no answer");
  }

  /** The status of a group whose members use TLS, through an administrator given it. */
  @Test
  void theStatusIsReadOverTheGroupsTls() throws Exception {
    try (Cluster c = onTls(2)) {
      c.start();
      try (RaftAdmin admin = RaftAdmin.builder().chainId(c.members[0].chainId())
          .contact(c.ids.get(0), c.addresses.get(0))
          .tls(tls("member.key"), tls("member.pem"), tls("ca.pem")).build()) {
        GroupStatus[] last = new GroupStatus[1];
        // Two members may pass the lead between them at first: until the status names the
        // member that says it leads.
        Cluster.awaitTrue(() -> {
          last[0] = status(admin);
          return last[0].leader().map(GroupStatus.Member::id)
              .equals(Optional.of(c.ids.get(c.leader())));
        }, "the status to name the leader");
        assertEquals(2, last[0].answered(), last[0].toString());
      }
    }
  }

  /** A group of {@code size} members (not started) on mutual TLS, with the test authority's. */
  private Cluster onTls(int size) {
    Cluster c = new Cluster(dir, size, genesis(params(8), 4), null, BlockPolicy.manual());
    c.each = (i, b) -> b.tls(tls("member.key"), tls("member.pem"), tls("ca.pem"));
    return c;
  }

  /** The test authority's file {@code name} (a member's key and certificate, the authority). */
  private static Path tls(String name) {
    try {
      return Path.of(RaftAdminTest.class.getResource("/tls/" + name).toURI());
    } catch (java.net.URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The status once every member has applied the same entries, past {@code from}, and it names
   * the member of {@code c} that says it leads: a follower applies an entry a moment after the
   * leader, and on a busy machine the lead may pass to another member now and then.
   */
  private static GroupStatus statusOnceAllApplied(RaftAdmin admin, Cluster c, long from) {
    GroupStatus[] last = new GroupStatus[1];
    Cluster.awaitTrue(() -> {
      last[0] = status(admin);
      return last[0].members().stream().map(GroupStatus.Member::appliedIndex).distinct().count()
          == 1 && last[0].members().get(0).appliedIndex() > from
          && last[0].leader().map(GroupStatus.Member::id)
              .equals(Optional.of(c.ids.get(c.leader())));
    }, "every member to apply the same entries, under the leader");
    return last[0];
  }

  private static GroupStatus status(RaftAdmin admin) {
    try {
      return admin.status();
    } catch (LedgerException e) {
      throw new AssertionError(e);
    }
  }

  /**
   * The member list a member is started with only matters the first time: once it has joined,
   * the group's own record of its members (in the Raft log and snapshots) wins.
   */
  @Test
  void aMemberRestartedWithAnOutOfDateListKeepsTheGroupsMembers() throws Exception {
    Genesis g = genesis(params(8), 4);
    try (Cluster c = new Cluster(dir, 3, g, null, BlockPolicy.manual()).start()) {
      int leader = c.leader();
      Map<String, InetSocketAddress> four = c.plus("m3");
      try (RaftLedger fourth = c.openNewMember(dir, "m3", four)) {
        c.members[leader].changeMembers(four);
        c.members[leader].submit(key(0), Transaction.register(endpoint(0), Modality.TEXT));
        Block first = c.members[leader].produceBlock();
        Cluster.awaitTrue(() -> fourth.metagraph().block().number() == first.number(),
            "the new member caught up");

        // A follower restarts with the list it was first given, which lacks m3.
        int restarted = (leader + 1) % 3;
        c.stop(restarted);
        RaftLedger again = c.open(restarted);
        assertEquals(four.keySet(), again.members().keySet(),
            "the restarted member knows the group's members, not its own old list");
        // The other old follower stops: the leader, the restarted member and m3 are three of
        // four, a majority only if m3 counts for the restarted member too.
        // Any of the three may lead now (m3 too), so the restarted member is asked: it passes
        // the transaction and the seal to whichever does.
        c.stop((leader + 2) % 3);
        CompletableFuture<Receipt> r =
            again.submit(key(1), Transaction.register(endpoint(1), Modality.TEXT));
        Block second = again.produceBlock();
        assertEquals(second.number(), r.get(30, TimeUnit.SECONDS).block());
        Cluster.awaitTrue(() -> again.metagraph().block().number() >= second.number()
            && fourth.metagraph().block().number() >= second.number(), "both at the block");
        assertEquals(2, again.metagraph().size());
        assertEquals(fourth.stateHash(), again.stateHash());
      }
    }
  }

  /**
   * A change that timed out (its new member not running) is not made later behind the caller's
   * back: the call's client used to go on retrying it for minutes (its retries counted for calls
   * that fail fast), and made it once the new member came up.
   */
  @Test
  void aChangeThatTimedOutIsNotMadeLaterByItsRetries() throws Exception {
    Genesis g = genesis(params(8), 4);
    try (Cluster c = new Cluster(dir, 3, g, null, BlockPolicy.manual())) {
      c.timeout = Duration.ofMillis(1500);
      c.start();
      int leader = c.leader();
      Map<String, InetSocketAddress> four = c.plus("m3");
      try (RaftAdmin admin = RaftAdmin.builder().chainId(c.members[leader].chainId())
          .contact(c.ids.get(leader), c.addresses.get(leader))
          .timeout(Duration.ofMillis(1500)).build()) {
        LedgerException e = assertThrows(LedgerException.class, () -> admin.changeMembers(four));
        assertTrue(e.getMessage().contains("each member being added"), e.getMessage());
        e = assertThrows(LedgerException.class, () -> c.members[leader].changeMembers(four));
        assertTrue(e.getMessage().contains("each member being added"), e.getMessage());
        try (RaftLedger fourth = c.openNewMember(dir, "m3", four)) {
          Thread.sleep(4000); // a retry every second or two, each waiting for its reply
          assertEquals(Set.of("m0", "m1", "m2"), c.members[leader].members().keySet(),
              "a change reported as failed was made later");
        }
      }
    }
  }

  @Test
  void aGroupNobodyAnswersForFailsWithinTheTimeout() throws Exception {
    Genesis g = genesis(params(8), 4);
    try (Cluster c = new Cluster(dir, 1, g, null, BlockPolicy.manual()).start()) {
      InetSocketAddress dead = new InetSocketAddress("127.0.0.1", Cluster.freePort());
      try (RaftAdmin admin = RaftAdmin.builder().chainId(c.members[0].chainId())
          .contact("gone", dead).timeout(Duration.ofMillis(1500)).build()) {
        long t0 = System.nanoTime();
        LedgerException e = assertThrows(LedgerException.class, admin::members);
        assertTrue(e.getMessage().contains("[gone]"), e.getMessage());
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(10), "bounded by timeout");
        assertFalse(e.getMessage().contains("use TLS"), "no TLS hint for no one: " + e);
      }
    }
  }

  /**
   * A group whose members use TLS closes an administrator's cleartext connection, which gRPC
   * reports as "Network closed for unknown reason": the message says what to give.
   */
  @Test
  void anAdministratorWithoutTheGroupsTlsIsToldToGiveIt() throws Exception {
    try (Cluster c = onTls(1)) {
      c.start();
      // It asks until the timeout, always: 3 s, as a first TLS connection of a loaded machine
      // took 1.5 s, and the only call had no time to be closed and say why. Where it still has
      // none (at a load of 12 on two cores), the member's answer to a TLS hello gives the hint:
      // aTlsMemberThatClosesTooLateStillGetsTheHint.
      try (RaftAdmin admin = RaftAdmin.builder().chainId(c.members[0].chainId())
          .contact(c.ids.get(0), c.addresses.get(0)).timeout(Duration.ofSeconds(3)).build()) {
        assertHintsAtTls(assertThrows(LedgerException.class, admin::members));
      }
    }
  }

  private static void assertHintsAtTls(LedgerException e) {
    assertTrue(e.getMessage().contains("(the group's members may use TLS, which closes the"
        + " connection of a contact without it: give tls(...), on the command line"
        + " --raft-tls KEY CERT CA)"), e.getMessage());
  }

  /**
   * A contact that is down when asked, and up again within the timeout, answers: each contact
   * was asked once (a Ratis request's own bound is a quarter of the timeout), so one refused
   * connection, or one request out of time, ended the call long before its timeout.
   */
  @Test
  void aContactRestartedWithinTheTimeoutIsAskedAgain() throws Exception {
    Genesis g = genesis(params(8), 4);
    try (Cluster c = new Cluster(dir, 1, g, null, BlockPolicy.manual()).start()) {
      Hash256 chain = c.members[0].chainId();
      try (RaftAdmin admin = RaftAdmin.builder().chainId(chain)
          .contact(c.ids.get(0), c.addresses.get(0)).timeout(Duration.ofSeconds(3)).build()) {
        c.members[0].close();
        long t0 = System.nanoTime();
        LedgerException e = assertThrows(LedgerException.class, admin::members);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(ms >= 2_900, "gave up after " + ms + " ms of its 3,000: " + e.getMessage());
        assertTrue(e.getMessage().startsWith("no member of [m0] answered within 3000 ms: "),
            e.getMessage());
      }
      try (RaftAdmin admin = RaftAdmin.builder().chainId(chain)
          .contact(c.ids.get(0), c.addresses.get(0)).timeout(Duration.ofSeconds(60)).build()) {
        CompletableFuture<Map<String, InetSocketAddress>> asked =
            CompletableFuture.supplyAsync(() -> {
              try {
                return admin.members();
              } catch (LedgerException e) {
                throw new java.util.concurrent.CompletionException(e);
              }
            });
        c.open(0);
        assertEquals(Set.of("m0"), asked.get(60, TimeUnit.SECONDS).keySet());
      }
    }
  }

  /**
   * Contacts that take the connection and never answer (a hung process): before the fix each had
   * the whole timeout in turn, and three took three times it.
   */
  @Test
  void readingTheMembersKeepsToOneTimeoutHoweverManyContactsHang() throws Exception {
    RaftAdmin.Builder b = RaftAdmin.builder().chainId(Hash256.of(new byte[] {7}))
        .timeout(Duration.ofMillis(1000));
    try (ServerSocket h0 = hung(); ServerSocket h1 = hung(); ServerSocket h2 = hung()) {
      for (ServerSocket h : new ServerSocket[] {h0, h1, h2}) {
        b.contact("h" + h.getLocalPort(), new InetSocketAddress("127.0.0.1", h.getLocalPort()));
      }
      try (RaftAdmin admin = b.build()) {
        long t0 = System.nanoTime();
        LedgerException e = assertThrows(LedgerException.class, admin::members);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(e.getMessage().contains("no member of"), e.getMessage());
        // As the status words a member that did not answer: not "took longer than 999 ms: is
        // a majority of the group up?", which the members of a group do not need.
        assertTrue(e.getMessage().endsWith(" for the group's members: no answer within the"
            + " timeout"), e.getMessage());
        assertTrue(ms < 2000, "took " + ms + " ms for a timeout of 1000 ms");
        assertFalse(e.getMessage().contains("use TLS"), "no TLS hint for a hang: " + e);
      }
    }
  }

  /**
   * A member on TLS whose close of a cleartext connection comes after the deadline (on a loaded
   * machine, the administrator's only call ended "DEADLINE_EXCEEDED" before "Network closed"):
   * the hint is still given, as the member answers a TLS hello with TLS. Here a server that
   * holds a cleartext connection open and answers a hello with a TLS alert stands for it.
   */
  @Test
  void aTlsMemberThatClosesTooLateStillGetsTheHint() throws Exception {
    try (FakeMember tls = new FakeMember(true);
        RaftAdmin admin = RaftAdmin.builder().chainId(Hash256.of(new byte[] {7}))
            .contact("t", tls.address()).timeout(Duration.ofSeconds(3)).build()) {
      assertHintsAtTls(assertThrows(LedgerException.class, admin::members));
    }
  }

  /** A cleartext member that hangs after its HTTP/2 settings is no reason for the TLS hint. */
  @Test
  void aCleartextMemberThatHangsGetsNoTlsHint() throws Exception {
    try (FakeMember plain = new FakeMember(false);
        RaftAdmin admin = RaftAdmin.builder().chainId(Hash256.of(new byte[] {7}))
            .contact("p", plain.address()).timeout(Duration.ofSeconds(3)).build()) {
      LedgerException e = assertThrows(LedgerException.class, admin::members);
      assertTrue(e.getMessage().endsWith("no answer within the timeout"), e.getMessage());
      // The probe's thread may still be on its way on a loaded machine: awaited, not counted.
      assertTrue(plain.hello.await(30, TimeUnit.SECONDS), "the probe asked it");
    }
  }

  /**
   * The probe behind the hint tells a real member on TLS from a cleartext one, and finds no TLS
   * where no one listens or a socket takes the connection and says nothing.
   */
  @Test
  void theTlsProbeTellsAMemberOnTlsFromOthers() throws Exception {
    long bound = TimeUnit.SECONDS.toNanos(10);
    try (Cluster onTls = onTls(1)) {
      onTls.start();
      assertTrue(TlsProbe.speaksTls(onTls.addresses.get(0), bound));
    }
    Path plainDir = Files.createDirectories(dir.resolve("plain"));
    try (Cluster plain = new Cluster(plainDir, 1, genesis(params(8), 4), null,
        BlockPolicy.manual()).start()) {
      assertFalse(TlsProbe.speaksTls(plain.addresses.get(0), bound));
    }
    assertFalse(TlsProbe.speaksTls(new InetSocketAddress("127.0.0.1", Cluster.freePort()),
        bound));
    try (ServerSocket h = hung()) {
      long t0 = System.nanoTime();
      assertFalse(TlsProbe.speaksTls(new InetSocketAddress("127.0.0.1", h.getLocalPort()),
          TimeUnit.MILLISECONDS.toNanos(300)));
      assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5), "bounded");
    }
  }

  /**
   * A member that accepts connections and never answers a request: with {@code tls}, it holds
   * a cleartext connection open and answers a TLS hello with an alert (a member on TLS that has
   * not closed the connection yet); without, it sends HTTP/2 settings and nothing more (a
   * cleartext member that hangs). It tells of the first hello it got.
   */
  private static final class FakeMember implements AutoCloseable {
    final ServerSocket server = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
    final java.util.concurrent.CountDownLatch hello = new java.util.concurrent.CountDownLatch(1);
    final java.util.List<java.net.Socket> accepted =
        java.util.Collections.synchronizedList(new java.util.ArrayList<>());

    FakeMember(boolean tls) throws IOException {
      Thread t = new Thread(() -> {
        while (!server.isClosed()) {
          try {
            java.net.Socket s = server.accept();
            accepted.add(s);
            Thread c = new Thread(() -> serve(s, tls), "fake-member-connection");
            c.setDaemon(true);
            c.start();
          } catch (IOException closed) {
            return;
          }
        }
      }, "fake-member");
      t.setDaemon(true);
      t.start();
    }

    private void serve(java.net.Socket s, boolean tls) {
      try {
        if (!tls) {
          s.getOutputStream().write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0}); // empty SETTINGS
        }
        java.io.InputStream in = s.getInputStream();
        int first = in.read();
        if (first == 0x16) {
          hello.countDown();
          if (tls) {
            s.getOutputStream().write(new byte[] {0x15, 3, 3, 0, 2, 2, 40}); // handshake failure
            s.close();
            return;
          }
        }
        while (in.read(new byte[4096]) >= 0) {
          // held open, unanswered, until the client goes
        }
      } catch (IOException gone) {
        // the client closed, or the test ended
      }
    }

    InetSocketAddress address() {
      return new InetSocketAddress("127.0.0.1", server.getLocalPort());
    }

    @Override
    public void close() throws IOException {
      server.close();
      for (java.net.Socket s : accepted.toArray(java.net.Socket[]::new)) {
        s.close();
      }
    }
  }

  /** A listening socket that never accepts: connections wait in its backlog, unanswered. */
  private static ServerSocket hung() throws IOException {
    return new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
  }

  /**
   * Two members at one address: Ratis took the change, and the one server there answered for
   * both, so the group counted one machine twice toward its majority.
   */
  @Test
  void aChangeListingOneAddressTwiceIsRefusedBeforeItIsSent() {
    InetSocketAddress a = new InetSocketAddress("127.0.0.1", Cluster.freePort());
    InetSocketAddress b = new InetSocketAddress("127.0.0.1", Cluster.freePort());
    Map<String, InetSocketAddress> twice = new LinkedHashMap<>();
    twice.put("a", a);
    twice.put("b", b);
    twice.put("c", new InetSocketAddress("127.0.0.1", b.getPort()));
    try (RaftAdmin admin = RaftAdmin.builder().chainId(Hash256.of(new byte[] {1}))
        .contact("a", a).timeout(Duration.ofMillis(500)).build()) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> admin.changeMembers(twice));
      assertTrue(e.getMessage().contains("127.0.0.1:" + b.getPort()), e.getMessage());
      assertTrue(e.getMessage().contains("b and c"), e.getMessage());
    }
  }

  /** Each change has a client of its own: a closed administrator must still refuse one. */
  @Test
  void aClosedAdministratorRefusesChanges() {
    InetSocketAddress a = new InetSocketAddress("127.0.0.1", Cluster.freePort());
    RaftAdmin admin = RaftAdmin.builder().chainId(Hash256.of(new byte[] {1})).contact("a", a)
        .timeout(Duration.ofMillis(500)).build();
    admin.close();
    admin.close(); // idempotent
    LedgerException e = assertThrows(LedgerException.class,
        () -> admin.changeMembers(Map.of("a", a)));
    assertTrue(e.getMessage().contains("closed"), e.getMessage());
  }

  /**
   * A closed administrator's reads fail at once saying so, as its changes do. They used to go to
   * its closed client, again and again until the timeout, and then blamed the contacts: "no
   * member of [m0] answered within ...".
   */
  @Test
  void aClosedAdministratorRefusesReads() throws Exception {
    Genesis g = genesis(params(8), 4);
    try (Cluster c = new Cluster(dir, 1, g, null, BlockPolicy.manual()).start()) {
      c.leader();
      RaftAdmin admin = RaftAdmin.builder().chainOf(c.dirs.get(0))
          .contact(c.ids.get(0), c.addresses.get(0)).build();
      assertEquals(Set.of("m0"), admin.members().keySet());
      admin.close();
      LedgerException members = assertThrows(LedgerException.class, admin::members);
      assertEquals("this RaftAdmin is closed", members.getMessage());
      LedgerException status = assertThrows(LedgerException.class, admin::status);
      assertEquals("this RaftAdmin is closed", status.getMessage());
    }
  }

  @Test
  void theBuilderNamesWhatIsMissing() throws Exception {
    IllegalStateException noChain = assertThrows(IllegalStateException.class,
        () -> RaftAdmin.builder().contact("a", new InetSocketAddress("127.0.0.1", 9)).build());
    assertTrue(noChain.getMessage().contains("chainId"), noChain.getMessage());
    Path empty = Files.createDirectories(dir.resolve("empty"));
    LedgerException notAMember = assertThrows(LedgerException.class,
        () -> RaftAdmin.builder().chainOf(empty));
    assertTrue(notAMember.getMessage().contains("holds no ledger member"),
        notAMember.getMessage());
    IllegalArgumentException twice = assertThrows(IllegalArgumentException.class,
        () -> RaftAdmin.builder().contact("a", new InetSocketAddress("127.0.0.1", 9))
            .contact("a", new InetSocketAddress("127.0.0.1", 10)));
    assertTrue(twice.getMessage().contains("twice"), twice.getMessage());
    IllegalArgumentException badId = assertThrows(IllegalArgumentException.class,
        () -> RaftAdmin.builder().contact("a b", new InetSocketAddress("127.0.0.1", 9)));
    assertTrue(badId.getMessage().contains("a b"), badId.getMessage());
  }
}
