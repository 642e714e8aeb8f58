package io.bittensor.transport.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.ByteString;
import io.bittensor.core.Keypair;
import io.bittensor.core.PeerId;
import io.bittensor.core.Status;
import io.bittensor.transport.internal.wire.Caller;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The server's checks of a caller at their edges: a nonce of exactly the shortest and longest
 * lengths and a timestamp exactly the window away are accepted, one byte or one millisecond past
 * is refused naming the field.
 */
class AuthenticatorEdgesTest {
  private static final Instant NOW = Instant.parse("2026-12-06T08:00:00Z");
  private static final long WINDOW = 30_000;
  private final Keypair key = Keypair.fromSeed(new byte[32]);
  private final Authenticator server = new Authenticator(Clock.fixed(NOW, ZoneOffset.UTC),
      Duration.ofMillis(WINDOW), false, 1_000, false);

  private Caller signed(int nonceLength, long skewMillis, byte[] digest) {
    byte[] nonce = new byte[nonceLength];
    Arrays.fill(nonce, (byte) (nonceLength + skewMillis));
    return Caller.newBuilder().setPublicKey(ByteString.copyFrom(key.id().toBytes()))
        .setNonce(ByteString.copyFrom(nonce)).setTimestampMs(NOW.toEpochMilli() - skewMillis)
        .setSignature(ByteString.copyFrom(key.sign(digest))).build();
  }

  @ParameterizedTest(name = "nonce of {0} bytes, {1} ms old: {2}")
  @CsvSource({
      "16, 0, OK", "64, 0, OK", "15, 0, caller.nonce", "65, 0, caller.nonce",
      "16, 30000, OK", "16, -30000, OK", "16, 30001, caller.timestamp_ms",
      "16, -30001, caller.timestamp_ms",
      // Timestamps as far as the field goes: one whose difference from now wraps around was
      // taken for a difference of 0 at exactly one millisecond.
      "16, -9223372036854775808, caller.timestamp_ms",
      "16, 9223372036854775807, caller.timestamp_ms",
      "16, -9223372036854775807, caller.timestamp_ms"})
  void eachLimitHoldsExactlyAtItsEdge(int nonceLength, long skew, String outcome) {
    byte[] digest = new byte[32];
    digest[0] = (byte) nonceLength;
    Caller caller = signed(nonceLength, skew, digest);
    if (outcome.equals("OK")) {
      PeerId id = server.authenticate(caller, () -> digest);
      assertEquals(key.id(), id);
      return;
    }
    Rejected e = assertThrows(Rejected.class, () -> server.authenticate(caller, () -> digest));
    assertEquals(outcome, e.rejection().field());
    assertEquals(outcome.equals("caller.nonce") ? Status.BAD_REQUEST : Status.STALE,
        e.rejection().status());
  }
}
