package io.bittensor.transport.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.bittensor.core.ForwardRequest;
import io.bittensor.core.Keypair;
import io.bittensor.core.Modality;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.core.TensorStandard;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The replay cache at its bound: a full cache refuses new signed requests with BACKOFF and
 * forgets no nonce early, so that every request it took stays a replay until its window ends.
 */
class ReplayCacheTest {
  /** A clock the test moves. */
  private static final class MovableClock extends Clock {
    private Instant now = Instant.parse("2026-12-04T12:00:00Z");

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }

    void advance(Duration d) {
      now = now.plus(d);
    }
  }

  private final MovableClock clock = new MovableClock();
  private final ClientCore caller =
      new ClientCore(Keypair.generate(), clock, TensorStandard.anyOutputDim());
  private final ForwardRequest request =
      new ForwardRequest(Modality.TENSOR, Tensor.ofFloats(new float[] {1, 2, 3}, 1, 1, 3));

  private io.bittensor.transport.internal.wire.ForwardRequest signed() {
    return caller.message(request, 1_000);
  }

  private static void accept(Authenticator server,
      io.bittensor.transport.internal.wire.ForwardRequest m) {
    server.authenticate(m.getCaller(), () -> CanonicalDigest.of(m));
  }

  private static Status refusal(Authenticator server,
      io.bittensor.transport.internal.wire.ForwardRequest m) {
    return assertThrows(Rejected.class, () -> accept(server, m)).rejection().status();
  }

  @Test
  void aFullCacheRefusesNewCallersAndForgetsNoNonceEarly() {
    Authenticator server = new Authenticator(clock, Duration.ofSeconds(30), false, 100, false);
    List<io.bittensor.transport.internal.wire.ForwardRequest> taken = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      var m = signed();
      accept(server, m);
      taken.add(m);
    }
    assertEquals(Status.BACKOFF, refusal(server, signed()), "the 101st while 100 are remembered");
    for (var m : taken) {
      assertEquals(Status.REPLAYED, refusal(server, m), "every remembered nonce is still one");
    }

    // Past twice the window the old nonces expire (their requests are stale by then anyway).
    clock.advance(Duration.ofSeconds(61));
    accept(server, signed());
    assertEquals(Status.STALE, refusal(server, taken.get(0)));
  }

  @Test
  void aRequestFromTheWindowsFarEdgeStaysAReplayUntilItIsStale() {
    Authenticator server = new Authenticator(clock, Duration.ofSeconds(30), false, 100, false);
    // Signed by a clock 30 s ahead: the latest timestamp the window takes.
    ClientCore ahead = new ClientCore(Keypair.generate(),
        Clock.offset(clock, Duration.ofSeconds(30)), TensorStandard.anyOutputDim());
    var m = ahead.message(request, 1_000);
    accept(server, m);
    // Twice the window on, its timestamp is at the window's old edge: still taken as fresh, so
    // its nonce must still be remembered.
    clock.advance(Duration.ofSeconds(60));
    assertEquals(Status.REPLAYED, refusal(server, m));
    clock.advance(Duration.ofMillis(1));
    assertEquals(Status.STALE, refusal(server, m));
  }
}
