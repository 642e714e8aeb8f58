package io.bittensor.core.internal;

import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerListener;
import java.util.Collection;
import java.util.function.Consumer;

/**
 * A listener's subscription to a ledger's events, kept in its ledger's collection of them: a
 * callback runs holding the subscription's lock and closing takes it, so that no callback starts
 * once close returned, as {@link Ledger.Subscription} promises (a listener that closes its own
 * subscription, on the thread that calls it, returns at once). Thread-safe.
 */
public final class ListenerSubscription implements Ledger.Subscription {
  private final LedgerListener listener;
  private final Collection<ListenerSubscription> in;
  private boolean active = true;

  private ListenerSubscription(LedgerListener listener, Collection<ListenerSubscription> in) {
    this.listener = listener;
    this.in = in;
  }

  /**
   * Subscribes {@code listener}: its subscription is added to {@code in}, which the ledger's
   * callbacks go through and {@link #close} removes it from.
   */
  public static ListenerSubscription subscribe(LedgerListener listener,
      Collection<ListenerSubscription> in) {
    ListenerSubscription s = new ListenerSubscription(listener, in);
    in.add(s);
    return s;
  }

  /**
   * Calls the listener with {@code event}, unless closed. A RuntimeException it throws is
   * dropped: listeners must not throw, and one that does must not stop the ledger.
   */
  public synchronized void deliver(Consumer<LedgerListener> event) {
    if (active) {
      try {
        event.accept(listener);
      } catch (RuntimeException ignored) {
        // Dropped, as LedgerListener's contract says.
      }
    }
  }

  @Override
  public synchronized void close() {
    active = false;
    in.remove(this);
  }
}
