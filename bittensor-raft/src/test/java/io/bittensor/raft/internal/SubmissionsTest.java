package io.bittensor.raft.internal;

import static io.bittensor.core.testing.LedgerFixtures.key;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.Hash256;
import io.bittensor.core.LedgerException;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Transaction;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.exceptions.StateMachineException;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Group commit, against a stand-in for the Raft client whose replies the test releases. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SubmissionsTest {
  private static final Hash256 CHAIN = Hash256.of(new byte[] {1});

  /** The entries sent, and the replies the test completes. */
  private final List<byte[]> sent = new CopyOnWriteArrayList<>();
  private final List<CompletableFuture<RaftClientReply>> replies = new CopyOnWriteArrayList<>();

  private CompletableFuture<RaftClientReply> send(Message m) {
    sent.add(m.getContent().toByteArray());
    CompletableFuture<RaftClientReply> f = new CompletableFuture<>();
    replies.add(f);
    return f;
  }

  private static SignedTransaction tx(int nonce) {
    return SignedTransaction.sign(key(0), CHAIN, nonce, Transaction.transfer(key(1).id(), 1));
  }

  /** A row of weights for {@code peers} uids: 12 bytes a uid over a fixed part. */
  private static SignedTransaction weightRow(int nonce, int peers) {
    int[] uids = new int[peers];
    double[] weights = new double[peers];
    for (int u = 0; u < peers; u++) {
      uids[u] = u;
      weights[u] = 1.0 / peers;
    }
    return SignedTransaction.sign(key(0), CHAIN, nonce, Transaction.setWeights(uids, weights));
  }

  /** Waits for {@code latch} as a client's blocking send would, through interrupts. */
  private static void awaitUninterruptibly(CountDownLatch latch) {
    boolean interrupted = false;
    while (true) {
      try {
        latch.await();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /** A successful reply whose outcomes name each transaction's place: "0", "1", ... */
  private static RaftClientReply reply(int count) {
    List<byte[]> outcomes = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      outcomes.add(Integer.toString(i).getBytes());
    }
    return RaftClientReply.newBuilder()
        .setClientId(ClientId.randomId())
        .setServerId(RaftPeerId.valueOf("m0"))
        .setGroupId(RaftGroupId.randomId())
        .setCallId(1)
        .setSuccess(true)
        .setMessage(Message.valueOf(ByteString.copyFrom(Entries.outcomes(outcomes))))
        .build();
  }

  private void awaitSent(int n) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (sent.size() < n) {
      assertTrue(System.nanoTime() < deadline, "only " + sent.size() + " entries sent");
      Thread.sleep(5);
    }
  }

  private static int count(byte[] entry) {
    assertEquals(Entries.BATCH, entry[0]);
    return Entries.batchBodies(ByteBuffer.wrap(entry, 1, entry.length - 1)).size();
  }

  @Test
  void submissionsThatArriveWhileEntriesAreInFlightShareTheNextEntryInOrder() throws Exception {
    try (Submissions s = new Submissions(this::send, "test")) {
      List<CompletableFuture<byte[]>> outcomes = new ArrayList<>();
      for (int i = 0; i < Submissions.IN_FLIGHT; i++) {
        outcomes.add(s.submit(tx(i)));
        awaitSent(i + 1);   // each goes out alone while a slot is free
      }
      for (int i = Submissions.IN_FLIGHT; i < 20; i++) {
        outcomes.add(s.submit(tx(i)));   // no slot: these wait together
      }
      Thread.sleep(50);
      assertEquals(Submissions.IN_FLIGHT, sent.size(), "nothing more goes out without a slot");
      replies.get(0).complete(reply(1));
      awaitSent(Submissions.IN_FLIGHT + 1);
      byte[] shared = sent.get(Submissions.IN_FLIGHT);
      List<byte[]> bodies = Entries.batchBodies(ByteBuffer.wrap(shared, 1, shared.length - 1));
      assertEquals(20 - Submissions.IN_FLIGHT, bodies.size());
      for (int i = 0; i < bodies.size(); i++) {
        assertArrayEquals(tx(Submissions.IN_FLIGHT + i).encode(), bodies.get(i),
            "in the order they arrived");
      }
      for (int i = 1; i < Submissions.IN_FLIGHT; i++) {
        replies.get(i).complete(reply(1));
      }
      replies.get(Submissions.IN_FLIGHT).complete(reply(bodies.size()));
      for (int i = 0; i < 20; i++) {
        String want = i < Submissions.IN_FLIGHT ? "0"
            : Integer.toString(i - Submissions.IN_FLIGHT);
        assertEquals(want, new String(outcomes.get(i).get(5, TimeUnit.SECONDS)),
            "each submitter gets its own transaction's outcome");
      }
      assertEquals(1, count(sent.get(0)));
    }
  }

  @Test
  void aFailedEntryFailsEverySubmissionInItAndClosingFailsTheQueued() throws Exception {
    Submissions s = new Submissions(this::send, "test");
    try {
      List<CompletableFuture<byte[]>> first = new ArrayList<>();
      for (int i = 0; i < Submissions.IN_FLIGHT; i++) {
        first.add(s.submit(tx(i)));
        awaitSent(i + 1);
      }
      CompletableFuture<byte[]> queued = s.submit(tx(99));
      replies.get(0).completeExceptionally(new LedgerException("no leader"));
      ExecutionException e = assertThrows(ExecutionException.class,
          () -> first.get(0).get(5, TimeUnit.SECONDS));
      assertEquals("no leader", e.getCause().getMessage());
      awaitSent(Submissions.IN_FLIGHT + 1);   // the slot it freed carries the queued one
      CompletableFuture<byte[]> waiting = s.submit(tx(101));   // no slot: it waits
      Thread.sleep(50);
      s.close();
      assertInstanceOf(LedgerException.class, assertThrows(ExecutionException.class,
          () -> waiting.get(5, TimeUnit.SECONDS)).getCause(), "a waiting one fails on close");
      CompletableFuture<byte[]> late = s.submit(tx(100));
      assertInstanceOf(LedgerException.class,
          assertThrows(ExecutionException.class, () -> late.get(5, TimeUnit.SECONDS)).getCause());
      replies.get(Submissions.IN_FLIGHT).complete(reply(1));
      assertEquals("0", new String(queued.get(5, TimeUnit.SECONDS)),
          "an entry already sent still completes after close");
    } finally {
      s.close();
    }
  }

  @Test
  void aMemberIdleLongerThanItsPollStillSends() throws Exception {
    try (Submissions s = new Submissions(this::send, "test")) {
      Thread.sleep(350); // the sender's poll comes back empty three times
      CompletableFuture<byte[]> outcome = s.submit(tx(0));
      awaitSent(1);
      replies.get(0).complete(reply(1));
      assertEquals("0", new String(outcome.get(5, TimeUnit.SECONDS)));
    }
  }

  @Test
  void anEntryCarriesAtMostMaxBatchTransactions() throws Exception {
    try (Submissions s = new Submissions(this::send, "test")) {
      List<CompletableFuture<byte[]>> outcomes = new ArrayList<>();
      outcomes.add(s.submit(tx(0)));
      awaitSent(1); // holds the one slot while the rest queue
      int queued = Submissions.MAX_BATCH + 88;
      for (int i = 1; i <= queued; i++) {
        outcomes.add(s.submit(tx(i)));
      }
      replies.get(0).complete(reply(1));
      awaitSent(2);
      assertEquals(Submissions.MAX_BATCH, count(sent.get(1)));
      replies.get(1).complete(reply(Submissions.MAX_BATCH));
      awaitSent(3);
      assertEquals(88, count(sent.get(2)), "the rest in the next entry");
      replies.get(2).complete(reply(88));
      assertEquals("87", new String(outcomes.get(queued).get(5, TimeUnit.SECONDS)));
    }
  }

  @Test
  void aRefusedReplyOrASendThatThrowsFailsItsSubmissionsAndFreesTheSlot() throws Exception {
    List<Integer> calls = new CopyOnWriteArrayList<>();
    Submissions s = new Submissions(m -> {
      calls.add(calls.size());
      if (calls.size() == 2) {
        throw new IllegalStateException("the client is closed");
      }
      return send(m);
    }, "test");
    try {
      CompletableFuture<byte[]> refused = s.submit(tx(0));
      awaitSent(1);
      replies.get(0).complete(RaftClientReply.newBuilder()
          .setClientId(ClientId.randomId()).setServerId(RaftPeerId.valueOf("m0"))
          .setGroupId(RaftGroupId.randomId()).setCallId(1).setSuccess(false)
          .setException(new StateMachineException("the entry was not applied")).build());
      ExecutionException e = assertThrows(ExecutionException.class,
          () -> refused.get(5, TimeUnit.SECONDS));
      assertInstanceOf(StateMachineException.class, e.getCause(), "the reply's own exception");
      CompletableFuture<byte[]> unsent = s.submit(tx(1));
      e = assertThrows(ExecutionException.class, () -> unsent.get(5, TimeUnit.SECONDS));
      assertEquals("the client is closed", e.getCause().getMessage());
      CompletableFuture<byte[]> next = s.submit(tx(2));
      awaitSent(2); // the slot the throwing send held was given back
      replies.get(1).complete(reply(1));
      assertEquals("0", new String(next.get(5, TimeUnit.SECONDS)));
    } finally {
      s.close();
    }
  }

  /**
   * A submission whose caller gave up (its wait timed out, so it cancelled the future) while it
   * waited behind an entry in flight is not sent: before the fix it went into the next entry,
   * long after its caller was told it may or may not be in the ledger.
   */
  @Test
  void aSubmissionWhoseCallerGaveUpWhileQueuedIsNotSent() throws Exception {
    Submissions s = new Submissions(this::send, "test");
    try {
      s.submit(tx(0));
      awaitSent(1);
      CompletableFuture<byte[]> abandoned = s.submit(tx(1));
      CompletableFuture<byte[]> wanted = s.submit(tx(2));
      abandoned.cancel(false);
      replies.get(0).complete(reply(1));
      awaitSent(2);
      assertEquals(1, count(sent.get(1)), "only the submission still waited for");
      replies.get(1).complete(reply(1));
      assertEquals("0", new String(wanted.get(5, TimeUnit.SECONDS)));
    } finally {
      s.close();
    }
  }

  /** Before the fix an Error out of the send ended the sender: nothing was sent again. */
  @Test
  void aSendThatThrowsAnErrorFailsItsSubmissionsAndTheSenderGoesOn() throws Exception {
    List<Integer> calls = new CopyOnWriteArrayList<>();
    Submissions s = new Submissions(m -> {
      calls.add(calls.size());
      if (calls.size() == 1) {
        throw new OutOfMemoryError("no room for the entry");
      }
      return send(m);
    }, "test");
    try {
      CompletableFuture<byte[]> failed = s.submit(tx(0));
      ExecutionException e = assertThrows(ExecutionException.class,
          () -> failed.get(5, TimeUnit.SECONDS));
      assertInstanceOf(OutOfMemoryError.class, e.getCause());
      CompletableFuture<byte[]> next = s.submit(tx(1));
      awaitSent(1);
      replies.get(0).complete(reply(1));
      assertEquals("0", new String(next.get(5, TimeUnit.SECONDS)));
    } finally {
      s.close();
    }
  }

  /**
   * A reply that holds fewer outcomes than its entry's transactions, or none that can be read (a
   * member of another version, or not of ours): the reading threw inside the reply's callback,
   * and the submissions it had not reached never completed (their callers waited for their
   * timeout, then heard "is a majority of the group up?").
   */
  @Test
  void aReplyThatCannotBeReadFailsEverySubmissionOfItsEntry() throws Exception {
    try (Submissions s = new Submissions(this::send, "test")) {
      CompletableFuture<byte[]> first = s.submit(tx(0));
      awaitSent(1);
      List<CompletableFuture<byte[]>> shared = List.of(s.submit(tx(1)), s.submit(tx(2)));
      replies.get(0).complete(reply(1));
      assertEquals("0", new String(first.get(5, TimeUnit.SECONDS)));
      awaitSent(2);
      replies.get(1).complete(reply(1)); // one outcome for two: which is whose?
      ExecutionException e = null;
      for (CompletableFuture<byte[]> f : shared) {
        e = assertThrows(ExecutionException.class, () -> f.get(5, TimeUnit.SECONDS));
        assertInstanceOf(LedgerException.class, e.getCause());
        assertTrue(e.getCause().getMessage().contains("cannot be read"),
            e.getCause().getMessage());
      }
      // The slot was freed: the next submission goes out.
      CompletableFuture<byte[]> next = s.submit(tx(3));
      awaitSent(3);
      replies.get(2).complete(RaftClientReply.newBuilder()
          .setClientId(ClientId.randomId())
          .setServerId(RaftPeerId.valueOf("m0"))
          .setGroupId(RaftGroupId.randomId())
          .setCallId(1)
          .setSuccess(true)
          .setMessage(Message.valueOf(ByteString.copyFrom(new byte[] {0, 0})))
          .build());
      e = assertThrows(ExecutionException.class, () -> next.get(5, TimeUnit.SECONDS));
      assertTrue(e.getCause().getMessage().contains("cannot be read"),
          e.getCause().getMessage());
    }
  }

  @Test
  void anEntryCarriesAtMostMaxBatchBytes() throws Exception {
    List<SignedTransaction> rows = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      rows.add(weightRow(i, 4096));
    }
    int size = rows.get(0).encodedLength();
    int fit = Submissions.MAX_BATCH_BYTES / size;
    assertTrue(fit > 1 && fit < rows.size() - 1, size + " bytes a row: " + fit + " an entry");
    try (Submissions s = new Submissions(this::send, "test")) {
      s.submit(tx(99));
      awaitSent(1);
      for (SignedTransaction row : rows) {
        s.submit(row);
      }
      replies.get(0).complete(reply(1));
      awaitSent(2);
      assertEquals(fit, count(sent.get(1)), "as many as fit in " + Submissions.MAX_BATCH_BYTES);
      replies.get(1).complete(reply(fit));
      awaitSent(3);
      assertEquals(rows.size() - fit, count(sent.get(2)), "the rest in the next entry");
      replies.get(2).complete(reply(rows.size() - fit));
    }
  }

  @Test
  void anEntryTakesTheTransactionThatBringsItToExactlyMaxBatchBytes() throws Exception {
    int fixed = weightRow(0, 0).encodedLength();
    int perUid = weightRow(0, 1).encodedLength() - fixed;
    int uids = Submissions.MAX_BATCH_BYTES - 4 * fixed;
    assertEquals(0, uids % perUid, "four rows of " + fixed + " + " + perUid + " bytes a uid"
        + " cannot add up to " + Submissions.MAX_BATCH_BYTES);
    uids /= perUid;
    List<SignedTransaction> rows = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      rows.add(weightRow(i, (uids + i) / 4)); // the four quarters add up to uids
    }
    assertEquals(Submissions.MAX_BATCH_BYTES,
        rows.stream().mapToInt(SignedTransaction::encodedLength).sum());
    try (Submissions s = new Submissions(this::send, "test")) {
      s.submit(tx(99));
      awaitSent(1);
      rows.forEach(s::submit);
      s.submit(tx(100));
      replies.get(0).complete(reply(1));
      awaitSent(2);
      assertEquals(4, count(sent.get(1)), "the cap is the most an entry carries, not a bound");
      replies.get(1).complete(reply(4));
      awaitSent(3);
      assertEquals(1, count(sent.get(2)), "only what did not fit waits for the next");
      replies.get(2).complete(reply(1));
    }
  }

  @Test
  void theSenderIsADaemonAndCloseReturnsOnlyOnceItHasEnded() throws Exception {
    // RaftLedger closes its Raft client right after this close: a sender still inside a send
    // would hand its entry to a closed client. And a member left open must not hold the JVM up.
    CompletableFuture<Thread> sender = new CompletableFuture<>();
    CountDownLatch release = new CountDownLatch(1);
    Submissions s = new Submissions(m -> {
      sender.complete(Thread.currentThread());
      awaitUninterruptibly(release);
      return send(m);
    }, "test");
    try {
      s.submit(tx(0));
      Thread thread = sender.get(5, TimeUnit.SECONDS);
      assertTrue(thread.isDaemon(), "the sender is a daemon");
      CompletableFuture.delayedExecutor(200, TimeUnit.MILLISECONDS).execute(release::countDown);
      s.close(); // the send in progress ends 200 ms into it
      assertFalse(thread.isAlive(), "close returned with the sender still in its send");
      assertEquals(1, sent.size(), "the entry in progress went out before close returned");
    } finally {
      release.countDown();
      s.close();
    }
  }

  @Test
  void closingFromAnInterruptedThreadFailsTheQueuedAtOnceAndKeepsTheInterrupt() throws Exception {
    CountDownLatch inSend = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Submissions s = new Submissions(m -> {
      inSend.countDown();
      awaitUninterruptibly(release); // a send that blocks: the sender cannot fail the queued
      return send(m);
    }, "test");
    try {
      s.submit(tx(0));
      assertTrue(inSend.await(5, TimeUnit.SECONDS));
      CompletableFuture<byte[]> queued = s.submit(tx(1));
      Thread.currentThread().interrupt();
      s.close(); // gives up waiting for the sender at once
      assertTrue(Thread.interrupted(), "close keeps its caller's interrupt");
      assertTrue(queued.isDone(), "close fails the queued itself, not only the sender");
      assertInstanceOf(LedgerException.class,
          assertThrows(ExecutionException.class, queued::get).getCause());
    } finally {
      Thread.interrupted();
      release.countDown();
      s.close();
    }
  }
}
