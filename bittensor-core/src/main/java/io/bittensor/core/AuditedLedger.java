package io.bittensor.core;

import io.bittensor.core.internal.ListenerSubscription;
import io.bittensor.incentive.IncentiveMechanism;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A ledger whose every block is audited before anyone here hears of it: wraps a ledger served
 * by someone else (usually a {@code RemoteLedger}) and replays each of its blocks from the
 * genesis block, as {@link ChainAudit} does, against a chain id the caller trusts. Listeners
 * hear a block and its epoch only once it replayed to itself, {@link #metagraph()} is the state
 * the audit reached, and a submission's receipt completes only once its block checked out and
 * held the transaction where the server said. A server that lies about a block is caught there:
 * nothing from that block on is heard, {@link #metagraph()} throws the {@link
 * ChainAudit.MismatchException} naming it, and waiting submissions fail with it. A receipt for a
 * block the server's history still does not hold when read 30 s after the receipt came fails
 * with one too, whatever blocks the server announced meanwhile (docs/ledger.md).
 *
 * <pre>{@code
 * URI uri = URI.create("http://10.0.0.2:8092");
 * Hash256 trustedChainId = ...;   // from a source you trust, not from that server
 * // Both named: if over throws, the remote ledger is still ours, and the try closes it.
 * try (RemoteLedger remote = RemoteLedger.connect(uri);
 *     AuditedLedger ledger = AuditedLedger.over(remote, trustedChainId)) {
 *   Neuron neuron = Neuron.builder().ledger(ledger)...start();   // acts on audited metagraphs only
 * }   // closing the audited ledger closed the remote one; closing it again does nothing
 * }</pre>
 *
 * <p>It reads each block's body only ({@link BlockHistory#readBlockBodies}: the block and its
 * transactions) and replays it; the states it hands on are its replay's own, so no metagraph
 * the server sends is used. What stays the server's word: {@link #account} and {@link
 * #nextNonce} (they include transactions no block holds yet) and whether a transaction is
 * accepted or rejected at submission. What it costs: each block read a second time (a request
 * per block from a remote ledger) and replayed, its signatures checked again; opening replays
 * the whole chain, unless a replica folder from an earlier run is given (docs/ledger.md has the
 * measurements).
 *
 * <p>With its replica on disk ({@link #over(Ledger, Hash256, IncentiveMechanism, Path)}) it is a
 * {@link BlockHistory} of the blocks checked so far, read from the replica's own journal, so a
 * {@code LedgerServer} in front of it serves only audited blocks, states and receipts: a relay
 * that checks what it passes on.
 *
 * <p>Thread-safe. Listeners run on the audit's own thread, in block order; closing a
 * subscription waits for its listener's callback in progress, as a {@link LocalLedger}'s does, so
 * that none starts once it returned. Closing closes the wrapped ledger too; an {@code over} that
 * throws leaves it open, the caller's to close.
 */
@Experimental
public final class AuditedLedger implements Ledger, BlockHistory {
  private final Ledger ledger;
  private final Hash256 chainId;
  private final ChainAudit.Auditor auditor;
  /** The audit's thread, which also reads again when a receipt's grace is over. */
  private final ScheduledThreadPoolExecutor audits;
  /** The audit's thread: a listener that closes this runs there. */
  private volatile Thread auditThread;
  private final Subscription following;
  private final List<ListenerSubscription> listeners = new CopyOnWriteArrayList<>();
  /** Submissions whose block has not checked out yet, by transaction. */
  private final Map<Hash256, Waiting> waiting = new ConcurrentHashMap<>();
  private volatile Metagraph checked;
  /** The latest block the ledger announced: each audit reads up to it, not only its own. */
  private final AtomicLong announced = new AtomicLong();
  /**
   * The blocks announced past the last one checked, as the audit thread heard of them: a
   * refusal says "which it announced" only of one of these. {@link #announced} is only the
   * highest, and a server that lies may announce a block far ahead and then name one it never
   * announced. At most {@link #ANNOUNCEMENTS_KEPT}, the lowest let go first (a refusal then
   * says less, never more). Audit thread only.
   */
  private final TreeSet<Long> announcedPast = new TreeSet<>();
  private static final int ANNOUNCEMENTS_KEPT = 1024;
  /**
   * The furthest block a receipt named, till a read of the history after it went through: the
   * next audit reads that far, so a receipt past the history is found out. Audit thread only.
   */
  private long claimedUpTo;
  /** How long a receipt's block may be missing from the history: {@link #RECEIPT_GRACE}. */
  private final long graceNanos;
  /** The read again at the end of a receipt's grace, while one is scheduled. Audit thread only. */
  private ScheduledFuture<?> recheck;
  /** Why the audit failed: a block that did not replay to itself. */
  private volatile LedgerException failed;
  /** What waiting submissions fail with: {@link #failed}, or the close. */
  private volatile LedgerException refusing;
  private final AtomicBoolean closed = new AtomicBoolean();

  /**
   * A submission: what the caller holds, the receipt the server gave and the one the audit
   * found, each once known. It completes when both are, and only if they agree.
   */
  private static final class Waiting {
    final CompletableFuture<Receipt> future = new CompletableFuture<>();
    volatile Receipt claimed;
    /** Set and read on the audit thread only. */
    Receipt audited;
    /**
     * Whether the audit thread knew of {@code claimed} before its read began, so that the
     * server had sealed the block it named before it was asked for it. Audit thread only.
     */
    boolean claimSeen;
    /** When {@code claimSeen} was set ({@link System#nanoTime}). Audit thread only. */
    long claimSeenNanos;

    /**
     * Whether the receipt, known before a read, names a block past {@code end}, where the
     * history as read ends, and the audit has not found it. Audit thread only.
     */
    boolean claimsPast(long end) {
      Receipt c = claimed;
      return c != null && claimSeen && audited == null && c.block() > end;
    }
  }

  /**
   * How long after its receipt came a block may be missing from the server's history, as read,
   * before the receipt is taken for a lie: 30 s, as long as a {@code RemoteLedger}'s waiting
   * submissions wait for a lost event stream by default, and three times its default request
   * deadline. A member of a Raft group the reads went to lags the one that sealed the block by
   * a heartbeat or two, not that long. A read that fails (the server is away) proves nothing:
   * it is tried again a grace later, or at the next block announced.
   */
  static final Duration RECEIPT_GRACE = Duration.ofSeconds(30);

  private AuditedLedger(Ledger ledger, Hash256 chainId, ChainAudit.Auditor auditor,
      Duration grace) {
    this.ledger = ledger;
    this.chainId = chainId;
    this.auditor = auditor;
    this.graceNanos = grace.toNanos();
    this.checked = auditor.checked().state();
    this.audits = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "bittensor-audit");
      t.setDaemon(true);
      auditThread = t;
      return t;
    });
    audits.setExecuteExistingDelayedTasksAfterShutdownPolicy(false); // close waits for no grace
    audits.setRemoveOnCancelPolicy(true);
    try {
      this.following = ledger.subscribe(new LedgerListener() {
        @Override
        public void onBlock(Block block, Metagraph after) {
          announced.accumulateAndGet(block.number(), Math::max);
          auditLater(block.number(), true);
        }
      });
    } catch (RuntimeException e) {
      audits.shutdown(); // no task ran: it has no thread yet
      throw e;
    }
    auditLater(Long.MAX_VALUE, false); // what was sealed between the first audit and subscribing
  }

  /**
   * Audits {@code ledger} against {@code chainId} up to its latest block (from genesis, in
   * memory), then follows it.
   *
   * @param ledger the ledger to audit, which this one then owns (closing this closes it); if this
   *     throws, it stays the caller's to close
   * @param chainId the chain's id, from a source you trust, not from the ledger audited
   * @throws ChainAudit.MismatchException if the ledger's history does not replay to itself
   * @throws LedgerException if it cannot be read, or its genesis names a mechanism other than the
   *     paper's (give it to {@link #over(Ledger, Hash256, IncentiveMechanism, Path)})
   */
  public static <L extends Ledger & BlockHistory> AuditedLedger over(L ledger, Hash256 chainId)
      throws LedgerException {
    try {
      return over(ledger, chainId, null, null);
    } catch (LedgerException e) {
      throw e;
    } catch (IOException e) {
      throw new IllegalStateException("an audit in memory does no I/O", e);
    }
  }

  /**
   * As {@link #over(Ledger, Hash256)}, with the chain's mechanism and a folder for the audit's
   * replica ({@link ChainAudit#start(Hash256, BlockHistory, IncentiveMechanism, Path)}): opened
   * again over the same folder, it replays only the blocks after those it checked before.
   *
   * @param mechanism the chain's mechanism, or null for the one its genesis block records
   * @param replicaDir the replica's folder, or null to keep it in memory
   * @throws IOException if the folder cannot be used
   */
  public static <L extends Ledger & BlockHistory> AuditedLedger over(L ledger, Hash256 chainId,
      IncentiveMechanism mechanism, Path replicaDir) throws LedgerException, IOException {
    return over(ledger, chainId, mechanism, replicaDir, RECEIPT_GRACE);
  }

  /** As {@link #over(Ledger, Hash256, IncentiveMechanism, Path)}, with a receipt's grace. */
  static <L extends Ledger & BlockHistory> AuditedLedger over(L ledger, Hash256 chainId,
      IncentiveMechanism mechanism, Path replicaDir, Duration grace)
      throws LedgerException, IOException {
    Objects.requireNonNull(ledger, "ledger");
    Objects.requireNonNull(chainId, "chainId");
    if (grace.isNegative() || grace.isZero()) {
      throw new IllegalArgumentException("grace must be positive, was " + grace);
    }
    ChainAudit.Auditor auditor = ChainAudit.start(chainId, ledger, mechanism, replicaDir);
    try {
      auditor.follow(ledger.metagraph().block().number(), r -> { });
      return new AuditedLedger(ledger, chainId, auditor, grace);
    } catch (LedgerException | RuntimeException e) {
      auditor.close(); // its replica, and the lock on a replica folder, are no one's else
      throw e;
    }
  }

  /** Audits up to {@code block} on the audit thread, first keeping it if it was announced. */
  private void auditLater(long block, boolean announcedBlock) {
    try {
      audits.execute(() -> {
        if (announcedBlock) {
          heardOf(block);
        }
        audit(block);
      });
    } catch (RejectedExecutionException e) {
      // Closed meanwhile: nothing more is audited.
    }
  }

  /** Keeps an announced block past the last one checked. On the audit thread. */
  private void heardOf(long number) {
    if (number > checked.block().number() && announcedPast.add(number)
        && announcedPast.size() > ANNOUNCEMENTS_KEPT) {
      announcedPast.pollFirst();
    }
  }

  /**
   * Replays the blocks not yet checked up to {@code block}, or up to the latest announced since:
   * announcements that queued while a read was out are read together, in one request, and the
   * audits queued for them find nothing left to do. On the audit thread.
   */
  private void audit(long block) {
    long to = Math.max(Math.max(block, announced.get()), claimedUpTo);
    if (failed != null || closed.get() || to <= checked.block().number()) {
      return;
    }
    long began = System.nanoTime();
    boolean read = false;
    try {
      auditor.follow(to, this::checkedOut);
      read = true;
      claimedUpTo = 0; // each claim known now is checked out, refused below, or read again
      long end = checked.block().number();
      if (end < to) {
        refuseClaimsPast(end, began); // the history ends at end
      }
    } catch (LedgerException | RuntimeException e) {
      if (auditor.failure() != null) {
        fail(auditor.failure()); // a block that did not replay to itself
        return;
      }
      // Else unreadable for now (the server is away): the next block's event tries again, or
      // the recheck below.
    }
    recheckClaimsPast(read);
  }

  /** A block replayed to itself: tell the listeners, and complete the receipts it holds. */
  private void checkedOut(BlockRecord r) {
    Block block = r.block();
    checked = r.after();
    announcedPast.headSet(block.number(), true).clear();
    List<SignedTransaction> txs = r.transactions();
    for (int i = 0; i < txs.size(); i++) {
      Hash256 hash = txs.get(i).hash();
      Waiting w = waiting.get(hash);
      if (w != null) {
        w.audited = new Receipt(hash, block.number(), i);
        settle(hash, w);
      }
    }
    checkClaims(block.number());
    for (ListenerSubscription s : listeners) {
      // A listener's bug must not keep the block from the others, nor stop this read.
      r.epoch().ifPresent(e -> deliver(s, l -> l.onEpoch(e, r.after())));
      deliver(s, l -> l.onBlock(block, r.after()));
    }
  }

  /** Tells one listener, dropping what it throws as a bug (an AssertionError too). */
  private static void deliver(ListenerSubscription s,
      Consumer<LedgerListener> event) {
    try {
      s.deliver(event); // none starts once its subscription's close returned
    } catch (AssertionError ignored) {
      // As LedgerListener's contract: dropped, as a RuntimeException is.
    }
  }

  /**
   * Completes a submission once the server's receipt and the audit's are both known: with the
   * receipt if they agree, else with a mismatch. On the audit thread.
   */
  private void settle(Hash256 hash, Waiting w) {
    Receipt claimed = w.claimed;
    if (claimed == null || w.audited == null || !waiting.remove(hash, w)) {
      return;
    }
    if (claimed.equals(w.audited)) {
      w.future.complete(w.audited);
    } else {
      w.future.completeExceptionally(new ChainAudit.MismatchException("the server gave a"
          + " receipt for transaction " + hash + " in block " + claimed.block() + " (index "
          + claimed.index() + "), but as audited it is in block " + w.audited.block()
          + " (index " + w.audited.index() + ")"));
    }
  }

  /**
   * Fails the submissions the server gave a receipt for in a block up to {@code upTo} that
   * checked out without them. On the audit thread.
   */
  private void checkClaims(long upTo) {
    waiting.forEach((hash, w) -> {
      Receipt claimed = w.claimed;
      if (claimed != null && w.audited == null && claimed.block() <= upTo
          && waiting.remove(hash, w)) {
        w.future.completeExceptionally(new ChainAudit.MismatchException("the server gave a"
            + " receipt for transaction " + hash + " in block " + claimed.block() + ", but block "
            + claimed.block() + " as audited does not hold it"));
      }
    });
  }

  /**
   * Fails the submissions whose receipt, known at least the grace before the read (begun at
   * {@code began}) that found the history ends at block {@code end}, names a later block: the
   * server said that block was durable, and its history still does not hold it. Not sooner:
   * the member of a Raft group the reads went to may lag the one that sealed the block, and
   * the receipt may come before the block's announcement (a {@code RemoteLedger} completes it
   * first), so neither a short read nor a block not yet announced proves a lie. Announcements
   * do not extend the grace: a server announcing blocks it never sealed would otherwise keep
   * the submission waiting for as long as it went on. On the audit thread.
   */
  private void refuseClaimsPast(long end, long began) {
    long heard = announced.get();
    waiting.forEach((hash, w) -> {
      Receipt claimed = w.claimed;
      if (w.claimsPast(end) && began - w.claimSeenNanos >= graceNanos
          && waiting.remove(hash, w)) {
        // Not of every block up to the highest announced: a liar's announcements skip.
        boolean saidSo = announcedPast.contains(claimed.block());
        w.future.completeExceptionally(new ChainAudit.MismatchException("the server gave a"
            + " receipt for transaction " + hash + " in block " + claimed.block()
            + (saidSo ? ", which it announced, but" : ", but")
            + " its history read at least " + TimeUnit.NANOSECONDS.toMillis(graceNanos)
            + " ms after the receipt came still ends at block " + end
            + (claimed.block() > heard
                ? " and it announced none after block " + Math.max(end, heard) : "")));
      }
    });
  }

  /**
   * Reads the history again when the grace of the first receipt still waiting for a block
   * past it is over ({@code read}), or a grace after a read that failed: a server that stops
   * announcing blocks is still found out, and a lagging member that caught up is read again.
   * One scheduled at a time; it schedules the next. On the audit thread.
   */
  private void recheckClaimsPast(boolean read) {
    if (recheck != null) {
      return;
    }
    long end = checked.block().number();
    long now = System.nanoTime();
    long left = Long.MAX_VALUE; // of the first grace to end; differences, as nanoTime wraps
    for (Waiting w : waiting.values()) {
      if (w.claimsPast(end)) {
        left = Math.min(left, graceNanos - (now - w.claimSeenNanos));
      }
    }
    if (left == Long.MAX_VALUE) {
      return;
    }
    long delay = read ? Math.max(0, left) : graceNanos;
    try {
      recheck = audits.schedule(() -> {
        recheck = null;
        audit(Long.MAX_VALUE);
      }, delay, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      // Closed meanwhile: close() failed what waited.
    }
  }

  private void fail(LedgerException why) {
    failed = why;
    refuse(why);
  }

  /** Fails every waiting submission, and those that register from now on, with {@code why}. */
  private void refuse(LedgerException why) {
    refusing = why;
    // One at a time, not a clear() after: a submission registered meanwhile is either failed
    // here or sees {@code refusing} once registered (submitAll), never dropped uncompleted.
    waiting.forEach((hash, w) -> {
      if (waiting.remove(hash, w)) {
        w.future.completeExceptionally(why);
      }
    });
  }

  /** The trusted chain id this ledger was audited against. */
  @Override
  public Hash256 chainId() {
    return chainId;
  }

  /**
   * The metagraph after the last block that checked out.
   *
   * @throws ChainAudit.MismatchException if a block did not
   */
  @Override
  public Metagraph metagraph() throws LedgerException {
    checkOpen();
    if (failed != null) {
      throw failed;
    }
    return checked;
  }

  /** The audit's failure, if a block did not replay to itself. */
  public Optional<LedgerException> failure() {
    return Optional.ofNullable(failed);
  }

  /** The account as the wrapped ledger says it is, pending transactions included (unaudited). */
  @Override
  public Optional<Account> account(PeerId id) throws LedgerException {
    checkOpen();
    return ledger.account(id);
  }

  @Override
  public long nextNonce(PeerId id) throws LedgerException {
    checkOpen();
    return ledger.nextNonce(id);
  }

  /**
   * Submits through the wrapped ledger. A rejection comes from it as it is; the receipt once the
   * transaction's block checked out here, with the transaction where the server said. It fails
   * with a {@link ChainAudit.MismatchException} if that block as audited does not hold it there,
   * or if the server's history, read 30 s after its receipt came, still ends before the block.
   */
  @Override
  public CompletableFuture<Receipt> submit(SignedTransaction transaction) {
    return submitAll(List.of(Objects.requireNonNull(transaction, "transaction"))).get(0);
  }

  /**
   * As {@link #submit(SignedTransaction)} for each, sent through the wrapped ledger's own
   * {@code submitAll} (one request for many, over the network).
   */
  @Override
  public List<CompletableFuture<Receipt>> submitAll(List<SignedTransaction> transactions) {
    checkOpen();
    Objects.requireNonNull(transactions, "transactions");
    List<CompletableFuture<Receipt>> futures = new ArrayList<>(transactions.size());
    List<SignedTransaction> sent = new ArrayList<>(transactions.size());
    List<Waiting> waits = new ArrayList<>(transactions.size());
    List<CompletableFuture<Receipt>> receipts;
    try {
      for (SignedTransaction transaction : transactions) {
        Objects.requireNonNull(transaction, "transaction");
        LedgerException refused = refusing;
        if (refused != null) {
          futures.add(CompletableFuture.failedFuture(refused));
          continue;
        }
        Waiting w = new Waiting();
        Hash256 hash = transaction.hash();
        // Registered first: its block may check out before the server's receipt arrives.
        if (waiting.putIfAbsent(hash, w) != null) {
          futures.add(CompletableFuture.failedFuture(new LedgerException("transaction " + hash
              + " is already waiting for its block here")));
          continue;
        }
        LedgerException failedMeanwhile = refusing;
        if (failedMeanwhile != null) {
          // It failed (or closed) as this registered: fail() may not have seen it.
          waiting.remove(hash, w);
          futures.add(CompletableFuture.failedFuture(failedMeanwhile));
          continue;
        }
        futures.add(w.future);
        sent.add(transaction);
        waits.add(w);
      }
      if (sent.isEmpty()) {
        return futures;
      }
      receipts = ledger.submitAll(sent);
    } catch (RuntimeException e) {
      // The caller gets no futures: left registered, they would refuse a resend for good.
      for (int i = 0; i < sent.size(); i++) {
        waiting.remove(sent.get(i).hash(), waits.get(i));
      }
      throw e;
    }
    for (int i = 0; i < sent.size(); i++) {
      follow(sent.get(i).hash(), waits.get(i), receipts.get(i));
    }
    return futures;
  }

  /** Settles {@code w} once the wrapped ledger's receipt came and its block checked out. */
  private void follow(Hash256 hash, Waiting w, CompletableFuture<Receipt> receipt) {
    receipt.whenComplete((r, error) -> {
      if (error != null) {
        if (waiting.remove(hash, w)) {
          w.future.completeExceptionally(error instanceof java.util.concurrent.CompletionException
              && error.getCause() != null ? error.getCause() : error);
        }
      } else {
        w.claimed = r;
        try {
          audits.execute(() -> { // after the audit of its block, which may have run already
            w.claimSeen = true;
            w.claimSeenNanos = System.nanoTime();
            claimedUpTo = Math.max(claimedUpTo, r.block()); // read again if this read fails
            audit(r.block());
            settle(hash, w);
            checkClaims(checked.block().number());
          });
        } catch (RejectedExecutionException e) {
          // Closed meanwhile: close() failed it.
        }
      }
    });
  }

  /**
   * The blocks checked so far, read back from the replica's journal: each with the epoch and
   * state its replay computed.
   *
   * @throws LedgerException if the replica is in memory (it keeps no journal), or as {@link
   *     LocalLedger#readBlocks}
   */
  @Override
  public long readBlocks(long from, long to, java.util.function.Predicate<BlockRecord> visitor)
      throws LedgerException {
    BlockHistory.checkArguments(from, visitor);
    checkOpen();
    return auditor.replica().readBlocks(from, Math.min(to, checked.block().number()), visitor);
  }

  /** As {@link #readBlocks}, the blocks and their transactions only. */
  @Override
  public long readBlockBodies(long from, long to,
      java.util.function.Predicate<BlockBody> visitor) throws LedgerException {
    BlockHistory.checkArguments(from, visitor);
    checkOpen();
    return auditor.replica().readBlockBodies(from, Math.min(to, checked.block().number()),
        visitor);
  }

  /** The chain's genesis block, which hashes to the trusted chain id. */
  @Override
  public byte[] genesisBlock() {
    checkOpen();
    return auditor.replica().genesisBlock();
  }

  /** Whether the replica is on disk, with a journal to read the checked blocks from. */
  @Override
  public boolean keepsBlocks() {
    return auditor.replica().keepsBlocks();
  }

  /** Listeners hear audited blocks only, on the audit thread, epoch first. */
  @Override
  public Subscription subscribe(LedgerListener listener) {
    Objects.requireNonNull(listener, "listener");
    checkOpen();
    return ListenerSubscription.subscribe(listener, listeners);
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return; // closed, or closing on another thread
    }
    following.close();
    audits.shutdown();
    // Before the wrapped ledger fails them with its own words. Not the audit's failure: that
    // stays what failure() tells.
    refuse(new LedgerException("the audited ledger closed before the transaction's block checked"
        + " out; check its nonce before resending"));
    // Before the wait: closing it ends a read the audit thread may be blocked in (a
    // RemoteLedger cancels its calls), which the wait would otherwise sit out.
    ledger.close();
    if (Thread.currentThread() != auditThread) { // a listener's close would wait for itself
      try {
        audits.awaitTermination(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    auditor.close();
  }

  private void checkOpen() {
    if (closed.get()) {
      throw new IllegalStateException("the ledger is closed");
    }
  }

  @Override
  public String toString() {
    return "AuditedLedger[" + chainId.toShortHex() + ", checked to block "
        + checked.block().number() + (failed != null ? ", FAILED" : "") + ", over " + ledger
        + "]";
  }
}
