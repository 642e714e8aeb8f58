package io.bittensor.neuron.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.Account;
import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Genesis;
import io.bittensor.core.Hash256;
import io.bittensor.core.Keypair;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerException;
import io.bittensor.core.LedgerListener;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Modality;
import io.bittensor.core.PeerId;
import io.bittensor.core.Receipt;
import io.bittensor.core.RejectReason;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Transaction;
import io.bittensor.core.TransactionRejectedException;
import java.net.URI;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The registrar alone, over a real in-memory ledger that takes one registration a block and
 * seals blocks only when the test does. A registration is refused by the cap when the watched
 * ledger puts another key's registration in the block first; what the registrar draws is
 * checked against a {@link Random} of the same seed.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RegistrarTest {
  private static final URI ENDPOINT = URI.create("http://127.0.0.1:7001");
  /** Long enough that no back-off fires in a test that seals its blocks itself. */
  private static final long NEVER_MS = 600_000;
  private static final Pattern REFUSED = Pattern.compile(
      "registration refused at attempt (\\d+) \\(.*TOO_MANY_REGISTRATIONS.*\\): registering"
          + " again (?:at the ledger's next block|after (\\d+) of its blocks),"
          + " or in (\\d+) ms should none come");

  private final Keypair key = Keypair.generate();
  private final Keypair[] fillers = new Keypair[12];
  private final BlockingQueue<String> events = new LinkedBlockingQueue<>();
  private final AtomicBoolean closed = new AtomicBoolean();
  private LocalLedger local;
  private Watched ledger;

  @BeforeEach
  void openLedger() {
    Genesis.Builder g = Genesis.builder()
        .params(LedgerParams.defaults().withMaxRegistrationsPerBlock(1))
        .allocate(key.id(), 1_000_000);
    for (int i = 0; i < fillers.length; i++) {
      fillers[i] = Keypair.generate();
      g.allocate(fillers[i].id(), 1_000_000);
    }
    local = LocalLedger.builder().genesis(g.build()).blocks(BlockPolicy.manual())
        .openInMemory();
    ledger = new Watched(local, key.id(), fillers);
  }

  @AfterEach
  void closeLedger() {
    local.close();
  }

  /** The latest registrar made, for what a failed assertion says of its result. */
  private Registrar made;

  private Registrar registrar(long stake, long seed, long firstBackoffMs, long maxBackoffMs) {
    return made = new Registrar(ledger, key, Modality.TEXT, ENDPOINT, stake, closed::get,
        () -> null, events::add, new Random(seed), firstBackoffMs, maxBackoffMs);
  }

  /** Taken at the first attempt: the stake in the same block, the receipt its, no event. */
  @Test
  void aRegistrationTheLedgerTakesLandsWithItsStakeInOneBlockAndTellsNothing() throws Exception {
    Registrar r = registrar(500, 1, NEVER_MS, NEVER_MS);
    r.attempt();
    assertFalse(r.result().isDone(), "sealed only with the block");
    local.produceBlock();
    Receipt receipt = r.result().get(10, TimeUnit.SECONDS);
    assertEquals(1, receipt.block());
    List<SignedTransaction> sent = ledger.sent;
    assertEquals(2, sent.size(), "the registration and the stake: " + sent);
    assertInstanceOf(Transaction.Register.class, sent.get(0).body());
    assertEquals(new Transaction.AddStake(500), sent.get(1).body());
    assertEquals(sent.get(0).nonce() + 1, sent.get(1).nonce(), "the stake signed after it");
    assertEquals(sent.get(1).hash(), receipt.transaction(), "the receipt is the stake's");
    Metagraph m = local.metagraph();
    assertEquals(500, m.stake(m.uid(key.id()).orElseThrow()));
    assertEquals(ENDPOINT, m.info(m.uid(key.id()).orElseThrow()).endpoint());
    assertEquals(List.of(), List.copyOf(events), "nothing to tell of a first attempt");
    assertEquals(0, ledger.subscriptions.get(), "no block to wait for, no subscription");
  }

  /** Without a stake, only the registration is sent, and the receipt is its. */
  @Test
  void withoutAStakeTheReceiptIsTheRegistrations() throws Exception {
    Registrar r = registrar(0, 1, NEVER_MS, NEVER_MS);
    r.attempt();
    local.produceBlock();
    Receipt receipt = r.result().get(10, TimeUnit.SECONDS);
    assertEquals(1, ledger.sent.size(), ledger.sent::toString);
    assertEquals(ledger.sent.get(0).hash(), receipt.transaction());
    assertEquals(0, local.metagraph().stake(local.metagraph().uid(key.id()).orElseThrow()));
  }

  /**
   * Refused by the cap at its first attempt, it is sent again once the ledger's next block has
   * come (a window of one block), and lands in the block after; the listener hears the refusal
   * and the late landing, and the subscription it took to hear the block is closed.
   */
  @Test
  void refusedByTheCapItIsSentAgainAtTheNextBlockAndLandsInTheOneAfter() throws Exception {
    ledger.toRefuse.set(1);
    Registrar r = registrar(250, 5, NEVER_MS, NEVER_MS);
    r.attempt();
    assertEquals(0L, ledger.sentAt.poll(10, TimeUnit.SECONDS));
    Matcher refused = refusal(1);
    assertNull(refused.group(2), "one block: " + refused.group());
    assertEquals(draws(5, 1, NEVER_MS, NEVER_MS)[0][1], Long.parseLong(refused.group(3)));
    assertEquals(1, ledger.subscriptions.get(), "subscribed to hear the block");
    assertEquals(1, ledger.registrationsSent());
    assertTrue(ledger.others.isEmpty(), "the stake is not sent after a refusal: " + ledger.sent);
    local.produceBlock(); // holds the other key's registration
    assertEquals(1L, ledger.sentAt.poll(10, TimeUnit.SECONDS), "sent again after block 1");
    assertEquals(new Transaction.AddStake(250), ledger.others.poll(10, TimeUnit.SECONDS),
        "with its stake this time");
    local.produceBlock();
    Receipt receipt = r.result().get(10, TimeUnit.SECONDS);
    assertEquals(2, receipt.block());
    assertEquals("registered in block 2 at attempt 2", events.poll(10, TimeUnit.SECONDS));
    Metagraph m = local.metagraph();
    assertEquals(250, m.stake(m.uid(key.id()).orElseThrow()), "with its stake");
    assertEquals(0, ledger.subscriptions.get(), "closed once registered");
    assertEquals(1, ledger.subscribed.get(), "subscribed once");
  }

  /**
   * Refused eight times in a row, it waits after its k-th refusal a number of blocks drawn from
   * 1 to 2^(k-1), at most 64, exactly the draw of a Random of its seed, and is not sent again
   * before they have come; the back-off, should no block come, doubles from its first to its
   * longest, each drawn from half of it to all of it.
   */
  @Test
  void refusedAgainAndAgainItWaitsADrawnNumberOfBlocksInAWindowThatDoublesToSixtyFour()
      throws Exception {
    int refusals = 8;
    long seed = 11;
    long first = 300_000;
    long longest = 20 * 60_000;
    long[][] expected = draws(seed, refusals, first, longest);
    ledger.toRefuse.set(refusals);
    Registrar r = registrar(0, seed, first, longest);
    r.attempt();
    long height = 0;
    assertEquals(height, ledger.sentAt.poll(10, TimeUnit.SECONDS));
    for (int k = 1; k <= refusals; k++) {
      Matcher refused = refusal(k);
      long blocks = refused.group(2) == null ? 1 : Long.parseLong(refused.group(2));
      long window = Math.min(Registrar.MAX_SPREAD_BLOCKS, 1L << (k - 1));
      assertTrue(blocks >= 1 && blocks <= window, "refusal " + k + ": " + blocks);
      assertEquals(expected[k - 1][0], blocks, "blocks after refusal " + k);
      long backoff = Math.min(longest, first << (k - 1));
      long delay = Long.parseLong(refused.group(3));
      assertTrue(delay >= backoff / 2 && delay <= backoff, "refusal " + k + ": " + delay);
      assertEquals(expected[k - 1][1], delay, "back-off after refusal " + k);
      for (long b = 1; b < blocks; b++) {
        local.produceBlock();
        assertTrue(ledger.sentAt.isEmpty(), "refusal " + k + ": sent again after " + b
            + " of " + blocks + " blocks");
      }
      local.produceBlock();
      height += blocks;
      assertEquals(height, ledger.sentAt.poll(10, TimeUnit.SECONDS),
          "sent again once the " + blocks + " blocks after refusal " + k + " have come");
    }
    local.produceBlock();
    Receipt receipt = r.result().get(10, TimeUnit.SECONDS);
    assertEquals(height + 1, receipt.block());
    assertEquals("registered in block " + (height + 1) + " at attempt " + (refusals + 1),
        events.poll(10, TimeUnit.SECONDS));
    assertEquals(0, ledger.subscriptions.get(), "closed once registered");
    assertEquals(1, ledger.subscribed.get(), "subscribed once, at the first refusal");
  }

  /**
   * On a ledger that seals no block, it is sent again each time its back-off has passed: 20 ms
   * doubling to 50 here, each drawn from half of it to all of it as a Random of its seed draws.
   */
  @Test
  void withNoBlockItIsSentAgainWhenItsJitteredBackOffHasPassed() throws Exception {
    int refusals = 4;
    long seed = 3;
    long[][] expected = draws(seed, refusals + 1, 20, 50);
    ledger.toRefuse.set(1); // the block being built holds another registration; none is sealed
    Registrar r = registrar(0, seed, 20, 50);
    r.attempt();
    for (int k = 1; k <= refusals; k++) {
      assertEquals(0L, ledger.sentAt.poll(10, TimeUnit.SECONDS), "attempt " + k);
      Matcher refused = refusal(k);
      assertEquals(expected[k - 1][1], Long.parseLong(refused.group(3)), "refusal " + k);
    }
    assertEquals(0L, ledger.sentAt.poll(10, TimeUnit.SECONDS), "attempt " + (refusals + 1));
    refusal(refusals + 1);
    for (int k = 1; k <= refusals; k++) {
      long waited = ledger.sentNanos.get(k) - ledger.sentNanos.get(k - 1);
      // The back-off starts after the submission that was refused: never less than it.
      assertTrue(waited >= TimeUnit.MILLISECONDS.toNanos(expected[k - 1][1]),
          "sent again " + waited + " ns after refusal " + k + ", drawn "
              + expected[k - 1][1] + " ms");
    }
    closed.set(true);
    r.stop();
    Throwable failure = failure(r);
    assertTrue(failure.getMessage().contains("closed while its registration waited"),
        failure::getMessage);
  }

  /**
   * A block sealed after it was sent but before its refusal is heard counts towards the wait:
   * with a wait of one block, it is sent again at once, with no other block.
   */
  @Test
  void aBlockSealedWhileItsRefusalWasOnItsWayCountsTowardsTheWait() throws Exception {
    long seed = seedWhoseSecondWaitIsOneBlock();
    ledger.toRefuse.set(2);
    Registrar r = registrar(0, seed, NEVER_MS, NEVER_MS);
    r.attempt();
    assertEquals(0L, ledger.sentAt.poll(10, TimeUnit.SECONDS));
    refusal(1);
    ledger.sealAfterNextRefusal.set(true);
    local.produceBlock();
    assertEquals(1L, ledger.sentAt.poll(10, TimeUnit.SECONDS), "sent again after block 1");
    refusal(2); // refused, as block 2 is sealed by another thread before the refusal is heard
    assertEquals(2L, ledger.sentAt.poll(10, TimeUnit.SECONDS),
        "block 2 was the one to wait for: sent again with no other");
    local.produceBlock();
    assertEquals(3, r.result().get(10, TimeUnit.SECONDS).block());
  }

  /**
   * A refused registration is sent again while an application keeps every worker of the common
   * pool busy: the retry runs on the registrar's own thread. On the common pool it waited for a
   * free worker, which a pool of several has ({@link CompletableFuture} starts a thread per task
   * only for a pool of one): this module's tests run with four.
   */
  @Test
  void aRefusedRegistrationIsSentAgainWhileTheCommonPoolIsBusy() throws Exception {
    int workers = ForkJoinPool.getCommonPoolParallelism();
    assertTrue(workers > 1, "the common pool has " + workers + " worker(s): run with"
        + " -Djava.util.concurrent.ForkJoinPool.common.parallelism=4, as the module's pom does");
    CountDownLatch busy = new CountDownLatch(workers);
    CountDownLatch done = new CountDownLatch(1);
    try {
      for (int i = 0; i < workers; i++) {
        ForkJoinPool.commonPool().execute(() -> {
          busy.countDown();
          try {
            done.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        });
      }
      assertTrue(busy.await(10, TimeUnit.SECONDS), "every worker of the common pool busy");
      ledger.toRefuse.set(1);
      Registrar r = registrar(0, 2, NEVER_MS, NEVER_MS);
      sentAgainAfterARefusal(r);
      Thread retries = retryThread();
      local.produceBlock();
      assertEquals(2, r.result().get(10, TimeUnit.SECONDS).block());
      retries.join(10_000);
      assertFalse(retries.isAlive(), "its thread ends once the registration has landed");
    } finally {
      done.countDown();
    }
  }

  /** The registrar's thread that sent the registration again. */
  private Thread retryThread() {
    String name = "neuron-" + key.id().toHex().substring(0, 8) + "-registrar";
    List<Thread> found = Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().equals(name)).toList();
    assertEquals(1, found.size(), "threads named " + name + ": " + found);
    return found.get(0);
  }

  /**
   * Stopped while it waits to be sent again (the neuron closes): the registration fails saying
   * so, the subscription is closed, and a later block sends nothing.
   */
  @Test
  void stoppedWhileItWaitsItFailsAndIsNotSentAgain() throws Exception {
    ledger.toRefuse.set(1);
    Registrar r = registrar(100, 2, NEVER_MS, NEVER_MS);
    r.attempt();
    refusal(1);
    closed.set(true);
    r.stop();
    Throwable failure = failure(r);
    assertInstanceOf(LedgerException.class, failure);
    assertTrue(failure.getMessage().contains("it is not in the ledger"),
        failure::getMessage);
    assertEquals(0, ledger.subscriptions.get(), "no block to wait for any more");
    local.produceBlock();
    local.produceBlock();
    assertEquals(1, ledger.registrationsSent());
    assertTrue(local.metagraph().uid(key.id()).isEmpty(), "not registered");
  }

  /** Stopped once it has been sent and not refused: it stays, and lands with its block. */
  @Test
  void stoppedAfterItWasSentTheRegistrationStillLands() throws Exception {
    Registrar r = registrar(100, 2, NEVER_MS, NEVER_MS);
    r.attempt();
    closed.set(true);
    r.stop();
    assertFalse(r.result().isDone());
    local.produceBlock();
    assertEquals(1, r.result().get(10, TimeUnit.SECONDS).block());
    assertTrue(local.metagraph().uid(key.id()).isPresent());
  }

  /**
   * Stopped once it has been sent again after a refusal: no longer waiting, it stays, and lands
   * with its block; the thread that sent it ends at once, not after its keep-alive.
   */
  @Test
  void stoppedAfterItWasSentAgainTheRegistrationStillLands() throws Exception {
    ledger.toRefuse.set(1);
    Registrar r = registrar(0, 2, NEVER_MS, NEVER_MS);
    sentAgainAfterARefusal(r);
    Thread retries = retryThread();
    closed.set(true);
    r.stop();
    retries.join(10_000);
    assertFalse(retries.isAlive(), "its retries' thread ends with the neuron");
    assertFalse(r.result().isDone(), "in flight still");
    local.produceBlock();
    assertEquals(2, r.result().get(10, TimeUnit.SECONDS).block());
    assertTrue(local.metagraph().uid(key.id()).isPresent());
  }

  /**
   * A ledger that decides through dependent stages fails its futures with a
   * CompletionException: the cap's refusal is still one to wait out, and a refused stake fails
   * the registration with the ledger's own exception, not the wrapper.
   */
  @Test
  void aLedgerThatDecidesThroughDependentStagesIsUnderstood() throws Exception {
    ledger.throughStages = true;
    ledger.toRefuse.set(1);
    Registrar r = registrar(5_000_000, 2, NEVER_MS, NEVER_MS);
    sentAgainAfterARefusal(r);
    assertEquals(new Transaction.AddStake(5_000_000), ledger.others.poll(10, TimeUnit.SECONDS));
    local.produceBlock();
    TransactionRejectedException refused =
        assertInstanceOf(TransactionRejectedException.class, failure(r));
    assertEquals(RejectReason.INSUFFICIENT_BALANCE, refused.reason());
  }

  /** Closed before it is sent: it fails, and nothing is sent. */
  @Test
  void closedBeforeTheFirstAttemptNothingIsSent() throws Exception {
    closed.set(true);
    Registrar r = registrar(100, 2, NEVER_MS, NEVER_MS);
    r.attempt();
    Throwable failure = failure(r);
    assertTrue(failure.getMessage().contains("closed"), failure::getMessage);
    assertEquals(List.of(), ledger.sent);
  }

  /** The neuron closes as the refusal comes: it fails and subscribes to nothing. */
  @Test
  void closedAsItIsRefusedItFailsWithoutSubscribing() throws Exception {
    ledger.toRefuse.set(1);
    ledger.afterSend = () -> closed.set(true);
    Registrar r = registrar(0, 2, NEVER_MS, NEVER_MS);
    r.attempt();
    Throwable failure = failure(r);
    assertTrue(failure.getMessage().contains("closed while"), failure::getMessage);
    assertEquals(0, ledger.subscribed.get());
    assertTrue(events.isEmpty(), "no retry announced: " + events);
  }

  /** The ledger closes as the refusal comes: the subscription it cannot take fails it. */
  @Test
  void aLedgerClosedBeforeItCanSubscribeFailsTheRegistration() throws Exception {
    ledger.toRefuse.set(1);
    ledger.afterSend = local::close;
    Registrar r = registrar(0, 2, NEVER_MS, NEVER_MS);
    r.attempt();
    assertInstanceOf(IllegalStateException.class, failure(r));
    assertTrue(events.isEmpty(), "no retry announced: " + events);
  }

  /**
   * The ledger closes while it waits for its back-off: the retry's failure (the closed ledger's
   * IllegalStateException) fails the registration rather than being lost on the pool.
   */
  @Test
  void aLedgerClosedWhileItWaitsFailsTheRetry() throws Exception {
    ledger.toRefuse.set(1);
    Registrar r = registrar(0, 2, 10, 10);
    r.attempt();
    refusal(1);
    local.close();
    assertInstanceOf(IllegalStateException.class, failure(r));
  }

  /**
   * A ledger that cannot be read (its nonce, five times) is read again after each back-off, 1 ms
   * doubling to 4 here, each drawn from half of it to all of it, on the registrar's thread; the
   * listener hears the 1st, 2nd and 4th failure in a row, and the registration lands once the
   * ledger reads. Before, the first failure failed the registration for good.
   */
  @Test
  void aLedgerThatCannotBeReadIsReadAgainAfterItsBackOffUntilTheRegistrationLands()
      throws Exception {
    ledger.unreadable.set(5);
    Registrar r = registrar(0, 2, 1, 4);
    r.attempt();
    assertEquals(0L, ledger.sentAt.poll(10, TimeUnit.SECONDS), "sent once the nonce reads");
    assertEquals(java.util.Collections.nCopies(5, "neuron-" + key.id().toHex().substring(0, 8)
        + "-registrar"), ledger.readAfterFailureOn,
        "read again five times, on the registrar's thread, not the timer's");
    local.produceBlock();
    assertEquals(1, r.result().get(10, TimeUnit.SECONDS).block());
    List<String> told = List.copyOf(events);
    assertEquals(4, told.size(), told::toString);
    Pattern unread = Pattern.compile("registration could not read the ledger( \\((\\d+) times in"
        + " a row\\))?: the ledger cannot be reached; reading it again in (\\d+) ms");
    long backoff = 1;
    int[] inARow = {1, 2, 4};
    for (int i = 0; i < 3; i++) {
      Matcher m = unread.matcher(told.get(i));
      assertTrue(m.matches(), told.get(i));
      assertEquals(inARow[i], m.group(2) == null ? 1 : Integer.parseInt(m.group(2)), told.get(i));
      long delay = Long.parseLong(m.group(3));
      long expected = Math.min(4, 1L << (inARow[i] - 1));
      assertTrue(delay >= expected / 2 && delay <= expected, told.get(i));
    }
    assertEquals("registered in block 1 at attempt 6", told.get(3));
  }

  /**
   * Closed while it waits to read an unreadable ledger again (a back-off of ten minutes): stop
   * fails the registration at once, saying so, and nothing is read or sent any more.
   */
  @Test
  void stoppedWhileItWaitsToReadTheLedgerAgainItFailsAtOnce() throws Exception {
    ledger.unreadable.set(Integer.MAX_VALUE);
    Registrar r = registrar(0, 2, NEVER_MS, NEVER_MS);
    r.attempt();
    String told = events.poll(10, TimeUnit.SECONDS);
    assertTrue(told != null && told.startsWith("registration could not read the ledger: "),
        String.valueOf(told));
    int reads = ledger.failedReads.get();
    closed.set(true);
    r.stop();
    assertTrue(r.result().isCompletedExceptionally(), "failed as stop returned");
    Throwable failure = failure(r);
    assertInstanceOf(LedgerException.class, failure);
    assertEquals("the neuron closed while its registration waited to read the ledger again,"
        + " which could not be read; it was not sent", failure.getMessage());
    assertEquals(reads, ledger.failedReads.get(), "not read again");
    assertEquals(List.of(), ledger.sent);
  }

  /** A ledger that answers with a refusal is not read again: it is not unreachable. */
  @Test
  void aRefusalFromTheLedgerBeforeItIsSentIsNotReadAgain() throws Exception {
    TransactionRejectedException refused =
        new TransactionRejectedException(RejectReason.INSUFFICIENT_BALANCE, "refused");
    Registrar r = new Registrar(ledger, key, Modality.TEXT, ENDPOINT, 0, closed::get,
        () -> {
          throw refused;
        }, events::add, new Random(2), 1, 1);
    r.attempt();
    assertEquals(refused, failure(r));
    assertTrue(events.isEmpty(), events::toString);
    assertEquals(List.of(), ledger.sent);
  }

  /** Refused for another reason (registered already): it fails with it and tells nothing. */
  @Test
  void refusedForAnotherReasonItFailsAtOnceWithThatReason() throws Exception {
    local.submit(SignedTransaction.sign(key, local.chainId(), 0,
        Transaction.register(ENDPOINT, Modality.TEXT)));
    local.produceBlock();
    Registrar r = registrar(100, 2, NEVER_MS, NEVER_MS);
    r.attempt();
    TransactionRejectedException refused =
        assertInstanceOf(TransactionRejectedException.class, failure(r));
    assertEquals(RejectReason.ALREADY_REGISTERED, refused.reason());
    assertTrue(events.isEmpty(), events::toString);
    assertEquals(0, ledger.subscribed.get());
  }

  /** A stake the ledger refuses (more than the balance) fails the registration with it. */
  @Test
  void aStakeTheLedgerRefusesFailsTheRegistrationWithItsReason() throws Exception {
    Registrar r = registrar(5_000_000, 2, NEVER_MS, NEVER_MS);
    r.attempt();
    local.produceBlock();
    TransactionRejectedException refused =
        assertInstanceOf(TransactionRejectedException.class, failure(r));
    assertEquals(RejectReason.INSUFFICIENT_BALANCE, refused.reason());
  }

  /**
   * A registration that lands but whose answer is lost ("may or may not have arrived"): the
   * registrar reads the ledger, finds the key's nonce moved on and, once the block is durable,
   * the key in the metagraph; it sends the stake it did not send (nonce 1), and never the
   * registration again. Before, the unknown outcome failed the registration for good.
   */
  @Test
  void aRegistrationThatLandsButWhoseAnswerIsLostIsReadFromTheLedgerNotSentTwice()
      throws Exception {
    ledger.answerUnknown.set(1);
    Registrar r = registrar(500, 2, 1, 4);
    r.attempt();
    assertTold("registration's outcome is unknown: stream was reset: CANCEL; transaction ");
    assertTold("registration accepted (the key's next nonce is 1), not yet in a durable block:"
        + " reading the ledger again in ");
    local.produceBlock(); // the registration's block, durable
    assertTold("registration landed (uid 0), its stake did not: staking again with nonce 1");
    assertEquals(new Transaction.AddStake(500), ledger.others.poll(10, TimeUnit.SECONDS));
    local.produceBlock();
    Receipt receipt = r.result().get(10, TimeUnit.SECONDS);
    assertEquals(2, receipt.block());
    assertEquals(1, ledger.registrationsSent(), "registered once: " + ledger.sent);
    SignedTransaction staked = ledger.sent.get(ledger.sent.size() - 1);
    assertEquals(1, staked.nonce());
    assertEquals(staked.hash(), receipt.transaction());
    Metagraph m = local.metagraph();
    assertEquals(500, m.stake(m.uid(key.id()).orElseThrow()));
    assertEquals(2, local.nextNonce(key.id()));
  }

  /**
   * A registration whose answer is lost, and then the stake sent after it: the key's nonce moves
   * past the stake, but the metagraph of the latest durable block shows no stake, so the stake
   * is in a block not yet durable: the registrar reads the ledger again rather than count it, and
   * once that block is durable (the stake in the metagraph) the registration has landed. Before,
   * the nonce alone counted the stake as landed, durable or not.
   */
  @Test
  void aStakeWhoseAnswerIsLostLandsOnlyOnceTheMetagraphShowsIt() throws Exception {
    ledger.answerUnknown.set(1);
    ledger.afterNonce = () -> ledger.answerUnknown.set(1); // the stake sent again: lost too
    Registrar r = registrar(500, 2, 1, 4);
    r.attempt();
    assertTold("registration's outcome is unknown: ");
    assertTold("registration accepted (the key's next nonce is 1), not yet in a durable block");
    ledger.afterNonce = () -> { };
    local.produceBlock(); // the registration's block
    assertTold("registration landed (uid 0), its stake did not: staking again with nonce 1");
    assertTold("registration's outcome is unknown: ");
    assertTold("stake accepted (the key's next nonce is 2), not yet in a durable block: reading"
        + " the ledger again in ");
    assertFalse(r.result().isDone(), "not landed while the stake is in no durable block");
    local.produceBlock(); // the stake's block
    assertTold("registration landed: uid 0 in the ledger's block 2 (read at attempt ");
    assertNull(r.result().get(10, TimeUnit.SECONDS), "settled by reading: no receipt");
    assertEquals(500, local.metagraph().stake(0));
  }

  /**
   * The stake's answer lost and its block lost too (a ledger that restarted before the block was
   * durable): its nonce, past the stake while the block was built, moves back, and the stake is
   * sent again with that nonce, and lands. Before, the registrar counted the stake as landed once
   * the nonce was past it, and it was never sent again: the peer served unstaked.
   */
  @Test
  void aStakeInABlockThatIsLostIsSentAgain() throws Exception {
    ledger.answerUnknown.set(1);
    ledger.afterNonce = () -> ledger.answerUnknown.set(1);
    Registrar r = registrar(500, 2, 1, 4);
    r.attempt();
    assertTold("registration's outcome is unknown: ");
    assertTold("registration accepted (the key's next nonce is 1)");
    ledger.afterNonce = () -> { };
    ledger.phantomStake = true; // the next stake goes in a block that will be lost
    local.produceBlock();
    assertTold("registration landed (uid 0), its stake did not: staking again with nonce 1");
    assertTold("registration's outcome is unknown: ");
    assertTold("stake accepted (the key's next nonce is 2), not yet in a durable block");
    ledger.others.clear();
    ledger.phantom.set(null); // its block lost: the nonce moves back
    assertTold("registration landed (uid 0), its stake did not: staking again with nonce 1");
    assertEquals(new Transaction.AddStake(500), ledger.others.poll(10, TimeUnit.SECONDS));
    local.produceBlock();
    Receipt receipt = r.result().get(10, TimeUnit.SECONDS);
    assertEquals(2, receipt.block());
    assertEquals(500, local.metagraph().stake(0));
    assertEquals(2, local.nextNonce(key.id()), "one registration and one stake");
  }

  /**
   * A registration lost on its way whose answer says it may or may not have arrived: the
   * registrar reads the ledger (which cannot be read twice, and is read again after the
   * back-off), finds the key's nonce still 0, and sends the registration again with nonce 0 and
   * its stake; it lands once. Before, the unknown outcome failed the registration for good.
   */
  @Test
  void aRegistrationLostOnItsWayIsSentAgainWithTheSameNonceOnceTheLedgerSaysSo()
      throws Exception {
    ledger.answerUnknown.set(1);
    ledger.lose = true;
    AtomicBoolean once = new AtomicBoolean();
    ledger.afterSend = () -> {
      if (!once.getAndSet(true)) {
        ledger.unreadable.set(2);
      }
    };
    Registrar r = registrar(500, 2, 1, 4);
    r.attempt();
    assertTold("registration's outcome is unknown: stream was reset: CANCEL; transaction ");
    assertTold("registration could not read the ledger: the ledger cannot be reached;"
        + " reading it again in ");
    assertTold("registration could not read the ledger (2 times in a row): the ledger cannot be"
        + " reached; reading it again in ");
    assertTold("registration did not land: registering again with nonce 0");
    assertEquals(new Transaction.AddStake(500), ledger.others.poll(10, TimeUnit.SECONDS));
    local.produceBlock();
    Receipt receipt = r.result().get(10, TimeUnit.SECONDS);
    assertEquals(1, receipt.block());
    List<SignedTransaction> registrations = ledger.sent.stream()
        .filter(t -> t.body() instanceof Transaction.Register).toList();
    assertEquals(2, registrations.size(), ledger.sent::toString);
    assertEquals(0, registrations.get(0).nonce());
    assertEquals(0, registrations.get(1).nonce(), "the nonce it did not use");
    Metagraph m = local.metagraph();
    assertEquals(500, m.stake(m.uid(key.id()).orElseThrow()));
    assertEquals(2, local.nextNonce(key.id()), "one registration and one stake");
  }

  /**
   * Lost on its way, and arriving at the ledger just after the registrar read the nonce: the
   * registration sent again is refused as a used nonce, which settles nothing but says to read
   * again; the key is then seen in the block being built, and in the metagraph once durable.
   */
  @Test
  void aLostRegistrationThatArrivesLateIsReadAgainNotFailedAsAReplay() throws Exception {
    ledger.answerUnknown.set(1);
    ledger.lose = true;
    ledger.arriveLate = true;
    Registrar r = registrar(0, 2, 1, 4);
    r.attempt();
    assertTold("registration's outcome is unknown: stream was reset: CANCEL; transaction ");
    assertTold("registration did not land: registering again with nonce 0");
    assertTold("registration's outcome is unknown: NONCE_REUSED: nonce 0 was used; the next");
    assertTold("registration accepted (the key's next nonce is 1), not yet in a durable block:"
        + " reading the ledger again in ");
    local.produceBlock();
    assertTold("registration landed: uid 0 in the ledger's block 1 (read at attempt ");
    assertNull(r.result().get(10, TimeUnit.SECONDS), "settled by reading: no receipt");
    assertEquals(1, local.metagraph().size());
    assertEquals(1, local.nextNonce(key.id()));
  }

  /**
   * Closed while it reads the ledger to settle an unknown outcome: stop fails the registration at
   * once, saying it may or may not be in the ledger, and nothing more is sent.
   */
  @Test
  void stoppedWhileItSettlesAnUnknownOutcomeItFailsSayingItMayBeInTheLedger() throws Exception {
    ledger.answerUnknown.set(1);
    Registrar r = registrar(100, 2, NEVER_MS, NEVER_MS);
    r.attempt();
    assertTold("registration's outcome is unknown: ");
    assertTold("registration accepted (the key's next nonce is 1)");
    int sent = ledger.sent.size();
    closed.set(true);
    r.stop();
    assertTrue(r.result().isCompletedExceptionally(), "failed as stop returned");
    assertEquals("the neuron closed while it read the ledger to learn whether its registration,"
        + " whose outcome was unknown, landed; it may or may not be in the ledger: check nonce 0"
        + " of " + key.id().toHex(), failure(r).getMessage());
    local.produceBlock();
    assertEquals(sent, ledger.sent.size(), "nothing sent after stop: " + ledger.sent);
  }

  /** The next event starts with {@code start}. */
  private void assertTold(String start) throws InterruptedException {
    String told = events.poll(10, TimeUnit.SECONDS);
    assertTrue(told != null && told.startsWith(start), () -> "expected \"" + start
        + "...\", told: " + told + "; then " + events + "; the registration: "
        + made.result().handle((receipt, e) -> e == null ? "landed, " + receipt
            : "failed, " + e).getNow("not settled"));
  }

  /** How {@code r}'s result failed. */
  private static Throwable failure(Registrar r) {
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> r.result().get(10, TimeUnit.SECONDS));
    return e.getCause();
  }

  /** Attempts, is refused by the cap, and is sent again after the block that follows. */
  private void sentAgainAfterARefusal(Registrar r) throws Exception {
    r.attempt();
    refusal(1);
    local.produceBlock();
    assertEquals(0L, ledger.sentAt.poll(10, TimeUnit.SECONDS));
    assertEquals(1L, ledger.sentAt.poll(10, TimeUnit.SECONDS), "sent again after block 1");
  }

  /** The refusal of attempt {@code k}, heard next. */
  private Matcher refusal(int k) throws InterruptedException {
    String event = events.poll(10, TimeUnit.SECONDS);
    assertTrue(event != null, "no refusal " + k);
    Matcher m = REFUSED.matcher(event);
    assertTrue(m.matches(), event);
    assertEquals(k, Integer.parseInt(m.group(1)), event);
    return m;
  }

  /**
   * What a registrar whose random has {@code seed} draws at each refusal: the blocks to wait,
   * {@code 1 + nextInt(window)}, then the back-off, {@code d - nextLong(d / 2 + 1)}.
   */
  private static long[][] draws(long seed, int refusals, long first, long longest) {
    Random random = new Random(seed);
    long[][] draws = new long[refusals][];
    long backoff = first;
    for (int k = 1; k <= refusals; k++) {
      int window = (int) Math.min(Registrar.MAX_SPREAD_BLOCKS, 1L << (k - 1));
      long blocks = 1 + random.nextInt(window);
      long delay = backoff - random.nextLong(backoff / 2 + 1);
      draws[k - 1] = new long[] {blocks, delay};
      backoff = Math.min(longest, backoff * 2);
    }
    return draws;
  }

  private static long seedWhoseSecondWaitIsOneBlock() {
    for (long seed = 0; ; seed++) {
      if (draws(seed, 2, NEVER_MS, NEVER_MS)[1][0] == 1) {
        return seed;
      }
    }
  }

  /**
   * The local ledger, watched: each registration the registrar sends (with the height it was
   * sent at, and when), and its subscriptions; a registration to be refused by the cap goes
   * after another key's, which fills the block.
   */
  private static final class Watched implements Ledger {
    final LocalLedger ledger;
    final PeerId registrant;
    final Keypair[] fillers;
    final AtomicInteger filled = new AtomicInteger();
    /** How many of the next registrations the cap refuses. */
    final AtomicInteger toRefuse = new AtomicInteger();
    /** Seals a block after the next refused registration, before the refusal is returned. */
    final AtomicBoolean sealAfterNextRefusal = new AtomicBoolean();
    final List<SignedTransaction> sent = new CopyOnWriteArrayList<>();
    final BlockingQueue<Long> sentAt = new LinkedBlockingQueue<>();
    final List<Long> sentNanos = new CopyOnWriteArrayList<>();
    /** What else the registrar sends (its stake). */
    final BlockingQueue<Transaction> others = new LinkedBlockingQueue<>();
    final AtomicInteger subscribed = new AtomicInteger();
    /** Open subscriptions. */
    final AtomicInteger subscriptions = new AtomicInteger();
    volatile Runnable afterSend = () -> { };
    /** Run after each nonce read that succeeds. */
    volatile Runnable afterNonce = () -> { };
    /**
     * The next stake of the registrant's whose answer is lost goes in a block that will be lost:
     * not put in the ledger, but counted in the nonce while {@link #phantom} holds it.
     */
    volatile boolean phantomStake;
    final AtomicReference<SignedTransaction> phantom = new AtomicReference<>();
    /** How many of the next nonce reads fail, as a ledger that cannot be reached. */
    final AtomicInteger unreadable = new AtomicInteger();
    final AtomicInteger failedReads = new AtomicInteger();
    /** The threads that read the nonce again after a failed read. */
    final List<String> readAfterFailureOn = new CopyOnWriteArrayList<>();
    /** Answers through a dependent stage, which fails with a CompletionException. */
    volatile boolean throughStages;
    /**
     * How many of the next submissions of the registrant's are answered as a transport whose
     * connection broke: "may or may not have arrived".
     */
    final AtomicInteger answerUnknown = new AtomicInteger();
    /** Those answered so are lost on the way, not put in the ledger. */
    volatile boolean lose;
    /** A lost one that arrives late: put in the ledger just after the next nonce is read. */
    volatile boolean arriveLate;
    private final AtomicReference<SignedTransaction> late = new AtomicReference<>();

    Watched(LocalLedger ledger, PeerId registrant, Keypair[] fillers) {
      this.ledger = ledger;
      this.registrant = registrant;
      this.fillers = fillers;
    }

    int registrationsSent() {
      return (int) sent.stream().filter(t -> t.body() instanceof Transaction.Register).count();
    }

    @Override
    public Hash256 chainId() {
      return ledger.chainId();
    }

    @Override
    public Metagraph metagraph() {
      return ledger.metagraph();
    }

    @Override
    public Optional<Account> account(PeerId id) throws LedgerException {
      return ledger.account(id);
    }

    @Override
    public long nextNonce(PeerId id) throws LedgerException {
      if (failedReads.get() > 0) {
        readAfterFailureOn.add(Thread.currentThread().getName());
      }
      if (unreadable.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        failedReads.incrementAndGet();
        throw new LedgerException("the ledger cannot be reached");
      }
      long next = ledger.nextNonce(id) + (id.equals(registrant) && phantom.get() != null ? 1 : 0);
      afterNonce.run();
      SignedTransaction arriving = late.getAndSet(null);
      if (arriving != null) {
        ledger.submit(arriving); // after the read: the reader did not see it
      }
      return next;
    }

    /**
     * Null, or the answer of a transport that lost the answer to {@code tx} (and {@code tx}
     * itself, unless it loses that too).
     */
    private CompletableFuture<Receipt> unknown(SignedTransaction tx) {
      if (answerUnknown.getAndUpdate(n -> Math.max(0, n - 1)) == 0) {
        return null;
      }
      if (phantomStake && tx.body() instanceof Transaction.AddStake) {
        phantomStake = false;
        phantom.set(tx);
      } else if (!lose) {
        ledger.submit(tx);
      } else if (arriveLate) {
        late.set(tx);
      }
      return CompletableFuture.failedFuture(new LedgerException("stream was reset: CANCEL;"
          + " transaction " + tx.hash().toShortHex() + " may or may not have arrived: check nonce "
          + tx.nonce() + " of " + tx.signer().toHex()));
    }

    @Override
    public CompletableFuture<Receipt> submit(SignedTransaction tx) {
      if (!(tx.body() instanceof Transaction.Register) || !tx.signer().equals(registrant)) {
        sent.add(tx);
        CompletableFuture<Receipt> lost = tx.signer().equals(registrant) ? unknown(tx) : null;
        if (lost != null) {
          others.add(tx.body());
          return lost;
        }
        CompletableFuture<Receipt> answer = ledger.submit(tx);
        // Told once in the ledger's pool: a test seals the next block as soon as it hears of it.
        others.add(tx.body());
        return staged(answer);
      }
      boolean refuse = toRefuse.getAndUpdate(n -> Math.max(0, n - 1)) > 0;
      if (refuse) {
        Keypair filler = fillers[filled.getAndIncrement()];
        ledger.submit(SignedTransaction.sign(filler, ledger.chainId(), 0,
            Transaction.register(URI.create("http://127.0.0.1:1"), Modality.TEXT)));
      }
      long height = ledger.metagraph().block().number();
      sentNanos.add(System.nanoTime());
      sent.add(tx);
      CompletableFuture<Receipt> lost = unknown(tx);
      if (lost != null) {
        afterSend.run();
        sentAt.add(height);
        return lost;
      }
      CompletableFuture<Receipt> answer = ledger.submit(tx);
      if (refuse && sealAfterNextRefusal.getAndSet(false)) {
        try {
          ledger.produceBlock();
        } catch (LedgerException e) {
          throw new AssertionError(e);
        }
      }
      afterSend.run();
      sentAt.add(height);
      return staged(answer);
    }

    private CompletableFuture<Receipt> staged(CompletableFuture<Receipt> answer) {
      return throughStages ? answer.thenApply(receipt -> receipt) : answer;
    }

    @Override
    public Subscription subscribe(LedgerListener listener) {
      Subscription s = ledger.subscribe(listener);
      subscribed.incrementAndGet();
      subscriptions.incrementAndGet();
      AtomicBoolean open = new AtomicBoolean(true);
      return () -> {
        if (open.getAndSet(false)) {
          subscriptions.decrementAndGet();
        }
        s.close();
      };
    }

    @Override
    public void close() {
      ledger.close();
    }
  }
}
