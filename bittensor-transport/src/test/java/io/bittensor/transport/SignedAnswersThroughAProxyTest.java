package io.bittensor.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.sun.net.httpserver.HttpServer;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Keypair;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.PeerInfo;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.transport.internal.wire.AnswerSigner;
import io.bittensor.transport.internal.wire.Response;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Someone on the path between a validator and a peer: a real HTTP proxy on loopback that passes
 * requests on to the peer's server and changes what comes back. Without signed answers the
 * changes go unnoticed (the attack is real); with them each is a BAD_RESPONSE.
 */
@ExtendWith(LeakCheck.class)
@Timeout(30)
class SignedAnswersThroughAProxyTest {
  private static final Keypair PEER = TransportContract.seeded(11);
  private static final Keypair VALIDATOR = TransportContract.seeded(12);

  private final BuiltinPeers.Deterministic model =
      BuiltinPeers.deterministic(TransportContract.OUTPUT_DIM);
  private final AtomicReference<UnaryOperator<Response>> change =
      new AtomicReference<>(UnaryOperator.identity());
  private PeerServer server;
  private HttpServer proxy;
  private final HttpClient upstream = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1).build();

  @BeforeEach
  void start() throws IOException {
    server = PeerServer.newBuilder(model).host("127.0.0.1").port(0)
        .standard(TransportContract.STANDARD).signAnswers(PEER).start();
    proxy = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    proxy.createContext("/", exchange -> {
      try (exchange) {
        HttpRequest.Builder forward = HttpRequest.newBuilder(
                server.endpoint().resolve(exchange.getRequestURI().getPath()))
            .header("Content-Type", "application/x-protobuf")
            .POST(HttpRequest.BodyPublishers.ofByteArray(
                exchange.getRequestBody().readAllBytes()));
        String caller = exchange.getRequestHeaders().getFirst("Bittensor-Caller");
        if (caller != null) {
          forward.header("Bittensor-Caller", caller);
        }
        HttpResponse<byte[]> answer =
            upstream.send(forward.build(), HttpResponse.BodyHandlers.ofByteArray());
        byte[] body = change.get().apply(Response.parseFrom(answer.body())).toByteArray();
        exchange.getResponseHeaders().add("Content-Type", "application/x-protobuf");
        exchange.sendResponseHeaders(answer.statusCode(), body.length);
        exchange.getResponseBody().write(body);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    proxy.start();
  }

  @AfterEach
  void stop() {
    proxy.stop(0);
    server.close();
  }

  private URI proxied() {
    return URI.create("http://127.0.0.1:" + proxy.getAddress().getPort());
  }

  private ForwardResult ask(boolean requireSignedAnswers, ForwardRequest request) {
    try (PeerClient client = PeerClient.newBuilder().keypair(VALIDATOR)
        .standard(TransportContract.STANDARD).timeout(Duration.ofSeconds(10))
        .requireSignedAnswers(requireSignedAnswers).build()) {
      Peer peer = client.connect(PeerInfo.of(PEER.id(), proxied(), Modality.TENSOR));
      return peer.forward(request).join();
    }
  }

  private static ForwardRequest request(long seed) {
    Random random = new Random(seed);
    float[] v = new float[2 * 3 * 5];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) random.nextGaussian();
    }
    return new ForwardRequest(Modality.TENSOR, Tensor.ofFloats(v, 2, 3, 5));
  }

  /** The answer with one output byte flipped: a changed number in the peer's answer. */
  private static Response flipOneByte(Response r) {
    if (!r.hasOutput()) {
      return r;
    }
    byte[] data = r.getOutput().getData().toByteArray();
    data[5] ^= 0x40;
    return r.toBuilder().setOutput(r.getOutput().toBuilder().setData(ByteString.copyFrom(data)))
        .build();
  }

  @Test
  void anHonestProxyChangesNothing() {
    ForwardRequest request = request(1);
    ForwardResult r = ask(true, request);
    assertEquals(Status.SUCCESS, r.status(), r.toString());
    assertEquals(model.answer(request.input()), r.output().orElseThrow());
  }

  @Test
  void aChangedAnswerIsTakenUnlessAnswersMustBeSigned() {
    change.set(SignedAnswersThroughAProxyTest::flipOneByte);
    ForwardRequest request = request(2);
    ForwardResult unchecked = ask(false, request);
    assertEquals(Status.SUCCESS, unchecked.status(), unchecked.toString());
    assertNotEquals(model.answer(request.input()), unchecked.output().orElseThrow(),
        "without signatures the changed answer passes as the peer's");
    ForwardResult checked = ask(true, request);
    assertEquals(Status.BAD_RESPONSE, checked.status(), checked.toString());
    assertEquals("signer", checked.field());
    assertTrue(checked.message().contains("does not verify"), checked.message());
  }

  @Test
  void aChangedStatusMessageOrShapeIsABadResponse() {
    for (UnaryOperator<Response> c : java.util.List.<UnaryOperator<Response>>of(
        r -> r.toBuilder().setMessage("hello from the middle").build(),
        r -> r.toBuilder().setRetryAfterMs(5).build(),
        r -> r.toBuilder().setOutput(r.getOutput().toBuilder().clearShape()
            .addShape(2).addShape(TransportContract.OUTPUT_DIM).addShape(3)).build())) {
      change.set(c);
      ForwardResult r = ask(true, request(3));
      assertEquals(Status.BAD_RESPONSE, r.status(), r.toString());
      assertEquals("signer", r.field(), r.toString());
    }
  }

  @Test
  void aStrippedSignatureIsABadResponse() {
    change.set(r -> r.toBuilder().clearSigner().build());
    ForwardResult r = ask(true, request(4));
    assertEquals(Status.BAD_RESPONSE, r.status(), r.toString());
    assertTrue(r.message().contains("without signing"), r.message());
  }

  @Test
  void anAnswerResignedByTheMiddleIsABadResponse() {
    Keypair middle = TransportContract.seeded(13);
    // The middle changes the answer and signs it with its own key: a valid Ed25519 signature,
    // but not by the key the ledger gives the peer.
    change.set(r -> {
      Response changed = flipOneByte(r);
      return changed.toBuilder().setSigner(AnswerSigner.newBuilder()
          .setPublicKey(ByteString.copyFrom(middle.id().toBytes()))
          .setSignature(ByteString.copyFrom(middle.sign(changed.toByteArray())))).build();
    });
    ForwardResult r = ask(true, request(5));
    assertEquals(Status.BAD_RESPONSE, r.status(), r.toString());
    assertTrue(r.message().contains(middle.id().toHex()), r.message());
  }

  @Test
  void anAnswerMovedToAnotherRequestIsABadResponse() {
    ForwardRequest request = request(6);
    AtomicReference<Response> first = new AtomicReference<>();
    change.set(r -> first.compareAndSet(null, r) ? r : first.get());
    assertEquals(Status.SUCCESS, ask(true, request).status(), "the first answer passes");
    // The same input asked again: the middle answers with the first, validly signed answer.
    ForwardResult replayed = ask(true, request);
    assertEquals(Status.BAD_RESPONSE, replayed.status(), replayed.toString());
    assertTrue(replayed.message().contains("another request"), replayed.message());
    AnswerSigner kept = first.get().getSigner();
    assertEquals(PEER.id().toHex(), io.bittensor.core.PeerId.fromBytes(
        kept.getPublicKey().toByteArray()).toHex(), "it was the peer's own signature");
  }
}
