package io.bittensor.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.testing.LedgerFixtures;
import io.bittensor.core.testing.RandomTransactions;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.incentive.PaperParams;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Tokens are conserved across random transaction sequences: after every block, free balances
 * plus stake equal the genesis allocations plus everything epochs minted, and every rejected
 * transaction left the state hash as it was. Each failure names its seed.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LedgerConservationProperties {
  private static final int TRANSACTIONS = 100;

  static LongStream seeds() {
    return RandomTransactions.seeds(16);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void tokensAreConservedAndRejectionsChangeNothing(long seed) throws LedgerException {
    String at = "seed " + seed + ": ";
    SplittableRandom random = new SplittableRandom(seed);
    Genesis genesis = LedgerFixtures.genesis(RandomTransactions.params(seed), 6);
    // An inflation rate makes the minted amount depend on the state, not only on the epoch.
    IncentiveMechanism mechanism = random.nextBoolean()
        ? IncentiveMechanism.paper(PaperParams.defaults().withTau(random.nextInt(10_000)))
        : IncentiveMechanism.paper(PaperParams.defaults().withEmission(
            io.bittensor.incentive.Emission.inflation(random.nextDouble(0.2))));
    AtomicLong minted = new AtomicLong();
    int[] accepted = {0};
    int[] epochsRun = {0};
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis).mechanism(mechanism)
        .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual()).openInMemory()) {
      ledger.subscribe(new LedgerListener() {
        @Override
        public void onEpoch(Epoch epoch, Metagraph after) {
          minted.addAndGet(epoch.minted());
          if (epoch.skipped().isEmpty()) {
            epochsRun[0]++;
          }
        }
      });
      RandomTransactions txs = new RandomTransactions(seed, 10);
      for (int i = 0; i < TRANSACTIONS; i++) {
        SignedTransaction tx = txs.next(ledger);
        Hash256 before = ledger.stateHash();
        CompletableFuture<Receipt> f = ledger.submit(tx);
        if (f.isCompletedExceptionally()) {
          Throwable cause = assertThrowsCompletion(f);
          assertInstanceOf(TransactionRejectedException.class, cause, at + tx);
          assertEquals(before, ledger.stateHash(), at + "rejected " + tx + " changed the state");
        } else {
          accepted[0]++;
        }
        if (random.nextInt(4) == 0) {
          ledger.produceBlock();
          long[] audit = ledger.tokenAudit();
          assertEquals(audit[1], audit[0], at + "tokens counted vs supply after a block");
          assertEquals(genesis.supply() + minted.get(), audit[1],
              at + "supply is genesis plus minting");
          assertEquals(audit[1], ledger.metagraph().supply(), at + "metagraph supply");
        }
      }
    }
    assertTrue(accepted[0] > TRANSACTIONS / 5, at + "too few accepted: " + accepted[0]);
    assertTrue(accepted[0] < TRANSACTIONS, at + "nothing was rejected");
  }

  /**
   * With a registration burn and cap (from genesis, and changed at random by the authority):
   * every accepted registration burns the burn in force, so the supply is genesis plus minting
   * less that; a registration is refused for a balance below the burn or past the block's cap,
   * and then changes nothing; no block holds more registrations than the cap in force.
   */
  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void registrationsBurnTheirCostAndNoBlockPassesTheCap(long seed) throws LedgerException {
    String at = "seed " + seed + ": ";
    SplittableRandom random = new SplittableRandom(seed);
    Genesis genesis = LedgerFixtures.genesis(RandomTransactions.paramsWithRegistrationRules(seed),
        6);
    long minted = 0;
    long burned = 0;
    int[] refused = new int[2];
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis)
        .mechanism(LedgerContract.mechanism()).clock(LedgerFixtures.fixedClock())
        .blocks(BlockPolicy.manual()).openInMemory()) {
      long[] epochMinted = {0};
      ledger.subscribe(new LedgerListener() {
        @Override
        public void onEpoch(Epoch epoch, Metagraph after) {
          epochMinted[0] += epoch.minted();
        }
      });
      RandomTransactions txs = new RandomTransactions(seed, 10).withRegistrationRules();
      LedgerParams rules = genesis.params();
      int registered = 0;
      for (int i = 0; i < 4 * TRANSACTIONS; i++) {
        SignedTransaction tx = txs.next(ledger);
        Hash256 before = ledger.stateHash();
        long balance = ledger.account(tx.signer()).map(Account::balance).orElse(0L);
        CompletableFuture<Receipt> f = ledger.submit(tx);
        if (f.isCompletedExceptionally()) {
          Throwable cause = assertThrowsCompletion(f);
          assertEquals(before, ledger.stateHash(), at + "rejected " + tx + " changed the state");
          if (tx.body() instanceof Transaction.Register
              && cause instanceof TransactionRejectedException r) {
            if (r.reason() == RejectReason.INSUFFICIENT_BALANCE) {
              assertTrue(balance < rules.registrationBurn(), at + r.getMessage());
              refused[0]++;
            } else if (r.reason() == RejectReason.TOO_MANY_REGISTRATIONS) {
              assertEquals(rules.maxRegistrationsPerBlock(), registered, at + r.getMessage());
              refused[1]++;
            }
          }
        } else if (tx.body() instanceof Transaction.Register) {
          burned += rules.registrationBurn();
          registered++;
          assertTrue(rules.maxRegistrationsPerBlock() == 0
              || registered <= rules.maxRegistrationsPerBlock(), at + "past the cap");
        } else if (tx.body() instanceof Transaction.ChangeParams c) {
          rules = c.params(); // in force from the next transaction on
        }
        if (random.nextInt(4) == 0) {
          ledger.produceBlock();
          registered = 0;
          minted = epochMinted[0];
          // The peg may have raised minAllowedWeights; the registration rules stay.
          assertEquals(rules.registrationBurn(), ledger.metagraph().params().registrationBurn(),
              at);
          long[] audit = ledger.tokenAudit();
          assertEquals(audit[1], audit[0], at + "tokens counted vs supply after a block");
          assertEquals(genesis.supply() + minted - burned, audit[1],
              at + "supply is genesis plus minting less burning");
          assertEquals(audit[1], ledger.metagraph().supply(), at + "metagraph supply");
        }
      }
    }
    assertTrue(burned > 0, at + "nothing was burned");
    assertTrue(refused[0] > 0, at + "no registration was refused for its burn");
  }

  private static Throwable assertThrowsCompletion(CompletableFuture<Receipt> f) {
    try {
      f.join();
      throw new AssertionError("expected a failed future");
    } catch (CompletionException e) {
      return e.getCause();
    }
  }
}
