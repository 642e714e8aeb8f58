package io.bittensor.core;

import static io.bittensor.core.testing.LedgerFixtures.FUNDS;
import static io.bittensor.core.testing.LedgerFixtures.authority;
import static io.bittensor.core.testing.LedgerFixtures.endpoint;
import static io.bittensor.core.testing.LedgerFixtures.genesis;
import static io.bittensor.core.testing.LedgerFixtures.key;
import static io.bittensor.core.testing.LedgerFixtures.params;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.bittensor.incentive.ConsensusPeg;
import io.bittensor.incentive.EpochResult;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.incentive.NetworkState;
import io.bittensor.incentive.PaperParams;
import io.bittensor.incentive.PeerMatrix;
import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.Timeout;

/**
 * The behaviour every {@link Ledger} must have, run against each implementation by a subclass
 * (Ratis' {@code RaftBasicTests} pattern). Subclasses say how to open a ledger and how to seal a
 * block.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
abstract class LedgerContract {
  /** Mints this many units per epoch in contract ledgers (the paper's mechanism otherwise). */
  static final double TAU = 1000;

  private final List<Ledger> opened = new ArrayList<>();

  /** A new, empty ledger with this genesis, the paper's mechanism minting {@link #TAU}. */
  protected abstract Ledger create(Genesis genesis) throws IOException;

  /** Seals a block on {@code ledger} (blocks are produced on demand in the contract). */
  protected abstract Block seal(Ledger ledger) throws IOException;

  /** The ledger's full state hash, where the implementation exposes one. */
  protected Optional<Hash256> stateHash(Ledger ledger) {
    return Optional.empty();
  }

  static IncentiveMechanism mechanism() {
    return IncentiveMechanism.paper(PaperParams.defaults().withTau(TAU));
  }

  Ledger open(Genesis genesis) throws IOException {
    Ledger l = create(genesis);
    opened.add(l);
    return l;
  }

  @AfterEach
  void closeLedgers() {
    opened.forEach(Ledger::close);
  }

  // ---------------------------------------------------------------------------------------
  // Helpers

  /** Submits with the key's next nonce, seals a block, and returns the receipt. */
  Receipt accept(Ledger ledger, Keypair key, Transaction body) throws IOException {
    CompletableFuture<Receipt> f = ledger.submit(key, body);
    if (f.isCompletedExceptionally()) {
      fail(body + " from key " + key + " was refused: " + cause(f));
    }
    seal(ledger);
    return f.join();
  }

  static Throwable cause(CompletableFuture<?> f) {
    try {
      f.join();
      return null;
    } catch (CompletionException e) {
      return e.getCause();
    }
  }

  static RejectReason reason(CompletableFuture<Receipt> f) {
    assertTrue(f.isDone(), "a rejection is immediate");
    Throwable t = cause(f);
    TransactionRejectedException r = assertInstanceOf(TransactionRejectedException.class, t,
        "expected a rejection");
    return r.reason();
  }

  /** Registers keys {@code 0 .. n-1} and stakes {@code stake} on each, in one block. */
  void registerAndStake(Ledger ledger, int n, long stake) throws IOException {
    List<CompletableFuture<Receipt>> fs = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Keypair k = key(i);
      long nonce = ledger.nextNonce(k.id());
      fs.add(ledger.submit(SignedTransaction.sign(k, ledger.chainId(), nonce,
          Transaction.register(endpoint(i), Modality.TEXT))));
      if (stake > 0) {
        fs.add(ledger.submit(SignedTransaction.sign(k, ledger.chainId(), nonce + 1,
            Transaction.addStake(stake))));
      }
    }
    seal(ledger);
    for (CompletableFuture<Receipt> f : fs) {
      assertFalse(f.isCompletedExceptionally(), () -> "setup refused: " + cause(f));
    }
  }

  static long balance(Ledger ledger, Keypair k) throws IOException {
    return ledger.account(k.id()).map(Account::balance).orElse(0L);
  }

  // ---------------------------------------------------------------------------------------
  // Registration, tokens, weights

  /**
   * A registration burns {@code registrationBurn} (a key with less, or none, is refused) and a
   * block takes at most {@code maxRegistrationsPerBlock}; the one refused for the cap is taken
   * unchanged in the next block, and the supply shrinks by what was burned.
   */
  @Test
  void registrationsBurnTheirCostAndEachBlockTakesAtMostTheCap() throws IOException {
    LedgerParams p = new LedgerParams(1000, 8, 1000, 1, 0).withRegistrationBurn(250)
        .withMaxRegistrationsPerBlock(2);
    Genesis genesis = genesis(p, 3);
    Ledger ledger = open(genesis);
    assertEquals(RejectReason.INSUFFICIENT_BALANCE, reason(ledger.submit(
        sign(ledger, key(77), Transaction.register(endpoint(77), Modality.TEXT)))));
    List<SignedTransaction> txs = new ArrayList<>();
    List<CompletableFuture<Receipt>> fs = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      txs.add(sign(ledger, key(i), Transaction.register(endpoint(i), Modality.TEXT)));
      fs.add(ledger.submit(txs.get(i)));
    }
    assertEquals(RejectReason.TOO_MANY_REGISTRATIONS, reason(fs.get(2)));
    assertEquals(2, seal(ledger).transactions());
    CompletableFuture<Receipt> again = ledger.submit(txs.get(2));
    Block next = seal(ledger);
    assertEquals(next.number(), again.join().block(), "the same transaction, a block later");
    Metagraph m = ledger.metagraph();
    assertEquals(3, m.size());
    assertEquals(p, m.params());
    assertEquals(genesis.supply() - 3 * 250, m.supply());
    assertEquals(FUNDS - 250, balance(ledger, key(2)));
  }

  @Test
  void registrationsGetConsecutiveUidsAndTheMetagraphShowsThem() throws IOException {
    Ledger ledger = open(genesis(params(8), 3));
    for (int i = 0; i < 3; i++) {
      accept(ledger, key(i), Transaction.register(endpoint(i), Modality.values()[i]));
    }
    Metagraph m = ledger.metagraph();
    assertEquals(3, m.size());
    assertEquals(3, m.block().number());
    for (int i = 0; i < 3; i++) {
      assertEquals(i, m.uid(key(i).id()).getAsInt());
      PeerState p = m.peer(i);
      assertEquals(key(i).id(), p.id());
      assertEquals(endpoint(i), p.info().endpoint());
      assertEquals(Modality.values()[i], p.info().modality());
      assertEquals(i + 1, p.registeredAt(), "registered in block " + (i + 1));
      assertEquals(-1, p.lastUpdate(), "no weights yet");
      assertEquals(0, p.stake());
    }
    assertTrue(m.uid(key(7).id()).isEmpty());
    assertEquals(ledger.chainId(), m.chainId());
  }

  @Test
  void aPeerMovesToANewEndpointAndStaysTheSamePeer() throws IOException {
    Ledger ledger = open(genesis(params(8), 3));
    registerAndStake(ledger, 3, 500);
    accept(ledger, key(2), Transaction.setWeights(new int[] {0, 1}, new double[] {1, 3}));
    PeerState before = ledger.metagraph().peer(1);
    URI moved = URI.create("http://10.0.0.9:9191");
    accept(ledger, key(1), Transaction.serve(moved, Modality.IMAGE));
    Metagraph m = ledger.metagraph();
    PeerState after = m.peer(1);
    assertEquals(moved, after.info().endpoint());
    assertEquals(Modality.IMAGE, after.info().modality());
    assertEquals(key(1).id(), after.id());
    assertEquals(1, m.uid(key(1).id()).getAsInt(), "the same uid");
    assertEquals(before.stake(), after.stake());
    assertEquals(before.registeredAt(), after.registeredAt(), "not a new registration");
    assertEquals(0.75, m.weights().get(2, 1), 1e-12, "votes for it stand");
    assertEquals(endpoint(0), m.peer(0).info().endpoint(), "others are where they were");
    assertEquals(3, m.size());
  }

  @Test
  void aTransactionIsAcknowledgedOnlyWhenItsBlockIsSealed() throws IOException {
    Ledger ledger = open(genesis(params(8), 1));
    Block before = ledger.metagraph().block();
    SignedTransaction tx = SignedTransaction.sign(key(0), ledger.chainId(), 0,
        Transaction.transfer(key(5).id(), 10));
    CompletableFuture<Receipt> f = ledger.submit(tx);
    assertFalse(f.isDone(), "not acknowledged before its block is durable");
    assertEquals(before, ledger.metagraph().block(), "the metagraph shows durable blocks only");
    assertEquals(1, ledger.nextNonce(key(0).id()), "the nonce counts the accepted transaction");
    Block b = seal(ledger);
    Receipt r = f.join();
    assertEquals(new Receipt(tx.hash(), b.number(), 0), r);
    assertEquals(before.hash(), b.parent(), "blocks chain by hash");
    assertEquals(1, b.transactions());
  }

  @Test
  void transactionsSubmittedTogetherAreEachDecidedAsAlone() throws IOException {
    Ledger ledger = open(genesis(params(8), 2));
    Hash256 chain = ledger.chainId();
    List<SignedTransaction> txs = List.of(
        SignedTransaction.sign(key(0), chain, 0, Transaction.transfer(key(5).id(), 1)),
        SignedTransaction.sign(key(0), chain, 1, Transaction.transfer(key(5).id(), 2)),
        SignedTransaction.sign(key(1), chain, 0, Transaction.transfer(key(5).id(), 4)),
        SignedTransaction.sign(key(1), chain, 0, Transaction.transfer(key(5).id(), 8)),
        SignedTransaction.sign(key(1), Hash256.ZERO, 1, Transaction.transfer(key(5).id(), 16)));
    assertEquals(List.of(), ledger.submitAll(List.of()));
    List<CompletableFuture<Receipt>> fs = ledger.submitAll(txs);
    assertEquals(5, fs.size());
    assertEquals(RejectReason.NONCE_REUSED, reason(fs.get(3)), "key 1's nonce 0, taken");
    assertEquals(RejectReason.WRONG_CHAIN, reason(fs.get(4)));
    Block b = seal(ledger);
    for (int i = 0; i < 3; i++) {
      assertEquals(new Receipt(txs.get(i).hash(), b.number(), i), fs.get(i).join(),
          "sealed in the order given");
    }
    assertEquals(7, balance(ledger, key(5)));
    assertThrows(NullPointerException.class, () -> ledger.submitAll(null));
  }

  @Test
  void aBigBatchIsDecidedInOrderWithItsBadSignaturesRefused() throws IOException {
    int n = 40; // past the size from which a LocalLedger verifies a batch on several threads
    Ledger ledger = open(genesis(params(8), n));
    List<SignedTransaction> txs = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      SignedTransaction tx = SignedTransaction.sign(key(i), i == 25 ? Hash256.ZERO
          : ledger.chainId(), 0, Transaction.transfer(key(n).id(), i + 1));
      if (i == 17) {
        byte[] forged = tx.encode();
        forged[forged.length - 1] ^= 1; // the signature's last byte
        tx = SignedTransaction.decode(forged);
      }
      txs.add(tx);
    }
    List<CompletableFuture<Receipt>> fs = ledger.submitAll(txs);
    assertEquals(RejectReason.BAD_SIGNATURE, reason(fs.get(17)));
    assertEquals(RejectReason.WRONG_CHAIN, reason(fs.get(25)));
    Block b = seal(ledger);
    int index = 0;
    long paid = 0;
    for (int i = 0; i < n; i++) {
      if (i != 17 && i != 25) {
        assertEquals(new Receipt(txs.get(i).hash(), b.number(), index++), fs.get(i).join());
        paid += i + 1;
      }
    }
    assertEquals(paid, balance(ledger, key(n)));
  }

  @Test
  void transfersMoveTokensAndOpenTheRecipientsAccount() throws IOException {
    Ledger ledger = open(genesis(params(8), 1));
    long supply = ledger.metagraph().supply();
    accept(ledger, key(0), Transaction.transfer(key(9).id(), 1234));
    assertEquals(FUNDS - 1234, balance(ledger, key(0)));
    assertEquals(new Account(key(9).id(), 1234, 0), ledger.account(key(9).id()).orElseThrow());
    assertEquals(supply, ledger.metagraph().supply(), "a transfer creates nothing");
  }

  @Test
  void stakeMovesBetweenTheBalanceAndThePeerAndBack() throws IOException {
    Ledger ledger = open(genesis(params(8), 1));
    accept(ledger, key(0), Transaction.register(endpoint(0), Modality.TEXT));
    accept(ledger, key(0), Transaction.addStake(700));
    assertEquals(700, ledger.metagraph().stake(0));
    assertEquals(FUNDS - 700, balance(ledger, key(0)));
    accept(ledger, key(0), Transaction.removeStake(200));
    assertEquals(500, ledger.metagraph().stake(0));
    assertEquals(FUNDS - 500, balance(ledger, key(0)));
    assertEquals(500, ledger.metagraph().totalStake());
  }

  /** The limits are inclusive: all of a balance, all of a stake, maxPeers at the peers held. */
  @Test
  void everythingOneHoldsCanBeMovedAndTheRulesCanFitThePeersExactly() throws IOException {
    Ledger ledger = open(genesis(params(8), 3));
    registerAndStake(ledger, 3, 0);
    accept(ledger, key(0), Transaction.addStake(700));
    accept(ledger, key(0), Transaction.removeStake(700));
    assertEquals(0, ledger.metagraph().stake(0));
    assertEquals(FUNDS, balance(ledger, key(0)));
    accept(ledger, key(0), Transaction.transfer(key(9).id(), FUNDS));
    assertEquals(0, balance(ledger, key(0)));
    assertEquals(FUNDS, balance(ledger, key(9)));
    LedgerParams full = ledger.metagraph().params().withMaxPeers(3);
    accept(ledger, authority(), Transaction.changeParams(full));
    assertEquals(3, ledger.metagraph().params().maxPeers());
  }

  @Test
  void weightsAreKeptAsASortedRowOfNonZeroEntriesSummingToOne() throws IOException {
    Ledger ledger = open(genesis(params(8), 3));
    registerAndStake(ledger, 3, 0);
    Receipt r = accept(ledger, key(0), Transaction.setWeights(
        new int[] {2, 0, 1}, new double[] {3, 1, 0}));
    Metagraph m = ledger.metagraph();
    PeerMatrix w = m.weights();
    assertEquals(3, w.size());
    assertEquals(0.25, w.get(0, 0), 1e-15);
    assertEquals(0.0, w.get(0, 1));
    assertEquals(0.75, w.get(0, 2), 1e-15);
    assertEquals(2, w.nonZeroCount(), "zeros are dropped");
    assertEquals(r.block(), m.lastUpdate(0));
    assertEquals(-1, m.lastUpdate(1));
  }

  // ---------------------------------------------------------------------------------------
  // Epochs

  /** Three staked peers voting in a ring and for the first: a state with consensus. */
  private Ledger epochLedger() throws IOException {
    Ledger ledger = open(genesis(params(8), 3));
    registerAndStake(ledger, 3, 10_000);
    for (int i = 0; i < 3; i++) {
      ledger.submit(key(i), Transaction.setWeights(new int[] {0, (i + 1) % 3},
          new double[] {1, 1}));
    }
    return ledger;
  }

  @Test
  void anEpochMintsTauAsWholeUnitsAsTheMechanismSays() throws IOException {
    Ledger ledger = epochLedger();
    Block last = seal(ledger);
    Metagraph before = ledger.metagraph();
    while (!last.epoch()) {
      last = seal(ledger);
    }
    Metagraph after = ledger.metagraph();
    Epoch epoch = after.lastEpoch().orElseThrow();
    assertEquals(Optional.empty(), epoch.skipped());
    assertEquals(last.number(), epoch.block());
    assertEquals(1, epoch.number());
    assertEquals((long) TAU, epoch.minted());
    assertEquals(before.supply() + (long) TAU, after.supply());
    assertEquals(before.totalStake() + (long) TAU, after.totalStake());

    // The same epoch, run by the bare mechanism on the metagraph's state.
    EpochResult bare = mechanism().step(
        NetworkState.of(before.stakeVector(), before.weights()));
    for (int i = 0; i < 3; i++) {
      assertEquals(bare.emission().get(i), after.emission(i), 1.0, "emission of uid " + i);
      assertEquals(before.stake(i) + after.emission(i), after.stake(i));
      assertEquals(bare.incentive().get(i), after.incentive().get(i), 1e-15);
      assertEquals(bare.ranks().get(i), after.ranks().get(i), 1e-15);
      assertEquals(bare.trust().get(i), after.trust().get(i), 1e-15);
      assertEquals(bare.consensus().get(i), after.consensus().get(i), 1e-15);
      assertEquals(bare.dividends().get(i), after.dividends().get(i), 1e-15);
    }
    assertTrue(after.bonds().approximatelyEquals(bare.bonds(), 1e-15), "bonds");
    assertEquals(bare.loss(), epoch.loss(), 1e-15);
  }

  @Test
  void theConsensusPegRisesWhileTheLossIsPositive() throws IOException {
    Ledger ledger = open(genesis(params(8), 3));
    registerAndStake(ledger, 3, 10_000);
    // Each peer votes only for itself: nobody has majority trust, so L > 0.
    for (int i = 0; i < 3; i++) {
      ledger.submit(key(i), Transaction.setWeights(new int[] {i}, new double[] {1}));
    }
    int peg = ledger.metagraph().params().minAllowedWeights();
    for (int epoch = 1; epoch <= 2; epoch++) {
      Block b;
      do {
        b = seal(ledger);
      } while (!b.epoch());
      Epoch e = ledger.metagraph().lastEpoch().orElseThrow();
      assertTrue(e.loss() > 0, "loss " + e.loss());
      assertEquals(ConsensusPeg.of(peg).afterEpoch(e.loss(), 3).minAllowedWeights(),
          e.minAllowedWeights());
      peg = e.minAllowedWeights();
      assertEquals(peg, ledger.metagraph().params().minAllowedWeights());
    }
    assertEquals(3, peg, "raised from 1 by one per epoch");
    CompletableFuture<Receipt> f = ledger.submit(key(0),
        Transaction.setWeights(new int[] {0, 1}, new double[] {1, 1}));
    assertEquals(RejectReason.WEIGHTS_TOO_FEW, reason(f));
  }

  @Test
  void aPegAboveThePeersRegisteredAsksARowForEveryPeer() throws IOException {
    // Rules set for a larger market: no row of two peers could ever have four entries.
    Ledger ledger = open(genesis(params(8).withMinAllowedWeights(4), 2));
    registerAndStake(ledger, 2, 10);
    CompletableFuture<Receipt> one = ledger.submit(key(0),
        Transaction.setWeights(new int[] {1}, new double[] {1}));
    assertEquals(RejectReason.WEIGHTS_TOO_FEW, reason(one));
    assertTrue(cause(one).getMessage().contains("at least 2"), cause(one).getMessage());
    accept(ledger, key(0), Transaction.setWeights(new int[] {0, 1}, new double[] {0.2, 0.8}));
    double[] row = ledger.metagraph().weights().toArray()[0];
    assertEquals(0.8, row[1], 1e-12);
  }

  @Test
  void anEpochWithoutStakeIsSkippedAndMintsNothing() throws IOException {
    Ledger ledger = open(genesis(params(8), 2));
    registerAndStake(ledger, 2, 0);
    long supply = ledger.metagraph().supply();
    Block b;
    do {
      b = seal(ledger);
    } while (!b.epoch());
    Epoch e = ledger.metagraph().lastEpoch().orElseThrow();
    assertTrue(e.skipped().isPresent());
    assertEquals(0, e.minted());
    assertEquals(supply, ledger.metagraph().supply());
  }

  // ---------------------------------------------------------------------------------------
  // Replacement

  @Test
  void aFullLedgerReplacesTheLowestPruningScorePastImmunityAndReturnsItsStake()
      throws IOException {
    LedgerParams p = new LedgerParams(5, 3, 3, 1, 0);
    Ledger ledger = open(genesis(p, 5));
    registerAndStake(ledger, 3, 0);                       // block 1
    accept(ledger, key(1), Transaction.addStake(50));     // block 2
    accept(ledger, key(0), Transaction.addStake(10));     // block 3
    accept(ledger, key(2), Transaction.addStake(10));     // block 4
    // Only uid 1 votes, for uids 0 and 2: the epoch after block 5 pays uids 0 and 2 a quarter
    // of tau each (incentive) and uid 1 half (dividends through its bonds).
    ledger.submit(key(1), Transaction.setWeights(new int[] {0, 2}, new double[] {1, 1}));
    Block b = seal(ledger);
    assertTrue(b.epoch(), "block 5 ends the first epoch");
    Metagraph m = ledger.metagraph();
    assertEquals(m.emission(0), m.emission(2));
    assertTrue(m.emission(1) > m.emission(0));
    assertTrue(m.bonds().get(1, 0) > 0);
    // uids 0 and 2 tie on emission, stake and registration: the lower uid goes.
    long stakeOf0 = m.stake(0);
    long balanceOf0 = balance(ledger, key(0));
    accept(ledger, key(3), Transaction.register(endpoint(3), Modality.TEXT));   // block 6
    m = ledger.metagraph();
    assertEquals(3, m.size());
    assertEquals(0, m.uid(key(3).id()).getAsInt(), "uid 0 had the lowest score");
    assertTrue(m.uid(key(0).id()).isEmpty());
    assertEquals(balanceOf0 + stakeOf0, balance(ledger, key(0)), "its stake went home");
    assertEquals(0, m.stake(0));
    assertEquals(0.0, m.bonds().get(1, 0), "no bonds inherited");
    assertTrue(m.bonds().get(1, 2) > 0, "other bonds stay");
    assertEquals(0.0, m.weights().get(1, 0), "no votes inherited");
    assertEquals(1.0, m.weights().get(1, 2), 1e-15);
    // uid 0 is now immune; of uids 1 and 2, uid 2 earned less.
    accept(ledger, key(4), Transaction.register(endpoint(4), Modality.TEXT));   // block 7
    assertEquals(2, ledger.metagraph().uid(key(4).id()).getAsInt());
  }

  /**
   * Before any epoch every emission is 0: the lower stake goes first, then the earlier
   * registration; a peer is replaceable from exactly {@code immunityPeriod} blocks after its own.
   */
  @Test
  void onEqualEmissionTheLowerStakeThenTheEarlierRegistrationGoesAndImmunityEndsOnTime()
      throws IOException {
    LedgerParams p = new LedgerParams(1000, 3, 2, 1, 0);
    Ledger ledger = open(genesis(p, 6));
    accept(ledger, key(0), Transaction.register(endpoint(0), Modality.TEXT)); // block 1: uid 0
    accept(ledger, key(1), Transaction.register(endpoint(1), Modality.TEXT)); // block 2: uid 1
    accept(ledger, key(0), Transaction.addStake(20));                          // block 3
    accept(ledger, key(1), Transaction.addStake(10));                          // block 4
    accept(ledger, key(2), Transaction.register(endpoint(2), Modality.TEXT)); // block 5: uid 2
    accept(ledger, key(0), Transaction.addStake(1));                           // block 6
    // Block 7: uid 2 is exactly two blocks old, so no longer immune, and has no stake.
    accept(ledger, key(3), Transaction.register(endpoint(3), Modality.TEXT));
    Metagraph m = ledger.metagraph();
    assertEquals(2, m.uid(key(3).id()).getAsInt(), "the stakeless peer, just out of immunity");
    assertTrue(m.uid(key(2).id()).isEmpty());
    // Block 8: uid 2 is immune again; of uids 0 (stake 21) and 1 (10), the lower stake goes
    // although uid 0 registered first.
    accept(ledger, key(4), Transaction.register(endpoint(4), Modality.TEXT));
    m = ledger.metagraph();
    assertEquals(1, m.uid(key(4).id()).getAsInt(), "the lower stake");
    accept(ledger, key(0), Transaction.removeStake(21));                       // block 9
    // Block 10: uids 0 (registered in block 1), 1 (block 8) and 2 (block 7) all hold nothing
    // and are past immunity: the earliest registration goes, then block 7's.
    accept(ledger, key(5), Transaction.register(endpoint(5), Modality.TEXT));
    m = ledger.metagraph();
    assertEquals(0, m.uid(key(5).id()).getAsInt(), "the earliest registration");
    accept(ledger, key(0), Transaction.register(endpoint(0), Modality.TEXT)); // block 11
    assertEquals(2, ledger.metagraph().uid(key(0).id()).getAsInt(),
        "then the registration of block 7 before that of block 8");
  }

  @Test
  void aFullLedgerOfImmunePeersRejectsRegistrations() throws IOException {
    LedgerParams p = new LedgerParams(5, 2, 100, 1, 0);
    Ledger ledger = open(genesis(p, 3));
    registerAndStake(ledger, 2, 0);
    assertEquals(RejectReason.NETWORK_FULL,
        reason(ledger.submit(key(2), Transaction.register(endpoint(2), Modality.TEXT))));
  }

  @Test
  void votesForAReplacedPeerAreDroppedAndRowsRenormalized() throws IOException {
    LedgerParams p = new LedgerParams(1000, 3, 0, 1, 0);
    Ledger ledger = open(genesis(p, 4));
    registerAndStake(ledger, 3, 0);
    accept(ledger, key(1), Transaction.addStake(5));
    accept(ledger, key(2), Transaction.addStake(5));
    accept(ledger, key(1), Transaction.setWeights(new int[] {0, 2}, new double[] {1, 3}));
    accept(ledger, key(3), Transaction.register(endpoint(3), Modality.TEXT));
    Metagraph m = ledger.metagraph();
    assertEquals(0, m.uid(key(3).id()).getAsInt(), "uid 0 had no stake");
    assertEquals(0.0, m.weights().get(1, 0), "the vote for the old uid 0 is gone");
    assertEquals(1.0, m.weights().get(1, 2), 1e-15, "the row sums to 1 again");
  }

  /**
   * Keys 0 to 2 register (block 1), keys 1 and 2 stake (blocks 2, 3), and key 3 takes over key
   * 0's uid 0 (block 4).
   *
   * @return block 3, the last in which key 0 held uid 0
   */
  private long replaceUidZero(Ledger ledger) throws IOException {
    registerAndStake(ledger, 3, 0);
    accept(ledger, key(1), Transaction.addStake(5));
    accept(ledger, key(2), Transaction.addStake(5));
    long seen = ledger.metagraph().block().number();
    accept(ledger, key(3), Transaction.register(endpoint(3), Modality.TEXT));
    assertEquals(0, ledger.metagraph().uid(key(3).id()).getAsInt(), "uid 0 had no stake");
    return seen;
  }

  /**
   * A row made as of a block, landing after one of its peers was replaced, drops that entry
   * instead of voting for the newcomer; a row with no block votes for whoever holds the uid.
   */
  @Test
  void aRowInFlightDuringAReplacementDoesNotVoteForTheNewcomer() throws IOException {
    Ledger ledger = open(genesis(new LedgerParams(1000, 3, 0, 1, 0), 4));
    long seen = replaceUidZero(ledger);
    // Both rows were made from block 3's metagraph, where uid 0 was key 0.
    accept(ledger, key(1), Transaction.setWeights(new int[] {0, 2}, new double[] {1, 3}, seen));
    accept(ledger, key(2), Transaction.setWeights(new int[] {0, 1}, new double[] {1, 1}));
    Metagraph m = ledger.metagraph();
    assertEquals(0.0, m.weights().get(1, 0), "the entry meant the peer that uid 0 no longer is");
    assertEquals(1.0, m.weights().get(1, 2), 1e-15, "the rest sums to 1");
    assertEquals(0.5, m.weights().get(2, 0), 1e-15, "a row with no block names the newcomer");
    // A row made as of the block it would land in, or later, names a metagraph not sealed yet.
    long next = m.block().number() + 1;
    CompletableFuture<Receipt> ahead = ledger.submit(key(2),
        Transaction.setWeights(new int[] {1}, new double[] {1}, next));
    assertEquals(RejectReason.MALFORMED, reason(ahead));
    assertTrue(cause(ahead).getMessage().contains("made as of block " + next
        + ", which is not sealed before block " + next), cause(ahead).getMessage());
  }

  /** The entries a row keeps must still meet the consensus peg. */
  @Test
  void aRowInFlightThatKeepsTooFewEntriesIsRejected() throws IOException {
    Ledger ledger = open(genesis(new LedgerParams(1000, 3, 0, 2, 0), 4));
    long seen = replaceUidZero(ledger);
    CompletableFuture<Receipt> f = ledger.submit(key(1),
        Transaction.setWeights(new int[] {0, 2}, new double[] {1, 3}, seen));
    assertEquals(RejectReason.WEIGHTS_TOO_FEW, reason(f));
    assertTrue(cause(f).getMessage().contains("the row keeps 1 of its 2 non-zero weights, the"
        + " others naming uids taken over by peers registered after block 3"),
        cause(f).getMessage());
    // Made from the metagraph after the replacement, the same uids are taken as they are.
    accept(ledger, key(1), Transaction.setWeights(new int[] {0, 2}, new double[] {1, 3},
        ledger.metagraph().block().number()));
    assertEquals(0.25, ledger.metagraph().weights().get(1, 0), 1e-15);
  }

  // ---------------------------------------------------------------------------------------
  // Rules

  @Test
  void theAuthorityChangesTheRules() throws IOException {
    Ledger ledger = open(genesis(params(8), 1));
    LedgerParams next = ledger.metagraph().params().withEpochLength(7).withMaxPeers(16);
    accept(ledger, authority(), Transaction.changeParams(next));
    assertEquals(next, ledger.metagraph().params());
  }

  @Test
  void weightsFasterThanTheRateLimitAreRejectedUntilItPasses() throws IOException {
    LedgerParams p = new LedgerParams(1000, 8, 0, 1, 3);
    Ledger ledger = open(genesis(p, 2));
    registerAndStake(ledger, 2, 0);
    Transaction row = Transaction.setWeights(new int[] {1}, new double[] {1});
    Receipt first = accept(ledger, key(0), row);
    assertEquals(RejectReason.RATE_LIMITED, reason(ledger.submit(key(0), row)));
    seal(ledger);
    assertEquals(RejectReason.RATE_LIMITED, reason(ledger.submit(key(0), row)));
    seal(ledger);
    Receipt second = accept(ledger, key(0), row);
    assertEquals(first.block() + 3, second.block());
  }

  // ---------------------------------------------------------------------------------------
  // Every rejection reason, and that a rejection changes nothing

  private record Case(String name, RejectReason expected, Supplier<SignedTransaction> tx) {}

  @TestFactory
  Stream<DynamicTest> everyRejectionReasonIsReportedAndChangesNothing() throws IOException {
    // maxPeers 4 with 3 registered: uid 3 is in range but unknown, uid 4 out of range.
    LedgerParams p = new LedgerParams(1000, 4, 1000, 2, 100);
    Ledger ledger = open(genesis(p, 4));
    registerAndStake(ledger, 3, 1000);
    accept(ledger, key(0), Transaction.setWeights(new int[] {1, 2}, new double[] {1, 1}));
    Hash256 chain = ledger.chainId();
    Keypair stranger = key(77);

    List<Case> cases = List.of(
        new Case("a zero transfer", RejectReason.MALFORMED,
            () -> sign(ledger, key(3), Transaction.transfer(key(0).id(), 0))),
        new Case("a zero unstake", RejectReason.MALFORMED,
            () -> sign(ledger, key(1), Transaction.removeStake(0))),
        new Case("a negative stake", RejectReason.MALFORMED,
            () -> sign(ledger, key(0), Transaction.addStake(-5))),
        new Case("a relative endpoint", RejectReason.MALFORMED,
            () -> sign(ledger, key(3), Transaction.register(URI.create("peer-host/8091"),
                Modality.TEXT))),
        new Case("protocol version 0", RejectReason.MALFORMED,
            () -> sign(ledger, key(3), new Transaction.Register(endpoint(3), Modality.TEXT, 0))),
        new Case("a uid given twice", RejectReason.MALFORMED,
            () -> sign(ledger, key(1), Transaction.setWeights(new int[] {0, 0},
                new double[] {1, 1}))),
        new Case("another chain", RejectReason.WRONG_CHAIN,
            () -> SignedTransaction.sign(key(0), Hash256.of(new byte[] {1}),
                nonce(ledger, key(0)), Transaction.addStake(1))),
        new Case("a forged signature", RejectReason.BAD_SIGNATURE,
            () -> SignedTransaction.of(chain, key(0).id(), nonce(ledger, key(0)),
                Transaction.removeStake(1000), key(1).sign(new byte[] {1}))),
        new Case("a used nonce", RejectReason.NONCE_REUSED,
            () -> SignedTransaction.sign(key(0), chain, 0, Transaction.addStake(1))),
        new Case("a nonce ahead", RejectReason.NONCE_WRONG,
            () -> SignedTransaction.sign(key(0), chain, nonce(ledger, key(0)) + 1,
                Transaction.addStake(1))),
        new Case("an unknown account", RejectReason.UNKNOWN_ACCOUNT,
            () -> sign(ledger, stranger, Transaction.transfer(key(0).id(), 1))),
        new Case("a second registration", RejectReason.ALREADY_REGISTERED,
            () -> sign(ledger, key(1), Transaction.register(endpoint(9), Modality.TEXT))),
        new Case("stake without a peer", RejectReason.NOT_REGISTERED,
            () -> sign(ledger, key(3), Transaction.addStake(1))),
        new Case("a move without a peer", RejectReason.NOT_REGISTERED,
            () -> sign(ledger, key(3), Transaction.serve(endpoint(9), Modality.TEXT))),
        new Case("a move to a relative endpoint", RejectReason.MALFORMED,
            () -> sign(ledger, key(1), Transaction.serve(URI.create("peer-host/8091"),
                Modality.TEXT))),
        new Case("a move with protocol version 0", RejectReason.MALFORMED,
            () -> sign(ledger, key(1), new Transaction.Serve(endpoint(9), Modality.TEXT, 0))),
        new Case("a move from an unknown account", RejectReason.UNKNOWN_ACCOUNT,
            () -> sign(ledger, stranger, Transaction.serve(endpoint(9), Modality.TEXT))),
        new Case("weights without a peer", RejectReason.NOT_REGISTERED,
            () -> sign(ledger, key(3), Transaction.setWeights(new int[] {0, 1},
                new double[] {1, 1}))),
        new Case("more than the balance", RejectReason.INSUFFICIENT_BALANCE,
            () -> sign(ledger, key(3), Transaction.transfer(key(0).id(), FUNDS + 1))),
        new Case("more than the stake", RejectReason.INSUFFICIENT_STAKE,
            () -> sign(ledger, key(1), Transaction.removeStake(1001))),
        new Case("a NaN weight", RejectReason.WEIGHTS_NOT_FINITE,
            () -> sign(ledger, key(1), Transaction.setWeights(new int[] {0, 2},
                new double[] {Double.NaN, 1}))),
        new Case("an infinite weight", RejectReason.WEIGHTS_NOT_FINITE,
            () -> sign(ledger, key(1), Transaction.setWeights(new int[] {0, 2},
                new double[] {1, Double.POSITIVE_INFINITY}))),
        new Case("a negative weight", RejectReason.WEIGHTS_NEGATIVE,
            () -> sign(ledger, key(1), Transaction.setWeights(new int[] {0, 2},
                new double[] {-0.5, 1}))),
        new Case("a uid beyond maxPeers", RejectReason.WEIGHTS_OUT_OF_RANGE,
            () -> sign(ledger, key(1), Transaction.setWeights(new int[] {0, 4},
                new double[] {1, 1}))),
        new Case("a negative uid", RejectReason.WEIGHTS_OUT_OF_RANGE,
            () -> sign(ledger, key(1), Transaction.setWeights(new int[] {-1, 0},
                new double[] {1, 1}))),
        new Case("a uid nobody holds", RejectReason.WEIGHTS_UNKNOWN_UID,
            () -> sign(ledger, key(1), Transaction.setWeights(new int[] {0, 3},
                new double[] {1, 1}))),
        new Case("fewer weights than the peg", RejectReason.WEIGHTS_TOO_FEW,
            () -> sign(ledger, key(1), Transaction.setWeights(new int[] {0, 2},
                new double[] {1, 0}))),
        new Case("weights again too soon", RejectReason.RATE_LIMITED,
            () -> sign(ledger, key(0), Transaction.setWeights(new int[] {1, 2},
                new double[] {1, 1}))),
        new Case("rules from a peer", RejectReason.NOT_AUTHORITY,
            () -> sign(ledger, key(0), Transaction.changeParams(p.withEpochLength(2)))),
        new Case("maxPeers below the peers", RejectReason.INVALID_PARAMS,
            () -> sign(ledger, authority(), Transaction.changeParams(p.withMaxPeers(2)
                .withMinAllowedWeights(1)))));

    Set<RejectReason> covered = EnumSet.noneOf(RejectReason.class);
    cases.forEach(c -> covered.add(c.expected()));
    Set<RejectReason> elsewhere = EnumSet.of(RejectReason.NETWORK_FULL, RejectReason.BUSY,
        RejectReason.TOO_MANY_REGISTRATIONS);
    List<DynamicTest> tests = new ArrayList<>();
    tests.add(DynamicTest.dynamicTest("the table covers every reason", () -> {
      Set<RejectReason> all = EnumSet.allOf(RejectReason.class);
      all.removeAll(elsewhere);
      assertEquals(all, covered);
    }));
    for (Case c : cases) {
      tests.add(DynamicTest.dynamicTest(c.name() + " -> " + c.expected(), () -> {
        Metagraph before = ledger.metagraph();
        Optional<Hash256> hash = stateHash(ledger);
        long[] nonces = {nonce(ledger, key(0)), nonce(ledger, key(1)), nonce(ledger, key(3)),
            nonce(ledger, authority())};
        long[] balances = {balance(ledger, key(0)), balance(ledger, key(1)),
            balance(ledger, key(3))};
        CompletableFuture<Receipt> f = ledger.submit(c.tx().get());
        assertEquals(c.expected(), reason(f), () -> String.valueOf(cause(f)));
        assertFalse(((TransactionRejectedException) cause(f)).detail().isBlank());
        assertEquals(hash, stateHash(ledger), "a rejection changes nothing");
        assertArrayEquals(nonces, new long[] {nonce(ledger, key(0)), nonce(ledger, key(1)),
            nonce(ledger, key(3)), nonce(ledger, authority())});
        assertArrayEquals(balances, new long[] {balance(ledger, key(0)),
            balance(ledger, key(1)), balance(ledger, key(3))});
        Block b = seal(ledger);
        assertEquals(0, b.transactions(), "nothing was queued");
        assertEquals(before.stakeVector(), ledger.metagraph().stakeVector());
        assertEquals(before.weights(), ledger.metagraph().weights());
        assertEquals(before.params(), ledger.metagraph().params());
      }));
    }
    return tests.stream();
  }

  static SignedTransaction sign(Ledger ledger, Keypair key, Transaction body) {
    return SignedTransaction.sign(key, ledger.chainId(), nonce(ledger, key), body);
  }

  static long nonce(Ledger ledger, Keypair key) {
    try {
      return ledger.nextNonce(key.id());
    } catch (LedgerException e) {
      throw new IllegalStateException(e);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Events and lifecycle

  @Test
  void listenersHearEveryBlockAndEpochInOrderUntilUnsubscribed() throws IOException {
    Ledger ledger = epochLedger();
    List<String> heard = new ArrayList<>();
    Ledger.Subscription s = ledger.subscribe(new LedgerListener() {
      @Override
      public void onBlock(Block block, Metagraph after) {
        assertEquals(block, after.block());
        heard.add("block " + block.number());
      }

      @Override
      public void onEpoch(Epoch epoch, Metagraph after) {
        heard.add("epoch " + epoch.number() + " after " + epoch.block());
      }
    });
    long start = ledger.metagraph().block().number();
    for (int i = 0; i < 5; i++) {
      seal(ledger);
    }
    List<String> expected = new ArrayList<>();
    for (long n = start + 1; n <= start + 5; n++) {
      if (n % 5 == 0) {
        expected.add("epoch 1 after " + n);
      }
      expected.add("block " + n);
    }
    assertEquals(expected, heard);
    s.close();
    s.close();
    seal(ledger);
    assertEquals(expected.size(), heard.size(), "nothing after close");
  }

  @Test
  void membersAreTheKeysRegisteredAsOfTheLatestBlock() throws IOException {
    Ledger ledger = open(genesis(params(8), 3));
    LedgerMembers members = LedgerMembers.follow(ledger);
    LedgerMembers staked = LedgerMembers.follow(ledger, 100);
    assertFalse(members.test(key(0).id()), "registered nowhere yet");
    accept(ledger, key(0), Transaction.register(endpoint(0), Modality.TEXT));
    assertEquals(ledger.metagraph().block(), members.metagraph().block(), "followed");
    assertTrue(members.test(key(0).id()));
    assertFalse(members.test(key(1).id()), "funded, not registered");
    assertFalse(staked.test(key(0).id()), "no stake yet");
    accept(ledger, key(0), Transaction.addStake(99));
    assertFalse(staked.test(key(0).id()), "99 < 100");
    accept(ledger, key(0), Transaction.addStake(1));
    assertTrue(staked.test(key(0).id()), "100: the bound is inclusive");
    members.close();
    members.close();
    accept(ledger, key(1), Transaction.register(endpoint(1), Modality.TEXT));
    assertFalse(members.test(key(1).id()), "closed: it answers from what it held");
    assertTrue(staked.test(key(0).id()));
    staked.close();
    assertThrows(IllegalArgumentException.class, () -> LedgerMembers.follow(ledger, -1));
  }

  @Test
  void aThrowingListenerDoesNotStopTheLedger() throws IOException {
    Ledger ledger = open(genesis(params(8), 1));
    ledger.subscribe(new LedgerListener() {
      @Override
      public void onBlock(Block block, Metagraph after) {
        throw new IllegalStateException("listener bug");
      }
    });
    Receipt r = accept(ledger, key(0), Transaction.transfer(key(1).id(), 1));
    assertEquals(1, r.block());
    accept(ledger, key(0), Transaction.transfer(key(1).id(), 1));
    assertEquals(2, balance(ledger, key(1)));
  }

  @Test
  void closeFailsUnsealedTransactionsAndIsIdempotent() throws IOException {
    Ledger ledger = open(genesis(params(8), 1));
    CompletableFuture<Receipt> f = ledger.submit(key(0), Transaction.transfer(key(1).id(), 1));
    ledger.close();
    ledger.close();
    assertInstanceOf(LedgerException.class, cause(f));
    assertFalse(cause(f) instanceof TransactionRejectedException);
    assertThrows(IllegalStateException.class, ledger::metagraph);
    assertThrows(IllegalStateException.class,
        () -> ledger.submit(key(0), Transaction.transfer(key(1).id(), 1)));
  }
}
