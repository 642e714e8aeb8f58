package io.bittensor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.BackwardRequest;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.learning.TrainablePeer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code peer=trainable}: it answers passages, learns, and keeps what it learned. */
class TrainableWordsTest {
  private static final Tensor IDS = Tensor.ofLongs(new long[] {101, 7592, 2088, 102, 0, 0,
      101, 2054, 2003, 1996, 3437, 102}, 2, 6);

  private static float[] answer(TrainablePeer p) {
    ForwardResult r = p.forward(new ForwardRequest(Modality.TEXT, IDS)).join();
    assertTrue(r.isSuccess(), r::toString);
    assertEquals(List.of(2, 6, 384), Arrays.stream(r.output().orElseThrow().shape()).boxed()
        .toList(), "the tensor standard's [batch, sequence, outputDim]");
    return r.output().orElseThrow().toFloatArray();
  }

  private static void learn(TrainablePeer p, int steps) {
    float[] g = new float[2 * 6 * 384];
    Arrays.fill(g, 0.001f);
    for (int i = 0; i < steps; i++) {
      assertTrue(p.backward(new BackwardRequest(Modality.TEXT, IDS,
          Tensor.ofFloats(g, 2, 6, 384))).join().isSuccess());
    }
  }

  @Test
  void itAnswersPassagesLearnsAndKeepsWhatItLearned(@TempDir Path dir) throws Exception {
    TrainablePeer first = TrainableWords.peer(384, 7);
    float[] fresh = answer(first);
    List<String> said = new ArrayList<>();
    try (AutoCloseable keeper = TrainableWords.keepLearned(first, dir, Duration.ofHours(1),
        said::add)) {
      learn(first, 3);
    }
    assertTrue(Files.exists(dir.resolve(TrainableWords.CHECKPOINT)), "saved on close");
    assertTrue(said.isEmpty(), "nothing to restore the first time: " + said);
    float[] learned = answer(first);
    assertTrue(!Arrays.equals(fresh, learned), "its gradients moved it");

    TrainablePeer again = TrainableWords.peer(384, 7);
    try (AutoCloseable keeper = TrainableWords.keepLearned(again, dir, Duration.ofHours(1),
        said::add)) {
      assertEquals(3, again.steps());
      assertEquals(Arrays.toString(learned), Arrays.toString(answer(again)));
      assertTrue(said.get(0).contains("restored the peer's training (3 steps)"), said.get(0));
    }

    Files.write(dir.resolve(TrainableWords.CHECKPOINT), new byte[] {1, 2, 3});
    TrainablePeer third = TrainableWords.peer(384, 7);
    try (AutoCloseable keeper = TrainableWords.keepLearned(third, dir, Duration.ofMillis(20),
        said::add)) {
      assertEquals(0, third.steps(), "a damaged checkpoint: it starts afresh");
      assertTrue(said.get(1).contains("was not restored"), said.get(1));
      learn(third, 1);
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (Files.size(dir.resolve(TrainableWords.CHECKPOINT)) < 100) {
        assertTrue(System.nanoTime() < deadline, "the interval's save replaced the damaged file");
        Thread.sleep(10);
      }
    }
    TrainablePeer fourth = TrainableWords.peer(384, 7);
    fourth.restoreCheckpoint(dir.resolve(TrainableWords.CHECKPOINT));
    assertEquals(1, fourth.steps());

    ForwardResult pixels = fourth.forward(new ForwardRequest(Modality.IMAGE,
        Tensor.ofFloats(new float[12], 2, 6))).join();
    assertEquals(Status.BAD_SHAPE, pixels.status(), "words only");
    assertTrue(pixels.message().contains("token ids"), pixels.message());
  }
}
