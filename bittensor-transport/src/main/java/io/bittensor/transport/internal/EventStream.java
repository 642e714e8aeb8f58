package io.bittensor.transport.internal;

import io.bittensor.core.Hash256;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * One client's event stream, written without holding a server thread: the {@link LedgerHub}
 * wakes it when it has news, when it closes, and on its heartbeat ticks; it writes everything
 * after its cursor, one write at a time (each large event as the hub encoded it, shared by every
 * stream; small ones joined), and asks the hub for more once that is all written. A client that
 * does not read keeps one write pending and falls behind the history; when it reads again it
 * gets a resync snapshot, so a slow client costs the server what it was given once, not a
 * thread, not a queue, and not a copy of the history.
 *
 * <p>Thread-safe: woken on the hub's thread, completed on Jetty's.
 */
final class EventStream implements Runnable {
  /** Events smaller than this are joined into chunks of at most this many bytes. */
  private static final int JOINED = 64 * 1024;

  private final LedgerHub hub;
  private final LedgerHub.Cursor cursor;
  private final Response response;
  private final Callback done;
  private final long heartbeatNanos;
  /** Detaches it from the hub's wakes; set once, as it is attached. */
  private volatile Runnable unwake;
  /** Told each chunk's size as it goes out, or null. */
  private final LongConsumer sent;
  private final Callback written = Callback.from(this::written, this::failed);
  /**
   * Told once the first events (the answers for the awaited transactions) have all been taken
   * for writing, or null: what they held is free then. Guarded by this.
   */
  private Runnable firstOut;
  /** Events polled and not yet written, in order. Guarded by this. */
  private final ArrayDeque<byte[]> queued = new ArrayDeque<>();
  private boolean committed;
  private boolean writing;
  private boolean finished;
  private long lastWrite;

  private EventStream(LedgerHub hub, long fromBlock, List<Hash256> awaiting, boolean deltas,
      boolean replayEpochs, Response response, Callback done, LongConsumer sent,
      Runnable firstOut) {
    this.hub = hub;
    this.firstOut = firstOut;
    this.sent = sent;
    List<byte[]> first = new ArrayList<>();
    this.cursor = hub.open(fromBlock, awaiting, deltas, replayEpochs, first);
    queued.addAll(first);
    this.response = response;
    this.done = done;
    this.heartbeatNanos = TimeUnit.MILLISECONDS.toNanos(hub.heartbeatMillis()); // saturates
  }

  /**
   * Has the hub wake it. Not in the constructor: a wake on the hub's thread could run it before
   * it was whole. Under its monitor, so a wake that comes at once waits until it is set.
   */
  private synchronized void attach() {
    unwake = hub.attach(this);
  }

  private void detach() {
    unwake.run();
    hub.release(cursor); // its form need no longer be made for it
  }

  /**
   * Starts streaming to {@code response} from {@code fromBlock} (0: a snapshot of the latest
   * block), answering first for the transactions the client still awaits, with the metagraph's
   * deltas if it takes them (an epoch block's to the state its epoch ran on, if it runs epochs
   * itself); {@code done} completes when the stream ends. {@code sent}, when not null, is told
   * the size of each chunk written; {@code firstOut}, when not null, once the first events have
   * all been taken for writing (not if the stream ends before).
   */
  static void start(LedgerHub hub, long fromBlock, List<Hash256> awaiting, boolean deltas,
      boolean replayEpochs, Request request, Response response, Callback done,
      LongConsumer sent, Runnable firstOut) {
    response.setStatus(200);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, HttpPeerHandler.PROTOBUF);
    response.getHeaders().put(HttpPeerHandler.STATUS_HEADER, "0");
    EventStream stream =
        new EventStream(hub, fromBlock, awaiting, deltas, replayEpochs, response, done, sent,
            firstOut);
    stream.attach();
    // A client that resets its stream or closes its connection ends the stream now, not at the
    // next write (a block, or a heartbeat seconds later): the hub stops making its form sooner.
    request.addFailureListener(stream::failed);
    stream.run();
  }

  @Override
  public void run() {
    try {
      writeWhatCame();
    } catch (RuntimeException | Error e) {
      // Ended here, not left to the hub, which would only stop waking it: the client hears the
      // end, its address gets its slot back and the hub stops making its form. An Error too
      // (out of memory as it writes, say): not rethrown, since the hub would only drop it.
      failed(e);
    }
  }

  private void writeWhatCame() {
    ByteBuffer chunk;
    boolean last;
    Runnable answered = null;
    synchronized (this) {
      if (writing || finished) {
        return;
      }
      last = false;
      if (queued.isEmpty()) { // the hub is asked again only once what it gave is written
        List<byte[]> out = new ArrayList<>();
        last = !hub.poll(cursor, out);
        if (!last && out.isEmpty() && committed) {
          if (System.nanoTime() - lastWrite < heartbeatNanos) {
            return; // nothing new, and not silent for long enough
          }
          out.add(hub.heartbeat());
        }
        queued.addAll(out);
      }
      // The first write goes out even when empty: it sends the headers the client waits for.
      committed = true;
      chunk = next();
      if (firstOut != null && queued.isEmpty()) { // the first events are in this chunk or sent
        answered = firstOut;
        firstOut = null;
      }
      if (last) {
        finished = true;
      } else {
        writing = true;
      }
    }
    if (answered != null) {
      answered.run();
    }
    if (sent != null) {
      sent.accept(chunk.remaining());
    }
    if (last) {
      detach();
      response.write(true, chunk, done);
    } else {
      response.write(false, chunk, written);
    }
  }

  private void written() {
    synchronized (this) {
      writing = false;
      lastWrite = System.nanoTime();
    }
    run(); // what came while this write was out
  }

  /** A write failed, or the request did: the client went away. Ends the stream once. */
  private void failed(Throwable error) {
    synchronized (this) {
      writing = false;
      if (finished) {
        return; // ended already: by the hub's closing, or the other of the two failures
      }
      finished = true;
    }
    detach();
    done.failed(error);
  }

  /**
   * The next chunk: a large event as it is (shared with the hub and every other stream, never
   * copied for this one), or small ones joined up to {@link #JOINED} bytes. Under this.
   */
  private ByteBuffer next() {
    byte[] head = queued.poll();
    if (head == null) {
      return ByteBuffer.allocate(0);
    }
    if (head.length >= JOINED || queued.isEmpty()
        || head.length + queued.peek().length > JOINED) {
      return ByteBuffer.wrap(head);
    }
    int size = head.length;
    List<byte[]> parts = new ArrayList<>();
    parts.add(head);
    while (!queued.isEmpty() && size + queued.peek().length <= JOINED) {
      byte[] p = queued.poll();
      parts.add(p);
      size += p.length;
    }
    ByteBuffer b = ByteBuffer.allocate(size);
    for (byte[] p : parts) {
      b.put(p);
    }
    return b.flip();
  }
}
