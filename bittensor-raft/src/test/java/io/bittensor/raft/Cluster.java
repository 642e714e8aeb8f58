package io.bittensor.raft;

import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Genesis;
import io.bittensor.core.Hash256;
import io.bittensor.incentive.EpochResult;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.incentive.NetworkState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/** A group of members on loopback, each in its own folder, for tests. */
public final class Cluster implements AutoCloseable {
  final Genesis genesis;
  final IncentiveMechanism mechanism;
  final BlockPolicy policy;
  final List<String> ids = new ArrayList<>();
  final List<InetSocketAddress> addresses = new ArrayList<>();
  final List<Path> dirs = new ArrayList<>();
  public final RaftLedger[] members;
  Duration timeout = Duration.ofSeconds(10);
  public java.time.Clock clock = java.time.Clock.systemUTC();
  /** Snapshots every so many blocks (-1: the builder's default), and small log segments. */
  int snapshotEvery = -1;
  long logSegmentBytes;
  /** Anything more for member {@code i}'s builder. */
  java.util.function.BiConsumer<Integer, RaftLedger.Builder> each = (i, b) -> { };

  public Cluster(Path root, int size, Genesis genesis, IncentiveMechanism mechanism,
      BlockPolicy policy) {
    this.genesis = genesis;
    this.mechanism = mechanism;
    this.policy = policy;
    this.members = new RaftLedger[size];
    for (int i = 0; i < size; i++) {
      ids.add("m" + i);
      addresses.add(new InetSocketAddress("127.0.0.1", freePort()));
      dirs.add(root.resolve("m" + i));
    }
  }

  static int freePort() {
    return io.bittensor.core.testing.LoopbackPorts.free();
  }

  /** The paper's mechanism, named "flaky", throwing an Error (as out of memory) when told to. */
  public static IncentiveMechanism flaky(AtomicBoolean fails) {
    return paperNamed("flaky", () -> {
      if (fails.get()) {
        throw new Error("the mechanism ran out of memory");
      }
    });
  }

  /**
   * The paper's mechanism, named "held", that waits for {@code release} while {@code holds} is
   * set: a member whose copy applies the log behind the group's.
   */
  public static IncentiveMechanism held(AtomicBoolean holds, CountDownLatch release) {
    return held(holds, release, () -> { });
  }

  /** As {@link #held}, running {@code then} at each epoch once any hold is over. */
  public static IncentiveMechanism held(AtomicBoolean holds, CountDownLatch release,
      Runnable then) {
    return paperNamed("held", () -> {
      if (holds.get()) {
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      then.run();
    });
  }

  /** The paper's mechanism under {@code name} (one name, one chain), running {@code first}. */
  private static IncentiveMechanism paperNamed(String name, Runnable first) {
    IncentiveMechanism paper = IncentiveMechanism.paper();
    return new IncentiveMechanism() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public EpochResult step(NetworkState state) {
        first.run();
        return paper.step(state);
      }
    };
  }

  /** Member {@code i}'s builder, with the genesis (which only creating a member needs). */
  RaftLedger.Builder builder(int i) {
    return builderWithoutGenesis(i).genesis(genesis);
  }

  RaftLedger.Builder builderWithoutGenesis(int i) {
    RaftLedger.Builder b = RaftLedger.builder()
        .self(ids.get(i))
        .blocks(policy)
        .timeout(timeout)
        .clock(clock)
        .electionTimeout(Duration.ofMillis(150));
    if (mechanism != null) {
      b.mechanism(mechanism);
    }
    if (snapshotEvery >= 0) {
      b.snapshotEvery(snapshotEvery);
    }
    b.logSegmentBytes = logSegmentBytes;
    each.accept(i, b);
    for (int j = 0; j < ids.size(); j++) {
      b.member(ids.get(j), addresses.get(j));
    }
    return b;
  }

  /** The cluster's members, and one more, {@code id}, on a free port: a group to grow into. */
  java.util.Map<String, InetSocketAddress> plus(String id) {
    java.util.Map<String, InetSocketAddress> grown = new java.util.LinkedHashMap<>();
    for (int i = 0; i < ids.size(); i++) {
      grown.put(ids.get(i), addresses.get(i));
    }
    grown.put(id, new InetSocketAddress("127.0.0.1", freePort()));
    return grown;
  }

  /**
   * Opens {@code id}, a member not among the cluster's, in {@code root/id} with {@code members}.
   */
  RaftLedger openNewMember(Path root, String id, java.util.Map<String, InetSocketAddress> members)
      throws IOException {
    RaftLedger.Builder b = RaftLedger.builder().genesis(genesis).self(id)
        .blocks(BlockPolicy.manual()).electionTimeout(Duration.ofMillis(150));
    members.forEach(b::member);
    return b.open(root.resolve(id));
  }

  /** Opens every member (concurrently is not needed: each waits for no one while opening). */
  public Cluster start() throws IOException {
    for (int i = 0; i < members.length; i++) {
      open(i);
    }
    return this;
  }

  RaftLedger open(int i) throws IOException {
    // A port picked free and closed again can be taken meanwhile, for a moment or for good
    // (an outgoing connection's local port); try again a few times before failing the test.
    for (int attempt = 1; ; attempt++) {
      try {
        members[i] = builder(i).open(dirs.get(i));
        return members[i];
      } catch (IOException e) {
        if (attempt == 20 || !String.valueOf(e.getMessage()).contains("could not listen")) {
          throw e;
        }
        sleep(250);
      }
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }


  /** The index of the member that leads, once one does. */
  public int leader() {
    awaitTrue(() -> leaderOrMinus1() >= 0, "a leader");
    return leaderOrMinus1();
  }

  private int leaderOrMinus1() {
    for (int i = 0; i < members.length; i++) {
      if (members[i] != null && members[i].isLeader()) {
        return i;
      }
    }
    return -1;
  }

  /** Waits until every open member has sealed block {@code height} or more. */
  void awaitHeight(long height) {
    awaitTrue(() -> {
      for (RaftLedger m : members) {
        if (m != null && m.metagraph().block().number() < height) {
          return false;
        }
      }
      return true;
    }, "every member at block " + height);
  }

  /** The state hashes of the open members, once all reached the same block. */
  List<Hash256> settledHashes() {
    long top = 0;
    for (RaftLedger m : members) {
      if (m != null) {
        top = Math.max(top, m.metagraph().block().number());
      }
    }
    awaitHeight(top);
    List<Hash256> hashes = new ArrayList<>();
    for (RaftLedger m : members) {
      if (m != null) {
        hashes.add(m.stateHash());
      }
    }
    return hashes;
  }

  static void awaitTrue(BooleanSupplier condition, String what) {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for " + what, e);
      }
    }
  }

  /** Member {@code i}'s group folder in its Raft storage: the log in current/, snapshots in sm/. */
  Path raftFolder(int i) throws IOException {
    try (Stream<Path> groups = Files.list(dirs.get(i).resolve("raft"))) {
      return groups.filter(Files::isDirectory).findFirst().orElseThrow();
    }
  }

  /** The snapshot files in {@code sm} (a {@link #raftFolder}'s), the oldest first. */
  static List<Path> snapshots(Path sm) {
    try (Stream<Path> files = Files.list(sm)) {
      return files.filter(f -> f.getFileName().toString().matches("snapshot\\.\\d+_\\d+"))
          .sorted(Comparator.comparingLong(
              f -> Long.parseLong(f.getFileName().toString().replaceAll(".*_", ""))))
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Flips a byte in the middle of {@code file}, a snapshot: its saved digest no longer matches. */
  static void damage(Path file) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    bytes[bytes.length / 2] ^= 1;
    Files.write(file, bytes);
  }

  /**
   * Closes the members side by side, each on a thread of its own, and returns without waiting
   * for them in a class {@link ClosingInBackground}; else as {@link #closeNow}.
   */
  @Override
  public void close() {
    if (inBackground) {
      CLOSING.addAll(stopAll());
    } else {
      closeNow();
    }
  }

  /**
   * Closes the members side by side and waits for them: each takes about a second to stop its
   * Raft server (Ratis' log worker looks at its queue once a second). For a restart, or a look
   * at a folder once its member has let it go.
   */
  public void closeNow() {
    join(stopAll());
  }

  private List<Thread> stopAll() {
    List<Thread> closing = new ArrayList<>();
    for (int i = 0; i < members.length; i++) {
      RaftLedger m = members[i];
      if (m != null) {
        members[i] = null;
        Thread t = new Thread(m::close, "closing-m" + i);
        t.start();
        closing.add(t);
      }
    }
    return closing;
  }

  /** Stops the members {@code which} side by side (a second each, one after the other). */
  void stop(int... which) {
    List<Thread> closing = new ArrayList<>();
    for (int i : which) {
      RaftLedger m = members[i];
      members[i] = null;
      Thread t = new Thread(m::close, "closing-m" + i);
      t.start();
      closing.add(t);
    }
    join(closing);
  }

  private static void join(List<Thread> threads) {
    for (Thread t : threads) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** Members closing in the background, for {@link ClosingInBackground}. */
  private static final List<Thread> CLOSING = new java.util.concurrent.CopyOnWriteArrayList<>();
  private static volatile boolean inBackground;

  /**
   * For a test class ({@code @ExtendWith(Cluster.ClosingInBackground.class)}): while it runs,
   * {@link #close} does not wait for the members to close, so that its clusters close while its
   * next tests run rather than a second each; after it, every one has closed. For a class whose
   * folders outlive each test (a static {@code @TempDir}, cleaned after this) and whose tests
   * {@link #closeNow} where they open or read a folder again. Classes run one at a time. Not
   * RaftBlocksTest: its members close journals they keep, real work to overlap the next test
   * with, for a second each over a dozen tests.
   */
  public static final class ClosingInBackground implements BeforeAllCallback, AfterAllCallback {
    @Override
    public void beforeAll(ExtensionContext context) {
      inBackground = true;
    }

    @Override
    public void afterAll(ExtensionContext context) {
      inBackground = false;
      join(CLOSING);
      CLOSING.clear();
    }
  }
}
