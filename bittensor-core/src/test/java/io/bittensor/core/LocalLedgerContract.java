package io.bittensor.core;

import java.io.IOException;
import java.util.Optional;

/** The ledger contract for {@link LocalLedger}s, sealing blocks on demand. */
abstract class LocalLedgerContract extends LedgerContract {
  @Override
  protected Block seal(Ledger ledger) throws IOException {
    return ((LocalLedger) ledger).produceBlock();
  }

  @Override
  protected Optional<Hash256> stateHash(Ledger ledger) {
    return Optional.of(((LocalLedger) ledger).stateHash());
  }
}
