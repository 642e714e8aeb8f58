package io.bittensor.core;

import io.bittensor.core.testing.LedgerFixtures;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The ledger contract on a {@link LocalLedger} with its journal on disk. */
class LocalLedgerContractTest extends LocalLedgerContract {
  @TempDir Path dir;
  private int count;

  @Override
  protected Ledger create(Genesis genesis) throws IOException {
    return LocalLedger.builder()
        .genesis(genesis)
        .mechanism(mechanism())
        .clock(LedgerFixtures.fixedClock())
        .blocks(BlockPolicy.manual())
        .snapshotEvery(4)
        .open(dir.resolve("ledger-" + count++));
  }
}
