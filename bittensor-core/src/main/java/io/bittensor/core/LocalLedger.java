package io.bittensor.core;

import io.bittensor.core.internal.Deadlines;
import io.bittensor.core.internal.DurableFiles;
import io.bittensor.core.internal.ListenerSubscription;
import io.bittensor.core.internal.ledger.BatchSignatures;
import io.bittensor.core.internal.ledger.BlockCodec;
import io.bittensor.core.internal.ledger.Journal;
import io.bittensor.core.internal.ledger.JournalArchive;
import io.bittensor.core.internal.ledger.JournalReader;
import io.bittensor.core.internal.ledger.LedgerState;
import io.bittensor.core.internal.ledger.Snapshots;
import io.bittensor.core.internal.ledger.StateExport;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.incentive.PaperParams;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;

/**
 * The embedded ledger: the whole state in memory, every block journaled to disk before its
 * transactions are acknowledged, so a crash loses nothing acknowledged and a restart replays to
 * exactly the state before it. The default {@link Ledger} of every demo, test and simulation.
 *
 * <pre>{@code
 * Keypair alice = Keypair.generate();
 * Genesis genesis = Genesis.builder().allocate(alice.id(), 1_000_000).build();
 * try (LocalLedger ledger = LocalLedger.builder()
 *     .genesis(genesis)                          // only when creating; omit to reopen
 *     .blocks(BlockPolicy.manual())              // or every(Duration.ofSeconds(1)), the default
 *     .open(Path.of("ledger-data"))) {
 *   var r = ledger.submit(alice, Transaction.register(URI.create("http://a:8091"), Modality.TEXT));
 *   ledger.produceBlock();                       // seals, fsyncs, completes r
 *   System.out.println(ledger.metagraph().size());   // 1
 * }
 * }</pre>
 *
 * <h2>Durability</h2>
 *
 * <p>The data directory holds the journal ({@code journal.btl}: a versioned header, then one
 * length-prefixed record per block with a CRC32C and its parent's SHA-256; see {@code
 * docs/ledger.md}), snapshots of the state every {@link Builder#snapshotEvery} blocks, and a
 * {@code LOCK} file that keeps a second process out. A block is written and fsync'ed before any
 * of its transactions' futures complete; all transactions in a block share that one fsync
 * (group commit). Opening verifies every record's checksum and the hash chain, cuts off a torn
 * tail (a write the crash interrupted, never acknowledged), loads the newest snapshot that
 * matches the journal and replays the blocks after it. A journal damaged anywhere else refuses
 * to open with a {@link LedgerException} naming the block. If a write or fsync ever fails, the
 * ledger stops accepting transactions (its state in memory is ahead of the disk); reopen it. The
 * journal keeps every block unless compacted ({@link #compactJournal()}, {@link
 * Builder#compactAtSnapshots}): rewritten as the genesis block and a checkpoint of the state,
 * dropping the blocks before it, or moving them to an archive ({@link
 * Builder#archiveCompacted}). {@link #readBlocks} reads the blocks back.
 *
 * <h2>Blocks and epochs</h2>
 *
 * <p>Transactions are validated and applied to the state as they are submitted, in order; a
 * block seals everything submitted since the previous one. After every block whose number is a
 * multiple of {@link LedgerParams#epochLength()}, the {@link IncentiveMechanism} runs on the
 * peers' stake, weights and bonds; its emission is minted as whole units (see {@link Epoch}),
 * the bonds and epoch vectors are replaced, and the consensus peg raises {@code
 * minAllowedWeights} if the loss was positive. The same transactions give the same state, bit
 * for bit: replay checks each epoch against a digest in its block.
 *
 * <h2>Threads and lifecycle</h2>
 *
 * <p>Thread-safe. Submissions verify signatures on the caller's thread (so several submitting
 * threads use several cores), then take a short lock to validate and apply. Blocks are sealed
 * on the block timer's thread (an executor you may supply) or the caller of {@link
 * #produceBlock()}; the futures of a block's transactions complete, and listeners run, on that
 * thread, after the fsync, while it still holds the block's seal: their stages must not wait
 * for another thread that seals, compacts, exports or closes. Futures the ledger fails (a block
 * that could not be written, {@link #close()}) complete once the failing thread holds none of
 * its locks, and no future completes under the lock that submissions take. Do not interrupt a
 * thread while it seals a block: Java's file channels close themselves on interrupt, and the
 * ledger then fails as after any write error.
 * {@link #close()} stops the timer, fails transactions not yet in a
 * durable block, and releases the files; it is idempotent. A ledger opened by {@link
 * Builder#openReadOnly} reads a journal (even one another process is appending to) without
 * changing it.
 */
public final class LocalLedger implements Ledger, BlockHistory {
  /** The default emission: 10^9 units (one token at 10^9 units a token) per epoch. */
  public static final double DEFAULT_TAU = 1e9;

  /** The most bytes of transactions one block holds; beyond it, submissions get BUSY. */
  static final long MAX_BLOCK_BYTES = 128L << 20;

  private static final String LOCK_FILE = "LOCK";

  private static final IncentiveMechanism DEFAULT_MECHANISM =
      IncentiveMechanism.paper(PaperParams.defaults().withTau(DEFAULT_TAU));

  private final Path dir;
  private final boolean readOnly;
  private final IncentiveMechanism mechanism;
  private final Clock clock;
  private final int snapshotEvery;
  private final boolean compactAtSnapshots;
  private final boolean archiveCompacted;
  private final int maxPending;
  private final Hash256 chainId;
  private final LedgerState state;
  /** Appends blocks; replaced when the journal is compacted (guarded by sealLock). */
  private Journal journal;
  /** The genesis block: the journal's first record, which a compacted journal keeps too. */
  private final byte[] genesisPayload;
  /** Blocks applied again from the journal while opening. */
  private final long replayedOnOpen;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private final ScheduledExecutorService ownScheduler;
  private final ScheduledFuture<?> timer;

  private final ReentrantLock stateLock = new ReentrantLock();
  private final ReentrantLock sealLock = new ReentrantLock();
  private final CopyOnWriteArrayList<ListenerSubscription> subscriptions =
      new CopyOnWriteArrayList<>();
  private final AtomicBoolean closed = new AtomicBoolean();
  private List<Pending> pending = new ArrayList<>();
  private long pendingBytes;
  /** The transactions of the block being sealed (guarded by sealLock). */
  private List<Pending> sealing = List.of();
  /**
   * Futures the ledger failed (a failed block, close) while this thread held sealLock, failed
   * by {@link #unlockSeal} once it holds it no more, so that no stage runs inside the ledger's
   * locks (guarded by sealLock).
   */
  private List<CompletableFuture<Receipt>> toFail = new ArrayList<>();
  private long lastTimestamp;
  private volatile Metagraph committed;
  private volatile LedgerException failure;

  private record Pending(SignedTransaction tx, CompletableFuture<Receipt> future) {}

  /** @param exported an exported state to go on from (in memory only), or null */
  private LocalLedger(Builder b, Path dir, boolean readOnly, byte[] exported)
      throws IOException {
    this.dir = dir;
    this.readOnly = readOnly;
    this.clock = b.clock;
    this.snapshotEvery = b.snapshotEvery;
    this.compactAtSnapshots = b.compactAtSnapshots;
    this.archiveCompacted = b.archiveCompacted;
    this.maxPending = b.maxPending;
    FileChannel lc = null;
    FileLock fl = null;
    Journal j = null;
    try {
      Recovered recovered;
      if (dir == null) {
        recovered = fresh(b, exported);
      } else {
        if (!readOnly) {
          DurableFiles.createDirectories(dir);
          lc = FileChannel.open(dir.resolve(LOCK_FILE), StandardOpenOption.CREATE,
              StandardOpenOption.WRITE);
          fl = tryLock(lc, dir);
        }
        if (exported != null) {
          startFrom(b, dir, exported);
        }
        recovered = recover(b, dir, readOnly);
        if (!readOnly) {
          j = Journal.openForAppend(dir.resolve(Journal.FILE_NAME), recovered.scan);
        }
      }
      this.mechanism = recovered.mechanism;
      this.chainId = recovered.chainId;
      this.state = recovered.state;
      this.genesisPayload = recovered.genesisPayload;
      this.replayedOnOpen = recovered.replayed;
      this.lastTimestamp = recovered.lastBlock.timestamp().toEpochMilli();
      this.committed = metagraph(state.view(), recovered.lastBlock);
    } catch (IOException | RuntimeException | Error e) {
      closeQuietly(j, fl, lc);
      throw e;
    }
    this.journal = j;
    this.lock = fl;
    this.lockChannel = lc;
    if (b.policy instanceof BlockPolicy.Every every && !readOnly) {
      long ms = Deadlines.millis(every.interval()); // clamped: a huge interval is "never"
      ScheduledExecutorService s = b.scheduler;
      this.ownScheduler = s == null ? Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "bittensor-ledger-blocks");
        t.setDaemon(true);
        return t;
      }) : null;
      try {
        this.timer = (s == null ? ownScheduler : s).scheduleAtFixedRate(
            this::timedBlock, ms, ms, TimeUnit.MILLISECONDS);
      } catch (RuntimeException e) { // a scheduler shut down: the files are no one's then
        closeQuietly(j, fl, lc);
        throw e;
      }
    } else {
      this.ownScheduler = null;
      this.timer = null;
    }
  }

  private static FileLock tryLock(FileChannel lc, Path dir) throws IOException {
    FileLock fl;
    try {
      fl = lc.tryLock();
    } catch (OverlappingFileLockException e) {
      throw new LedgerException("the ledger in " + dir + " is already open in this process", e);
    }
    if (fl == null) {
      throw new LedgerException("the ledger in " + dir + " is open in another process");
    }
    return fl;
  }

  private static void closeQuietly(Journal j, FileLock fl, FileChannel lc) {
    for (AutoCloseable c : new AutoCloseable[] {j, fl, lc}) {
      if (c != null) {
        try {
          c.close();
        } catch (Exception ignored) {
          // Closing after a failure or at close(): release the rest regardless.
        }
      }
    }
  }

  /** A builder; {@link Builder#genesis} is needed to create a ledger, not to reopen one. */
  public static Builder builder() {
    return new Builder();
  }

  // ---------------------------------------------------------------------------------------
  // Opening and recovery

  private record Recovered(IncentiveMechanism mechanism, Hash256 chainId, LedgerState state,
      Block lastBlock, Journal.Scan scan, byte[] genesisPayload, long replayed) {}

  private Recovered fresh(Builder b, byte[] exported) throws LedgerException {
    if (b.genesis == null) {
      throw new IllegalStateException("an in-memory ledger needs a genesis: call genesis(...)");
    }
    long now = clock.millis();
    IncentiveMechanism m = b.mechanismOrDefault();
    byte[] payload = BlockCodec.encodeGenesis(b.genesis, m, now);
    Hash256 chainId = Hash256.of(payload);
    if (exported != null) {
      StateExport.Decoded d;
      try {
        d = StateExport.decode(exported);
      } catch (IllegalArgumentException e) {
        throw new LedgerException("cannot restore the exported state: " + e.getMessage(), e);
      }
      if (!d.state().chainId().equals(chainId)) {
        throw new LedgerException("the exported state is of chain " + d.state().chainId()
            + ", but this genesis and mechanism give chain " + chainId);
      }
      return new Recovered(m, chainId, d.state(), d.block(), null, payload, 0);
    }
    Block block = new Block(0, chainId, Hash256.ZERO, Instant.ofEpochMilli(now), 0, false);
    return new Recovered(m, chainId, LedgerState.genesis(b.genesis, chainId), block, null,
        payload, 0);
  }

  /**
   * Replaces the journal in {@code dir} (if any) with one that starts from an exported state: the
   * genesis block, then the export as its checkpoint, as a compaction leaves it. Opening then goes
   * on from there.
   */
  private void startFrom(Builder b, Path dir, byte[] exported) throws IOException {
    StateExport.Decoded d;
    try {
      d = StateExport.decode(exported);
    } catch (IllegalArgumentException e) {
      throw new LedgerException("cannot restore the exported state: " + e.getMessage(), e);
    }
    Path file = dir.resolve(Journal.FILE_NAME);
    byte[] genesis;
    if (Files.exists(file)) {
      Journal.removeLeftovers(file);
      JournalArchive.recover(dir, file);
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
        genesis = Journal.read(ch, Journal.scan(ch, file, Set.of()), 0);
      }
    } else if (b.genesis != null) {
      genesis = BlockCodec.encodeGenesis(b.genesis, b.mechanismOrDefault(), clock.millis());
    } else {
      throw new LedgerException("no ledger in " + dir + ", and no genesis given to start one"
          + " from the exported state");
    }
    if (!Hash256.of(genesis).equals(d.state().chainId())) {
      throw new LedgerException("the exported state is of chain " + d.state().chainId()
          + ", but the ledger in " + dir + " is chain " + Hash256.of(genesis));
    }
    if (d.block().number() == 0) {
      // A checkpoint stands for a block after the genesis: the genesis block alone is this.
      LedgerState genesisState =
          LedgerState.genesis(BlockCodec.decode(genesis).genesis(), Hash256.of(genesis));
      if (!Arrays.equals(genesisState.encode(), d.state().encode())) {
        throw new LedgerException("the exported state is at the genesis block of chain "
            + Hash256.of(genesis) + ", but is not that block's state");
      }
      Journal.create(file, genesis);
      return;
    }
    Journal.compact(file, genesis, BlockCodec.checkpointOfExport(d.block(), exported)).close();
  }

  private Recovered recover(Builder b, Path dir, boolean readOnly) throws IOException {
    Path file = dir.resolve(Journal.FILE_NAME);
    if (!Files.exists(file)) {
      if (readOnly) {
        throw new LedgerException("no ledger in " + dir + ": " + file + " does not exist");
      }
      if (b.genesis == null) {
        throw new LedgerException("no ledger in " + dir + " to reopen, and no genesis given to"
            + " create one");
      }
      IncentiveMechanism m = b.mechanismOrDefault();
      Journal.create(file, BlockCodec.encodeGenesis(b.genesis, m,
          clock.millis()));
    }
    if (!readOnly) {
      Journal.removeLeftovers(file);
      JournalArchive.recover(dir, file);
    }
    List<Long> snapshots = Snapshots.list(dir);
    long reading = 0; // the block being decoded, for the message
    // One channel for the scan and the reads: a compaction by the process that writes (when
    // this one only reads) may replace the file between them.
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      Journal.Scan scan = Journal.scan(ch, file, new HashSet<>(snapshots));
      byte[] genesisPayload = Journal.read(ch, scan, 0);
      BlockCodec.Decoded genesisBlock = BlockCodec.decode(genesisPayload);
      Hash256 chainId = Hash256.of(genesisPayload);
      Genesis genesis = genesisBlock.genesis();
      if (b.genesis != null && !b.genesis.equals(genesis)) {
        throw new LedgerException("the ledger in " + dir + " began with another genesis ("
            + genesis.chainName() + ", created " + genesis.createdAt() + "); omit genesis(...)"
            + " to reopen it");
      }
      IncentiveMechanism mechanism = chooseMechanism(b, dir, genesisBlock);
      LedgerState state = null;
      for (long s : snapshots) {
        state = loadSnapshot(dir, s, scan, chainId);
        if (state != null) {
          break;
        }
      }
      Block last;
      if (state == null && scan.checkpoint() > 0) {
        // A compacted journal with no newer snapshot: go on from its checkpoint.
        reading = scan.checkpoint();
        StateExport.Decoded c = BlockCodec.decodeCheckpoint(
            Journal.read(ch, scan, scan.checkpoint()));
        if (!c.state().chainId().equals(chainId)) {
          throw new LedgerException("journal " + file + " holds a checkpoint of another chain");
        }
        state = c.state();
        last = c.block();
      } else if (state == null) {
        state = LedgerState.genesis(genesis, chainId);
        last = new Block(0, chainId, Hash256.ZERO,
            Instant.ofEpochMilli(genesisBlock.timestamp()), 0, false);
      } else if (state.height() == scan.checkpoint()) {
        reading = state.height();
        last = BlockCodec.decodeCheckpoint(Journal.read(ch, scan, state.height())).block();
      } else {
        reading = state.height();
        BlockCodec.Decoded d = BlockCodec.decode(Journal.read(ch, scan, state.height()));
        last = new Block(d.number(), state.lastHash(), d.parent(),
            Instant.ofEpochMilli(d.timestamp()), d.transactions().size(),
            d.epochDigest().isPresent());
      }
      long replayed = 0;
      for (long n = state.height() + 1; n <= scan.lastNumber(); n++) {
        reading = n;
        byte[] payload = Journal.read(ch, scan, n);
        last = replay(file, state, mechanism, n, payload).block();
        replayed++;
      }
      return new Recovered(mechanism, chainId, state, last, scan, genesisPayload, replayed);
    } catch (IllegalArgumentException e) {
      throw new LedgerException("journal " + file + " holds a block this version cannot read"
          + " (block " + reading + "): " + e.getMessage(), e);
    }
  }

  /**
   * Checks the builder's mechanism against the journal's, or (when the builder names none) takes
   * the paper's mechanism with the parameters the journal recorded.
   */
  private static IncentiveMechanism chooseMechanism(Builder b, Path dir,
      BlockCodec.Decoded genesisBlock) throws LedgerException {
    String recorded = genesisBlock.mechanism();
    Optional<PaperParams> recordedParams = genesisBlock.paperParams();
    if (b.mechanism == null) {
      if (recordedParams.isEmpty()) {
        throw new LedgerException("the ledger in " + dir + " runs the mechanism \"" + recorded
            + "\"; pass it to mechanism(...) to open it");
      }
      return IncentiveMechanism.paper(recordedParams.get());
    }
    IncentiveMechanism mechanism = b.mechanism;
    if (!recorded.equals(mechanism.name())) {
      throw new LedgerException("the ledger in " + dir + " runs the mechanism \"" + recorded
          + "\", but this one was built with \"" + mechanism.name() + "\"");
    }
    PaperParams given = BlockCodec.paperParams(mechanism);
    if (given != null && recordedParams.isPresent() && !recordedParams.get().equals(given)) {
      throw new LedgerException("the ledger in " + dir + " runs the paper's mechanism with "
          + recordedParams.get() + ", but this one was built with " + given
          + "; omit mechanism(...) to use the recorded parameters");
    }
    return mechanism;
  }

  /** The state of a snapshot that matches the journal, or null to try an older one. */
  private static LedgerState loadSnapshot(Path dir, long block, Journal.Scan scan,
      Hash256 chainId) {
    return loadSnapshot(dir, block, scan.hashes().get(block), chainId);
  }

  /** As above, against the journal's hash of the block (null: the journal does not hold it). */
  private static LedgerState loadSnapshot(Path dir, long block, Hash256 journalHash,
      Hash256 chainId) {
    if (journalHash == null) {
      return null; // the journal ends before it (a torn tail cut, or a copied directory)
    }
    try {
      Snapshots.Snapshot s = Snapshots.read(dir, block);
      if (!s.hash().equals(journalHash)) {
        return null;
      }
      LedgerState state = LedgerState.decode(s.state());
      if (state.height() != block || !state.lastHash().equals(journalHash)
          || !state.chainId().equals(chainId)) {
        return null;
      }
      return state;
    } catch (IOException | RuntimeException e) {
      return null; // damaged: replay from an older snapshot or from genesis instead
    }
  }

  /** One block applied again: the block, its transactions and the epoch after it, if any. */
  private record Replayed(Block block, List<SignedTransaction> transactions, Epoch epoch) {}

  private static Replayed replay(Path file, LedgerState state, IncentiveMechanism mechanism,
      long n, byte[] payload) throws LedgerException {
    BlockCodec.Decoded d = BlockCodec.decode(payload);
    if (!d.parent().equals(state.lastHash())) {
      // Opening's scan checks every link first; a read of the journal checks them here.
      throw new LedgerException("replaying " + file + ": block " + n + " does not follow block "
          + (n - 1) + " (the journal changed under the read, or is damaged)");
    }
    List<SignedTransaction> txs = d.transactions();
    for (int i = 0; i < txs.size(); i++) {
      TransactionRejectedException r = state.tryApply(txs.get(i), n);
      if (r != null) {
        throw new LedgerException("replaying " + file + ": transaction " + i + " of block " + n
            + " (" + txs.get(i).hash().toShortHex() + "...) is rejected: " + r.getMessage());
      }
    }
    boolean due = n % state.params().epochLength() == 0;
    if (due != d.epochDigest().isPresent()) {
      throw new LedgerException("replaying " + file + ": block " + n + (due
          ? " should be followed by an epoch but records none"
          : " records an epoch that is not due"));
    }
    Epoch epoch = null;
    if (due) {
      LedgerState.EpochOutcome outcome = state.runEpoch(mechanism, n);
      if (!outcome.digest().equals(d.epochDigest().get())) {
        throw new LedgerException("replaying " + file + ": the epoch after block " + n
            + " gives another result than when it was written (another mechanism or"
            + " parameters, or a JVM whose floating point differs)");
      }
      epoch = outcome.epoch();
    }
    Hash256 hash = Hash256.of(payload);
    state.sealed(n, hash);
    Block block =
        new Block(n, hash, d.parent(), Instant.ofEpochMilli(d.timestamp()), txs.size(), due);
    return new Replayed(block, txs, epoch);
  }

  // ---------------------------------------------------------------------------------------
  // Reads

  @Override
  public Hash256 chainId() {
    return chainId;
  }

  /** The latest durable block's metagraph; never blocks on a block being sealed. */
  @Override
  public Metagraph metagraph() {
    checkOpen();
    return committed;
  }

  @Override
  public Optional<Account> account(PeerId id) {
    Objects.requireNonNull(id, "id");
    checkOpen();
    stateLock.lock();
    try {
      return state.account(id);
    } finally {
      stateLock.unlock();
    }
  }

  /**
   * The SHA-256 of the whole state (accounts, peers, weights, bonds, rules, the last block's
   * hash), including transactions accepted into the block being built: equal ledgers have equal
   * hashes. For tests of determinism and recovery; costs a full encoding of the state.
   *
   * @throws IllegalStateException if the ledger is closed, or the state's encoding would exceed
   *     2 GiB ("an encoding may not exceed 2 GiB")
   */
  public Hash256 stateHash() {
    checkOpen();
    stateLock.lock();
    try {
      return state.hash();
    } finally {
      stateLock.unlock();
    }
  }

  /**
   * Every token counted where it is (free balances plus stake) and, separately, the supply
   * (genesis allocations plus minting, less registration burns): {@code [counted, supply]},
   * always equal. For tests.
   *
   * @throws IllegalStateException if the ledger is closed
   */
  public long[] tokenAudit() {
    checkOpen();
    stateLock.lock();
    try {
      return new long[] {state.countTokens(), state.supply()};
    } finally {
      stateLock.unlock();
    }
  }

  /**
   * The state as of the latest sealed block, with that block, as bytes that {@link
   * Builder#openInMemory(byte[])} restores: for replicas that go on from a block without
   * replaying those before it (the replicated ledger's snapshots). Take it between blocks.
   *
   * @throws IllegalStateException if transactions wait for the next block, the ledger is closed
   *     or failed, or the export would exceed 2 GiB, a byte array's limit ("an encoding may not
   *     exceed 2 GiB")
   */
  @Experimental
  public byte[] exportState() {
    checkOpen();
    sealLock.lock();
    try {
      if (failure != null) {
        // The failed block's transactions are in the state, not in the block exported with it.
        throw new IllegalStateException(failed().getMessage(), failure);
      }
      Between b = stateBetweenBlocks("export the state");
      return StateExport.encode(b.block(), b.state());
    } finally {
      sealLock.unlock();
    }
  }

  /** The latest block and the canonical encoding of the state after it. */
  private record Between(Block block, byte[] state) {}

  /**
   * The latest block and the state after it; called with sealLock held, so that no block is
   * sealed meanwhile.
   *
   * @param doing what needs them, for the message
   * @throws IllegalStateException if transactions wait for the next block: the state is then
   *     ahead of the latest block
   */
  private Between stateBetweenBlocks(String doing) {
    stateLock.lock();
    try {
      if (!pending.isEmpty()) {
        throw new IllegalStateException(pending.size() + " transactions wait for the next"
            + " block; " + doing + " between blocks");
      }
      return new Between(committed.block(), state.encode());
    } finally {
      stateLock.unlock();
    }
  }

  /**
   * Reads sealed blocks back from the journal, in order, as they were sealed: each with its
   * transactions, the epoch that ran after it (if one did) and the metagraph after it. The state
   * is replayed from the newest snapshot before {@code from}, so the first block costs up to
   * {@link Builder#snapshotEvery} blocks of replay and the rest one each; the ledger that writes
   * finds the blocks through an index of the journal it keeps (8 bytes per 64 blocks), so the
   * cost does not grow with the chain, while a read-only ledger scans the journal first. Runs
   * beside the writer (or another process appending) without blocking it. For followers that
   * missed blocks (a {@code LedgerServer}'s clients after it restarted) and for inspecting a
   * chain.
   *
   * <pre>{@code
   * LocalLedger ledger = LocalLedger.builder().openReadOnly(Path.of("ledger-data"));
   * ledger.readBlocks(1, Long.MAX_VALUE, r -> {
   *   System.out.println(r.block().number() + ": " + r.transactions().size() + " transactions");
   *   return true;
   * });
   * }</pre>
   *
   * @param from the first block wanted, {@code >= 1}
   * @param to the last block wanted; blocks past the latest durable one are not read
   * @param visitor takes each block in turn, on the calling thread; false stops the read
   * @return the number of the last block the visitor took, or {@code from - 1} if none
   * @throws LedgerException if neither the journal nor its archive ({@link
   *     Builder#archiveCompacted}) holds block {@code from} (a compaction dropped it), they
   *     cannot be read, or the ledger is in memory (it keeps no journal)
   * @throws IllegalArgumentException if {@code from < 1}
   * @throws IllegalStateException if the ledger is closed
   */
  @Experimental
  @Override
  public long readBlocks(long from, long to, Predicate<BlockRecord> visitor)
      throws LedgerException {
    BlockHistory.checkArguments(from, visitor);
    return readJournals(from, to, (files, last) -> replayFiles(files, from, last, visitor));
  }

  /**
   * Reads sealed blocks and their transactions straight from the journal (and the archive), with
   * no replay: each block costs a read and a decode, and its link to the block before is checked
   * (the hash chain), not its transactions against the rules. For those who replay the blocks
   * themselves; {@link #readBlocks} when the state after each is wanted.
   *
   * @throws LedgerException as {@link #readBlocks}
   * @throws IllegalArgumentException if {@code from < 1}
   * @throws IllegalStateException if the ledger is closed
   */
  @Experimental
  @Override
  public long readBlockBodies(long from, long to, Predicate<BlockBody> visitor)
      throws LedgerException {
    BlockHistory.checkArguments(from, visitor);
    return readJournals(from, to, (files, last) -> bodies(files, from, last, visitor));
  }

  /** What a read does with the journals that hold its blocks, up to {@code last}. */
  private interface JournalRead {
    long read(List<JournalReader> files, long last) throws IOException;
  }

  /**
   * Opens the journals that hold blocks {@code from} on (the live one, and the archived ones
   * before its checkpoint when {@code from} is before it) and hands them to {@code read}.
   */
  private long readJournals(long from, long to, JournalRead read) throws LedgerException {
    checkOpen();
    if (dir == null) {
      throw new LedgerException("an in-memory ledger keeps no journal to read blocks from");
    }
    long last = Math.min(to, committed.block().number());
    if (last < from) {
      return from - 1;
    }
    Path file = dir.resolve(Journal.FILE_NAME);
    List<JournalReader> files = new ArrayList<>();
    try {
      JournalReader live;
      if (journal != null) {
        // Under the seal lock, so that the reader's index and file are the same journal's; a
        // compaction afterwards renames another file over it, and this read goes on in this one.
        sealLock.lock();
        try {
          live = journal.openReader();
        } finally {
          sealLock.unlock();
        }
      } else {
        live = JournalReader.scanned(file); // read-only: the journal as it is now
      }
      files.add(live);
      if (live.checkpoint() > 0 && from <= live.checkpoint()) {
        // The blocks before the checkpoint: in the archived journals, if kept. Each goes into
        // files before the live one as it is opened, so that a failure closes it too.
        for (JournalArchive.Segment a : JournalArchive.list(dir)) {
          if (a.last() >= from && a.first() <= live.checkpoint()) {
            files.add(files.size() - 1, JournalArchive.open(a));
          }
        }
        if (files.size() == 1 || files.get(0).checkpoint() >= from) {
          throw new LedgerException("the journal in " + dir + " was compacted at block "
              + live.checkpoint() + ": it holds blocks " + (live.checkpoint() + 1)
              + " on, and no archived journal holds block " + from);
        }
      }
      last = Math.min(last, live.lastNumber());
      return read.read(files, last);
    } catch (VisitorFailed e) {
      throw e.getCause(); // the caller's own, not a failure to read
    } catch (LedgerException e) {
      throw e;
    } catch (IOException | RuntimeException e) {
      throw new LedgerException("cannot read blocks " + from + " to " + last + " from " + dir
          + ": " + e.getMessage(), e);
    } finally {
      for (JournalReader r : files) {
        try {
          r.close();
        } catch (IOException ignored) {
          // Read-only channels: nothing to lose.
        }
      }
    }
  }

  /**
   * Hands the visitor blocks {@code from} to {@code last} of {@code files} (journals in block
   * order) as they are written, each checked to follow the one before.
   */
  private long bodies(List<JournalReader> files, long from, long last,
      Predicate<BlockBody> visitor) throws IOException, LedgerException {
    Hash256 parent = null;
    int f = 0;
    for (long n = from; n <= last; n++) {
      while (f < files.size() && files.get(f).lastNumber() < n) {
        f++;
      }
      if (f == files.size() || files.get(f).checkpoint() >= n) {
        throw new LedgerException("no journal of " + dir + " holds block " + n);
      }
      byte[] payload = files.get(f).read(n);
      BlockCodec.Decoded d = BlockCodec.decode(payload);
      if (d.number() != n || (parent != null && !d.parent().equals(parent))) {
        throw new LedgerException("reading " + dir + ": block " + n + " does not follow block "
            + (n - 1) + " (the journal changed under the read, or is damaged)");
      }
      Hash256 hash = Hash256.of(payload);
      Block block = new Block(n, hash, d.parent(), Instant.ofEpochMilli(d.timestamp()),
          d.transactions().size(), d.epochDigest().isPresent());
      parent = hash;
      boolean more;
      try {
        more = visitor.test(new BlockBody(block, d.transactions()));
      } catch (RuntimeException e) {
        throw new VisitorFailed(e);
      }
      if (!more) {
        return n;
      }
    }
    return last;
  }

  /**
   * Replays {@code files} (journals in block order, each starting at its predecessor's last
   * block) from the newest snapshot or checkpoint before {@code from}, handing the visitor
   * blocks {@code from} to {@code last}.
   */
  private long replayFiles(List<JournalReader> files, long from, long last,
      Predicate<BlockRecord> visitor) throws IOException {
    JournalReader first = files.get(0);
    LedgerState s = null;
    for (long snapshot : Snapshots.list(dir)) {
      if (snapshot < from && snapshot > first.checkpoint() && snapshot <= first.lastNumber()) {
        s = loadSnapshot(dir, snapshot, Hash256.of(first.read(snapshot)), chainId);
        if (s != null) {
          break;
        }
      }
    }
    if (s == null && first.checkpoint() > 0) {
      s = BlockCodec.decodeCheckpoint(first.read(first.checkpoint())).state();
    } else if (s == null) {
      s = LedgerState.genesis(BlockCodec.decode(first.read(0)).genesis(), chainId);
    }
    for (int f = 0; f < files.size(); f++) {
      JournalReader reader = files.get(f);
      if (f > 0) {
        // The next journal goes on from a checkpoint of the state this one ends with.
        Block checkpoint = BlockCodec.decodeCheckpoint(reader.read(reader.checkpoint())).block();
        if (checkpoint.number() != s.height() || !checkpoint.hash().equals(s.lastHash())) {
          throw new LedgerException("the archived journals of " + dir + " do not join: one ends"
              + " at block " + s.height() + ", the next goes on from block "
              + checkpoint.number());
        }
      }
      for (long n = s.height() + 1; n <= Math.min(last, reader.lastNumber()); n++) {
        Replayed r = replay(reader.file(), s, mechanism, n, reader.read(n));
        if (n < from) {
          continue;
        }
        BlockRecord record = new BlockRecord(r.block(), r.transactions(),
            Optional.ofNullable(r.epoch()), metagraph(s.view(), r.block()));
        boolean more;
        try {
          more = visitor.test(record);
        } catch (RuntimeException e) {
          throw new VisitorFailed(e);
        }
        if (!more) {
          return n;
        }
      }
      if (s.height() >= last) {
        break;
      }
    }
    return last;
  }

  /**
   * {@inheritDoc}
   *
   * <p>The journal's first record; an in-memory ledger keeps the one it was made from.
   */
  @Experimental
  @Override
  public byte[] genesisBlock() {
    checkOpen();
    return genesisPayload.clone();
  }

  /** Carries a visitor's exception past the read's own handling. */
  private static final class VisitorFailed extends RuntimeException {
    private static final long serialVersionUID = 1L;

    VisitorFailed(RuntimeException cause) {
      super(cause);
    }

    @Override
    public synchronized RuntimeException getCause() {
      return (RuntimeException) super.getCause();
    }
  }

  /** True when the ledger is in a directory: an in-memory one keeps no journal to read. */
  @Experimental
  @Override
  public boolean keepsBlocks() {
    return dir != null;
  }

  /** The data directory, or empty for an in-memory ledger. */
  public Optional<Path> directory() {
    return Optional.ofNullable(dir);
  }

  /**
   * How many blocks opening applied again from the journal: those after the newest snapshot (or
   * compaction checkpoint) that matched it, all of them when none did, 0 for a new or in-memory
   * ledger. What opening took, for those who watch it: a damaged snapshot shows as more.
   */
  @Experimental
  public long blocksReplayedOnOpen() {
    return replayedOnOpen;
  }

  // ---------------------------------------------------------------------------------------
  // Transactions

  /**
   * {@inheritDoc}
   *
   * <p>Checks the chain and the signature on the calling thread, then validates and applies
   * under a short lock. The future completes on the thread that seals the block.
   *
   * @throws IllegalStateException if the ledger is closed or read-only
   */
  @Override
  public CompletableFuture<Receipt> submit(SignedTransaction tx) {
    Objects.requireNonNull(tx, "tx");
    checkOpen();
    if (readOnly) {
      throw new IllegalStateException("the ledger was opened read-only");
    }
    return submitChecked(tx, tx.verifySignature());
  }

  /**
   * {@inheritDoc} The signatures, the costly part, are verified first, on several threads (the
   * common fork-join pool) for a batch of 16 or more; then each
   * transaction is validated and applied in order, as {@link #submit} does.
   *
   * @throws IllegalStateException if the ledger is closed or read-only
   */
  @Override
  @Experimental
  public List<CompletableFuture<Receipt>> submitAll(List<SignedTransaction> transactions) {
    Objects.requireNonNull(transactions, "transactions");
    checkOpen();
    if (readOnly) {
      throw new IllegalStateException("the ledger was opened read-only");
    }
    int n = transactions.size();
    for (SignedTransaction tx : transactions) {
      Objects.requireNonNull(tx, "transaction");
    }
    boolean[] verified = BatchSignatures.verify(transactions);
    List<CompletableFuture<Receipt>> futures = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      futures.add(submitChecked(transactions.get(i), verified[i]));
    }
    return futures;
  }

  /** Validates and applies {@code tx}, whose signature verified or not ({@code signatureOk}). */
  private CompletableFuture<Receipt> submitChecked(SignedTransaction tx, boolean signatureOk) {
    if (failure != null) {
      return CompletableFuture.failedFuture(failed());
    }
    if (!tx.chainId().equals(chainId)) {
      return rejected(RejectReason.WRONG_CHAIN,
          "transaction names chain " + tx.chainId() + ", this ledger is " + chainId);
    }
    if (!signatureOk) {
      return rejected(RejectReason.BAD_SIGNATURE,
          "the signature does not verify against " + tx.signer());
    }
    stateLock.lock();
    try {
      checkOpen();
      if (failure != null) {
        return CompletableFuture.failedFuture(failed());
      }
      if (pending.size() >= maxPending
          || pendingBytes + tx.encodedLength() > MAX_BLOCK_BYTES) {
        return rejected(RejectReason.BUSY, pending.size() + " transactions (" + pendingBytes
            + " bytes) wait for the next block, the most this ledger holds");
      }
      TransactionRejectedException r = state.tryApply(tx, state.height() + 1);
      if (r != null) {
        return CompletableFuture.failedFuture(r);
      }
      CompletableFuture<Receipt> future = new CompletableFuture<>();
      pending.add(new Pending(tx, future));
      pendingBytes += tx.encodedLength();
      return future;
    } finally {
      stateLock.unlock();
    }
  }

  private static CompletableFuture<Receipt> rejected(RejectReason reason, String detail) {
    return CompletableFuture.failedFuture(new TransactionRejectedException(reason, detail));
  }

  private LedgerException failed() {
    return new LedgerException("the ledger failed and accepts no more transactions: "
        + failure.getMessage(), failure);
  }

  // ---------------------------------------------------------------------------------------
  // Blocks

  /**
   * Seals a block now with every transaction accepted since the last one (possibly none), runs
   * the epoch if one is due, writes and fsyncs the block, completes its transactions' futures
   * and tells the listeners, all on the calling thread.
   *
   * @return the new block
   * @throws LedgerException if the journal cannot be written; the ledger then accepts no more
   *     transactions (reopen it: nothing acknowledged is lost)
   * @throws IllegalStateException if the ledger is closed or read-only, or if called while this
   *     thread seals a block (from a listener, or a stage of a future the block completes)
   * @throws Error one a listener threw, once the block is durable, every listener has heard it
   *     and its snapshot (and compaction) is done; or one while sealing, before the block was
   *     durable, which fails the ledger as a failed write does
   */
  public Block produceBlock() throws LedgerException {
    checkOpen();
    if (readOnly) {
      throw new IllegalStateException("the ledger was opened read-only");
    }
    sealLock.lock();
    try {
      checkOpen();
      if (failure != null) {
        throw failed();
      }
      if (sealLock.getHoldCount() > 1) {
        // A block sealed inside another's callbacks reaches the listeners before it, and that
        // block's compaction, run after, would drop it from the journal.
        throw new IllegalStateException("produceBlock from a listener or a future's stage of"
            + " the block being sealed; seal the next block from another thread");
      }
      Metagraph before = committed;
      try {
        return seal();
      } catch (RuntimeException e) {
        throw fail(new LedgerException("sealing block " + (state.height() + 1) + " failed: " + e,
            e));
      } catch (Error e) {
        if (committed == before) {
          // Not durable: the state is ahead of the journal and the block's futures wait.
          fail(new LedgerException("sealing block " + (before.block().number() + 1)
              + " failed: " + e, e));
        }
        throw e;
      }
    } finally {
      unlockSeal();
    }
  }

  /**
   * Marks the ledger failed: the block being sealed and every waiting transaction fail with it,
   * once sealLock (held) is released.
   */
  private LedgerException fail(LedgerException f) {
    failure = f;
    for (Pending p : sealing) {
      toFail.add(p.future);
    }
    sealing = List.of();
    takePending();
    return f;
  }

  /**
   * Releases sealLock and, once this thread holds it no more, fails the futures {@link #fail}
   * and {@link #close} set aside: their stages run outside the ledger's locks, so one that waits
   * for another thread's call into the ledger does not wait forever.
   */
  private void unlockSeal() {
    List<CompletableFuture<Receipt>> failing = List.of();
    if (sealLock.getHoldCount() == 1 && !toFail.isEmpty()) {
      failing = toFail;
      toFail = new ArrayList<>();
    }
    sealLock.unlock();
    for (CompletableFuture<Receipt> f : failing) {
      f.completeExceptionally(failure != null ? failed()
          : new LedgerException("the ledger closed before the transaction's block was"
              + " sealed; it is not in the ledger"));
    }
  }

  /**
   * Seals {@code count} blocks, one after another: for simulations that step through epochs.
   *
   * @return the last block
   * @throws IllegalArgumentException if {@code count < 1}
   * @throws LedgerException as {@link #produceBlock()}
   * @throws IllegalStateException if the ledger is closed or read-only
   */
  public Block produceBlocks(int count) throws LedgerException {
    if (count < 1) {
      throw new IllegalArgumentException("count must be >= 1, was " + count);
    }
    Block last = null;
    for (int i = 0; i < count; i++) {
      last = produceBlock();
    }
    return last;
  }

  private Block seal() throws LedgerException {
    List<Pending> batch;
    byte[] payload;
    Block block;
    LedgerState.EpochOutcome epoch = null;
    LedgerState.View view;
    byte[] snapshot = null;
    stateLock.lock();
    try {
      batch = pending;
      sealing = batch;
      pending = new ArrayList<>();
      pendingBytes = 0;
      long number = state.height() + 1;
      boolean due = number % state.params().epochLength() == 0;
      if (due) {
        epoch = state.runEpoch(mechanism, number);
      }
      long timestamp = Math.max(lastTimestamp, clock.millis());
      lastTimestamp = timestamp;
      List<SignedTransaction> txs = new ArrayList<>(batch.size());
      for (Pending p : batch) {
        txs.add(p.tx);
      }
      Hash256 parent = state.lastHash();
      payload = BlockCodec.encodeBlock(number, parent, timestamp, txs,
          epoch == null ? null : epoch.digest());
      Hash256 hash = Hash256.of(payload);
      state.sealed(number, hash);
      block = new Block(number, hash, parent, Instant.ofEpochMilli(timestamp), txs.size(), due);
      view = state.view();
      if (journal != null && snapshotEvery > 0 && number % snapshotEvery == 0) {
        try {
          snapshot = state.encode();
        } catch (IllegalStateException tooLarge) { // over 2 GiB: no snapshot, as if one failed
          // Thrown on, it would fail the ledger with the block not yet written, at every
          // snapshot after each reopening.
        }
      }
    } finally {
      stateLock.unlock();
    }
    if (journal != null) {
      try {
        journal.append(payload);
      } catch (IOException | RuntimeException e) {
        throw fail(new LedgerException("cannot write block " + block.number() + " to "
            + journal.file() + ": " + e.getMessage(), e));
      }
    }
    Metagraph after = metagraph(view, block);
    committed = after;
    sealing = List.of();
    for (int i = 0; i < batch.size(); i++) {
      Pending p = batch.get(i);
      p.future.complete(new Receipt(p.tx.hash(), block.number(), i));
    }
    // A listener's Error is thrown once the block's snapshot and compaction are done.
    Error thrown = null;
    if (epoch != null) {
      Epoch e = epoch.epoch();
      thrown = dispatch(l -> l.onEpoch(e, after), null);
    }
    thrown = dispatch(l -> l.onBlock(block, after), thrown);
    if (snapshot != null && !closed.get()) { // closed by a callback: the files are released
      try {
        Snapshots.write(dir, block.number(), block.hash(), snapshot);
      } catch (IOException | RuntimeException ignored) { // an unchecked listing error included
        // A snapshot only shortens replay; the journal holds everything. The next one may work.
      }
      if (compactAtSnapshots) {
        try {
          compact(block, snapshot);
        } catch (IOException | RuntimeException e) { // LedgerException included
          // The old journal is whole and still in use; the next snapshot tries again. (After a
          // rename that could not be made durable, `failure` is set and submissions fail.)
        }
      }
    }
    if (thrown != null) {
      throw thrown;
    }
    return block;
  }

  /**
   * Rewrites the journal as the genesis block and a checkpoint of {@code state} after {@code
   * block}, the last block appended, and appends to the new one from now on. Called with
   * sealLock held.
   *
   * @throws IOException if the rewrite failed before the rename: the old journal is unchanged
   *     and still in use
   * @throws LedgerException if the rename could not be made durable: the ledger has stopped
   */
  private void compact(Block block, byte[] state) throws IOException, LedgerException {
    Journal old = journal;
    if (archiveCompacted) {
      JournalArchive.linkPending(old.file()); // before the rename, so that a crash keeps it
    }
    try {
      journal = Journal.compact(old.file(), genesisPayload,
          BlockCodec.encodeCheckpoint(block, state));
    } catch (Journal.SwapFailedException e) {
      closeQuietly(old, null, null);
      throw fail(new LedgerException("cannot compact " + old.file() + ": " + e.getMessage(), e));
    } catch (IOException | RuntimeException e) {
      if (archiveCompacted) {
        JournalArchive.dropPending(dir); // the old journal is still the journal
      }
      throw e;
    }
    closeQuietly(old, null, null); // its file is replaced; nothing more is written through it
    if (archiveCompacted) {
      try {
        JournalArchive.settlePending(dir, old.checkpoint() + 1, block.number());
      } catch (IOException e) {
        // Still named pending.btl: the next compaction or opening names it.
      }
    }
  }

  /**
   * Rewrites the journal as its genesis block and a checkpoint of the state after the latest
   * block, dropping the blocks before it: the directory's size is then the state's, twice (the
   * checkpoint and a snapshot), whatever the chain's length. Whole or not at all (a temporary
   * file, fsync'ed and renamed); the ledger reopens from the checkpoint as from a snapshot. The
   * blocks dropped cannot be replayed or read again, unless {@link Builder#archiveCompacted}
   * keeps the journal replaced. {@link Builder#compactAtSnapshots} does this at every snapshot.
   *
   * @throws IllegalStateException if transactions wait for the next block (compact between
   *     blocks), or the ledger is closed, read-only or in memory; or, with the journal unchanged,
   *     if the checkpoint of the state would exceed 2 GiB ("an encoding may not exceed 2 GiB"),
   *     as compactions at snapshots then skip it too
   * @throws LedgerException if the journal could not be rewritten (it is then unchanged), or the
   *     rename could not be made durable (the ledger has then stopped; reopen it)
   */
  @Experimental
  public void compactJournal() throws LedgerException {
    checkOpen();
    if (readOnly || dir == null) {
      throw new IllegalStateException("only a ledger opened for writing in a directory has a"
          + " journal to compact");
    }
    sealLock.lock();
    try {
      checkOpen(); // again: closed while this waited, its files may be another ledger's now
      if (failure != null) {
        throw failed();
      }
      Between b = stateBetweenBlocks("compact the journal");
      if (b.block().number() == 0 || b.block().number() == journal.checkpoint()) {
        return; // the journal holds the genesis block alone, or this checkpoint alone, already
      }
      try {
        compact(b.block(), b.state());
      } catch (LedgerException e) {
        throw e; // the rename happened but is not durable: the ledger has stopped
      } catch (IOException e) {
        throw new LedgerException("cannot compact " + journal.file() + " (it is unchanged): "
            + e.getMessage(), e);
      }
    } finally {
      unlockSeal();
    }
  }

  private void timedBlock() {
    if (closed.get() || failure != null) {
      return;
    }
    try {
      produceBlock();
    } catch (LedgerException | IllegalStateException e) {
      // Recorded in `failure` (or the ledger closed meanwhile); submitters see it.
    } catch (Error e) {
      // A listener's, the block durable (one before that failed the ledger). Thrown on, it
      // would end the timer: the executor drops a periodic task that throws, silently.
    }
  }

  /** Sets the waiting transactions' futures aside to fail; called with sealLock held. */
  private void takePending() {
    stateLock.lock();
    try {
      for (Pending p : pending) {
        toFail.add(p.future);
      }
      pending = new ArrayList<>();
      pendingBytes = 0;
    } finally {
      stateLock.unlock();
    }
  }

  private Metagraph metagraph(LedgerState.View v, Block block) {
    return new Metagraph(chainId, block, v.params(), v.supply(),
        Optional.ofNullable(v.lastEpoch()), v.infos(), v.stake(), v.registeredAt(),
        v.lastUpdate(), v.emission(), v.vectors(), v::weights, v::bondsMatrix);
  }

  // ---------------------------------------------------------------------------------------
  // Events and lifecycle

  @Override
  public Subscription subscribe(LedgerListener listener) {
    Objects.requireNonNull(listener, "listener");
    checkOpen();
    return ListenerSubscription.subscribe(listener, subscriptions);
  }

  /**
   * Tells every listener of {@code event}. An exception a listener throws is dropped; an Error
   * does not keep the listeners after it from the event either, and is returned: {@code thrown}
   * (an earlier one, or null) if any, with the new ones added to it as suppressed.
   */
  private Error dispatch(java.util.function.Consumer<LedgerListener> event, Error thrown) {
    for (ListenerSubscription s : subscriptions) {
      try {
        s.deliver(event);
      } catch (Error e) {
        if (thrown == null) {
          thrown = e;
        } else if (thrown != e) {
          thrown.addSuppressed(e);
        }
      }
    }
    return thrown;
  }

  private void checkOpen() {
    if (closed.get()) {
      throw new IllegalStateException("the ledger is closed");
    }
  }

  /**
   * Stops the block timer, fails transactions not yet in a durable block (their futures complete
   * with a {@link LedgerException}; they are not in the ledger), waits for a block being sealed
   * and releases the journal and the directory lock. Idempotent. An executor passed to {@link
   * Builder#scheduler} stays open: it is the caller's.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    if (timer != null) {
      timer.cancel(false);
    }
    if (ownScheduler != null) {
      // Not shutdownNow: an interrupt would close the journal's channel mid-write.
      ownScheduler.shutdown();
    }
    sealLock.lock();
    try {
      takePending();
      subscriptions.clear();
      closeQuietly(journal, lock, lockChannel);
    } finally {
      unlockSeal();
    }
  }

  /** E.g. {@code LocalLedger[ledger-data, block 120, 64 peers]}. */
  @Override
  public String toString() {
    Metagraph m = committed;
    return "LocalLedger[" + (dir == null ? "in memory" : dir) + ", block "
        + m.block().number() + ", " + m.size() + " peers]";
  }

  /**
   * Configures and opens a {@link LocalLedger}. Not thread-safe; each {@code open} makes an
   * independent ledger.
   */
  public static final class Builder {
    private Genesis genesis;
    private IncentiveMechanism mechanism;

    private IncentiveMechanism mechanismOrDefault() {
      return mechanism != null ? mechanism : DEFAULT_MECHANISM;
    }
    private Clock clock = Clock.systemUTC();
    private BlockPolicy policy = BlockPolicy.every(java.time.Duration.ofSeconds(1));
    private ScheduledExecutorService scheduler;
    private int snapshotEvery = 1000;
    private boolean compactAtSnapshots;
    private boolean archiveCompacted;
    private int maxPending = 100_000;

    private Builder() {}

    /**
     * How the chain begins. Needed to create a ledger; when reopening one, leave it out or give
     * the same genesis (another one is refused).
     */
    public Builder genesis(Genesis genesis) {
      this.genesis = Objects.requireNonNull(genesis, "genesis");
      return this;
    }

    /**
     * The incentive mechanism epochs run. By default a new ledger runs the paper's, with its
     * default parameters but {@link #DEFAULT_TAU} units minted per epoch. The genesis block
     * records the mechanism's name and, for the paper's mechanism, its parameters: a ledger
     * reopens with them when no mechanism is given here. Any other mechanism must be given again
     * on every open, with the same parameters (replay checks each epoch and refuses to go on
     * if one comes out differently).
     *
     * <p>The mechanism's emission is counted in the ledger's whole units, so give its {@code
     * tau} on that scale: {@code IncentiveMechanism.paper()} and {@code
     * YumaConsensus.defaults()} mint 1.0 an epoch, one unit, where the default mints {@link
     * #DEFAULT_TAU}.
     *
     * <pre>{@code
     * LocalLedger.builder().mechanism(YumaConsensus.of(
     *     YumaParams.defaults().withTau(LocalLedger.DEFAULT_TAU)))...
     * }</pre>
     */
    public Builder mechanism(IncentiveMechanism mechanism) {
      this.mechanism = Objects.requireNonNull(mechanism, "mechanism");
      return this;
    }

    /** The clock that timestamps blocks (default: the system clock, UTC). */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** When blocks are sealed (default: every second). */
    public Builder blocks(BlockPolicy policy) {
      this.policy = Objects.requireNonNull(policy, "policy");
      return this;
    }

    /**
     * The executor that runs the block timer (default: a daemon thread of the ledger's own).
     * It stays yours: {@link LocalLedger#close()} cancels the timer but does not shut it down.
     */
    public Builder scheduler(ScheduledExecutorService scheduler) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
      return this;
    }

    /**
     * Writes a snapshot after every {@code blocks} blocks, bounding what opening replays
     * (default 1000; 0: never, replay from genesis).
     *
     * @throws IllegalArgumentException if {@code blocks < 0}
     */
    public Builder snapshotEvery(int blocks) {
      if (blocks < 0) {
        throw new IllegalArgumentException("snapshotEvery must be >= 0, was " + blocks);
      }
      this.snapshotEvery = blocks;
      return this;
    }

    /**
     * Whether every snapshot also compacts the journal ({@link LocalLedger#compactJournal()}):
     * it is rewritten as the genesis block and a checkpoint of the snapshot's state, so the
     * directory stays about three times the state's size however long the chain grows, and the
     * blocks before the latest snapshot can no longer be replayed or read. Default false: the
     * journal keeps every block since genesis.
     */
    @Experimental
    public Builder compactAtSnapshots(boolean compact) {
      this.compactAtSnapshots = compact;
      return this;
    }

    /**
     * Whether a compaction keeps the journal it replaces in the data directory's {@code archive}
     * folder ({@code journal-<first>-<last>.btl}, by the blocks it holds), so that {@link
     * LocalLedger#readBlocks} still reads the blocks before the checkpoint. The journal is given
     * a second name, not copied (a copy, fsync'ed, where the file system has no hard links),
     * and a crash during the compaction keeps it too. Opening stays
     * as fast as with compaction alone; the disk holds every block, as without it. Default
     * false: the blocks a compaction drops are gone.
     */
    @Experimental
    public Builder archiveCompacted(boolean archive) {
      this.archiveCompacted = archive;
      return this;
    }

    /**
     * The most transactions that may wait for the next block; beyond it, submissions are
     * rejected with {@link RejectReason#BUSY} (default 100,000).
     *
     * @throws IllegalArgumentException if {@code max < 1}
     */
    public Builder maxPendingTransactions(int max) {
      if (max < 1) {
        throw new IllegalArgumentException("maxPendingTransactions must be >= 1, was " + max);
      }
      this.maxPending = max;
      return this;
    }

    /**
     * Opens the ledger in {@code dir}, creating it (from the genesis) if it holds none:
     * verifies the journal, cuts a torn tail, loads the newest good snapshot and replays the
     * rest.
     *
     * @throws LedgerException if the journal is corrupt (the message names the block), another
     *     process holds the directory, there is no ledger and no genesis, the genesis or the
     *     mechanism differs from the journal's, or replay diverges
     * @throws IOException if the files cannot be read or written
     */
    public LocalLedger open(Path dir) throws IOException {
      return new LocalLedger(this, Objects.requireNonNull(dir, "dir"), false, null);
    }

    /**
     * Opens the ledger in {@code dir} going on from the state another ledger of the same chain
     * exported ({@link LocalLedger#exportState()}), as a replica does that was sent another's
     * state: the journal there, if any, is replaced by one that starts from the export (the
     * genesis block, then the export as a checkpoint, as {@link LocalLedger#compactJournal()}
     * leaves it), and the ledger opens from it. Blocks before the export's are not replayed, and
     * those the old journal held are no longer read back. Whole or not at all: until the new
     * journal is renamed into place the old one stays.
     *
     * <p>Without a journal in {@code dir} the genesis (and the mechanism, if not the default)
     * must be that ledger's, as for {@link #openInMemory(byte[])}; with one, the export must be
     * of its chain.
     *
     * @throws LedgerException if the bytes are not an export, are another chain's, or as {@link
     *     #open}
     * @throws IOException if the files cannot be read or written
     */
    @Experimental
    public LocalLedger open(Path dir, byte[] exportedState) throws IOException {
      return new LocalLedger(this, Objects.requireNonNull(dir, "dir"), false,
          Objects.requireNonNull(exportedState, "exportedState"));
    }

    /**
     * Opens the ledger in {@code dir} to read it: no lock, no writes (a torn tail is ignored,
     * not cut), no blocks, no submissions. Safe while another process appends to it.
     *
     * @throws LedgerException as {@link #open}, or if {@code dir} holds no ledger
     * @throws IOException if the files cannot be read
     */
    public LocalLedger openReadOnly(Path dir) throws IOException {
      return new LocalLedger(this, Objects.requireNonNull(dir, "dir"), true, null);
    }

    /**
     * A ledger with no files at all, for tests, simulations and benchmarks: everything else is
     * the same, including the block timer unless {@link BlockPolicy#manual()}.
     *
     * @throws IllegalStateException if no genesis was given
     */
    public LocalLedger openInMemory() {
      try {
        return new LocalLedger(this, null, false, null);
      } catch (IOException e) {
        throw new IllegalStateException("an in-memory ledger does no I/O", e);
      }
    }

    /**
     * An in-memory ledger that goes on from the state another one exported ({@link
     * LocalLedger#exportState()}): its blocks are not replayed. The genesis (and the mechanism,
     * if not the default) must be that ledger's; the chain id is checked.
     *
     * @throws IllegalStateException if no genesis was given
     * @throws LedgerException if the bytes are not an export, or are another chain's
     */
    @Experimental
    public LocalLedger openInMemory(byte[] exportedState) throws LedgerException {
      Objects.requireNonNull(exportedState, "exportedState");
      try {
        return new LocalLedger(this, null, false, exportedState);
      } catch (LedgerException e) {
        throw e;
      } catch (IOException e) {
        throw new IllegalStateException("an in-memory ledger does no I/O", e);
      }
    }
  }
}
