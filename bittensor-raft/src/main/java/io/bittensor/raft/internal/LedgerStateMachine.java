package io.bittensor.raft.internal;

import io.bittensor.core.Account;
import io.bittensor.core.Block;
import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Epoch;
import io.bittensor.core.Genesis;
import io.bittensor.core.Hash256;
import io.bittensor.core.LedgerException;
import io.bittensor.core.LedgerListener;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.PeerId;
import io.bittensor.core.Receipt;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.TransactionRejectedException;
import io.bittensor.core.internal.DurableFiles;
import io.bittensor.core.internal.SettableClock;
import io.bittensor.core.internal.ledger.StateExport;
import io.bittensor.incentive.IncentiveMechanism;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.ratis.io.MD5Hash;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.raftlog.RaftLog;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.SnapshotRetentionPolicy;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.LifeCycle;
import org.apache.ratis.util.MD5FileUtil;

/**
 * One member's copy of the ledger, driven by the Raft log: a {@link LocalLedger} in memory that
 * applies each committed entry in log order. A transaction entry is submitted to it (validated
 * exactly as on one machine; a rejection is the same on every member); a seal entry seals a
 * block at the leader's timestamp. So every member holds the same blocks, hashes and state.
 *
 * <p>The log is the ledger's durable record: on restart Ratis replays it into a fresh replica.
 * A member that keeps its blocks holds its replica on disk instead (a {@code LocalLedger} with
 * its journal), which reopens at the last block it sealed; the entries Ratis replays up to that
 * block are skipped (counted by their seals, one block each), and those after are applied. A
 * snapshot from the leader replaces the replica's journal with one that starts from it.
 *
 * <p>Futures and waiters complete on {@code events}, never on Ratis' apply thread, so a caller who
 * waits for one receipt inside another's callback cannot stall the log.
 *
 * <p>If the replica fails under the log (its journal cannot be written, it was closed, an
 * {@code Error} came mid-seal, a snapshot from the leader cannot be loaded), the member stops:
 * every waiter fails saying why, reads and later entries are refused, and the apply (or the
 * reinitialize) throws, on which Ratis closes this member's part in the group (the others go
 * on). Reopening the member replays the log into a new replica.
 */
public final class LedgerStateMachine extends BaseStateMachine {
  /** Blocks kept for callers of {@code awaitBlock} who ask a little late. */
  private static final int RECENT_BLOCKS = 256;
  private static final System.Logger LOG = System.getLogger("io.bittensor.raft");
  /** A segment of the Raft log on disk: log_START-END, or log_inprogress_START. */
  private static final Pattern LOG_SEGMENT = Pattern.compile("log_(?:inprogress_)?(\\d+)(-\\d+)?");
  /**
   * Added to a damaged snapshot's name when it is moved aside, as Ratis names its own damaged
   * snapshots ({@code SimpleStateMachineStorage.getCorruptSnapshotFileName}): its storage reads,
   * counts and cleans up only names that match {@code snapshot.<term>_<index>(.md5)} whole.
   */
  private static final String CORRUPT = ".corrupt";
  /** Snapshots kept on disk: the latest, and the one before in case the latest is damaged. */
  private static final SnapshotRetentionPolicy KEEP_TWO = new SnapshotRetentionPolicy() {
    @Override
    public int getNumSnapshotsRetained() {
      return 2;
    }
  };

  private final LocalLedger.Builder replicas;
  /** Where the replica keeps its blocks (its journal), or null to keep it in memory. */
  private final Path blocks;
  /**
   * How many seal entries Ratis will replay that the replica on disk has sealed already: those
   * entries, and the transactions before them, are skipped. Set before Ratis applies anything.
   */
  private volatile long skipSeals;
  private final SettableClock clock;
  /** The genesis' time, which a replica opened from an exported state stamps its genesis at. */
  private final long genesisMillis;
  private final Executor events;
  private final int snapshotEvery;
  private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
  /** The Raft log's folder (its segments), read at start to see where the log begins. */
  private volatile File logDir;
  /**
   * The latest snapshot, kept here: Ratis asks for it after every entry it applies, and the
   * storage lists its directory each time it knows of none (before the first snapshot, or
   * forever with snapshots off): about a tenth of the CPU of a group of three sealing empty
   * blocks with snapshots off.
   */
  private volatile SingleFileSnapshotInfo latestSnapshot;
  /** Everyone who listens to this member, whichever replica it holds now. */
  private final List<LedgerListener> listeners = new CopyOnWriteArrayList<>();
  private volatile LocalLedger replica;
  /** The copy in memory that readers see while a snapshot replaces the replica on disk. */
  private volatile LocalLedger interim;
  /** Held to swap the replica; readers of a replaced one wait on it for the new one. */
  private final Object swapping = new Object();
  /** How long a read waits for a swap to end (opening the new journal) before it fails. */
  private static final Duration SWAP_WAIT = Duration.ofSeconds(30);
  /** The latest state exported between blocks, and the log entry that sealed its block. */
  private volatile Export latest;

  private record Export(TermIndex entry, byte[] state) {}

  /** A transaction awaited here, and the futures awaiting it. */
  private record Waiters(SignedTransaction tx, List<CompletableFuture<Receipt>> futures) {}

  private final Map<Hash256, Waiters> transactionWaiters = new ConcurrentHashMap<>();
  private final Map<Long, CompletableFuture<Block>> blockWaiters = new ConcurrentHashMap<>();
  private final ConcurrentSkipListMap<Long, Block> recent = new ConcurrentSkipListMap<>();
  /** Set when the member closes: what its unfinished waiters are told. */
  private volatile LedgerException closing;
  /** Set when the replica failed applying the log: the member stopped, and this says why. */
  private volatile LedgerException failure;

  /** The replica failed applying an entry; the message says at what. */
  private static final class ReplicaFailed extends RuntimeException {
    ReplicaFailed(String what, Throwable cause) {
      super(what + ": " + cause, cause);
    }
  }

  /**
   * @param maxPending the most transactions a block may wait with (the same on every member)
   * @param snapshotEvery export the state every this many blocks, for Raft's snapshots (0: never)
   * @param blocks the folder of the replica's journal, or null to keep the replica in memory
   * @param archive compact the replica's journal at its snapshots, archiving what it replaces
   * @throws IOException if the replica on disk cannot be opened
   */
  public LedgerStateMachine(Genesis genesis, IncentiveMechanism mechanism, int maxPending,
      int snapshotEvery, Path blocks, boolean archive, Executor events) throws IOException {
    this.genesisMillis = genesis.createdAt().toEpochMilli();
    this.clock = new SettableClock(genesisMillis);
    this.replicas = LocalLedger.builder()
        .genesis(genesis)
        .clock(clock)
        .blocks(BlockPolicy.manual())
        .maxPendingTransactions(maxPending)
        .mechanism(mechanism)
        // A replica on disk takes its own snapshots with Raft's (compacting then, if asked).
        .snapshotEvery(snapshotEvery > 0 ? snapshotEvery : 1000)
        .compactAtSnapshots(archive)
        .archiveCompacted(archive);
    this.snapshotEvery = snapshotEvery;
    this.events = events;
    this.blocks = blocks;
    this.replica = attach(blocks == null ? replicas.openInMemory() : replicas.open(blocks));
  }

  /**
   * The replica now (a snapshot from the leader may replace it): for this member's own use. A
   * caller's reads go through {@link #read} or {@link #readBlocks}, which outlast a swap.
   */
  public LocalLedger replica() {
    return replica;
  }

  /** A read of one replica. */
  public interface ReplicaRead<T, E extends Exception> {
    T read(LocalLedger replica) throws E;
  }

  /**
   * Runs {@code read} on the replica. If a snapshot from the leader replaced the replica under
   * it (the copy it read from closed, or it reached the interim copy in memory, which keeps no
   * journal), waits for the new replica and reads again from it.
   *
   * @throws IllegalStateException if the member stopped, its replica failed ({@link #failure})
   */
  public <T, E extends Exception> T read(ReplicaRead<T, E> read) throws E {
    while (true) {
      LedgerException stopped = failure;
      if (stopped != null) {
        throw new IllegalStateException(stopped.getMessage(), stopped);
      }
      LocalLedger r = replica;
      try {
        return read.read(r);
      } catch (Exception e) { // E or unchecked, rethrown as it is
        if (!swappedUnder(r)) {
          throw e;
        }
      }
    }
  }

  /** A read of kept blocks ({@code LocalLedger::readBlocks} or {@code ::readBlockBodies}). */
  public interface BlockRead<R> {
    long read(LocalLedger replica, long from, long to, Predicate<R> visitor)
        throws LedgerException;
  }

  /**
   * As {@link #read}, for a read of blocks {@code from} to {@code to}: if the replica is
   * replaced under it, the read goes on from the next block in the new replica, so the visitor
   * takes no block twice. (The new replica's journal starts at the leader's snapshot: a read
   * still short of it fails there, saying so.) A visitor's own failure ends the read.
   */
  public <R> long readBlocks(long from, long to, Predicate<R> visitor, BlockRead<R> read,
      ToLongFunction<R> number) throws LedgerException {
    long[] next = {from};
    boolean[] visitorFailed = {false};
    Predicate<R> counting = record -> {
      boolean more;
      try {
        more = visitor.test(record);
      } catch (RuntimeException | Error e) {
        visitorFailed[0] = true;
        throw e;
      }
      next[0] = number.applyAsLong(record) + 1;
      return more;
    };
    while (true) {
      LedgerException stopped = failure;
      if (stopped != null) {
        throw new LedgerException(stopped.getMessage(), stopped);
      }
      LocalLedger r = replica;
      try {
        return read.read(r, next[0], to, counting);
      } catch (LedgerException | RuntimeException e) {
        if (visitorFailed[0] || !swappedUnder(r)) {
          throw e;
        }
      }
    }
  }

  /**
   * True if the replica {@code r} was replaced (or is being replaced) since a read took it, and
   * the member is open: after waiting for the new replica, the read may be tried again.
   */
  private boolean swappedUnder(LocalLedger r) {
    if (closing != null) {
      return false;
    }
    synchronized (swapping) {
      if (r != replica || r == interim) {
        long deadline = System.nanoTime() + SWAP_WAIT.toNanos();
        while (interim != null && closing == null) {
          long left = deadline - System.nanoTime();
          if (left <= 0) {
            return false;
          }
          try {
            TimeUnit.NANOSECONDS.timedWait(swapping, left);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
          }
        }
        return closing == null;
      }
      return false;
    }
  }

  /** Hears this member's blocks and epochs, across replicas; returns how to stop. */
  public Runnable subscribe(LedgerListener listener) {
    listeners.add(listener);
    return () -> listeners.remove(listener);
  }

  private LocalLedger attach(LocalLedger r) {
    r.subscribe(new LedgerListener() {
      @Override
      public void onBlock(Block block, Metagraph after) {
        listeners.forEach(l -> l.onBlock(block, after));
      }

      @Override
      public void onEpoch(Epoch epoch, Metagraph after) {
        listeners.forEach(l -> l.onEpoch(epoch, after));
      }
    });
    return r;
  }

  // ---------------------------------------------------------------------------------------
  // Snapshots: the state exported between blocks, in one file Ratis can also send a follower

  @Override
  public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage)
      throws IOException {
    getLifeCycle().startAndTransition(() -> {
      super.initialize(server, groupId, raftStorage);
      storage.init(raftStorage);
      logDir = raftStorage.getStorageDir().getCurrentDir();
      latestSnapshot = storage.getLatestSnapshot();
      load(true);
    });
  }

  /** Ratis pauses the state machine before it installs a snapshot the leader sent. */
  @Override
  public void pause() {
    getLifeCycle().transition(LifeCycle.State.PAUSING);
    getLifeCycle().transition(LifeCycle.State.PAUSED);
  }

  /**
   * After a snapshot from the leader: go on from it. If it cannot be loaded, the member stops as
   * when its copy fails under the log: Ratis closes its part in the group on this throw, and
   * its copy is not the leader's, so it must neither serve it nor keep its waiters waiting.
   */
  @Override
  public void reinitialize() throws IOException {
    try {
      load(false);
    } catch (IOException | RuntimeException | Error e) {
      stop(new ReplicaFailed("installing the leader's snapshot", e), null);
      throw e;
    }
    getLifeCycle().transition(LifeCycle.State.STARTING);
    getLifeCycle().transition(LifeCycle.State.RUNNING);
  }

  /**
   * Starts from the latest snapshot on disk, if there is one (this member's, or one the leader
   * sent); a replica on disk that has sealed the snapshot's block already goes on from its own
   * journal instead, skipping the entries up to its last block. At start ({@code orOlder}), a
   * latest snapshot that cannot be read or decoded (a damaged file) is passed over for the one
   * before, if the Raft log still holds every entry after that one; if every snapshot is
   * damaged, for the genesis, if the log still holds every entry from its first (none was
   * dropped), as with no snapshot at all. The snapshots passed over are then moved aside
   * ({@link #moveAside}). A leader's snapshot just installed is taken or refused alone (the log
   * was reset to it).
   */
  private void load(boolean orOlder) throws IOException {
    List<SingleFileSnapshotInfo> snapshots = snapshotsNewestFirst();
    long kept = replica.metagraph().block().number();
    List<IOException> damaged = new ArrayList<>(); // the snapshots passed over, the latest first
    List<Path> damagedFiles = new ArrayList<>(); // their files, in the same order
    for (int i = 0; i < (orOlder ? snapshots.size() : Math.min(1, snapshots.size())); i++) {
      SingleFileSnapshotInfo snapshot = snapshots.get(i);
      long firstLogged = i > 0 ? firstLogIndex() : 0;
      if (firstLogged > snapshot.getIndex() + 1) {
        // Ratis would wait forever for the entries between them, applying nothing.
        throw cannotStart(damaged, "the one before it, " + snapshot.getFile().getPath()
            .getFileName() + ", is older than the Raft log", firstLogged);
      }
      byte[] state;
      long snapshotBlock;
      LocalLedger copy = null;
      try {
        MD5Hash saved = savedDigest(snapshot);
        state = read(snapshot, saved);
        snapshot = new SingleFileSnapshotInfo(new FileInfo(snapshot.getFile().getPath(), saved),
            snapshot.getTermIndex());
        snapshotBlock = StateExport.blockNumber(state); // the state is decoded once, if used
        if (blocks == null || kept < snapshotBlock) {
          copy = fromState(() -> replicas.openInMemory(state));
        }
      } catch (IOException | RuntimeException e) {
        damaged.add(new IOException("snapshot " + snapshot.getFile().getPath()
            + " cannot be loaded: " + e, e));
        damagedFiles.add(snapshot.getFile().getPath());
        continue;
      }
      if (!damaged.isEmpty()) {
        LOG.log(System.Logger.Level.WARNING, passedOver(damaged) + "; starting from the one"
            + " before it, " + snapshot.getFile().getPath().getFileName()
            + moveAside(damagedFiles));
      }
      latestSnapshot = snapshot;
      latest = null;
      if (copy == null) {
        skipSeals = kept - snapshotBlock;
      } else {
        swapTo(state, copy);
        skipSeals = 0;
        settleWaiters();
      }
      updateLastAppliedTermIndex(snapshot.getTermIndex());
      return;
    }
    if (!damaged.isEmpty()) {
      if (!orOlder) {
        throw damaged.get(0);
      }
      long firstLogged = firstLogIndex();
      if (firstLogged != RaftLog.LEAST_VALID_LOG_INDEX) {
        // Dropped entries are gone for good here; Ratis' leader sends its snapshot only to a
        // member whose log ends before the leader's begins, which this member's does not.
        throw cannotStart(damaged, "no snapshot is left to start from, and the Raft log no"
            + " longer starts at its first entry", firstLogged);
      }
      LOG.log(System.Logger.Level.WARNING, passedOver(damaged) + "; starting from the genesis:"
          + " the Raft log still holds every entry from its first, and replays them all"
          + moveAside(damagedFiles));
      latestSnapshot = null;
    }
    skipSeals = blocks == null ? 0 : kept; // Ratis replays the log from its first entry
  }

  /**
   * Moves the damaged snapshots {@link #load} passed over aside, each with its digest file, to a
   * name Ratis' storage neither reads nor cleans up ({@code .corrupt} added, as Ratis names its
   * own damaged snapshots, then {@code .2} and on if that is taken; the digest file {@code
   * <that>.md5}): left under its own name, one would hold one of the two snapshots kept, and be
   * read and refused again at every start. The bytes are kept, for inspection. The snapshot is
   * moved before its digest: a crash between leaves the digest behind (Ratis' clean-up removes
   * it), never the snapshot without its digest, which might decode. Returns what it did, for the
   * warning; a move that fails leaves the file where it is, to be passed over again at the next
   * start.
   */
  private static String moveAside(List<Path> files) {
    StringBuilder done = new StringBuilder();
    for (Path file : files) {
      Path aside = file.resolveSibling(file.getFileName() + CORRUPT);
      for (int n = 2; Files.exists(aside) || Files.exists(digestOf(aside)); n++) {
        aside = file.resolveSibling(file.getFileName() + CORRUPT + "." + n);
      }
      try {
        Files.move(file, aside, StandardCopyOption.ATOMIC_MOVE);
      } catch (IOException | RuntimeException e) {
        done.append("; could not move ").append(file.getFileName()).append(" aside (")
            .append(e).append("): it is passed over again at the next start");
        continue;
      }
      done.append("; moved ").append(file.getFileName()).append(" aside to ").append(aside)
          .append(", which Ratis does not read, kept for inspection");
      try {
        moveDigestAside(file, aside);
        DurableFiles.syncDirectory(file.getParent());
      } catch (IOException | RuntimeException e) {
        done.append(" (its digest file stays behind: ").append(e).append(")");
      }
    }
    return done.toString();
  }

  /**
   * Saves the digest of {@code file}, now moved to {@code aside}, beside that, naming it as Ratis
   * does ({@code <md5> *<aside's name>}), and removes the old digest file. Moved as it was, its
   * line would still name {@code file}, which a later snapshot at the same index takes: Ratis'
   * reader refuses it, and {@code md5sum -c} checks that snapshot instead. A digest file that
   * cannot be read (the damage may be there) is moved as it is.
   */
  private static void moveDigestAside(Path file, Path aside) throws IOException {
    Path digest = digestOf(file);
    if (!Files.exists(digest)) {
      return;
    }
    MD5Hash saved;
    try {
      saved = MD5FileUtil.readStoredMd5ForFile(file.toFile());
    } catch (IOException | RuntimeException e) {
      Files.move(digest, digestOf(aside), StandardCopyOption.ATOMIC_MOVE);
      return;
    }
    MD5FileUtil.saveMD5File(aside.toFile(), saved); // through a temporary file, renamed
    Files.delete(digest);
  }

  /** The file Ratis saves a snapshot's MD5 in, beside it: {@code <file>.md5}. */
  private static Path digestOf(Path file) {
    return MD5FileUtil.getDigestFileForFile(file.toFile()).toPath();
  }

  /** What {@link #load} passed over and why, one snapshot after another. */
  private static String passedOver(List<IOException> damaged) {
    return damaged.stream().map(Throwable::getMessage).collect(Collectors.joining("; "));
  }

  /**
   * The start fails: the {@code damaged} snapshots are passed over (at least one), and
   * {@code why} the member cannot start without them, given where the log starts.
   */
  private static IOException cannotStart(List<IOException> damaged, String why,
      long firstLogged) {
    IOException e = new IOException(passedOver(damaged) + "; " + why + " ("
        + (firstLogged == Long.MAX_VALUE ? "empty" : "from entry " + firstLogged)
        + "): move this member's folder away and add it to the group again as a new member",
        damaged.get(0));
    damaged.subList(1, damaged.size()).forEach(e::addSuppressed);
    return e;
  }

  /** The digest saved beside the snapshot, or null if none was. */
  private static MD5Hash savedDigest(SingleFileSnapshotInfo snapshot) throws IOException {
    File file = snapshot.getFile().getPath().toFile();
    return MD5FileUtil.getDigestFileForFile(file).exists()
        ? MD5FileUtil.readStoredMd5ForFile(file) : null;
  }

  /**
   * The snapshot's state, checked against its saved digest if it has one. (Ratis' {@code
   * verifySavedMD5} compares the saved digest with the one given, not with the file's.)
   */
  private static byte[] read(SingleFileSnapshotInfo snapshot, MD5Hash saved) throws IOException {
    byte[] state = Files.readAllBytes(snapshot.getFile().getPath());
    if (saved != null && !saved.equals(MD5Hash.digest(state))) {
      throw new IOException("its content does not match its saved digest " + saved);
    }
    return state;
  }

  /** The snapshots on disk, the latest first (their digests not read yet). */
  private List<SingleFileSnapshotInfo> snapshotsNewestFirst() throws IOException {
    File dir = storage.getSnapshotFile(0, 0).getParentFile();
    List<SingleFileSnapshotInfo> found = new ArrayList<>();
    File[] files = dir.listFiles();
    if (files == null) {
      return found; // no folder yet: no snapshot
    }
    for (File f : files) {
      if (SimpleStateMachineStorage.SNAPSHOT_REGEX.matcher(f.getName()).matches()) {
        found.add(new SingleFileSnapshotInfo(new FileInfo(f.toPath(), null),
            SimpleStateMachineStorage.getTermIndexFromSnapshotFile(f)));
      }
    }
    found.sort((a, b) -> Long.compare(b.getIndex(), a.getIndex()));
    return found;
  }

  /**
   * The first entry the Raft log holds on disk (its oldest segment, log_START-END or
   * log_inprogress_START), or {@code Long.MAX_VALUE} if it holds none.
   */
  private long firstLogIndex() {
    File[] files = logDir == null ? null : logDir.listFiles();
    long first = Long.MAX_VALUE;
    for (File f : files == null ? new File[0] : files) {
      Matcher m = LOG_SEGMENT.matcher(f.getName());
      if (m.matches()) {
        first = Math.min(first, Long.parseLong(m.group(1)));
      }
    }
    return first;
  }

  /**
   * Replaces the replica with one of the leader's snapshot. Readers of the old one go on from
   * the new one ({@link #read}); a replica on disk is swapped through a copy in memory, since
   * the old one holds its folder's lock until it closes.
   */
  private void swapTo(byte[] state, LocalLedger copy) throws IOException {
    LocalLedger old = replica;
    if (blocks == null) {
      synchronized (swapping) {
        replica = attach(copy);
        swapping.notifyAll();
      }
      old.close();
      return;
    }
    synchronized (swapping) {
      interim = copy;
      replica = copy;
    }
    LocalLedger opened;
    try {
      old.close();
      opened = attach(fromState(() -> replicas.open(blocks, state)));
    } catch (IOException | RuntimeException e) {
      synchronized (swapping) {
        interim = null; // the copy in memory stays the replica: the member fails with this
        swapping.notifyAll();
      }
      throw e;
    }
    synchronized (swapping) {
      replica = opened;
      interim = null;
      swapping.notifyAll();
    }
    copy.close();
  }

  /** Opens a replica: {@link #fromState}'s. */
  private interface Opening {
    LocalLedger open() throws IOException;
  }

  /**
   * Opens a replica from an exported state with the clock at the genesis' time: a new replica
   * stamps its genesis block at the clock's time, part of the chain id the state must match.
   * Seals move the clock on (a member that applied some of the log and then fell behind), and
   * the leader's snapshot was refused as another chain's. The next seal sets the clock again.
   */
  private LocalLedger fromState(Opening opening) throws IOException {
    clock.set(genesisMillis);
    return opening.open();
  }

  /**
   * After a snapshot from the leader replaced the replica: the entries it holds are never applied
   * here, so the waiters for what they sealed are settled from the new replica. A block waiter
   * gets the snapshot's block, or a block the new replica keeps, or fails; a transaction whose
   * nonce the snapshot has used fails (the replica cannot tell in which block it went, or
   * whether another transaction took its nonce). Later ones wait for the entries after it.
   */
  private void settleWaiters() {
    LocalLedger r = replica;
    Block top = r.metagraph().block();
    // Recorded before the waiters are looked at, as seal() does; never empty meanwhile.
    recent.put(top.number(), top);
    recent.headMap(top.number()).clear();
    for (Long n : blockWaiters.keySet()) {
      CompletableFuture<Block> f = n <= top.number() ? blockWaiters.remove(n) : null;
      if (f != null) {
        Block kept = n == top.number() ? top : keptBlock(r, n);
        LedgerException missing = new LedgerException("block " + n + " is in the leader's"
            + " snapshot of block " + top.number() + ", which this member took instead of"
            + " sealing it, and keeps no copy of it; read it from another member");
        later(() -> {
          if (kept != null) {
            f.complete(kept);
          } else {
            f.completeExceptionally(missing);
          }
        });
      }
    }
    for (Waiters w : transactionWaiters.values()) {
      SignedTransaction tx = w.tx();
      long next = r.account(tx.signer()).map(Account::nonce).orElse(0L);
      if (tx.nonce() < next && transactionWaiters.remove(tx.hash(), w)) {
        LedgerException why = tookSnapshot(" (block " + top.number() + ", which has used its"
            + " nonce)");
        later(() -> w.futures().forEach(f -> f.completeExceptionally(why)));
      }
    }
  }

  /** Block {@code n} as replica {@code r} keeps it, or null if it keeps none. */
  private static Block keptBlock(LocalLedger r, long n) {
    Block[] found = new Block[1];
    try {
      r.readBlocks(n, n, record -> {
        found[0] = record.block();
        return false;
      });
    } catch (LedgerException | RuntimeException e) {
      return null; // in memory, or its journal starts after n: the caller says so
    }
    return found[0];
  }

  private static LedgerException tookSnapshot(String detail) {
    return new LedgerException("this member took a snapshot from the leader" + detail
        + " before the transaction's block was sealed here; check its nonce before resending");
  }

  /** Runs {@code task} on the event thread, or here if that has stopped (closing). */
  private void later(Runnable task) {
    try {
      events.execute(task);
    } catch (RejectedExecutionException closed) {
      task.run();
    }
  }

  @Override
  public long takeSnapshot() throws IOException {
    // Ratis asks once snapshotEvery entries have been applied since the last snapshot, and asks
    // again after every entry until it is told a newer index; we export every snapshotEvery
    // blocks, and a block takes two entries or more (its seal, Ratis' commit metadata, the
    // transactions). Until the next export the snapshot on disk is the latest there is: say so,
    // without writing it again (that rewrite, an fsync and a digest of the whole state, was most
    // of an idle group's CPU).
    Export e = latest;
    if (e == null) {
      SingleFileSnapshotInfo known = latestSnapshot;
      return known == null ? RaftLog.INVALID_LOG_INDEX : known.getIndex();
    }
    File file = storage.getSnapshotFile(e.entry.getTerm(), e.entry.getIndex());
    DurableFiles.replace(file.toPath(), e.state);
    MD5Hash md5 = MD5FileUtil.computeAndSaveMd5ForFile(file);
    SingleFileSnapshotInfo taken = new SingleFileSnapshotInfo(new FileInfo(file.toPath(), md5),
        e.entry);
    storage.updateLatestSnapshot(taken);
    latestSnapshot = taken;
    if (latest == e) {
      latest = null; // on disk now: its bytes need not stay in memory
    }
    storage.cleanupOldSnapshots(KEEP_TWO);
    return e.entry.getIndex();
  }

  @Override
  public SimpleStateMachineStorage getStateMachineStorage() {
    return storage;
  }

  @Override
  public SingleFileSnapshotInfo getLatestSnapshot() {
    return latestSnapshot;
  }

  /**
   * A future for {@code tx}'s outcome on this member, registered before the transaction is sent
   * so that its entry cannot be applied unseen.
   */
  public CompletableFuture<Receipt> awaitTransaction(SignedTransaction tx) {
    CompletableFuture<Receipt> f = new CompletableFuture<>();
    transactionWaiters.compute(tx.hash(), (k, w) -> {
      Waiters waiters = w != null ? w : new Waiters(tx, new ArrayList<>());
      waiters.futures().add(f);
      return waiters;
    });
    LedgerException stopped = failure; // set before stop() fails the waiters it finds
    if (stopped != null) {
      forget(tx.hash(), f);
      f.completeExceptionally(stopped);
    }
    return f;
  }

  /** Forgets a waiter whose transaction could not be sent. */
  public void forget(Hash256 tx, CompletableFuture<Receipt> f) {
    transactionWaiters.computeIfPresent(tx, (k, w) -> {
      w.futures().remove(f);
      return w.futures().isEmpty() ? null : w;
    });
  }

  /** Why this member stopped applying the log (its replica failed), or null while it applies. */
  public LedgerException failure() {
    return failure;
  }

  /** Completes when this member has sealed block {@code number}. */
  public CompletableFuture<Block> awaitBlock(long number) {
    // Register first, then look: seal() records the block before it looks for waiters.
    CompletableFuture<Block> f = blockWaiters.computeIfAbsent(number,
        k -> new CompletableFuture<>());
    Block known = recent.get(number);
    LedgerException stopped = failure;
    if (stopped != null) {
      blockWaiters.remove(number, f);
      f.completeExceptionally(stopped);
    } else if (known != null) {
      blockWaiters.remove(number, f);
      // On the event thread, after the block's events already queued there.
      try {
        events.execute(() -> f.complete(known));
      } catch (java.util.concurrent.RejectedExecutionException closing) {
        f.completeExceptionally(new LedgerException("this member closed while waiting for"
            + " block " + number));
      }
    } else if (!recent.isEmpty() && number < recent.firstKey()) {
      blockWaiters.remove(number, f);
      f.completeExceptionally(new LedgerException("block " + number
          + " was sealed too long ago to be looked up here"));
    }
    return f;
  }

  /** Fails every waiter: the member is closing. */
  public void failWaiters(LedgerException why) {
    closing = why;
    synchronized (swapping) {
      swapping.notifyAll(); // readers waiting for a swap: the member closes instead
    }
    failAll(why);
  }

  private void failAll(LedgerException why) {
    for (Hash256 tx : transactionWaiters.keySet()) {
      Waiters w = transactionWaiters.remove(tx);
      if (w != null) {
        w.futures().forEach(f -> f.completeExceptionally(why));
      }
    }
    for (Long number : blockWaiters.keySet()) {
      CompletableFuture<Block> f = blockWaiters.remove(number);
      if (f != null) {
        f.completeExceptionally(why);
      }
    }
  }

  /**
   * The replica failed applying {@code entry}: this member stops. The replica is closed (its
   * transactions waiting for a block fail), and every waiter fails with the returned reason,
   * which reads and later entries get too.
   */
  private LedgerException stop(ReplicaFailed e, TermIndex entry) {
    LedgerException why = new LedgerException("this member's copy of the ledger failed "
        + e.getMessage() + (entry == null ? "" : " (log entry " + entry + ")")
        + ", so the member stopped: it takes no more"
        + " part in the group, which goes on without it; close it and open it again from its"
        + " folder, which replays the log into a new copy", e.getCause());
    failure = why;
    replica.close();
    later(() -> failAll(why));
    return why;
  }

  @Override
  public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
    LogEntryProto entry = trx.getLogEntry();
    TermIndex at = TermIndex.valueOf(entry);
    LedgerException stopped = failure;
    if (stopped != null) {
      throw new IllegalStateException(stopped.getMessage(), stopped);
    }
    byte[] data = entry.getStateMachineLogEntry().getLogData().toByteArray();
    byte[] reply;
    try {
      reply = apply(data, at);
    } catch (ReplicaFailed e) {
      if (closing != null) {
        return CompletableFuture.failedFuture(e); // closed by close(), not failed
      }
      // Thrown, not a failed future: on a failed future Ratis goes on to the next entry (and
      // only closes the member if a snapshot is due); on a throw it closes this member's part
      // in the group at once, so it neither answers nor leads with a copy that is not the log's.
      LedgerException why = stop(e, at);
      throw new IllegalStateException(why.getMessage(), why);
    } catch (RuntimeException e) {
      updateLastAppliedTermIndex(at);
      return CompletableFuture.failedFuture(e); // a malformed entry: the same on every member
    }
    updateLastAppliedTermIndex(at);
    return CompletableFuture.completedFuture(Message.valueOf(ByteString.copyFrom(reply)));
  }

  private byte[] apply(byte[] data, TermIndex entry) {
    if (data.length == 0) {
      throw new IllegalArgumentException("an empty log entry");
    }
    switch (data[0]) {
      case Entries.BATCH: {
        List<byte[]> outcomes = new ArrayList<>();
        for (byte[] body : Entries.batchBodies(ByteBuffer.wrap(data, 1, data.length - 1))) {
          // Skipped: in a block the replica sealed before it restarted (nobody awaits it now).
          outcomes.add(skipSeals > 0 ? Entries.accepted() : applyTransaction(body));
        }
        return Entries.outcomes(outcomes);
      }
      case Entries.SEAL:
        if (data.length != 9) {
          throw new IllegalArgumentException("a seal entry of " + data.length + " bytes");
        }
        if (skipSeals > 0) {
          skipSeals--;
          return Entries.blockNumber(replica.metagraph().block().number() - skipSeals);
        }
        clock.set(ByteBuffer.wrap(data, 1, 8).getLong());
        return seal(entry);
      default:
        throw new IllegalArgumentException("a log entry of unknown kind " + data[0]
            + " (written by a newer version?)");
    }
  }

  private byte[] applyTransaction(byte[] encoded) {
    SignedTransaction tx;
    try {
      tx = SignedTransaction.decode(encoded);
    } catch (IllegalArgumentException e) {
      // Only a client other than RaftLedger can send this; refuse it the same way everywhere.
      return Entries.rejected(new TransactionRejectedException(
          io.bittensor.core.RejectReason.MALFORMED, e.getMessage()));
    }
    LocalLedger applying = replica;
    CompletableFuture<Receipt> outcome;
    try {
      outcome = applying.submit(tx);
    } catch (RuntimeException | Error e) {
      throw new ReplicaFailed("applying transaction " + tx.hash().toShortHex(), e);
    }
    Throwable why = outcome.isCompletedExceptionally() ? rejectionOf(outcome) : null;
    if (why != null && !(why instanceof TransactionRejectedException)) {
      // The replica failed: it did not apply what the others apply. Its waiters fail in stop().
      throw new ReplicaFailed("applying transaction " + tx.hash().toShortHex(), why);
    }
    Waiters waiting = transactionWaiters.remove(tx.hash());
    if (waiting != null) {
      outcome.whenCompleteAsync((receipt, error) -> settle(waiting, applying, receipt, error),
          events);
    }
    return why == null ? Entries.accepted()
        : Entries.rejected((TransactionRejectedException) why);
  }

  /** Completes the waiters of a transaction the replica applied, with its outcome there. */
  private void settle(Waiters waiting, LocalLedger applying, Receipt receipt, Throwable error) {
    Throwable cause = error == null ? null : unwrap(error);
    if (cause != null && !(cause instanceof TransactionRejectedException)) {
      if (failure != null) {
        cause = failure; // the replica failed, and the member stopped
      } else if (closing != null) {
        // The replica closed under it, but the group goes on and may still seal it.
        cause = closing;
      } else if (applying != replica) {
        cause = tookSnapshot("");
      } else {
        // The replica failed sealing the block, and the apply thread is about to stop the
        // member: back among the waiters, these fail with the reason it gives (stop() sets it,
        // then fails the waiters on this thread).
        transactionWaiters.merge(waiting.tx().hash(), waiting, (a, b) -> {
          a.futures().addAll(b.futures());
          return a;
        });
        cause = failure;
        if (cause == null) {
          return;
        }
      }
    }
    for (CompletableFuture<Receipt> w : waiting.futures()) {
      if (cause != null) {
        w.completeExceptionally(cause);
      } else {
        w.complete(receipt);
      }
    }
  }

  private static Throwable rejectionOf(CompletableFuture<Receipt> done) {
    try {
      done.join();
      return null;
    } catch (CompletionException e) {
      return unwrap(e);
    } catch (java.util.concurrent.CancellationException e) {
      return e;
    }
  }

  private static Throwable unwrap(Throwable t) {
    return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
  }

  private byte[] seal(TermIndex entry) {
    Block block;
    try {
      block = replica.produceBlock();
      if (snapshotEvery > 0 && block.number() % snapshotEvery == 0) {
        // Between blocks: only this thread submits to the replica, and it has not yet.
        latest = new Export(entry, replica.exportState());
      }
    } catch (LedgerException | RuntimeException | Error e) {
      throw new ReplicaFailed("sealing a block", e);
    }
    recent.put(block.number(), block);
    while (recent.size() > RECENT_BLOCKS) {
      recent.pollFirstEntry();
    }
    CompletableFuture<Block> waiter = blockWaiters.remove(block.number());
    if (waiter != null) {
      events.execute(() -> waiter.complete(block));
    }
    return Entries.blockNumber(block.number());
  }

  @Override
  public CompletableFuture<Message> query(Message request) {
    byte[] data = request.getContent().toByteArray();
    if (data.length == 33 && data[0] == Entries.ACCOUNT) {
      PeerId id = PeerId.fromBytes(Arrays.copyOfRange(data, 1, 33));
      return CompletableFuture.completedFuture(
          Message.valueOf(ByteString.copyFrom(Entries.account(read(r -> r.account(id))))));
    }
    return CompletableFuture.failedFuture(
        new IllegalArgumentException("an unknown query of " + data.length + " bytes"));
  }
}
