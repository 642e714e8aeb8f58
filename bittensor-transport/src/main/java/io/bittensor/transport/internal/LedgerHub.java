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
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The server's side of the event stream: hears the ledger's blocks and epochs once, encodes
 * each event once, keeps the recent ones so that a client can resume from a block number, and
 * hands every stream what comes after its cursor.
 *
 * <p>Thread-safe. One lock guards the history; the ledger's listener thread appends under it
 * and stream threads wait on it. Encoding happens on the listener thread, outside the lock but
 * inside the ledger's callback (a large metagraph delays the next block by its encoding time).
 */
public final class LedgerHub implements LedgerListener, AutoCloseable {
  /** One encoded event: a block (number >= 1) or a failure (number -1) after a block. */
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

  /**
   * Subscribes to {@code ledger} and reads its current metagraph.
   *
   * @param maxEvents the most events kept for resuming clients
   * @param maxBytes the most bytes of encoded events kept
   * @throws LedgerException if the metagraph cannot be read
   */
  public LedgerHub(Ledger ledger, int maxEvents, long maxBytes) throws LedgerException {
    this.maxEvents = maxEvents;
    this.maxBytes = maxBytes;
    this.subscription = ledger.subscribe(this);
    Metagraph now;
    try {
      now = ledger.metagraph();
    } catch (LedgerException | RuntimeException e) {
      subscription.close();
      throw e;
    }
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
    var mine = receipts.headMap(n, true);
    List<Receipt> inBlock = mine.get(n);
    if (inBlock != null) {
      synchronized (inBlock) {
        inBlock.forEach(r -> b.addReceipts(LedgerWire.toWire(r)));
      }
    }
    mine.clear();
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
      lock.notifyAll();
    }
  }

  /**
   * A transaction submitted through the server is in a durable block: its receipt goes out
   * with that block's event. Called before the block's event when the ledger completes the
   * future before calling listeners (LocalLedger does); a later call is dropped, and the submit
   * answer carries the receipt instead.
   */
  public void receipt(Receipt r) {
    if (r.block() > emitted) {
      receipts.computeIfAbsent(r.block(), k -> Collections.synchronizedList(new ArrayList<>()))
          .add(r);
    }
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
      lock.notifyAll();
    }
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
   * Waits up to {@code waitMillis} for events after the cursor and moves it past them.
   *
   * @param out receives the events, encoded: a heartbeat when none came in time, a resync
   *     snapshot when the stream fell behind the history
   * @return false when the hub is closed (the stream should end)
   * @throws InterruptedException if the stream's thread is interrupted
   */
  public boolean next(Cursor c, long waitMillis, List<byte[]> out) throws InterruptedException {
    synchronized (lock) {
      long deadline = System.nanoTime() + waitMillis * 1_000_000L;
      while (!closed && c.next >= nextSeq) {
        long left = (deadline - System.nanoTime()) / 1_000_000L;
        if (left <= 0) {
          out.add(delimited(LedgerEvent.newBuilder().setHeartbeat(
              Heartbeat.newBuilder().setLatestBlock(emitted)).build()));
          return true;
        }
        lock.wait(left);
      }
      if (closed) {
        return false;
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

  /** Stops listening to the ledger and ends every stream. Idempotent. */
  @Override
  public void close() {
    subscription.close();
    synchronized (lock) {
      closed = true;
      lock.notifyAll();
    }
  }
}
