package io.bittensor.transport.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.bittensor.core.BackwardRequest;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.Keypair;
import io.bittensor.core.Modality;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.core.TensorStandard;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import okio.Buffer;
import org.junit.jupiter.api.Test;

/**
 * What OkHttp resends after a failure: a forward gets a fresh nonce and signature (the server
 * takes both attempts) and the time its caller has left, a backward goes again as it was (the
 * server refuses a copy of one that arrived, instead of applying its gradient twice). A forward
 * whose first attempt waited to start is signed again too.
 */
class ResentBodyTest {
  private final Clock clock = Clock.fixed(Instant.parse("2026-12-03T12:00:00Z"), ZoneOffset.UTC);
  private final ClientCore core =
      new ClientCore(Keypair.generate(), clock, TensorStandard.anyOutputDim());
  private final Authenticator server =
      new Authenticator(clock, Duration.ofSeconds(30), false, 1_000, false);
  private final Tensor input = Tensor.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 1, 2, 3);

  /** The fake clock of re-signed bodies, in nanoseconds. */
  private final AtomicLong nanos = new AtomicLong();

  /** Writes one attempt, as OkHttp does: its length (or -1, unknown) is asked for first. */
  private static byte[] attempt(OkHttpPeer.ProtoBody body) throws IOException {
    long announced = body.contentLength();
    Buffer sink = new Buffer();
    body.writeTo(sink);
    if (announced >= 0) {
      assertEquals(announced, sink.size(), "an attempt's size is the announced length");
    }
    return sink.readByteArray();
  }

  /** Writes one attempt of a forward's body and reads it back. */
  private static io.bittensor.transport.internal.wire.ForwardRequest forwardAttempt(
      OkHttpPeer.ProtoBody body) throws IOException {
    return io.bittensor.transport.internal.wire.ForwardRequest.parseFrom(attempt(body));
  }

  /**
   * A forward's body with a timeout of 1 s from the fake clock's 0, signed again for every
   * attempt after the first, as OkHttpPeer makes it.
   */
  private OkHttpPeer.ProtoBody resignedForward() {
    ForwardRequest request = new ForwardRequest(Modality.TENSOR, input);
    return new OkHttpPeer.ProtoBody(core.outgoing(request, 1_000),
        left -> core.outgoing(request, left), 0, TimeUnit.SECONDS.toNanos(1), nanos::get);
  }

  @Test
  void aResentForwardCarriesANewNonceAndBothAttemptsAreAccepted() throws Exception {
    OkHttpPeer.ProtoBody body = resignedForward();
    var first = io.bittensor.transport.internal.wire.ForwardRequest.parseFrom(attempt(body));
    var second = io.bittensor.transport.internal.wire.ForwardRequest.parseFrom(attempt(body));

    assertNotEquals(first.getCaller().getNonce(), second.getCaller().getNonce());
    assertEquals(first.getInput(), second.getInput());
    server.authenticate(first.getCaller(), () -> CanonicalDigest.of(first));
    server.authenticate(second.getCaller(), () -> CanonicalDigest.of(second));
    // The same bytes twice are still a replay: the fresh nonce is what lets the resend through.
    Rejected replay = assertThrows(Rejected.class,
        () -> server.authenticate(second.getCaller(), () -> CanonicalDigest.of(second)));
    assertEquals(Status.REPLAYED, replay.rejection().status());
  }

  @Test
  void aSignedAnswerIsCheckedAgainstTheAttemptThatGotIt() throws Exception {
    OkHttpPeer.ProtoBody body = resignedForward();
    var first = io.bittensor.transport.internal.wire.ForwardRequest.parseFrom(attempt(body));
    assertArrayEquals(CanonicalDigest.of(first), body.sentDigest());
    var second = io.bittensor.transport.internal.wire.ForwardRequest.parseFrom(attempt(body));
    assertArrayEquals(CanonicalDigest.of(second), body.sentDigest(),
        "after a resend the answer answers the second attempt, with its own nonce");
    Keypair peer = Keypair.generate();
    var answer = AnswerSigning.sign(Responses.of(io.bittensor.core.ForwardResult.success(
        Tensor.ofFloats(new float[4], 1, 2, 2)), ""), true, peer,
        () -> CanonicalDigest.of(second));
    assertEquals(Status.SUCCESS, core.forwardResult(answer, input, peer.id(), body::sentDigest,
        "peer").status());
    assertEquals(Status.BAD_RESPONSE, core.forwardResult(answer, input, peer.id(),
        () -> CanonicalDigest.of(first), "peer").status(), "the first attempt's digest differs");
  }

  @Test
  void aResentForwardCarriesTheTimeItsCallerHasLeftWithItsLengthUnknown() throws Exception {
    OkHttpPeer.ProtoBody body = resignedForward();
    long firstLength = body.contentLength();
    var first = forwardAttempt(body);
    assertEquals(1_000, first.getTimeoutMs());
    nanos.set(TimeUnit.MILLISECONDS.toNanos(900) + 1);
    assertEquals(-1, body.contentLength(), "a re-signed attempt may take fewer bytes");
    byte[] bytes = attempt(body);
    var second = io.bittensor.transport.internal.wire.ForwardRequest.parseFrom(bytes);
    assertEquals(99, second.getTimeoutMs(), "1,000 ms less the 900 and a bit that passed");
    assertEquals(firstLength - 1, bytes.length, "99 is a one-byte varint, 1,000 a two-byte one");
    nanos.set(TimeUnit.MILLISECONDS.toNanos(1_000) - 1);
    var third = forwardAttempt(body);
    assertEquals(1, third.getTimeoutMs(), "less than a millisecond left still sends 1 ms");
    assertArrayEquals(CanonicalDigest.of(third), body.sentDigest());
  }

  @Test
  void aFirstAttemptIsSignedAgainWithTheTimeLeftOnlyIfItWaitedToStart() throws Exception {
    OkHttpPeer.ProtoBody atOnce = resignedForward();
    nanos.set(OkHttpPeer.ProtoBody.STALE_FIRST_NANOS);
    assertEquals(1_000, forwardAttempt(atOnce).getTimeoutMs(), "sent as signed");

    nanos.set(0);
    OkHttpPeer.ProtoBody waited = resignedForward();
    nanos.set(TimeUnit.MILLISECONDS.toNanos(400)); // a dispatcher slot freed only now
    long length = waited.contentLength();
    nanos.set(TimeUnit.MILLISECONDS.toNanos(450)); // finding a connection
    assertEquals(length, waited.contentLength(), "the attempt keeps the length it was given");
    var sent = forwardAttempt(waited);
    assertEquals(600, sent.getTimeoutMs(), "signed again when its length was asked");
    assertArrayEquals(CanonicalDigest.of(sent), waited.sentDigest());
  }

  @Test
  void aResendWithNoTimeLeftFailsInsteadOfSending() throws Exception {
    OkHttpPeer.ProtoBody body = resignedForward();
    attempt(body);
    nanos.set(TimeUnit.SECONDS.toNanos(1));
    Buffer sink = new Buffer();
    // Not retried by OkHttp once a request was sent, and read by OkHttpPeer as a TIMEOUT.
    assertThrows(SocketTimeoutException.class, () -> body.writeTo(sink));
    assertEquals(0, sink.size(), "nothing of the attempt is sent");
  }

  @Test
  void aResentBackwardIsTheSameBytesAndTheServerRefusesTheCopy() throws Exception {
    BackwardRequest request = new BackwardRequest(Modality.TENSOR, input, input);
    OkHttpPeer.ProtoBody body = new OkHttpPeer.ProtoBody(core.outgoing(request, 1_000));
    byte[] first = attempt(body);
    long length = body.contentLength();
    byte[] second = attempt(body);
    assertArrayEquals(first, second);
    assertEquals(first.length, length, "the resend's length is known: the same bytes");

    var decoded = io.bittensor.transport.internal.wire.BackwardRequest.parseFrom(first);
    server.authenticate(decoded.getCaller(), () -> CanonicalDigest.of(decoded));
    Rejected replay = assertThrows(Rejected.class,
        () -> server.authenticate(decoded.getCaller(), () -> CanonicalDigest.of(decoded)));
    assertEquals(Status.REPLAYED, replay.rejection().status());
  }
}
