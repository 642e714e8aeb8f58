package io.bittensor.learning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.BackwardRequest;
import io.bittensor.core.BackwardResult;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Keypair;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.learning.TestPeers.FnPeer;
import io.bittensor.onnx.Mlp;
import io.bittensor.transport.InProcessNetwork;
import io.bittensor.transport.PeerClient;
import io.bittensor.transport.PeerServer;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** A peer trained by the gradients its callers send: the step, the loop, untrusted input. */
@Timeout(120)
class TrainablePeerTest {
  static LongStream seeds() {
    return LongStream.range(0, 40).map(i -> 0x7ea1L + i);
  }

  private static TrainablePeer peer(int in, int out, long seed, double rate) {
    return TrainablePeer.builder()
        .network(TrainableMlp.random(new int[] {in, 8, out}, Mlp.Activation.TANH, seed))
        .learningRate(rate).build();
  }

  private static Tensor input(SplittableRandom r, int rows, int seq, int width) {
    float[] x = new float[rows * seq * width];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) r.nextGaussian();
    }
    return Tensor.ofFloats(x, rows, seq, width);
  }

  private static float[] answer(Peer p, Tensor x) {
    ForwardResult r = p.forward(new ForwardRequest(Modality.TENSOR, x)).join();
    assertTrue(r.isSuccess(), r::toString);
    return r.output().orElseThrow().toFloatArray();
  }

  private static double dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += (double) a[i] * b[i];
    }
    return s;
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void aGradientStepLowersTheLossItIsTheGradientOf(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    int rows = 1 + r.nextInt(6);
    int seq = 1 + r.nextInt(3);
    boolean unit = seed % 2 == 1;   // half the cases answer unit vectors, through their backward
    TrainablePeer p = TrainablePeer.builder()
        .network(TrainableMlp.random(new int[] {seq * 3, 8, 4}, Mlp.Activation.TANH, seed))
        .learningRate(1e-3).normalize(unit).build();
    Tensor x = input(r, rows, seq, 3);
    float[] before = answer(p, x);
    if (unit) {
      for (int row = 0; row < rows * seq; row++) {
        double n2 = 0;
        for (int c = 0; c < 4; c++) {
          n2 += before[row * 4 + c] * before[row * 4 + c];
        }
        assertEquals(1, n2, 1e-5, "unit length (seed " + seed + ")");
      }
    }
    for (int row = 0; row < rows; row++) {
      for (int t = 1; t < seq; t++) {
        for (int c = 0; c < 4; c++) {
          assertEquals(before[(row * seq) * 4 + c], before[(row * seq + t) * 4 + c],
              "every position holds the example's answer (seed " + seed + ")");
        }
      }
    }
    // The loss sum(g . y): its gradient with respect to the answer is g. Small enough that no
    // example's is clipped.
    float[] g = new float[before.length];
    for (int i = 0; i < g.length; i++) {
      g[i] = (float) (r.nextGaussian() * 0.05);
    }
    BackwardResult b = p.backward(new BackwardRequest(Modality.TENSOR, x,
        Tensor.ofFloats(g, rows, seq, 4))).join();
    assertTrue(b.isSuccess(), b::toString);
    assertEquals(1, p.steps());
    float[] after = answer(p, x);
    assertTrue(dot(g, after) < dot(g, before),
        "one step down the gradient lowers the loss (seed " + seed + "): " + dot(g, before)
            + " -> " + dot(g, after));
  }

  @Test
  void aZeroRowStaysZeroAndGetsNoGradient() {
    float[] z = {0, 0, 0, 3, 4, 0};
    float[] y = z.clone();
    NnOps.unitRows(y, 2, 3);
    assertArrayEquals(new float[] {0, 0, 0, 0.6f, 0.8f, 0}, y, 1e-7f);
    float[] dy = {1, -2, 5, 0, 0, 1};
    NnOps.unitRowsBackward(z, dy, 2, 3);
    // The first row has no direction to move along; the second: (dy - y (y . dy)) / |z| = dy / 5.
    assertArrayEquals(new float[] {0, 0, 0, 0, 0, 0.2f}, dy, 1e-7f);
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void theGradientThroughUnitLengthMatchesCentralDifferences(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    int rows = 1 + r.nextInt(3);
    int dim = 2 + r.nextInt(6);
    double[] z = new double[rows * dim];
    float[] zf = new float[z.length];
    float[] dy = new float[z.length];
    for (int i = 0; i < z.length; i++) {
      z[i] = r.nextGaussian();
      zf[i] = (float) z[i];
      dy[i] = (float) r.nextGaussian();
    }
    float[] dz = dy.clone();
    NnOps.unitRowsBackward(zf, dz, rows, dim);
    double h = 1e-4;
    for (int i = 0; i < z.length; i++) {
      int row = i / dim;
      double up = unitLoss(z, dy, row, dim, i, h);
      double down = unitLoss(z, dy, row, dim, i, -h);
      double numeric = (up - down) / (2 * h);
      assertEquals(numeric, dz[i], 1e-3 * (1 + Math.abs(numeric)),
          "d/dz[" + i + "] (seed " + seed + ")");
    }
  }

  @Test
  void aUnitLengthPeerStepsThroughItsScaling() {
    SplittableRandom r = new SplittableRandom(5);
    Tensor x = input(r, 3, 1, 6);
    float[] g = new float[12];
    for (int i = 0; i < g.length; i++) {
      g[i] = (float) (r.nextGaussian() * 0.1);
    }
    TrainablePeer p = TrainablePeer.builder()
        .network(TrainableMlp.random(new int[] {6, 8, 4}, Mlp.Activation.TANH, 5))
        .learningRate(1e-2).normalize(true).build();
    assertTrue(p.backward(new BackwardRequest(Modality.TENSOR, x, Tensor.ofFloats(g, 3, 1, 4)))
        .join().isSuccess());
    // The same step by hand: forward, the gradient through the scaling, backward, Adam.
    TrainableMlp net = TrainableMlp.random(new int[] {6, 8, 4}, Mlp.Activation.TANH, 5);
    Adam adam = Adam.over(net.parameters(), 1e-2);
    float[] xs = x.toFloatArray();
    float[] z = net.forward(xs, 3);
    float[] dz = g.clone();
    NnOps.unitRowsBackward(z, dz, 3, 4);
    net.backward(dz, false);
    adam.step();
    float[] expected = net.predict(xs, 3);
    for (int row = 0; row < 3; row++) {
      double n2 = 0;
      for (int c = 0; c < 4; c++) {
        n2 += expected[row * 4 + c] * expected[row * 4 + c];
      }
      for (int c = 0; c < 4; c++) {
        expected[row * 4 + c] /= (float) Math.sqrt(n2);
      }
    }
    assertArrayEquals(expected, answer(p, x), 1e-6f);
  }

  /** {@code dy . (z / |z|)} over one row, with {@code z[at]} moved by {@code h}. */
  private static double unitLoss(double[] z, float[] dy, int row, int dim, int at, double h) {
    double norm2 = 0;
    for (int c = 0; c < dim; c++) {
      double v = z[row * dim + c] + (row * dim + c == at ? h : 0);
      norm2 += v * v;
    }
    double loss = 0;
    for (int c = 0; c < dim; c++) {
      double v = z[row * dim + c] + (row * dim + c == at ? h : 0);
      loss += dy[row * dim + c] * v / Math.sqrt(norm2);
    }
    return loss;
  }

  /** A Learner over {@code trainable} and a noise peer, {@code steps} batches of the task. */
  private static double trainThrough(TrainablePeer trainable, boolean sendGradients,
      RoutingTask task, int steps) {
    FnPeer noise = new FnPeer(RoutingTask.CLASSES, x -> new float[] {
        (float) Math.sin(x[1] * 7), (float) Math.cos(x[2] * 5), 0.1f, -0.1f});
    Learner l = Learner.builder()
        .gate(NoisyTopKGate.builder().peers(List.of(trainable, noise)).k(2)
            .contextDim(RoutingTask.IN).outputDim(RoutingTask.CLASSES).learningRate(0.01)
            .seed(3).build())
        .head(TrainableMlp.random(new int[] {4, 16, 4}, Mlp.Activation.RELU, 3))
        .learningRate(0.01).sendGradients(sendGradients).timeout(Duration.ofSeconds(5))
        .build();
    Random r = new Random(4);
    for (int s = 0; s < steps; s++) {
      Tensor x = TestPeers.batch(r, 32, RoutingTask.IN);
      l.train(new ForwardRequest(Modality.TENSOR, x), task.labels(x));
    }
    Tensor x = TestPeers.batch(new Random(99), 400, RoutingTask.IN);
    return l.evaluate(new ForwardRequest(Modality.TENSOR, x), task.labels(x)).accuracy();
  }

  @Test
  void theNetworkTrainsAPeerThroughTheGradientsItSends() {
    RoutingTask task = new RoutingTask(11, 0);
    TrainablePeer taught = peer(RoutingTask.IN, RoutingTask.CLASSES, 5, 0.01);
    TrainablePeer untaught = peer(RoutingTask.IN, RoutingTask.CLASSES, 5, 0.01);
    double withGradients = trainThrough(taught, true, task, 300);
    double without = trainThrough(untaught, false, task, 300);
    assertEquals(0, untaught.steps());
    assertTrue(taught.steps() >= 300, "every batch's gradient reached it: " + taught.steps());
    assertTrue(withGradients > 0.85 && withGradients > without + 0.1,
        "a peer the network trains: " + withGradients + " against the same peer untrained: "
            + without);
  }

  @Test
  void gradientsCrossTheTransportAndTrainTheServedPeer() throws Exception {
    RoutingTask task = new RoutingTask(12, 0);
    TrainablePeer served = peer(RoutingTask.IN, RoutingTask.CLASSES, 6, 0.01);
    InProcessNetwork net = new InProcessNetwork();
    try (PeerServer server = PeerServer.newBuilder(served).allowAnonymous(true)
            .startInProcess(net, "trainable");
        PeerClient client = PeerClient.newBuilder().inProcess(net).build()) {
      Peer remote = client.connect(URI.create("inproc://trainable"));
      Tensor x = TestPeers.batch(new Random(1), 8, RoutingTask.IN);
      float[] before = answer(served, x);
      Learner l = Learner.builder()
          .gate(NoisyTopKGate.builder().peers(List.of(remote)).k(1).contextDim(RoutingTask.IN)
              .outputDim(RoutingTask.CLASSES).seed(1).build())
          .head(TrainableMlp.random(new int[] {4, 4}, Mlp.Activation.RELU, 1))
          .timeout(Duration.ofSeconds(5)).build();
      Random r = new Random(2);
      for (int s = 0; s < 20; s++) {
        Tensor b = TestPeers.batch(r, 16, RoutingTask.IN);
        l.train(new ForwardRequest(Modality.TENSOR, b), task.labels(b));
      }
      assertEquals(20, served.steps(), "each batch's gradient was applied on the server");
      assertFalse(java.util.Arrays.equals(before, answer(served, x)), "its answers moved");
      assertArrayEquals(answer(served, x), answer(remote, x), 1e-6f,
          "and the network hears the new answers");
    }
  }

  @Test
  void itLearnsOnlyFromTheCallersItNames() throws Exception {
    Keypair alice = Keypair.generate();
    Keypair bob = Keypair.generate();
    TrainablePeer served = TrainablePeer.builder()
        .network(TrainableMlp.random(new int[] {6, 8, 3}, Mlp.Activation.TANH, 2))
        .learningRate(1e-2).gradientsFrom(id -> id.equals(alice.id())).build();
    Tensor x = input(new SplittableRandom(4), 2, 1, 6);
    BackwardRequest gradient = new BackwardRequest(Modality.TENSOR, x,
        Tensor.ofFloats(new float[] {0.6f, -0.8f, 0, 0.3f, 0.1f, -0.2f}, 2, 1, 3));
    InProcessNetwork net = new InProcessNetwork();
    try (PeerServer server = PeerServer.newBuilder(served).allowAnonymous(true)
            .startInProcess(net, "trainable");
        PeerClient asAlice = PeerClient.newBuilder().inProcess(net).keypair(alice).build();
        PeerClient asBob = PeerClient.newBuilder().inProcess(net).keypair(bob).build();
        PeerClient anonymous = PeerClient.newBuilder().inProcess(net).build()) {
      URI at = URI.create("inproc://trainable");
      float[] before = answer(served, x);
      for (PeerClient stranger : List.of(asBob, anonymous)) {
        BackwardResult refused = stranger.connect(at).backward(gradient).join();
        assertEquals(Status.UNAUTHENTICATED, refused.status(), refused::toString);
        assertEquals("caller", refused.field());
        assertArrayEquals(before, answer(stranger.connect(at), x), 0f,
            "answered, and unchanged by the gradient it refused");
      }
      assertTrue(asBob.connect(at).backward(gradient).join().message()
          .contains(bob.id().toHex()), "the refusal names the caller");
      BackwardResult direct = served.backward(gradient).join();
      assertEquals(Status.UNAUTHENTICATED, direct.status(), "no server proved a caller");
      assertEquals(0, served.steps());

      assertEquals(Status.SUCCESS, asAlice.connect(at).backward(gradient).join().status());
      assertEquals(1, served.steps());
      assertFalse(java.util.Arrays.equals(before, answer(served, x)), "it learned from her");
    }
    assertThrows(NullPointerException.class, () -> TrainablePeer.builder().gradientsFrom(null));
    TrainablePeer broken = TrainablePeer.builder()
        .network(TrainableMlp.random(new int[] {6, 8, 3}, Mlp.Activation.TANH, 2))
        .gradientsFrom(id -> {
          throw new IllegalStateException("no metagraph yet");
        }).build();
    BackwardResult failed = broken.backward(new BackwardRequest(Modality.TENSOR, x,
        gradient.gradient(), java.util.Optional.of(alice.id()))).join();
    assertEquals(Status.INTERNAL_ERROR, failed.status(), "a result, not an exception");
    assertTrue(failed.message().contains("no metagraph yet"), failed::message);
    assertEquals(0, broken.steps());
  }

  @Test
  void untrustedGradientsAreRefusedOrBounded() {
    SplittableRandom r = new SplittableRandom(9);
    TrainablePeer p = peer(6, 3, 2, 1e-2);
    Tensor x = input(r, 2, 1, 6);
    float[] before = answer(p, x);

    float[] nan = new float[6];
    nan[4] = Float.NaN;
    BackwardResult b = p.backward(new BackwardRequest(Modality.TENSOR, x,
        Tensor.ofFloats(nan, 2, 1, 3))).join();
    assertEquals(Status.BAD_REQUEST, b.status());
    assertEquals("gradient", b.field());
    b = p.backward(new BackwardRequest(Modality.TENSOR, x, Tensor.ofFloats(new float[8], 2, 1, 4)))
        .join();
    assertEquals(Status.BAD_SHAPE, b.status());
    assertTrue(b.message().contains("[2, 1, 3]"), b.message());
    ForwardResult f = p.forward(new ForwardRequest(Modality.TENSOR, input(r, 2, 1, 5))).join();
    assertEquals(Status.BAD_SHAPE, f.status());
    assertTrue(f.message().contains("takes [2, 6]"), f.message());
    assertEquals(0, p.steps(), "nothing refused was learned");
    assertArrayEquals(before, answer(p, x));

    // Clipping: an example's huge gradient counts as the same direction at norm 1, so two peers
    // sent those two batches end the same; without clipping the huge one would dominate its batch.
    float[] huge = {3e30f, -4e30f, 0, 0.01f, 0.02f, 0.03f};
    float[] unit = {0.6f, -0.8f, 0, 0.01f, 0.02f, 0.03f};
    TrainablePeer a = peer(6, 3, 2, 1e-2);
    TrainablePeer c = peer(6, 3, 2, 1e-2);
    a.backward(new BackwardRequest(Modality.TENSOR, x, Tensor.ofFloats(huge, 2, 1, 3))).join();
    c.backward(new BackwardRequest(Modality.TENSOR, x, Tensor.ofFloats(unit, 2, 1, 3))).join();
    assertArrayEquals(answer(c, x), answer(a, x), 0f);
    TrainablePeer unclipped = TrainablePeer.builder()
        .network(TrainableMlp.random(new int[] {6, 8, 3}, Mlp.Activation.TANH, 2))
        .learningRate(1e-2).maxGradientNorm(Double.POSITIVE_INFINITY).build();
    unclipped.backward(new BackwardRequest(Modality.TENSOR, x, Tensor.ofFloats(huge, 2, 1, 3)))
        .join();
    assertFalse(java.util.Arrays.equals(answer(c, x), answer(unclipped, x)),
        "the bound is what made them equal");
    // The same with the huge example last in its batch: each example is scaled alone.
    float[] hugeLast = {0.01f, 0.02f, 0.03f, 3e30f, -4e30f, 0};
    float[] unitLast = {0.01f, 0.02f, 0.03f, 0.6f, -0.8f, 0};
    TrainablePeer d = peer(6, 3, 2, 1e-2);
    TrainablePeer e = peer(6, 3, 2, 1e-2);
    assertEquals(Status.SUCCESS, d.backward(new BackwardRequest(Modality.TENSOR, x,
        Tensor.ofFloats(hugeLast, 2, 1, 3))).join().status());
    e.backward(new BackwardRequest(Modality.TENSOR, x, Tensor.ofFloats(unitLast, 2, 1, 3)))
        .join();
    assertArrayEquals(answer(e, x), answer(d, x), 1e-6f); // the scaled row, to its rounding

    assertThrows(IllegalStateException.class, () -> TrainablePeer.builder().build());
    assertThrows(IllegalArgumentException.class,
        () -> TrainablePeer.builder().maxGradientNorm(0));
    assertThrows(IllegalArgumentException.class,
        () -> TrainablePeer.builder().learningRate(Double.NaN));
  }

  @Test
  void anEmptyBatchIsRefusedAsAResult() {
    TrainablePeer p = peer(6, 3, 2, 1e-2);
    Tensor empty = Tensor.ofFloats(new float[0], 0, 1, 6);
    ForwardResult f = p.forward(new ForwardRequest(Modality.TENSOR, empty)).join();
    assertEquals(Status.BAD_SHAPE, f.status());
    BackwardResult b = p.backward(new BackwardRequest(Modality.TENSOR, empty,
        Tensor.ofFloats(new float[0], 0, 1, 3))).join();
    assertEquals(Status.BAD_SHAPE, b.status());
    assertTrue(b.message().contains("[0, 1, 6]"), b.message());
    assertEquals(0, p.steps(), "nothing was learned");
  }

  @Test
  void aGradientSummedOverPositionsPastFloatRangeIsStillBounded() {
    // Each value is finite, but the sum over an example's two positions is past Float.MAX_VALUE:
    // clipped, it is the direction (0.6, -0.8, 0) at norm 1, as a small gradient of it would be.
    SplittableRandom r = new SplittableRandom(11);
    Tensor x = input(r, 1, 2, 3);
    float[] huge = {1.5e38f, -2e38f, 0, 1.5e38f, -2e38f, 0};
    float[] unit = {0.3f, -0.4f, 0, 0.3f, -0.4f, 0};
    TrainablePeer a = peer(6, 3, 4, 1e-2);
    TrainablePeer c = peer(6, 3, 4, 1e-2);
    assertEquals(Status.SUCCESS, a.backward(new BackwardRequest(Modality.TENSOR, x,
        Tensor.ofFloats(huge, 1, 2, 3))).join().status());
    c.backward(new BackwardRequest(Modality.TENSOR, x, Tensor.ofFloats(unit, 1, 2, 3))).join();
    float[] got = answer(a, x);
    for (float v : got) {
      assertTrue(Float.isFinite(v), () -> "answers " + java.util.Arrays.toString(got));
    }
    assertArrayEquals(answer(c, x), got, 1e-6f);
  }

  @Test
  void aCheckpointCarriesWhatItLearnedAcrossARestart(@TempDir Path dir) throws Exception {
    SplittableRandom r = new SplittableRandom(12);
    Tensor x = input(r, 4, 2, 3);
    List<Tensor> grads = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      float[] g = new float[4 * 2 * 4];
      for (int j = 0; j < g.length; j++) {
        g[j] = (float) (r.nextGaussian() * 0.1);
      }
      grads.add(Tensor.ofFloats(g, 4, 2, 4));
    }
    TrainablePeer straight = peer(6, 4, 21, 1e-2);
    TrainablePeer first = peer(6, 4, 21, 1e-2);
    for (int i = 0; i < 8; i++) {
      straight.backward(new BackwardRequest(Modality.TENSOR, x, grads.get(i))).join();
    }
    for (int i = 0; i < 5; i++) {
      first.backward(new BackwardRequest(Modality.TENSOR, x, grads.get(i))).join();
    }
    Path file = dir.resolve("peer.ckpt");
    first.saveCheckpoint(file);
    TrainablePeer resumed = peer(6, 4, 99, 1e-2);   // another initialisation: all overwritten
    resumed.restoreCheckpoint(file);
    assertEquals(5, resumed.steps());
    for (int i = 5; i < 8; i++) {
      resumed.backward(new BackwardRequest(Modality.TENSOR, x, grads.get(i))).join();
    }
    assertArrayEquals(answer(straight, x), answer(resumed, x), 0f,
        "5 steps, a restart and 3 more are 8 steps, bit for bit (Adam's state included)");

    byte[] bytes = java.nio.file.Files.readAllBytes(file);
    bytes[bytes.length / 2] ^= 1;
    float[] before = answer(resumed, x);
    assertThrows(java.io.IOException.class, () -> resumed.restoreCheckpoint(bytes));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> peer(6, 5, 21, 1e-2).restoreCheckpoint(file));
    assertTrue(e.getMessage().contains("network/"), e.getMessage());
    assertTrue(e.getMessage().startsWith("cannot restore " + file + ": "), e.getMessage());
    java.nio.file.Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length / 2));
    java.io.IOException torn = assertThrows(java.io.IOException.class,
        () -> resumed.restoreCheckpoint(file));
    assertTrue(torn.getMessage().startsWith("cannot restore " + file + ": the checkpoint"),
        torn.getMessage());
    assertArrayEquals(before, answer(resumed, x), "a refused checkpoint changes nothing");
    assertEquals(8, resumed.steps());

    // A peer that has learned nothing yet checkpoints too: its 0 steps restore.
    TrainablePeer fresh = peer(6, 4, 21, 1e-2);
    resumed.restoreCheckpoint(fresh.checkpoint());
    assertEquals(0, resumed.steps());
    assertArrayEquals(answer(fresh, x), answer(resumed, x), 0f);
  }

  /**
   * Reading its checkpoint or its network, and restoring, leave it free: another thread then
   * answers and learns (a lock kept by any of them would hold that thread forever).
   */
  @Test
  void checkpointsAndExportsLeaveThePeerFreeForOtherThreads() throws Exception {
    SplittableRandom r = new SplittableRandom(5);
    Tensor x = input(r, 2, 1, 6);
    TrainablePeer p = peer(6, 3, 8, 1e-2);
    byte[] saved = p.checkpoint();
    assertEquals(3, p.toMlp().outputDim());
    p.restoreCheckpoint(saved);
    java.util.concurrent.ExecutorService other =
        java.util.concurrent.Executors.newSingleThreadExecutor();
    try {
      BackwardResult learned = other.submit(() -> p.backward(new BackwardRequest(
              Modality.TENSOR, x, Tensor.ofFloats(new float[] {1, 0, 0, 0, 1, 0}, 2, 1, 3)))
          .join()).get(10, java.util.concurrent.TimeUnit.SECONDS);
      assertEquals(Status.SUCCESS, learned.status());
      float[] answered = other.submit(() -> answer(p, x))
          .get(10, java.util.concurrent.TimeUnit.SECONDS);
      assertEquals(2 * 3, answered.length);
      assertEquals(1, p.steps());
    } finally {
      other.shutdownNow();
    }
  }

  /**
   * Inputs of rank 2 (token ids, one value per position) are examples too, and features of
   * rank 1 (one value per example) feed a network of one input.
   */
  @Test
  void inputsOfRankTwoAndFeaturesOfRankOneAreServed() {
    SplittableRandom r = new SplittableRandom(6);
    float[] ids = new float[2 * 5];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = r.nextInt(100);
    }
    Tensor tokens = Tensor.ofFloats(ids, 2, 5);
    TrainablePeer flat = peer(5, 3, 4, 1e-2);
    ForwardResult f = flat.forward(new ForwardRequest(Modality.TENSOR, tokens)).join();
    assertTrue(f.isSuccess(), f::toString);
    assertArrayEquals(new int[] {2, 5, 3}, f.output().orElseThrow().shape());
    BackwardResult b = flat.backward(new BackwardRequest(Modality.TENSOR, tokens,
        Tensor.ofFloats(new float[2 * 5 * 3], 2, 5, 3))).join();
    assertEquals(Status.SUCCESS, b.status(), b::toString);
    // One value per example: the mean of its ids, a [batch] tensor.
    TrainablePeer oneInput = TrainablePeer.builder()
        .network(TrainableMlp.random(new int[] {1, 8, 3}, Mlp.Activation.TANH, 4))
        .features(t -> {
          float[] v = t.toFloatArray();
          float[] mean = new float[t.dim(0)];
          int per = v.length / mean.length;
          for (int i = 0; i < v.length; i++) {
            mean[i / per] += v[i] / per;
          }
          return Tensor.ofFloats(mean, mean.length);
        }).learningRate(1e-2).build();
    ForwardResult g = oneInput.forward(new ForwardRequest(Modality.TENSOR, tokens)).join();
    assertTrue(g.isSuccess(), g::toString);
    assertArrayEquals(new int[] {2, 5, 3}, g.output().orElseThrow().shape());
    ForwardResult refused = flat.forward(new ForwardRequest(Modality.TENSOR,
        Tensor.ofFloats(new float[] {1, 2}, 2))).join();
    assertEquals(Status.BAD_SHAPE, refused.status());
    assertTrue(refused.message().contains("at least [batch, sequence]"), refused.message());
  }

  @Test
  void answersStayWholeWhileItLearns() throws Exception {
    TrainablePeer p = peer(8, 4, 3, 1e-2);
    SplittableRandom r = new SplittableRandom(4);
    Tensor x = input(r, 16, 1, 8);
    float[] g = new float[16 * 4];
    java.util.Arrays.fill(g, 0.01f);
    List<Thread> askers = new ArrayList<>();
    List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
    for (int t = 0; t < 3; t++) {
      Thread th = new Thread(() -> {
        try {
          for (int i = 0; i < 300; i++) {
            for (float v : answer(p, x)) {
              assertTrue(Float.isFinite(v));
            }
          }
        } catch (Throwable e) {
          errors.add(e);
        }
      });
      th.start();
      askers.add(th);
    }
    for (int i = 0; i < 300; i++) {
      assertTrue(p.backward(new BackwardRequest(Modality.TENSOR, x, Tensor.ofFloats(g, 16, 1, 4)))
          .join().isSuccess());
    }
    for (Thread th : askers) {
      th.join();
    }
    assertEquals(List.of(), errors);
    assertEquals(300, p.steps());
  }
}
