package io.bittensor.examples;

import io.bittensor.core.BlockPolicy;
import io.bittensor.core.ChainAudit;
import io.bittensor.core.Genesis;
import io.bittensor.core.Keypair;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.Modality;
import io.bittensor.core.Receipt;
import io.bittensor.core.Transaction;
import io.bittensor.raft.RaftAdmin;
import io.bittensor.raft.RaftLedger;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A ledger replicated over three members with Raft, all in this process on loopback (on real
 * machines each member runs on its own, with the same member list): peers register through
 * different members, the leader stops and the other two go on, and it comes back and catches up.
 * The members keep their blocks, so the one that came back reads them all back and the chain is
 * audited through it from its genesis block.
 *
 * <pre>
 * mvn -B -q -pl examples -am package -DskipTests dependency:build-classpath \
 *     -Dmdep.outputFile=target/classpath.txt
 * java -cp "examples/target/classes:$(cat examples/target/classpath.txt)" \
 *     io.bittensor.examples.ReplicatedLedger
 * </pre>
 */
public final class ReplicatedLedger {
  private static final String[] IDS = {"a", "b", "c"};

  private ReplicatedLedger() {}

  public static void main(String[] args) throws Exception {
    TemporaryFolder.use("replicated-ledger", dir -> run(dir, System.out));
  }

  static void run(Path dir, PrintStream out) throws Exception {
    Keypair alice = Keypair.generate();
    Keypair bob = Keypair.generate();
    Keypair carol = Keypair.generate();
    Genesis genesis = Genesis.builder()
        .chainName("replicated-example")
        .createdAt(Instant.parse("2026-12-05T00:00:00Z"))   // every member makes the same genesis
        .params(LedgerParams.defaults())
        .allocate(alice.id(), 1_000_000)
        .allocate(bob.id(), 1_000_000)
        .allocate(carol.id(), 1_000_000)
        .build();
    InetSocketAddress[] raft = new InetSocketAddress[IDS.length];
    for (int i = 0; i < IDS.length; i++) {
      raft[i] = new InetSocketAddress("127.0.0.1", freePort());
    }
    RaftLedger[] members = new RaftLedger[IDS.length];
    try {
      for (int i = 0; i < IDS.length; i++) {
        members[i] = member(genesis, raft, i, dir);
      }
      int leader = awaitLeader(members, Duration.ofSeconds(30));
      out.println("leader " + IDS[leader]);

      // Any member takes transactions; the receipt comes once the block is sealed here.
      Receipt r1 = members[(leader + 1) % 3].submit(alice,
          Transaction.register(URI.create("http://10.0.0.1:8091"), Modality.TEXT))
          .get(30, TimeUnit.SECONDS);
      Receipt r2 = members[(leader + 2) % 3].submit(bob,
          Transaction.register(URI.create("http://10.0.0.2:8091"), Modality.TEXT))
          .get(30, TimeUnit.SECONDS);
      out.println("registered alice in block " + r1.block() + " and bob in block " + r2.block());

      // The leader stops: the two left elect another and go on.
      members[leader].close();
      members[leader] = null;
      int other = (leader + 1) % 3;
      Receipt r3 = members[other].submit(carol,
          Transaction.register(URI.create("http://10.0.0.3:8091"), Modality.TEXT))
          .get(30, TimeUnit.SECONDS);
      out.println(IDS[leader] + " stopped; registered carol in block " + r3.block()
          + ", new leader " + members[other].leader().orElse("?"));

      // It comes back from its folder (no genesis needed) and catches up.
      members[leader] = member(null, raft, leader, dir);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (members[leader].metagraph().block().number() < r3.block()
          && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      out.println(IDS[leader] + " is back at block " + members[leader].metagraph().block().number()
          + " with " + members[leader].metagraph().size() + " peers");
      out.println("same state on every member: " + sameState(members));

      // Members that keep their blocks read them back, and the chain can be audited from its
      // genesis block through any of them (here the one that was away for a while).
      int[] registrations = {0};
      members[leader].readBlocks(1, Long.MAX_VALUE, r -> {
        registrations[0] += r.transactions().size();
        return true;
      });
      ChainAudit.Result audit = ChainAudit.verify(members[leader].chainId(), members[leader],
          Long.MAX_VALUE);
      out.println(IDS[leader] + " read back " + registrations[0] + " registrations; blocks 1 to "
          + audit.last().number() + " replay from genesis");

      // An operator's view from outside the group, through one member: who the members are.
      // (RaftAdmin.changeMembers adds and removes them; on the command line, ledger members.)
      try (RaftAdmin admin = RaftAdmin.builder().chainOf(dir.resolve(IDS[other]))
          .contact(IDS[other], raft[other]).build()) {
        out.println("members " + admin.members().keySet());
      }
    } finally {
      for (RaftLedger m : members) {
        if (m != null) {
          m.close();
        }
      }
    }
  }

  private static RaftLedger member(Genesis genesis, InetSocketAddress[] raft, int self, Path dir)
      throws IOException {
    RaftLedger.Builder b = RaftLedger.builder()
        .self(IDS[self])
        .blocks(BlockPolicy.every(Duration.ofMillis(200)))
        .keepBlocks(true);                                  // blocks to read back and audit
    for (int i = 0; i < IDS.length; i++) {
      b.member(IDS[i], raft[i]);
    }
    if (genesis != null) {
      b.genesis(genesis);
    }
    return b.open(dir.resolve(IDS[self]));
  }

  /** The index of the leader, once one is elected; a group that never elects one ends here. */
  static int awaitLeader(RaftLedger[] members, Duration timeout)
      throws InterruptedException, TimeoutException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      for (int i = 0; i < members.length; i++) {
        if (members[i] != null && members[i].isLeader()) {
          return i;
        }
      }
      if (System.nanoTime() - deadline >= 0) {
        throw new TimeoutException("no member of " + Arrays.toString(IDS)
            + " became leader within " + timeout.toMillis() + " ms");
      }
      Thread.sleep(20);
    }
  }

  /** Whether every member's state hash is the same, once all reached the same block. */
  private static boolean sameState(RaftLedger[] members) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      long first = members[0].metagraph().block().number();
      boolean level = true;
      for (RaftLedger m : members) {
        level &= m.metagraph().block().number() == first;
      }
      if (level) {
        var hash = members[0].stateHash();
        boolean same = true;
        for (RaftLedger m : members) {
          same &= m.stateHash().equals(hash)
              && m.metagraph().block().number() == first;
        }
        if (same) {
          return true;
        }
      }
      Thread.sleep(20);
    }
    return false;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
