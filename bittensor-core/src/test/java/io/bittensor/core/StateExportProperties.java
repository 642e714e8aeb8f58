package io.bittensor.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.testing.LedgerFixtures;
import io.bittensor.core.testing.RandomTransactions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link LocalLedger#exportState()} and {@link LocalLedger.Builder#openInMemory(byte[])}: a
 * ledger restored from an export, given the same transactions after it, goes on exactly as the
 * one it came from (state hash, block hashes, metagraph, every outcome). Each failure names its
 * seed.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class StateExportProperties {
  static LongStream seeds() {
    return RandomTransactions.seeds(12);
  }

  private static LocalLedger.Builder builder(Genesis genesis) {
    return LocalLedger.builder().genesis(genesis).clock(LedgerFixtures.fixedClock())
        .blocks(BlockPolicy.manual());
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void aRestoredLedgerGoesOnAsTheOneItCameFrom(long seed) throws LedgerException {
    String at = "seed " + seed + ": ";
    SplittableRandom random = new SplittableRandom(seed);
    Genesis genesis = LedgerFixtures.genesis(RandomTransactions.params(seed), 6);
    RandomTransactions txs = new RandomTransactions(seed, 10);
    try (LocalLedger original = builder(genesis).openInMemory()) {
      int before = 20 + random.nextInt(40);
      for (int i = 0; i < before; i++) {
        original.submit(txs.next(original));
        if (random.nextInt(4) == 0) {
          original.produceBlock();
        }
      }
      original.produceBlock();
      byte[] export = original.exportState();
      try (LocalLedger restored = builder(genesis).openInMemory(export)) {
        assertEquals(original.stateHash(), restored.stateHash(), at + "state at the export");
        assertEquals(original.metagraph().block(), restored.metagraph().block(), at);
        assertTrue(Arrays.equals(export, restored.exportState()), at + "exports the same bytes");
        List<Block> a = new ArrayList<>();
        List<Block> b = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
          SignedTransaction tx = txs.next(original);
          CompletableFuture<Receipt> fa = original.submit(tx);
          CompletableFuture<Receipt> fb = restored.submit(tx);
          assertEquals(fa.isCompletedExceptionally(), fb.isCompletedExceptionally(),
              at + "the same outcome for " + tx.body());
          if (random.nextInt(4) == 0) {
            a.add(original.produceBlock());
            b.add(restored.produceBlock());
          }
        }
        a.add(original.produceBlock());
        b.add(restored.produceBlock());
        assertEquals(a, b, at + "the same blocks after the export");
        assertEquals(original.stateHash(), restored.stateHash(), at + "the same state after");
        assertEquals(original.metagraph().size(), restored.metagraph().size(), at);
      }
    }
  }

  /**
   * {@link LocalLedger.Builder#open(Path, byte[])}: on disk, into an empty folder or over a
   * journal of the same chain that is behind or ahead, the ledger goes on from the export as the
   * original does, reopens to the same state, and reads back the blocks after the export only.
   */
  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void anExportOpenedOnDiskGoesOnAndReopens(long seed, @TempDir Path tmp) throws Exception {
    String at = "seed " + seed + ": ";
    SplittableRandom random = new SplittableRandom(seed);
    Genesis genesis = LedgerFixtures.genesis(RandomTransactions.params(seed), 6);
    RandomTransactions txs = new RandomTransactions(seed, 10);
    // 0: an empty folder; 1: a journal of the chain a few blocks behind; 2: one ahead.
    int folder = (int) Math.floorMod(seed, 3L);
    Path dir = tmp.resolve("restored");
    try (LocalLedger original = builder(genesis).open(tmp.resolve("original"))) {
      List<SignedTransaction> history = new ArrayList<>();
      List<Integer> sealedAfter = new ArrayList<>();
      for (int i = 0; i < 30 + random.nextInt(30); i++) {
        SignedTransaction tx = txs.next(original);
        history.add(tx);
        original.submit(tx);
        if (random.nextInt(4) == 0) {
          original.produceBlock();
          sealedAfter.add(history.size());
        }
      }
      original.produceBlock();
      sealedAfter.add(history.size());
      byte[] export = original.exportState();
      long exportedAt = original.metagraph().block().number();
      if (folder > 0) {
        // The same chain written by another ledger, stopped behind the export or gone past it.
        int blocks = folder == 1 ? sealedAfter.size() / 2 : sealedAfter.size();
        try (LocalLedger other = builder(genesis).open(dir)) {
          int done = 0;
          for (int b = 0; b < blocks; b++) {
            for (; done < sealedAfter.get(b); done++) {
              other.submit(history.get(done));
            }
            other.produceBlock();
          }
          if (folder == 2) {
            other.produceBlocks(3);
          }
        }
      }
      List<Block> after = new ArrayList<>();
      try (LocalLedger restored = builder(genesis).open(dir, export)) {
        assertEquals(original.stateHash(), restored.stateHash(), at + "state at the export");
        assertEquals(original.metagraph().block(), restored.metagraph().block(), at);
        for (int i = 0; i < 40; i++) {
          SignedTransaction tx = txs.next(original);
          assertEquals(original.submit(tx).isCompletedExceptionally(),
              restored.submit(tx).isCompletedExceptionally(), at + "the same outcome");
          if (random.nextInt(4) == 0) {
            Block a = original.produceBlock();
            assertEquals(a, restored.produceBlock(), at + "the same block");
            after.add(a);
          }
        }
        Block last = original.produceBlock();
        assertEquals(last, restored.produceBlock(), at);
        after.add(last);
      }
      try (LocalLedger reopened = LocalLedger.builder().clock(LedgerFixtures.fixedClock())
          .blocks(BlockPolicy.manual()).open(dir)) {
        assertEquals(original.stateHash(), reopened.stateHash(), at + "reopened to the state");
        List<Block> read = new ArrayList<>();
        reopened.readBlocks(exportedAt + 1, Long.MAX_VALUE, r -> read.add(r.block()));
        assertEquals(after, read, at + "the blocks after the export read back");
        LedgerException gone = assertThrows(LedgerException.class,
            () -> reopened.readBlocks(exportedAt, exportedAt, r -> true));
        assertTrue(gone.getMessage().contains(String.valueOf(exportedAt)), at + gone.getMessage());
      }
    }
  }

  @Test
  void anExportOfAnotherChainLeavesTheFolderAsItWas(@TempDir Path tmp) throws Exception {
    Genesis genesis = LedgerFixtures.genesis(LedgerFixtures.params(8), 4);
    Genesis other = LedgerFixtures.genesis(LedgerFixtures.params(9), 4);
    Hash256 before;
    try (LocalLedger ledger = builder(genesis).open(tmp)) {
      ledger.submit(LedgerFixtures.key(0), Transaction.transfer(LedgerFixtures.key(1).id(), 5));
      ledger.produceBlocks(2);
      before = ledger.stateHash();
    }
    byte[] foreign;
    try (LocalLedger ledger = builder(other).openInMemory()) {
      ledger.produceBlock();
      foreign = ledger.exportState();
    }
    LedgerException chain = assertThrows(LedgerException.class,
        () -> LocalLedger.builder().clock(LedgerFixtures.fixedClock()).open(tmp, foreign));
    assertTrue(chain.getMessage().contains("is chain"), chain.getMessage());
    LedgerException garbage = assertThrows(LedgerException.class,
        () -> LocalLedger.builder().open(tmp, new byte[] {1, 2, 3}));
    assertTrue(garbage.getMessage().contains("cannot restore"), garbage.getMessage());
    LedgerException none = assertThrows(LedgerException.class,
        () -> LocalLedger.builder().open(tmp.resolve("empty"), foreign));
    assertTrue(none.getMessage().contains("no genesis"), none.getMessage());
    try (LocalLedger reopened = LocalLedger.builder().blocks(BlockPolicy.manual()).open(tmp)) {
      assertEquals(before, reopened.stateHash());
      assertEquals(2, reopened.metagraph().block().number());
    }
  }

  /** An export of the genesis state (block 0) opens on disk, fresh or over a ledger's folder. */
  @Test
  void anExportAtTheGenesisBlockOpensOnDisk(@TempDir Path tmp) throws Exception {
    Genesis genesis = LedgerFixtures.genesis(LedgerFixtures.params(8), 4);
    byte[] export;
    Hash256 state;
    try (LocalLedger ledger = builder(genesis).openInMemory()) {
      export = ledger.exportState();
      state = ledger.stateHash();
    }
    Path used = tmp.resolve("used");
    try (LocalLedger ledger = builder(genesis).open(used)) {
      ledger.produceBlocks(2);
    }
    for (Path dir : List.of(tmp.resolve("fresh"), used)) {
      try (LocalLedger restored = builder(genesis).open(dir, export)) {
        assertEquals(0, restored.metagraph().block().number(), dir.toString());
        assertEquals(state, restored.stateHash(), dir.toString());
        restored.submit(LedgerFixtures.key(0),
            Transaction.transfer(LedgerFixtures.key(1).id(), 5));
        restored.produceBlock();
      }
      try (LocalLedger reopened = LocalLedger.builder().blocks(BlockPolicy.manual()).open(dir)) {
        assertEquals(1, reopened.metagraph().block().number(), dir.toString());
        assertEquals(1, reopened.nextNonce(LedgerFixtures.key(0).id()), dir.toString());
      }
    }
  }

  @Test
  void anExportIsTakenBetweenBlocksAndOnlyIntoItsOwnChain() throws LedgerException {
    Genesis genesis = LedgerFixtures.genesis(LedgerFixtures.params(8), 4);
    try (LocalLedger ledger = builder(genesis).openInMemory()) {
      ledger.submit(LedgerFixtures.key(0), Transaction.transfer(LedgerFixtures.key(1).id(), 5));
      IllegalStateException pending = assertThrows(IllegalStateException.class,
          ledger::exportState);
      assertTrue(pending.getMessage().contains("wait for the next block"), pending.getMessage());
      ledger.produceBlock();
      byte[] export = ledger.exportState();

      Genesis other = LedgerFixtures.genesis(LedgerFixtures.params(9), 4);
      LedgerException chain = assertThrows(LedgerException.class,
          () -> builder(other).openInMemory(export));
      assertTrue(chain.getMessage().contains("of chain"), chain.getMessage());

      LedgerException garbage = assertThrows(LedgerException.class,
          () -> builder(genesis).openInMemory(new byte[] {1, 2, 3, 4, 5}));
      assertTrue(garbage.getMessage().contains("cannot restore"), garbage.getMessage());
      LedgerException cut = assertThrows(LedgerException.class,
          () -> builder(genesis).openInMemory(Arrays.copyOf(export, export.length - 7)));
      assertTrue(cut.getMessage().contains("cannot restore"), cut.getMessage());
      // The builder is left as it was: the next open starts from the genesis again.
      LocalLedger.Builder b = builder(genesis);
      assertThrows(LedgerException.class, () -> b.openInMemory(new byte[] {9}));
      try (LocalLedger fresh = b.openInMemory()) {
        assertEquals(0, fresh.metagraph().block().number());
      }
    }
  }
}
