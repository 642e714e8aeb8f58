package io.bittensor.raft;

import static io.bittensor.core.testing.LedgerFixtures.FUNDS;
import static io.bittensor.core.testing.LedgerFixtures.endpoint;
import static io.bittensor.core.testing.LedgerFixtures.genesis;
import static io.bittensor.core.testing.LedgerFixtures.key;
import static io.bittensor.core.testing.LedgerFixtures.params;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.Account;
import io.bittensor.core.Block;
import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Genesis;
import io.bittensor.core.Hash256;
import io.bittensor.core.LedgerListener;
import io.bittensor.core.Metagraph;
import io.bittensor.core.RejectReason;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.TransactionRejectedException;
import io.bittensor.transport.LedgerServer;
import io.bittensor.transport.RemoteLedger;
import io.bittensor.core.LedgerException;
import io.bittensor.core.Modality;
import io.bittensor.core.PeerId;
import io.bittensor.core.Receipt;
import io.bittensor.core.Transaction;
import io.bittensor.core.testing.LedgerFixtures;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 120, unit = TimeUnit.SECONDS)
@ExtendWith(Cluster.ClosingInBackground.class)
class RaftLedgerTest {
  /** Each test's folders, kept until the class's clusters closed (in the background). */
  @TempDir static Path root;
  Path dir;

  @BeforeEach
  void folder() throws IOException {
    dir = Files.createTempDirectory(root, "test-");
  }

  @Test
  void membersAgreeOnEveryBlock() throws Exception {
    try (Cluster c = new Cluster(dir, 3, genesis(params(8), 4), null, BlockPolicy.manual())
        .start()) {
      int leader = c.leader();
      RaftLedger follower = c.members[(leader + 1) % 3];
      CompletableFuture<Receipt> register =
          follower.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT));
      CompletableFuture<Receipt> transfer = c.members[(leader + 2) % 3].submit(key(1),
          Transaction.transfer(key(2).id(), 1000));
      awaitAccepted(c, key(0).id(), 1);
      awaitAccepted(c, key(1).id(), 1);
      Block b = c.members[leader].produceBlock();
      Receipt r = register.get(10, TimeUnit.SECONDS);
      Receipt t = transfer.get(10, TimeUnit.SECONDS);
      assertEquals(r.block(), t.block());
      assertEquals(r.block(), b.number());
      c.awaitHeight(b.number());
      List<Hash256> hashes = c.settledHashes();
      assertEquals(1, hashes.stream().distinct().count(), "state hashes " + hashes);
      for (RaftLedger m : c.members) {
        assertEquals(b.hash(), m.metagraph().block().hash());
        assertEquals(1, m.metagraph().size());
        assertEquals(FUNDS + 1000, m.account(key(2).id()).map(Account::balance).orElseThrow());
      }
    }
  }

  @Test
  void aPortAlreadyTakenIsAnIOExceptionAndTheJvmLivesOn() throws Exception {
    Thread.UncaughtExceptionHandler before = Thread.getDefaultUncaughtExceptionHandler();
    // Ratis ends the JVM when its server cannot listen; this test's fork would die with it.
    try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 50,
        java.net.InetAddress.getLoopbackAddress())) {
      Cluster c = new Cluster(dir, 1, genesis(params(8), 4), null, BlockPolicy.manual());
      c.addresses.set(0, new InetSocketAddress("127.0.0.1", taken.getLocalPort()));
      IOException e = assertThrows(IOException.class, () -> c.builder(0).open(c.dirs.get(0)));
      // With Ratis' own reason: any exit of Ratis' at start used to read as a port taken.
      assertTrue(e.getMessage().startsWith("the Raft member m0 could not listen on 127.0.0.1:"
          + taken.getLocalPort() + " (is the port taken by another process?): Failed to start"
          + " Grpc server: "), e.getMessage());
      assertTrue(e.getMessage().endsWith("Address already in use"), e.getMessage());
      assertEquals(before, Thread.getDefaultUncaughtExceptionHandler(),
          "the application's handler of uncaught exceptions is left as it was");
      // Nothing of the failed start is held: the folder opens once the port is free.
      c.addresses.set(0, new InetSocketAddress("127.0.0.1", Cluster.freePort()));
      try (c) {
        c.open(0);
        c.leader();
        assertEquals(0, c.members[0].metagraph().block().number());
      }
    }
  }

  @Test
  void aRejectionIsTheSameFromEveryMemberAndReportedAtOnce() throws Exception {
    try (Cluster c = new Cluster(dir, 3, genesis(params(8), 4), null, BlockPolicy.manual())
        .start()) {
      c.leader();
      for (RaftLedger m : c.members) {
        // Key 9 was never funded: the ledger does not know it.
        CompletableFuture<Receipt> f = m.submit(key(9), Transaction.transfer(key(0).id(), 1));
        assertTrue(f.isDone(), "a rejection is reported when submit returns");
        ExecutionException e = assertThrows(ExecutionException.class, f::get);
        TransactionRejectedException r =
            assertInstanceOf(TransactionRejectedException.class, e.getCause());
        assertEquals(RejectReason.UNKNOWN_ACCOUNT, r.reason());
        // A nonce from the future is refused the same way, by whichever member it reaches.
        CompletableFuture<Receipt> g = m.submit(SignedTransaction.sign(key(0), m.chainId(), 5,
            Transaction.transfer(key(1).id(), 1)));
        assertEquals(RejectReason.NONCE_WRONG, assertInstanceOf(
            TransactionRejectedException.class, assertThrows(ExecutionException.class, g::get)
                .getCause()).reason());
      }
      assertEquals(1, c.settledHashes().stream().distinct().count());
    }
  }

  /**
   * A leader of a newer version (a rolling upgrade) may reject with a reason this one does not
   * know: the transaction takes this member's outcome, as it applies the same entry, rather than
   * an IllegalArgumentException out of submitAll that left the batch's later transactions
   * waiting.
   */
  @Test
  void aRejectReasonThisVersionDoesNotKnowTakesThisMembersOutcome() throws Exception {
    CompletableFuture<Receipt> here = new CompletableFuture<>();
    assertTrue(RaftLedger.decided(rejected("FROM_A_NEWER_LEADER"), here) == here,
        "this member's outcome");
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> RaftLedger.decided(rejected("BUSY"), here).get());
    assertEquals(RejectReason.BUSY, ((TransactionRejectedException) e.getCause()).reason());
    assertTrue(RaftLedger.decided(new byte[] {'O'}, here) == here, "accepted");
  }

  /** A member's outcome that rejects for {@code reason}, as {@code Entries} writes it. */
  private static byte[] rejected(String reason) {
    byte[] name = reason.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    return java.nio.ByteBuffer.allocate(1 + 4 + name.length + 1).put((byte) 'R')
        .putInt(name.length).put(name).put((byte) '!').array();
  }
  /** Before the fix the address was printed bare, {@code ::1:port}, as if the port were a group. */
  @Test
  void aPortTakenAtAnIpv6AddressIsNamedInBrackets() throws Exception {
    try (java.net.ServerSocket taken = new java.net.ServerSocket()) {
      try {
        taken.bind(new InetSocketAddress("::1", 0));
      } catch (IOException e) {
        Assumptions.assumeTrue(false, "no IPv6 loopback here: " + e);
      }
      Cluster c = new Cluster(dir, 1, genesis(params(8), 4), null, BlockPolicy.manual());
      c.addresses.set(0, new InetSocketAddress("::1", taken.getLocalPort()));
      IOException e = assertThrows(IOException.class, () -> c.builder(0).open(c.dirs.get(0)));
      // The host as the address holds it: ::1, or 0:0:0:0:0:0:0:1 once resolved.
      assertTrue(java.util.regex.Pattern.compile(" could not listen on \\[[0:]*:1\\]:"
          + taken.getLocalPort() + " ").matcher(e.getMessage()).find(), e.getMessage());
    }
  }

  /**
   * Members at IPv6 addresses: Raft had {@code ::1:port}, whose last group Ratis and gRPC took
   * for the port, so no member reached another and the group never elected a leader.
   */
  @Test
  void membersAtIpv6AddressesElectALeaderAndSealBlocks() throws Exception {
    InetSocketAddress v6 = new InetSocketAddress("::1", 0);
    try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
      probe.bind(v6);
    } catch (IOException e) {
      Assumptions.assumeTrue(false, "no IPv6 loopback here: " + e);
    }
    Cluster c = new Cluster(dir, 3, genesis(params(8), 4), null, BlockPolicy.manual());
    for (int i = 0; i < 3; i++) {
      c.addresses.set(i, new InetSocketAddress("::1", Cluster.freePort()));
    }
    try (c) {
      c.start();
      int f = (c.leader() + 1) % 3;
      RaftLedger follower = c.members[f];
      CompletableFuture<Receipt> r =
          follower.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT));
      Block sealed = follower.produceBlock();
      assertEquals(sealed.number(), r.get(10, TimeUnit.SECONDS).block());
      assertEquals(1, c.settledHashes().stream().distinct().count());
      try (RaftAdmin admin = RaftAdmin.builder().chainId(follower.chainId())
          .contact(follower.memberId(), c.addresses.get(f)).build()) {
        Map<String, InetSocketAddress> members = admin.members();
        for (int i = 0; i < 3; i++) {
          assertEquals(c.addresses.get(i).getPort(), members.get(c.ids.get(i)).getPort());
          assertEquals(c.addresses.get(i).getAddress(),
              java.net.InetAddress.getByName(members.get(c.ids.get(i)).getHostString()));
        }
      }
    }
  }

  @Test
  void aFollowerReadsTheLeadersNoncesSoItsSubmissionsNeverCollide() throws Exception {
    try (Cluster c = new Cluster(dir, 3, genesis(params(8), 4), null, BlockPolicy.manual())
        .start()) {
      RaftLedger follower = c.members[(c.leader() + 1) % 3];
      List<CompletableFuture<Receipt>> fs = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        // Each nonce comes from the leader, which already counts the one before.
        fs.add(follower.submit(key(0), Transaction.transfer(key(1).id(), 10)));
      }
      c.members[c.leader()].produceBlock();
      for (int i = 0; i < fs.size(); i++) {
        Receipt r = fs.get(i).get(10, TimeUnit.SECONDS);
        assertEquals(i, r.index(), "transactions keep the order they were sent in");
      }
      assertEquals(FUNDS + 50, follower.account(key(1).id()).orElseThrow().balance());
    }
  }

  /**
   * A nonce read on one member can be stale by the time it is used (another member took it, or
   * a leader cut off from its majority answered): the log refuses it when it applies it.
   */
  @Test
  void aStaleNonceReadOnAMemberIsRefusedNeverSpentTwice() throws Exception {
    try (Cluster c = new Cluster(dir, 3, genesis(params(8), 4), null, BlockPolicy.manual())
        .start()) {
      RaftLedger leader = c.members[c.leader()];
      RaftLedger follower = c.members[(c.leader() + 1) % 3];
      long stale = follower.nextNonce(key(0).id());
      CompletableFuture<Receipt> first = leader.submit(key(0),
          Transaction.transfer(key(1).id(), 10));
      CompletableFuture<Receipt> again = follower.submit(SignedTransaction.sign(key(0),
          follower.chainId(), stale, Transaction.transfer(key(1).id(), 10)));
      assertEquals(RejectReason.NONCE_REUSED, assertInstanceOf(
          TransactionRejectedException.class, assertThrows(ExecutionException.class, again::get)
              .getCause()).reason());
      leader.produceBlock();
      first.get(10, TimeUnit.SECONDS); // sealed: the nonce was spent once, by the first
      assertEquals(FUNDS + 10, follower.account(key(1).id()).orElseThrow().balance(),
          "the transfer went once");
      assertEquals(stale + 1, follower.nextNonce(key(0).id()));
    }
  }

  @Test
  void theGroupOutlivesItsLeaderAndAMemberCatchesUpWhenItReturns() throws Exception {
    try (Cluster c = new Cluster(dir, 3, genesis(params(8), 4), null,
        BlockPolicy.every(Duration.ofMillis(100))).start()) {
      int first = c.leader();
      RaftLedger other = c.members[(first + 1) % 3];
      other.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT))
          .get(10, TimeUnit.SECONDS);
      long before = other.metagraph().block().number();
      c.stop(first);
      // The two left elect a leader of their own, which seals blocks and takes transactions.
      int second = c.leader();
      assertNotEquals(first, second);
      Receipt r = other.submit(key(1), Transaction.register(endpoint(1), Modality.TEXT))
          .get(20, TimeUnit.SECONDS);
      assertTrue(r.block() > before);
      // The old leader comes back from its folder, replays its log and catches up.
      RaftLedger back = c.open(first);
      c.awaitHeight(r.block());
      assertEquals(2, back.metagraph().size());
      Cluster.awaitTrue(() -> c.settledHashes().stream().distinct().count() == 1,
          "the same state on every member");
    }
  }

  @Test
  void restartingEveryMemberLosesNothingAcknowledged() throws Exception {
    Genesis g = genesis(params(8), 4);
    Cluster c = new Cluster(dir, 3, g, null, BlockPolicy.manual()).start();
    Hash256 state;
    long height;
    try {
      RaftLedger m = c.members[(c.leader() + 1) % 3];
      CompletableFuture<Receipt> reg =
          m.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT));
      CompletableFuture<Receipt> pay = m.submit(key(1), Transaction.transfer(key(2).id(), 7));
      Block b = m.produceBlock();
      reg.get(10, TimeUnit.SECONDS);
      pay.get(10, TimeUnit.SECONDS);
      for (int i = 0; i < 6; i++) {
        b = m.produceBlock(); // past an epoch (5 blocks)
      }
      c.awaitHeight(b.number());
      height = b.number();
      state = c.settledHashes().get(0);
    } finally {
      c.closeNow();
    }
    // Two members reopen as they were configured; one is not told the genesis, its folder is.
    c.open(0);
    c.members[1] = c.builderWithoutGenesis(1).open(c.dirs.get(1));
    c.open(2);
    try {
      c.leader();
      c.awaitHeight(height);
      for (RaftLedger m : c.members) {
        assertEquals(height, m.metagraph().block().number());
        assertEquals(state, m.stateHash());
        assertEquals(FUNDS + 7, m.account(key(2).id()).orElseThrow().balance());
      }
    } finally {
      c.close();
    }
  }

  @Test
  void aMemberClosedUnderAWaitingSubmissionSaysTheGroupMayStillSealIt() throws Exception {
    try (Cluster c = new Cluster(dir, 3, genesis(params(8), 4), null, BlockPolicy.manual())
        .start()) {
      int leader = c.leader();
      int follower = (leader + 1) % 3;
      CompletableFuture<Receipt> f = c.members[follower].submit(key(0),
          Transaction.transfer(key(1).id(), 5));
      awaitAccepted(c, key(0).id(), 1);
      c.stop(follower);
      LedgerException e = assertInstanceOf(LedgerException.class,
          assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS)).getCause());
      assertTrue(e.getMessage().contains("the group may still seal it"), e.getMessage());
      // And it does: the transaction was ordered before the member left.
      c.members[leader].produceBlock();
      assertEquals(FUNDS + 5, c.members[leader].account(key(1).id()).orElseThrow().balance());
    }
  }

  /**
   * A member closed while its submissions wait: those still queued behind the entry on its way
   * were never sent, and are told so; they used to be told both ("it is not in the ledger; it
   * may or may not be in the ledger"). The one on its way may still be sealed, and says so.
   */
  @Test
  void aSubmissionStillQueuedWhenItsMemberClosesIsToldItWasNotSent() throws Exception {
    Cluster c = new Cluster(dir, 3, genesis(params(8), 4), null, BlockPolicy.manual());
    c.timeout = Duration.ofSeconds(60);
    try (c) {
      RaftLedger alone = c.open(0); // one of three: no leader, so the first entry waits
      List<SignedTransaction> txs = new ArrayList<>();
      for (int i = 0; i < 600; i++) { // more than one entry carries (512)
        txs.add(SignedTransaction.sign(key(0), alone.chainId(), i,
            Transaction.transfer(key(1).id(), 1)));
      }
      CompletableFuture<List<CompletableFuture<Receipt>>> submitted = new CompletableFuture<>();
      Thread submitter = new Thread(() -> submitted.complete(alone.submitAll(txs)));
      submitter.start();
      Cluster.awaitTrue(() -> submitter.getState() == Thread.State.TIMED_WAITING
          && Stream.of(submitter.getStackTrace()).anyMatch(f -> f.getMethodName().equals("await")
              && f.getClassName().equals(RaftLedger.class.getName())),
          "the submitter to wait for its first transaction's entry");
      c.stop(0);
      List<CompletableFuture<Receipt>> futures = submitted.get(30, TimeUnit.SECONDS);
      String first = failure(futures.get(0)).getMessage();
      assertTrue(first.contains("may or may not be in the ledger"), first);
      String queued = failure(futures.get(599)).getMessage();
      assertTrue(queued.contains("before the transaction was sent; it is not in the ledger"),
          queued);
      assertFalse(queued.contains("may or may not"), queued);
    }
  }

  private static LedgerException failure(CompletableFuture<Receipt> f) {
    return assertInstanceOf(LedgerException.class,
        assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS)).getCause());
  }

  /**
   * A timeout of "forever" ({@code ChronoUnit.FOREVER}, or any past Long.MAX_VALUE ms): open used
   * to throw ArithmeticException (the timeout in ms), and one just short of it made a negative
   * count of retries.
   */
  @Test
  void aTimeoutOfForeverWaitsInsteadOfOverflowing() throws Exception {
    Duration forever = java.time.temporal.ChronoUnit.FOREVER.getDuration();
    try (Cluster c = new Cluster(dir, 1, genesis(params(8), 4), null, BlockPolicy.manual())) {
      c.timeout = forever;
      c.start();
      c.leader();
      CompletableFuture<Receipt> r =
          c.members[0].submit(key(0), Transaction.register(endpoint(0), Modality.TEXT));
      assertEquals(c.members[0].produceBlock().number(), r.get(10, TimeUnit.SECONDS).block());
      try (RaftAdmin admin = RaftAdmin.builder().chainId(c.members[0].chainId())
          .contact("m0", c.addresses.get(0)).timeout(forever).build()) {
        assertEquals(List.of("m0"), List.copyOf(admin.members().keySet()));
      }
    }
  }

  /**
   * A closed member leads nothing: isLeader() (the metrics' bittensor_raft_leader gauge reads it)
   * used to go on answering true for a member that led when it closed, while leader() was empty.
   */
  @Test
  void aClosedMemberDoesNotClaimToLead() throws Exception {
    try (Cluster c = new Cluster(dir, 1, genesis(params(8), 4), null, BlockPolicy.manual())
        .start()) {
      c.leader();
      RaftLedger m = c.members[0];
      assertTrue(m.isLeader());
      c.stop(0);
      assertFalse(m.isLeader(), "a closed member says it leads");
      assertEquals(java.util.Optional.empty(), m.leader());
    }
  }

  /** toString, which logs and assertion messages call, used to throw once the member closed. */
  @Test
  void aClosedMemberStillDescribesItself() throws Exception {
    try (Cluster c = new Cluster(dir, 1, genesis(params(8), 4), null, BlockPolicy.manual())
        .start()) {
      c.leader();
      c.members[0].produceBlock();
      RaftLedger m = c.members[0];
      assertEquals("RaftLedger[m0 of m0, block 1, 0 peers]", m.toString());
      c.stop(0);
      assertEquals("RaftLedger[m0 of m0, closed]", m.toString());
    }
  }

  /**
   * A block sealed through a member whose copy is behind the group's: the group sealed it, and
   * the member had not applied it by the timeout. The failure used to ask "is a majority of the
   * group up?", though a majority had just sealed the block; it says now that this member is
   * behind. The seal and the wait for this member share the call's one timeout: here the seal
   * takes all of it (the leader moves the members' ticker on by the timeout as it seals), so the
   * call fails at once; it used to wait the whole timeout again for the block, twice it in all.
   */
  @Test
  void aBlockTheGroupSealedButThisMemberHasNotYetSaysTheMemberIsBehind() throws Exception {
    AtomicBoolean[] holds = {new AtomicBoolean(), new AtomicBoolean(), new AtomicBoolean()};
    AtomicBoolean[] slowSeal = {new AtomicBoolean(), new AtomicBoolean(), new AtomicBoolean()};
    AtomicLong skipped = new AtomicLong();
    CountDownLatch release = new CountDownLatch(1);
    Cluster c = new Cluster(dir, 3, genesis(params(8), 4),
        Cluster.held(new AtomicBoolean(), release), BlockPolicy.manual());
    long timeout = c.timeout.toNanos();
    c.each = (i, b) -> {
      b.mechanism(Cluster.held(holds[i], release, () -> { // one name: one chain
        if (slowSeal[i].getAndSet(false)) {
          skipped.addAndGet(timeout);
        }
      }));
      b.ticker = () -> System.nanoTime() + skipped.get();
      // Not the cluster's 150 ms: a loaded machine then holds elections, and a held member
      // that wins one never answers the seal (it cannot apply the log it is to answer from).
      b.electionTimeout(Duration.ofSeconds(1));
    };
    try (c) {
      c.start();
      int leader = c.leader();
      int behind = (leader + 1) % 3;
      RaftLedger l = c.members[leader];
      stakedUpTo4(c, l);
      holds[behind].set(true); // that member applies block 5 only once released
      slowSeal[leader].set(true); // the leader's seal of block 5 takes the whole timeout
      long start = System.nanoTime();
      try {
        LedgerException e = assertThrows(LedgerException.class, c.members[behind]::produceBlock);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(e.getMessage().contains("the group sealed block 5, but this member had not"),
            e.getMessage());
        assertFalse(e.getMessage().contains("majority"), e.getMessage());
        assertEquals(timeout, skipped.get(), "the leader's seal took the whole timeout");
        assertTrue(ms < c.timeout.toMillis() / 2, "the seal took the whole timeout, yet the call"
            + " waited " + ms + " ms more for the block here");
      } finally {
        release.countDown();
      }
      c.awaitHeight(5);
      assertEquals(1, c.settledHashes().stream().distinct().count());
    }
  }

  /** Blocks 1 to 4 through {@code l}, with a staked peer: the mechanism runs at block 5's epoch. */
  private static void stakedUpTo4(Cluster c, RaftLedger l) throws Exception {
    l.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT));
    l.submit(key(0), Transaction.addStake(1000));
    for (int i = 0; i < 4; i++) {
      l.produceBlock();
    }
    c.awaitHeight(4);
  }

  @Test
  void aMemberWhoseCopyFailsStopsSayingWhyAndTheGroupGoesOn() throws Exception {
    AtomicBoolean[] fails = {new AtomicBoolean(), new AtomicBoolean(), new AtomicBoolean()};
    Cluster c = new Cluster(dir, 3, genesis(params(8), 4), Cluster.flaky(new AtomicBoolean()),
        BlockPolicy.manual());
    c.each = (i, b) -> b.mechanism(Cluster.flaky(fails[i])); // one name: one chain
    try (c) {
      c.start();
      int leader = c.leader();
      int failing = (leader + 1) % 3;
      int other = (leader + 2) % 3;
      RaftLedger l = c.members[leader];
      stakedUpTo4(c, l);
      CompletableFuture<Receipt> waiting = c.members[failing].submit(key(1),
          Transaction.transfer(key(2).id(), 5));
      fails[failing].set(true); // block 5 fails on that member only
      l.produceBlock();
      LedgerException e = assertInstanceOf(LedgerException.class, assertThrows(
          ExecutionException.class, () -> waiting.get(10, TimeUnit.SECONDS)).getCause());
      assertTrue(e.getMessage().contains("the member stopped"), e.getMessage());
      assertTrue(e.getMessage().contains("the mechanism ran out of memory"), e.getMessage());
      // It serves nothing from a copy that is not the group's, and says why.
      RaftLedger stopped = c.members[failing];
      IllegalStateException read = assertThrows(IllegalStateException.class,
          stopped::metagraph);
      assertTrue(read.getMessage().contains("the mechanism ran out of memory"),
          read.getMessage());
      LedgerException seal = assertThrows(LedgerException.class, stopped::produceBlock);
      assertTrue(seal.getMessage().contains("the member stopped"), seal.getMessage());
      CompletableFuture<Receipt> refused = stopped.submit(key(1),
          Transaction.transfer(key(2).id(), 1));
      assertTrue(assertThrows(ExecutionException.class, () -> refused.get(10,
          TimeUnit.SECONDS)).getCause().getMessage().contains("the member stopped"));
      // The others go on, and agree.
      c.members[other].submit(key(3), Transaction.transfer(key(2).id(), 7));
      l.produceBlock();
      Cluster.awaitTrue(() -> c.members[other].metagraph().block().number() == 6, "block 6");
      assertEquals(l.stateHash(), c.members[other].stateHash());
      assertEquals(FUNDS + 12, l.account(key(2).id()).orElseThrow().balance());
      // Reopened, it replays the log into a new copy and holds the same state.
      c.stop(failing);
      fails[failing].set(false);
      c.open(failing);
      c.awaitHeight(6);
      assertEquals(1, c.settledHashes().stream().distinct().count());
    }
  }

  @Test
  void withoutAMajorityCallsFailClearlyAndTheLedgerIsUnchanged() throws Exception {
    Cluster c = new Cluster(dir, 3, genesis(params(8), 4), null, BlockPolicy.manual());
    c.timeout = Duration.ofSeconds(2);
    try (c) {
      c.start();
      c.leader();
      Hash256 before = c.settledHashes().get(0);
      c.stop(1, 2); // side by side: each takes a second
      RaftLedger alone = c.members[0];
      CompletableFuture<Receipt> f = alone.submit(SignedTransaction.sign(key(0), alone.chainId(),
          0, Transaction.register(endpoint(0), Modality.TEXT)));
      ExecutionException e = assertThrows(ExecutionException.class, f::get);
      LedgerException le = assertInstanceOf(LedgerException.class, e.getCause());
      assertFalse(le instanceof TransactionRejectedException);
      assertTrue(le.getMessage().contains("may or may not be in the ledger"), le.getMessage());
      assertThrows(LedgerException.class, () -> alone.account(key(0).id()));
      // The convenience that reads the nonce first fails on that read.
      assertInstanceOf(LedgerException.class, assertThrows(ExecutionException.class,
          alone.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT))::get).getCause());
      assertThrows(LedgerException.class, alone::produceBlock);
      assertEquals(before, alone.stateHash());
      assertEquals(0, alone.metagraph().size());
    }
  }

  /**
   * A member whose calls failed while its group had no majority serves again once the majority
   * is back: Ratis closes a client whose request ran out of retries, and the member's every
   * later read and submission failed "SlidingWindow$Client:... is closed" until it was restarted
   * (found with three `ledger serve` members, two killed and started again).
   */
  @Test
  void aMemberWhoseCallsFailedWithoutAMajorityServesOnceItIsBack() throws Exception {
    Cluster c = new Cluster(dir, 3, genesis(params(8), 4), null, BlockPolicy.manual());
    c.timeout = Duration.ofSeconds(2);
    try (c) {
      c.start();
      c.leader();
      c.stop(1);
      c.stop(2);
      RaftLedger alone = c.members[0];
      // A leader serves reads from its copy until it sees it lost its majority (about twice
      // the election timeout); the calls this test is about are those that fail after that.
      Cluster.awaitTrue(() -> !alone.isLeader(), "the member left alone not to lead");
      assertThrows(LedgerException.class, () -> alone.account(key(0).id()));
      assertThrows(LedgerException.class, alone::produceBlock);
      c.open(1);
      c.open(2);
      c.leader();
      // Reads come back once the group elects a leader; within the test's timeout.
      java.util.concurrent.atomic.AtomicReference<String> why =
          new java.util.concurrent.atomic.AtomicReference<>("");
      try {
        Cluster.awaitTrue(() -> {
          try {
            alone.account(key(0).id());
            return true;
          } catch (LedgerException e) {
            why.set(e.getMessage());
            return false;
          }
        }, "a read through the member that was alone");
      } catch (AssertionError e) {
        throw new AssertionError(e.getMessage() + ": " + why.get(), e);
      }
      CompletableFuture<Receipt> r = alone.submit(key(0),
          Transaction.register(endpoint(0), Modality.TEXT));
      Block b = c.members[c.leader()].produceBlock();
      assertEquals(b.number(), r.get(10, TimeUnit.SECONDS).block());
      assertTrue(alone.produceBlock().number() > b.number(), "it seals through the leader");
    }
  }

  @Test
  void aFolderOfAnotherChainIsRefused() throws Exception {
    Cluster c = new Cluster(dir, 1, genesis(params(8), 4), null, BlockPolicy.manual());
    c.start().closeNow();
    Cluster other = new Cluster(dir, 1, genesis(params(9), 4), null, BlockPolicy.manual());
    LedgerException e = assertThrows(LedgerException.class, () -> other.open(0));
    assertTrue(e.getMessage().contains("holds chain"), e.getMessage());
  }

  @Test
  void theBuilderRefusesAnIncompleteOrInconsistentGroup() {
    InetSocketAddress a = new InetSocketAddress("127.0.0.1", 9871);
    Genesis g = genesis(params(8), 1);
    assertThrows(IllegalArgumentException.class,
        () -> RaftLedger.builder().member("a b", a));
    assertThrows(IllegalArgumentException.class,
        () -> RaftLedger.builder().member("a", new InetSocketAddress("127.0.0.1", 0)));
    assertThrows(IllegalArgumentException.class,
        () -> RaftLedger.builder().member("a", a).member("a", a));
    IllegalArgumentException oneAddress = assertThrows(IllegalArgumentException.class,
        () -> RaftLedger.builder().member("a", a).member("b", a));
    assertTrue(oneAddress.getMessage().contains("a and b"), oneAddress.getMessage());
    IllegalStateException noSelf = assertThrows(IllegalStateException.class,
        () -> RaftLedger.builder().genesis(g).member("a", a).open(dir));
    assertTrue(noSelf.getMessage().contains("self"), noSelf.getMessage());
    IllegalStateException stranger = assertThrows(IllegalStateException.class,
        () -> RaftLedger.builder().genesis(g).member("a", a).self("b").open(dir));
    assertTrue(stranger.getMessage().contains("not among the members"), stranger.getMessage());
    LedgerException noGenesis = assertThrows(LedgerException.class,
        () -> RaftLedger.builder().member("a", a).self("a").open(dir.resolve("new")));
    assertTrue(noGenesis.getMessage().contains("no genesis given"), noGenesis.getMessage());
  }

  @Test
  void listenersRunOnTheMembersEventThreadInBlockOrder() throws Exception {
    try (Cluster c = new Cluster(dir, 3, genesis(params(8), 4), null, BlockPolicy.manual())
        .start()) {
      RaftLedger follower = c.members[(c.leader() + 1) % 3];
      List<Long> heard = new CopyOnWriteArrayList<>();
      List<String> threads = new CopyOnWriteArrayList<>();
      follower.subscribe(new LedgerListener() {
        @Override
        public void onBlock(Block block, Metagraph after) {
          heard.add(block.number());
          threads.add(Thread.currentThread().getName());
        }
      });
      Block last = null;
      for (int i = 0; i < 7; i++) {
        last = c.members[c.leader()].produceBlock();
      }
      long top = last.number();
      Cluster.awaitTrue(() -> !heard.isEmpty() && heard.get(heard.size() - 1) == top,
          "block " + top + " heard");
      for (int i = 1; i < heard.size(); i++) {
        assertEquals(heard.get(i - 1) + 1, heard.get(i), "blocks in order: " + heard);
      }
      assertTrue(threads.stream().allMatch(t -> t.startsWith("bittensor-raft-events-")),
          "threads " + threads);
    }
  }

  @Test
  void noListenerHearsABlockOnceItsMemberHasClosed() throws Exception {
    try (Cluster c = new Cluster(dir, 3, genesis(params(8), 4), null, BlockPolicy.manual())
        .start()) {
      int leader = c.leader();
      int follower = (leader + 1) % 3;
      CountDownLatch inFirst = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      AtomicBoolean closed = new AtomicBoolean();
      List<Long> afterClose = new CopyOnWriteArrayList<>();
      c.members[follower].subscribe(new LedgerListener() {
        @Override
        public void onBlock(Block block, Metagraph after) {
          if (closed.get()) {
            afterClose.add(block.number());
          }
          inFirst.countDown();
          try {
            release.await(); // holds the event thread, so block 2's event waits behind it
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      });
      c.members[leader].produceBlock();
      assertTrue(inFirst.await(10, TimeUnit.SECONDS));
      long second = c.members[leader].produceBlock().number();
      RaftLedger member = c.members[follower];
      Cluster.awaitTrue(() -> member.metagraph().block().number() == second, "block 2");
      Thread events = Thread.getAllStackTraces().keySet().stream()
          .filter(t -> t.getName().equals("bittensor-raft-events-m" + follower))
          .findFirst().orElseThrow();
      c.stop(follower); // its apply thread has sealed block 2 and queued its event
      closed.set(true);
      release.countDown();
      events.join(10_000); // the event thread ends once its queue is drained
      assertFalse(events.isAlive());
      assertEquals(List.of(), afterClose);
    }
  }

  @Test
  void theBlockTimerOutlivesAnErrorFromTheClock() throws Exception {
    try (Cluster c = new Cluster(dir, 3, genesis(params(8), 4), null,
        BlockPolicy.every(Duration.ofMillis(50)))) {
      AtomicBoolean failed = new AtomicBoolean();
      // Only the leader's timer reads the clock: its first tick meets the Error.
      c.clock = LedgerFixtures.failingWhen(() -> failed.compareAndSet(false, true),
          "a clock that failed once", Clock.systemUTC());
      c.start();
      c.awaitHeight(3);
      assertTrue(failed.get());
    }
  }

  @Test
  void aLedgerServerServesAMemberToRemoteClients() throws Exception {
    try (Cluster c = new Cluster(dir, 3, genesis(params(8), 4), null,
        BlockPolicy.every(Duration.ofMillis(50))).start()) {
      RaftLedger follower = c.members[(c.leader() + 1) % 3];
      try (LedgerServer server = LedgerServer.builder().ledger(follower).host("127.0.0.1")
          .port(0).start();
          RemoteLedger remote = RemoteLedger.connect(server.uri())) {
        Receipt r = remote.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT))
            .get(20, TimeUnit.SECONDS);
        assertTrue(remote.awaitBlock(r.block(), Duration.ofSeconds(10)));
        assertEquals(1, remote.metagraph().size());
        assertEquals(remote.chainId(), follower.chainId());
        // The other members hold it too.
        c.awaitHeight(r.block());
        for (RaftLedger m : c.members) {
          assertEquals(1, m.metagraph().size());
        }
      }
    }
  }

  @Test
  void snapshotsDropTheLogAndAMemberFarBehindIsSentTheLeadersState() throws Exception {
    Cluster c = new Cluster(dir, 3, genesis(params(8), 4), null, BlockPolicy.manual());
    c.snapshotEvery = 5;
    c.logSegmentBytes = 2 * 1024;
    try (c) {
      c.start();
      int leader = c.leader();
      int away = (leader + 1) % 3;
      int other = (leader + 2) % 3;
      c.stop(away);
      // The two left go on for 40 blocks, with transactions, taking snapshots as they go: small
      // log segments fill and are dropped within them (200 blocks took 6 s more).
      RaftLedger m = c.members[other];
      CompletableFuture<Receipt> registered =
          m.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT));
      for (int i = 0; i < 40; i++) {
        if (i % 10 == 0) {
          m.submit(key(1), Transaction.transfer(key(2).id(), 3));
        }
        m.produceBlock();
      }
      assertEquals(1, registered.get(10, TimeUnit.SECONDS).block(), "the peer is in block 1");
      Path log = c.raftFolder(other).resolve("current");
      Cluster.awaitTrue(() -> !exists(log.resolve("log_0-0")) && firstLogIndex(log) > 20,
          "the log dropped before the snapshots");
      assertTrue(hasSnapshot(c.raftFolder(other)), "a snapshot on disk");
      // The member that was away needs entries no one keeps: the leader sends its snapshot.
      RaftLedger back = c.open(away);
      c.awaitHeight(40);
      assertEquals(1, back.metagraph().size());
      assertEquals(FUNDS + 12, back.account(key(2).id()).orElseThrow().balance());
      assertEquals(1, c.settledHashes().stream().distinct().count());
      assertTrue(hasSnapshot(c.raftFolder(away)), "the member that was away holds it too");
      // Every member restarts from its snapshot (and the little log after it).
      Hash256 state = c.settledHashes().get(0);
      c.closeNow();
      c.start();
      c.leader();
      c.awaitHeight(40);
      assertEquals(List.of(state, state, state), c.settledHashes());
    }
  }

  /**
   * A member's latest snapshot is damaged while it is down: it restarts from the one before it
   * (members keep two) and replays the log after it, to the state it had. It used to load the
   * damaged one as if whole (the digest check compared the saved digest with itself).
   */
  @Test
  void aMemberWhoseLatestSnapshotIsDamagedRestartsFromTheOneBefore() throws Exception {
    Cluster c = new Cluster(dir, 1, genesis(params(8), 4), null, BlockPolicy.manual());
    c.snapshotEvery = 5;
    try (c) {
      c.start();
      registerAndTransfer(c.members[0], 12);
      Path sm = c.raftFolder(0).resolve("sm");
      Cluster.awaitTrue(() -> Cluster.snapshots(sm).size() == 2, "snapshots of blocks 5 and 10");
      Hash256 state = c.settledHashes().get(0);
      c.closeNow();
      Cluster.damage(Cluster.snapshots(sm).get(1));
      c.start();
      c.awaitHeight(12);
      assertEquals(List.of(state), c.settledHashes());
      assertEquals(FUNDS + 12, c.members[0].account(key(2).id()).orElseThrow().balance());
    }
  }

  /**
   * A member's only snapshot is damaged while it is down, and its Raft log still holds every
   * entry (none was dropped): it restarts from the genesis, replays the whole log to the group's
   * state, and goes on with the group. It used to refuse to start.
   */
  @Test
  void aMemberWhoseOnlySnapshotIsDamagedReplaysTheWholeLogToTheGroupsState() throws Exception {
    Cluster c = new Cluster(dir, 3, genesis(params(8), 4), null, BlockPolicy.manual());
    c.snapshotEvery = 5;
    try (c) {
      c.start();
      int away = (c.leader() + 1) % 3;
      registerAndTransfer(c.members[c.leader()], 7);
      Path sm = c.raftFolder(away).resolve("sm");
      Cluster.awaitTrue(() -> Cluster.snapshots(sm).size() == 1, "the snapshot of block 5");
      Hash256 state = c.settledHashes().get(0);
      Path log = c.raftFolder(away).resolve("current");
      c.stop(away);
      assertEquals(0, firstLogIndex(log), "the log from its first entry");
      Cluster.damage(Cluster.snapshots(sm).get(0));
      RaftLedger back = c.open(away);
      c.awaitHeight(7);
      assertEquals(List.of(state, state, state), c.settledHashes());
      assertEquals(FUNDS + 9, back.account(key(2).id()).orElseThrow().balance());
      // It goes on with the group.
      c.members[c.leader()].produceBlock();
      c.awaitHeight(8);
      assertEquals(1, c.settledHashes().stream().distinct().count());
    }
  }

  /**
   * Through {@code m}, registers a peer and seals {@code blocks} blocks, transferring 3 tokens
   * from key 1 to key 2 before every third block, the first included.
   */
  private static void registerAndTransfer(RaftLedger m, int blocks) throws Exception {
    m.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT));
    for (int i = 0; i < blocks; i++) {
      if (i % 3 == 0) {
        m.submit(key(1), Transaction.transfer(key(2).id(), 3));
      }
      m.produceBlock();
    }
  }

  /**
   * Raft counts entries and the ledger snapshots every so many blocks, each block several
   * entries: a member writes each snapshot once, at its block, and never again (it used to
   * write the latest one again after every entry until the next, most of a busy group's CPU).
   */
  @Test
  void eachSnapshotIsWrittenOnceAtItsBlock() throws Exception {
    Cluster c = new Cluster(dir, 3, genesis(params(8), 4), null, BlockPolicy.manual());
    c.snapshotEvery = 5;
    try (c) {
      c.start();
      RaftLedger lead = c.members[c.leader()];
      Path sm = c.raftFolder(c.leader()).resolve("sm");
      Map<String, Object> written = new LinkedHashMap<>(); // snapshot file -> its inode
      AtomicInteger rewrites = new AtomicInteger();
      for (int block = 1; block <= 30; block++) {
        List<CompletableFuture<Receipt>> sent = new ArrayList<>();
        for (int from = 1; from <= 3; from++) { // three entries for each block's one seal
          sent.add(lead.submit(SignedTransaction.sign(key(from), lead.chainId(), block - 1,
              Transaction.transfer(key(0).id(), 1))));
        }
        Block sealed = lead.produceBlock();
        for (CompletableFuture<Receipt> r : sent) {
          assertEquals(sealed.number(), r.get(10, TimeUnit.SECONDS).block());
        }
        rewrites.addAndGet(lookAtSnapshots(sm, written));
      }
      // The member writes a block's snapshot after the entry that sealed it: the last may lag.
      Cluster.awaitTrue(() -> {
        rewrites.addAndGet(lookAtSnapshots(sm, written));
        return written.size() >= 6;
      }, "the snapshot of block 30");
      assertEquals(0, rewrites.get(), "snapshots written again: " + written.keySet());
      // Blocks 5, 10, ... 30: six snapshots, each at its block's seal.
      assertEquals(6, written.size(), "snapshots: " + written.keySet());
      assertEquals(FUNDS + 90, lead.account(key(0).id()).orElseThrow().balance());
    }
  }

  /**
   * Records each snapshot file in {@code sm} with its inode (a file written again is a new one)
   * and returns how many of those already seen were written again since the last look.
   */
  private static int lookAtSnapshots(Path sm, Map<String, Object> written) {
    int rewrites = 0;
    try (Stream<Path> files = Files.list(sm)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        if (!f.getFileName().toString().matches("snapshot\\.\\d+_\\d+")) {
          continue;
        }
        Object inode;
        try {
          inode = Files.readAttributes(f, BasicFileAttributes.class).fileKey();
        } catch (NoSuchFileException gone) {
          continue; // the older of two dropped meanwhile
        }
        Object before = written.put(f.getFileName().toString(), inode);
        if (before != null && !before.equals(inode)) {
          rewrites++;
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return rewrites;
  }

  @Test
  void withMutualTlsOnlyMembersCertifiedByTheGroupsAuthorityTakePart() throws Exception {
    Path tls = Path.of(getClass().getResource("/tls/ca.pem").toURI()).getParent();
    Cluster c = new Cluster(dir, 3, genesis(params(8), 4), null, BlockPolicy.manual());
    // m0 and m1 hold certificates of the group's authority; m2's comes from another one.
    c.each = (i, b) -> {
      String who = i == 2 ? "rogue" : "member";
      b.tls(tls.resolve(who + ".key"), tls.resolve(who + ".pem"),
          tls.resolve(i == 2 ? "rogue-ca.pem" : "ca.pem"));
      if (i == 2) {
        // Its calls fail at the timeout; the others' 10 s, as 3 s did not seal at a load of 20.
        b.timeout(Duration.ofSeconds(3));
      }
    };
    try (c) {
      c.start();
      int leader = c.leader();
      assertNotEquals(2, leader, "the stranger cannot win an election");
      RaftLedger follower = c.members[1 - leader];
      CompletableFuture<Receipt> r =
          follower.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT));
      Block b = c.members[leader].produceBlock();
      assertEquals(b.number(), r.get(10, TimeUnit.SECONDS).block());
      Cluster.awaitTrue(() -> follower.metagraph().block().number() == b.number(),
          "the follower at the block");
      assertEquals(1, follower.metagraph().size());
      // The stranger hears nothing and gets nothing in.
      RaftLedger stranger = c.members[2];
      assertEquals(0, stranger.metagraph().block().number());
      CompletableFuture<Receipt> refused = stranger.submit(SignedTransaction.sign(key(1),
          stranger.chainId(), 0, Transaction.register(endpoint(1), Modality.TEXT)));
      assertInstanceOf(LedgerException.class,
          assertThrows(ExecutionException.class, refused::get).getCause());
      c.members[leader].produceBlock();
      assertEquals(1, c.members[leader].metagraph().size(), "nothing of the stranger's got in");
      assertEquals(0, stranger.metagraph().block().number());
    }
  }

  @Test
  void tlsNeedsFilesThatExist() {
    Path missing = dir.resolve("missing.pem");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> RaftLedger.builder().tls(missing, missing, missing));
    assertTrue(e.getMessage().contains("missing.pem"), e.getMessage());
  }

  @Test
  void theGroupTakesInANewMemberAndLetsAnOldOneGo() throws Exception {
    Genesis g = genesis(params(8), 4);
    try (Cluster c = new Cluster(dir, 3, g, null, BlockPolicy.manual()).start()) {
      int leader = c.leader();
      RaftLedger lead = c.members[leader];
      lead.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT));
      lead.produceBlock();

      // A fourth member starts with the new list, then the group takes it in.
      Map<String, InetSocketAddress> four = c.plus("m3");
      try (RaftLedger fourth = c.openNewMember(dir, "m3", four)) {
        lead.changeMembers(four);
        assertEquals(four.keySet(), lead.members().keySet());
        Block sealed = lead.produceBlock();
        Cluster.awaitTrue(() -> fourth.metagraph().block().number() == sealed.number(),
            "the new member caught up");
        assertEquals(lead.stateHash(), fourth.stateHash());

        // One old follower leaves; then another stops. The leader and the new member are two
        // of the three left: a majority, so the new member counts.
        int leaving = (leader + 1) % 3;
        int stopping = (leader + 2) % 3;
        Map<String, InetSocketAddress> three = new LinkedHashMap<>(four);
        three.remove(c.ids.get(leaving));
        lead.changeMembers(three);
        assertEquals(three.keySet(), fourth.members().keySet());
        c.stop(leaving, stopping);
        CompletableFuture<Receipt> r =
            fourth.submit(key(1), Transaction.register(endpoint(1), Modality.TEXT));
        // Either of the two may lead now (the old leader may step down under load, and the
        // cluster sees only its own members): the new member passes the seal to whichever does.
        Block after = fourth.produceBlock();
        assertEquals(after.number(), r.get(10, TimeUnit.SECONDS).block());
        Cluster.awaitTrue(() -> fourth.metagraph().size() == 2, "the new member's copy");
      }
    }
  }

  @Test
  void aRemoteClientOfEveryMemberMovesOnWhenItsServerGoes() throws Exception {
    try (Cluster c = new Cluster(dir, 3, genesis(params(8), 4), null,
        BlockPolicy.every(Duration.ofMillis(50))).start()) {
      c.leader();
      List<LedgerServer> servers = new ArrayList<>();
      List<java.net.URI> uris = new ArrayList<>();
      try {
        for (RaftLedger m : c.members) {
          LedgerServer s = LedgerServer.builder().ledger(m).host("127.0.0.1").port(0).start();
          servers.add(s);
          uris.add(s.uri());
        }
        try (RemoteLedger remote = RemoteLedger.builder().timeout(Duration.ofSeconds(5))
            .connect(uris)) {
          assertEquals(uris.get(0), remote.uri());
          List<Long> heard = new CopyOnWriteArrayList<>();
          remote.subscribe(new LedgerListener() {
            @Override
            public void onBlock(Block block, Metagraph after) {
              heard.add(block.number());
            }
          });
          remote.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT))
              .get(20, TimeUnit.SECONDS);
          // The member behind the server in use goes, server and all.
          servers.get(0).close();
          c.stop(0);
          Receipt r = remote.submit(key(1), Transaction.register(endpoint(1), Modality.TEXT))
              .get(20, TimeUnit.SECONDS);
          assertNotEquals(uris.get(0), remote.uri(), "the client moved on");
          assertTrue(remote.awaitBlock(r.block(), Duration.ofSeconds(20)));
          assertEquals(2, remote.metagraph().size());
          for (int i = 1; i < heard.size(); i++) {
            assertEquals(heard.get(i - 1) + 1, heard.get(i), "no block twice or missed: " + heard);
          }
          assertTrue(heard.contains(r.block()), "its listener heard the new server's blocks");
        }
      } finally {
        servers.forEach(LedgerServer::close);
      }
    }
  }

  private static boolean hasSnapshot(Path group) {
    try (Stream<Path> files = Files.list(group.resolve("sm"))) {
      return files.anyMatch(f -> f.getFileName().toString().matches("snapshot\\.\\d+_\\d+"));
    } catch (IOException e) {
      return false;
    }
  }

  private static boolean exists(Path p) {
    return Files.exists(p);
  }

  /** The first index of the oldest log segment left (log_START-END or log_inprogress_START). */
  private static long firstLogIndex(Path current) {
    try (Stream<Path> files = Files.list(current)) {
      return files.map(f -> f.getFileName().toString())
          .filter(n -> n.startsWith("log_"))
          .mapToLong(n -> Long.parseLong(n.replace("log_inprogress_", "").replace("log_", "")
              .split("-")[0]))
          .min().orElse(-1);
    } catch (IOException e) {
      return -1;
    }
  }

  /** Waits until the group has accepted {@code nonce} transactions from {@code id}. */
  private static void awaitAccepted(Cluster c, PeerId id, long nonce) {
    Cluster.awaitTrue(() -> {
      try {
        return c.members[c.leader()].nextNonce(id) >= nonce;
      } catch (LedgerException e) {
        return false;
      }
    }, id + "'s nonce " + nonce);
  }
}
