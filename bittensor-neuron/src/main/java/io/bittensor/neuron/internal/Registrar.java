package io.bittensor.neuron.internal;

import io.bittensor.core.Block;
import io.bittensor.core.Keypair;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerException;
import io.bittensor.core.LedgerListener;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Modality;
import io.bittensor.core.Receipt;
import io.bittensor.core.RejectReason;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Transaction;
import io.bittensor.core.TransactionRejectedException;
import io.bittensor.core.internal.Backoff;
import io.bittensor.core.internal.Timer;
import java.net.URI;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;

/**
 * Registers a neuron's key (and stakes), and while the ledger refuses with {@link
 * RejectReason#TOO_MANY_REGISTRATIONS} (its {@code maxRegistrationsPerBlock} reached), sends the
 * registration again for a later block, until it lands or the neuron closes: after its k-th
 * refusal, once a number of the ledger's blocks drawn from 1 to {@code 2^(k-1)} (at most {@link
 * #MAX_SPREAD_BLOCKS}) has arrived since it was sent, so that neurons refused together spread
 * over later blocks (a binary exponential back-off, as Ethernet's) rather than all resending at
 * each; or at once should no block come for a back-off that starts at its first and doubles to
 * its longest, each wait drawn from half of it to all of it (so that they do not resend in step
 * then either). A ledger that cannot be read (a {@link LedgerException} from what the neuron
 * reads before it sends, or from {@code nextNonce}: a remote ledger's server down or
 * restarting) is read again after that back-off, from the top, until it can be, the listener
 * told at the 1st, 2nd, 4th ... such failure in a row. A submission whose outcome is unknown
 * (the ledger's answer lost: "may or may not have arrived") is settled by reading the ledger, with
 * the same back-off while it cannot be read: the key in the metagraph has landed; its nonce not
 * past the registration's, it is sent again with that nonce (see {@link #settle}). Retries run
 * on a thread of its own
 * ({@code neuron-<key>-registrar}, started with the first and ended after the last or at {@link
 * #stop}): not on the ledger's thread that tells of the block, nor the timer's, nor the common
 * pool, which an application may keep busy.
 * Thread-safe. The {@code Neuron} makes one per registration.
 */
public final class Registrar implements LedgerListener {
  /** What the neuron reads of its key before a registration is sent. */
  @FunctionalInterface
  public interface Before {
    /**
     * Null to send the registration; else what settles it instead (a key registered before).
     *
     * @throws LedgerException if the ledger cannot be read: read again after a back-off
     */
    CompletableFuture<Receipt> read() throws LedgerException;
  }

  /**
   * The most blocks a registration refused by the ledger's cap waits before it is sent again:
   * after its k-th refusal it waits a number of blocks drawn from 1 to {@code 2^(k-1)}, at most
   * this. Bounded low, so that a neuron refused many times in a row is not left behind newcomers
   * whose windows are still small (binary exponential back-off's capture effect): a minute at
   * one block a second.
   */
  public static final int MAX_SPREAD_BLOCKS = 64;

  private final Ledger ledger;
  private final Keypair keypair;
  private final Modality modality;
  private final URI endpoint;
  private final long stake;
  private final BooleanSupplier closed;
  private final Before before;
  private final Consumer<String> events;
  private final RandomGenerator retryRandom;
  /** Guarded by this: the wait should no block come, and while the ledger cannot be read. */
  private final Backoff backoff;
  private final CompletableFuture<Receipt> result = new CompletableFuture<>();
  /** Sends refused registrations again; shut down once the result is settled or at stop. */
  private final ThreadPoolExecutor retries;
  /** Guarded by this: completed when a refused registration is due again. */
  private CompletableFuture<Void> due;
  /** Guarded by this; subscribed at the first refusal, closed once the result is settled. */
  private Ledger.Subscription subscription;
  /** Guarded by this: refused, and waiting to be sent again. */
  private boolean waiting;
  /** Guarded by this. */
  private int attempts;
  /** Guarded by this: the ledger's blocks heard since the latest attempt was sent. */
  private long blocksSinceSent;
  /** Guarded by this: how many of them a refused attempt waits for. */
  private long blocksToWait = Long.MAX_VALUE;
  /** Guarded by this: the back-off, should no block come; counted again from each block. */
  private Timer.Timeout silence;
  /** Guarded by this. */
  private long silenceMs;
  /** Guarded by this: the wait is for a ledger that could not be read, not for blocks. */
  private boolean unread;
  /** Guarded by this: reads of the ledger failed in a row. */
  private long unreadInARow;
  /** Guarded by this: {@link #before} has been read, and said to send. */
  private boolean checked;
  /** Guarded by this: the latest submission's outcome is unknown; the ledger is read instead. */
  private boolean settling;
  /** Guarded by this: some submission's outcome was unknown (it may arrive late). */
  private boolean wasUnsure;
  /** Guarded by this: what in a block not yet durable has been told of, or null. */
  private String pendingTold;
  /** Guarded by this: the nonce of the registration sent last. */
  private long sentNonce;

  /**
   * A registration of {@code keypair}'s peer at {@code endpoint} with {@code stake}, not yet
   * sent ({@link #attempt}).
   *
   * @param closed whether the neuron has closed: a refused registration is not sent again then
   * @param before read first, until it can be read: whether to send the registration at all
   * @param events told of each refusal and of a late landing, as the neuron's listener
   * @param random draws the blocks and back-offs; used under its own lock
   * @param firstBackoffMs the back-off after the first refusal, should no block come
   * @param maxBackoffMs the longest back-off
   */
  public Registrar(Ledger ledger, Keypair keypair, Modality modality, URI endpoint, long stake,
      BooleanSupplier closed, Before before, Consumer<String> events, RandomGenerator random,
      long firstBackoffMs, long maxBackoffMs) {
    this.ledger = ledger;
    this.keypair = keypair;
    this.modality = modality;
    this.endpoint = endpoint;
    this.stake = stake;
    this.closed = closed;
    this.before = before;
    this.events = events;
    this.retryRandom = random;
    this.backoff = Backoff.jittered(firstBackoffMs, maxBackoffMs, random);
    String name = "neuron-" + keypair.id().toHex().substring(0, 8) + "-registrar";
    this.retries = new ThreadPoolExecutor(0, 1, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
        task -> {
          Thread t = new Thread(task, name);
          t.setDaemon(true);
          return t;
        });
    result.whenComplete((r, e) -> {
      unsubscribe();
      retries.shutdown();
    });
  }

  /**
   * Completes with the receipt of the block that holds the registration (or the stake sent with
   * it), or fails with the ledger's reason.
   */
  public CompletableFuture<Receipt> result() {
    return result;
  }

  /**
   * Reads {@code before} (until it has said to send), then submits the registration, and the
   * stake signed with the next nonce so that it goes in the same block (refused as out of order,
   * harmlessly, if the registration is refused later). A ledger that cannot be read is read
   * again after the back-off. Once a submission's outcome is unknown, reads the ledger instead
   * to settle it ({@link #settle}).
   *
   * @throws RuntimeException as the ledger's reads and submit (a closed ledger)
   */
  public void attempt() {
    if (closed.getAsBoolean()) {
      result.completeExceptionally(closedWhileWaiting());
      return;
    }
    boolean check;
    boolean settle;
    synchronized (this) {
      waiting = false;
      unread = false;
      ++attempts;
      check = !checked;
      settle = settling;
    }
    if (settle) {
      settle();
      return;
    }
    long nonce;
    try {
      if (check) {
        CompletableFuture<Receipt> instead = before.read();
        if (instead != null) {
          instead.whenComplete((r, e) -> {
            if (e != null) {
              result.completeExceptionally(unwrap(e));
            } else {
              result.complete(r);
            }
          });
          return;
        }
        synchronized (this) {
          checked = true;
        }
      }
      nonce = ledger.nextNonce(keypair.id());
      synchronized (this) {
        unreadInARow = 0;
      }
    } catch (TransactionRejectedException e) { // not a read failure: the ledger answered
      result.completeExceptionally(e);
      return;
    } catch (LedgerException e) {
      unreadable(e);
      return;
    }
    send(nonce);
  }

  /** Submits the registration with {@code nonce}, and the stake with the next. */
  private void send(long nonce) {
    int attempt;
    synchronized (this) {
      attempt = attempts;
      sentNonce = nonce;
      // Before the submission: a block sealed while it is refused counts towards the wait.
      blocksSinceSent = 0;
      blocksToWait = Long.MAX_VALUE;
    }
    CompletableFuture<Receipt> registered = ledger.submit(SignedTransaction.sign(keypair,
        ledger.chainId(), nonce, Transaction.register(endpoint, modality)));
    // Not after a refusal the ledger reported at once: the stake would be refused too.
    CompletableFuture<Receipt> staked = stake > 0 && !registered.isCompletedExceptionally()
        ? stake(nonce + 1) : null;
    registered.whenComplete((receipt, error) -> {
      Throwable cause = unwrap(error);
      if (cause instanceof TransactionRejectedException r
          && r.reason() == RejectReason.TOO_MANY_REGISTRATIONS) {
        later(r);
      } else if (unknown(cause)) {
        unsure(cause); // whatever the stake's answer: the ledger is read instead
      } else if (cause != null) {
        result.completeExceptionally(cause);
      } else if (staked == null) {
        landed(receipt, attempt);
      } else {
        afterStake(staked, attempt);
      }
    });
  }

  private CompletableFuture<Receipt> stake(long nonce) {
    return ledger.submit(SignedTransaction.sign(keypair, ledger.chainId(), nonce,
        Transaction.addStake(stake)));
  }

  /** The stake's answer settles the registration, or (unknown) sends it to be settled. */
  private void afterStake(CompletableFuture<Receipt> staked, int attempt) {
    staked.whenComplete((s, e) -> {
      Throwable cause = unwrap(e);
      if (cause == null) {
        landed(s, attempt);
      } else if (unknown(cause)) {
        unsure(cause);
      } else {
        result.completeExceptionally(cause);
      }
    });
  }

  /**
   * Whether {@code cause} leaves the submission's outcome unknown: a failure that is not the
   * ledger's refusal (the answer lost: "may or may not have arrived"), or, once an earlier
   * outcome was unknown, a refusal that says the earlier one arrived after all (its nonce used,
   * its key registered).
   */
  private boolean unknown(Throwable cause) {
    if (cause instanceof TransactionRejectedException r) {
      synchronized (this) {
        return wasUnsure && (r.reason() == RejectReason.NONCE_REUSED
            || r.reason() == RejectReason.ALREADY_REGISTERED);
      }
    }
    return cause instanceof LedgerException;
  }

  /**
   * A submission whose outcome is unknown: reads the ledger at once, on the retries' thread, to
   * learn whether it landed (and the back-off while it cannot be read), unless the neuron closed.
   */
  private void unsure(Throwable cause) {
    CompletableFuture<Void> wake;
    synchronized (this) {
      if (closed.getAsBoolean()) { // and stop() has run or waits for this lock
        wake = null;
      } else {
        waiting = true; // so that stop() fails the result: nothing else would, once stopped
        unread = true; // the blocks a subscription hears do not end this wait
        settling = true;
        wasUnsure = true;
        pendingTold = null;
        wake = due = new CompletableFuture<>();
      }
    }
    if (wake == null) {
      result.completeExceptionally(cause); // it may or may not be in the ledger: as it says
      return;
    }
    // As one literal, for docs/troubleshooting.md to quote.
    events.accept("registration's outcome is unknown: " + cause.getMessage()
        + "; reading the ledger to learn whether it landed");
    wake.complete(null);
    resendWhenDue(wake);
  }

  /**
   * Settles a submission whose outcome was unknown by reading the ledger: the key in its
   * metagraph (a durable block) has landed, and its stake too if the metagraph shows it ({@link
   * #stakeDurable}); the key's nonce not past the stake's, the stake is sent again with that
   * nonce, and past it while the metagraph shows no stake, the stake is in a block not yet
   * durable, read again after the back-off. The key not in the metagraph, with its nonce past
   * the registration's, is in a block not yet durable, read again after the back-off; the nonce
   * not past it was lost, and is sent again with that nonce. Never a second registration nor a
   * nonce used twice: a late arrival refused as such is settled again.
   */
  private void settle() {
    Metagraph m;
    long next;
    try {
      m = ledger.metagraph();
      next = ledger.nextNonce(keypair.id()); // after the metagraph: no landing falls between
      synchronized (this) {
        unreadInARow = 0;
      }
    } catch (TransactionRejectedException e) {
      result.completeExceptionally(e);
      return;
    } catch (LedgerException e) {
      unreadable(e);
      return;
    }
    long sent;
    int attempt;
    synchronized (this) {
      sent = sentNonce;
      attempt = attempts;
    }
    OptionalInt uid = m.uid(keypair.id());
    if (uid.isPresent()) {
      if (stake > 0 && next <= sent + 1) {
        events.accept("registration landed (uid " + uid.getAsInt() + "), its stake did not:"
            + " staking again with nonce " + next);
        afterStake(stake(next), attempt);
        return;
      }
      if (stake > 0 && !stakeDurable(m, uid.getAsInt())) {
        pending(next, "stake");
        return;
      }
      events.accept("registration landed: uid " + uid.getAsInt() + " in the ledger's block "
          + m.block().number() + " (read at attempt " + attempt + ")");
      result.complete(null);
      return;
    }
    if (next > sent) {
      pending(next, "registration");
      return;
    }
    events.accept("registration did not land: registering again with nonce " + next);
    synchronized (this) {
      settling = false;
    }
    send(next);
  }

  /**
   * Whether the stake, its nonce past, is in a durable block as {@code m} shows it: not while the
   * uid's stake is below it (none but this key moves the stake on its uid, and a mint only adds).
   * At or above it, it is, but for one case the metagraph cannot tell: once an epoch has run since
   * the uid registered, its mint may make up the sum, and the stake then counts as landed though
   * its block may still be lost. Only the transaction in a durable block would tell, and not
   * every ledger keeps its blocks ({@code BlockHistory.keepsBlocks}).
   */
  private boolean stakeDurable(Metagraph m, int uid) {
    return m.stake(uid) >= stake;
  }

  /**
   * The registration (or its stake: {@code what}) is in the ledger's block being built (its
   * nonce moved on), not yet in a durable one: reads the ledger again after the back-off, until
   * it is (or, should that block be lost, its nonce moves back and it is sent again).
   */
  private void pending(long next, String what) {
    CompletableFuture<Void> wake;
    long delay;
    boolean tell;
    synchronized (this) {
      if (closed.getAsBoolean()) {
        wake = null;
        delay = 0;
        tell = false;
      } else {
        delay = waitToRead();
        wake = due;
        tell = !what.equals(pendingTold);
        pendingTold = what;
      }
    }
    if (wake == null) {
      result.completeExceptionally(closedWhileWaiting());
      return;
    }
    if (tell) {
      // After what, one literal, for docs/troubleshooting.md to quote.
      events.accept(what + " accepted (the key's next nonce is " + next + "), not yet in"
          + " a durable block: reading the ledger again in " + delay + " ms");
    }
    resendWhenDue(wake);
  }

  /** A retry: what fails it fails the registration. */
  private void retry() {
    try {
      attempt();
    } catch (RuntimeException e) {
      result.completeExceptionally(e);
    }
  }

  private void landed(Receipt receipt, int attempt) {
    if (attempt > 1) {
      events.accept("registered in block " + receipt.block() + " at attempt "
          + attempt);
    }
    result.complete(receipt);
  }

  /**
   * The ledger could not be read: reads it again after the back-off (drawn from half of it to
   * all of it, doubling to the longest), unless the neuron closed.
   */
  private void unreadable(LedgerException e) {
    CompletableFuture<Void> wake;
    long delay;
    long inARow;
    synchronized (this) {
      if (closed.getAsBoolean()) { // and stop() has run or waits for this lock
        wake = null;
        delay = 0;
        inARow = 0;
      } else {
        delay = waitToRead();
        wake = due;
        inARow = ++unreadInARow;
      }
    }
    if (wake == null) {
      result.completeExceptionally(closedWhileWaiting(true));
      return;
    }
    // A ledger down for an hour is told at its 1st, 2nd, 4th ... failure, not at every read.
    if (Long.bitCount(inARow) == 1) {
      // The first as one literal, for docs/troubleshooting.md to quote.
      String told = inARow == 1 ? "registration could not read the ledger: "
          : "registration could not read the ledger (" + inARow + " times in a row): ";
      events.accept(told + e.getMessage() + "; reading it again in " + delay + " ms");
    }
    resendWhenDue(wake);
  }

  /**
   * Guarded by this: a wait to read the ledger again, {@link #due} once the back-off (drawn from
   * half of it to all of it, then doubled to the longest) has passed; its delay.
   */
  private long waitToRead() {
    waiting = true;
    unread = true; // the blocks a subscription hears do not end this wait
    due = new CompletableFuture<>();
    long delay = backoff.next();
    silenceMs = delay;
    armSilence();
    return delay;
  }

  /**
   * Refused by the cap: waits for a number of blocks drawn at random (or the back-off), then
   * sends it again.
   */
  private void later(TransactionRejectedException refused) {
    // Subscribed outside this lock: the ledger may hold its own while it tells of a block,
    // and onBlock takes this one.
    Exception failed = null;
    Ledger.Subscription fresh = null;
    boolean subscribed;
    synchronized (this) {
      subscribed = subscription != null;
    }
    if (!subscribed && !closed.getAsBoolean()) {
      try {
        fresh = ledger.subscribe(this);
      } catch (RuntimeException e) { // a closed ledger
        failed = e;
      }
    }
    CompletableFuture<Void> wake = null;
    long delay = 0;
    long blocks = 0;
    int attempt = 0;
    boolean dueNow = false;
    // Settled outside this lock: the result's stages close the subscription.
    synchronized (this) {
      if (fresh != null) {
        subscription = fresh; // closed by the result's stages however it is settled
      }
      if (failed == null && closed.getAsBoolean()) { // and stop() has run or waits for this lock
        failed = closedWhileWaiting();
      }
      if (failed == null) {
        waiting = true;
        wake = due = new CompletableFuture<>();
        int window = (int) Math.min(MAX_SPREAD_BLOCKS, 1L << Math.min(attempts - 1, 30));
        synchronized (retryRandom) {
          blocksToWait = 1 + retryRandom.nextInt(window);
          // Jittered, so that neurons refused together do not resend in step when no block
          // comes: uniform in [d/2, d].
          delay = backoff.next();
        }
        blocks = blocksToWait;
        attempt = attempts;
        silenceMs = delay;
        dueNow = blocksSinceSent >= blocksToWait;
        if (!dueNow) {
          armSilence();
        }
      }
    }
    if (failed != null) {
      result.completeExceptionally(failed);
      unsubscribe(); // in case it was settled already, and its stages ran before
      return;
    }
    events.accept("registration refused at attempt " + attempt + " ("
        + refused.getMessage() + "): registering again "
        + (blocks == 1 ? "at the ledger's next block" : "after " + blocks + " of its blocks")
        + ", or in " + delay + " ms should none come");
    if (dueNow) {
      wake.complete(null);
    }
    resendWhenDue(wake);
  }

  /** Attempts again on the retries' thread once {@code wake} completes. */
  private void resendWhenDue(CompletableFuture<Void> wake) {
    wake.thenRunAsync(() -> {
      synchronized (this) {
        if (silence != null) {
          silence.cancel();
          silence = null;
        }
      }
      retry();
    }, this::onRetryThread);
  }

  /**
   * Runs {@code task} on the retries' thread; once they are shut down (the result settled, or
   * stopped), drops it rather than throw at the ledger's or the timer's thread that woke it.
   */
  private void onRetryThread(Runnable task) {
    try {
      retries.execute(task);
    } catch (RejectedExecutionException e) {
      // Settled, or the neuron closed: nothing is sent any more.
    }
  }

  /** Guarded by this: (re)starts the back-off that sends a refused registration at once. */
  private void armSilence() {
    if (silence != null) {
      silence.cancel();
    }
    CompletableFuture<Void> wake = due;
    silence = Timer.SHARED.schedule(silenceMs, TimeUnit.MILLISECONDS,
        () -> wake.complete(null));
  }

  @Override
  public void onBlock(Block block, Metagraph after) {
    CompletableFuture<Void> wake = null;
    synchronized (this) {
      blocksSinceSent++;
      if (!waiting || unread) {
        return;
      }
      if (blocksSinceSent >= blocksToWait) {
        wake = due;
      } else {
        armSilence(); // the back-off is for a ledger whose blocks do not come
      }
    }
    if (wake != null) {
      wake.complete(null); // the retry runs on the retries' thread, not on this one
    }
  }

  /** The neuron closes: a registration waiting to be sent again fails; one sent stays. */
  public void stop() {
    boolean wasWaiting;
    synchronized (this) {
      wasWaiting = waiting;
      if (silence != null) {
        silence.cancel(); // its wait ends now, not when the back-off would have
        silence = null;
      }
    }
    if (wasWaiting) {
      result.completeExceptionally(closedWhileWaiting());
    }
    unsubscribe();
    // A retry already queued still runs, finds the neuron closed and sends nothing.
    retries.shutdown();
  }

  private void unsubscribe() {
    Ledger.Subscription s;
    synchronized (this) {
      s = subscription;
      subscription = null;
    }
    if (s != null) {
      s.close(); // outside this lock: the ledger holds its own while it tells of a block
    }
  }

  private LedgerException closedWhileWaiting() {
    boolean forTheLedger;
    synchronized (this) {
      forTheLedger = unread;
    }
    return closedWhileWaiting(forTheLedger);
  }

  private LedgerException closedWhileWaiting(boolean forTheLedger) {
    boolean settle;
    long sent;
    synchronized (this) {
      settle = settling;
      sent = sentNonce;
    }
    if (settle) {
      return new LedgerException("the neuron closed while it read the ledger to learn whether"
          + " its registration, whose outcome was unknown, landed; it may or may not be in the"
          + " ledger: check nonce " + sent + " of " + keypair.id().toHex());
    }
    return new LedgerException(forTheLedger
        ? "the neuron closed while its registration waited to read the ledger again, which"
            + " could not be read; it was not sent"
        : "the neuron closed while its registration waited for a later block"
            + " (TOO_MANY_REGISTRATIONS); it is not in the ledger");
  }

  private static Throwable unwrap(Throwable e) {
    return e instanceof CompletionException && e.getCause() != null
        ? e.getCause() : e;
  }
}
