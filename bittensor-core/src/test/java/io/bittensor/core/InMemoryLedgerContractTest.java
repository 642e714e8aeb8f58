package io.bittensor.core;

import io.bittensor.core.testing.LedgerFixtures;

/** The ledger contract on a {@link LocalLedger} without files. */
class InMemoryLedgerContractTest extends LocalLedgerContract {
  @Override
  protected Ledger create(Genesis genesis) {
    return LocalLedger.builder()
        .genesis(genesis)
        .mechanism(mechanism())
        .clock(LedgerFixtures.fixedClock())
        .blocks(BlockPolicy.manual())
        .openInMemory();
  }
}
