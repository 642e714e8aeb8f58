package io.bittensor.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.testing.LedgerFixtures;
import io.bittensor.core.testing.RandomTransactions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
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
