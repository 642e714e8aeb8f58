package io.bittensor.neuron;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.BackwardRequest;
import io.bittensor.core.BackwardResult;
import io.bittensor.core.BlockPolicy;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Genesis;
import io.bittensor.core.Keypair;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.RejectReason;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.core.Transaction;
import io.bittensor.core.TransactionRejectedException;
import io.bittensor.core.testing.TestCertificates;
import io.bittensor.learning.Learner;
import io.bittensor.learning.NoisyTopKGate;
import io.bittensor.learning.TrainableMlp;
import io.bittensor.onnx.Mlp;
import io.bittensor.onnx.OnnxExport;
import io.bittensor.onnx.OnnxPeer;
import io.bittensor.transport.CallEvent;
import io.bittensor.transport.PeerClient;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Neurons on a real ledger over loopback HTTP/2: registration, serving, weights, following. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NeuronTest {
  static final int DIM = 32;
  static final int SEQ = 6;

  /** Token ids whose label is which of four marker tokens (ids 10..13) the row holds. */
  static LabelledBatch batch(Random random, int size) {
    long[] ids = new long[size * SEQ];
    int[] labels = new int[size * SEQ];
    for (int b = 0; b < size; b++) {
      int label = random.nextInt(4);
      for (int t = 0; t < SEQ; t++) {
        ids[b * SEQ + t] = 100 + random.nextInt(500);
        labels[b * SEQ + t] = label;
      }
      ids[b * SEQ + random.nextInt(SEQ)] = 10 + label;
    }
    return new LabelledBatch(new ForwardRequest(Modality.TEXT, Tensor.ofLongs(ids, size, SEQ)),
        labels);
  }

  /**
   * A learner's timeout for the TLS tests: a first call's handshake on a loaded machine took over
   * the default second, and these tests count successes.
   */
  private static final Duration TLS_HANDSHAKE_ROOM = Duration.ofSeconds(10);

  static Learner learner(List<Peer> peers) {
    return learner(peers, Duration.ofSeconds(1));
  }

  /** {@link #learner(List)} waiting up to {@code timeout} for its peers. */
  static Learner learner(List<Peer> peers, Duration timeout) {
    return Learner.builder()
        .timeout(timeout)
        .gate(NoisyTopKGate.builder().peers(peers).k(peers.size()).contextDim(SEQ)
            .outputDim(DIM).seed(1).build())
        .head(TrainableMlp.random(new int[] {DIM, 4}, Mlp.Activation.RELU, 1))
        .context(ids -> {
          float[] x = new float[ids.elementCount()];
          for (int i = 0; i < x.length; i++) {
            x[i] = ids.longAt(i) / 1000f;
          }
          return Tensor.ofFloats(x, ids.dim(0), ids.dim(1));
        })
        .sendGradients(false)
        .build();
  }

  /** A neuron that serves nothing, learns through the others and scores them by probes. */
  static Neuron probingValidator(LocalLedger ledger, Keypair key, Random random,
      List<LabelledBatch> validation) throws java.io.IOException {
    return Neuron.builder().keypair(key).ledger(ledger)
        .serve(Peers.failing(Status.UNAVAILABLE, "validates only"), Modality.TEXT)
        .outputDim(DIM).stake(500_000)
        .learner(NeuronTest::learner)
        .dataset(() -> batch(random, 16))
        .scoreByProbes(4, validation)
        .start();
  }

  /**
   * A key registered at another peer's address (to be paid for that peer's answers) earns nothing
   * from a neuron that requires signed answers: the server there signs with its own key, not the
   * registered one. Without the requirement, the free rider scores as the peer it points at.
   */
  @Test
  void aKeyRegisteredAtAnotherPeersAddressScoresNothingWhenAnswersMustBeSigned()
      throws Exception {
    for (boolean require : new boolean[] {true, false}) {
      Keypair validatorKey = Keypair.generate();
      Keypair freeRider = Keypair.generate();
      Random random = new Random(5);
      List<LabelledBatch> validation = List.of(batch(random, 64));
      try (LocalLedger ledger = ledger(validatorKey, freeRider);
          Neuron words = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
              .serve(Peers.bagOfWords(DIM, DIM, 5), Modality.TEXT).outputDim(DIM).start();
          Neuron validator = Neuron.builder().keypair(validatorKey).ledger(ledger)
              .serve(Peers.failing(Status.UNAVAILABLE, "validates only"), Modality.TEXT)
              .outputDim(DIM).stake(500_000).learner(NeuronTest::learner)
              .dataset(() -> batch(random, 16)).scoreByProbes(4, validation)
              .requireSignedAnswers(require).start()) {
        var rider = ledger.submit(freeRider, Transaction.register(words.endpoint(), Modality.TEXT));
        ledger.produceBlock();
        rider.get(10, TimeUnit.SECONDS);
        validator.registration().get(10, TimeUnit.SECONDS);
        assertTrue(validator.sync());
        assertTrue(validator.routed().contains(freeRider.id()), validator.routed()::toString);
        for (int i = 0; i < 60; i++) {
          assertTrue(validator.train().isPresent());
        }
        var scores = validator.probeScores();
        assertTrue(scores.get(words.id()) > 0.3, scores::toString);
        if (require) {
          assertTrue(scores.get(freeRider.id()) < 0.05, () -> "signed answers: " + scores);
        } else {
          assertTrue(scores.get(freeRider.id()) > 0.3, () -> "unsigned answers: " + scores);
        }
      }
    }
  }

  /**
   * A peer whose answers are huge for a while (its bag of words times -1e38, finite) scores 0
   * then, and as before once they are sane again: the burst drove its probe's weights to NaN,
   * and it scored 0 for good.
   */
  @Test
  void aPeerThatSentHugeAnswersIsScoredAgainOnceTheyAreSane() throws Exception {
    Keypair validatorKey = Keypair.generate();
    Random random = new Random(5);
    Peer words = Peers.bagOfWords(DIM, DIM, 5);
    java.util.concurrent.atomic.AtomicBoolean huge =
        new java.util.concurrent.atomic.AtomicBoolean();
    Peer bursting = request -> words.forward(request).thenApply(r -> {
      if (!huge.get()) {
        return r;
      }
      Tensor y = r.output().orElseThrow();
      float[] v = y.toFloatArray();
      for (int i = 0; i < v.length; i++) {
        v[i] *= -1e38f;
      }
      return ForwardResult.success(Tensor.ofFloats(v, y.shape()));
    });
    try (LocalLedger ledger = ledger(validatorKey);
        Neuron peer = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .serve(bursting, Modality.TEXT).outputDim(DIM).start();
        Neuron validator = probingValidator(ledger, validatorKey, random,
            List.of(batch(random, 64)))) {
      ledger.produceBlock();
      validator.registration().get(10, TimeUnit.SECONDS);
      assertTrue(validator.sync());
      for (int i = 0; i < 60; i++) {
        validator.train();
      }
      double before = validator.probeScores().get(peer.id());
      assertTrue(before > 0.3, "scored at first: " + before);
      huge.set(true);
      for (int i = 0; i < 5; i++) {
        validator.train();
      }
      assertEquals(0.0, validator.probeScores().get(peer.id()), "huge answers score 0");
      huge.set(false);
      assertEquals(before, validator.probeScores().get(peer.id()), 1e-9, "scored again");
    }
  }

  /**
   * After close, {@link Neuron#weights()} answers without asking the peers, in both
   * configurations: a learner's row as it was, and for a neuron that scores by probes, which
   * cannot ask them any more, no row. With probes it threw "the neuron is closed".
   */
  @Test
  void weightsAfterCloseAnswerWithoutAskingThePeers() throws Exception {
    for (boolean probing : new boolean[] {false, true}) {
      Keypair validatorKey = Keypair.generate();
      Random random = new Random(5);
      try (LocalLedger ledger = ledger(validatorKey);
          Neuron words = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
              .serve(Peers.bagOfWords(DIM, DIM, 5), Modality.TEXT).outputDim(DIM).start()) {
        Neuron.Builder b = Neuron.builder().keypair(validatorKey).ledger(ledger)
            .serve(Peers.failing(Status.UNAVAILABLE, "validates only"), Modality.TEXT)
            .outputDim(DIM).stake(500_000).learner(NeuronTest::learner)
            .dataset(() -> batch(random, 16));
        if (probing) {
          b.scoreByProbes(4, List.of(batch(random, 64)));
        }
        Neuron validator = b.start();
        java.util.Map<io.bittensor.core.PeerId, Double> open;
        try (validator) {
          ledger.produceBlock();
          validator.registration().get(10, TimeUnit.SECONDS);
          assertTrue(validator.sync());
          for (int i = 0; i < 20; i++) {
            validator.train();
          }
          open = validator.weights();
          assertTrue(open.get(words.id()) > 0, "probing " + probing + ": " + open);
        }
        assertEquals(probing ? java.util.Map.of() : open, validator.weights(),
            "probing " + probing);
      }
    }
  }

  /**
   * A neuron that serves members only answers the keys registered on the ledger, from the block
   * that registers them (its own sync plays no part); strangers never reach its peer.
   */
  @Test
  void aNeuronThatServesMembersOnlyAnswersKeysFromTheBlockThatRegistersThem() throws Exception {
    Keypair member = Keypair.generate();
    Keypair stranger = Keypair.generate();
    ForwardRequest ids = batch(new Random(2), 2).request();
    try (LocalLedger ledger = ledger(member);
        Neuron words = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .serve(Peers.bagOfWords(DIM, DIM, 5), Modality.TEXT).outputDim(DIM)
            .servesMembersOnly(true).start();
        PeerClient asMember = PeerClient.newBuilder().keypair(member).build();
        PeerClient asStranger = PeerClient.newBuilder().keypair(stranger).build()) {
      Peer fromMember = asMember.connect(words.endpoint());
      ForwardResult early = fromMember.forward(ids).join();
      assertEquals(Status.UNAUTHENTICATED, early.status(), "not registered yet");
      var joined = ledger.submit(member, Transaction.register(URI.create("http://127.0.0.1:9"),
          Modality.TEXT));
      ledger.produceBlock();
      joined.get(10, TimeUnit.SECONDS);
      assertEquals(Status.SUCCESS, fromMember.forward(ids).join().status(),
          "served from its block on, the neuron never having synced");
      ForwardResult refused = asStranger.connect(words.endpoint()).forward(ids).join();
      assertEquals(Status.UNAUTHENTICATED, refused.status(), refused::toString);
      assertEquals("caller", refused.field());
    }
  }

  /** A neuron's call listener hears the calls its server answers and those it makes. */
  /**
   * A neuron serving members only follows the ledger's blocks through a subscription, which it
   * takes off when it closes, and when it cannot start (its port is taken): a ledger that
   * outlives its neurons is not left telling every block to the ones gone.
   */
  @Test
  void aNeuronServingMembersOnlyLeavesNoSubscriptionOnTheLedger() throws Exception {
    java.util.concurrent.atomic.AtomicInteger open =
        new java.util.concurrent.atomic.AtomicInteger();
    try (LocalLedger local = ledger();
        java.net.ServerSocket taken = new java.net.ServerSocket(0, 1,
            java.net.InetAddress.getLoopbackAddress())) {
      Ledger ledger = (Ledger) Proxy.newProxyInstance(Ledger.class.getClassLoader(),
          new Class<?>[] {Ledger.class}, (proxy, method, args) -> {
            Object out = forward(local, proxy, method, args);
            if (!method.getName().equals("subscribe")) {
              return out;
            }
            open.incrementAndGet();
            Ledger.Subscription s = (Ledger.Subscription) out;
            java.util.concurrent.atomic.AtomicBoolean once =
                new java.util.concurrent.atomic.AtomicBoolean();
            return (Ledger.Subscription) () -> {
              if (once.compareAndSet(false, true)) {
                open.decrementAndGet();
              }
              s.close();
            };
          });
      Neuron.Builder members = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
          .serve(Peers.bagOfWords(DIM, DIM, 5), Modality.TEXT).outputDim(DIM)
          .servesMembersOnly(true);
      try (Neuron n = members.start()) {
        assertEquals(1, open.get(), "it follows the ledger while it serves");
      }
      assertEquals(0, open.get(), "closed, it follows no more");
      assertThrows(java.io.IOException.class, () -> members.port(taken.getLocalPort()).start());
      assertEquals(0, open.get(), "not started, it follows nothing");
    }
  }

  @Test
  void aNeuronsCallListenersHearItsServerAndItsClient() throws Exception {
    Keypair validatorKey = Keypair.generate();
    Random random = new Random(9);
    List<CallEvent> served = new java.util.concurrent.CopyOnWriteArrayList<>();
    List<CallEvent> made = new java.util.concurrent.CopyOnWriteArrayList<>();
    List<io.bittensor.transport.CallStart> started =
        new java.util.concurrent.CopyOnWriteArrayList<>();
    try (LocalLedger ledger = ledger(validatorKey);
        Neuron words = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .serve(Peers.bagOfWords(DIM, DIM, 5), Modality.TEXT).outputDim(DIM)
            .callListener(served::add).start();
        Neuron validator = Neuron.builder().keypair(validatorKey).ledger(ledger)
            .serve(Peers.failing(Status.UNAVAILABLE, "validates only"), Modality.TEXT)
            .outputDim(DIM).stake(500_000).learner(NeuronTest::learner)
            .dataset(() -> batch(random, 16)).callListenerFactory(start -> {
              started.add(start);
              return made::add;
            }).start()) {
      ledger.produceBlock();
      validator.registration().get(10, TimeUnit.SECONDS);
      assertTrue(validator.sync());
      for (int i = 0; i < 5; i++) {
        assertTrue(validator.train().isPresent());
      }
      List<CallEvent> toWords = awaitCalls(made, words, 5);
      assertEquals(5, toWords.size(), made::toString);
      assertEquals(5, started.stream().filter(c -> c.side() == CallEvent.Side.CLIENT
          && c.peer().equals(java.util.Optional.of(words.id()))).count(), started::toString);
      assertTrue(toWords.stream().allMatch(c -> c.side() == CallEvent.Side.CLIENT
          && c.kind() == CallEvent.Kind.FORWARD && c.status() == Status.SUCCESS),
          toWords::toString);
      long fromValidator = served.stream()
          .filter(c -> c.side() == CallEvent.Side.SERVER
              && c.peer().equals(java.util.Optional.of(validatorKey.id()))
              && c.status() == Status.SUCCESS)
          .count();
      assertEquals(5, fromValidator, served::toString);
    }
  }

  @Test
  void neuronsServeAndCallEachOtherOverTls() throws Exception {
    Keypair validatorKey = Keypair.generate();
    Random random = new Random(11);
    List<CallEvent> made = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (LocalLedger ledger = ledger(validatorKey);
        Neuron words = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .serve(Peers.bagOfWords(DIM, DIM, 5), Modality.TEXT).outputDim(DIM)
            .tls(TestCertificates.file("peer.key"), TestCertificates.file("peer.pem")).start();
        Neuron validator = Neuron.builder().keypair(validatorKey).ledger(ledger)
            .serve(Peers.failing(Status.UNAVAILABLE, "validates only"), Modality.TEXT)
            .outputDim(DIM).stake(500_000).learner(peers -> learner(peers, TLS_HANDSHAKE_ROOM))
            .trustedCertificates(TestCertificates.file("ca.pem"))
            .dataset(() -> batch(random, 16)).callListener(made::add).start()) {
      ledger.produceBlock();
      validator.registration().get(10, TimeUnit.SECONDS);
      assertTrue(words.endpoint().toString().startsWith("https://127.0.0.1:"), words::toString);
      assertTrue(validator.sync());
      Metagraph m = validator.metagraph().orElseThrow();
      assertEquals(words.endpoint(), m.info(m.uid(words.id()).orElseThrow()).endpoint(),
          "registered at its https endpoint");
      for (int i = 0; i < 5; i++) {
        assertTrue(validator.train().isPresent());
      }
      List<Status> toWords = awaitCalls(made, words, 5).stream().map(CallEvent::status).toList();
      assertEquals(List.of(Status.SUCCESS, Status.SUCCESS, Status.SUCCESS, Status.SUCCESS,
          Status.SUCCESS), toWords, "five signed answers over TLS");
      // A renewed certificate, without a restart: a new connection is shown the new one.
      words.reloadTls(TestCertificates.file("stranger.key"),
          TestCertificates.file("stranger.pem"));
      try (PeerClient fresh = PeerClient.newBuilder().keypair(Keypair.generate())
          .trustedCertificates(TestCertificates.file("stranger.pem")).build()) {
        assertEquals(Status.SUCCESS, fresh.connect(words.endpoint())
            .forwardAndWait(batch(random, 2).request(), Duration.ofSeconds(10)).status());
      }
    }
  }

  @Test
  void neuronsOverMutualTlsServeOnlyCallersWithATrustedCertificate() throws Exception {
    Keypair validatorKey = Keypair.generate();
    Random random = new Random(12);
    List<CallEvent> made = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (LocalLedger ledger = ledger(validatorKey);
        Neuron words = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .serve(Peers.bagOfWords(DIM, DIM, 5), Modality.TEXT).outputDim(DIM)
            .tls(TestCertificates.file("peer.key"), TestCertificates.file("peer.pem"))
            .requireClientCertificates(TestCertificates.file("ca.pem")).start();
        Neuron validator = Neuron.builder().keypair(validatorKey).ledger(ledger)
            .serve(Peers.failing(Status.UNAVAILABLE, "validates only"), Modality.TEXT)
            .outputDim(DIM).stake(500_000).learner(peers -> learner(peers, TLS_HANDSHAKE_ROOM))
            .trustedCertificates(TestCertificates.file("ca.pem"))
            .clientCertificate(TestCertificates.file("client.key"),
                TestCertificates.file("client.pem"))
            .dataset(() -> batch(random, 16)).callListener(made::add).start()) {
      ledger.produceBlock();
      validator.registration().get(10, TimeUnit.SECONDS);
      assertTrue(validator.sync());
      for (int i = 0; i < 3; i++) {
        assertTrue(validator.train().isPresent());
      }
      List<Status> toWords = awaitCalls(made, words, 3).stream().map(CallEvent::status).toList();
      assertEquals(List.of(Status.SUCCESS, Status.SUCCESS, Status.SUCCESS), toWords,
          "the validator's certificate lets it in");
      long refusedBefore = words.failedTlsHandshakes();
      try (PeerClient noCertificate = PeerClient.newBuilder().keypair(Keypair.generate())
          .trustedCertificates(TestCertificates.file("ca.pem")).build()) {
        assertEquals(Status.UNAVAILABLE, noCertificate.connect(words.endpoint())
            .forwardAndWait(batch(random, 2).request(), Duration.ofSeconds(10)).status());
      }
      assertTrue(words.failedTlsHandshakes() > refusedBefore, "the caller without a certificate");
      // A renewed client certificate is checked as it is read: a mismatched pair is refused.
      assertThrows(IllegalArgumentException.class, () -> validator.reloadClientCertificate(
          TestCertificates.file("stranger.key"), TestCertificates.file("client.pem")));
      validator.reloadClientCertificate(TestCertificates.file("client.key"),
          TestCertificates.file("client.pem"));
      assertThrows(IllegalStateException.class, () -> words.reloadClientCertificate(
          TestCertificates.file("client.key"), TestCertificates.file("client.pem")),
          "a neuron whose client shows no certificate");
      // Its server's trusted client certificates are reloaded the same way.
      words.reloadClientCertificates(TestCertificates.file("ca.pem"));
      assertThrows(IllegalArgumentException.class,
          () -> words.reloadClientCertificates(Path.of("no-such-ca.pem")));
      assertThrows(IllegalStateException.class,
          () -> validator.reloadClientCertificates(TestCertificates.file("ca.pem")),
          "a neuron whose server asks for no client certificates");
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> Neuron.builder()
          .keypair(Keypair.generate()).ledger(ledger)
          .serve(Peers.bagOfWords(DIM, DIM, 5), Modality.TEXT).outputDim(DIM)
          .requireClientCertificates(TestCertificates.file("ca.pem")).start());
      assertTrue(e.getMessage().contains("requireClientCertificates needs TLS"), e.getMessage());
    }
  }

  @Test
  void aNeuronWhoseTlsFilesDoNotReadDoesNotStart() throws Exception {
    try (LocalLedger ledger = ledger()) {
      Neuron.Builder b = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
          .serve(Peers.bagOfWords(DIM, DIM, 5), Modality.TEXT).outputDim(DIM);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> b.trustedCertificates(Path.of("no-such-ca.pem")).start());
      assertTrue(e.getMessage().contains("no-such-ca.pem"), e.getMessage());
      e = assertThrows(IllegalArgumentException.class, () -> Neuron.builder()
          .keypair(Keypair.generate()).ledger(ledger)
          .serve(Peers.bagOfWords(DIM, DIM, 5), Modality.TEXT).outputDim(DIM)
          .tls(TestCertificates.file("stranger.key"), TestCertificates.file("peer.pem"))
          .start());
      assertTrue(e.getMessage().contains("stranger.key"), e.getMessage());
    }
  }

  /**
   * The calls to {@code to} among {@code made}, once there are {@code n} (or 10 s have passed):
   * a call's future is heard as it completes, which may be just after its caller took it.
   */
  private static List<CallEvent> awaitCalls(List<CallEvent> made, Neuron to, int n)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      List<CallEvent> calls = made.stream()
          .filter(c -> c.peer().equals(java.util.Optional.of(to.id()))).toList();
      if (calls.size() >= n || System.nanoTime() > deadline) {
        return calls;
      }
      Thread.sleep(5);
    }
  }

  /**
   * The first of {@code events} that starts with {@code prefix}, once there is one (10 s at
   * most): the loop tells of its row after its block is sealed, a moment after the row is seen.
   */
  private static String awaitEvent(List<String> events, String prefix)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      java.util.Optional<String> e;
      synchronized (events) {
        e = events.stream().filter(x -> x.startsWith(prefix)).findFirst();
      }
      if (e.isPresent()) {
        return e.get();
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no event \"" + prefix + "...\" in 10 s: " + events);
      }
      Thread.sleep(5);
    }
  }

  static LocalLedger ledger(Keypair... funded) {
    Genesis.Builder g = Genesis.builder()
        .params(LedgerParams.defaults().withEpochLength(1).withWeightsRateLimit(0));
    for (Keypair k : funded) {
      g.allocate(k.id(), 1_000_000);
    }
    return LocalLedger.builder().genesis(g.build()).blocks(BlockPolicy.manual()).openInMemory();
  }

  @Test
  void registersServesLearnsAndWeighsTheInformativePeerAboveNoise() throws Exception {
    Keypair validatorKey = Keypair.generate();
    Random random = new Random(3);
    List<LabelledBatch> validation = List.of(batch(random, 64));
    try (LocalLedger ledger = ledger(validatorKey);
        Neuron words = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .serve(Peers.bagOfWords(DIM, DIM, 5), Modality.TEXT).outputDim(DIM).start();
        Neuron noise = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .serve(Peers.noise(DIM, 5), Modality.TEXT).outputDim(DIM).start();
        Neuron validator = probingValidator(ledger, validatorKey, random, validation)) {
      assertTrue(words.endpoint().toString().startsWith("http://127.0.0.1:"), words::toString);
      ledger.produceBlock();
      validator.registration().get(10, TimeUnit.SECONDS);
      assertTrue(validator.sync(), "the first sync finds the peers");
      assertEquals(List.of(words.id(), noise.id()), validator.routed());
      assertFalse(validator.sync(), "nothing changed");

      for (int i = 0; i < 60; i++) {
        assertTrue(validator.train().isPresent());
      }
      var scores = validator.probeScores();
      assertTrue(scores.get(words.id()) > 0.3, scores::toString);
      assertTrue(scores.get(noise.id()) < 0.1, scores::toString);
      // Held out: the learner's own evaluation, every example counted; a neuron that only
      // serves has none.
      var held = validator.evaluate(validation.get(0)).orElseThrow();
      assertEquals(validation.get(0).labels().length, held.rows());
      assertTrue(held.bytesReceived() > 0, "asked the peers: " + held);
      assertEquals(java.util.Optional.empty(), words.evaluate(validation.get(0)));

      var receipt = validator.setWeights().orElseThrow();
      ledger.produceBlock();
      receipt.get(10, TimeUnit.SECONDS);
      Metagraph m = ledger.metagraph();
      int v = m.uid(validatorKey.id()).orElseThrow();
      int w = m.uid(words.id()).orElseThrow();
      int n = m.uid(noise.id()).orElseThrow();
      double[] row = m.weights().toArray()[v];
      assertTrue(row[w] > row[n], () -> java.util.Arrays.toString(row));
      assertTrue(m.incentive().get(w) > m.incentive().get(n), "incentive follows the weights");
      assertEquals(500_000, m.stake(v) - m.emission(v), "staked at registration");
    }
  }

  @Test
  void aPeerJoiningLeavesWhatTheProbesLearnedAboutTheOthers() throws Exception {
    Keypair validatorKey = Keypair.generate();
    Random random = new Random(6);
    List<LabelledBatch> validation = List.of(batch(random, 64));
    try (LocalLedger ledger = ledger(validatorKey);
        Neuron words = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .serve(Peers.bagOfWords(DIM, DIM, 5), Modality.TEXT).outputDim(DIM).start();
        Neuron validator = probingValidator(ledger, validatorKey, random, validation)) {
      ledger.produceBlock();
      assertTrue(validator.sync());
      for (int i = 0; i < 60; i++) {
        validator.train();
      }
      double learned = validator.probeScores().get(words.id());
      assertTrue(learned > 0.3, "the probe learned the informative peer: " + learned);

      try (Neuron late = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
          .serve(Peers.noise(DIM, 5), Modality.TEXT).outputDim(DIM).start()) {
        ledger.produceBlock();
        assertTrue(validator.sync(), "the newcomer changes the routing");
        assertEquals(List.of(words.id(), late.id()), validator.routed());
        var scores = validator.probeScores();
        assertEquals(learned, scores.get(words.id()), 1e-9,
            "the staying peer's probe is kept, not learned again: " + scores);
        assertTrue(scores.get(late.id()) < 0.1, "the newcomer's probe starts afresh: " + scores);
      }
    }
  }

  /** Seals the neurons' registrations, syncs {@code validator} and trains it {@code batches}. */
  private static void joinAndTrain(LocalLedger ledger, Neuron validator, int batches)
      throws Exception {
    ledger.produceBlock();
    validator.registration().get(10, TimeUnit.SECONDS);
    validator.sync();
    for (int i = 0; i < batches; i++) {
      validator.train();
    }
  }

  @Test
  void whenThePegAsksForEveryPeerTheRowNamesItselfAtTheLeast() throws Exception {
    Keypair validatorKey = Keypair.generate();
    Random random = new Random(8);
    try (LocalLedger ledger = LocalLedger.builder()
            .genesis(Genesis.builder()
                .params(LedgerParams.defaults().withEpochLength(1).withWeightsRateLimit(0)
                    .withMinAllowedWeights(2))             // two peers: itself and one other
                .allocate(validatorKey.id(), 1_000_000).build())
            .blocks(BlockPolicy.manual()).openInMemory();
        Neuron words = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .serve(Peers.bagOfWords(DIM, DIM, 5), Modality.TEXT).outputDim(DIM).start();
        Neuron validator = probingValidator(ledger, validatorKey, random,
            List.of(batch(random, 64)))) {
      joinAndTrain(ledger, validator, 30);
      var receipt = validator.setWeights().orElseThrow();
      ledger.produceBlock();
      receipt.get(10, TimeUnit.SECONDS);                   // not WEIGHTS_TOO_FEW
      Metagraph m = ledger.metagraph();
      double[] row = m.weights().toArray()[m.uid(validatorKey.id()).orElseThrow()];
      double self = row[m.uid(validatorKey.id()).orElseThrow()];
      double other = row[m.uid(words.id()).orElseThrow()];
      assertTrue(self > 0 && self <= 2 * Neuron.SELF_WEIGHT, "itself at the least: " + self);
      assertEquals(1.0, other, 1e-5, "the rest on the peer it values");
    }
  }

  /**
   * A peer whose answers are finite but huge drives its probe past what floats hold (its loss
   * is NaN): it scores 0, as a peer whose answers tell nothing does, and the neuron still sets
   * its row, paying the informative peer.
   */
  @Test
  void aPeerAnsweringHugeValuesScoresNothingAndTheRowIsStillSet() throws Exception {
    Keypair validatorKey = Keypair.generate();
    Random random = new Random(9);
    Peer words = Peers.bagOfWords(DIM, DIM, 5);
    Peer huge = request -> words.forward(request).thenApply(r -> {
      Tensor y = r.output().orElseThrow();
      float[] x = y.toFloatArray();
      for (int i = 0; i < x.length; i++) {
        x[i] = x[i] * 1e30f + 1e30f;
      }
      return ForwardResult.success(Tensor.ofFloats(x, y.shape()));
    });
    try (LocalLedger ledger = ledger(validatorKey);
        Neuron quiet = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .serve(words, Modality.TEXT).outputDim(DIM).start();
        Neuron loud = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .serve(huge, Modality.TEXT).outputDim(DIM).start();
        Neuron validator = probingValidator(ledger, validatorKey, random,
            List.of(batch(random, 64)))) {
      joinAndTrain(ledger, validator, 30);
      var scores = validator.probeScores();
      assertEquals(0.0, scores.get(loud.id()), "no usable information: " + scores);
      assertTrue(scores.get(quiet.id()) > 0.3, scores::toString);
      var receipt = validator.setWeights().orElseThrow();
      ledger.produceBlock();
      receipt.get(10, TimeUnit.SECONDS);
      Metagraph m = ledger.metagraph();
      double[] row = m.weights().toArray()[m.uid(validatorKey.id()).orElseThrow()];
      assertTrue(row[m.uid(quiet.id()).orElseThrow()] > row[m.uid(loud.id()).orElseThrow()],
          () -> java.util.Arrays.toString(row));
    }
  }

  @Test
  void scoringByProbesRefusesValidationLabelsOutsideItsClasses() {
    LabelledBatch ok = batch(new Random(10), 2);
    int[] labels = ok.labels().clone();
    labels[3] = 4;
    LabelledBatch bad = new LabelledBatch(ok.request(), labels);
    var e = assertThrows(IllegalArgumentException.class,
        () -> Neuron.builder().scoreByProbes(4, List.of(ok, bad)));
    assertTrue(e.getMessage().contains("validation batch 1")
        && e.getMessage().contains("labels[3] is 4, not in [0, 4)"), e.getMessage());
  }

  /**
   * A neuron told to score by probes but given no learner is refused at start: its probes train
   * on the batches its learner trains on. It started, never scored a peer, and said only that it
   * had nothing to weigh.
   */
  @Test
  void scoringByProbesWithoutALearnerIsRefusedAtStart() throws Exception {
    Keypair key = Keypair.generate();
    try (LocalLedger ledger = ledger(key)) {
      Neuron.Builder b = Neuron.builder().keypair(key).ledger(ledger)
          .serve(Peers.bagOfWords(DIM, DIM, 5), Modality.TEXT).outputDim(DIM)
          .scoreByProbes(4, List.of(batch(new Random(1), 4)));
      var e = assertThrows(IllegalStateException.class, () -> b.start().close());
      assertTrue(e.getMessage().contains("scoring by probes needs a learner"), e.getMessage());
    }
  }

  /**
   * A training label its probes cannot take (the learner's head has more classes) is refused
   * with a message naming it, before anything trains, not an index out of bounds.
   */
  @Test
  void aTrainingLabelOutsideTheProbesClassesIsRefusedByName() throws Exception {
    Keypair validatorKey = Keypair.generate();
    Random random = new Random(11);
    LabelledBatch binary = new LabelledBatch(batch(random, 4).request(), new int[4 * SEQ]);
    try (LocalLedger ledger = ledger(validatorKey);
        Neuron words = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .serve(Peers.bagOfWords(DIM, DIM, 5), Modality.TEXT).outputDim(DIM).start();
        Neuron validator = Neuron.builder().keypair(validatorKey).ledger(ledger)
            .serve(Peers.failing(Status.UNAVAILABLE, "validates only"), Modality.TEXT)
            .outputDim(DIM).learner(NeuronTest::learner)
            .dataset(() -> new LabelledBatch(binary.request(), fill(4 * SEQ, 3)))
            .scoreByProbes(2, List.of(binary)).start()) {
      ledger.produceBlock();
      validator.sync();
      var e = assertThrows(IllegalArgumentException.class, validator::train);
      assertTrue(e.getMessage().contains("labels[0] is 3, not in [0, 2)"), e.getMessage());
      assertEquals(0, validator.trainedBatches(), "nothing trained");
    }
  }

  private static int[] fill(int n, int label) {
    int[] out = new int[n];
    java.util.Arrays.fill(out, label);
    return out;
  }

  /** A ledger with a block every 20 ms and epochs of two, where {@code funded} holds tokens. */
  private static LocalLedger everyTwentyMillis(Keypair funded) {
    return LocalLedger.builder()
        .genesis(Genesis.builder()
            .params(LedgerParams.defaults().withEpochLength(2).withWeightsRateLimit(0))
            .allocate(funded.id(), 1_000_000).build())
        .blocks(BlockPolicy.every(Duration.ofMillis(20))).openInMemory();
  }

  @Test
  void aWarmUpSetsTheFirstRowWithoutWaitingAnInterval() throws Exception {
    Keypair validatorKey = Keypair.generate();
    Random random = new Random(7);
    List<String> events = java.util.Collections.synchronizedList(new ArrayList<>());
    try (LocalLedger ledger = everyTwentyMillis(validatorKey);
        Neuron server = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .serve(Peers.bagOfWords(DIM, DIM, 1), Modality.TEXT).outputDim(DIM).start();
        Neuron validator = Neuron.builder().keypair(validatorKey).ledger(ledger)
            .serve(Peers.failing(Status.UNAVAILABLE, "validates only"), Modality.TEXT)
            .outputDim(DIM).stake(500_000)
            .learner(NeuronTest::learner).dataset(() -> batch(random, 8))
            .scoreByProbes(4, List.of(batch(random, 32)))
            .syncInterval(Duration.ofMillis(50))
            .weightInterval(Duration.ofHours(1))           // never within this test
            .warmUp(5)
            .listener((n, e) -> events.add(e.startsWith("first weights set")
                ? e + " after " + n.trainedBatches() + " batches" : e))
            .start()) {
      validator.runInBackground();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      double weight = 0;
      while (weight == 0 && System.nanoTime() < deadline) {
        Metagraph m = ledger.metagraph();
        if (m.uid(validatorKey.id()).isPresent() && m.uid(server.id()).isPresent()) {
          weight = m.weights().get(m.uid(validatorKey.id()).getAsInt(),
              m.uid(server.id()).getAsInt());
        }
        Thread.sleep(50);
      }
      assertTrue(weight > 0, "the first row came after the warm-up; events: " + events);
      assertTrue(validator.trainedBatches() >= 5, "not before the warm-up's batches");
      String first = awaitEvent(events, "first weights set in block");
      // Told on the loop's thread, which trains: the count is the one the row was set after.
      long after = Long.parseLong(first.replaceAll(".* after (\\d+) batches$", "$1"));
      assertTrue(after >= 5, "not before the warm-up's 5 batches: " + first);
    }
  }

  @Test
  void followsPeersThatJoinAndPeersThatAreReplaced() throws Exception {
    Keypair validatorKey = Keypair.generate();
    Random random = new Random(4);
    try (LocalLedger ledger = LocalLedger.builder()
            .genesis(Genesis.builder()
                .params(LedgerParams.defaults().withEpochLength(1).withMaxPeers(3)
                    .withImmunityPeriod(0).withWeightsRateLimit(0))
                .allocate(validatorKey.id(), 1_000_000).build())
            .blocks(BlockPolicy.manual()).openInMemory();
        Neuron validator = Neuron.builder().keypair(validatorKey).ledger(ledger)
            .serve(Peers.failing(Status.UNAVAILABLE, "validates only"), Modality.TEXT)
            .outputDim(DIM).stake(500_000)
            .learner(NeuronTest::learner).dataset(() -> batch(random, 8)).start();
        Neuron first = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .serve(Peers.bagOfWords(DIM, 8, 1), Modality.TEXT).outputDim(DIM).start()) {
      ledger.produceBlock();
      assertTrue(validator.sync());
      assertEquals(List.of(first.id()), validator.routed());
      Learner before = validator.learner().orElseThrow();

      try (Neuron second = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
          .serve(Peers.noise(DIM, 1), Modality.TEXT).outputDim(DIM).start()) {
        ledger.produceBlock();
        assertTrue(validator.sync(), "a new peer changes the routing");
        assertEquals(List.of(first.id(), second.id()), validator.routed());
        assertTrue(validator.learner().orElseThrow() != before, "a new learner for new peers");
        assertTrue(validator.train().orElseThrow().failedPeers().isEmpty());

        // The ledger is full: the next registration replaces the peer with the lowest score.
        try (Neuron third = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .serve(Peers.bagOfWords(DIM, 4, 2), Modality.TEXT).outputDim(DIM).start()) {
          ledger.produceBlock();
          third.registration().get(10, TimeUnit.SECONDS);
          validator.sync();
          List<?> routed = validator.routed();
          assertTrue(routed.contains(third.id()), "the newcomer is routed to");
          assertEquals(2, routed.size(), "the replaced peer is gone: " + routed);
          assertTrue(validator.train().orElseThrow().failedPeers().isEmpty(),
              "every routed peer answers");
        }
      }
    }
  }

  /**
   * A row made from a metagraph in which a peer since replaced still held its uid does not vote
   * for the newcomer at that uid: the row names the block it was made as of.
   */
  @Test
  void aRowMadeBeforeAReplacementDoesNotVoteForTheNewcomer() throws Exception {
    Keypair validatorKey = Keypair.generate();
    Random random = new Random(5);
    try (LocalLedger ledger = LocalLedger.builder()
            .genesis(Genesis.builder()
                .params(LedgerParams.defaults().withMaxPeers(3).withImmunityPeriod(0)
                    .withWeightsRateLimit(0).withMinAllowedWeights(1))
                .allocate(validatorKey.id(), 1_000_000).build())
            .blocks(BlockPolicy.manual()).openInMemory();
        Neuron validator = Neuron.builder().keypair(validatorKey).ledger(ledger)
            .serve(Peers.failing(Status.UNAVAILABLE, "validates only"), Modality.TEXT)
            .outputDim(DIM).stake(500_000)
            .learner(NeuronTest::learner).dataset(() -> batch(random, 8)).start();
        Neuron first = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .serve(Peers.bagOfWords(DIM, 8, 1), Modality.TEXT).outputDim(DIM).start();
        Neuron second = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .serve(Peers.bagOfWords(DIM, 8, 2), Modality.TEXT).outputDim(DIM).start()) {
      ledger.produceBlock();
      assertTrue(validator.sync());
      for (int i = 0; i < 4; i++) {
        validator.train().orElseThrow();
      }
      try (Neuron third = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
          .serve(Peers.noise(DIM, 3), Modality.TEXT).outputDim(DIM).start()) {
        ledger.produceBlock();
        third.registration().get(10, TimeUnit.SECONDS);
        int taken = ledger.metagraph().uid(third.id()).getAsInt();
        // The validator has not synced: its row is by the uids before the replacement.
        var receipt = validator.setWeights().orElseThrow();
        ledger.produceBlock();
        receipt.get(10, TimeUnit.SECONDS);
        Metagraph m = ledger.metagraph();
        int v = m.uid(validatorKey.id()).getAsInt();
        assertEquals(0.0, m.weights().get(v, taken), "no vote for the newcomer at uid " + taken);
        int kept = m.uid(first.id()).isPresent() ? m.uid(first.id()).getAsInt()
            : m.uid(second.id()).getAsInt();
        assertEquals(1.0, m.weights().get(v, kept), 1e-12, "the peer still there has it all");
      }
    }
  }

  /** A learner factory that fails once is asked again at the next sync, not never again. */
  @Test
  void aLearnerFactoryThatFailedIsCalledAgainAtTheNextSync() throws Exception {
    Keypair validatorKey = Keypair.generate();
    Random random = new Random(6);
    java.util.concurrent.atomic.AtomicInteger calls =
        new java.util.concurrent.atomic.AtomicInteger();
    try (LocalLedger ledger = ledger(validatorKey);
        Neuron words = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .serve(Peers.bagOfWords(DIM, 8, 1), Modality.TEXT).outputDim(DIM).start();
        Neuron validator = Neuron.builder().keypair(validatorKey).ledger(ledger)
            .serve(Peers.failing(Status.UNAVAILABLE, "validates only"), Modality.TEXT)
            .outputDim(DIM).dataset(() -> batch(random, 8))
            .learner(peers -> {
              if (calls.getAndIncrement() == 0) {
                throw new IllegalStateException("a head that did not load this time");
              }
              return learner(peers);
            }).start()) {
      ledger.produceBlock();
      assertThrows(IllegalStateException.class, validator::sync);
      validator.sync();
      assertEquals(List.of(words.id()), validator.routed());
      assertTrue(validator.learner().isPresent(), "the factory was asked again");
      assertTrue(validator.train().isPresent());
    }
  }

  /**
   * A registration at an endpoint its client cannot call (another scheme: anyone may register
   * one) is left out of the routing, and does not stop the neuron routing over the others.
   */
  @Test
  void aPeerAtAnEndpointItCannotCallIsLeftOutAndTheOthersAreRouted() throws Exception {
    Keypair validatorKey = Keypair.generate();
    Keypair odd = Keypair.generate();
    Random random = new Random(7);
    List<String> events = java.util.Collections.synchronizedList(new ArrayList<>());
    try (LocalLedger ledger = ledger(validatorKey, odd);
        Neuron validator = Neuron.builder().keypair(validatorKey).ledger(ledger)
            .serve(Peers.failing(Status.UNAVAILABLE, "validates only"), Modality.TEXT)
            .outputDim(DIM).learner(NeuronTest::learner).dataset(() -> batch(random, 8))
            .listener((n, e) -> events.add(e)).start()) {
      var rogue = ledger.submit(odd,
          Transaction.register(URI.create("ftp://odd.example:21"), Modality.TEXT));
      ledger.produceBlock();
      rogue.get(10, TimeUnit.SECONDS);
      try (Neuron words = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
          .serve(Peers.bagOfWords(DIM, 8, 1), Modality.TEXT).outputDim(DIM).start()) {
        ledger.produceBlock();
        assertTrue(validator.sync());
        assertEquals(List.of(words.id()), validator.routed());
        assertTrue(validator.train().orElseThrow().failedPeers().isEmpty());
        assertTrue(events.stream().anyMatch(e -> e.contains("ftp://odd.example:21")),
            events::toString);
      }
    }
  }

  @Test
  void aPeerRestartedOnAnotherPortMovesThereAndIsFollowed() throws Exception {
    Keypair validatorKey = Keypair.generate();
    Keypair peerKey = Keypair.generate();
    Random random = new Random(6);
    List<String> heard = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (LocalLedger ledger = ledger(validatorKey);
        Neuron validator = Neuron.builder().keypair(validatorKey).ledger(ledger)
            .serve(Peers.failing(Status.UNAVAILABLE, "validates only"), Modality.TEXT)
            .outputDim(DIM).stake(500_000).listener((n, e) -> heard.add(e))
            .learner(NeuronTest::learner).dataset(() -> batch(random, 8)).start()) {
      URI before;
      int uidBefore;
      try (Neuron peer = Neuron.builder().keypair(peerKey).ledger(ledger)
          .serve(Peers.bagOfWords(DIM, 8, 1), Modality.TEXT).outputDim(DIM).start()) {
        ledger.produceBlock();
        before = peer.endpoint();
        uidBefore = ledger.metagraph().uid(peerKey.id()).getAsInt();
        validator.sync();
        assertEquals(List.of(peerKey.id()), validator.routed());
        assertTrue(validator.train().orElseThrow().failedPeers().isEmpty());
      }
      List<String> events = java.util.Collections.synchronizedList(new ArrayList<>());
      try (Neuron again = Neuron.builder().keypair(peerKey).ledger(ledger)
          .serve(Peers.bagOfWords(DIM, 8, 1), Modality.TEXT).outputDim(DIM)
          .listener((n, e) -> events.add(e)).start()) {
        assertNotEquals(before, again.endpoint(), "served on another port");
        ledger.produceBlock();
        assertNotNull(again.registration().get(10, TimeUnit.SECONDS), "a move, not nothing");
        Metagraph m = ledger.metagraph();
        int uid = m.uid(peerKey.id()).getAsInt();
        assertEquals(again.endpoint(), m.info(uid).endpoint());
        assertEquals(uidBefore, uid, "the same peer");
        assertTrue(events.stream().anyMatch(e -> e.contains("moving the peer there")),
            events::toString);
        validator.sync();
        assertEquals(List.of(peerKey.id()), validator.routed());
        assertTrue(heard.contains("peer " + uid + " moved to " + again.endpoint()),
            heard::toString);
        assertTrue(validator.train().orElseThrow().failedPeers().isEmpty(),
            "the validator reaches it where it serves now");
      }
    }
  }

  /**
   * The builder takes each number at its edge (an output of 1, port 0 for any free one and
   * 65535, no stake, no warm-up, a back-off of 1 ms) and refuses one beyond it, naming it.
   */
  @Test
  void theBuilderTakesEachSettingAtItsEdgeAndRefusesOneBeyond() {
    Neuron.Builder b = Neuron.builder().outputDim(1).port(0).port(65535).stake(0).warmUp(0)
        .registrationBackoff(Duration.ofMillis(1), Duration.ofMillis(1));
    assertNotNull(b);
    List<org.junit.jupiter.api.function.Executable> beyond = List.of(
        () -> b.outputDim(0), () -> b.port(-1), () -> b.port(65536), () -> b.stake(-1),
        () -> b.warmUp(-1), () -> b.registrationBackoff(Duration.ZERO, Duration.ofMillis(1)),
        () -> b.registrationBackoff(Duration.ofMillis(2), Duration.ofMillis(1)));
    List<String> named = List.of("outputDim", "port", "port", "stake", "warmUp",
        "registrationBackoff", "registrationBackoff");
    for (int i = 0; i < beyond.size(); i++) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, beyond.get(i));
      assertTrue(e.getMessage().startsWith(named.get(i)), e::getMessage);
    }
  }

  /**
   * Restarted where its key is registered (the same address and modality): nothing is sent,
   * and its registration is done at once, with no receipt.
   */
  @Test
  void aPeerRestartedWhereItIsRegisteredSendsNothing() throws Exception {
    Keypair key = Keypair.generate();
    io.bittensor.transport.InProcessNetwork network =
        new io.bittensor.transport.InProcessNetwork();
    List<String> events = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (LocalLedger ledger = ledger(key)) {
      URI before;
      try (Neuron first = Neuron.builder().keypair(key).ledger(ledger).inProcess(network)
          .serve(Peers.noise(DIM, 1), Modality.TEXT).outputDim(DIM).start()) {
        ledger.produceBlock();
        assertNotNull(first.registration().get(10, TimeUnit.SECONDS));
        before = first.endpoint();
      }
      try (Neuron again = Neuron.builder().keypair(key).ledger(ledger).inProcess(network)
          .serve(Peers.noise(DIM, 1), Modality.TEXT).outputDim(DIM)
          .listener((n, e) -> events.add(e)).start()) {
        assertEquals(before, again.endpoint(), "served where it was");
        CompletableFuture<?> registration = again.registration();
        assertTrue(registration.isDone(), "nothing to wait for");
        assertNull(registration.get());
        assertEquals(0, ledger.produceBlock().transactions(), "nothing sent");
        assertTrue(events.stream().noneMatch(e -> e.contains("moving")), events::toString);
      }
    }
  }

  /** {@code ledger}, refusing every move as a ledger from before moves existed would. */
  private static Ledger refusingMoves(Ledger ledger) {
    return refusing(ledger, Transaction.Serve.class,
        new java.util.concurrent.atomic.AtomicInteger());
  }

  /**
   * {@code ledger}, but refusing every transaction of {@code kind} as a ledger that does not
   * know it, counting them in {@code refused}.
   */
  private static Ledger refusing(Ledger ledger, Class<? extends Transaction> kind,
      java.util.concurrent.atomic.AtomicInteger refused) {
    return (Ledger) Proxy.newProxyInstance(Ledger.class.getClassLoader(),
        new Class<?>[] {Ledger.class}, (proxy, method, args) -> {
          if (method.getName().equals("submit") && args.length == 1
              && args[0] instanceof SignedTransaction tx && kind.isInstance(tx.body())) {
            refused.incrementAndGet();
            return CompletableFuture.failedFuture(new TransactionRejectedException(
                RejectReason.MALFORMED, "unknown transaction type 7"));
          }
          return forward(ledger, proxy, method, args);
        });
  }

  /** What a proxy of {@code ledger} answers when it does not step in: the ledger's own. */
  private static Object forward(Ledger ledger, Object proxy, java.lang.reflect.Method method,
      Object[] args) throws Throwable {
    if (method.isDefault()) {
      return InvocationHandler.invokeDefault(proxy, method, args);
    }
    try {
      return method.invoke(ledger, args);
    } catch (java.lang.reflect.InvocationTargetException e) {
      throw e.getCause();
    }
  }

  /**
   * A neuron whose peers tell it nothing sets no row (a uniform one would pay them all), and
   * says so once rather than going quiet: an operator watching it saw the weight lines stop.
   */
  @Test
  void aNeuronWithNothingToWeighSaysSoOnce() throws Exception {
    Keypair validatorKey = Keypair.generate();
    Random random = new Random(13);
    List<String> events = java.util.Collections.synchronizedList(new ArrayList<>());
    java.util.concurrent.CountDownLatch said = new java.util.concurrent.CountDownLatch(1);
    try (LocalLedger ledger = everyTwentyMillis(validatorKey);
        Neuron server = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .serve(Peers.failing(Status.UNAVAILABLE, "down"), Modality.TEXT).outputDim(DIM)
            .start();
        Neuron validator = Neuron.builder().keypair(validatorKey).ledger(ledger)
            .serve(Peers.failing(Status.UNAVAILABLE, "validates only"), Modality.TEXT)
            .outputDim(DIM).learner(NeuronTest::learner).dataset(() -> batch(random, 8))
            .scoreByProbes(4, List.of(batch(random, 32)))
            .syncInterval(Duration.ofMillis(10))
            .weightInterval(Duration.ofMillis(20))
            .warmUp(1)
            .listener((n, e) -> {
              events.add(e);
              if (e.startsWith("no weights set")) {
                said.countDown();
              }
            })
            .start()) {
      validator.runInBackground();
      assertTrue(said.await(60, TimeUnit.SECONDS), "said nothing: " + events);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (validator.trainedBatches() < 30 && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertTrue(validator.trainedBatches() >= 30, "trained: " + events);
      List<String> quiet;
      synchronized (events) {
        quiet = events.stream().filter(e -> e.startsWith("no weights set")).toList();
      }
      assertEquals(List.of("no weights set: none of the 1 peers it routes over told it anything"
          + " (their answers failed or carried nothing), so its last row stands"), quiet,
          "once, over many intervals: " + events);
      assertTrue(events.stream().noneMatch(e -> e.contains("weights set in block")),
          events::toString);
    }
  }

  /**
   * A row not set for peers that tell it nothing is explained from the scores its probes just
   * computed: the peers are asked about the validation set once, not a second time to word the
   * message (they were asked twice at each quiet interval).
   */
  @Test
  void aRowNotSetIsExplainedWithoutAskingThePeersAgain() throws Exception {
    Keypair validatorKey = Keypair.generate();
    Random random = new Random(13);
    int validationRows = 32; // its training batches have 8: a call of 32 rows is a probe's
    java.util.concurrent.atomic.AtomicInteger probeCalls =
        new java.util.concurrent.atomic.AtomicInteger();
    Peer counting = request -> {
      if (request.input().dim(0) == validationRows) {
        probeCalls.incrementAndGet();
      }
      return CompletableFuture.completedFuture(ForwardResult.failure(Status.UNAVAILABLE, "down"));
    };
    CompletableFuture<String> said = new CompletableFuture<>();
    AtomicReference<Integer> callsWhenSaid = new AtomicReference<>();
    try (LocalLedger ledger = everyTwentyMillis(validatorKey);
        Neuron server = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .serve(counting, Modality.TEXT).outputDim(DIM).start();
        Neuron validator = Neuron.builder().keypair(validatorKey).ledger(ledger)
            .serve(Peers.failing(Status.UNAVAILABLE, "validates only"), Modality.TEXT)
            .outputDim(DIM).learner(NeuronTest::learner).dataset(() -> batch(random, 8))
            .scoreByProbes(4, List.of(batch(random, validationRows)))
            .syncInterval(Duration.ofMillis(10))
            // Only the warm-up's row is tried: one interval's calls to count.
            .weightInterval(Duration.ofHours(1))
            .warmUp(1)
            .listener((n, e) -> {
              if (e.startsWith("no weights set")) {
                callsWhenSaid.compareAndSet(null, probeCalls.get());
                said.complete(e);
              }
            })
            .start()) {
      validator.runInBackground();
      assertEquals("no weights set: none of the 1 peers it routes over told it anything"
          + " (their answers failed or carried nothing), so its last row stands",
          said.get(60, TimeUnit.SECONDS));
      assertEquals(1, callsWhenSaid.get(),
          "calls about the validation set for the row not set and its message");
    }
  }

  /**
   * A neuron that sets no row says why: one alone in the market routes over no peers yet; one
   * that neither learns nor votes, beside a peer, has nothing to weigh.
   */
  @Test
  void aNeuronThatSetsNoRowSaysWhy() throws Exception {
    Keypair first = Keypair.generate();
    try (LocalLedger ledger = everyTwentyMillis(first)) {
      assertEquals("no weights set: it routes over no peers yet", firstQuiet(ledger, first, true));
      // The first is still registered: a peer for the second to route over.
      assertEquals("no weights set: nothing to weigh yet",
          firstQuiet(ledger, Keypair.generate(), false));
    }
  }

  /** What a neuron of {@code key} (learning or not) first says of a row it did not set. */
  private static String firstQuiet(LocalLedger ledger, Keypair key, boolean learns)
      throws Exception {
    CompletableFuture<String> quiet = new CompletableFuture<>();
    Random random = new Random(16);
    Neuron.Builder b = Neuron.builder().keypair(key).ledger(ledger)
        .serve(Peers.noise(DIM, 1), Modality.TEXT).outputDim(DIM)
        .syncInterval(Duration.ofMillis(20)).weightInterval(Duration.ofMillis(20))
        .listener((n, e) -> {
          if (e.startsWith("no weights set")) {
            quiet.complete(e);
          }
        });
    if (learns) {
      b.learner(NeuronTest::learner).dataset(() -> batch(random, 8));
    }
    try (Neuron n = b.start().runInBackground()) {
      return quiet.get(30, TimeUnit.SECONDS);
    }
  }

  /**
   * A ledger down for a while is told at the 1st, 2nd, 4th, 8th ... failed step in a row, not at
   * every retry (neuron run printed a line a second while its ledger was down), and the first
   * step that succeeds after says how many failed.
   */
  @Test
  void aFailureThatLastsIsToldAtPowersOfTwoAndTheRecoveryOnce() throws Exception {
    Keypair key = Keypair.generate();
    java.util.concurrent.atomic.AtomicBoolean down =
        new java.util.concurrent.atomic.AtomicBoolean();
    java.util.concurrent.atomic.AtomicInteger failedReads =
        new java.util.concurrent.atomic.AtomicInteger();
    List<String> events = java.util.Collections.synchronizedList(new ArrayList<>());
    java.util.concurrent.CountDownLatch back = new java.util.concurrent.CountDownLatch(1);
    try (LocalLedger ledger = everyTwentyMillis(key)) {
      Ledger flaky = (Ledger) Proxy.newProxyInstance(Ledger.class.getClassLoader(),
          new Class<?>[] {Ledger.class}, (proxy, method, args) -> {
            if (method.getName().equals("metagraph") && down.get()) {
              failedReads.incrementAndGet();
              throw new io.bittensor.core.LedgerException("the ledger is down");
            }
            return forward(ledger, proxy, method, args);
          });
      try (Neuron neuron = Neuron.builder().keypair(key).ledger(flaky)
          .serve(Peers.noise(DIM, 1), Modality.TEXT).outputDim(DIM)
          .syncInterval(Duration.ofMillis(1))
          .listener((n, e) -> {
            events.add(e);
            if (e.startsWith("steps succeed again")) {
              back.countDown();
            }
          })
          .start()) {
        neuron.registration().get(10, TimeUnit.SECONDS);
        down.set(true);
        neuron.runInBackground();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (failedReads.get() < 40 && System.nanoTime() < deadline) {
          Thread.sleep(5);
        }
        down.set(false);
        assertTrue(back.await(30, TimeUnit.SECONDS), "no recovery told: " + events);
      }
    }
    List<String> told;
    String recovery;
    synchronized (events) {
      told = events.stream().filter(e -> e.startsWith("step failed")).toList();
      recovery = events.stream().filter(e -> e.startsWith("steps succeed again")).findFirst()
          .orElseThrow();
    }
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("after (\\d+) failed in a row").matcher(recovery);
    assertTrue(m.find(), recovery);
    long failed = Long.parseLong(m.group(1));
    assertTrue(failed >= 8, "failed " + failed + " times: " + events);
    List<String> expected = new ArrayList<>();
    for (long k = 1; k <= failed; k *= 2) {
      expected.add("step failed" + (k == 1 ? "" : " (" + k + " times in a row)")
          + ": io.bittensor.core.LedgerException: the ledger is down");
    }
    assertEquals(expected, told, "told at each power of two only, of " + failed);
  }

  /**
   * A first row the ledger refuses ends the warm-up: the next row waits the weight interval, and
   * is not sent again after every batch (nor the checkpoint written after every one).
   */
  @Test
  void aRefusedFirstRowIsNotSentAgainAfterEveryBatch() throws Exception {
    Keypair validatorKey = Keypair.generate();
    Random random = new Random(12);
    var rows = new java.util.concurrent.atomic.AtomicInteger();
    List<String> events = java.util.Collections.synchronizedList(new ArrayList<>());
    try (LocalLedger ledger = everyTwentyMillis(validatorKey);
        Neuron server = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .serve(Peers.bagOfWords(DIM, DIM, 1), Modality.TEXT).outputDim(DIM).start();
        Neuron validator = Neuron.builder().keypair(validatorKey)
            .ledger(refusing(ledger, Transaction.SetWeights.class, rows))
            .serve(Peers.failing(Status.UNAVAILABLE, "validates only"), Modality.TEXT)
            .outputDim(DIM).learner(NeuronTest::learner).dataset(() -> batch(random, 8))
            .syncInterval(Duration.ofMillis(10))
            .weightInterval(Duration.ofHours(1))           // never within this test
            .warmUp(1)
            .listener((n, e) -> events.add(e))
            .start()) {
      validator.runInBackground();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (validator.trainedBatches() < 30 && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertTrue(validator.trainedBatches() >= 30, "trained: " + events);
      assertEquals(1, rows.get(), "one row, refused, then the interval: " + events);
    }
  }

  /**
   * Intervals as long as {@code Duration} goes (ChronoUnit.FOREVER: sync once, set no row at
   * the interval) run the loop: it trains batch after batch, with no failure.
   */
  @Test
  void theLoopRunsWithIntervalsThatNeverComeRound() throws Exception {
    Keypair validatorKey = Keypair.generate();
    Random random = new Random(13);
    List<String> events = java.util.Collections.synchronizedList(new ArrayList<>());
    Duration forever = java.time.temporal.ChronoUnit.FOREVER.getDuration();
    try (LocalLedger ledger = everyTwentyMillis(validatorKey);
        Neuron server = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .serve(Peers.bagOfWords(DIM, DIM, 1), Modality.TEXT).outputDim(DIM).start();
        Neuron validator = Neuron.builder().keypair(validatorKey).ledger(ledger)
            .serve(Peers.failing(Status.UNAVAILABLE, "validates only"), Modality.TEXT)
            .outputDim(DIM).learner(NeuronTest::learner).dataset(() -> batch(random, 8))
            .syncInterval(forever).weightInterval(forever)
            .listener((n, e) -> events.add(e))
            .start()) {
      server.registration().get(10, TimeUnit.SECONDS);
      validator.runInBackground();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (validator.trainedBatches() < 5 && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertTrue(validator.trainedBatches() >= 5, "trained " + validator.trainedBatches()
          + " batches: " + events);
      assertTrue(events.stream().noneMatch(e -> e.startsWith("step failed")), events::toString);
    }
  }

  @Test
  void aRefusedMoveLeavesTheRestartedPeerRunningWhereItWasRegistered() throws Exception {
    Keypair peerKey = Keypair.generate();
    try (LocalLedger ledger = ledger(peerKey)) {
      try (Neuron peer = Neuron.builder().keypair(peerKey).ledger(ledger)
          .serve(Peers.bagOfWords(DIM, 8, 1), Modality.TEXT).outputDim(DIM).start()) {
        ledger.produceBlock();
        peer.registration().get(10, TimeUnit.SECONDS);
      }
      URI registered = ledger.metagraph().info(0).endpoint();
      List<String> events = java.util.Collections.synchronizedList(new ArrayList<>());
      try (Neuron again = Neuron.builder().keypair(peerKey).ledger(refusingMoves(ledger))
          .serve(Peers.bagOfWords(DIM, 8, 1), Modality.TEXT).outputDim(DIM)
          .listener((n, e) -> events.add(e)).start()) {
        assertNull(again.registration().get(10, TimeUnit.SECONDS), "completes, with no receipt");
        assertTrue(events.stream().anyMatch(e -> e.contains("the move was refused")),
            events::toString);
        assertEquals(registered, ledger.metagraph().info(0).endpoint());
      }
    }
  }

  @Test
  void theBackgroundLoopSetsWeightsAndCloseStopsServing() throws Exception {
    Keypair validatorKey = Keypair.generate();
    Random random = new Random(5);
    List<String> events = java.util.Collections.synchronizedList(new ArrayList<>());
    Genesis genesis = Genesis.builder()
        .params(LedgerParams.defaults().withEpochLength(2).withWeightsRateLimit(0))
        .allocate(validatorKey.id(), 1_000_000).build();
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis)
            .blocks(BlockPolicy.every(Duration.ofMillis(20))).openInMemory();
        Neuron server = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .serve(Peers.bagOfWords(DIM, DIM, 1), Modality.TEXT).outputDim(DIM).start();
        PeerClient client = PeerClient.newBuilder().build()) {
      Neuron validator = Neuron.builder().keypair(validatorKey).ledger(ledger)
          .serve(Peers.failing(Status.UNAVAILABLE, "validates only"), Modality.TEXT)
          .outputDim(DIM).stake(500_000)
          .learner(NeuronTest::learner).dataset(() -> batch(random, 8))
          .syncInterval(Duration.ofMillis(50)).weightInterval(Duration.ofMillis(300))
          .listener((n, e) -> events.add(e))
          .start()
          .runInBackground();
      try {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        int v = -1;
        int s = -1;
        while (System.nanoTime() < deadline) {
          Metagraph m = ledger.metagraph();
          if (m.uid(validatorKey.id()).isPresent() && m.uid(server.id()).isPresent()) {
            v = m.uid(validatorKey.id()).getAsInt();
            s = m.uid(server.id()).getAsInt();
            if (m.weights().get(v, s) > 0) {
              break;
            }
          }
          Thread.sleep(50);
        }
        assertTrue(v >= 0 && ledger.metagraph().weights().get(v, s) > 0,
            "the loop set weights; events: " + events);
      } finally {
        validator.close();
        validator.close();
      }
      assertThrows(IllegalStateException.class, validator::sync);
      Peer gone = client.connect(validator.endpoint());
      ForwardResult r = gone.forward(batch(random, 1).request(), Duration.ofSeconds(5)).join();
      assertFalse(r.isSuccess(), "a closed neuron serves no more: " + r);
      assertTrue(r.status() != Status.UNAVAILABLE || !r.message().contains("validates only"),
          r::toString);
    }
  }

  @Test
  void aNeuronMissingItsPartsNamesTheCallsThatGiveThem() throws Exception {
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> Neuron.builder().keypair(Keypair.generate()).start());
    assertEquals("a neuron needs a keypair, a ledger, a peer to serve and an outputDim; call"
        + " ledger(...), serve(peer, modality), outputDim(...) before start()", e.getMessage());
  }

  /** An ONNX model of another answer size would fail every call made to the neuron. */
  @Test
  void aNeuronServingAModelOfAnotherSizeIsRefusedBeforeItStarts() throws Exception {
    Keypair key = Keypair.generate();
    byte[] model = OnnxExport.toBytes(Mlp.random(new int[] {5, 3}, Mlp.Activation.RELU, 2),
        OnnxExport.Options.defaults().withOutputDim(7));
    try (LocalLedger ledger = ledger(key);
        OnnxPeer seven = OnnxPeer.builder().model(model).build()) {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> Neuron.builder().keypair(key).ledger(ledger).serve(seven, Modality.TENSOR)
              .outputDim(DIM).host("127.0.0.1").port(0).start());
      assertEquals("the served OnnxPeer answers 7 values a position, but the neuron's outputDim"
          + " is " + DIM + "; give outputDim(7), or serve a model of " + DIM, e.getMessage());
    }
  }

  /** A neuron that cannot register (its ledger closed) does not leave its server listening. */
  @Test
  void aNeuronThatCannotRegisterReleasesItsPort() throws Exception {
    Keypair key = Keypair.generate();
    LocalLedger closed = ledger(key);
    closed.close();
    int port;
    try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 50,
        java.net.InetAddress.getLoopbackAddress())) {
      port = probe.getLocalPort();
    }
    Neuron.Builder b = Neuron.builder().keypair(key).ledger(closed)
        .serve(Peers.noise(DIM, 1), Modality.TEXT).outputDim(DIM)
        .host("127.0.0.1").port(port);
    assertThrows(IllegalStateException.class, b::start);
    try (java.net.ServerSocket again = new java.net.ServerSocket(port, 50,
        java.net.InetAddress.getLoopbackAddress())) {
      assertEquals(port, again.getLocalPort(), "the port is free again");
    }
  }

  /**
   * Three neurons started at once on a ledger that takes one registration a block: the two
   * refused with TOO_MANY_REGISTRATIONS register again for later blocks, telling the listener,
   * until each is in, in a block of its own, with its stake.
   */
  @Test
  void neuronsRefusedByTheRegistrationCapRegisterInLaterBlocksWithTheirStake() throws Exception {
    Keypair[] keys = {Keypair.generate(), Keypair.generate(), Keypair.generate()};
    Genesis.Builder g = Genesis.builder()
        .params(LedgerParams.defaults().withMaxRegistrationsPerBlock(1));
    for (Keypair k : keys) {
      g.allocate(k.id(), 1_000_000);
    }
    List<String> events = new java.util.concurrent.CopyOnWriteArrayList<>();
    List<Neuron> neurons = new ArrayList<>();
    try (LocalLedger ledger = LocalLedger.builder().genesis(g.build())
        .blocks(BlockPolicy.manual()).openInMemory()) {
      try {
        for (int i = 0; i < keys.length; i++) {
          neurons.add(Neuron.builder().keypair(keys[i]).ledger(ledger)
              .serve(Peers.noise(DIM, i), Modality.TEXT).outputDim(DIM).stake(100_000 + i)
              .listener((n, e) -> events.add(e)).start());
        }
        sealUntilRegistered(ledger, neurons);
        java.util.Set<Long> blocks = new java.util.TreeSet<>();
        Metagraph m = ledger.metagraph();
        for (int i = 0; i < keys.length; i++) {
          blocks.add(neurons.get(i).registration().get(1, TimeUnit.SECONDS).block());
          int uid = m.uid(keys[i].id()).orElseThrow();
          assertEquals(100_000 + i, m.stake(uid), "the stake of neuron " + i);
        }
        assertEquals(3, blocks.size(), "one registration a block: " + blocks);
        assertTrue(events.stream().filter(e -> e.contains("TOO_MANY_REGISTRATIONS")).count() >= 3,
            "the second is refused once at least, the third twice: " + events);
      } finally {
        neurons.forEach(Neuron::close);
      }
    }
  }

  /**
   * Neurons refused by the cap spread their retries over later blocks, at random: 16 started
   * together on a cap of 1 are refused about 55 times on the way in (55 to 57 in three runs
   * here, at most 61 in 2,000 simulated seeds) rather than up to 15 + 14 + ... + 1 = 120, every
   * waiting one resending at every block, as before the fix (104 here).
   */
  @Test
  void neuronsWaitingOnTheRegistrationCapSpreadTheirRetriesOverLaterBlocks() throws Exception {
    int n = 16;
    Keypair[] keys = new Keypair[n];
    Genesis.Builder g = Genesis.builder()
        .params(LedgerParams.defaults().withMaxRegistrationsPerBlock(1));
    for (int i = 0; i < n; i++) {
      keys[i] = Keypair.generate();
      g.allocate(keys[i].id(), 1_000_000);
    }
    List<String> refusals = new java.util.concurrent.CopyOnWriteArrayList<>();
    List<Neuron> neurons = new ArrayList<>();
    io.bittensor.transport.InProcessNetwork network =
        new io.bittensor.transport.InProcessNetwork();
    try (LocalLedger ledger = LocalLedger.builder().genesis(g.build())
        .blocks(BlockPolicy.manual()).openInMemory()) {
      try {
        for (int i = 0; i < n; i++) {
          neurons.add(Neuron.builder().keypair(keys[i]).ledger(ledger).inProcess(network)
              .serve(Peers.noise(DIM, i), Modality.TEXT).outputDim(DIM)
              .retryRandom(new Random(i)).listener((neuron, e) -> {
                if (e.startsWith("registration refused")) {
                  refusals.add(e);
                }
              }).start());
        }
        sealUntilRegistered(ledger, neurons);
        java.util.Set<Long> blocks = new java.util.TreeSet<>();
        for (Neuron x : neurons) {
          blocks.add(x.registration().get(1, TimeUnit.SECONDS).block());
        }
        assertEquals(n, blocks.size(), "one registration a block: " + blocks);
        java.util.Map<Long, Integer> byBlock = new java.util.TreeMap<>();
        java.util.regex.Pattern block = java.util.regex.Pattern.compile("block (\\d+) already");
        for (String e : refusals) {
          java.util.regex.Matcher m = block.matcher(e);
          byBlock.merge(m.find() ? Long.parseLong(m.group(1)) : -1L, 1, Integer::sum);
        }
        assertTrue(refusals.size() < 80, refusals.size() + " refusals, by block: " + byBlock);
      } finally {
        neurons.forEach(Neuron::close);
      }
    }
  }

  /**
   * Neurons refused by the cap on a ledger that seals no blocks resend on the back-off alone, 40
   * ms doubling to 200 ms here: each delay is drawn from [d/2, d], so that neurons refused
   * together do not resend in step, and each resend comes once its delay has passed. The
   * back-off had no jitter: every neuron waited exactly 40, 80, 160 ms.
   */
  @Test
  void neuronsRefusedByTheCapResendOnAJitteredBackOffWhenNoBlockComes() throws Exception {
    int n = 8;
    int attempts = 4;
    Keypair filler = Keypair.generate();
    Keypair[] keys = new Keypair[n];
    Genesis.Builder g = Genesis.builder()
        .params(LedgerParams.defaults().withMaxRegistrationsPerBlock(1))
        .allocate(filler.id(), 1_000_000);
    for (int i = 0; i < n; i++) {
      keys[i] = Keypair.generate();
      g.allocate(keys[i].id(), 1_000_000);
    }
    // Per neuron, per refusal: when it was heard (ns) and the delay drawn (ms).
    List<List<long[]>> refusals = new ArrayList<>();
    CountDownLatch refusedEnough = new CountDownLatch(n);
    java.util.regex.Pattern delay = java.util.regex.Pattern.compile("in (\\d+) ms should none");
    List<Neuron> neurons = new ArrayList<>();
    io.bittensor.transport.InProcessNetwork network =
        new io.bittensor.transport.InProcessNetwork();
    try (LocalLedger ledger = LocalLedger.builder().genesis(g.build())
        .blocks(BlockPolicy.manual()).openInMemory()) {
      // The block being built takes its one registration, and no block is ever sealed.
      ledger.submit(SignedTransaction.sign(filler, ledger.chainId(), 0,
          Transaction.register(URI.create("http://127.0.0.1:1"), Modality.TEXT)));
      try {
        for (int i = 0; i < n; i++) {
          List<long[]> mine = new java.util.concurrent.CopyOnWriteArrayList<>();
          refusals.add(mine);
          neurons.add(Neuron.builder().keypair(keys[i]).ledger(ledger).inProcess(network)
              .serve(Peers.noise(DIM, i), Modality.TEXT).outputDim(DIM)
              .retryRandom(new Random(i))
              .registrationBackoff(Duration.ofMillis(40), Duration.ofMillis(200))
              .listener((neuron, e) -> {
                java.util.regex.Matcher m = delay.matcher(e);
                if (e.startsWith("registration refused") && m.find()) {
                  mine.add(new long[] {System.nanoTime(), Long.parseLong(m.group(1))});
                  if (mine.size() == attempts) {
                    refusedEnough.countDown();
                  }
                }
              }).start());
        }
        assertTrue(refusedEnough.await(20, TimeUnit.SECONDS), "refusals: " + refusals.size());
      } finally {
        neurons.forEach(Neuron::close);
      }
    }
    java.util.Set<Long> firstDelays = new java.util.TreeSet<>();
    for (int i = 0; i < n; i++) {
      List<long[]> mine = refusals.get(i);
      for (int k = 0; k < attempts; k++) {
        long d = Math.min(200, 40L << k);
        long drawn = mine.get(k)[1];
        assertTrue(drawn >= d / 2 && drawn <= d,
            "neuron " + i + ", refusal " + (k + 1) + ": " + drawn + " ms, not in [d/2, d] of " + d);
        if (k + 1 < attempts) {
          long waited = TimeUnit.NANOSECONDS.toMillis(mine.get(k + 1)[0] - mine.get(k)[0]);
          // Its timer starts just before the refusal is heard: some slack below, for a busy box.
          assertTrue(waited >= drawn - 15 && waited <= drawn + 2_000,
              "neuron " + i + " resent " + waited + " ms after refusal " + (k + 1)
                  + ", drawn " + drawn + " ms");
        }
      }
      firstDelays.add(mine.get(0)[1]);
    }
    assertTrue(firstDelays.size() >= n / 2,
        "the first back-off of " + n + " neurons, spread: " + firstDelays);
  }

  /** Seals a block every 20 ms until every neuron's registration is settled, or 30 s pass. */
  private static void sealUntilRegistered(LocalLedger ledger, List<Neuron> neurons)
      throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (neurons.stream().anyMatch(x -> !x.registration().isDone())
        && System.nanoTime() < deadline) {
      ledger.produceBlock();
      Thread.sleep(20);
    }
  }

  /** Closed while it waits to register again for a later block: its registration fails. */
  @Test
  void aNeuronClosedWhileWaitingToRegisterAgainFailsItsRegistration() throws Exception {
    Keypair first = Keypair.generate();
    Keypair second = Keypair.generate();
    try (LocalLedger ledger = LocalLedger.builder()
        .genesis(Genesis.builder()
            .params(LedgerParams.defaults().withMaxRegistrationsPerBlock(1))
            .allocate(first.id(), 1_000_000).allocate(second.id(), 1_000_000).build())
        .blocks(BlockPolicy.manual()).openInMemory();
        Neuron in = Neuron.builder().keypair(first).ledger(ledger)
            .serve(Peers.noise(DIM, 1), Modality.TEXT).outputDim(DIM).start()) {
      CountDownLatch waits = new CountDownLatch(1);
      Neuron refused = Neuron.builder().keypair(second).ledger(ledger)
          .serve(Peers.noise(DIM, 2), Modality.TEXT).outputDim(DIM)
          .listener((n, event) -> {
            if (event.startsWith("registration refused")) {
              waits.countDown();
            }
          })
          .start();
      assertTrue(waits.await(10, TimeUnit.SECONDS), "refused by the cap, it waits");
      refused.close();
      assertTrue(refused.registration().isCompletedExceptionally(),
          "failed as close returned, not at its retry half a second or more on");
      java.util.concurrent.ExecutionException e = assertThrows(
          java.util.concurrent.ExecutionException.class,
          () -> refused.registration().get(10, TimeUnit.SECONDS));
      assertTrue(e.getMessage().contains("closed"), e::getMessage);
      ledger.produceBlock();
      assertTrue(in.registration().isDone());
      Thread.sleep(100);
      assertTrue(ledger.metagraph().uid(second.id()).isEmpty(), "not registered after close");
    }
  }

  /**
   * A registration refused for another reason (the burn exceeds the balance) fails at once, and
   * the loop ends telling so: the ledger answered, so it is not read again.
   */
  @Test
  void aRegistrationRefusedForAnotherReasonIsNotSentAgain() throws Exception {
    Keypair key = Keypair.generate();
    List<String> events = new java.util.concurrent.CopyOnWriteArrayList<>();
    CountDownLatch told = new CountDownLatch(1);
    try (LocalLedger ledger = LocalLedger.builder()
        .genesis(Genesis.builder()
            .params(LedgerParams.defaults().withMaxRegistrationsPerBlock(1)
                .withRegistrationBurn(2_000))
            .allocate(key.id(), 1_000).build())
        .blocks(BlockPolicy.manual()).openInMemory();
        Neuron n = Neuron.builder().keypair(key).ledger(ledger)
            .serve(Peers.noise(DIM, 1), Modality.TEXT).outputDim(DIM)
            .listener((neuron, e) -> {
              events.add(e);
              told.countDown();
            }).start()) {
      java.util.concurrent.ExecutionException e = assertThrows(
          java.util.concurrent.ExecutionException.class,
          () -> n.registration().get(10, TimeUnit.SECONDS));
      TransactionRejectedException r = (TransactionRejectedException) e.getCause();
      assertEquals(RejectReason.INSUFFICIENT_BALANCE, r.reason());
      assertEquals(List.of(), events);
      // Final, as before: the loop tells of it and ends, not reading the ledger again.
      n.runInBackground();
      assertTrue(told.await(30, TimeUnit.SECONDS), events::toString);
      assertEquals(List.of("registration failed: " + r), events);
    }
  }

  /** Closed while its registration waits for a block: the loop says nothing failed. */
  @Test
  void aNeuronClosedBeforeItsRegistrationSealedReportsNoFailure() throws Exception {
    Keypair key = Keypair.generate();
    List<String> heard = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (LocalLedger ledger = ledger(key)) {
      Neuron n = Neuron.builder().keypair(key).ledger(ledger)
          .serve(Peers.noise(DIM, 1), Modality.TEXT).outputDim(DIM)
          .listener((neuron, event) -> heard.add(event))
          .start();
      n.runInBackground(); // waits for the registration's block, which never comes
      Thread.sleep(200); // time for the loop to be waiting (a close before it is no test)
      n.close();
      assertFalse(n.registration().isDone(), "never sealed, never failed");
      assertTrue(heard.stream().noneMatch(e -> e.startsWith("registration failed")),
          heard::toString);
    }
  }

  /**
   * A step waiting on a peer that does not answer (a learner and a client that would wait ten
   * minutes) is cut short by close: close returns at once, the loop's thread has ended when it
   * does, and the checkpoint is saved then.
   */
  @Test
  void closeCutsShortAStepWaitingOnAPeerAndReturnsWithTheLoopStopped(@TempDir Path dir)
      throws Exception {
    Keypair key = Keypair.generate();
    Duration patient = Duration.ofMinutes(10);
    CountDownLatch asked = new CountDownLatch(1);
    CompletableFuture<ForwardResult> answer = new CompletableFuture<>(); // not before close
    AtomicReference<Thread> loop = new AtomicReference<>();
    List<String> heard = new java.util.concurrent.CopyOnWriteArrayList<>();
    Random random = new Random(4);
    try (LocalLedger ledger = ledger(key);
        Neuron silent = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .serve(request -> {
              asked.countDown();
              return answer;
            }, Modality.TEXT)
            .outputDim(DIM).start()) {
      Neuron n = Neuron.builder().keypair(key).ledger(ledger)
          .serve(Peers.failing(Status.UNAVAILABLE, "validates only"), Modality.TEXT)
          .outputDim(DIM).stake(500_000)
          .learner(peers -> learner(peers, patient)).timeout(patient)
          .dataset(() -> {
            loop.set(Thread.currentThread());
            return batch(random, 8);
          })
          .weightInterval(Duration.ofHours(1))
          .checkpoints(dir)
          .listener((neuron, event) -> heard.add(event))
          .start();
      try {
        ledger.produceBlock();
        n.registration().get(10, TimeUnit.SECONDS);
        n.runInBackground();
        assertTrue(asked.await(60, TimeUnit.SECONDS), heard::toString);
        CompletableFuture<Void> closing = CompletableFuture.runAsync(n::close);
        try {
          closing.get(20, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
          throw new AssertionError("close waited for the peer's answer; the loop is at "
              + java.util.Arrays.toString(loop.get().getStackTrace()), e);
        }
        assertFalse(loop.get().isAlive(), "close returned with the loop still running");
        assertTrue(java.nio.file.Files.exists(dir.resolve(Neuron.CHECKPOINT_FILE)),
            heard::toString);
        assertTrue(heard.stream().noneMatch(e -> e.startsWith("checkpoint not saved")),
            heard::toString);
      } finally {
        answer.complete(ForwardResult.failure(Status.UNAVAILABLE, "released after the test"));
        n.close();
      }
    }
  }

  /**
   * A neuron given its client, an endpoint to advertise, a filter and a weight source uses each:
   * it registers the advertised endpoint, routes over the peers the filter accepts only, calls
   * them through the client, which stays the caller's (it still calls after the neuron closed,
   * and the neuron will not reload its certificate), and weighs them by the source given; with
   * the consensus peg at exactly their number, its row names them and not itself.
   */
  @Test
  void aNeuronUsesTheClientEndpointFilterAndWeightSourceItIsGiven() throws Exception {
    Keypair key = Keypair.generate();
    Random random = new Random(12);
    io.bittensor.transport.InProcessNetwork network =
        new io.bittensor.transport.InProcessNetwork();
    URI advertised = URI.create("inproc://validator-as-advertised");
    try (LocalLedger ledger = LocalLedger.builder()
            .genesis(Genesis.builder()
                .params(LedgerParams.defaults().withEpochLength(1).withWeightsRateLimit(0)
                    .withMinAllowedWeights(2))             // as many as the peers it routes over
                .allocate(key.id(), 1_000_000).build())
            .blocks(BlockPolicy.manual()).openInMemory();
        PeerClient client = PeerClient.newBuilder().keypair(key).inProcess(network).build();
        Neuron words = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .inProcess(network).serve(Peers.bagOfWords(DIM, DIM, 5), Modality.TEXT)
            .outputDim(DIM).start();
        Neuron noise = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .inProcess(network).serve(Peers.noise(DIM, 5), Modality.TEXT).outputDim(DIM).start();
        Neuron left = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .inProcess(network).serve(Peers.noise(DIM, 6), Modality.TEXT).outputDim(DIM).start()) {
      Peer validates = Peers.failing(Status.UNAVAILABLE, "validates only");
      Neuron validator = Neuron.builder().keypair(key).ledger(ledger).inProcess(network)
          .serve(validates, Modality.TEXT).outputDim(DIM).client(client).advertise(advertised)
          .routeTo(info -> !info.id().equals(left.id()))
          .learner(NeuronTest::learner).dataset(() -> batch(random, 8))
          .weightSource(io.bittensor.learning.WeightSource.GATE_IMPORTANCE).start();
      try {
        ledger.produceBlock();
        validator.registration().get(10, TimeUnit.SECONDS);
        Metagraph m = ledger.metagraph();
        assertEquals(advertised, m.info(m.uid(key.id()).orElseThrow()).endpoint());
        assertNotEquals(advertised, validator.endpoint());
        assertTrue(validator.uid().isEmpty(), "not synced yet");
        assertSame(validates, validator.served());
        assertTrue(validator.toString().endsWith(" serving failing peer (UNAVAILABLE: validates"
            + " only) at " + validator.endpoint() + "]"), validator::toString);
        assertTrue(validator.sync());
        assertEquals(m.uid(key.id()), validator.uid());
        assertEquals(List.of(words.id(), noise.id()), validator.routed());
        for (int i = 0; i < 5; i++) {
          assertTrue(validator.train().isPresent());
        }
        Learner learner = validator.learner().orElseThrow();
        double[] importance = learner.weights(io.bittensor.learning.WeightSource.GATE_IMPORTANCE,
            2).toArray();
        double[] pruning = learner.weights(io.bittensor.learning.WeightSource.PRUNING_SCORE, 2)
            .toArray();
        assertFalse(java.util.Arrays.equals(importance, pruning), "the sources differ here");
        var row = validator.weights();
        assertEquals(java.util.Set.of(words.id(), noise.id()), row.keySet(),
            "the peg is met by the others: the row does not name itself");
        assertEquals(importance[0], row.get(words.id()), 1e-12, row::toString);
        assertEquals(importance[1], row.get(noise.id()), 1e-12, row::toString);
        var e = assertThrows(IllegalStateException.class,
            () -> validator.reloadClientCertificate(Path.of("key.pem"), Path.of("chain.pem")));
        assertTrue(e.getMessage().contains("client of the caller's"), e.getMessage());
      } finally {
        validator.close();
      }
      // Closed, it starts no step: each says so rather than calling peers or the ledger.
      LabelledBatch held = batch(random, 2);
      List<org.junit.jupiter.api.function.Executable> steps = List.of(validator::sync,
          validator::train, validator::setWeights, validator::probeScores,
          () -> validator.evaluate(held), validator::runInBackground);
      for (var step : steps) {
        var closed = assertThrows(IllegalStateException.class, step);
        assertEquals("the neuron is closed", closed.getMessage());
      }
      ForwardResult after = client.connect(infoOf(ledger, words))
          .forward(batch(random, 1).request(), Duration.ofSeconds(10)).join();
      assertTrue(after.isSuccess(), "the caller's client is not closed with the neuron: " + after);
    }
  }

  private static io.bittensor.core.PeerInfo infoOf(LocalLedger ledger, Neuron n) throws Exception {
    Metagraph m = ledger.metagraph();
    return m.info(m.uid(n.id()).orElseThrow());
  }

  /**
   * Through a client of the caller's that takes answers of any size, a peer answering fewer
   * values than the neuron's size scores nothing by its probe (its answers count as failed, not
   * read past their end), while the peer of the right size is scored as ever.
   */
  @Test
  void throughAClientOfAnySizeAnAnswerOfAnotherSizeScoresNothing() throws Exception {
    Keypair key = Keypair.generate();
    Random random = new Random(17);
    io.bittensor.transport.InProcessNetwork network =
        new io.bittensor.transport.InProcessNetwork();
    try (LocalLedger ledger = ledger(key);
        PeerClient anySize = PeerClient.newBuilder().keypair(key).inProcess(network).build();
        Neuron words = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .inProcess(network).serve(Peers.bagOfWords(DIM, DIM, 5), Modality.TEXT)
            .outputDim(DIM).start();
        Neuron narrow = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .inProcess(network).serve(Peers.bagOfWords(DIM - 8, DIM - 8, 5), Modality.TEXT)
            .outputDim(DIM - 8).start();
        Neuron validator = Neuron.builder().keypair(key).ledger(ledger).inProcess(network)
            .serve(Peers.failing(Status.UNAVAILABLE, "validates only"), Modality.TEXT)
            .outputDim(DIM).client(anySize).learner(NeuronTest::learner)
            .dataset(() -> batch(random, 16)).scoreByProbes(4, List.of(batch(random, 64)))
            .start()) {
      joinAndTrain(ledger, validator, 30);
      var scores = validator.probeScores();
      assertEquals(0.0, scores.get(narrow.id()), scores::toString);
      assertTrue(scores.get(words.id()) > 0.3, scores::toString);
    }
  }

  /** A checkpoint folder that cannot be made (a file is in its way) stops the start, naming it. */
  @Test
  void aCheckpointFolderThatCannotBeMadeStopsTheStartNamingIt(@TempDir Path dir) throws Exception {
    Path folder = java.nio.file.Files.writeString(dir.resolve("a-file"), "in the way")
        .resolve("checkpoints");
    Keypair key = Keypair.generate();
    try (LocalLedger ledger = ledger(key)) {
      var e = assertThrows(java.io.IOException.class, () -> Neuron.builder().keypair(key)
          .ledger(ledger).serve(Peers.bagOfWords(DIM, DIM, 5), Modality.TEXT).outputDim(DIM)
          .checkpoints(folder).start());
      assertTrue(e.getMessage().startsWith("cannot create the checkpoint folder " + folder),
          e.getMessage());
      ledger.produceBlock();
      assertTrue(ledger.metagraph().uid(key.id()).isEmpty(), "nothing was sent to the ledger");
    }
  }

  /**
   * A neuron started while its ledger cannot be read (its first three reads fail, as a remote
   * ledger's server restarting) reads it again after its back-off, registers once it can, and
   * its loop goes on to set weights; the listener hears the 1st and 2nd failure, and the block
   * the registration landed in. Before, the first failure failed the registration for good and
   * the loop ended, saying "registration failed".
   */
  @Test
  void aNeuronStartedWhileItsLedgerCannotBeReadRegistersOnceItCanAndSetsWeights()
      throws Exception {
    Keypair key = Keypair.generate();
    java.util.concurrent.atomic.AtomicInteger toFail =
        new java.util.concurrent.atomic.AtomicInteger(3);
    CountDownLatch rowSet = new CountDownLatch(1);
    List<String> events = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (LocalLedger local = everyTwentyMillis(key);
        Neuron words = Neuron.builder().keypair(Keypair.generate()).ledger(local)
            .serve(Peers.bagOfWords(DIM, DIM, 5), Modality.TEXT).outputDim(DIM).start()) {
      words.registration().get(30, TimeUnit.SECONDS);
      Ledger restarting = (Ledger) Proxy.newProxyInstance(Ledger.class.getClassLoader(),
          new Class<?>[] {Ledger.class}, (proxy, method, args) -> {
            if (method.getName().equals("metagraph")
                && toFail.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
              throw new io.bittensor.core.LedgerException("down");
            }
            return forward(local, proxy, method, args);
          });
      try (Neuron n = votingFor(words, key, restarting, events, rowSet)) {
        assertTrue(rowSet.await(30, TimeUnit.SECONDS), "no row set: " + events);
        long block = n.registration().get(10, TimeUnit.SECONDS).block();
        Metagraph m = local.metagraph();
        int uid = m.uid(key.id()).orElseThrow();
        assertEquals(1_000, m.stake(uid) - m.emission(uid), "with its stake");
        assertEquals(1.0, m.weights().get(uid, m.uid(words.id()).orElseThrow()), 1e-12);
        assertEquals(0, toFail.get());
        List<String> told = events.stream().filter(e -> e.startsWith("regist")).toList();
        assertEquals(3, told.size(), told::toString);
        assertTrue(told.get(0).startsWith("registration could not read the ledger: down;"
            + " reading it again in "), told.get(0));
        assertTrue(told.get(1).startsWith("registration could not read the ledger (2 times in a"
            + " row): down; reading it again in "), told.get(1));
        assertEquals("registered in block " + block + " at attempt 4", told.get(2));
      }
    }
  }

  /**
   * A noise neuron of {@code key} on {@code ledger}, staking 1000 and voting all for {@code
   * words}, with a registration back-off of 1 to 4 ms, running: {@code events} gets what it
   * tells, and {@code rowSet} counts down at its first row.
   */
  private static Neuron votingFor(Neuron words, Keypair key, Ledger ledger, List<String> events,
      CountDownLatch rowSet) throws Exception {
    return Neuron.builder().keypair(key).ledger(ledger)
        .serve(Peers.noise(DIM, 1), Modality.TEXT).outputDim(DIM).stake(1_000)
        .registrationBackoff(Duration.ofMillis(1), Duration.ofMillis(4))
        .votes(m -> java.util.Map.of(words.id(), 1.0))
        .syncInterval(Duration.ofMillis(20)).weightInterval(Duration.ofMillis(50))
        .listener((neuron, e) -> {
          events.add(e);
          if (e.contains("weights set in block")) {
            rowSet.countDown();
          }
        })
        .start()
        .runInBackground();
  }

  /**
   * A neuron whose registration's answer is lost ("may or may not have arrived"), the
   * registration having landed or been lost on its way, settles it from the ledger: registered
   * once, with its stake, its loop sets weights. Before, the unknown outcome failed the
   * registration for good and the loop ended, saying "registration failed".
   */
  @Test
  void aRegistrationWhoseAnswerIsLostIsSettledFromTheLedgerAndTheNeuronSetsWeights()
      throws Exception {
    for (boolean lands : new boolean[] {true, false}) {
      Keypair key = Keypair.generate();
      java.util.concurrent.atomic.AtomicInteger toLose =
          new java.util.concurrent.atomic.AtomicInteger(1);
      List<SignedTransaction> registrations = new java.util.concurrent.CopyOnWriteArrayList<>();
      CountDownLatch rowSet = new CountDownLatch(1);
      List<String> events = new java.util.concurrent.CopyOnWriteArrayList<>();
      try (LocalLedger local = everyTwentyMillis(key);
          Neuron words = Neuron.builder().keypair(Keypair.generate()).ledger(local)
              .serve(Peers.bagOfWords(DIM, DIM, 5), Modality.TEXT).outputDim(DIM).start()) {
        words.registration().get(30, TimeUnit.SECONDS);
        Ledger broken = (Ledger) Proxy.newProxyInstance(Ledger.class.getClassLoader(),
            new Class<?>[] {Ledger.class}, (proxy, method, args) -> {
              if (method.getName().equals("submit") && args.length == 1
                  && args[0] instanceof SignedTransaction tx
                  && tx.body() instanceof Transaction.Register) {
                registrations.add(tx);
                if (toLose.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                  if (lands) {
                    local.submit(tx);
                  }
                  return CompletableFuture.failedFuture(new io.bittensor.core.LedgerException(
                      "stream was reset; transaction " + tx.hash().toShortHex()
                          + " may or may not have arrived: check nonce " + tx.nonce()));
                }
              }
              return forward(local, proxy, method, args);
            });
        try (Neuron n = votingFor(words, key, broken, events, rowSet)) {
          assertTrue(rowSet.await(30, TimeUnit.SECONDS), "lands " + lands + ": no row set: "
              + events);
          Metagraph m = local.metagraph();
          int uid = m.uid(key.id()).orElseThrow();
          assertEquals(1_000, m.stake(uid) - m.emission(uid), "with its stake once: " + events);
          assertEquals(lands ? 1 : 2, registrations.size(), "lands " + lands + ": "
              + registrations);
          assertEquals(0, registrations.get(registrations.size() - 1).nonce(), "nonce 0 each");
          assertTrue(events.stream().noneMatch(e -> e.startsWith("registration failed")),
              events::toString);
          assertTrue(events.contains(lands ? "registration landed (uid " + uid + "), its stake"
              + " did not: staking again with nonce 1"
              : "registration did not land: registering again with nonce 0"), events::toString);
        }
      }
    }
  }

  /**
   * Closed while its registration waits out the back-off for a ledger that cannot be read (ten
   * minutes): close returns at once, the registration fails saying the neuron closed, and the
   * loop, which waited for it, tells of no failure.
   */
  @Test
  void closeDuringTheBackOffForAnUnreadableLedgerEndsItAtOnce() throws Exception {
    Keypair key = Keypair.generate();
    CountDownLatch waits = new CountDownLatch(1);
    List<String> events = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (LocalLedger local = ledger(key)) {
      Ledger down = (Ledger) Proxy.newProxyInstance(Ledger.class.getClassLoader(),
          new Class<?>[] {Ledger.class}, (proxy, method, args) -> {
            if (method.getName().equals("metagraph")) {
              throw new io.bittensor.core.LedgerException("down");
            }
            return forward(local, proxy, method, args);
          });
      Neuron n = Neuron.builder().keypair(key).ledger(down)
          .serve(Peers.noise(DIM, 1), Modality.TEXT).outputDim(DIM)
          .registrationBackoff(Duration.ofMinutes(10), Duration.ofMinutes(10))
          .listener((neuron, e) -> {
            events.add(e);
            waits.countDown();
          })
          .start()
          .runInBackground();
      assertTrue(waits.await(30, TimeUnit.SECONDS), "told of the first failure");
      long began = System.nanoTime();
      n.close();
      long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began);
      assertTrue(tookMs < 5_000, "close took " + tookMs + " ms");
      assertTrue(n.registration().isCompletedExceptionally(), "failed as close returned");
      var e = assertThrows(java.util.concurrent.ExecutionException.class,
          () -> n.registration().get(10, TimeUnit.SECONDS));
      assertTrue(e.getCause().getMessage().startsWith("the neuron closed while its registration"
          + " waited"), e.getCause()::getMessage);
      assertEquals(1, events.size(), "no failure told by the loop: " + events);
      assertTrue(events.get(0).startsWith("registration could not read the ledger: down"),
          events::toString);
    }
  }

  /** Votes of 0 for every peer are no row: nothing is sent, rather than a row of zeros. */
  @Test
  void votesOfNothingSendNoRow() throws Exception {
    Keypair key = Keypair.generate();
    try (LocalLedger ledger = ledger(key);
        Neuron words = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .serve(Peers.bagOfWords(DIM, DIM, 5), Modality.TEXT).outputDim(DIM).start();
        Neuron voter = Neuron.builder().keypair(key).ledger(ledger)
            .serve(Peers.failing(Status.UNAVAILABLE, "votes only"), Modality.TEXT)
            .outputDim(DIM).votes(m -> java.util.Map.of(words.id(), 0.0)).start()) {
      ledger.produceBlock();
      voter.registration().get(10, TimeUnit.SECONDS);
      voter.sync();
      assertEquals(java.util.Map.of(words.id(), 0.0), voter.weights());
      assertTrue(voter.setWeights().isEmpty());
    }
  }

  /**
   * A checkpoint that cannot be written (a folder where its file goes) is told to the listener,
   * from the loop at each weight interval and from close, and the neuron runs on.
   */
  @Test
  void aCheckpointThatCannotBeWrittenIsToldFromTheLoopAndFromClose(@TempDir Path dir)
      throws Exception {
    Keypair key = Keypair.generate();
    java.nio.file.Files.createDirectories(dir.resolve(Neuron.CHECKPOINT_FILE).resolve("x"));
    CountDownLatch fromTheLoop = new CountDownLatch(1);
    Thread closing = Thread.currentThread();
    List<String> byClose = new java.util.concurrent.CopyOnWriteArrayList<>();
    Random random = new Random(15);
    try (LocalLedger ledger = everyTwentyMillis(key);
        Neuron words = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .serve(Peers.bagOfWords(DIM, DIM, 5), Modality.TEXT).outputDim(DIM).start()) {
      Neuron n = Neuron.builder().keypair(key).ledger(ledger)
          .serve(Peers.failing(Status.UNAVAILABLE, "validates only"), Modality.TEXT)
          .outputDim(DIM).learner(NeuronTest::learner).dataset(() -> batch(random, 8))
          .checkpoints(dir).weightInterval(Duration.ofMillis(50))
          .listener((neuron, e) -> {
            if (!e.startsWith("checkpoint not saved")) {
              return;
            }
            if (Thread.currentThread() == closing) {
              byClose.add(e);
            } else {
              fromTheLoop.countDown();
            }
          })
          .start().runInBackground();
      try {
        assertTrue(fromTheLoop.await(30, TimeUnit.SECONDS));
        assertTrue(byClose.isEmpty());
      } finally {
        n.close();
      }
      assertEquals(1, byClose.size(), "close tells it once more: " + byClose);
      assertTrue(byClose.get(0).contains(Neuron.CHECKPOINT_FILE), byClose::toString);
    }
  }

  /** A clock the test moves by hand. */
  private static final class HandClock extends java.time.Clock {
    final AtomicReference<java.time.Instant> now =
        new AtomicReference<>(java.time.Instant.parse("2026-01-01T00:00:00Z"));

    @Override
    public java.time.ZoneId getZone() {
      return java.time.ZoneOffset.UTC;
    }

    @Override
    public java.time.Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public java.time.Instant instant() {
      return now.get();
    }
  }

  /**
   * The background loop keeps its intervals by the clock it is given, not the system's: with
   * sync and weights due every hour and no warm-up, a neuron that votes trains batch after batch
   * without reading the ledger again or setting a row (nor telling of a recovery from failures
   * it never had), until its clock moves an hour; then it sets the row its votes give.
   */
  @Test
  void theLoopKeepsItsIntervalsByTheClockItIsGiven() throws Exception {
    Keypair key = Keypair.generate();
    HandClock clock = new HandClock();
    CountDownLatch rowSet = new CountDownLatch(1);
    CountDownLatch threeTrained = new CountDownLatch(1);
    CountDownLatch sixTrained = new CountDownLatch(1);
    java.util.concurrent.atomic.AtomicInteger batches =
        new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger reads =
        new java.util.concurrent.atomic.AtomicInteger();
    List<String> events = new java.util.concurrent.CopyOnWriteArrayList<>();
    Random random = new Random(14);
    io.bittensor.transport.InProcessNetwork network =
        new io.bittensor.transport.InProcessNetwork();
    try (LocalLedger ledger = everyTwentyMillis(key);
        Neuron words = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .inProcess(network).serve(Peers.bagOfWords(DIM, DIM, 5), Modality.TEXT)
            .outputDim(DIM).start()) {
      words.registration().get(30, TimeUnit.SECONDS);
      Ledger counted = (Ledger) Proxy.newProxyInstance(Ledger.class.getClassLoader(),
          new Class<?>[] {Ledger.class}, (proxy, method, args) -> {
            if (method.getName().equals("metagraph")) {
              reads.incrementAndGet();
            }
            return forward(ledger, proxy, method, args);
          });
      try (Neuron validator = Neuron.builder().keypair(key).ledger(counted).inProcess(network)
          .serve(Peers.failing(Status.UNAVAILABLE, "validates only"), Modality.TEXT)
          .outputDim(DIM).learner(NeuronTest::learner)
          .dataset(() -> {
            int asked = batches.incrementAndGet(); // the n-th is asked once n - 1 are trained
            if (asked == 4) {
              threeTrained.countDown();
            } else if (asked == 7) {
              sixTrained.countDown();
            }
            return batch(random, 8);
          })
          .votes(m -> java.util.Map.of(words.id(), 1.0)).clock(clock)
          .syncInterval(Duration.ofHours(1)).weightInterval(Duration.ofHours(1))
          .listener((n, e) -> {
            // Told on the loop's thread, a daemon: a neuron left open does not keep a JVM up.
            events.add(Thread.currentThread().isDaemon() ? e : "not a daemon: " + e);
            if (e.contains("weights set in block")) { // the first, or one after
              rowSet.countDown();
            }
          })
          .start().runInBackground()) {
        assertTrue(threeTrained.await(30, TimeUnit.SECONDS), events::toString);
        int readsThen = reads.get();
        assertTrue(sixTrained.await(30, TimeUnit.SECONDS), events::toString);
        assertEquals(readsThen, reads.get(), "no sync between its intervals");
        assertEquals(1, rowSet.getCount(), "no row before the clock moved: " + events);
        assertTrue(events.stream().noneMatch(e -> e.startsWith("steps succeed again")
            || e.startsWith("not a daemon")), events::toString);
        clock.now.set(clock.now.get().plus(Duration.ofHours(1)));
        assertTrue(rowSet.await(30, TimeUnit.SECONDS), events::toString);
        Metagraph m = ledger.metagraph();
        int v = m.uid(key.id()).orElseThrow();
        assertEquals(1.0, m.weights().get(v, m.uid(words.id()).orElseThrow()), 1e-12);
      }
    }
  }

  /**
   * The peers its learner factory is given call the peer they stand for, forward and backward,
   * with a timeout or without; once the neuron closes each answers CANCELLED at once and calls
   * nothing, so that a learner's or a factory's late call cannot reach the market.
   */
  @Test
  void thePeersGivenToTheLearnerCallNothingOnceTheNeuronClosed() throws Exception {
    Keypair key = Keypair.generate();
    List<String> served = new java.util.concurrent.CopyOnWriteArrayList<>();
    Peer recording = new Peer() {
      @Override
      public CompletableFuture<ForwardResult> forward(ForwardRequest request) {
        served.add("forward");
        return Peers.bagOfWords(DIM, DIM, 5).forward(request);
      }

      @Override
      public CompletableFuture<BackwardResult> backward(BackwardRequest request) {
        served.add("backward");
        return CompletableFuture.completedFuture(BackwardResult.success());
      }
    };
    AtomicReference<List<Peer>> given = new AtomicReference<>();
    Random random = new Random(9);
    io.bittensor.transport.InProcessNetwork network =
        new io.bittensor.transport.InProcessNetwork();
    try (LocalLedger ledger = ledger(key);
        Neuron words = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .inProcess(network).serve(recording, Modality.TEXT).outputDim(DIM).start()) {
      Neuron n = Neuron.builder().keypair(key).ledger(ledger).inProcess(network)
          .serve(Peers.failing(Status.UNAVAILABLE, "validates only"), Modality.TEXT)
          .outputDim(DIM).learner(peers -> {
            given.set(peers);
            return learner(peers);
          }).dataset(() -> batch(random, 8)).start();
      ForwardRequest ask = batch(random, 2).request();
      BackwardRequest teach = new BackwardRequest(Modality.TEXT, ask.input(),
          Tensor.ofFloats(new float[2 * SEQ * DIM], 2, SEQ, DIM));
      Duration wait = Duration.ofSeconds(10);
      Peer peer;
      try {
        ledger.produceBlock();
        assertTrue(n.sync());
        peer = given.get().get(0);
        assertEquals("slot " + words.endpoint(), peer.toString());
        assertTrue(peer.forward(ask).get(10, TimeUnit.SECONDS).isSuccess());
        assertTrue(peer.forward(ask, wait).get(10, TimeUnit.SECONDS).isSuccess());
        assertTrue(peer.backward(teach).get(10, TimeUnit.SECONDS).isSuccess());
        assertTrue(peer.backward(teach, wait).get(10, TimeUnit.SECONDS).isSuccess());
        assertEquals(List.of("forward", "forward", "backward", "backward"), served);
      } finally {
        n.close();
      }
      for (ForwardResult r : List.of(peer.forward(ask).getNow(null),
          peer.forward(ask, wait).getNow(null))) {
        assertEquals(Status.CANCELLED, r.status(), r::toString);
      }
      for (BackwardResult r : List.of(peer.backward(teach).getNow(null),
          peer.backward(teach, wait).getNow(null))) {
        assertEquals(Status.CANCELLED, r.status(), r::toString);
      }
      assertEquals(4, served.size(), "nothing called after close: " + served);
    }
  }

  /**
   * A second close while the first waits for the loop (held here by its listener, which close
   * cannot cut short) waits too: neither returns before the loop has stopped.
   */
  @Test
  void aSecondCloseWaitsForTheFirst() throws Exception {
    Keypair key = Keypair.generate();
    CountDownLatch inListener = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicReference<Thread> loop = new AtomicReference<>();
    try (LocalLedger ledger = ledger(key);
        Neuron words = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .serve(Peers.bagOfWords(DIM, DIM, 5), Modality.TEXT).outputDim(DIM).start()) {
      Random random = new Random(6);
      Neuron n = Neuron.builder().keypair(key).ledger(ledger)
          .serve(Peers.failing(Status.UNAVAILABLE, "validates only"), Modality.TEXT)
          .outputDim(DIM).learner(NeuronTest::learner).dataset(() -> batch(random, 8))
          .listener((neuron, event) -> {
            if (event.startsWith("routing over") && loop.compareAndSet(null,
                Thread.currentThread())) {
              inListener.countDown();
              while (release.getCount() > 0) {
                try {
                  release.await();
                } catch (InterruptedException e) {
                  // close interrupts the loop; this listener does not stop for it
                }
              }
            }
          })
          .start();
      ledger.produceBlock();
      n.registration().get(10, TimeUnit.SECONDS);
      n.runInBackground();
      Thread first = new Thread(n::close);
      java.util.concurrent.atomic.AtomicBoolean keptInterrupt =
          new java.util.concurrent.atomic.AtomicBoolean();
      Thread second = new Thread(() -> {
        n.close();
        keptInterrupt.set(Thread.currentThread().isInterrupted());
      });
      try {
        assertTrue(inListener.await(60, TimeUnit.SECONDS));
        first.start();
        awaitBlocked(first);
        second.start();
        awaitBlocked(second);
        assertEquals(Thread.State.WAITING, second.getState(),
            "the second close waits for the first (not returned, nor blocked on the monitor)");
        assertTrue(first.isAlive() && loop.get().isAlive());
        second.interrupt(); // it goes on waiting, and keeps the interrupt for its caller
        while (second.isInterrupted()) {
          Thread.onSpinWait();
        }
        awaitBlocked(second);
        assertEquals(Thread.State.WAITING, second.getState(), "interrupted, it still waits");
      } finally {
        release.countDown();
        first.join(TimeUnit.SECONDS.toMillis(30));
        second.join(TimeUnit.SECONDS.toMillis(30));
      }
      assertFalse(first.isAlive() || second.isAlive() || loop.get().isAlive());
      assertTrue(keptInterrupt.get(), "the second close's caller was interrupted: it still is");
    }
  }

  /**
   * Close leaves its caller's interrupt as it found it: a caller interrupted before it closes a
   * neuron whose loop runs is interrupted still when close returns (though close waits for the
   * loop and saves meanwhile), and a caller closing a closed neuron is not interrupted by it.
   */
  @Test
  void closeLeavesItsCallersInterruptAsItFoundIt() throws Exception {
    Keypair key = Keypair.generate();
    try (LocalLedger ledger = ledger(key)) {
      Neuron n = Neuron.builder().keypair(key).ledger(ledger)
          .serve(Peers.bagOfWords(DIM, DIM, 5), Modality.TEXT).outputDim(DIM).start()
          .runInBackground(); // waits for its registration: no block comes
      boolean[] interrupted = new boolean[2];
      Thread first = new Thread(() -> {
        Thread.currentThread().interrupt();
        n.close();
        interrupted[0] = Thread.currentThread().isInterrupted();
      });
      first.start();
      first.join(TimeUnit.SECONDS.toMillis(30));
      Thread again = new Thread(() -> {
        n.close();
        interrupted[1] = Thread.currentThread().isInterrupted();
      });
      again.start();
      again.join(TimeUnit.SECONDS.toMillis(30));
      assertFalse(first.isAlive() || again.isAlive());
      assertTrue(interrupted[0], "interrupted before close, interrupted after");
      assertFalse(interrupted[1], "not interrupted by a second close");
    }
  }

  /** Waits until {@code t} waits, is blocked or has ended. */
  private static void awaitBlocked(Thread t) throws InterruptedException {
    while (!java.util.EnumSet.of(Thread.State.WAITING, Thread.State.BLOCKED,
        Thread.State.TERMINATED).contains(t.getState())) {
      Thread.sleep(1);
    }
  }
}
