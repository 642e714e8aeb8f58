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
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import okio.Buffer;
import org.junit.jupiter.api.Test;

/**
 * What OkHttp resends after a failure: a forward gets a fresh nonce and signature (the server
 * takes both attempts), a backward goes again as it was (the server refuses a copy of one that
 * arrived, instead of applying its gradient twice).
 */
class ResentBodyTest {
  private final Clock clock = Clock.fixed(Instant.parse("2026-12-03T12:00:00Z"), ZoneOffset.UTC);
  private final ClientCore core =
      new ClientCore(Keypair.generate(), clock, TensorStandard.anyOutputDim());
  private final Authenticator server =
      new Authenticator(clock, Duration.ofSeconds(30), false, 1_000, false);
  private final Tensor input = Tensor.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 1, 2, 3);

  private static byte[] attempt(OkHttpPeer.ProtoBody body) throws IOException {
    Buffer sink = new Buffer();
    body.writeTo(sink);
    assertEquals(body.contentLength(), sink.size(), "an attempt's size is the announced length");
    return sink.readByteArray();
  }

  /** A forward's body, signed again for every attempt after the first, as OkHttpPeer makes it. */
  private OkHttpPeer.ProtoBody resignedForward() {
    ForwardRequest request = new ForwardRequest(Modality.TENSOR, input);
    return new OkHttpPeer.ProtoBody(core.outgoing(request, 1_000),
        () -> core.outgoing(request, 1_000));
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
  void aResentBackwardIsTheSameBytesAndTheServerRefusesTheCopy() throws Exception {
    BackwardRequest request = new BackwardRequest(Modality.TENSOR, input, input);
    var message = core.outgoing(request, 1_000);
    OkHttpPeer.ProtoBody body = new OkHttpPeer.ProtoBody(message, () -> message);
    byte[] first = attempt(body);
    byte[] second = attempt(body);
    assertArrayEquals(first, second);

    var decoded = io.bittensor.transport.internal.wire.BackwardRequest.parseFrom(first);
    server.authenticate(decoded.getCaller(), () -> CanonicalDigest.of(decoded));
    Rejected replay = assertThrows(Rejected.class,
        () -> server.authenticate(decoded.getCaller(), () -> CanonicalDigest.of(decoded)));
    assertEquals(Status.REPLAYED, replay.rejection().status());
  }

  @Test
  void aResentBodyOfAnotherSizeFailsTheAttemptInsteadOfSendingTooFewBytes() throws Exception {
    ForwardRequest request = new ForwardRequest(Modality.TENSOR, input);
    ForwardRequest bigger = new ForwardRequest(Modality.TENSOR,
        Tensor.ofFloats(new float[12], 2, 2, 3));
    OkHttpPeer.ProtoBody body =
        new OkHttpPeer.ProtoBody(core.outgoing(request, 1_000), () -> core.outgoing(bigger, 1_000));
    attempt(body);
    IOException e = assertThrows(IOException.class, () -> body.writeTo(new Buffer()));
    assertEquals(true, e.getMessage().contains("re-signed"), e.getMessage());
  }
}
