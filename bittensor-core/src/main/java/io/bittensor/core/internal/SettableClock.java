package io.bittensor.core.internal;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/**
 * A clock that reads whatever time it was last set to: a replica of a ledger seals each block
 * at the time recorded for it (in a Raft log entry, or in the block it replays), so it seals
 * the same block, with the same hash. UTC only.
 */
public final class SettableClock extends Clock {
  private volatile long millis;

  /** A clock at {@code millis} since 1970. */
  public SettableClock(long millis) {
    this.millis = millis;
  }

  /** Sets the time it reads, in ms since 1970. */
  public void set(long millis) {
    this.millis = millis;
  }

  @Override
  public long millis() {
    return millis;
  }

  @Override
  public Instant instant() {
    return Instant.ofEpochMilli(millis);
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    throw new UnsupportedOperationException("a settable clock is UTC only");
  }
}
