package io.bittensor.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.bittensor.core.internal.ledger.BlockCodec;
import io.bittensor.core.internal.ledger.Journal;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash safety: a child JVM appends transactions to a ledger and is killed with SIGKILL at a
 * random moment (during startup and recovery too), again and again. After every kill the ledger
 * must open, hold every transaction the child saw acknowledged, and be in exactly the state a
 * clean replay of its journal from genesis gives.
 *
 * <p>The same runs with the journal compacted at every snapshot: a transaction acknowledged in a
 * block the checkpoint stands for must be in the state (its signer's nonce past it), any later
 * one in the journal.
 *
 * <p>SIGKILL cannot tear a write that reached the kernel, so to cover torn tails as well, some
 * cycles also cut the journal's last block at a random byte, as a power failure during its write
 * would, but only when that block holds no acknowledged transaction (a block is acknowledged
 * after its fsync, and an fsync'ed block is not torn by a power failure).
 */
class CrashSafetyTest {
  @TempDir Path tmp;

  @Test
  @Timeout(value = 150, unit = TimeUnit.SECONDS)
  void everyAcknowledgedTransactionSurvivesSigkill() throws Exception {
    Result r = crashCycles(6, 0xc4a5L);
    assertTrue(r.acknowledged() > 0, "the child acknowledged nothing: " + r);
  }

  @Test
  @Timeout(value = 150, unit = TimeUnit.SECONDS)
  void everyAcknowledgedTransactionSurvivesSigkillWhileTheJournalIsCompacted() throws Exception {
    Result r = crashCycles(6, 0xc0c4a5L, "compact");
    assertTrue(r.acknowledged() > 0, "the child acknowledged nothing: " + r);
    assertTrue(r.checkpoint() > 0, "the journal was never compacted: " + r);
  }

  @Test
  @Timeout(value = 150, unit = TimeUnit.SECONDS)
  void everyAcknowledgedTransactionStaysReadableInItsBlockWhileTheJournalIsArchived()
      throws Exception {
    Result r = crashCycles(6, 0xa4c4a5L, "archive");
    assertTrue(r.acknowledged() > 0, "the child acknowledged nothing: " + r);
    assertTrue(r.checkpoint() > 0, "the journal was never compacted: " + r);
  }

  @Test
  @Tag("long")
  @Timeout(value = 3600, unit = TimeUnit.SECONDS)
  void everyAcknowledgedTransactionStaysReadableThroughTwoHundredSigkillsWhileArchiving()
      throws Exception {
    Result r = crashCycles(200, 0x30c4a5L, "archive");
    System.err.println("crash cycles, archiving: " + r);
    assertTrue(r.acknowledged() > 200, "too little work was done: " + r);
    assertTrue(r.checkpoint() > 0, "the journal was never compacted: " + r);
  }

  @Test
  @Tag("long")
  @Timeout(value = 3600, unit = TimeUnit.SECONDS)
  void everyAcknowledgedTransactionSurvivesTwoHundredSigkills() throws Exception {
    Result r = crashCycles(200, 0x10c4a5L);
    System.err.println("crash cycles: " + r);
    assertTrue(r.acknowledged() > 200, "too little work was done: " + r);
    assertTrue(r.tornTails() > 0, "no torn tail was exercised: " + r);
  }

  @Test
  @Tag("long")
  @Timeout(value = 3600, unit = TimeUnit.SECONDS)
  void everyAcknowledgedTransactionSurvivesTwoHundredSigkillsWhileCompacting() throws Exception {
    Result r = crashCycles(200, 0x20c4a5L, "compact");
    System.err.println("crash cycles, compacting: " + r);
    assertTrue(r.acknowledged() > 200, "too little work was done: " + r);
    assertTrue(r.tornTails() > 0, "no torn tail was exercised: " + r);
    assertTrue(r.checkpoint() > 0, "the journal was never compacted: " + r);
  }

  /** What the cycles did, for the report. */
  record Result(int cycles, int acknowledged, long blocks, int killedBeforeReady,
      int tornTails, long checkpoint) {}

  /** An acknowledged transaction, as the child printed it. */
  record Ack(String hash, long block, PeerId signer, long nonce) {}

  private Result crashCycles(int cycles, long seed) throws Exception {
    return crashCycles(cycles, seed, "keep");
  }

  /** @param mode the child's: keep, compact or archive (see CrashChild) */
  private Result crashCycles(int cycles, long seed, String mode) throws Exception {
    Path dir = tmp.resolve("ledger");
    SplittableRandom random = new SplittableRandom(seed);
    Set<Ack> acknowledged = new HashSet<>();
    int early = 0;
    int torn = 0;
    long blocks = 0;
    for (int cycle = 0; cycle < cycles; cycle++) {
      String at = "cycle " + cycle + " (seed " + seed + "): ";
      Path stderr = tmp.resolve("child-" + cycle + ".err");
      Process child = new ProcessBuilder(javaCommand(dir, random.nextLong(), mode))
          .redirectError(stderr.toFile())
          .start();
      List<Ack> acks = new ArrayList<>();
      boolean[] ready = {false};
      Thread reader = new Thread(() -> readAcks(child, acks, ready), "crash-child-reader");
      reader.start();
      boolean beforeReady = random.nextInt(6) == 0;
      long delay = beforeReady ? random.nextInt(400) : 50 + random.nextInt(1500);
      if (!beforeReady) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!readyOf(ready) && child.isAlive() && System.nanoTime() < deadline) {
          Thread.sleep(5);
        }
        if (!readyOf(ready)) {
          child.destroyForcibly().waitFor();
          fail(at + "the child did not start: " + Files.readString(stderr));
        }
      } else {
        early++;
      }
      Thread.sleep(delay);
      if (!child.isAlive()) {
        fail(at + "the child died by itself (exit " + child.exitValue() + "): "
            + Files.readString(stderr));
      }
      child.destroyForcibly();   // SIGKILL on Unix
      assertTrue(child.waitFor(30, TimeUnit.SECONDS), at + "the child did not die");
      reader.join(30_000);
      synchronized (acks) {
        acknowledged.addAll(acks);
      }
      if (!Files.exists(dir.resolve(Journal.FILE_NAME))) {
        continue; // killed before the journal was created: nothing can have been acknowledged
      }
      if (random.nextInt(3) == 0 && tearUnacknowledgedTail(dir, acknowledged, random)) {
        torn++;
      }
      blocks = verify(dir, acknowledged, at);
      if (mode.equals("archive")) {
        verifyArchive(dir, acknowledged, at);
      }
    }
    long checkpoint = Files.exists(dir.resolve(Journal.FILE_NAME))
        ? Journal.scan(dir.resolve(Journal.FILE_NAME), Set.of()).checkpoint() : 0;
    return new Result(cycles, acknowledged.size(), blocks, early, torn, checkpoint);
  }

  private static boolean readyOf(boolean[] ready) {
    synchronized (ready) {
      return ready[0];
    }
  }

  private static void readAcks(Process child, List<Ack> acks, boolean[] ready) {
    try (BufferedReader in = new BufferedReader(
        new InputStreamReader(child.getInputStream(), StandardCharsets.US_ASCII))) {
      String line;
      while ((line = in.readLine()) != null) {
        if (line.startsWith("READY")) {
          synchronized (ready) {
            ready[0] = true;
          }
        } else if (line.startsWith("ACK ")) {
          String[] f = line.split(" ");
          if (f.length != 5 || f[1].length() != 64 || f[3].length() != 64) {
            continue; // the child was killed mid-line
          }
          Ack ack;
          try {
            ack = new Ack(f[1], Long.parseLong(f[2]), PeerId.fromHex(f[3]), Long.parseLong(f[4]));
          } catch (IllegalArgumentException e) {
            continue; // cut inside a number
          }
          synchronized (acks) {
            acks.add(ack);
          }
        }
      }
    } catch (IOException e) {
      // The child was killed mid-line: what was read is what was acknowledged.
    }
  }

  /**
   * Cuts the journal inside its last block, as a power failure during that block's write would,
   * if the block holds no acknowledged transaction.
   *
   * @return whether it cut
   */
  private static boolean tearUnacknowledgedTail(Path dir, Set<Ack> acknowledged,
      SplittableRandom random) throws IOException {
    Path journal = dir.resolve(Journal.FILE_NAME);
    Journal.Scan scan = Journal.scan(journal, Set.of());
    long last = scan.lastNumber();
    if (last < 1 || last == scan.checkpoint()) {
      return false; // a checkpoint is fsync'ed before it becomes the journal: never torn
    }
    Set<String> hashes = new HashSet<>();
    acknowledged.forEach(a -> hashes.add(a.hash()));
    for (SignedTransaction tx : BlockCodec.decode(Journal.read(journal, scan, last))
        .transactions()) {
      if (hashes.contains(tx.hash().toHex())) {
        return false;
      }
    }
    long start = scan.offsets()[scan.offsets().length - 1];
    long cut = start + 1 + random.nextLong(scan.validEnd() - start - 1);
    try (var ch = java.nio.channels.FileChannel.open(journal,
        java.nio.file.StandardOpenOption.WRITE)) {
      ch.truncate(cut);
    }
    return true;
  }

  /** Opens the ledger as recovery does and checks it against the acks and a clean replay. */
  private long verify(Path dir, Set<Ack> acknowledged, String at) throws IOException {
    Path clean = dir.resolveSibling("clean");
    deleteTree(clean);
    Files.createDirectories(clean);
    Hash256 recovered;
    long[] audit;
    long height;
    Path journal = dir.resolve(Journal.FILE_NAME);
    Set<Ack> inCheckpoint = new HashSet<>();
    try (LocalLedger ledger = CrashChild.builder().open(dir)) {
      recovered = ledger.stateHash();
      audit = ledger.tokenAudit();
      height = ledger.metagraph().block().number();
      long checkpoint = Journal.scan(journal, Set.of()).checkpoint();
      for (Ack ack : acknowledged) {
        // A block the checkpoint stands for is gone; its transactions live on in the state.
        if (ack.block() <= checkpoint && ledger.nextNonce(ack.signer()) > ack.nonce()) {
          inCheckpoint.add(ack);
        }
      }
    }
    assertEquals(audit[1], audit[0], at + "tokens counted vs supply");
    Set<String> inJournal = new HashSet<>();
    Journal.Scan scan = Journal.scan(journal, Set.of());
    assertEquals(0, scan.tornBytes(), at + "recovery cut the torn tail");
    assertEquals(height, scan.lastNumber());
    for (long n = Math.max(1, scan.checkpoint() + 1); n <= scan.lastNumber(); n++) {
      for (SignedTransaction tx : BlockCodec.decode(Journal.read(journal, scan, n))
          .transactions()) {
        inJournal.add(tx.hash().toHex());
      }
    }
    for (Ack ack : acknowledged) {
      if (!inJournal.contains(ack.hash()) && !inCheckpoint.contains(ack)) {
        fail(at + "acknowledged transaction " + ack + " is lost (" + acknowledged.size()
            + " acknowledged, " + inJournal.size() + " in the journal after its checkpoint at"
            + " block " + scan.checkpoint() + ")");
      }
    }
    Files.copy(journal, clean.resolve(Journal.FILE_NAME));
    try (LocalLedger replay = CrashChild.builder().snapshotEvery(0).open(clean)) {
      assertEquals(recovered, replay.stateHash(), at + "recovered state vs a clean replay");
    }
    return height;
  }

  /**
   * With every replaced journal archived, the whole chain reads back from block 1 to the
   * latest, and each acknowledged transaction is in the block its receipt named.
   */
  private static void verifyArchive(Path dir, Set<Ack> acknowledged, String at)
      throws IOException {
    Map<Long, Set<String>> byBlock = new HashMap<>();
    List<Block> read = new ArrayList<>();
    try (LocalLedger ledger = CrashChild.builder().open(dir)) {
      long height = ledger.metagraph().block().number();
      ledger.readBlocks(1, height, r -> {
        Set<String> hashes = new HashSet<>();
        r.transactions().forEach(tx -> hashes.add(tx.hash().toHex()));
        byBlock.put(r.block().number(), hashes);
        read.add(r.block());
        return true;
      });
      assertEquals(height, read.size(), at + "every block from genesis reads back");
      if (height > 0) {
        assertEquals(ledger.metagraph().block(), read.get(read.size() - 1), at + "to the latest");
      }
    }
    for (Ack ack : acknowledged) {
      assertTrue(byBlock.getOrDefault(ack.block(), Set.of()).contains(ack.hash()),
          at + "acknowledged transaction " + ack + " is not in block " + ack.block()
              + " as read back through the archive");
    }
  }

  private static List<String> javaCommand(Path dir, long seed, String mode) {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String classpath = System.getProperty("surefire.test.class.path",
        System.getProperty("java.class.path"));
    return List.of(java, "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
        "-cp", classpath, CrashChild.class.getName(), dir.toString(), Long.toString(seed),
        mode);
  }

  private static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (var walk = Files.walk(p)) {
      for (Path q : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(q);
      }
    }
  }
}
