package io.bittensor.learning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.BackwardRequest;
import io.bittensor.core.BackwardResult;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.GatingLayer;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.learning.TestPeers.FnPeer;
import io.bittensor.onnx.Mlp;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@link Learner#saveCheckpoint} and {@link Learner#restoreCheckpoint}. */
@Timeout(120)
class LearnerCheckpointTest {
  private static final int STEPS = 12;
  private static final int SAVED_AT = 5;

  @TempDir Path dir;

  /** The routing task's peers and a third that fails whenever a batch's first row says so. */
  private static List<Peer> peers(RoutingTask task) {
    List<Peer> peers = new ArrayList<>(task.peers);
    FnPeer flaky = new FnPeer(RoutingTask.CLASSES, x -> RoutingTask.oneHot(task.label(x)));
    peers.add(new Peer() {
      @Override
      public CompletableFuture<ForwardResult> forward(ForwardRequest request) {
        // Fails by the data, not by a call count, so that two runs fail alike.
        return request.input().toFloatArray()[1] > 0
            ? CompletableFuture.completedFuture(ForwardResult.failure(Status.TIMEOUT, "flaky"))
            : flaky.forward(request);
      }

      @Override
      public CompletableFuture<BackwardResult> backward(BackwardRequest request) {
        return flaky.backward(request);
      }
    });
    return peers;
  }

  /**
   * A learner with every kind of state: a gate warming up its balancing, a student fitted each
   * step, probes every third step (so the saved step falls between two probes).
   */
  private static Learner learner(List<Peer> peers, int hidden) {
    MlpDistiller student = MlpDistiller.builder().inputDim(RoutingTask.IN).hidden(16)
        .outputDim(RoutingTask.CLASSES).learningRate(0.01).seed(3).build();
    return Learner.builder()
        .gate(NoisyTopKGate.builder().peers(peers).k(2).contextDim(RoutingTask.IN)
            .outputDim(RoutingTask.CLASSES).learningRate(0.02).balanceWarmup(0.05, 8).seed(4)
            .build())
        .head(TrainableMlp.random(new int[] {4, hidden, 4}, Mlp.Activation.RELU, 5))
        .learningRate(0.01)
        .distiller(student)
        .probeEvery(3)
        .timeout(Duration.ofSeconds(5))
        .build();
  }

  private static List<Tensor> batches(long seed, int count) {
    Random r = new Random(seed);
    List<Tensor> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      out.add(TestPeers.batch(r, 24, RoutingTask.IN));
    }
    return out;
  }

  private static void train(Learner l, RoutingTask task, List<Tensor> batches, int from, int to) {
    for (int s = from; s < to; s++) {
      Tensor x = batches.get(s);
      l.train(new ForwardRequest(Modality.TENSOR, x), task.labels(x));
    }
  }

  /** Every learned array and every score, flattened, in a fixed order. */
  private static List<double[]> state(Learner l) {
    List<double[]> out = new ArrayList<>();
    Stream.of(((NoisyTopKGate) l.gate()).parameters(), l.head().parameters(),
            ((MlpDistiller) l.distiller().orElseThrow()).parameters())
        .flatMap(List::stream)
        .forEach(p -> out.add(doubles(p.values())));
    out.add(l.importance());
    out.add(l.pruningScores());
    out.add(l.failureCosts());
    out.add(l.compensatedPruningScores());
    out.add(l.reroutedLossScores());
    out.add(l.standInPruningScores());
    Arrays.stream(l.fisher()).forEach(out::add);
    out.add(new double[] {l.probedBatches()});
    return out;
  }

  private static double[] doubles(float[] v) {
    double[] out = new double[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = v[i];
    }
    return out;
  }

  private static void assertSameState(List<double[]> expected, List<double[]> actual) {
    assertEquals(expected.size(), actual.size());
    for (int i = 0; i < expected.size(); i++) {
      assertArrayEquals(expected.get(i), actual.get(i), 0.0, "array " + i);
    }
  }

  @Test
  void aRestoredLearnerContinuesStepForStep() throws IOException {
    RoutingTask task = new RoutingTask(21, 2);
    List<Peer> peers = peers(task);
    List<Tensor> data = batches(22, STEPS);

    Learner straight = learner(peers, 16);
    train(straight, task, data, 0, STEPS);

    Learner first = learner(peers, 16);
    train(first, task, data, 0, SAVED_AT);
    Path file = dir.resolve("neuron.ckpt");
    first.saveCheckpoint(file);
    assertArrayEquals(first.checkpoint(), Files.readAllBytes(file), "the file is the bytes");
    assertEquals(SAVED_AT, first.trainedSteps());

    // Another learner of the same shape, trained on other data, so that nothing it holds is right.
    Learner resumed = learner(peers, 16);
    train(resumed, task, batches(23, 4), 0, 4);
    assertNotEquals(state(first).get(0)[0], state(resumed).get(0)[0]);
    resumed.restoreCheckpoint(file);
    assertSameState(state(first), state(resumed));
    assertEquals(SAVED_AT, resumed.trainedSteps());
    train(resumed, task, data, SAVED_AT, STEPS);

    assertSameState(state(straight), state(resumed));
    assertTrue(straight.probedBatches() > 1, "probes happened before and after the checkpoint");
    assertTrue(straight.failureCosts()[peers.size() - 1] > 0, "the flaky peer's failures count");
  }

  @Test
  void savingAgainReplacesTheFileAndLeavesNothingElse() throws IOException {
    RoutingTask task = new RoutingTask(31, 1);
    List<Peer> peers = peers(task);
    Learner l = learner(peers, 16);
    Path file = dir.resolve("neuron.ckpt");
    l.saveCheckpoint(file);
    byte[] before = Files.readAllBytes(file);
    train(l, task, batches(32, 3), 0, 3);
    l.saveCheckpoint(file);
    assertTrue(!Arrays.equals(before, Files.readAllBytes(file)), "the file holds the new state");
    try (Stream<Path> files = Files.list(dir)) {
      assertEquals(List.of(file), files.toList(), "no temporary file left beside it");
    }
    Learner other = learner(peers, 16);
    other.restoreCheckpoint(file);
    assertSameState(state(l), state(other));
  }

  /** A checkpoint of a learner over {@code peers} after four steps on data from {@code seed}. */
  private Path savedAfterFourSteps(List<Peer> peers, long seed) throws IOException {
    Learner saved = learner(peers, 16);
    Random r = new Random(seed);
    for (int s = 0; s < 4; s++) {
      Tensor x = TestPeers.batch(r, 24, RoutingTask.IN);
      // Labels by the first feature's sign: any labels do, the state is what is saved.
      int[] labels = new int[24];
      float[] v = x.toFloatArray();
      for (int b = 0; b < 24; b++) {
        labels[b] = v[b * RoutingTask.IN] > 0 ? 1 : 0;
      }
      saved.train(new ForwardRequest(Modality.TENSOR, x), labels);
    }
    Path file = dir.resolve("neuron.ckpt");
    saved.saveCheckpoint(file);
    return file;
  }

  @Test
  void aDamagedFileIsRefusedAndChangesNothing() throws IOException {
    List<Peer> peers = peers(new RoutingTask(41, 1));
    Path file = savedAfterFourSteps(peers, 42);
    byte[] good = Files.readAllBytes(file);

    Learner l = learner(peers, 16);
    List<double[]> untouched = state(l);
    byte[] flipped = good.clone();
    flipped[good.length / 2] ^= 0x10;
    Files.write(file, flipped);
    IOException e = assertThrows(IOException.class, () -> l.restoreCheckpoint(file));
    assertTrue(e.getMessage().contains("checksum"), e.getMessage());
    Files.write(file, Arrays.copyOf(good, good.length - 9));
    e = assertThrows(IOException.class, () -> l.restoreCheckpoint(file));
    assertTrue(e.getMessage().contains("checksum"), e.getMessage());
    // Cut short (a copy or a disk that lost its end): the message names the file.
    assertTrue(e.getMessage().startsWith("cannot restore " + file + ": "), e.getMessage());
    Files.writeString(file, "{\"weights\": [1, 2, 3]}");
    e = assertThrows(IOException.class, () -> l.restoreCheckpoint(file));
    assertTrue(e.getMessage().contains("not a learner checkpoint"), e.getMessage());
    assertThrows(IOException.class, () -> l.restoreCheckpoint(dir.resolve("missing.ckpt")));
    assertSameState(untouched, state(l));
  }

  @Test
  void aCheckpointOfAnotherShapeIsRefusedByNameAndChangesNothing() throws IOException {
    List<Peer> peers = peers(new RoutingTask(51, 1));
    Path file = savedAfterFourSteps(peers, 52);

    // The gate's entries fit and are read first: the head's misfit must undo them too.
    Learner narrower = learner(peers, 8);
    List<double[]> untouched = state(narrower);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> narrower.restoreCheckpoint(file));
    assertTrue(e.getMessage().contains("head/dense0.weight"), e.getMessage());
    assertTrue(e.getMessage().startsWith("cannot restore " + file + ": "), e.getMessage());
    assertSameState(untouched, state(narrower));

    Learner fewerPeers = learner(peers.subList(0, peers.size() - 1), 16);
    e = assertThrows(IllegalArgumentException.class, () -> fewerPeers.restoreCheckpoint(file));
    assertTrue(e.getMessage().contains("gate/"), e.getMessage());

    Learner noStudent = Learner.builder()
        .gate(NoisyTopKGate.builder().peers(peers).k(2).contextDim(RoutingTask.IN)
            .outputDim(RoutingTask.CLASSES).seed(4).build())
        .head(TrainableMlp.random(new int[] {4, 16, 4}, Mlp.Activation.RELU, 5))
        .probeEvery(3)
        .build();
    e = assertThrows(IllegalArgumentException.class, () -> noStudent.restoreCheckpoint(file));
    assertTrue(e.getMessage().contains("distiller/"), e.getMessage());
  }

  @Test
  void aGateOfOnesOwnIsRefusedWithItsName() {
    NoisyTopKGate inner = NoisyTopKGate.builder().peers(new RoutingTask(61, 0).peers).k(1)
        .contextDim(RoutingTask.IN).outputDim(RoutingTask.CLASSES).build();
    GatingLayer own = new TopKOnly(inner);
    Learner l = Learner.builder().gate(own)
        .head(TrainableMlp.random(new int[] {4, 4}, Mlp.Activation.RELU, 1)).build();
    UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
        () -> l.saveCheckpoint(dir.resolve("x.ckpt")));
    assertTrue(e.getMessage().contains("NoisyTopKGate"), e.getMessage());
    assertTrue(!Files.exists(dir.resolve("x.ckpt")), "nothing written");
  }
}
