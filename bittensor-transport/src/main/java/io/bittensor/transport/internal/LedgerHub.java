package io.bittensor.transport.internal;

import com.google.protobuf.CodedOutputStream;
import io.bittensor.core.Block;
import io.bittensor.core.Epoch;
import io.bittensor.core.Hash256;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerException;
import io.bittensor.core.LedgerListener;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Receipt;
import io.bittensor.core.TransactionRejectedException;
import io.bittensor.transport.internal.wire.BlockEvent;
import io.bittensor.transport.internal.wire.Heartbeat;
import io.bittensor.transport.internal.wire.LedgerEvent;
import io.bittensor.transport.internal.wire.TransactionFailed;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The server's side of the event stream: hears the ledger's blocks and epochs once, encodes
 * each event once, keeps the recent ones so that a client can resume from a block number, and
 * wakes every attached stream ({@link EventStream}) when there is something after its cursor or
 * a heartbeat may be due, on one thread of its own.
 *
 * <p>Thread-safe. One lock guards the history; the ledger's listener thread appends under it
 * and streams copy out under it. Encoding happens on the listener thread, outside the lock but
 * inside the ledger's callback (a large metagraph delays the next block by its encoding time).
 * No stream holds a thread while it waits: the hub's thread wakes them, and their writes
 * complete on Jetty's.
 */
public final class LedgerHub implements LedgerListener, AutoCloseable {
  /** One encoded event: a block (number >= 1), or a failure or late receipt (-1) after one. */
  private record Entry(long seq, long block, long afterBlock, byte[] encoded) {}

  private final Object lock = new Object();
  private final ArrayDeque<Entry> history = new ArrayDeque<>();
  private final int maxEvents;
  private final long maxBytes;
  private final ConcurrentSkipListMap<Long, List<Receipt>> receipts =
      new ConcurrentSkipListMap<>();
  private final Ledger.Subscription subscription;
  private long bytes;
  private long nextSeq;
  private Metagraph latest;
  private Epoch epoch;
  private volatile long emitted;
  private boolean closed;
  private final long heartbeatMillis;
  private final Set<Runnable> streams = ConcurrentHashMap.newKeySet();
  private final ScheduledExecutorService waker;
  private final AtomicBoolean wakePending = new AtomicBoolean();

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
    this.maxEvents = maxEvents;
    this.maxBytes = maxBytes;
    this.heartbeatMillis = heartbeatMillis;
    this.subscription = ledger.subscribe(this);
    Metagraph now;
    try {
      now = ledger.metagraph();
    } catch (LedgerException | RuntimeException e) {
      subscription.close();
      throw e;
    }
    this.waker = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "bittensor-ledger-server-events");
      t.setDaemon(true);
      return t;
    });
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
    BlockEvent.Builder b = BlockEvent.newBuilder().setBlock(LedgerWire.toWire(block));
    Epoch e;
    synchronized (lock) {
      e = epoch;
      epoch = null;
    }
    if (e != null && e.block() == n) {
      b.setEpoch(LedgerWire.toWire(e));
    }
    List<Receipt> inBlock;
    synchronized (lock) {
      // From here on, a receipt for this block goes out as an event of its own.
      emitted = Math.max(emitted, n);
      var mine = receipts.headMap(n, true);
      inBlock = mine.get(n);
      mine.clear();
    }
    if (inBlock != null) {
      synchronized (inBlock) {
        inBlock.forEach(r -> b.addReceipts(LedgerWire.toWire(r)));
      }
    }
    // The metagraph changes only through transactions and epochs; otherwise the client keeps
    // the one it has, at the new block.
    if (block.transactions() > 0 || block.epoch()) {
      b.setMetagraph(LedgerWire.toWire(after));
    }
    byte[] encoded = delimited(LedgerEvent.newBuilder().setBlock(b).build());
    synchronized (lock) {
      append(n, n, encoded);
      latest = after;
      emitted = n;
    }
    wakeStreamsSoon();
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
    byte[] encoded = delimited(LedgerEvent.newBuilder().setReceipt(LedgerWire.toWire(r)).build());
    synchronized (lock) {
      append(-1, emitted, encoded);
    }
    wakeStreamsSoon();
  }

  /** A transaction submitted through the server failed after it was accepted. */
  public void failure(Hash256 transaction, Throwable error) {
    TransactionFailed.Builder f = TransactionFailed.newBuilder()
        .setTransaction(LedgerWire.bytes(transaction))
        .setMessage(String.valueOf(error.getMessage()));
    if (error instanceof TransactionRejectedException r) {
      f.setRejectReason(r.reason().code()).setMessage(r.detail());
    }
    byte[] encoded = delimited(LedgerEvent.newBuilder().setFailed(f).build());
    synchronized (lock) {
      append(-1, emitted, encoded);
    }
    wakeStreamsSoon();
  }

  private void append(long block, long afterBlock, byte[] encoded) {
    history.addLast(new Entry(nextSeq++, block, afterBlock, encoded));
    bytes += encoded.length;
    while (history.size() > maxEvents || (bytes > maxBytes && history.size() > 1)) {
      bytes -= history.removeFirst().encoded().length;
    }
  }

  /** Where one stream is: the sequence number of the next entry it needs. */
  public static final class Cursor {
    private long next;
  }

  /**
   * Opens a stream: its first events (a snapshot, or the blocks from {@code fromBlock} on that
   * the history still holds) and its cursor.
   *
   * @param fromBlock 0 for a snapshot of the latest block, else the first block wanted
   * @param out receives the first events, encoded
   */
  public Cursor open(long fromBlock, List<byte[]> out) {
    Cursor c = new Cursor();
    synchronized (lock) {
      c.next = nextSeq;
      if (fromBlock <= 0) {
        out.add(snapshot(false));
        return c;
      }
      long latestBlock = latest.block().number();
      if (fromBlock > latestBlock + 1) {
        out.add(snapshot(true)); // a client ahead of this ledger: not this chain's history
        return c;
      }
      if (fromBlock <= latestBlock) {
        Entry first = null;
        for (Entry e : history) {
          if (e.block() >= 1) {
            first = e;
            break;
          }
        }
        if (first == null || first.block() > fromBlock) {
          out.add(snapshot(true)); // those blocks are no longer held
          return c;
        }
      }
      for (Entry e : history) {
        if (e.block() >= fromBlock || (e.block() < 0 && e.afterBlock() >= fromBlock - 1)) {
          c.next = e.seq();
          break;
        }
      }
      return c;
    }
  }

  /**
   * Moves the cursor past the events that came after it, without waiting.
   *
   * @param out receives the events, encoded (none if nothing came), or a resync snapshot when
   *     the stream fell behind the history
   * @return false when the hub is closed (the stream should end)
   */
  public boolean poll(Cursor c, List<byte[]> out) {
    synchronized (lock) {
      if (closed) {
        return false;
      }
      if (c.next >= nextSeq) {
        return true;
      }
      Entry first = history.peekFirst();
      if (first == null || c.next < first.seq()) {
        out.add(snapshot(true)); // this stream was too slow: the events it needed are gone
        c.next = nextSeq;
        return true;
      }
      for (Entry e : history) {
        if (e.seq() >= c.next) {
          out.add(e.encoded());
        }
      }
      c.next = nextSeq;
      return true;
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
      } catch (RuntimeException e) {
        streams.remove(stream); // a stream that cannot even be woken is gone
      }
    }
  }

  private byte[] snapshot(boolean resync) {
    return delimited(LedgerEvent.newBuilder().setBlock(BlockEvent.newBuilder()
        .setBlock(LedgerWire.toWire(latest.block()))
        .setMetagraph(LedgerWire.toWire(latest))
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
    wakeStreamsSoon();
    waker.shutdown(); // the wake just queued still runs; the heartbeat ticks stop
  }
}
