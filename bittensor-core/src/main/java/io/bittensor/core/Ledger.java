package io.bittensor.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The ledger peers share: it records who is registered, who staked what and who weighs whom,
 * orders signed transactions into blocks, and every epoch turns stake and weights into incentive
 * and newly minted stake. {@link LocalLedger} is the embedded one; a ledger served over the
 * transport shares one between machines.
 *
 * <pre>{@code
 * Keypair me = Keypair.generate();
 * Genesis genesis = Genesis.builder().allocate(me.id(), 1_000_000).build();
 * try (LocalLedger ledger = LocalLedger.builder().genesis(genesis).open(Path.of("ledger-data"))) {
 *   Receipt r = ledger.submit(me, Transaction.register(URI.create("http://10.0.0.7:8091"),
 *       Modality.TEXT)).join();
 *   Metagraph m = ledger.metagraph();
 *   int uid = m.uid(me.id()).orElseThrow();
 * }
 * }</pre>
 *
 * <p>Transactions are validated before anything is applied: a rejected one changes nothing and
 * its future fails with a {@link TransactionRejectedException} whose {@link RejectReason} says
 * which rule it broke. An accepted one's future completes with a {@link Receipt} once the block
 * holding it is durable; nothing acknowledged is ever lost.
 *
 * <p>Implementations are thread-safe. {@link #close()} is idempotent; after it, reads and
 * submissions throw {@link IllegalStateException}.
 */
public interface Ledger extends AutoCloseable {

  /** The chain's id: the SHA-256 of its genesis block. Every transaction names it. */
  Hash256 chainId();

  /**
   * The latest durable block's metagraph.
   *
   * @throws LedgerException if it cannot be fetched (a remote ledger that cannot be reached)
   * @throws IllegalStateException if the ledger is closed
   */
  Metagraph metagraph() throws LedgerException;

  /**
   * The account of {@code id}, as of the latest accepted transaction (including those in the
   * block being built, not yet durable).
   *
   * @return empty if the key was never given tokens nor registered
   * @throws LedgerException if it cannot be fetched
   * @throws IllegalStateException if the ledger is closed
   */
  Optional<Account> account(PeerId id) throws LedgerException;

  /**
   * The nonce {@code id}'s next transaction must carry: 0 for a key the ledger does not know.
   *
   * @throws LedgerException if it cannot be fetched
   * @throws IllegalStateException if the ledger is closed
   */
  default long nextNonce(PeerId id) throws LedgerException {
    return account(id).map(Account::nonce).orElse(0L);
  }

  /**
   * Validates a transaction and, if it passes, adds it to the block being built.
   *
   * @return completes with a receipt once the transaction's block is durable; fails with a
   *     {@link TransactionRejectedException} if it was rejected (nothing changed), or with
   *     another {@link LedgerException} if the ledger failed or closed before its block was
   *     durable (then it may or may not be in the ledger: check its nonce before resending)
   * @throws IllegalStateException if the ledger is closed
   */
  CompletableFuture<Receipt> submit(SignedTransaction transaction);

  /**
   * Submits each transaction as {@link #submit(SignedTransaction)} would, in order: a ledger
   * served over the network ({@code RemoteLedger}) sends them in as few requests as it can, one
   * signature and one round trip for many, where this default submits them one by one.
   *
   * @return one future per transaction, in order, each as {@link #submit(SignedTransaction)}'s
   * @throws IllegalStateException if the ledger is closed
   */
  @Experimental
  default List<CompletableFuture<Receipt>> submitAll(List<SignedTransaction> transactions) {
    Objects.requireNonNull(transactions, "transactions");
    List<CompletableFuture<Receipt>> futures = new ArrayList<>(transactions.size());
    for (SignedTransaction transaction : transactions) {
      futures.add(submit(transaction));
    }
    return futures;
  }

  /**
   * Signs {@code body} with {@code key}'s next nonce and submits it: a convenience for one
   * transaction at a time. Concurrent calls for the same key may pick the same nonce (and all
   * but one be rejected with {@link RejectReason#NONCE_REUSED}); to send many at once, count
   * nonces yourself and use {@link #submit(SignedTransaction)}.
   *
   * @return as {@link #submit(SignedTransaction)}; fails with a {@link LedgerException} if the
   *     nonce cannot be fetched
   * @throws IllegalStateException if the ledger is closed
   */
  default CompletableFuture<Receipt> submit(Keypair key, Transaction body) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(body, "body");
    long nonce;
    try {
      nonce = nextNonce(key.id());
    } catch (LedgerException e) {
      return CompletableFuture.failedFuture(e);
    }
    return submit(SignedTransaction.sign(key, chainId(), nonce, body));
  }

  /**
   * Calls {@code listener} for every block and epoch from now on (see {@link LedgerListener} for
   * the threads), until the subscription is closed.
   *
   * @throws IllegalStateException if the ledger is closed
   */
  Subscription subscribe(LedgerListener listener);

  /**
   * Releases the ledger's files, threads or connections. Transactions not yet in a durable block
   * fail with a {@link LedgerException}. Idempotent.
   */
  @Override
  void close();

  /** A subscription to a ledger's events; closing it stops them. Idempotent, thread-safe. */
  interface Subscription extends AutoCloseable {
    /** Stops the events: no callback starts after this returns. */
    @Override
    void close();
  }
}
