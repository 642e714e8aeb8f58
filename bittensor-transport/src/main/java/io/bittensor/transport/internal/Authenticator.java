package io.bittensor.transport.internal;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.google.protobuf.ByteString;
import io.bittensor.core.PeerId;
import io.bittensor.core.Status;
import io.bittensor.core.internal.Deadlines;
import io.bittensor.transport.internal.wire.Caller;
import io.bittensor.transport.internal.wire.SignatureScope;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Checks who sent a request: signature, timestamp window and nonce replay, in that order, so
 * that only requests with a valid signature can fill the replay cache.
 *
 * <p>Thread-safe. The replay cache is a Caffeine cache keyed by (public key, nonce) whose entries
 * expire just after twice the window: by then a replay is refused as stale anyway. It has no size
 * bound of its own: a size-bounded Caffeine cache evicts by frequency, and every nonce is seen
 * once, so it could forget a nonce long before its window ends and let its replay through. When
 * it holds {@code maxRemembered} nonces, signed requests are refused with BACKOFF until older ones
 * expire instead: a flood costs service, never replay protection. Without the bound's policy
 * (frequency sketch, queues, hill climbing) an insert is also several times cheaper.
 */
public final class Authenticator {
  /** Nonces shorter than this are refused: 16 random bytes do not collide by chance. */
  public static final int MIN_NONCE = 16;

  /** Nonces longer than this are refused, to bound the replay cache's memory. */
  public static final int MAX_NONCE = 64;

  private final Clock clock;
  private final long windowMillis;
  private final boolean allowAnonymous;
  private final boolean acceptMetadataOnly;
  private final long maxRemembered;
  private final Predicate<PeerId> callers;
  private final Cache<ByteString, Boolean> seen;

  /**
   * @param clock the server's clock
   * @param window how far a request's timestamp may lie from the server's clock, either way
   * @param allowAnonymous whether unsigned requests are served
   * @param maxRemembered the most nonces remembered; past it, signed requests get BACKOFF
   * @param acceptMetadataOnly whether signatures that leave the tensors' bytes out are accepted
   */
  public Authenticator(Clock clock, Duration window, boolean allowAnonymous, long maxRemembered,
      boolean acceptMetadataOnly) {
    this(clock, window, allowAnonymous, maxRemembered, acceptMetadataOnly, null);
  }

  /**
   * An authenticator that serves only some signed callers.
   *
   * @param callers the keys served, or null for every key; checked before the signature (a
   *     request from a key refused needs no verifying)
   */
  public Authenticator(Clock clock, Duration window, boolean allowAnonymous, long maxRemembered,
      boolean acceptMetadataOnly, Predicate<PeerId> callers) {
    this.callers = callers;
    this.clock = clock;
    this.windowMillis = Deadlines.saturatedMillis(window);
    this.allowAnonymous = allowAnonymous;
    this.acceptMetadataOnly = acceptMetadataOnly;
    this.maxRemembered = maxRemembered;
    this.seen = Caffeine.newBuilder()
        // A millisecond past twice the window: a timestamp at the window's far edge is still
        // fresh exactly twice the window after it was taken, so its nonce must outlive that.
        .expireAfterWrite(keptNanos(Deadlines.saturatedNanos(window)), TimeUnit.NANOSECONDS)
        .executor(Runnable::run) // maintenance on the calling thread: no background threads
        .ticker(() -> clock.millis() * 1_000_000L)
        .build();
  }

  /**
   * A signature checked ahead of the rest of its request: the caller block and digest it was
   * checked with, and the answer.
   */
  public record Verified(Caller caller, byte[] digest, boolean valid) {
    boolean covers(Caller c, byte[] d) {
      return caller.equals(c) && java.util.Arrays.equals(digest, d);
    }
  }

  /**
   * Checks a METADATA_ONLY signature before the request's tensors have arrived, with no other
   * effect (the window and the nonce are checked by {@link #authenticate} as always). Null when
   * there is nothing to check ahead: an anonymous or malformed caller block, another scope, a
   * scope this server refuses, or a key it does not serve (refused by {@link #authenticate}
   * unverified); {@code digest} is computed only when there is a check to make.
   */
  public Verified verifyAhead(Caller caller, Supplier<byte[]> digest) {
    if (caller.getPublicKey().size() != PeerId.LENGTH
        || caller.getScopeValue() != SignatureScope.METADATA_ONLY_VALUE || !acceptMetadataOnly) {
      return null;
    }
    PeerId id = PeerId.fromBytes(caller.getPublicKey().toByteArray());
    if (callers != null && !callers.test(id)) {
      return null;
    }
    byte[] signed = digest.get();
    return new Verified(caller, signed, id.verify(signed, caller.getSignature().toByteArray()));
  }

  /** Authenticates a request; see {@link #authenticate(Caller, Supplier, Verified)}. */
  public PeerId authenticate(Caller caller, Supplier<byte[]> digest) {
    return authenticate(caller, digest, null);
  }

  /**
   * Authenticates a request.
   *
   * @param caller the request's caller block (the default instance when absent)
   * @param digest computes the canonical digest; called only when a signature is to be checked
   * @param ahead the signature checked ahead ({@link #verifyAhead}), or null; its answer is used
   *     only when its caller block and digest are exactly this request's
   * @return the caller's identity, or null for an anonymous caller that is allowed
   * @throws Rejected with UNAUTHENTICATED (also for a METADATA_ONLY signature this server does
   *     not accept), BAD_REQUEST, BAD_SIGNATURE, STALE, REPLAYED, or BACKOFF when the replay
   *     cache is full
   */
  public PeerId authenticate(Caller caller, Supplier<byte[]> digest, Verified ahead) {
    ByteString key = caller.getPublicKey();
    if (key.isEmpty()) {
      if (allowAnonymous) {
        return null;
      }
      throw new Rejected(Status.UNAUTHENTICATED, "caller",
          "this peer serves signed requests only; sign with a Keypair");
    }
    if (key.size() != PeerId.LENGTH) {
      throw new Rejected(Status.BAD_REQUEST, "caller.public_key",
          "an Ed25519 public key has 32 bytes, was " + key.size());
    }
    checkServed(PeerId.fromBytes(key.toByteArray()));
    int nonceLength = caller.getNonce().size();
    if (nonceLength < MIN_NONCE || nonceLength > MAX_NONCE) {
      throw new Rejected(Status.BAD_REQUEST, "caller.nonce",
          "a nonce has " + MIN_NONCE + " to " + MAX_NONCE + " bytes, was " + nonceLength);
    }
    checkScope(caller.getScopeValue());
    long now = clock.millis();
    long timestamp = caller.getTimestampMs();
    // Compared without a difference that could wrap around (a timestamp near the field's ends).
    long earliest = saturated(() -> Math.subtractExact(now, windowMillis), Long.MIN_VALUE);
    long latest = saturated(() -> Math.addExact(now, windowMillis), Long.MAX_VALUE);
    if (timestamp < earliest || timestamp > latest) {
      throw new Rejected(Status.STALE, "caller.timestamp_ms", "timestamp is "
          + (timestamp > now ? "in the future" : "old") + " by more than the window of "
          + windowMillis + " ms (" + timestamp + " against the server's " + now + ")");
    }
    PeerId id = PeerId.fromBytes(key.toByteArray());
    byte[] signed = digest.get();
    boolean valid = ahead != null && ahead.covers(caller, signed)
        ? ahead.valid()
        : id.verify(signed, caller.getSignature().toByteArray());
    if (!valid) {
      throw new Rejected(Status.BAD_SIGNATURE, "caller.signature",
          "the signature does not verify against caller.public_key " + id.toHex());
    }
    ByteString nonceKey = key.concat(caller.getNonce());
    if (seen.estimatedSize() >= maxRemembered && seen.getIfPresent(nonceKey) == null) {
      seen.cleanUp(); // drop what has expired before refusing
      if (seen.estimatedSize() >= maxRemembered) {
        throw new Rejected(Status.BACKOFF, "caller.nonce",
            "this peer already remembers " + maxRemembered + " nonces from the last "
                + (windowMillis > Long.MAX_VALUE / 2 ? Long.MAX_VALUE : 2 * windowMillis)
                + " ms and refuses new signed requests until older ones"
                + " expire");
      }
    }
    if (seen.asMap().putIfAbsent(nonceKey, Boolean.TRUE) != null) {
      throw new Rejected(Status.REPLAYED, "caller.nonce",
          "this nonce was already used by " + id.toHex());
    }
    return id;
  }

  /**
   * Refuses a key this server does not serve.
   *
   * @throws Rejected with UNAUTHENTICATED, field {@code caller}
   */
  private void checkServed(PeerId id) {
    if (callers != null && !callers.test(id)) {
      throw new Rejected(Status.UNAUTHENTICATED, "caller",
          "this peer does not serve " + id.toHex());
    }
  }

  private void checkScope(int scope) {
    if (scope == SignatureScope.WHOLE_REQUEST_VALUE
        || (scope == SignatureScope.METADATA_ONLY_VALUE && acceptMetadataOnly)) {
      return;
    }
    if (scope == SignatureScope.METADATA_ONLY_VALUE) {
      throw new Rejected(Status.UNAUTHENTICATED, "caller.scope",
          "this peer accepts only signatures over the whole request, tensor bytes included;"
              + " sign with SignatureScope.WHOLE_REQUEST");
    }
    throw CanonicalDigest.unknownScope(scope);
  }

  /** Twice a window of {@code windowNanos} and a millisecond, or forever where that overflows. */
  private static long keptNanos(long windowNanos) {
    long twice = windowNanos > Long.MAX_VALUE / 2 ? Long.MAX_VALUE : 2 * windowNanos;
    return twice > Long.MAX_VALUE - 1_000_000 ? Long.MAX_VALUE : twice + 1_000_000;
  }

  /** {@code exact}'s value, or {@code bound} where it would not fit in a long. */
  private static long saturated(java.util.function.LongSupplier exact, long bound) {
    try {
      return exact.getAsLong();
    } catch (ArithmeticException e) {
      return bound;
    }
  }
}
