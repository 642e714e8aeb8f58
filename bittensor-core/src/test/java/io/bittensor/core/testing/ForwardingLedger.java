package io.bittensor.core.testing;

import io.bittensor.core.Account;
import io.bittensor.core.Hash256;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerException;
import io.bittensor.core.LedgerListener;
import io.bittensor.core.Metagraph;
import io.bittensor.core.PeerId;
import io.bittensor.core.Receipt;
import io.bittensor.core.SignedTransaction;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * A ledger that forwards every call to another: a test overrides only what it changes (counts,
 * reorders, races).
 */
public class ForwardingLedger implements Ledger {
  /** The ledger every call goes to. */
  protected final Ledger delegate;

  /** Forwards to {@code delegate}. */
  public ForwardingLedger(Ledger delegate) {
    this.delegate = Objects.requireNonNull(delegate, "delegate");
  }

  @Override
  public Hash256 chainId() {
    return delegate.chainId();
  }

  @Override
  public Metagraph metagraph() throws LedgerException {
    return delegate.metagraph();
  }

  @Override
  public Optional<Account> account(PeerId id) throws LedgerException {
    return delegate.account(id);
  }

  @Override
  public CompletableFuture<Receipt> submit(SignedTransaction transaction) {
    return delegate.submit(transaction);
  }

  @Override
  public Subscription subscribe(LedgerListener listener) {
    return delegate.subscribe(listener);
  }

  @Override
  public void close() {
    delegate.close();
  }
}
