package io.bittensor.transport.internal;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.google.protobuf.CodedOutputStream;
import io.bittensor.core.Block;
import io.bittensor.core.BlockHistory;
import io.bittensor.core.Epoch;
import io.bittensor.core.Hash256;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerException;
import io.bittensor.core.LedgerListener;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Receipt;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.TransactionRejectedException;
import io.bittensor.core.internal.ledger.EpochReplay;
import io.bittensor.transport.internal.wire.BlockEvent;
import io.bittensor.transport.internal.wire.Heartbeat;
import io.bittensor.transport.internal.wire.LedgerEvent;
import io.bittensor.transport.internal.wire.MetagraphDelta;
import io.bittensor.transport.internal.wire.TransactionFailed;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The server's side of the event stream: hears the ledger's blocks and epochs once, encodes
 * each event once, keeps the recent ones so that a client can resume from a block number (and
 * reads older blocks back from the ledger's {@link BlockHistory}, when it keeps one), answers
 * for the transactions a resuming client still awaits, and wakes every attached stream ({@link
 * EventStream}) when there is something after its cursor or a heartbeat may be due, on one
 * thread of its own.
 *
 * <p>Thread-safe. One lock guards the history; the ledger's listener thread appends under it
 * and streams copy out under it. Blocks are read back outside it, one client at a time (under
 * another lock), so that clients that come back together share one read through the cache.
 * Encoding happens on the listener thread, outside the lock but inside the ledger's callback (a
 * large metagraph delays the next block by its encoding time), and only of the forms streams
 * have asked for: the whole metagraph, the block's delta, an epoch block's replay delta.
 * No stream holds a thread while it waits: the hub's thread wakes them, and their writes
 * complete on Jetty's.
 */
public final class LedgerHub implements LedgerListener, AutoCloseable {
  /**
   * One encoded event: a block (number >= 1), or a failure or late receipt (-1) after one. For a
   * block that changed the metagraph, each form is made only once a stream has asked for it
   * ({@link #wanted}): {@code encoded} carries the whole metagraph, {@code delta} what the block
   * changed, {@code replayed} for a block whose epoch minted the delta to the state the epoch
   * ran on; a form not made is null. Any other event is {@code encoded} alone, for every stream.
   */
  private record Entry(long seq, long block, long afterBlock, byte[] encoded, byte[] delta,
      byte[] replayed) {
    /** The form for {@code c}, or null when this entry was made before any stream wanted it. */
    byte[] forStream(Cursor c) {
      if (c.replayEpochs && replayed != null) {
        return replayed;
      }
      return c.deltas && delta != null ? delta : encoded;
    }
  }

  /** The forms of a block's event that streams have asked for: a bit each. */
  private static final int WHOLE = 1;
  private static final int DELTA = 2;
  private static final int REPLAY = 4;
  /** The forms made only while a stream takes them (REPLAY, this library's, always is). */
  private static final int[] DROPPABLE = {WHOLE, DELTA};

  /** How long a form a client took is made after it left, by default: a reconnect's time. */
  public static final Duration FORM_KEPT = Duration.ofMinutes(1);

  /**
   * What this server told of a transaction it accepted: the number of the event that told it,
   * and either its receipt or its failure event (encoded).
   */
  private record Told(long seq, Receipt receipt, byte[] failure) {
    /** The outcome as a lone event, to send again. */
    byte[] lone() {
      return receipt != null ? receiptEvent(receipt) : failure;
    }
  }

  /** A transaction accepted here whose outcome is still to come. */
  private static final Told WAITING = new Told(-1, null, new byte[0]);

  /** A block read back from the journal: its event, and the hashes of its transactions. */
  private record ReadBack(byte[] event, List<Hash256> transactions) {}

  /** Blocks read back, by number, for the clients that come back after the first. */
  private final Cache<Long, ReadBack> readBackCache;
  private final ReentrantLock readingBack = new ReentrantLock();
  private final AtomicLong blocksReadBack = new AtomicLong();

  private final Object lock = new Object();
  /**
   * The transactions accepted through this server, in acceptance order: WAITING, then what the
   * stream told of them (to send again to a client that missed it), until that event leaves the
   * history. Guarded by lock.
   */
  private final LinkedHashMap<Hash256, Told> acceptedHere = new LinkedHashMap<>();
  private final ArrayDeque<Entry> history = new ArrayDeque<>();
  private final int maxEvents;
  private final long maxBytes;
  private final ConcurrentSkipListMap<Long, List<Receipt>> receipts =
      new ConcurrentSkipListMap<>();
  private final Ledger.Subscription subscription;
  /** The ledger when it keeps its blocks to read back (a journal), else null. */
  private final BlockHistory journaled;
  /**
   * Whether the ledger gives its genesis block, from which a client learns the mechanism to
   * run epochs with: where it does not, epoch blocks go out with their changes alone.
   */
  private final boolean givesGenesis;
  private long bytes;
  private long nextSeq;
  /**
   * The forms made of each block that changes the metagraph: those a stream open now takes, or
   * took within {@link #formKept} (so that a client that lost its connection resumes from the
   * history), and from the start the one this library's clients take. A whole metagraph costs
   * as much to encode as the rest together and takes most of the history's bytes, so it is made
   * only while a client that takes no deltas is near: one {@code curl} does not cost the server
   * for the rest of its life. Guarded by lock.
   */
  private int wanted = REPLAY;
  /** The streams open now that take each form, by its bit's index. Guarded by lock. */
  private final int[] openStreams = new int[3];
  /** When the last stream of each form closed (clock millis). Guarded by lock. */
  private final long[] lastClosed = new long[3];
  private final Clock clock;
  /** How long a form goes on being made after the last stream that took it closed. */
  private final long formKept;
  private Metagraph latest;
  private Epoch epoch;
  private volatile long emitted;
  private boolean closed;
  private final long heartbeatMillis;
  private final Set<Runnable> streams = ConcurrentHashMap.newKeySet();
  private final ScheduledExecutorService waker;
  private final AtomicBoolean wakePending = new AtomicBoolean();
  /** For tests: runs as {@link #open} starts to build what it tells of awaited transactions. */
  volatile Runnable buildingAwaited = () -> { };
  /** For tests: runs as {@link #poll} starts to encode a resync snapshot. */
  volatile Runnable encodingResync = () -> { };

  /**
   * Subscribes to {@code ledger} and reads its current metagraph.
   *
   * @param maxEvents the most events kept for resuming clients
   * @param maxBytes the most bytes of encoded events kept
   * @param heartbeatMillis how long a stream may stay silent before it is sent a heartbeat
   * @throws LedgerException if the metagraph cannot be read
   */
  public LedgerHub(Ledger ledger, int maxEvents, long maxBytes, long heartbeatMillis)
      throws LedgerException {
    this(ledger, maxEvents, maxBytes, heartbeatMillis, Clock.systemUTC(), FORM_KEPT);
  }

  /**
   * As {@link #LedgerHub(Ledger, int, long, long)}, with the clock that times how long a form
   * is kept after its last stream closed, and that time.
   */
  public LedgerHub(Ledger ledger, int maxEvents, long maxBytes, long heartbeatMillis,
      Clock clock, Duration formKept) throws LedgerException {
    this.clock = clock;
    this.formKept = formKept.toMillis();
    this.maxEvents = maxEvents;
    this.maxBytes = maxBytes;
    this.heartbeatMillis = heartbeatMillis;
    this.readBackCache = Caffeine.newBuilder()
        .maximumWeight(maxBytes)
        .weigher((Long n, ReadBack b) -> b.event().length)
        .expireAfterAccess(Duration.ofMinutes(1))
        .build();
    this.journaled = LedgerHandler.history(ledger);
    this.givesGenesis = ledger instanceof BlockHistory;
    // Before subscribing: a block may come as soon as the ledger has the listener, even from
    // inside subscribe, and onBlock wakes the streams on this thread.
    this.waker = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "bittensor-ledger-server-events");
      t.setDaemon(true);
      return t;
    });
    Metagraph now;
    Ledger.Subscription subscribed = null;
    try {
      subscribed = ledger.subscribe(this);
      now = ledger.metagraph();
    } catch (LedgerException | RuntimeException e) {
      if (subscribed != null) {
        subscribed.close();
      }
      waker.shutdownNow();
      throw e;
    }
    this.subscription = subscribed;
    // Each stream decides on a wake whether its heartbeat is due; a quarter of the interval
    // keeps a silent stream's heartbeat within 1.25 intervals.
    long tick = Math.max(1, heartbeatMillis / 4);
    waker.scheduleWithFixedDelay(this::wakeStreams, tick, tick, TimeUnit.MILLISECONDS);
    synchronized (lock) {
      // A block sealed between subscribing and reading is already newer than `now`.
      if (latest == null || now.block().number() > latest.block().number()) {
        latest = now;
        emitted = now.block().number();
      }
    }
  }

  /** The latest block's metagraph. */
  public Metagraph latest() {
    synchronized (lock) {
      return latest;
    }
  }

  @Override
  public void onEpoch(Epoch e, Metagraph after) {
    synchronized (lock) {
      epoch = e;
    }
  }

  @Override
  public void onBlock(Block block, Metagraph after) {
    long n = block.number();
    Epoch e;
    synchronized (lock) {
      e = epoch;
      epoch = null;
    }
    List<Receipt> inBlock;
    synchronized (lock) {
      // From here on, a receipt for this block goes out as an event of its own.
      emitted = Math.max(emitted, n);
      var mine = receipts.headMap(n, true);
      inBlock = mine.get(n);
      mine.clear();
    }
    List<Receipt> copy = List.of();
    if (inBlock != null) {
      synchronized (inBlock) {
        copy = List.copyOf(inBlock);
      }
    }
    Metagraph before;
    synchronized (lock) {
      before = latest;
    }
    Epoch ran = e != null && e.block() == n ? e : null;
    Forms forms = new Forms(block, ran, copy, before, after);
    int want;
    synchronized (lock) {
      dropFormsNoStreamTakes();
      want = wanted;
    }
    while (true) {
      forms.make(want);
      synchronized (lock) {
        if ((wanted & ~want) != 0) {
          want = wanted; // a stream that takes another form opened meanwhile: make it too
          continue;
        }
        for (Receipt r : copy) {
          told(r.transaction(), r, null);
        }
        append(n, n, forms.whole, forms.delta, forms.replayed);
        latest = after;
        emitted = n;
        break;
      }
    }
    wakeStreamsSoon();
  }

  /**
   * Stops making the whole metagraph and the plain delta once no stream has taken them for
   * {@link #formKept}; the form this library's clients take is always made. Under lock.
   */
  private void dropFormsNoStreamTakes() {
    long now = clock.millis();
    for (int form : DROPPABLE) {
      int i = Integer.numberOfTrailingZeros(form);
      if ((wanted & form) != 0 && openStreams[i] == 0 && now - lastClosed[i] >= formKept) {
        wanted &= ~form;
      }
    }
  }

  /** The encoded forms of one block's event, each made once, on the listener thread. */
  private final class Forms {
    private final Block block;
    private final Epoch ran;
    private final List<Receipt> receipts;
    private final Metagraph before;
    private final Metagraph after;
    /** Whether the delta to the block before can be made (that block's metagraph is known). */
    private final boolean deltaPossible;
    private byte[] whole;
    private byte[] delta;
    private byte[] replayed;
    private boolean replayTried;

    Forms(Block block, Epoch ran, List<Receipt> receipts, Metagraph before, Metagraph after) {
      this.block = block;
      this.ran = ran;
      this.receipts = receipts;
      this.before = before;
      this.after = after;
      this.deltaPossible = changesMetagraph(block) && before != null
          && before.block().number() == block.number() - 1
          && before.chainId().equals(after.chainId());
      if (!changesMetagraph(block)) {
        whole = blockEvent(block, ran, receipts, null, null); // small: no metagraph in it
      }
    }

    /** Makes what the streams that take {@code want} need and is not made yet. */
    void make(int want) {
      if ((want & REPLAY) != 0 && deltaPossible && !replayTried && givesGenesis
          && EpochReplay.ranEpoch(after)) {
        replayTried = true;
        try {
          replayed = blockEvent(block, ran, receipts, null,
              MetagraphDeltas.forEpochReplay(before, after));
        } catch (RuntimeException failed) {
          replayed = null; // never the hub's end: such streams get the delta with the epoch
        }
      }
      boolean deltaNeeded = (want & DELTA) != 0 || ((want & REPLAY) != 0 && replayed == null);
      if (deltaNeeded && deltaPossible && delta == null) {
        delta = blockEvent(block, ran, receipts, null, MetagraphDeltas.between(before, after));
      }
      boolean wholeNeeded = (want & WHOLE) != 0 || (want != 0 && !deltaPossible);
      if (wholeNeeded && whole == null) {
        whole = blockEvent(block, ran, receipts, LedgerWire.toWire(after), null);
      }
    }
  }

  /** {@code after} for the wire when {@code block} changed the metagraph, else null. */
  private static io.bittensor.transport.internal.wire.Metagraph wholeIfChanged(Block block,
      Metagraph after) {
    return changesMetagraph(block) ? LedgerWire.toWire(after) : null;
  }

  /**
   * A block's event, encoded: with its epoch (or null) and receipts, and the metagraph after it
   * when the block changed it, {@code whole}, or as {@code delta} when that is given.
   */
  private static byte[] blockEvent(Block block, Epoch epoch, List<Receipt> receipts,
      io.bittensor.transport.internal.wire.Metagraph whole, MetagraphDelta delta) {
    BlockEvent.Builder b = BlockEvent.newBuilder().setBlock(LedgerWire.toWire(block));
    if (epoch != null) {
      b.setEpoch(LedgerWire.toWire(epoch));
    }
    receipts.forEach(r -> b.addReceipts(LedgerWire.toWire(r)));
    // The metagraph changes only through transactions and epochs; otherwise the client keeps
    // the one it has, at the new block.
    if (changesMetagraph(block)) {
      if (delta != null) {
        b.setDelta(delta);
      } else {
        b.setMetagraph(whole);
      }
    }
    return delimited(LedgerEvent.newBuilder().setBlock(b).build());
  }

  private static boolean changesMetagraph(Block block) {
    return block.transactions() > 0 || block.epoch();
  }

  /**
   * A transaction submitted through the server is in a durable block: its receipt goes out
   * with that block's event when it comes first (LocalLedger completes the futures before it
   * calls listeners), else as an event of its own.
   */
  public void receipt(Receipt r) {
    synchronized (lock) {
      if (r.block() > emitted) {
        receipts.computeIfAbsent(r.block(),
            k -> Collections.synchronizedList(new ArrayList<>())).add(r);
        return;
      }
    }
    byte[] encoded = receiptEvent(r);
    synchronized (lock) {
      told(r.transaction(), r, null);
      append(-1, emitted, encoded, null, null);
    }
    wakeStreamsSoon();
  }

  private static byte[] receiptEvent(Receipt r) {
    return delimited(LedgerEvent.newBuilder().setReceipt(LedgerWire.toWire(r)).build());
  }

  /**
   * A transaction was accepted through this server and waits for its block: until its outcome
   * is told, a client that awaits it is not told it is unknown here.
   */
  public void accepted(Hash256 transaction) {
    synchronized (lock) {
      acceptedHere.putIfAbsent(transaction, WAITING);
    }
  }

  /**
   * Records that the next event appended tells {@code transaction}'s outcome: its receipt, or
   * its failure event. Under lock.
   */
  private void told(Hash256 transaction, Receipt receipt, byte[] failure) {
    if (acceptedHere.containsKey(transaction)) {
      acceptedHere.put(transaction, new Told(nextSeq, receipt, failure));
    }
  }

  /** A transaction submitted through the server failed after it was accepted. */
  public void failure(Hash256 transaction, Throwable error) {
    TransactionFailed.Builder f = TransactionFailed.newBuilder()
        .setTransaction(LedgerWire.bytes(transaction))
        .setMessage(error.getMessage() != null ? error.getMessage()
            : error.getClass().getSimpleName()); // a cancelled future has no message
    if (error instanceof TransactionRejectedException r) {
      f.setRejectReason(r.reason().code()).setMessage(r.detail());
    }
    byte[] encoded = delimited(LedgerEvent.newBuilder().setFailed(f).build());
    synchronized (lock) {
      told(transaction, null, encoded);
      append(-1, emitted, encoded, null, null);
    }
    wakeStreamsSoon();
  }

  private void append(long block, long afterBlock, byte[] encoded, byte[] delta,
      byte[] replayed) {
    history.addLast(new Entry(nextSeq++, block, afterBlock, encoded, delta, replayed));
    bytes += size(history.peekLast());
    while (history.size() > maxEvents || (bytes > maxBytes && history.size() > 1)) {
      bytes -= size(history.removeFirst());
    }
    // Forget outcomes whose events the history no longer holds, oldest first; one still to
    // come holds back those accepted after it, which is at most the ledger's pool.
    long firstHeld = history.peekFirst().seq();
    for (var it = acceptedHere.values().iterator(); it.hasNext(); ) {
      Told t = it.next();
      if (t == WAITING || t.seq() >= firstHeld) {
        break;
      }
      it.remove();
    }
  }

  private static long size(Entry e) {
    return length(e.encoded()) + length(e.delta()) + length(e.replayed());
  }

  private static int length(byte[] form) {
    return form == null ? 0 : form.length;
  }

  /** Where one stream is: the sequence number of the next entry it needs. */
  public static final class Cursor {
    private long next;
    /** The form it takes: WHOLE, DELTA or REPLAY. */
    private int form;
    private boolean released;
    /** Whether it takes the metagraph's deltas ({@code EventsRequest.deltas}). */
    private boolean deltas;
    /** Whether it runs epochs itself ({@code EventsRequest.replay_epochs}). */
    private boolean replayEpochs;
  }

  /**
   * Opens a stream: its first events (a snapshot, or the blocks from {@code fromBlock} on that
   * the history or the ledger's journal still holds, then what it can say of the transactions
   * the client awaits) and its cursor.
   *
   * @param fromBlock 0 for a snapshot of the latest block, else the first block wanted
   * @param awaiting transactions accepted for the client whose outcome it has not heard
   * @param deltas whether the client takes blocks that carry the metagraph's delta
   * @param out receives the first events, encoded
   */
  public Cursor open(long fromBlock, List<Hash256> awaiting, boolean deltas, List<byte[]> out) {
    return open(fromBlock, awaiting, deltas, false, out);
  }

  /**
   * As {@link #open(long, List, boolean, List)}, for a client that may run epochs itself.
   *
   * @param replayEpochs with {@code deltas}: whether the client runs epochs itself ({@code
   *     EventsRequest.replay_epochs})
   */
  public Cursor open(long fromBlock, List<Hash256> awaiting, boolean deltas,
      boolean replayEpochs, List<byte[]> out) {
    Cursor c = new Cursor();
    c.deltas = deltas;
    c.replayEpochs = deltas && replayEpochs;
    c.form = c.replayEpochs ? REPLAY : c.deltas ? DELTA : WHOLE;
    synchronized (lock) {
      // From now on every block carries this stream's form, until it is released and no other
      // stream takes it; the history before may not.
      wanted |= c.form;
      openStreams[Integer.numberOfTrailingZeros(c.form)]++;
    }
    try {
      return opened(c, fromBlock, awaiting, out);
    } catch (RuntimeException | Error e) {
      release(c); // no stream: its form must not stay counted, and made, for good
      throw e;
    }
  }

  /** The rest of {@link #open}, once {@code c}'s form is counted. */
  private Cursor opened(Cursor c, long fromBlock, List<Hash256> awaiting, List<byte[]> out) {
    Set<Hash256> readBack = new HashSet<>();
    long resumeAt = fromBlock;
    if (fromBlock > 0 && journaled != null) {
      resumeAt = readMissedBlocks(fromBlock, c, out, readBack);
    }
    Metagraph snapshotOf = null; // a snapshot to send instead of the history, or null
    boolean resync = true;
    List<Hash256> toTell = new ArrayList<>();
    List<Told> outcomes = new ArrayList<>(); // of each in toTell, or null: no record here
    long latestBlock;
    // Under the lock only what must be atomic with the cursor: what is told, not its encoding.
    synchronized (lock) {
      c.next = nextSeq;
      latestBlock = latest.block().number();
      long firstHeld = fromBlock > 0 && resumeAt <= latestBlock ? firstHeldBlock(c) : 1;
      if (fromBlock <= 0) {
        snapshotOf = latest;
        resync = false;
      } else if (resumeAt > latestBlock + 1) {
        snapshotOf = latest; // a client ahead of this ledger: not this chain's history
      } else if (resumeAt <= latestBlock && (firstHeld < 1 || firstHeld > resumeAt)) {
        snapshotOf = latest; // those blocks are no longer held
      } else {
        for (Entry e : history) {
          if (e.block() >= resumeAt || (e.block() < 0 && e.afterBlock() >= resumeAt - 1)) {
            c.next = e.seq();
            break;
          }
        }
        for (Hash256 tx : awaiting) {
          Told t = acceptedHere.get(tx);
          if (readBack.contains(tx) || t == WAITING || (t != null && t.seq() >= c.next)) {
            continue; // told in the blocks read back, or still to come after the cursor
          }
          toTell.add(tx);
          outcomes.add(t);
        }
      }
    }
    // Encoded outside the lock (100,000 awaited hashes took ~0.9 s), so blocks go on to other
    // streams; this one's come after these events, from the cursor set above.
    if (snapshotOf != null) {
      out.add(snapshot(snapshotOf, resync));
      return c;
    }
    buildingAwaited.run();
    for (int i = 0; i < toTell.size(); i++) {
      Told t = outcomes.get(i);
      out.add(t != null ? t.lone() : unknown(toTell.get(i), fromBlock, latestBlock));
    }
    return c;
  }

  /**
   * The first block from which on the history holds every block in {@code c}'s form, or -1 if
   * it holds none (the blocks before were made before a stream wanted that form). Under lock.
   */
  private long firstHeldBlock(Cursor c) {
    long first = -1;
    for (Entry e : history) {
      if (e.block() < 1) {
        continue;
      }
      if (e.forStream(c) == null) {
        first = -1;
      } else if (first < 0) {
        first = e.block();
      }
    }
    return first;
  }

  /** A failure event for a transaction this server has no record of. */
  private static byte[] unknown(Hash256 tx, long fromBlock, long latestBlock) {
    return delimited(LedgerEvent.newBuilder().setFailed(TransactionFailed.newBuilder()
        .setTransaction(LedgerWire.bytes(tx))
        .setMessage("this server has no record of it: it is in no block from " + fromBlock
            + " to " + latestBlock + " that the server can read, and waits for none here (the"
            + " server may have restarted, losing it before a block sealed it)"))
        .build());
  }

  /**
   * Reads back from the ledger's journal the blocks from {@code fromBlock} on that the history
   * no longer holds in {@code c}'s form (it starts empty when the server restarts, and holds a
   * form only from the first stream that took it), each as the event it was, with
   * every transaction's receipt; up to the history's byte limit. Outside the lock: the ledger
   * goes on sealing meanwhile, so it reads again up to where the history now begins.
   *
   * @param transactions receives the hashes of the transactions in the blocks read
   * @return the first block still to send: where the history takes over, or where the read
   *     stopped (short of it, the stream then starts with a resync snapshot)
   */
  private long readMissedBlocks(long fromBlock, Cursor c, List<byte[]> out,
      Set<Hash256> transactions) {
    long next = fromBlock;
    long budget = maxBytes;
    for (int round = 0; round < 4; round++) {
      long upTo;
      synchronized (lock) {
        long latestBlock = latest.block().number();
        long firstHeld = firstHeldBlock(c);
        if (next > latestBlock || (firstHeld >= 1 && firstHeld <= next)) {
          return next; // nothing missed, or the history holds the rest
        }
        upTo = firstHeld >= 1 ? firstHeld - 1 : latestBlock;
      }
      // One read at a time: clients that come back together (after a restart) ask for the same
      // blocks, and the ones that wait find them in the cache.
      readingBack.lock();
      try {
        List<ReadBack> blocks = new ArrayList<>();
        ReadBack cached;
        while (next + blocks.size() <= upTo
            && (cached = readBackCache.getIfPresent(next + blocks.size())) != null) {
          blocks.add(cached);
        }
        if (next + blocks.size() <= upTo) {
          blocks.addAll(readFromJournal(next + blocks.size(), upTo));
        }
        for (ReadBack b : blocks) {
          if (b.event().length > budget) {
            return next; // over the byte limit: a resync from here
          }
          budget -= b.event().length;
          out.add(b.event());
          transactions.addAll(b.transactions());
          next++;
        }
        if (next <= upTo) {
          return next; // compacted past it, or unreadable
        }
      } finally {
        readingBack.unlock();
      }
    }
    return next;
  }

  /**
   * Reads blocks {@code from} to {@code upTo} from the journal as events (up to the history's
   * byte limit), and caches them for the clients that come next. Called under readingBack.
   *
   * @return the blocks read, in order from {@code from}; fewer when the journal no longer holds
   *     them (compacted), cannot be read, or past the byte limit
   */
  private List<ReadBack> readFromJournal(long from, long upTo) {
    List<ReadBack> read = new ArrayList<>();
    long[] bytes = {0};
    try {
      journaled.readBlocks(from, upTo, r -> {
        byte[] event = blockEvent(r.block(), r.epoch().orElse(null), r.receipts(),
            wholeIfChanged(r.block(), r.after()), null);
        bytes[0] += event.length;
        if (bytes[0] > maxBytes) {
          return false; // more than one client may take
        }
        ReadBack b = new ReadBack(event,
            r.transactions().stream().map(SignedTransaction::hash).toList());
        readBackCache.put(r.block().number(), b);
        read.add(b);
        blocksReadBack.incrementAndGet();
        return true;
      });
    } catch (LedgerException | RuntimeException e) {
      // Compacted past it, or unreadable: what was read stands.
    }
    return read;
  }

  /** How many blocks this hub has read back from the journal: for tests of the cache. */
  long blocksReadBack() {
    return blocksReadBack.get();
  }

  /**
   * Moves the cursor past the events that came after it, without waiting.
   *
   * @param out receives the events, encoded (none if nothing came), or a resync snapshot when
   *     the stream fell behind the history
   * @return false when the hub is closed (the stream should end)
   */
  public boolean poll(Cursor c, List<byte[]> out) {
    Metagraph resyncTo; // the state a resync snapshot tells, or null
    synchronized (lock) {
      if (closed) {
        return false;
      }
      if (c.next >= nextSeq) {
        return true;
      }
      Entry first = history.peekFirst();
      // This stream was too slow: the events it needed are gone.
      resyncTo = first == null || c.next < first.seq() ? latest : null;
      int start = out.size();
      for (Iterator<Entry> it = history.iterator(); resyncTo == null && it.hasNext(); ) {
        Entry e = it.next();
        if (e.seq() >= c.next) {
          byte[] form = e.forStream(c);
          if (form == null) {
            // Never expected: open registers the stream's form before its cursor is set. Were
            // it to happen, a resync is what a client understands.
            out.subList(start, out.size()).clear();
            resyncTo = latest;
          } else {
            out.add(form);
          }
        }
      }
      c.next = nextSeq; // the state resyncTo holds: what comes after goes on from it
    }
    if (resyncTo != null) {
      // Encoded outside the lock (a whole metagraph), so blocks go on to other streams.
      encodingResync.run();
      out.add(snapshot(resyncTo, true));
    }
    return true;
  }

  /**
   * Says that {@code c}'s stream ended: once no open stream takes its form, and none has for
   * the time the hub keeps forms, blocks are no longer made in it. Idempotent.
   */
  public void release(Cursor c) {
    synchronized (lock) {
      if (c.released) {
        return;
      }
      c.released = true;
      int i = Integer.numberOfTrailingZeros(c.form);
      if (--openStreams[i] == 0) {
        lastClosed[i] = clock.millis();
      }
    }
  }

  /** A heartbeat event, encoded: the latest block, for a stream that has been silent. */
  public byte[] heartbeat() {
    return delimited(LedgerEvent.newBuilder().setHeartbeat(
        Heartbeat.newBuilder().setLatestBlock(emitted)).build());
  }

  /** How long a stream may stay silent before it is sent a heartbeat. */
  public long heartbeatMillis() {
    return heartbeatMillis;
  }

  /**
   * Wakes {@code stream} on the hub's thread whenever an event comes, the hub closes, or a
   * heartbeat may be due, until it is detached. Its {@code run} must not block.
   *
   * @return detaches it; idempotent
   */
  public Runnable attach(Runnable stream) {
    streams.add(stream);
    return () -> streams.remove(stream);
  }

  /** The streams attached now. */
  public int streams() {
    return streams.size();
  }

  /** Wakes every stream on the hub's thread; wakes asked for while one is pending are one. */
  private void wakeStreamsSoon() {
    if (wakePending.compareAndSet(false, true)) {
      try {
        waker.execute(this::wakeStreams);
      } catch (RejectedExecutionException e) {
        wakePending.set(false); // closed: the last wake has gone out already
      }
    }
  }

  private void wakeStreams() {
    wakePending.set(false); // events after this point wake again
    for (Runnable stream : streams) {
      try {
        stream.run();
      } catch (RuntimeException | Error e) {
        // A stream that cannot even be woken is gone. An Error too: out of the heartbeat's
        // task, it would end that task for good, and every stream's heartbeats with it.
        streams.remove(stream);
      }
    }
  }

  private static byte[] snapshot(Metagraph m, boolean resync) {
    return delimited(LedgerEvent.newBuilder().setBlock(BlockEvent.newBuilder()
        .setBlock(LedgerWire.toWire(m.block()))
        .setMetagraph(LedgerWire.toWire(m))
        .setSnapshot(true)
        .setResync(resync)).build());
  }

  private static byte[] delimited(LedgerEvent event) {
    int size = event.getSerializedSize();
    ByteArrayOutputStream out =
        new ByteArrayOutputStream(CodedOutputStream.computeUInt32SizeNoTag(size) + size);
    try {
      event.writeDelimitedTo(out);
    } catch (IOException e) {
      throw new UncheckedIOException("a byte array does not fail", e);
    }
    return out.toByteArray();
  }

  /** Stops listening to the ledger and ends every stream (each writes its end). Idempotent. */
  @Override
  public void close() {
    subscription.close();
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
    }
    // A wake of its own, not wakeStreamsSoon: one another thread has claimed but not queued
    // yet would be refused by the shutdown, and the streams would never hear that it closed.
    waker.execute(this::wakeStreams);
    waker.shutdown(); // the wake just queued still runs; the heartbeat ticks stop
  }
}
