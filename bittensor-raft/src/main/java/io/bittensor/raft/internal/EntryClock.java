package io.bittensor.raft.internal;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/**
 * The clock of a member's replica: it reads the time the leader wrote into the log entry being
 * applied, so every member seals the same block with the same timestamp, and so the same hash.
 */
final class EntryClock extends Clock {
  private volatile long millis;

  EntryClock(long millis) {
    this.millis = millis;
  }

  void set(long millis) {
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
    throw new UnsupportedOperationException("the entry clock is UTC only");
  }
}
