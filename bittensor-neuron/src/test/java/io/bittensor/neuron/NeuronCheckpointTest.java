package io.bittensor.neuron;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Genesis;
import io.bittensor.core.Keypair;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Modality;
import io.bittensor.core.PeerId;
import io.bittensor.core.Receipt;
import io.bittensor.core.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A learning neuron's checkpoints: saved, restored after a restart, refused when unfit. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NeuronCheckpointTest {
  @TempDir Path dir;

  private final List<String> events = new CopyOnWriteArrayList<>();

  /** A validator that learns through the others and scores them by probes, keeping checkpoints. */
  private Neuron validator(LocalLedger ledger, Keypair key, long seed) throws Exception {
    return validator(ledger, key, seed, info -> true);
  }

  /** {@link #validator(LocalLedger, Keypair, long)}, routing over what {@code routeTo} takes. */
  private Neuron validator(LocalLedger ledger, Keypair key, long seed,
      java.util.function.Predicate<io.bittensor.core.PeerInfo> routeTo) throws Exception {
    Random random = new Random(seed);
    Neuron n = Neuron.builder().keypair(key).ledger(ledger).routeTo(routeTo)
        .serve(Peers.failing(Status.UNAVAILABLE, "validates only"), Modality.TEXT)
        .outputDim(NeuronTest.DIM).stake(500_000)
        .learner(NeuronTest::learner)
        .dataset(() -> NeuronTest.batch(random, 16))
        .scoreByProbes(4, List.of(NeuronTest.batch(new Random(99), 64)))
        .checkpoints(dir.resolve("validator"))
        .listener((neuron, event) -> events.add(event))
        .start();
    ledger.produceBlock();
    n.registration().get(10, TimeUnit.SECONDS);
    return n;
  }

  private static Neuron server(LocalLedger ledger, long seed, boolean words) throws Exception {
    return Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
        .serve(words ? Peers.bagOfWords(NeuronTest.DIM, NeuronTest.DIM, seed)
            : Peers.noise(NeuronTest.DIM, seed), Modality.TEXT)
        .outputDim(NeuronTest.DIM).start();
  }

  @Test
  void aRestartedNeuronGoesOnFromWhatItLearned() throws Exception {
    Keypair key = Keypair.generate();
    try (LocalLedger ledger = NeuronTest.ledger(key);
        Neuron words = server(ledger, 5, true);
        Neuron noise = server(ledger, 5, false)) {
      byte[] learned;
      Map<PeerId, Double> scores;
      try (Neuron first = validator(ledger, key, 3)) {
        assertTrue(first.saveCheckpoint().isEmpty(), "nothing learned before the first sync");
        first.sync();
        for (int i = 0; i < 20; i++) {
          first.train();
        }
        Path file = first.saveCheckpoint().orElseThrow();
        assertEquals(dir.resolve("validator").resolve(Neuron.CHECKPOINT_FILE), file);
        for (int i = 0; i < 5; i++) {
          first.train();
        }
        learned = first.learner().orElseThrow().checkpoint();
        scores = first.probeScores();
      } // close saves again: the five batches after the explicit save are kept too
      assertTrue(scores.get(words.id()) > scores.get(noise.id()), scores::toString);

      events.clear();
      try (Neuron again = validator(ledger, key, 4)) {
        assertTrue(again.sync());
        assertEquals(List.of(words.id(), noise.id()), again.routed());
        assertEquals(25, again.learner().orElseThrow().trainedSteps());
        assertArrayEquals(learned, again.learner().orElseThrow().checkpoint(),
            "the learner's whole state, bit for bit");
        assertEquals(scores, again.probeScores(), "the probes too");
        assertTrue(events.stream().anyMatch(e -> e.contains("the learner's state (25 steps)")
            && e.endsWith(", 2 of 2 peers' probes")), events::toString);
        again.train();
        assertEquals(26, again.learner().orElseThrow().trainedSteps());
      }
    }
  }

  @Test
  void aRestoredLearnerPastItsWarmUpSetsTheFirstRowAtOnce() throws Exception {
    Keypair key = Keypair.generate();
    AtomicLong trainedAtFirstRow = new AtomicLong(-1);
    try (LocalLedger ledger = LocalLedger.builder()
            .genesis(Genesis.builder()
                .params(LedgerParams.defaults().withEpochLength(2).withWeightsRateLimit(0))
                .allocate(key.id(), 1_000_000).build())
            .blocks(BlockPolicy.every(Duration.ofMillis(20))).openInMemory();
        Neuron words = server(ledger, 5, true)) {
      Random random = new Random(8);
      Neuron.Builder validator = Neuron.builder().keypair(key).ledger(ledger)
          .serve(Peers.failing(Status.UNAVAILABLE, "validates only"), Modality.TEXT)
          .outputDim(NeuronTest.DIM).stake(500_000)
          .learner(NeuronTest::learner)
          .dataset(() -> NeuronTest.batch(random, 8))
          .checkpoints(dir.resolve("validator"))
          .syncInterval(Duration.ofMillis(50))
          .weightInterval(Duration.ofHours(1))           // never within this test
          .warmUp(20);
      try (Neuron first = validator.start()) {
        first.registration().get(10, TimeUnit.SECONDS);
        first.sync();
        for (int i = 0; i < 19; i++) { // one short of its warm-up
          first.train();
        }
      }
      try (Neuron again = validator.listener((n, e) -> {
        events.add(e);
        if (e.startsWith("first weights set")) {
          trainedAtFirstRow.set(n.trainedBatches());
        }
      }).start()) {
        again.runInBackground();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (trainedAtFirstRow.get() < 0 && System.nanoTime() < deadline) {
          Thread.sleep(20);
        }
      }
    }
    // Its first batch here is its 20th: the warm-up is met then, not a batch later.
    assertEquals(1, trainedAtFirstRow.get(),
        "set after " + trainedAtFirstRow.get() + " batches of this run; events: " + events);
  }

  /** A validator's first run: syncs, trains {@code batches}, and closes (saving); its scores. */
  private Map<PeerId, Double> firstRun(LocalLedger ledger, Keypair key, int batches)
      throws Exception {
    Map<PeerId, Double> scores;
    try (Neuron first = validator(ledger, key, 3)) {
      first.sync();
      for (int i = 0; i < batches; i++) {
        first.train();
      }
      scores = first.probeScores();
    }
    events.clear();
    return scores;
  }

  @Test
  void overOtherPeersOnlyTheProbesOfThoseThatStayAreRestored() throws Exception {
    Keypair key = Keypair.generate();
    try (LocalLedger ledger = NeuronTest.ledger(key);
        Neuron words = server(ledger, 5, true);
        Neuron noise = server(ledger, 5, false)) {
      Map<PeerId, Double> before = firstRun(ledger, key, 20);
      try (Neuron joined = server(ledger, 6, true);
          Neuron again = validator(ledger, key, 4)) {
        again.sync();
        assertEquals(List.of(words.id(), noise.id(), joined.id()), again.routed());
        assertEquals(0, again.learner().orElseThrow().trainedSteps(), "a fresh learner");
        assertTrue(events.stream().anyMatch(e -> e.contains("not the learner's state")
            && e.endsWith(", 2 of 3 peers' probes")), events::toString);
        Map<PeerId, Double> after = again.probeScores();
        assertEquals(before.get(words.id()), after.get(words.id()));
        assertEquals(before.get(noise.id()), after.get(noise.id()));
        assertTrue(after.get(words.id()) > 0.1 && after.get(joined.id()) < 0.05,
            "the newcomer's probe is untrained: " + after);
      }
    }
  }

  /**
   * Restarted to route over fewer peers (a filter now leaves one out), the neuron restores the
   * probes of the peers it still routes over and leaves the other's out; not the learner's
   * state, which was learned over the peers it had.
   */
  @Test
  void overFewerPeersTheProbesOfThoseLeftOutAreSkipped() throws Exception {
    Keypair key = Keypair.generate();
    try (LocalLedger ledger = NeuronTest.ledger(key);
        Neuron words = server(ledger, 5, true);
        Neuron noise = server(ledger, 5, false)) {
      Map<PeerId, Double> before = firstRun(ledger, key, 10);
      try (Neuron again = validator(ledger, key, 4, info -> !info.id().equals(noise.id()))) {
        again.sync();
        assertEquals(List.of(words.id()), again.routed());
        assertEquals(0, again.learner().orElseThrow().trainedSteps(), "a fresh learner");
        assertTrue(events.stream().anyMatch(e -> e.contains("not the learner's state")
            && e.endsWith(", 1 of 1 peers' probes")), events::toString);
        assertEquals(before.get(words.id()), again.probeScores().get(words.id()));
      }
    }
  }

  /**
   * A checkpoint holding an entry this neuron does not write is refused whole, before anything
   * is restored: the learner starts afresh too, rather than restored beside probes left out.
   */
  @Test
  void aCheckpointWithAnEntryItDoesNotWriteIsRefusedWhole() throws Exception {
    Keypair key = Keypair.generate();
    try (LocalLedger ledger = NeuronTest.ledger(key);
        Neuron words = server(ledger, 5, true);
        Neuron noise = server(ledger, 5, false)) {
      byte[] learned;
      List<PeerId> routed;
      try (Neuron first = validator(ledger, key, 3)) {
        first.sync();
        for (int i = 0; i < 5; i++) {
          first.train();
        }
        learned = first.learner().orElseThrow().checkpoint();
        routed = first.routed();
      }
      byte[] ids = new byte[routed.size() * PeerId.LENGTH];
      for (int j = 0; j < routed.size(); j++) {
        System.arraycopy(routed.get(j).toBytes(), 0, ids, j * PeerId.LENGTH, PeerId.LENGTH);
      }
      // Its routed peers and learner as it writes them, and one entry more.
      Files.write(dir.resolve("validator").resolve(Neuron.CHECKPOINT_FILE),
          new io.bittensor.core.internal.StateFile.Writer("BTNEURON").bytes("routed", ids)
              .bytes("learner", learned).bytes("unknown", new byte[1]).toBytes());
      events.clear();
      try (Neuron again = validator(ledger, key, 4)) {
        again.sync();
        assertEquals(0, again.learner().orElseThrow().trainedSteps(), "the learner starts afresh");
        assertTrue(events.stream().anyMatch(e -> e.contains("not restored, starting afresh")
            && e.contains("[unknown]")), events::toString);
      }
    }
  }

  @Test
  void aDamagedCheckpointIsReportedAndTheNeuronStartsAfresh() throws Exception {
    Keypair key = Keypair.generate();
    Path file = dir.resolve("validator").resolve(Neuron.CHECKPOINT_FILE);
    try (LocalLedger ledger = NeuronTest.ledger(key);
        Neuron words = server(ledger, 5, true);
        Neuron noise = server(ledger, 5, false)) {
      damageAfterOneStep(ledger, key, file);
      try (Neuron again = validator(ledger, key, 4)) {
        again.sync();
        assertEquals(0, again.learner().orElseThrow().trainedSteps());
        assertTrue(events.stream().anyMatch(e -> e.contains("not restored, starting afresh")
            && e.contains("checksum")), events::toString);
        again.train();
        again.saveCheckpoint().orElseThrow();
      }
      events.clear();
      try (Neuron third = validator(ledger, key, 5)) {
        third.sync();
        assertEquals(1, third.learner().orElseThrow().trainedSteps(), "the new file is whole");
        assertFalse(events.stream().anyMatch(e -> e.contains("not restored")), events::toString);
      }
    }
  }

  /**
   * A checkpoint the neuron cannot restore (damaged here; one of another shape, after a changed
   * learner, is as good as it ever was) is kept aside before anything is saved: the next save
   * replaced it, so one weight interval after a restart with the wrong settings what it held
   * was gone.
   */
  @Test
  void aCheckpointNotRestoredIsKeptAsideAndNotReplacedByTheNextSave() throws Exception {
    Keypair key = Keypair.generate();
    Path file = dir.resolve("validator").resolve(Neuron.CHECKPOINT_FILE);
    Path aside = file.resolveSibling(Neuron.CHECKPOINT_FILE + ".refused");
    try (LocalLedger ledger = NeuronTest.ledger(key);
        Neuron words = server(ledger, 5, true);
        Neuron noise = server(ledger, 5, false)) {
      byte[] damaged = damageAfterOneStep(ledger, key, file);
      try (Neuron again = validator(ledger, key, 4)) {
        again.sync();
        assertTrue(events.stream().anyMatch(e -> e.contains("not restored, starting afresh")
            && e.contains("kept as " + aside)), events::toString);
        again.train();
        again.saveCheckpoint().orElseThrow();
      }
      assertArrayEquals(damaged, Files.readAllBytes(aside), "the file not restored, as it was");
      // A second refusal keeps the first one's file too.
      Files.write(file, damaged);
      try (Neuron third = validator(ledger, key, 5)) {
        third.sync();
      }
      assertArrayEquals(damaged, Files.readAllBytes(aside.resolveSibling(aside.getFileName()
          + ".2")));
      assertArrayEquals(damaged, Files.readAllBytes(aside));
    }
  }

  /** Saves a validator's checkpoint after one step, flips a bit in it; returns what it wrote. */
  private byte[] damageAfterOneStep(LocalLedger ledger, Keypair key, Path file) throws Exception {
    try (Neuron first = validator(ledger, key, 3)) {
      first.sync();
      first.train();
    }
    byte[] damaged = Files.readAllBytes(file);
    damaged[damaged.length / 3] ^= 0x01;
    Files.write(file, damaged);
    events.clear();
    return damaged;
  }

  /** A validator keeping checkpoints, its loop syncing every 100 ms and weighing every 200. */
  private Neuron.Builder looping(Ledger ledger, Keypair key, long seed) {
    Random random = new Random(seed);
    return Neuron.builder().keypair(key).ledger(ledger)
        .serve(Peers.failing(Status.UNAVAILABLE, "validates only"), Modality.TEXT)
        .outputDim(NeuronTest.DIM).stake(500_000)
        .learner(NeuronTest::learner)
        .dataset(() -> NeuronTest.batch(random, 16))
        .checkpoints(dir.resolve("validator"))
        .syncInterval(Duration.ofMillis(100))
        .weightInterval(Duration.ofMillis(200));
  }

  /** {@code local}, but a weight row submitted to it gets {@code row}'s future instead. */
  private Ledger withRows(Ledger local, Supplier<CompletableFuture<Receipt>> row) {
    return (Ledger) java.lang.reflect.Proxy.newProxyInstance(getClass().getClassLoader(),
        new Class<?>[] {Ledger.class}, (proxy, method, args) -> {
          if (method.getName().equals("submit") && args.length == 2
              && args[1] instanceof io.bittensor.core.Transaction.SetWeights) {
            return row.get();
          }
          try {
            return method.invoke(local, args);
          } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause();
          }
        });
  }

  /**
   * A weight row the ledger refuses still ends a weight interval with a checkpoint: "a crash
   * costs at most one weight interval" holds while the ledger refuses rows too (the save came
   * only after the row's receipt, so a refusal skipped it, interval after interval).
   */
  @Test
  void aRefusedWeightRowStillSavesTheCheckpoint() throws Exception {
    Keypair key = Keypair.generate();
    try (LocalLedger local = NeuronTest.ledger(key);
        Neuron words = server(local, 5, true)) {
      Ledger refusingRows = withRows(local, () -> CompletableFuture.failedFuture(
          new io.bittensor.core.LedgerException("rows refused for this test")));
      Path file = dir.resolve("validator").resolve(Neuron.CHECKPOINT_FILE);
      try (Neuron n = looping(refusingRows, key, 7)
          .listener((neuron, event) -> events.add(event))
          .start()) {
        local.produceBlock();
        n.registration().get(10, TimeUnit.SECONDS);
        n.runInBackground();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!(Files.exists(file) && events.stream().anyMatch(e -> e.contains("rows refused")))
            && System.nanoTime() < deadline) {
          Thread.sleep(20);
        }
        List<String> firstEvents = List.copyOf(events.subList(0, Math.min(3, events.size())));
        assertTrue(events.stream().anyMatch(e -> e.contains("rows refused")),
            firstEvents::toString);
        assertTrue(Files.exists(file), "rows refused, and no checkpoint: " + firstEvents);
      }
    }
  }

  /**
   * A listener that closes its neuron does so on the loop's own thread: close must not interrupt
   * that thread, or the checkpoint it saves fails (an interrupted thread's file channel closes).
   */
  @Test
  void aNeuronClosedByItsOwnListenerSavesItsCheckpoint() throws Exception {
    Keypair key = Keypair.generate();
    try (LocalLedger ledger = NeuronTest.ledger(key);
        Neuron words = server(ledger, 5, true)) {
      Path file = dir.resolve("validator").resolve(Neuron.CHECKPOINT_FILE);
      java.util.concurrent.CountDownLatch closed = new java.util.concurrent.CountDownLatch(1);
      Neuron n = looping(ledger, key, 9)
          .listener((neuron, event) -> {
            events.add(event);
            if (event.startsWith("routing over")) {
              neuron.close(); // on the loop's thread
              closed.countDown();
            }
          })
          .start();
      try (n) {
        ledger.produceBlock();
        n.registration().get(10, TimeUnit.SECONDS);
        n.runInBackground();
        assertTrue(closed.await(60, TimeUnit.SECONDS), events::toString);
      }
      assertFalse(events.stream().anyMatch(e -> e.startsWith("checkpoint not saved")),
          events::toString);
      assertTrue(Files.exists(file), events::toString);
    }
  }

  /**
   * Closed while its loop waits for the receipt of a weight row (a ledger that seals nothing),
   * the neuron cuts the wait short and saves its checkpoint once, after the loop stopped: the
   * loop itself saves nothing once close began.
   */
  @Test
  void closedWhileItsLoopWaitsForARowsReceiptItSavesOnceAfterTheLoopStopped() throws Exception {
    Keypair key = Keypair.generate();
    CountDownLatch rowSent = new CountDownLatch(1);
    AtomicReference<Thread> loop = new AtomicReference<>();
    try (LocalLedger local = NeuronTest.ledger(key);
        Neuron words = server(local, 5, true)) {
      Ledger sealingNoRow = withRows(local, () -> {
        loop.set(Thread.currentThread());
        rowSent.countDown();
        return new CompletableFuture<>();
      });
      Path folder = dir.resolve("validator");
      try (Neuron n = looping(sealingNoRow, key, 11)
          .listener((neuron, event) -> events.add(event))
          .start();
          WatchService watch = folder.getFileSystem().newWatchService()) {
        local.produceBlock();
        n.registration().get(10, TimeUnit.SECONDS);
        n.runInBackground();
        assertTrue(rowSent.await(60, TimeUnit.SECONDS), events::toString);
        folder.register(watch, StandardWatchEventKinds.ENTRY_CREATE);
        CompletableFuture.runAsync(n::close).get(20, TimeUnit.SECONDS);
        assertFalse(loop.get().isAlive(), "close returned with the loop still running");
        assertEquals(1, savesUntilMarker(watch, folder), events::toString);
      }
    }
    assertFalse(events.stream().anyMatch(e -> e.startsWith("checkpoint not saved")),
        events::toString);
  }

  /**
   * A warm-up that finds nothing to weigh (every peer down, so its probes score none) tries
   * again after each batch, as documented, but saves the checkpoint at the weight interval only:
   * it saved after every batch, a whole file written and forced to disk each time.
   */
  @Test
  void aWarmUpWithNothingToWeighSavesAtTheIntervalNotAfterEveryBatch() throws Exception {
    Keypair key = Keypair.generate();
    CountDownLatch batches = new CountDownLatch(12);
    try (LocalLedger ledger = NeuronTest.ledger(key);
        Neuron down = Neuron.builder().keypair(Keypair.generate()).ledger(ledger)
            .serve(Peers.failing(Status.UNAVAILABLE, "down"), Modality.TEXT)
            .outputDim(NeuronTest.DIM).start()) {
      Random random = new Random(12);
      Path folder = dir.resolve("validator");
      try (Neuron n = Neuron.builder().keypair(key).ledger(ledger)
          .serve(Peers.failing(Status.UNAVAILABLE, "validates only"), Modality.TEXT)
          .outputDim(NeuronTest.DIM).stake(500_000)
          .learner(NeuronTest::learner)
          .dataset(() -> {
            batches.countDown();
            return NeuronTest.batch(random, 8);
          })
          .scoreByProbes(4, List.of(NeuronTest.batch(new Random(99), 16)))
          .checkpoints(folder)
          .weightInterval(Duration.ofHours(1)) // never within this test
          .warmUp(1)
          .listener((neuron, event) -> events.add(event))
          .start();
          WatchService watch = folder.getFileSystem().newWatchService()) {
        folder.register(watch, StandardWatchEventKinds.ENTRY_CREATE);
        ledger.produceBlock();
        n.registration().get(10, TimeUnit.SECONDS);
        n.runInBackground();
        assertTrue(batches.await(60, TimeUnit.SECONDS), events::toString);
        assertTrue(events.stream().anyMatch(e -> e.contains("told it anything")),
            events::toString);
        assertEquals(0, savesUntilMarker(watch, folder), events::toString);
      }
    }
  }

  /**
   * How many checkpoints were written in {@code folder} since {@code watch} began: each write
   * creates a temporary file first. A marker file created now is the last event to count to.
   */
  private static int savesUntilMarker(WatchService watch, Path folder) throws Exception {
    Files.createFile(folder.resolve("marker"));
    int saves = 0;
    while (true) {
      WatchKey key = watch.poll(30, TimeUnit.SECONDS);
      assertTrue(key != null, "no marker heard");
      for (WatchEvent<?> e : key.pollEvents()) {
        String name = String.valueOf(e.context());
        if (name.equals("marker")) {
          return saves;
        }
        if (name.endsWith(".bt-partial")) {
          saves++;
        }
      }
      key.reset();
    }
  }
}
