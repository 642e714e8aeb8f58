package io.bittensor.raft.internal;

import io.bittensor.core.Block;
import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Genesis;
import io.bittensor.core.Hash256;
import io.bittensor.core.LedgerException;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.PeerId;
import io.bittensor.core.Receipt;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.TransactionRejectedException;
import io.bittensor.incentive.IncentiveMechanism;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.Executor;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;

/**
 * One member's copy of the ledger, driven by the Raft log: a {@link LocalLedger} in memory that
 * applies each committed entry in log order. A transaction entry is submitted to it (validated
 * exactly as on one machine; a rejection is the same on every member); a seal entry seals a
 * block at the leader's timestamp. So every member holds the same blocks, hashes and state.
 *
 * <p>The log is the ledger's durable record: on restart Ratis replays it into a fresh replica.
 * Futures and waiters complete on {@code events}, never on Ratis' apply thread, so a caller who
 * waits for one receipt inside another's callback cannot stall the log.
 */
public final class LedgerStateMachine extends BaseStateMachine {
  /** Blocks kept for callers of {@code awaitBlock} who ask a little late. */
  private static final int RECENT_BLOCKS = 256;

  private final LocalLedger replica;
  private final EntryClock clock;
  private final Executor events;
  private final Map<Hash256, List<CompletableFuture<Receipt>>> transactionWaiters =
      new ConcurrentHashMap<>();
  private final Map<Long, CompletableFuture<Block>> blockWaiters = new ConcurrentHashMap<>();
  private final ConcurrentSkipListMap<Long, Block> recent = new ConcurrentSkipListMap<>();
  /** Set when the member closes: what its unfinished waiters are told. */
  private volatile LedgerException closing;

  /**
   * @param maxPending the most transactions a block may wait with (the same on every member)
   */
  public LedgerStateMachine(Genesis genesis, IncentiveMechanism mechanism, int maxPending,
      Executor events) {
    this.clock = new EntryClock(genesis.createdAt().toEpochMilli());
    LocalLedger.Builder b = LocalLedger.builder()
        .genesis(genesis)
        .clock(clock)
        .blocks(BlockPolicy.manual())
        .maxPendingTransactions(maxPending)
        .mechanism(mechanism);
    this.replica = b.openInMemory();
    this.events = events;
  }

  /** The replica: reads and subscriptions go to it. */
  public LocalLedger replica() {
    return replica;
  }

  /**
   * A future for {@code tx}'s outcome on this member, registered before the transaction is sent
   * so that its entry cannot be applied unseen.
   */
  public CompletableFuture<Receipt> awaitTransaction(Hash256 tx) {
    CompletableFuture<Receipt> f = new CompletableFuture<>();
    transactionWaiters.computeIfAbsent(tx, k -> new ArrayList<>()).add(f);
    return f;
  }

  /** Forgets a waiter whose transaction could not be sent. */
  public void forget(Hash256 tx, CompletableFuture<Receipt> f) {
    transactionWaiters.computeIfPresent(tx, (k, list) -> {
      list.remove(f);
      return list.isEmpty() ? null : list;
    });
  }

  /** Completes when this member has sealed block {@code number}. */
  public CompletableFuture<Block> awaitBlock(long number) {
    // Register first, then look: seal() records the block before it looks for waiters.
    CompletableFuture<Block> f = blockWaiters.computeIfAbsent(number,
        k -> new CompletableFuture<>());
    Block known = recent.get(number);
    if (known != null) {
      blockWaiters.remove(number, f);
      // On the event thread, after the block's events already queued there.
      events.execute(() -> f.complete(known));
    } else if (!recent.isEmpty() && number < recent.firstKey()) {
      blockWaiters.remove(number, f);
      f.completeExceptionally(new LedgerException("block " + number
          + " was sealed too long ago to be looked up here"));
    }
    return f;
  }

  /** Fails every waiter: the member is closing. */
  public void failWaiters(LedgerException why) {
    closing = why;
    for (List<CompletableFuture<Receipt>> list : transactionWaiters.values()) {
      list.forEach(f -> f.completeExceptionally(why));
    }
    transactionWaiters.clear();
    blockWaiters.values().forEach(f -> f.completeExceptionally(why));
    blockWaiters.clear();
  }

  @Override
  public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
    LogEntryProto entry = trx.getLogEntry();
    byte[] data = entry.getStateMachineLogEntry().getLogData().toByteArray();
    try {
      byte[] reply = apply(data);
      return CompletableFuture.completedFuture(Message.valueOf(ByteString.copyFrom(reply)));
    } catch (LedgerException | RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    } finally {
      updateLastAppliedTermIndex(TermIndex.valueOf(entry));
    }
  }

  private byte[] apply(byte[] data) throws LedgerException {
    if (data.length == 0) {
      throw new IllegalArgumentException("an empty log entry");
    }
    switch (data[0]) {
      case Entries.BATCH: {
        List<byte[]> outcomes = new ArrayList<>();
        for (byte[] body : Entries.batchBodies(ByteBuffer.wrap(data, 1, data.length - 1))) {
          outcomes.add(applyTransaction(body));
        }
        return Entries.outcomes(outcomes);
      }
      case Entries.SEAL:
        if (data.length != 9) {
          throw new IllegalArgumentException("a seal entry of " + data.length + " bytes");
        }
        clock.set(ByteBuffer.wrap(data, 1, 8).getLong());
        return seal();
      default:
        throw new IllegalArgumentException("a log entry of unknown kind " + data[0]
            + " (written by a newer version?)");
    }
  }

  private byte[] applyTransaction(byte[] encoded) {
    SignedTransaction tx;
    try {
      tx = SignedTransaction.decode(encoded);
    } catch (IllegalArgumentException e) {
      // Only a client other than RaftLedger can send this; refuse it the same way everywhere.
      return Entries.rejected(new TransactionRejectedException(
          io.bittensor.core.RejectReason.MALFORMED, e.getMessage()));
    }
    CompletableFuture<Receipt> outcome = replica.submit(tx);
    List<CompletableFuture<Receipt>> waiting = transactionWaiters.remove(tx.hash());
    if (waiting != null) {
      outcome.whenCompleteAsync((receipt, error) -> {
        Throwable cause = error == null ? null : unwrap(error);
        if (cause != null && !(cause instanceof TransactionRejectedException)
            && closing != null) {
          // The replica closed under it, but the group goes on and may still seal it.
          cause = closing;
        }
        for (CompletableFuture<Receipt> w : waiting) {
          if (cause != null) {
            w.completeExceptionally(cause);
          } else {
            w.complete(receipt);
          }
        }
      }, events);
    }
    if (outcome.isCompletedExceptionally()) {
      Throwable why = rejectionOf(outcome);
      if (why instanceof TransactionRejectedException r) {
        return Entries.rejected(r);
      }
    }
    return Entries.accepted();
  }

  private static Throwable rejectionOf(CompletableFuture<Receipt> done) {
    try {
      done.join();
      return null;
    } catch (CompletionException e) {
      return unwrap(e);
    } catch (java.util.concurrent.CancellationException e) {
      return e;
    }
  }

  private static Throwable unwrap(Throwable t) {
    return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
  }

  private byte[] seal() throws LedgerException {
    Block block = replica.produceBlock();
    recent.put(block.number(), block);
    while (recent.size() > RECENT_BLOCKS) {
      recent.pollFirstEntry();
    }
    CompletableFuture<Block> waiter = blockWaiters.remove(block.number());
    if (waiter != null) {
      events.execute(() -> waiter.complete(block));
    }
    return Entries.blockNumber(block.number());
  }

  @Override
  public CompletableFuture<Message> query(Message request) {
    byte[] data = request.getContent().toByteArray();
    if (data.length == 33 && data[0] == Entries.ACCOUNT) {
      PeerId id = PeerId.fromBytes(Arrays.copyOfRange(data, 1, 33));
      return CompletableFuture.completedFuture(
          Message.valueOf(ByteString.copyFrom(Entries.account(replica.account(id)))));
    }
    return CompletableFuture.failedFuture(
        new IllegalArgumentException("an unknown query of " + data.length + " bytes"));
  }
}
