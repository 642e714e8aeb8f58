package io.bittensor.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.bittensor.core.BackwardRequest;
import io.bittensor.core.BackwardResult;
import io.bittensor.core.DType;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Keypair;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.PeerId;
import io.bittensor.core.PeerInfo;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.core.TensorStandard;
import io.bittensor.transport.internal.ClientCore;
import io.bittensor.transport.internal.wire.Response;
import java.io.IOException;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The behaviour every transport shares: the same requests get the same status codes over
 * HTTP/2, HTTP/1.1 and in-process. Subclasses say how to serve and how to connect.
 */
@ExtendWith(LeakCheck.class)
@Timeout(30)
abstract class TransportContract {
  static final int OUTPUT_DIM = 8;
  static final TensorStandard STANDARD = TensorStandard.of(OUTPUT_DIM);
  static final long SEED = 20261125L;

  /** Keys from fixed seeds, so failures reproduce. */
  static final Keypair ALICE = seeded(1);
  static final Keypair BOB = seeded(2);

  private final List<AutoCloseable> open = new ArrayList<>();

  /** Starts {@code b} on this transport. */
  abstract PeerServer start(PeerServer.Builder b) throws IOException;

  /** A client builder for this transport. */
  abstract PeerClient.Builder clientBuilder();

  /** Delivers an already-built wire message as is, bypassing the client (for replays). */
  abstract Response sendRaw(PeerServer server, io.bittensor.transport.internal.wire.ForwardRequest msg)
      throws IOException;

  static Keypair seeded(int n) {
    byte[] seed = new byte[Keypair.SEED_LENGTH];
    seed[0] = (byte) n;
    return Keypair.fromSeed(seed);
  }

  PeerServer.Builder serverBuilder(Peer peer) {
    return PeerServer.newBuilder(peer).host("127.0.0.1").port(0).standard(STANDARD);
  }

  <T extends AutoCloseable> T track(T resource) {
    open.add(resource);
    return resource;
  }

  PeerServer serve(Peer peer) throws IOException {
    return track(start(serverBuilder(peer)));
  }

  Peer connect(PeerServer server, Keypair key) {
    PeerClient.Builder b = clientBuilder().standard(STANDARD).timeout(Duration.ofSeconds(10));
    if (key != null) {
      b.keypair(key);
    }
    return track(b.build()).connect(server.endpoint());
  }

  @AfterEach
  void closeEverything() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
    open.clear();
  }

  /** An input of the modality's layout, filled from {@code random}. */
  static Tensor input(Modality m, DType t, Random random) {
    int[] shape = switch (m) {
      case TEXT -> new int[] {2, 5};
      case IMAGE -> new int[] {2, 1, 3, 4, 4};
      case SPEECH -> new int[] {2, 1, 40};
      case TENSOR -> new int[] {2, 5, 6};
    };
    int n = 1;
    for (int d : shape) {
      n *= d;
    }
    return switch (t) {
      case FLOAT32 -> {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
          v[i] = (float) random.nextGaussian();
        }
        yield Tensor.ofFloats(v, shape);
      }
      case INT64 -> {
        long[] v = new long[n];
        for (int i = 0; i < n; i++) {
          v[i] = random.nextInt(50_000);
        }
        yield Tensor.ofLongs(v, shape);
      }
      case UINT8 -> {
        byte[] v = new byte[n];
        random.nextBytes(v);
        yield Tensor.ofBytes(v, shape);
      }
    };
  }

  @Test
  void forwardRoundTripsEveryModalityAndElementType() throws IOException {
    BuiltinPeers.Deterministic peer = BuiltinPeers.deterministic(OUTPUT_DIM);
    Peer remote = connect(serve(peer), ALICE);
    Random random = new Random(SEED);
    int combos = 0;
    for (Modality m : Modality.values()) {
      for (DType t : m.inputTypes()) {
        Tensor x = input(m, t, random);
        ForwardResult r = remote.forward(new ForwardRequest(m, x)).join();
        assertEquals(Status.SUCCESS, r.status(), m + " " + t + " seed " + SEED + ": " + r);
        Tensor y = r.output().orElseThrow();
        assertArrayEquals(STANDARD.outputShape(x), y.shape(), m + " " + t);
        assertEquals(peer.answer(x), y, m + " " + t + ": the answer changed in transit");
        combos++;
      }
    }
    assertEquals(5, combos, "TEXT/INT64, IMAGE/UINT8, IMAGE/FLOAT32, SPEECH/FLOAT32, TENSOR/FLOAT32");
  }

  /** Answers of several MiB travel as two writes (head, then the tensor's bytes): intact. */
  @Test
  void largeAnswersArriveIntact() throws IOException {
    BuiltinPeers.Deterministic peer = BuiltinPeers.deterministic(OUTPUT_DIM);
    Peer remote = connect(serve(peer), ALICE);
    Random random = new Random(SEED + 1);
    for (int[] shape : new int[][] {{4, 300, 6}, {16, 4096, 6}}) {
      float[] v = new float[shape[0] * shape[1] * shape[2]];
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) random.nextGaussian();
      }
      Tensor x = Tensor.ofFloats(v, shape);
      ForwardResult r = remote.forward(new ForwardRequest(Modality.TENSOR, x)).join();
      assertEquals(Status.SUCCESS, r.status(), r.toString());
      assertEquals(peer.answer(x), r.output().orElseThrow(), "the answer changed in transit");
    }
  }

  @Test
  void backwardDeliversGradientsForEveryModality() throws IOException {
    BuiltinPeers.Deterministic peer = BuiltinPeers.deterministic(OUTPUT_DIM);
    Peer remote = connect(serve(peer), ALICE);
    Random random = new Random(SEED);
    for (Modality m : Modality.values()) {
      for (DType t : m.inputTypes()) {
        Tensor x = input(m, t, random);
        Tensor grad = Tensor.ofFloats(new float[x.dim(0) * x.dim(1) * OUTPUT_DIM],
            STANDARD.outputShape(x));
        BackwardResult r = remote.backward(new BackwardRequest(m, x, grad)).join();
        assertEquals(Status.SUCCESS, r.status(), m + " " + t + ": " + r);
      }
    }
    assertEquals(5, peer.gradientsTaken());
  }

  @Test
  void backwardToAPeerThatDoesNotLearnIsNotImplemented() throws IOException {
    Peer remote = connect(serve(BuiltinPeers.echo()), ALICE);
    Tensor x = Tensor.zeros(DType.FLOAT32, 1, 2, OUTPUT_DIM);
    BackwardResult r = remote.backward(new BackwardRequest(Modality.TENSOR, x, x)).join();
    assertEquals(Status.NOT_IMPLEMENTED, r.status(), r.toString());
  }

  @Test
  void gradientOfTheWrongShapeIsABadShape() throws IOException {
    Peer remote = connect(serve(BuiltinPeers.deterministic(OUTPUT_DIM)), ALICE);
    Tensor x = Tensor.zeros(DType.FLOAT32, 1, 2, 3);
    Tensor grad = Tensor.zeros(DType.FLOAT32, 1, 2, OUTPUT_DIM + 1);
    BackwardResult r = remote.backward(new BackwardRequest(Modality.TENSOR, x, grad)).join();
    assertEquals(Status.BAD_SHAPE, r.status(), r.toString());
    assertEquals("gradient.shape", r.field());
  }

  @Test
  void unsignedRequestsAreRefusedUnlessAnonymousCallersAreAllowed() throws IOException {
    ForwardRequest req = new ForwardRequest(Modality.TENSOR, Tensor.zeros(DType.FLOAT32, 1, 1, 2));
    PeerServer strict = serve(BuiltinPeers.deterministic(OUTPUT_DIM));
    ForwardResult r = connect(strict, null).forward(req).join();
    assertEquals(Status.UNAUTHENTICATED, r.status(), r.toString());
    PeerServer open = track(start(serverBuilder(BuiltinPeers.deterministic(OUTPUT_DIM))
        .allowAnonymous(true)));
    assertEquals(Status.SUCCESS, connect(open, null).forward(req).join().status());
  }

  /** Hears who each request came from, as the server hands it over. */
  static final class CallerRecorder implements Peer {
    final List<Optional<PeerId>> forwards = new java.util.concurrent.CopyOnWriteArrayList<>();
    final List<Optional<PeerId>> backwards = new java.util.concurrent.CopyOnWriteArrayList<>();

    @Override
    public CompletableFuture<ForwardResult> forward(ForwardRequest request) {
      forwards.add(request.caller());
      return CompletableFuture.completedFuture(ForwardResult.success(
          Tensor.zeros(DType.FLOAT32, STANDARD.outputShape(request.input()))));
    }

    @Override
    public CompletableFuture<BackwardResult> backward(BackwardRequest request) {
      backwards.add(request.caller());
      return CompletableFuture.completedFuture(BackwardResult.success());
    }
  }

  @Test
  void thePeerHearsTheCallerTheServerProved() throws IOException {
    CallerRecorder peer = new CallerRecorder();
    PeerServer server = track(start(serverBuilder(peer).allowAnonymous(true)));
    Tensor x = Tensor.zeros(DType.FLOAT32, 1, 2, 3);
    Tensor grad = Tensor.zeros(DType.FLOAT32, 1, 2, OUTPUT_DIM);
    // A caller named in the request is not what the client sends: it signs with its own key.
    ForwardRequest claimingBob = new ForwardRequest(Modality.TENSOR, x, Optional.of(BOB.id()));
    BackwardRequest backClaimingBob =
        new BackwardRequest(Modality.TENSOR, x, grad, Optional.of(BOB.id()));
    Peer alice = connect(server, ALICE);
    Peer anonymous = connect(server, null);
    for (Peer caller : List.of(alice, anonymous)) {
      assertEquals(Status.SUCCESS, caller.forward(claimingBob).join().status());
      assertEquals(Status.SUCCESS, caller.backward(backClaimingBob).join().status());
    }
    assertEquals(List.of(Optional.of(ALICE.id()), Optional.empty()), peer.forwards);
    assertEquals(List.of(Optional.of(ALICE.id()), Optional.empty()), peer.backwards);
  }

  @Test
  void aServerWithAListOfCallersServesOnlyThem() throws IOException {
    CallerRecorder peer = new CallerRecorder();
    PeerServer server = track(start(serverBuilder(peer).allowAnonymous(true)
        .callers(id -> id.equals(ALICE.id()))));
    Tensor x = Tensor.zeros(DType.FLOAT32, 1, 2, 3);
    Tensor grad = Tensor.zeros(DType.FLOAT32, 1, 2, OUTPUT_DIM);
    Peer bob = connect(server, BOB);
    ForwardResult f = bob.forward(new ForwardRequest(Modality.TENSOR, x)).join();
    assertEquals(Status.UNAUTHENTICATED, f.status(), f.toString());
    assertEquals("caller", f.field());
    BackwardResult b = bob.backward(new BackwardRequest(Modality.TENSOR, x, grad)).join();
    assertEquals(Status.UNAUTHENTICATED, b.status(), b.toString());
    // A large body from a key not served gets its answer each time, on the same connection.
    Tensor large = Tensor.zeros(DType.FLOAT32, 16, 256, 256); // 4 MiB
    for (int i = 0; i < 3; i++) {
      ForwardResult big = bob.forward(new ForwardRequest(Modality.TENSOR, large)).join();
      assertEquals(Status.UNAUTHENTICATED, big.status(), big.toString());
    }
    assertEquals(List.of(), peer.forwards, "the peer never heard Bob");
    assertEquals(List.of(), peer.backwards);
    assertEquals(Status.SUCCESS,
        connect(server, ALICE).forward(new ForwardRequest(Modality.TENSOR, x)).join().status());
    assertEquals(Status.SUCCESS,
        connect(server, null).forward(new ForwardRequest(Modality.TENSOR, x)).join().status(),
        "anonymous callers are allowAnonymous's question");
    assertEquals(List.of(Optional.of(ALICE.id()), Optional.empty()), peer.forwards);
    // A predicate that throws fails the request, not the server.
    PeerServer broken = track(start(serverBuilder(peer).callers(id -> {
      throw new IllegalStateException("no metagraph yet");
    })));
    Peer toBroken = connect(broken, ALICE);
    for (int i = 0; i < 2; i++) {
      assertEquals(Status.INTERNAL_ERROR,
          toBroken.forward(new ForwardRequest(Modality.TENSOR, x)).join().status());
    }
  }

  @Test
  void timestampsOutsideTheWindowAreStale() throws IOException {
    PeerServer server = track(start(serverBuilder(BuiltinPeers.deterministic(OUTPUT_DIM))
        .staleWindow(Duration.ofSeconds(10))));
    ForwardRequest req = new ForwardRequest(Modality.TENSOR, Tensor.zeros(DType.FLOAT32, 1, 1, 2));
    for (long skewSeconds : new long[] {-11, 11, -9, 9}) {
      Clock skewed = Clock.offset(Clock.systemUTC(), Duration.ofSeconds(skewSeconds));
      PeerClient client = track(clientBuilder().keypair(ALICE).clock(skewed).build());
      ForwardResult r = client.connect(server.endpoint()).forward(req).join();
      Status expected = Math.abs(skewSeconds) > 10 ? Status.STALE : Status.SUCCESS;
      assertEquals(expected, r.status(), "clock skew " + skewSeconds + " s: " + r);
      if (expected == Status.STALE) {
        assertEquals("caller.timestamp_ms", r.field());
      }
    }
  }

  @Test
  void replayedRequestsAreRefused() throws IOException {
    PeerServer server = serve(BuiltinPeers.deterministic(OUTPUT_DIM));
    ClientCore signer = new ClientCore(ALICE, Clock.systemUTC(), STANDARD);
    var msg = signer.message(
        new ForwardRequest(Modality.TENSOR, Tensor.zeros(DType.FLOAT32, 1, 1, 2)), 5_000);
    assertEquals(Status.SUCCESS.code(), sendRaw(server, msg).getStatus());
    Response again = sendRaw(server, msg);
    assertEquals(Status.REPLAYED.code(), again.getStatus(), again.toString());
    assertEquals("caller.nonce", again.getField());
  }

  /**
   * Many signed calls at once, as a busy validator makes them. Over HTTP/2 this once lost a few
   * calls in ten thousand: the client closed answers before the server's END_STREAM, the resets
   * made the server refuse streams, and OkHttp's resends repeated their nonces (REPLAYED).
   */
  @Test
  void sixteenCallersMakingSignedCallsAllSucceed() throws Exception {
    Peer remote = connect(serve(BuiltinPeers.deterministic(OUTPUT_DIM)), ALICE);
    ForwardRequest request = new ForwardRequest(Modality.TENSOR,
        input(Modality.TENSOR, DType.FLOAT32, new Random(SEED)));
    int callers = 16;
    int callsEach = 250;
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(callers);
    try {
      List<java.util.concurrent.Future<List<String>>> failures = new ArrayList<>();
      for (int c = 0; c < callers; c++) {
        failures.add(pool.submit(() -> {
          List<String> failed = new ArrayList<>();
          for (int i = 0; i < callsEach; i++) {
            ForwardResult r = remote.forward(request).join();
            if (!r.isSuccess()) {
              failed.add(r.toString());
            }
          }
          return failed;
        }));
      }
      List<String> all = new ArrayList<>();
      for (var f : failures) {
        all.addAll(f.get());
      }
      assertEquals(0, all.size(), all.size() + " of " + callers * callsEach
          + " calls failed, the first: " + all.subList(0, Math.min(3, all.size())));
    } finally {
      pool.shutdownNow();
    }
  }

  /** A client that requires signed answers, reaching {@code server} as the peer of {@code key}. */
  Peer connectRequiringSignatures(PeerServer server, Keypair caller, PeerId peerKey) {
    PeerClient.Builder b = clientBuilder().standard(STANDARD).timeout(Duration.ofSeconds(10))
        .requireSignedAnswers(true);
    if (caller != null) {
      b.keypair(caller);
    }
    return track(b.build()).connect(PeerInfo.of(peerKey, server.endpoint(), Modality.TENSOR));
  }

  @Test
  void answersSignedWithThePeersKeyAreAccepted() throws IOException {
    BuiltinPeers.Deterministic peer = BuiltinPeers.deterministic(OUTPUT_DIM);
    PeerServer server = track(start(serverBuilder(peer).signAnswers(BOB)));
    Peer remote = connectRequiringSignatures(server, ALICE, BOB.id());
    Random random = new Random(SEED + 7);
    for (int i = 0; i < 5; i++) {
      Tensor x = input(Modality.TENSOR, DType.FLOAT32, random);
      ForwardResult r = remote.forward(new ForwardRequest(Modality.TENSOR, x)).join();
      assertEquals(Status.SUCCESS, r.status(), r.toString());
      assertEquals(peer.answer(x), r.output().orElseThrow());
      ForwardResult blocking =
          remote.forwardAndWait(new ForwardRequest(Modality.TENSOR, x), Duration.ofSeconds(10));
      assertEquals(Status.SUCCESS, blocking.status(), blocking.toString());
      Tensor grad = Tensor.ofFloats(new float[x.dim(0) * x.dim(1) * OUTPUT_DIM],
          STANDARD.outputShape(x));
      BackwardResult b = remote.backward(new BackwardRequest(Modality.TENSOR, x, grad)).join();
      assertEquals(Status.SUCCESS, b.status(), b.toString());
    }
    assertEquals(5, peer.gradientsTaken());
    // An anonymous caller's request has a digest too, and the answer is bound to it.
    PeerServer open = track(start(serverBuilder(peer).signAnswers(BOB).allowAnonymous(true)));
    ForwardResult anonymous = connectRequiringSignatures(open, null, BOB.id())
        .forward(FanOutOverHttpTest.REQUEST).join();
    assertEquals(Status.SUCCESS, anonymous.status(), anonymous.toString());
  }

  @Test
  void anAnswerSignedWithAnotherKeyIsABadResponse() throws IOException {
    PeerServer server = track(start(serverBuilder(BuiltinPeers.deterministic(OUTPUT_DIM))
        .signAnswers(BOB)));
    Keypair registered = seeded(3); // the ledger says the peer at this address has this key
    ForwardResult r = connectRequiringSignatures(server, ALICE, registered.id())
        .forward(FanOutOverHttpTest.REQUEST).join();
    assertEquals(Status.BAD_RESPONSE, r.status(), r.toString());
    assertEquals("signer", r.field());
    assertTrue(r.message().contains(BOB.id().toHex())
        && r.message().contains(registered.id().toHex()), r.message());
  }

  @Test
  void anUnsignedAnswerIsABadResponseOnlyWhereSignaturesAreRequired() throws IOException {
    PeerServer server = serve(BuiltinPeers.deterministic(OUTPUT_DIM));
    ForwardResult required = connectRequiringSignatures(server, ALICE, BOB.id())
        .forward(FanOutOverHttpTest.REQUEST).join();
    assertEquals(Status.BAD_RESPONSE, required.status(), required.toString());
    assertEquals("signer", required.field());
    assertTrue(required.message().contains("without signing"), required.message());
    Tensor x = Tensor.zeros(DType.FLOAT32, 1, 2, 3);
    BackwardResult back = connectRequiringSignatures(server, ALICE, BOB.id())
        .backward(new BackwardRequest(Modality.TENSOR, x,
            Tensor.zeros(DType.FLOAT32, 1, 2, OUTPUT_DIM))).join();
    assertEquals(Status.BAD_RESPONSE, back.status(), back.toString());
    assertEquals(Status.SUCCESS, connect(server, ALICE).forward(FanOutOverHttpTest.REQUEST).join()
        .status(), "a client that does not require signatures takes the same answer");
  }

  @Test
  void failuresAreNotSignedAndKeepTheirStatus() throws IOException {
    PeerServer server = track(start(serverBuilder(BuiltinPeers.deterministic(OUTPUT_DIM))
        .signAnswers(BOB)));
    Peer remote = connectRequiringSignatures(server, ALICE, BOB.id());
    Tensor x = Tensor.zeros(DType.FLOAT32, 1, 2, 3);
    BackwardResult r = remote.backward(new BackwardRequest(Modality.TENSOR, x,
        Tensor.zeros(DType.FLOAT32, 1, 2, OUTPUT_DIM + 1))).join();
    assertEquals(Status.BAD_SHAPE, r.status(), r.toString());
    PeerServer tensorOnly = track(start(serverBuilder(BuiltinPeers.deterministic(OUTPUT_DIM))
        .modalities(Modality.TENSOR).signAnswers(BOB)));
    ForwardResult unknown = connectRequiringSignatures(tensorOnly, ALICE, BOB.id())
        .forward(new ForwardRequest(Modality.TEXT, Tensor.ofLongs(new long[] {1, 2}, 1, 2)))
        .join();
    assertEquals(Status.UNKNOWN_MODALITY, unknown.status(), unknown.toString());
  }

  @Test
  void aClientThatRequiresSignedAnswersConnectsOnlyToANamedKey() throws IOException {
    PeerServer server = serve(BuiltinPeers.deterministic(OUTPUT_DIM));
    PeerClient client = track(clientBuilder().requireSignedAnswers(true).build());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> client.connect(server.endpoint()));
    assertTrue(e.getMessage().contains("connect(PeerInfo)"), e.getMessage());
  }

  @Test
  void tamperedRequestsHaveABadSignature() throws IOException {
    PeerServer server = serve(BuiltinPeers.deterministic(OUTPUT_DIM));
    ClientCore signer = new ClientCore(ALICE, Clock.systemUTC(), STANDARD);
    var msg = signer.message(new ForwardRequest(Modality.TENSOR,
        Tensor.ofFloats(new float[] {1, 2}, 1, 1, 2)), 5_000);
    byte[] data = msg.getInput().getData().toByteArray();
    data[0] ^= 1;
    var tampered = msg.toBuilder()
        .setInput(msg.getInput().toBuilder().setData(ByteString.copyFrom(data))).build();
    Response r = sendRaw(server, tampered);
    assertEquals(Status.BAD_SIGNATURE.code(), r.getStatus(), r.toString());
    var otherKey = msg.toBuilder().setCaller(msg.getCaller().toBuilder()
        .setPublicKey(ByteString.copyFrom(BOB.id().toBytes()))).build();
    assertEquals(Status.BAD_SIGNATURE.code(), sendRaw(server, otherKey).getStatus());
    assertEquals(Status.SUCCESS.code(), sendRaw(server, msg).getStatus(),
        "the untouched message still verifies");
  }

  @Test
  void metadataOnlySignaturesAreRefusedUnlessTheServerAcceptsThem() throws IOException {
    ForwardRequest req = new ForwardRequest(Modality.TENSOR,
        input(Modality.TENSOR, DType.FLOAT32, new Random(SEED)));
    PeerClient metadataOnly = track(clientBuilder().standard(STANDARD).keypair(ALICE)
        .signatureScope(SignatureScope.METADATA_ONLY).build());
    PeerServer strict = serve(BuiltinPeers.deterministic(OUTPUT_DIM));
    ForwardResult refused = metadataOnly.connect(strict.endpoint()).forward(req).join();
    assertEquals(Status.UNAUTHENTICATED, refused.status(), refused.toString());
    assertEquals("caller.scope", refused.field());
    PeerServer accepting = track(start(serverBuilder(BuiltinPeers.deterministic(OUTPUT_DIM))
        .acceptMetadataOnlySignatures(true)));
    ForwardResult served = metadataOnly.connect(accepting.endpoint()).forward(req).join();
    assertEquals(Status.SUCCESS, served.status(), served.toString());
    assertEquals(Status.SUCCESS, connect(accepting, ALICE).forward(req).join().status(),
        "whole-request signatures are accepted as well");
    BackwardResult back = metadataOnly.connect(accepting.endpoint()).backward(
        new BackwardRequest(Modality.TENSOR, req.input(),
            Tensor.zeros(DType.FLOAT32, 2, 5, OUTPUT_DIM))).join();
    assertTrue(back.status() == Status.SUCCESS || back.status() == Status.NOT_IMPLEMENTED,
        "a backward call passes authentication: " + back);
  }

  @Test
  void aSignatureVerifiesOnlyInTheScopeItWasMadeIn() throws IOException {
    PeerServer server = track(start(serverBuilder(BuiltinPeers.deterministic(OUTPUT_DIM))
        .acceptMetadataOnlySignatures(true)));
    ForwardRequest req = new ForwardRequest(Modality.TENSOR,
        Tensor.ofFloats(new float[] {1, 2}, 1, 1, 2));
    var whole = new ClientCore(ALICE, Clock.systemUTC(), STANDARD).message(req, 5_000);
    var metadata = new ClientCore(ALICE, Clock.systemUTC(), STANDARD,
        io.bittensor.transport.internal.wire.SignatureScope.METADATA_ONLY).message(req, 5_000);
    var wholeRelabelled = whole.toBuilder().setCaller(whole.getCaller().toBuilder()
        .setScope(io.bittensor.transport.internal.wire.SignatureScope.METADATA_ONLY)).build();
    var metadataRelabelled = metadata.toBuilder().setCaller(metadata.getCaller().toBuilder()
        .setScope(io.bittensor.transport.internal.wire.SignatureScope.WHOLE_REQUEST)).build();
    assertEquals(Status.BAD_SIGNATURE.code(), sendRaw(server, wholeRelabelled).getStatus());
    assertEquals(Status.BAD_SIGNATURE.code(), sendRaw(server, metadataRelabelled).getStatus());
    var unknown = whole.toBuilder().setCaller(whole.getCaller().toBuilder().setScopeValue(7))
        .build();
    Response r = sendRaw(server, unknown);
    assertEquals(Status.BAD_REQUEST.code(), r.getStatus(), r.toString());
    assertEquals("caller.scope", r.getField());
    assertEquals(Status.SUCCESS.code(), sendRaw(server, whole).getStatus());
    assertEquals(Status.SUCCESS.code(), sendRaw(server, metadata).getStatus());
    assertEquals(Status.REPLAYED.code(), sendRaw(server, metadata).getStatus(),
        "replays are refused in either scope");
  }

  /**
   * The trade METADATA_ONLY makes, pinned down: the tensor's dtype and shape stay signed, its
   * bytes do not.
   */
  @Test
  void metadataOnlySignaturesCoverTheShapeButNotTheBytes() throws IOException {
    PeerServer server = track(start(serverBuilder(BuiltinPeers.deterministic(OUTPUT_DIM))
        .acceptMetadataOnlySignatures(true)));
    ClientCore signer = new ClientCore(ALICE, Clock.systemUTC(), STANDARD,
        io.bittensor.transport.internal.wire.SignatureScope.METADATA_ONLY);
    ForwardRequest req = new ForwardRequest(Modality.TENSOR,
        Tensor.ofFloats(new float[] {1, 2}, 1, 1, 2));
    var reshaped = signer.message(req, 5_000);
    reshaped = reshaped.toBuilder().setInput(reshaped.getInput().toBuilder()
        .clearShape().addShape(1).addShape(2).addShape(1)).build();
    assertEquals(Status.BAD_SIGNATURE.code(), sendRaw(server, reshaped).getStatus());
    var msg = signer.message(req, 5_000);
    byte[] data = msg.getInput().getData().toByteArray();
    data[0] ^= 1;
    var changedBytes = msg.toBuilder()
        .setInput(msg.getInput().toBuilder().setData(ByteString.copyFrom(data))).build();
    assertEquals(Status.SUCCESS.code(), sendRaw(server, changedBytes).getStatus(),
        "the bytes are not covered in this scope");
  }

  @Test
  void aPeerThatNeverAnswersCostsTheCallersTimeout() throws IOException {
    PeerServer server = serve(TestPeers.silent());
    Peer remote = connect(server, ALICE);
    long t0 = System.nanoTime();
    ForwardResult r = remote.forward(new ForwardRequest(Modality.TENSOR,
        Tensor.zeros(DType.FLOAT32, 1, 1, 2)), Duration.ofMillis(300)).join();
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertEquals(Status.TIMEOUT, r.status(), r.toString());
    assertTrue(ms >= 250 && ms < 5_000, "took " + ms + " ms for a 300 ms timeout");
  }

  @Test
  void theServersOwnDeadlineAnswersTimeout() throws IOException {
    PeerServer server = track(start(serverBuilder(TestPeers.silent())
        .defaultTimeout(Duration.ofMillis(100)).maxTimeout(Duration.ofMillis(200))));
    ForwardResult r = connect(server, ALICE).forward(new ForwardRequest(Modality.TENSOR,
        Tensor.zeros(DType.FLOAT32, 1, 1, 2)), Duration.ofSeconds(10)).join();
    assertEquals(Status.TIMEOUT, r.status(), r.toString());
    assertTrue(r.message().contains("200 ms"), "the server's cap applies: " + r.message());
    Tensor x = Tensor.zeros(DType.FLOAT32, 1, 1, 2);
    BackwardResult b = connect(server, ALICE).backward(new BackwardRequest(Modality.TENSOR, x,
        Tensor.zeros(DType.FLOAT32, 1, 1, OUTPUT_DIM)), Duration.ofSeconds(10)).join();
    assertEquals(Status.TIMEOUT, b.status(), b.toString());
    assertTrue(b.message().contains("200 ms"), "the same cap for a backward: " + b.message());
  }

  @Test
  void unservedModalitiesAreUnknown() throws IOException {
    PeerServer server = track(start(serverBuilder(BuiltinPeers.deterministic(OUTPUT_DIM))
        .modalities(Modality.TEXT)));
    ForwardResult r = connect(server, ALICE).forward(new ForwardRequest(Modality.TENSOR,
        Tensor.zeros(DType.FLOAT32, 1, 1, 2))).join();
    assertEquals(Status.UNKNOWN_MODALITY, r.status(), r.toString());
  }

  @Test
  void malformedInputsGetTheirStatusAndTheServerKeepsServing() throws IOException {
    Peer remote = connect(serve(BuiltinPeers.deterministic(OUTPUT_DIM)), ALICE);
    ForwardResult wrongType = remote.forward(new ForwardRequest(Modality.TEXT,
        Tensor.zeros(DType.FLOAT32, 1, 2))).join();
    assertEquals(Status.BAD_REQUEST, wrongType.status());
    assertEquals("input.dtype", wrongType.field());
    ForwardResult wrongRank = remote.forward(new ForwardRequest(Modality.TENSOR,
        Tensor.zeros(DType.FLOAT32, 2, 3))).join();
    assertEquals(Status.BAD_SHAPE, wrongRank.status());
    ForwardResult nan = remote.forward(new ForwardRequest(Modality.TENSOR,
        Tensor.ofFloats(new float[] {1, Float.NaN}, 1, 1, 2))).join();
    assertEquals(Status.BAD_REQUEST, nan.status());
    assertEquals("input.data", nan.field());
    ForwardResult good = remote.forward(new ForwardRequest(Modality.TENSOR,
        Tensor.zeros(DType.FLOAT32, 1, 1, 2))).join();
    assertEquals(Status.SUCCESS, good.status(), good.toString());
  }

  @Test
  void oversizedRequestsAreTooLarge() throws IOException {
    PeerServer server = track(start(serverBuilder(BuiltinPeers.deterministic(OUTPUT_DIM))
        .maxPayloadBytes(1_000)));
    Peer remote = connect(server, ALICE);
    ForwardResult r = remote.forward(new ForwardRequest(Modality.TENSOR,
        Tensor.zeros(DType.FLOAT32, 1, 10, 100))).join();
    assertEquals(Status.PAYLOAD_TOO_LARGE, r.status(), r.toString());
    assertEquals(Status.SUCCESS, remote.forward(new ForwardRequest(Modality.TENSOR,
        Tensor.zeros(DType.FLOAT32, 1, 1, 2))).join().status());
  }

  @Test
  void aPeerThatThrowsIsAnInternalError() throws IOException {
    ForwardResult r = connect(serve(TestPeers.throwing()), ALICE).forward(new ForwardRequest(
        Modality.TENSOR, Tensor.zeros(DType.FLOAT32, 1, 1, 2))).join();
    assertEquals(Status.INTERNAL_ERROR, r.status());
    assertTrue(r.message().contains("model exploded"), r.message());
  }

  @Test
  void aPeerWhoseFutureFailsIsAnInternalErrorNamingTheCause() throws IOException {
    Tensor x = Tensor.zeros(DType.FLOAT32, 1, 1, 2);
    ForwardResult failed = connect(serve(request -> CompletableFuture.failedFuture(
        new IllegalStateException("device lost"))), ALICE)
        .forward(new ForwardRequest(Modality.TENSOR, x)).join();
    assertEquals(Status.INTERNAL_ERROR, failed.status(), failed.toString());
    assertEquals("the peer failed: IllegalStateException: device lost", failed.message());
    // Failed inside a stage of its own: the stage's wrapper is taken off.
    ForwardResult staged = connect(serve(request -> CompletableFuture.supplyAsync(() -> {
      throw new ArithmeticException("overflow");
    })), ALICE).forward(new ForwardRequest(Modality.TENSOR, x)).join();
    assertEquals(Status.INTERNAL_ERROR, staged.status(), staged.toString());
    assertEquals("the peer failed: ArithmeticException: overflow", staged.message());
  }

  @Test
  void aPeerThatGivesNoFutureOrNoAnswerIsAnInternalError() throws IOException {
    Tensor x = Tensor.zeros(DType.FLOAT32, 1, 1, 2);
    ForwardResult noFuture = connect(serve(request -> null), ALICE)
        .forward(new ForwardRequest(Modality.TENSOR, x)).join();
    assertEquals(Status.INTERNAL_ERROR, noFuture.status(), noFuture.toString());
    assertEquals("the peer returned no future", noFuture.message());
    ForwardResult noAnswer = connect(serve(request -> CompletableFuture.completedFuture(null)),
        ALICE).forward(new ForwardRequest(Modality.TENSOR, x)).join();
    assertEquals(Status.INTERNAL_ERROR, noAnswer.status(), noAnswer.toString());
    assertEquals("the peer answered null", noAnswer.message());
  }

  @Test
  void aBackwardIsCheckedAndFailsAsAForwardDoes() throws IOException {
    Peer throwing = connect(serve(new Peer() {
      @Override
      public CompletableFuture<ForwardResult> forward(ForwardRequest request) {
        return CompletableFuture.completedFuture(ForwardResult.failure(Status.NOT_IMPLEMENTED,
            "only learns"));
      }

      @Override
      public CompletableFuture<BackwardResult> backward(BackwardRequest request) {
        throw new IllegalStateException("optimizer exploded");
      }
    }), ALICE);
    Tensor x = Tensor.zeros(DType.FLOAT32, 1, 2, 3);
    Tensor grad = Tensor.zeros(DType.FLOAT32, 1, 2, OUTPUT_DIM);
    BackwardResult thrown = throwing.backward(new BackwardRequest(Modality.TENSOR, x, grad))
        .join();
    assertEquals(Status.INTERNAL_ERROR, thrown.status(), thrown.toString());
    assertTrue(thrown.message().contains("optimizer exploded"), thrown.message());
    // An input the standard refuses is refused for a backward call too, before the peer.
    Peer learning = connect(serve(BuiltinPeers.deterministic(OUTPUT_DIM)), ALICE);
    BackwardResult nan = learning.backward(new BackwardRequest(Modality.TENSOR,
        Tensor.ofFloats(new float[] {1, Float.NaN, 0, 0, 0, 0}, 1, 2, 3), grad)).join();
    assertEquals(Status.BAD_REQUEST, nan.status(), nan.toString());
    assertEquals("input.data", nan.field());
    BackwardResult text = learning.backward(new BackwardRequest(Modality.TEXT, x, grad)).join();
    assertEquals(Status.BAD_REQUEST, text.status(), text.toString());
    assertEquals("input.dtype", text.field());
  }

  @Test
  void answersThatBreakTheStandardAreABadShape() throws IOException {
    Peer remote = connect(serve(TestPeers.answering(Tensor.zeros(DType.FLOAT32, 1, 1, 3))),
        ALICE);
    ForwardResult r = remote.forward(new ForwardRequest(Modality.TENSOR,
        Tensor.zeros(DType.FLOAT32, 1, 1, 2))).join();
    assertEquals(Status.BAD_SHAPE, r.status(), r.toString());
    assertEquals("output.shape", r.field());
  }

  @Test
  void aFullServerAsksCallersToBackOff() throws IOException, InterruptedException {
    CountDownLatch entered = new CountDownLatch(1);
    CompletableFuture<ForwardResult> hold = new CompletableFuture<>();
    Peer blocking = request -> {
      entered.countDown();
      return hold;
    };
    PeerServer server = track(start(serverBuilder(blocking)
        .maxConcurrentCalls(1).maxQueuedCalls(0)));
    Peer remote = connect(server, ALICE);
    ForwardRequest req = new ForwardRequest(Modality.TENSOR, Tensor.zeros(DType.FLOAT32, 1, 1, 2));
    CompletableFuture<ForwardResult> first = remote.forward(req);
    assertTrue(entered.await(10, java.util.concurrent.TimeUnit.SECONDS));
    ForwardResult second = remote.forward(req).join();
    assertEquals(Status.BACKOFF, second.status(), second.toString());
    assertTrue(second.status().retryable());
    hold.complete(ForwardResult.success(STANDARD.zeros(req.input())));
    assertEquals(Status.SUCCESS, first.join().status());
  }

  @Test
  void aClosedServerIsUnavailable() throws IOException {
    PeerServer server = serve(BuiltinPeers.deterministic(OUTPUT_DIM));
    Peer remote = connect(server, ALICE);
    ForwardRequest req = new ForwardRequest(Modality.TENSOR, Tensor.zeros(DType.FLOAT32, 1, 1, 2));
    assertEquals(Status.SUCCESS, remote.forward(req).join().status());
    server.close();
    server.close(); // idempotent
    ForwardResult r = remote.forward(req).join();
    assertEquals(Status.UNAVAILABLE, r.status(), r.toString());
  }

  /** As {@link PeerClient} says: peers from a closed client answer UNAVAILABLE, every call. */
  @Test
  void aClosedClientsPeersAreUnavailable() throws IOException {
    PeerServer server = serve(BuiltinPeers.deterministic(OUTPUT_DIM));
    PeerClient client = track(clientBuilder().standard(STANDARD).keypair(ALICE)
        .timeout(Duration.ofSeconds(10)).build());
    Peer remote = client.connect(server.endpoint());
    ForwardRequest req = new ForwardRequest(Modality.TENSOR, Tensor.zeros(DType.FLOAT32, 1, 1, 2));
    BackwardRequest grad = new BackwardRequest(Modality.TENSOR, req.input(),
        Tensor.zeros(DType.FLOAT32, 1, 1, OUTPUT_DIM));
    Duration timeout = Duration.ofSeconds(10);
    assertEquals(Status.SUCCESS, remote.forwardAndWait(req, timeout).status());
    client.close();
    Peer later = client.connect(server.endpoint());
    for (Peer p : List.of(remote, later)) {
      for (ForwardResult r : List.of(p.forwardAndWait(req, timeout), p.forward(req).join())) {
        assertEquals(Status.UNAVAILABLE, r.status(), r.toString());
        assertTrue(r.message().contains("closed"), r.toString());
      }
      for (BackwardResult r :
          List.of(p.backwardAndWait(grad, timeout), p.backward(grad).join())) {
        assertEquals(Status.UNAVAILABLE, r.status(), r.toString());
        assertTrue(r.message().contains("closed"), r.toString());
      }
    }
  }

  /** As {@link PeerClient#close} says: calls in flight are cancelled, not left to time out. */
  @Test
  void closingAClientCancelsItsCallsInFlight() throws Exception {
    PeerServer server = serve(TestPeers.silent());
    PeerClient client = track(clientBuilder().standard(STANDARD).keypair(ALICE).build());
    CompletableFuture<ForwardResult> call = client.connect(server.endpoint()).forward(
        new ForwardRequest(Modality.TENSOR, Tensor.zeros(DType.FLOAT32, 1, 1, 2)),
        Duration.ofSeconds(20));
    client.close();
    ForwardResult r = call.get(5, java.util.concurrent.TimeUnit.SECONDS);
    assertEquals(Status.CANCELLED, r.status(), r.toString());
  }

  @Test
  void cancellingACallCompletesItsFuture() throws IOException {
    Peer remote = connect(serve(TestPeers.silent()), ALICE);
    CompletableFuture<ForwardResult> f = remote.forward(new ForwardRequest(Modality.TENSOR,
        Tensor.zeros(DType.FLOAT32, 1, 1, 2)));
    assertTrue(f.cancel(true));
    assertTrue(f.isCancelled());
  }

  /** The blocking calls carry the same requests and give the same answers as the futures. */
  @Test
  void blockingCallsAnswerAsTheFuturesDo() throws IOException {
    BuiltinPeers.Deterministic peer = BuiltinPeers.deterministic(OUTPUT_DIM);
    Peer remote = connect(serve(peer), ALICE);
    Random random = new Random(SEED + 2);
    Duration timeout = Duration.ofSeconds(10);
    for (Modality m : Modality.values()) {
      for (DType t : m.inputTypes()) {
        Tensor x = input(m, t, random);
        ForwardResult r = remote.forwardAndWait(new ForwardRequest(m, x), timeout);
        assertEquals(Status.SUCCESS, r.status(), m + " " + t + ": " + r);
        assertEquals(peer.answer(x), r.output().orElseThrow(), m + " " + t);
        Tensor grad = Tensor.ofFloats(new float[x.dim(0) * x.dim(1) * OUTPUT_DIM],
            STANDARD.outputShape(x));
        BackwardResult b = remote.backwardAndWait(new BackwardRequest(m, x, grad), timeout);
        assertEquals(Status.SUCCESS, b.status(), m + " " + t + ": " + b);
      }
    }
    assertEquals(5, peer.gradientsTaken());
  }

  @Test
  void aBlockingCallToAPeerThatNeverAnswersTimesOut() throws IOException {
    Peer remote = connect(serve(TestPeers.silent()), ALICE);
    long t0 = System.nanoTime();
    ForwardResult r = remote.forwardAndWait(new ForwardRequest(Modality.TENSOR,
        Tensor.zeros(DType.FLOAT32, 1, 1, 2)), Duration.ofMillis(300));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertEquals(Status.TIMEOUT, r.status(), r.toString());
    assertTrue(ms >= 250 && ms < 5_000, "took " + ms + " ms for a 300 ms timeout");
  }

  /**
   * Whether an interrupt ends a blocking call that waits for its answer. Not over HTTP/1.1: the
   * caller's own thread is then in a socket read, which Java does not interrupt.
   */
  boolean interruptEndsTheWait() {
    return true;
  }

  /**
   * An interrupted caller gets CANCELLED at once (or, where the wait cannot be interrupted, its
   * answer or TIMEOUT at the deadline) and keeps its interrupt flag.
   */
  @Test
  void interruptingABlockingCallCancelsIt() throws Exception {
    CountDownLatch asked = new CountDownLatch(1);
    Peer remote = connect(serve(TestPeers.silent(asked)), ALICE);
    ForwardRequest req = new ForwardRequest(Modality.TENSOR, Tensor.zeros(DType.FLOAT32, 1, 1, 2));
    CompletableFuture<ForwardResult> result = new CompletableFuture<>();
    CompletableFuture<Boolean> flagAfter = new CompletableFuture<>();
    Thread caller = new Thread(() -> {
      result.complete(remote.forwardAndWait(req, Duration.ofMillis(1500)));
      flagAfter.complete(Thread.currentThread().isInterrupted());
    });
    caller.start();
    // In flight: the silent peer has the request. An interrupt before that is another test's
    // (a call not yet sent is CANCELLED); where the wait cannot be interrupted, the caller must
    // be in its read of the answer, not still writing (okio checks the flag at each write).
    assertTrue(asked.await(10, java.util.concurrent.TimeUnit.SECONDS), "the peer was asked");
    if (!interruptEndsTheWait()) {
      awaitReadingFromItsSocket(caller);
    }
    long t0 = System.nanoTime();
    caller.interrupt();
    ForwardResult r = result.get(10, java.util.concurrent.TimeUnit.SECONDS);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(flagAfter.get(5, java.util.concurrent.TimeUnit.SECONDS),
        "the caller's interrupt flag is set again");
    if (interruptEndsTheWait()) {
      assertEquals(Status.CANCELLED, r.status(), r.toString());
      assertTrue(ms < 1_000, "an interrupt ends the wait (took " + ms + " ms)");
    } else {
      assertEquals(Status.TIMEOUT, r.status(), r.toString());
    }
  }

  private static void awaitReadingFromItsSocket(Thread caller) throws InterruptedException {
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
    while (java.util.Arrays.stream(caller.getStackTrace()).noneMatch(f -> f.getMethodName()
        .equals("read") && f.getClassName().equals("sun.nio.ch.NioSocketImpl"))) {
      assertTrue(System.nanoTime() < deadline, () -> "the caller never read its answer: "
          + java.util.Arrays.toString(caller.getStackTrace()));
      Thread.sleep(5);
    }
  }

  /** A caller interrupted before it calls sends nothing and gets CANCELLED. */
  @Test
  void aBlockingCallFromAnInterruptedThreadIsCancelled() throws IOException {
    BuiltinPeers.Deterministic peer = BuiltinPeers.deterministic(OUTPUT_DIM);
    Peer remote = connect(serve(peer), ALICE);
    Tensor x = Tensor.zeros(DType.FLOAT32, 1, 2, OUTPUT_DIM);
    Thread.currentThread().interrupt();
    BackwardResult r;
    try {
      r = remote.backwardAndWait(new BackwardRequest(Modality.TENSOR, x, x), Duration.ofSeconds(5));
    } finally {
      assertTrue(Thread.interrupted(), "the flag is still set (and cleared here)");
    }
    assertEquals(Status.CANCELLED, r.status(), r.toString());
    assertEquals(0, peer.gradientsTaken(), "nothing was delivered");
  }

  @Test
  void aBlockingCallToAClosedServerIsUnavailable() throws IOException {
    PeerServer server = serve(BuiltinPeers.deterministic(OUTPUT_DIM));
    Peer remote = connect(server, ALICE);
    ForwardRequest req = new ForwardRequest(Modality.TENSOR, Tensor.zeros(DType.FLOAT32, 1, 1, 2));
    assertEquals(Status.SUCCESS, remote.forwardAndWait(req, Duration.ofSeconds(5)).status());
    server.close();
    ForwardResult r = remote.forwardAndWait(req, Duration.ofSeconds(5));
    assertEquals(Status.UNAVAILABLE, r.status(), r.toString());
  }

  /** For subclasses: the endpoint URI of an in-process name. */
  static URI inproc(String name) {
    return URI.create("inproc://" + name);
  }

  static Clock fixed(long millis) {
    return Clock.fixed(Instant.ofEpochMilli(millis), ZoneOffset.UTC);
  }
}
