package io.bittensor.transport.internal;

import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The calls in flight of a client's in-process peers, which its {@code close()} ends as it
 * cancels its HTTP calls. Thread-safe.
 */
public final class InFlightCalls {
  private final Set<Runnable> ends = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  /**
   * {@code call}, completed with {@code onClose} if the client closes before it completes.
   * Not modified otherwise.
   */
  public <T> CompletableFuture<T> track(CompletableFuture<T> call, T onClose) {
    Runnable end = () -> call.complete(onClose);
    ends.add(end);
    call.whenComplete((r, e) -> ends.remove(end));
    if (closed) { // closed while this call started: close() may have missed it
      end.run();
    }
    return call;
  }

  /** Ends every call in flight, and every call tracked from now on. */
  public void close() {
    closed = true;
    for (Runnable end : ends) {
      end.run();
    }
  }
}
