package io.bittensor.raft.internal;

import static io.bittensor.core.testing.LedgerFixtures.endpoint;
import static io.bittensor.core.testing.LedgerFixtures.genesis;
import static io.bittensor.core.testing.LedgerFixtures.key;
import static io.bittensor.core.testing.LedgerFixtures.params;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.Block;
import io.bittensor.core.Genesis;
import io.bittensor.core.Hash256;
import io.bittensor.core.LedgerException;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Modality;
import io.bittensor.core.Receipt;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Transaction;
import io.bittensor.raft.Cluster;
import io.bittensor.incentive.IncentiveMechanism;
import java.io.File;
import java.io.IOException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.ratis.io.MD5Hash;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.proto.RaftProtos.RaftPeerRole;
import org.apache.ratis.proto.RaftProtos.StateMachineLogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.raftlog.RaftLog;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.MD5FileUtil;
import org.apache.ratis.util.SizeInBytes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * One member's state machine driven entry by entry, without Raft around it: what it does when
 * its copy of the ledger fails, and when it installs a snapshot the leader sent.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LedgerStateMachineTest {
  private static final Genesis GENESIS = genesis(params(8), 4);

  @TempDir Path dir;
  /**
   * The member's event thread, here the applying thread itself: a receipt's waiters then run
   * before the apply returns, the earliest they can (and a stop's after it, deterministically).
   */
  private final Executor events = Runnable::run;
  private final AtomicBoolean mechanismFails = new AtomicBoolean();
  /** The paper's mechanism, throwing an Error (as out of memory) when told to. */
  private final IncentiveMechanism mechanism = Cluster.flaky(mechanismFails);
  /** The chain's id, as the machines' replicas have it. */
  private Hash256 chainId;
  private long index;

  private LedgerStateMachine machine(String name, int snapshotEvery) throws IOException {
    return machine(name, snapshotEvery, RaftStorage.StartupOption.FORMAT);
  }

  /** The machines' storages, each holding its folder's lock until closed. */
  private final List<RaftStorage> storages = new java.util.ArrayList<>();

  /** Member {@code name}, its storage made new ({@code FORMAT}) or as it was left. */
  private LedgerStateMachine machine(String name, int snapshotEvery,
      RaftStorage.StartupOption option) throws IOException {
    LedgerStateMachine m = new LedgerStateMachine(GENESIS, mechanism, 1000, snapshotEvery, null,
        false, events);
    RaftStorage storage = RaftStorage.newBuilder()
        .setDirectory(dir.resolve(name).toFile())
        .setOption(option)
        .setStorageFreeSpaceMin(SizeInBytes.ZERO)
        .setLogCorruptionPolicy(RaftServerConfigKeys.Log.CorruptionPolicy.getDefault())
        .build();
    storage.initialize();
    storages.add(storage);
    m.initialize(server(name), RaftGroupId.randomId(), storage);
    chainId = m.replica().chainId();
    return m;
  }

  /** A Raft server that only says who it is (the state machine names itself after it). */
  private static RaftServer server(String id) {
    return (RaftServer) Proxy.newProxyInstance(RaftServer.class.getClassLoader(),
        new Class<?>[] {RaftServer.class}, (proxy, method, args) -> {
          if (method.getName().equals("getId")) {
            return RaftPeerId.valueOf(id);
          }
          throw new UnsupportedOperationException(method.getName());
        });
  }

  /** Applies the next log entry, {@code data}, as Ratis does, at term 1. */
  private CompletableFuture<Message> apply(LedgerStateMachine m, byte[] data) {
    LogEntryProto entry = LogEntryProto.newBuilder()
        .setTerm(1)
        .setIndex(++index)
        .setStateMachineLogEntry(StateMachineLogEntryProto.newBuilder()
            .setLogData(ByteString.copyFrom(data)))
        .build();
    return m.applyTransaction(TransactionContext.newBuilder()
        .setStateMachine(m)
        .setServerRole(RaftPeerRole.FOLLOWER)
        .setLogEntry(entry)
        .build());
  }

  private SignedTransaction tx(int signer, long nonce, Transaction body) {
    return SignedTransaction.sign(key(signer), chainId, nonce, body);
  }

  private SignedTransaction transfer(int from, long nonce) {
    return tx(from, nonce, Transaction.transfer(key(3).id(), 1 + nonce));
  }

  /** A seal entry, a second after the last. */
  private byte[] sealEntry() {
    return Entries.seal(GENESIS.createdAt().toEpochMilli() + 1000 * index);
  }

  private void seal(LedgerStateMachine m) throws Exception {
    apply(m, sealEntry()).get(10, TimeUnit.SECONDS);
  }

  /** A wait for block {@code number} and one for {@code tx}, as calls through a member wait. */
  private static List<CompletableFuture<?>> waitFor(LedgerStateMachine m, SignedTransaction tx,
      long number) {
    return List.of(m.awaitBlock(number), m.awaitTransaction(tx));
  }

  /** Checks that each of {@code waiting} failed with a message that says each of {@code says}. */
  private static void assertAllFail(List<CompletableFuture<?>> waiting, String... says) {
    for (CompletableFuture<?> f : waiting) {
      String message = failure(f).getMessage();
      for (String part : says) {
        assertTrue(message.contains(part), message);
      }
    }
  }

  /** What {@code action} threw, or null. */
  private static Throwable thrownBy(Runnable action) {
    try {
      action.run();
      return null;
    } catch (RuntimeException | Error e) {
      return e;
    }
  }

  private static LedgerException failure(CompletableFuture<?> f) {
    return assertInstanceOf(LedgerException.class,
        assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS)).getCause());
  }

  /** Blocks 1 to 4, with a peer that stakes (so that the mechanism runs at block 5's epoch). */
  private void stakedUpTo4(LedgerStateMachine m) throws Exception {
    Message reply = apply(m, Entries.batch(List.of(
        tx(0, 0, Transaction.register(endpoint(0), Modality.TEXT)),
        tx(0, 1, Transaction.addStake(1000))))).get(10, TimeUnit.SECONDS);
    for (byte[] outcome : Entries.outcomes(reply.getContent().toByteArray())) {
      assertEquals(Optional.empty(), Entries.rejection(outcome));
    }
    for (int i = 0; i < 4; i++) {
      seal(m);
    }
  }

  @Test
  void aCopyThatFailsSealingStopsTheMemberAndFailsItsWaitersWithTheCause() throws Exception {
    LedgerStateMachine m = machine("m", 0);
    stakedUpTo4(m);
    SignedTransaction inBlock5 = transfer(1, 0);
    List<CompletableFuture<?>> waiting = waitFor(m, inBlock5, 5);
    apply(m, Entries.batch(List.of(inBlock5))).get(10, TimeUnit.SECONDS);
    mechanismFails.set(true);
    Throwable thrown = thrownBy(() -> apply(m, sealEntry()));
    assertAllFail(waiting, "copy of the ledger failed sealing a block",
        "the mechanism ran out of memory");
    // The apply throws: Ratis then closes this member's part in the group, at once.
    assertInstanceOf(IllegalStateException.class, thrown);
    assertTrue(thrown.getMessage().contains("the mechanism ran out of memory"),
        thrown.getMessage());
    // It neither reads nor applies from a copy that is no longer the log's.
    IllegalStateException read = assertThrows(IllegalStateException.class,
        () -> m.read(LocalLedger::metagraph));
    assertTrue(read.getMessage().contains("the member stopped"), read.getMessage());
    assertThrows(IllegalStateException.class,
        () -> apply(m, Entries.batch(List.of(transfer(1, 1)))));
    assertTrue(failure(m.awaitTransaction(transfer(2, 0))).getMessage()
        .contains("the mechanism ran out of memory"));
    assertTrue(failure(m.awaitBlock(6)).getMessage().contains("the member stopped"));
  }

  @Test
  void aCopyClosedUnderTheMemberStopsItInsteadOfAcceptingWhatItCannotApply() throws Exception {
    LedgerStateMachine m = machine("m", 0);
    seal(m);
    m.replica().close(); // under the member, as a stray close would leave it
    SignedTransaction tx = transfer(1, 0);
    List<CompletableFuture<?>> waiting = waitFor(m, tx, 2);
    Throwable thrown = thrownBy(() -> apply(m, Entries.batch(List.of(tx))));
    assertAllFail(waiting, "failed applying transaction " + tx.hash().toShortHex(),
        "the ledger is closed");
    assertInstanceOf(IllegalStateException.class, thrown);
    assertThrows(IllegalStateException.class, () -> apply(m, sealEntry()));
  }

  /**
   * A snapshot from the leader that this member cannot load (another version's export; with kept
   * blocks, a journal that cannot be written): Ratis closes the member's part in the group when
   * reinitialize throws, and the member used to go on serving its old copy while its waiters
   * waited for entries that never came. It stops now, as when its copy fails under the log.
   */
  @Test
  void aSnapshotFromTheLeaderThatCannotBeLoadedStopsTheMember() throws Exception {
    LedgerStateMachine follower = machine("follower", 5);
    seal(follower);
    SignedTransaction tx = transfer(1, 0);
    List<CompletableFuture<?>> waiting = waitFor(follower, tx, 9);
    File installed = follower.getStateMachineStorage().getSnapshotFile(1, 40);
    Files.createDirectories(installed.toPath().getParent());
    Files.write(installed.toPath(), new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
    MD5FileUtil.computeAndSaveMd5ForFile(installed);
    follower.pause();
    assertThrows(Exception.class, follower::reinitialize);
    assertTrue(follower.failure() != null, "the member goes on as if it had the leader's state");
    assertAllFail(waiting, "copy of the ledger failed installing the leader's snapshot");
    IllegalStateException read = assertThrows(IllegalStateException.class,
        () -> follower.read(LocalLedger::metagraph));
    assertTrue(read.getMessage().contains("the member stopped"), read.getMessage());
  }

  /**
   * The latest of the two snapshots kept is damaged (a bad disk, a file half copied back): the
   * member starts from the one before, and Ratis replays the log after it. It used to fail to
   * start at all, though it kept the older snapshot for this.
   */
  @Test
  void aDamagedLatestSnapshotIsPassedOverForTheOneBeforeAtStart() throws Exception {
    LedgerStateMachine m = machine("m", 5);
    long older = twoSnapshots(m);
    Hash256 atOlder = olderState;
    Files.createFile(logFolder(m).resolve("log_inprogress_0")); // the log from its start
    damageLatest(m);
    stop(m);
    LedgerStateMachine again = machine("m", 5, RaftStorage.StartupOption.RECOVER);
    assertEquals(older, again.getLatestSnapshot().getIndex());
    assertEquals(older, again.getLastAppliedTermIndex().getIndex());
    assertEquals(5, again.replica().metagraph().block().number());
    assertEquals(atOlder, again.replica().stateHash());
  }

  /**
   * A damaged snapshot passed over at start is moved aside, under a name Ratis does not read
   * ({@code .corrupt} added, its digest file too), its bytes kept, and the warning names where.
   * It used to stay under its own name, taking one of the two snapshot slots and refused again
   * at every start. Its saved digest is kept in a digest file that names the file aside, as
   * Ratis reads it: moved as it was, its line named the snapshot's old name, which a later
   * snapshot at that index takes.
   */
  @Test
  void aDamagedSnapshotPassedOverIsMovedAsideAndNotReadAgain() throws Exception {
    LedgerStateMachine m = machine("m", 5);
    long older = twoSnapshotsAndTheWholeLog(m);
    Path damaged = m.getLatestSnapshot().getFile().getPath();
    damageLatest(m);
    byte[] bytes = Files.readAllBytes(damaged);
    MD5Hash digest = MD5FileUtil.readStoredMd5ForFile(damaged.toFile());
    stop(m);
    List<String> warnings = new ArrayList<>();
    LedgerStateMachine started = restart(warnings);
    Path aside = damaged.resolveSibling(damaged.getFileName() + ".corrupt");
    assertFalse(Files.exists(damaged), "the damaged snapshot is still under its own name");
    assertFalse(Files.exists(MD5FileUtil.getDigestFileForFile(damaged.toFile()).toPath()));
    assertTrue(Arrays.equals(bytes, Files.readAllBytes(aside)), "its bytes, kept");
    assertEquals(digest, MD5FileUtil.readStoredMd5ForFile(aside.toFile()), "its digest, kept");
    assertEquals(List.of(SimpleStateMachineStorage.getSnapshotFileName(1, older)),
        snapshotNames(damaged.getParent()));
    assertEquals(1, warnings.size(), warnings.toString());
    assertTrue(warnings.get(0).contains(aside.toString()), warnings.get(0));
    // A second start reads only the one before it, and warns of nothing.
    stop(started);
    warnings.clear();
    started = restart(warnings);
    assertEquals(List.of(), warnings);
    assertEquals(older, started.getLastAppliedTermIndex().getIndex());
    assertEquals(olderState, started.replica().stateHash());
    // The log replayed, two snapshots taken: Ratis' clean-up keeps those two, and the file aside.
    index = older;
    for (int i = 0; i < 10; i++) {
      seal(started);
      if (i == 4) {
        assertEquals(latestState, started.replica().stateHash());
      }
      if (i % 5 == 4) {
        started.takeSnapshot();
      }
    }
    assertEquals(List.of(SimpleStateMachineStorage.getSnapshotFileName(1, index - 5),
        SimpleStateMachineStorage.getSnapshotFileName(1, index)),
        snapshotNames(damaged.getParent()));
    assertTrue(Arrays.equals(bytes, Files.readAllBytes(aside)));
    assertTrue(Files.exists(MD5FileUtil.getDigestFileForFile(aside.toFile()).toPath()));
  }

  /**
   * A damaged snapshot under a name already moved aside once (from the genesis, a member takes
   * its snapshots again under the same names) goes beside the first copy, to {@code .corrupt.2},
   * and the first copy and its digest stay as they were.
   */
  @Test
  void aSecondDamagedSnapshotOfTheSameNameIsMovedAsideBesideTheFirst() throws Exception {
    LedgerStateMachine m = machine("m", 5);
    twoSnapshotsAndTheWholeLog(m);
    Path damaged = m.getLatestSnapshot().getFile().getPath();
    damageLatest(m);
    byte[] bytes = Files.readAllBytes(damaged);
    MD5Hash digest = MD5FileUtil.readStoredMd5ForFile(damaged.toFile());
    Path first = damaged.resolveSibling(damaged.getFileName() + ".corrupt");
    Files.write(first, new byte[] {1, 2, 3}); // as an earlier start left it, with its digest
    MD5FileUtil.computeAndSaveMd5ForFile(first.toFile());
    Path firstDigest = MD5FileUtil.getDigestFileForFile(first.toFile()).toPath();
    byte[] firstDigestBytes = Files.readAllBytes(firstDigest);
    stop(m);
    List<String> warnings = new ArrayList<>();
    LedgerStateMachine started = restart(warnings);
    Path second = damaged.resolveSibling(damaged.getFileName() + ".corrupt.2");
    assertFalse(Files.exists(damaged), "the damaged snapshot is still under its own name");
    assertTrue(Arrays.equals(new byte[] {1, 2, 3}, Files.readAllBytes(first)), "the first copy");
    assertTrue(Arrays.equals(firstDigestBytes, Files.readAllBytes(firstDigest)), "its digest");
    assertTrue(Arrays.equals(bytes, Files.readAllBytes(second)), "the second copy, beside it");
    assertEquals(digest, MD5FileUtil.readStoredMd5ForFile(second.toFile()), "its digest");
    assertEquals(1, warnings.size(), warnings.toString());
    assertTrue(warnings.get(0).contains(second.toString()), warnings.get(0));
    stop(started);
  }

  /**
   * The damage is in the digest file (a line Ratis cannot read): the snapshot is passed over and
   * moved aside with that file as it was, for inspection.
   */
  @Test
  void aDigestFileThatCannotBeReadIsMovedAsideAsItWas() throws Exception {
    LedgerStateMachine m = machine("m", 5);
    long older = twoSnapshotsAndTheWholeLog(m);
    Path damaged = m.getLatestSnapshot().getFile().getPath();
    byte[] bytes = Files.readAllBytes(damaged);
    byte[] line = "not a digest\n".getBytes(StandardCharsets.UTF_8);
    Files.write(MD5FileUtil.getDigestFileForFile(damaged.toFile()).toPath(), line);
    stop(m);
    List<String> warnings = new ArrayList<>();
    LedgerStateMachine started = restart(warnings);
    assertEquals(older, started.getLastAppliedTermIndex().getIndex());
    Path aside = damaged.resolveSibling(damaged.getFileName() + ".corrupt");
    assertTrue(Arrays.equals(bytes, Files.readAllBytes(aside)), "its bytes, kept");
    assertTrue(Arrays.equals(line, Files.readAllBytes(
        MD5FileUtil.getDigestFileForFile(aside.toFile()).toPath())), "its digest file, as it was");
    assertEquals(1, warnings.size(), warnings.toString());
    stop(started);
  }

  /** Member "m" started again as it was left, adding the warnings it logs to {@code warnings}. */
  private LedgerStateMachine restart(List<String> warnings) throws Exception {
    LedgerStateMachine[] started = new LedgerStateMachine[1];
    warnings.addAll(warningsWhile(() -> started[0] = machine("m", 5,
        RaftStorage.StartupOption.RECOVER)));
    return started[0];
  }

  /** The names of the snapshots Ratis' storage reads in {@code sm}, sorted. */
  private static List<String> snapshotNames(Path sm) throws IOException {
    try (Stream<Path> files = Files.list(sm)) {
      return files.map(f -> f.getFileName().toString())
          .filter(n -> SimpleStateMachineStorage.SNAPSHOT_REGEX.matcher(n).matches())
          .sorted().collect(Collectors.toList());
    }
  }

  /** An action that may throw. */
  private interface Action {
    void run() throws Exception;
  }

  /** The warnings logged on {@code io.bittensor.raft} while {@code action} runs. */
  private static List<String> warningsWhile(Action action) throws Exception {
    Logger logger = Logger.getLogger("io.bittensor.raft");
    List<String> warnings = new CopyOnWriteArrayList<>();
    Handler capture = new Handler() {
      @Override
      public void publish(LogRecord record) {
        if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
          warnings.add(record.getMessage());
        }
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    boolean parents = logger.getUseParentHandlers();
    logger.setUseParentHandlers(false); // keep the expected warning off stderr
    logger.addHandler(capture);
    try {
      action.run();
    } finally {
      logger.removeHandler(capture);
      logger.setUseParentHandlers(parents);
    }
    return warnings;
  }

  /**
   * As above, but the log was dropped up to the latest snapshot: starting from the one before,
   * Ratis would wait forever for entries no one has here. The start fails saying what to do.
   */
  @Test
  void aDamagedLatestSnapshotTheLogNoLongerBridgesFailsTheStartSayingWhy() throws Exception {
    LedgerStateMachine m = machine("m", 5);
    long older = twoSnapshots(m);
    Files.createFile(logFolder(m).resolve("log_inprogress_" + (older + 5)));
    damageLatest(m);
    stop(m);
    IOException e = assertThrows(IOException.class,
        () -> machine("m", 5, RaftStorage.StartupOption.RECOVER));
    assertTrue(e.getMessage().contains("cannot be loaded"), e.getMessage());
    assertTrue(e.getMessage().contains("older than the Raft log (from entry " + (older + 5)),
        e.getMessage());
    assertTrue(e.getMessage().contains("as a new member"), e.getMessage());
  }

  /**
   * Both snapshots kept are damaged, but the Raft log still holds every entry from its first
   * (nothing was ever dropped): the member starts from the genesis and Ratis replays the whole
   * log, as for a member that never took a snapshot. It used to fail to start.
   */
  @Test
  void everyDamagedSnapshotIsPassedOverForTheGenesisWhenTheLogHoldsItAll() throws Exception {
    LedgerStateMachine m = machine("m", 5);
    long older = twoSnapshotsAndTheWholeLog(m);
    damage(m.getStateMachineStorage().getSnapshotFile(1, older).toPath());
    damageLatest(m);
    stop(m);
    LedgerStateMachine again = machine("m", 5, RaftStorage.StartupOption.RECOVER);
    assertEquals(null, again.getLatestSnapshot());
    assertEquals(RaftLog.INVALID_LOG_INDEX, again.getLastAppliedTermIndex().getIndex());
    assertEquals(0, again.replica().metagraph().block().number());
    // Ratis replays the log from its first entry: the same state as before at the same block.
    index = 0;
    twoSnapshots(again);
    assertEquals(latestState, again.replica().stateHash());
    // It took snapshots on the way, under the names the damaged ones (moved aside) had: a
    // restart starts from them.
    long latestIndex = again.getLatestSnapshot().getIndex();
    stop(again);
    LedgerStateMachine third = machine("m", 5, RaftStorage.StartupOption.RECOVER);
    assertEquals(latestIndex, third.getLastAppliedTermIndex().getIndex());
    assertEquals(latestState, third.replica().stateHash());
  }

  /**
   * The only snapshot is damaged and the log was dropped before it: the genesis is no way back
   * either (Ratis would wait forever for the entries before the log's first). The start fails
   * naming the snapshot and what to do.
   */
  @Test
  void aDamagedOnlySnapshotTheLogNoLongerBridgesFailsTheStartSayingWhy() throws Exception {
    LedgerStateMachine m = machine("m", 5);
    apply(m, Entries.batch(List.of(transfer(1, 0)))).get(10, TimeUnit.SECONDS);
    for (int i = 0; i < 5; i++) {
      seal(m);
    }
    long only = m.takeSnapshot();
    Files.createFile(logFolder(m).resolve("log_inprogress_" + (only - 2)));
    damageLatest(m);
    stop(m);
    IOException e = assertThrows(IOException.class,
        () -> machine("m", 5, RaftStorage.StartupOption.RECOVER));
    assertTrue(e.getMessage().contains(SimpleStateMachineStorage.getSnapshotFileName(1, only)
        + " cannot be loaded"), e.getMessage());
    assertTrue(e.getMessage().contains("the Raft log no longer starts at its first entry"
        + " (from entry " + (only - 2) + ")"), e.getMessage());
    assertTrue(e.getMessage().contains("as a new member"), e.getMessage());
  }

  /** Closes {@code m} and the storages opened so far, as a member's process ends. */
  private void stop(LedgerStateMachine m) throws IOException {
    m.close();
    for (RaftStorage s : storages) {
      s.close();
    }
    storages.clear();
  }

  /** The state at the older of {@link #twoSnapshots}' snapshots. */
  private Hash256 olderState;
  /** The state at the latest of {@link #twoSnapshots}' snapshots. */
  private Hash256 latestState;

  /** Seals ten blocks, snapshots at blocks 5 and 10; returns the older snapshot's index. */
  private long twoSnapshots(LedgerStateMachine m) throws Exception {
    apply(m, Entries.batch(List.of(transfer(1, 0)))).get(10, TimeUnit.SECONDS);
    for (int i = 0; i < 5; i++) {
      seal(m);
    }
    long older = m.takeSnapshot();
    olderState = m.replica().stateHash();
    for (int i = 0; i < 5; i++) {
      seal(m);
    }
    assertTrue(m.takeSnapshot() > older);
    latestState = m.replica().stateHash();
    return older;
  }

  /**
   * As {@link #twoSnapshots}, with the Raft log from its first entry, so that a member can start
   * from the older snapshot; returns its index.
   */
  private long twoSnapshotsAndTheWholeLog(LedgerStateMachine m) throws Exception {
    long older = twoSnapshots(m);
    Files.createFile(logFolder(m).resolve("log_inprogress_0"));
    return older;
  }

  /** The Raft log's folder, {@code current} beside the snapshots' {@code sm}. */
  private static Path logFolder(LedgerStateMachine m) {
    return m.getStateMachineStorage().getSnapshotFile(0, 0).toPath().getParent()
        .resolveSibling("current");
  }

  /** Flips a byte in the middle of the latest snapshot: its saved digest no longer matches. */
  private static void damageLatest(LedgerStateMachine m) throws IOException {
    damage(m.getLatestSnapshot().getFile().getPath());
  }

  /** Flips a byte in the middle of {@code file}: its saved digest no longer matches. */
  private static void damage(Path file) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    bytes[bytes.length / 2] ^= 1;
    Files.write(file, bytes);
  }

  @Test
  void aSnapshotFromTheLeaderSettlesTheWaitersForWhatItHolds() throws Exception {
    // The leader seals blocks 1 to 5 and exports the state at block 5, its snapshot.
    LedgerStateMachine leader = machine("leader", 5);
    SignedTransaction inSnapshot = transfer(1, 0);
    SignedTransaction after = transfer(1, 1);
    apply(leader, Entries.batch(List.of(inSnapshot))).get(10, TimeUnit.SECONDS);
    for (int i = 0; i < 5; i++) {
      seal(leader);
    }
    long snapshotIndex = leader.takeSnapshot();
    assertEquals(index, snapshotIndex);
    File sent = leader.getStateMachineStorage().getSnapshotFile(1, snapshotIndex);
    Block block5 = leader.replica().metagraph().block();
    // A follower that applied nothing yet waits for blocks and transactions on either side.
    LedgerStateMachine follower = machine("follower", 5);
    CompletableFuture<Receipt> inside = follower.awaitTransaction(inSnapshot);
    CompletableFuture<Receipt> outside = follower.awaitTransaction(after);
    CompletableFuture<Block> waits3 = follower.awaitBlock(3);
    CompletableFuture<Block> waits5 = follower.awaitBlock(5);
    CompletableFuture<Block> waits6 = follower.awaitBlock(6);
    // Ratis writes the leader's snapshot into the follower's storage, then reinitializes it.
    File installed = follower.getStateMachineStorage().getSnapshotFile(1, snapshotIndex);
    Files.createDirectories(installed.toPath().getParent());
    Files.copy(sent.toPath(), installed.toPath());
    MD5FileUtil.computeAndSaveMd5ForFile(installed);
    follower.pause();
    follower.reinitialize();
    assertEquals(block5, waits5.get(10, TimeUnit.SECONDS));
    LedgerException missing = failure(waits3);
    assertTrue(missing.getMessage().contains("block 3 is in the leader's snapshot of block 5"),
        missing.getMessage());
    LedgerException sealedThere = failure(inside);
    assertTrue(sealedThere.getMessage().contains("took a snapshot from the leader"),
        sealedThere.getMessage());
    assertTrue(sealedThere.getMessage().contains("check its nonce before resending"),
        sealedThere.getMessage());
    // What comes after the snapshot is applied here as usual.
    assertFalse(outside.isDone());
    assertFalse(waits6.isDone());
    apply(follower, Entries.batch(List.of(after))).get(10, TimeUnit.SECONDS);
    seal(follower);
    assertEquals(6, waits6.get(10, TimeUnit.SECONDS).number());
    assertEquals(new Receipt(after.hash(), 6, 0), outside.get(10, TimeUnit.SECONDS));
    // And a late waiter for a block inside the snapshot is told at once.
    assertEquals(block5, follower.awaitBlock(5).get(10, TimeUnit.SECONDS));
    assertTrue(failure(follower.awaitBlock(3)).getMessage().contains("block 3"));
  }

  /**
   * A follower that applied some of the log (sealed blocks at the leader's times) and then fell
   * behind is sent the leader's snapshot. Its copy from the snapshot used to be opened at the
   * clock of its last seal, which stamped the genesis with that time: another chain id, so the
   * snapshot was refused ("the exported state is of chain ...") and the member stopped.
   */
  @Test
  void aFollowerThatSealedBlocksTakesTheLeadersSnapshot() throws Exception {
    LedgerStateMachine leader = machine("leader", 5);
    LedgerStateMachine follower = machine("follower", 5);
    List<byte[]> log = new ArrayList<>();
    log.add(Entries.batch(List.of(transfer(1, 0))));
    for (int i = 0; i < 2; i++) {
      log.add(Entries.seal(GENESIS.createdAt().toEpochMilli() + 1000 * (i + 1)));
    }
    for (byte[] entry : log) { // both apply the first entries
      apply(leader, entry).get(10, TimeUnit.SECONDS);
      apply(follower, entry).get(10, TimeUnit.SECONDS);
    }
    assertEquals(2, follower.replica().metagraph().block().number());
    for (int i = 0; i < 3; i++) { // then only the leader
      seal(leader);
    }
    long snapshotIndex = leader.takeSnapshot();
    File sent = leader.getStateMachineStorage().getSnapshotFile(1, snapshotIndex);
    File installed = follower.getStateMachineStorage().getSnapshotFile(1, snapshotIndex);
    Files.copy(sent.toPath(), installed.toPath());
    MD5FileUtil.computeAndSaveMd5ForFile(installed);
    follower.pause();
    follower.reinitialize();
    assertEquals(null, follower.failure());
    assertEquals(leader.replica().stateHash(), follower.replica().stateHash());
    // And both seal the next block alike.
    byte[] next = sealEntry();
    apply(leader, next).get(10, TimeUnit.SECONDS);
    apply(follower, next).get(10, TimeUnit.SECONDS);
    assertEquals(leader.replica().metagraph().block(), follower.replica().metagraph().block());
  }
}
