package io.bittensor.raft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.Block;
import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Genesis;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Receipt;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.TransactionRejectedException;
import io.bittensor.core.testing.LedgerFixtures;
import io.bittensor.core.testing.RandomTransactions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A replicated ledger is the embedded ledger, replicated: seeded random transactions (valid and
 * not) go to random members of a group of three, blocks are sealed through random members, and
 * half way through one member restarts from its folder (and replays its log). Afterwards every
 * member holds the same state, and a {@link LocalLedger} given the accepted transactions in their
 * receipts' order, block by block, reaches that same state and the same last block hash.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RaftReplicationProperties {
  @TempDir Path dir;

  static LongStream seeds() {
    return RandomTransactions.seeds(4);
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void everyMemberHoldsWhatTheEmbeddedLedgerWouldHold(long seed) throws Exception {
    SplittableRandom random = new SplittableRandom(seed);
    Genesis genesis = LedgerFixtures.genesis(RandomTransactions.params(seed), 6);
    RandomTransactions txs = new RandomTransactions(seed, 10);
    record Sent(SignedTransaction tx, CompletableFuture<Receipt> receipt) {}
    List<Sent> sent = new ArrayList<>();
    long height;
    List<io.bittensor.core.Hash256> hashes;
    io.bittensor.core.Hash256 lastBlock;
    Cluster c = new Cluster(dir, 3, genesis, null, BlockPolicy.manual());
    c.clock = LedgerFixtures.fixedClock();
    try (c) {
      c.start();
      c.leader();
      for (int i = 0; i < 60; i++) {
        RaftLedger m = c.members[random.nextInt(3)];
        SignedTransaction tx = txs.next(m);
        sent.add(new Sent(tx, m.submit(tx)));
        if (random.nextInt(5) == 0) {
          c.members[random.nextInt(3)].produceBlock();
        }
        if (i == 30) {
          int k = random.nextInt(3);
          // Seal through it first, so that none of its submissions is left waiting.
          c.members[k].produceBlock();
          c.stop(k);
          c.open(k);
        }
      }
      Block last = c.members[random.nextInt(3)].produceBlock();
      height = last.number();
      c.awaitHeight(height);
      hashes = c.settledHashes();
      lastBlock = last.hash();
    }
    assertEquals(1, hashes.stream().distinct().count(), "members disagree: " + hashes);

    List<Receipt> accepted = new ArrayList<>();
    List<SignedTransaction> acceptedTxs = new ArrayList<>();
    int rejected = 0;
    for (Sent s : sent) {
      try {
        accepted.add(s.receipt.get(10, TimeUnit.SECONDS));
        acceptedTxs.add(s.tx);
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TransactionRejectedException)) {
          throw new AssertionError("a submission failed without a rejection: " + e.getCause());
        }
        rejected++;
      }
    }
    assertTrue(accepted.size() > 10 && rejected > 0,
        accepted.size() + " accepted and " + rejected + " rejected: the mix tests too little");

    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < accepted.size(); i++) {
      order.add(i);
    }
    order.sort(Comparator.comparingLong((Integer i) -> accepted.get(i).block())
        .thenComparingInt(i -> accepted.get(i).index()));
    try (LocalLedger embedded = LocalLedger.builder().genesis(genesis)
        .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual()).openInMemory()) {
      int next = 0;
      Block b = null;
      List<CompletableFuture<Receipt>> replayed = new ArrayList<>();
      for (long n = 1; n <= height; n++) {
        while (next < order.size() && accepted.get(order.get(next)).block() == n) {
          CompletableFuture<Receipt> f = embedded.submit(acceptedTxs.get(order.get(next)));
          assertFalse(f.isCompletedExceptionally(), "the embedded ledger refuses what the group"
              + " accepted");
          replayed.add(f);
          next++;
        }
        b = embedded.produceBlock();
      }
      assertEquals(order.size(), next);
      for (int i = 0; i < replayed.size(); i++) {
        assertEquals(accepted.get(order.get(i)).index(), replayed.get(i).join().index());
      }
      assertEquals(hashes.get(0), embedded.stateHash());
      assertEquals(lastBlock, b.hash());
    }
  }
}
