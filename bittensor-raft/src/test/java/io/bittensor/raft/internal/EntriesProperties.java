package io.bittensor.raft.internal;

import static io.bittensor.core.testing.LedgerFixtures.key;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.bittensor.core.Account;
import io.bittensor.core.Hash256;
import io.bittensor.core.PeerId;
import io.bittensor.core.RejectReason;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Transaction;
import io.bittensor.core.TransactionRejectedException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The bytes of the Raft log and of members' replies ({@link Entries}), over seeded random
 * contents: every kind round-trips exactly, and a batch entry cut short anywhere is refused
 * rather than read as fewer or other transactions. The seed is in each case's name.
 */
class EntriesProperties {
  static LongStream seeds() {
    return LongStream.range(0, 60).map(i -> 0xe27e5000L + i);
  }

  private static SignedTransaction randomTransaction(SplittableRandom r) {
    Transaction body = switch (r.nextInt(3)) {
      case 0 -> Transaction.transfer(key(r.nextInt(20)).id(), 1 + r.nextInt(1_000_000));
      case 1 -> Transaction.addStake(1 + r.nextInt(1_000_000));
      default -> {
        int k = r.nextInt(64);
        int[] uids = new int[k];
        double[] weights = new double[k];
        for (int i = 0; i < k; i++) {
          uids[i] = i;
          weights[i] = r.nextDouble();
        }
        yield Transaction.setWeights(uids, weights);
      }
    };
    return SignedTransaction.sign(key(r.nextInt(4)), Hash256.of(new byte[] {7}),
        r.nextInt(1000), body);
  }

  private static List<SignedTransaction> randomBatch(SplittableRandom r) {
    List<SignedTransaction> txs = new ArrayList<>();
    for (int i = r.nextInt(12); i > 0; i--) {
      txs.add(randomTransaction(r));
    }
    return txs;
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void aBatchEntryGivesBackItsTransactionsInOrder(long seed) {
    List<SignedTransaction> txs = randomBatch(new SplittableRandom(seed));
    byte[] entry = Entries.batch(txs);
    assertEquals(Entries.BATCH, entry[0], "seed " + seed);
    List<byte[]> bodies = Entries.batchBodies(ByteBuffer.wrap(entry, 1, entry.length - 1));
    assertEquals(txs.size(), bodies.size(), "seed " + seed);
    for (int i = 0; i < txs.size(); i++) {
      assertArrayEquals(txs.get(i).encode(), bodies.get(i), "seed " + seed + ", #" + i);
      assertEquals(txs.get(i), SignedTransaction.decode(bodies.get(i)), "seed " + seed);
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void aBatchEntryCutShortAnywhereIsRefused(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    List<SignedTransaction> txs = randomBatch(r);
    txs.add(randomTransaction(r)); // at least one, so that there is a body to cut
    byte[] entry = Entries.batch(txs);
    for (int end = 1; end < entry.length; end++) {
      ByteBuffer cut = ByteBuffer.wrap(entry, 1, end - 1);
      try {
        List<byte[]> read = Entries.batchBodies(cut);
        fail("seed " + seed + ": cut at " + end + " of " + entry.length + " read "
            + read.size() + " transactions");
      } catch (IllegalArgumentException | BufferUnderflowException expected) {
        // refused: a short entry is never a shorter batch
      }
    }
    // A count no entry of this size could hold is refused before anything is allocated for it.
    ByteBuffer huge = ByteBuffer.allocate(12).putInt(Integer.MAX_VALUE).putInt(1).putInt(1);
    huge.flip();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Entries.batchBodies(huge));
    assertTrue(e.getMessage().contains("a batch of 2147483647 transactions in 8 bytes"),
        e.getMessage());
    ByteBuffer negative = ByteBuffer.allocate(8).putInt(1).putInt(-1);
    negative.flip();
    assertThrows(IllegalArgumentException.class, () -> Entries.batchBodies(negative));
  }

  /** A batch entry after its tag, written by hand: for bodies no transaction encodes to. */
  private static ByteBuffer rawBatch(List<byte[]> bodies) {
    int length = 4;
    for (byte[] body : bodies) {
      length += 4 + body.length;
    }
    ByteBuffer b = ByteBuffer.allocate(length).putInt(bodies.size());
    for (byte[] body : bodies) {
      b.putInt(body.length).put(body);
    }
    return b.flip();
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void anEmptyBodyIsReadAsATransactionOfItsOwnNotABrokenEntry(long seed) {
    // The state machine refuses a body that does not decode (MALFORMED) alone: refusing the
    // entry instead would fail every transaction that shared it.
    SplittableRandom r = new SplittableRandom(seed);
    List<byte[]> bodies = new ArrayList<>();
    for (int i = 1 + r.nextInt(12); i > 0; i--) {
      bodies.add(r.nextBoolean() ? new byte[0] : randomTransaction(r).encode());
    }
    bodies.set(r.nextInt(bodies.size()), new byte[0]); // at least one empty
    List<byte[]> read = Entries.batchBodies(rawBatch(bodies));
    assertEquals(bodies.size(), read.size(), "seed " + seed);
    for (int i = 0; i < bodies.size(); i++) {
      assertArrayEquals(bodies.get(i), read.get(i), "seed " + seed + ", #" + i);
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void aCountIsRefusedOnceItExceedsOneTransactionForEveryFourBytes(long seed) {
    // Each transaction takes at least its 4-byte length: k empty ones fill 4k bytes exactly, and
    // k + 1 in them is refused by the count, naming it, not by running out of bytes later.
    int k = new SplittableRandom(seed).nextInt(65);
    ByteBuffer full = ByteBuffer.allocate(4 + 4 * k).putInt(0, k);
    List<byte[]> read = Entries.batchBodies(full);
    assertEquals(k, read.size(), "seed " + seed);
    assertTrue(read.stream().allMatch(body -> body.length == 0), "seed " + seed);
    ByteBuffer over = ByteBuffer.allocate(4 + 4 * k).putInt(0, k + 1);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Entries.batchBodies(over), "seed " + seed);
    assertEquals("a batch of " + (k + 1) + " transactions in " + 4 * k + " bytes",
        e.getMessage());
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void outcomesRoundTripInOrder(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    List<byte[]> outcomes = new ArrayList<>();
    for (int i = r.nextInt(20); i > 0; i--) {
      byte[] o = new byte[r.nextInt(40)];
      r.nextBytes(o);
      outcomes.add(o);
    }
    List<byte[]> back = Entries.outcomes(Entries.outcomes(outcomes));
    assertEquals(outcomes.size(), back.size(), "seed " + seed);
    for (int i = 0; i < outcomes.size(); i++) {
      assertArrayEquals(outcomes.get(i), back.get(i), "seed " + seed + ", #" + i);
    }
  }

  /**
   * A reply cut short anywhere, or claiming more outcomes than its bytes hold, is refused with an
   * IllegalArgumentException before anything is allocated for it (a claimed count of 2^31 - 1
   * used to size a list: OutOfMemoryError on the Raft client's thread).
   */
  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void aReplyCutShortOrOverclaimingIsRefused(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    List<byte[]> outcomes = new ArrayList<>();
    for (int i = 1 + r.nextInt(20); i > 0; i--) {
      outcomes.add(new byte[1 + r.nextInt(40)]);
    }
    byte[] reply = Entries.outcomes(outcomes);
    byte[] cut = Arrays.copyOf(reply, r.nextInt(reply.length));
    assertThrows(IllegalArgumentException.class, () -> Entries.outcomes(cut), "seed " + seed);
    byte[] huge = reply.clone();
    ByteBuffer.wrap(huge).putInt(Integer.MAX_VALUE - r.nextInt(100));
    assertThrows(IllegalArgumentException.class, () -> Entries.outcomes(huge), "seed " + seed);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void eachOutcomeSaysAcceptedOrTheRejectionAsItWas(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    assertEquals(Optional.empty(), Entries.rejection(Entries.accepted()));
    RejectReason reason = RejectReason.values()[r.nextInt(RejectReason.values().length)];
    String detail = switch (r.nextInt(3)) {
      case 0 -> "";
      case 1 -> "nonce " + r.nextLong() + " is not the next";
      default -> "caf\u00e9 \u00fc\u00df \u2713 " + r.nextInt();
    };
    TransactionRejectedException back = Entries.rejection(
        Entries.rejected(new TransactionRejectedException(reason, detail))).orElseThrow();
    assertEquals(reason, back.reason(), "seed " + seed);
    assertEquals(detail, back.detail(), "seed " + seed);
    byte[] other = {(byte) ('A' + r.nextInt(14))}; // neither 'O' nor 'R'
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Entries.rejection(other));
    assertTrue(e.getMessage().contains("tag " + other[0]), e.getMessage());
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void accountsSealsAndQueriesHaveTheirLayout(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    PeerId id = key(r.nextInt(20)).id();
    Account a = new Account(id, r.nextLong(Long.MAX_VALUE), r.nextLong(Long.MAX_VALUE));
    assertEquals(Optional.of(a), Entries.account(id, Entries.account(Optional.of(a))));
    assertEquals(Optional.empty(), Entries.account(id, Entries.account(Optional.empty())));
    long t = r.nextLong();
    byte[] seal = Entries.seal(t);
    assertEquals(9, seal.length);
    assertEquals(Entries.SEAL, seal[0]);
    assertEquals(t, ByteBuffer.wrap(seal, 1, 8).getLong());
    long n = r.nextLong();
    assertEquals(n, Entries.blockNumber(Entries.blockNumber(n)));
    byte[] query = Entries.accountQuery(id);
    assertEquals(Entries.ACCOUNT, query[0]);
    assertArrayEquals(id.toBytes(), Arrays.copyOfRange(query, 1, query.length));
  }
}
