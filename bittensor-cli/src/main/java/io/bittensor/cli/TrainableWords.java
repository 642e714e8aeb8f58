package io.bittensor.cli;

import io.bittensor.learning.TrainableMlp;
import io.bittensor.learning.TrainablePeer;
import io.bittensor.neuron.Peers;
import io.bittensor.onnx.Mlp;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The {@code peer=trainable} of {@code bittensor neuron run}: a peer that starts knowing nothing
 * and learns from the gradients the market's validators send it, on hashed bag-of-words features
 * of the passages (256 buckets, a hidden layer of 64), and with a {@code checkpoint-dir} keeps
 * what it learned across restarts.
 */
final class TrainableWords {
  static final int BUCKETS = 256;
  static final int HIDDEN = 64;
  static final String CHECKPOINT = "peer.ckpt";

  private TrainableWords() {}

  /** A fresh peer answering {@code dim} values per example. */
  static TrainablePeer peer(int dim, long seed) {
    return TrainablePeer.builder()
        .network(TrainableMlp.random(new int[] {BUCKETS, HIDDEN, dim}, Mlp.Activation.RELU,
            seed))
        .features(Peers.bagOfWordsFeatures(BUCKETS, seed))
        .learningRate(1e-3)
        .build();
  }

  /**
   * Restores {@code peer} from {@code folder/peer.ckpt} if there is one, then saves it there
   * every {@code every} and once more on close. A checkpoint that does not fit is reported and
   * the peer starts afresh (the next save replaces it).
   *
   * @param report told what was restored, and what could not be saved
   * @return stops the saving after a last save
   */
  static AutoCloseable keepLearned(TrainablePeer peer, Path folder, Duration every,
      Consumer<String> report) {
    Path file = folder.resolve(CHECKPOINT);
    if (Files.exists(file)) {
      try {
        peer.restoreCheckpoint(file);
        report.accept("restored the peer's training (" + peer.steps() + " steps) from " + file);
      } catch (IOException | IllegalArgumentException e) {
        report.accept("the peer's checkpoint " + file + " was not restored (" + e.getMessage()
            + "); it starts afresh");
      }
    }
    Runnable save = () -> {
      try {
        peer.saveCheckpoint(file);
      } catch (IOException | RuntimeException e) {
        report.accept("the peer's checkpoint could not be saved: " + e);
      }
    };
    ScheduledExecutorService saver = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "bittensor-peer-checkpoint");
      t.setDaemon(true);
      return t;
    });
    long ms = Math.max(1, every.toMillis());
    saver.scheduleWithFixedDelay(save, ms, ms, TimeUnit.MILLISECONDS);
    return () -> {
      saver.shutdown();
      try {
        saver.awaitTermination(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      save.run();
    };
  }
}
