package io.bittensor.core;

import static io.bittensor.core.testing.LedgerFixtures.endpoint;
import static io.bittensor.core.testing.LedgerFixtures.key;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.testing.LedgerFixtures;
import io.bittensor.incentive.DenseMatrix;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.incentive.NetworkState;
import io.bittensor.incentive.PaperParams;
import io.bittensor.incentive.PeerVector;
import io.bittensor.incentive.YumaConsensus;
import io.bittensor.incentive.YumaParams;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A ledger run by Yuma: what docs/ledger.md and docs/yuma.md say about its consensus peg. */
class LedgerUnderYumaTest {
  @TempDir Path tmp;

  @Test
  void yumasLossIsZeroSoThePegStaysWhereTheGenesisSetIt() throws IOException {
    Genesis genesis = LedgerFixtures.genesis(new LedgerParams(3, 8, 2, 1, 0), 3);
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis)
        .mechanism(YumaConsensus.of(YumaParams.defaults()))
        .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual()).snapshotEvery(0)
        .open(tmp.resolve("ledger"))) {
      for (int i = 0; i < 3; i++) {
        ledger.submit(key(i), Transaction.register(endpoint(i), Modality.TEXT));
      }
      ledger.produceBlock();
      for (int i = 0; i < 3; i++) {
        ledger.submit(key(i), Transaction.addStake(10_000 * (i + 1)));
      }
      ledger.produceBlock();
      // Each peer votes only for itself: nobody has majority trust. Under the paper's
      // mechanism this raises the peg by one an epoch (LedgerContract's peg test).
      for (int i = 0; i < 3; i++) {
        CompletableFuture<Receipt> f = ledger.submit(key(i),
            Transaction.setWeights(new int[] {i}, new double[] {1}));
        assertFalse(f.isCompletedExceptionally(), "row of uid " + i);
      }
      for (int epoch = 1; epoch <= 3; epoch++) {
        Block b;
        do {
          b = ledger.produceBlock();
        } while (!b.epoch());
        Epoch e = ledger.metagraph().lastEpoch().orElseThrow();
        assertEquals(Optional.empty(), e.skipped(), "epoch " + epoch + " ran");
        assertTrue(e.minted() > 0, "epoch " + epoch + " minted");
        assertEquals(0.0, e.loss(), "epoch " + epoch);
        assertEquals(1, e.minAllowedWeights(), "epoch " + epoch);
        assertEquals(1, ledger.metagraph().params().minAllowedWeights());
      }
      CompletableFuture<Receipt> oneEntry = ledger.submit(key(0),
          Transaction.setWeights(new int[] {1}, new double[] {1}));
      assertFalse(oneEntry.isCompletedExceptionally(), "a one-entry row is still admitted");
      // The same votes under the paper's mechanism have a positive loss: its peg would rise.
      assertTrue(paperLossOfSelfVotes() > 0);
    }
  }

  private static double paperLossOfSelfVotes() {
    double[] stake = {1, 2, 3};
    double[] weights = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    return IncentiveMechanism.paper(PaperParams.defaults())
        .step(NetworkState.of(PeerVector.of(stake), DenseMatrix.ofRowMajor(3, weights))).loss();
  }
}
