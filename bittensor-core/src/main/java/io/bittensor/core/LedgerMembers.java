package io.bittensor.core;

import java.util.Objects;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;

/**
 * The keys registered on a ledger, kept current as its blocks are sealed: the question "is this
 * caller a member of the market?" for a server that serves members only or a peer that learns
 * only from them.
 *
 * <pre>{@code
 * Ledger ledger = RemoteLedger.connect(URI.create("http://10.0.0.2:8092"));
 * Peer peer = ...;
 * try (LedgerMembers members = LedgerMembers.follow(ledger)) {     // or follow(ledger, minStake)
 *   PeerServer server = PeerServer.newBuilder(peer).callers(members).start();
 *   ...
 * }
 * }</pre>
 *
 * <p>It reads the ledger's metagraph once, then takes each block's from the ledger's events
 * ({@link Ledger#subscribe}): a key counts from the block that registers it, a key replaced by
 * another registration stops counting at that block. {@link #test} reads the latest held and asks
 * the ledger nothing, so it costs a lookup on every call. After {@link #close()} it answers from
 * the last metagraph it held.
 *
 * <p>Thread-safe.
 */
@Experimental
public final class LedgerMembers implements Predicate<PeerId>, AutoCloseable {
  private final long minStake;
  private final AtomicReference<Metagraph> latest = new AtomicReference<>();
  private final Ledger.Subscription subscription;

  private LedgerMembers(Ledger ledger, long minStake) throws LedgerException {
    this.minStake = minStake;
    // Subscribed first, so that no block sealed meanwhile is missed; whichever metagraph is
    // newer stays.
    this.subscription = ledger.subscribe(new LedgerListener() {
      @Override
      public void onBlock(Block block, Metagraph after) {
        hold(after);
      }
    });
    try {
      hold(ledger.metagraph());
    } catch (LedgerException | RuntimeException e) {
      subscription.close();
      throw e;
    }
  }

  /**
   * Follows the keys registered on {@code ledger}.
   *
   * @throws LedgerException if its metagraph cannot be read
   * @throws IllegalStateException if the ledger is closed
   */
  public static LedgerMembers follow(Ledger ledger) throws LedgerException {
    return follow(ledger, 0);
  }

  /**
   * Follows the keys registered on {@code ledger} that hold at least {@code minStake}.
   *
   * @throws IllegalArgumentException if {@code minStake} is negative
   * @throws LedgerException if its metagraph cannot be read
   * @throws IllegalStateException if the ledger is closed
   */
  public static LedgerMembers follow(Ledger ledger, long minStake) throws LedgerException {
    Objects.requireNonNull(ledger, "ledger");
    if (minStake < 0) {
      throw new IllegalArgumentException("minStake must be >= 0, was " + minStake);
    }
    return new LedgerMembers(ledger, minStake);
  }

  private void hold(Metagraph m) {
    latest.accumulateAndGet(m, (held, next) ->
        held == null || next.block().number() >= held.block().number() ? next : held);
  }

  /** Whether {@code id} is registered (with at least the stake asked) as of the latest block. */
  @Override
  public boolean test(PeerId id) {
    Metagraph m = latest.get();
    OptionalInt uid = m.uid(id);
    return uid.isPresent() && m.stake(uid.getAsInt()) >= minStake;
  }

  /** The latest metagraph it holds. */
  public Metagraph metagraph() {
    return latest.get();
  }

  /** Stops following the ledger; the ledger stays open. Idempotent. */
  @Override
  public void close() {
    subscription.close();
  }
}
