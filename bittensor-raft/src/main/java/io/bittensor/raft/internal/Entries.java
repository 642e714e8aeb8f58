package io.bittensor.raft.internal;

import io.bittensor.core.Account;
import io.bittensor.core.PeerId;
import io.bittensor.core.RejectReason;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.TransactionRejectedException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What the Raft log holds and what members answer, as bytes. Each entry starts with one tag
 * byte: {@code B} a batch of signed transactions (a count, then each one's length and its own
 * encoding; the reply holds each one's outcome, in order), {@code S} seal a block (the leader's
 * clock, 8 bytes). Queries: {@code A} an account (the 32-byte key).
 */
public final class Entries {
  static final byte BATCH = 'B';
  static final byte SEAL = 'S';
  static final byte ACCOUNT = 'A';

  private static final byte ACCEPTED = 'O';
  private static final byte REJECTED = 'R';
  private static final byte ABSENT = 0;
  private static final byte PRESENT = 1;

  private Entries() {}

  /** The log entry that submits {@code txs}, in order. */
  public static byte[] batch(List<SignedTransaction> txs) {
    List<byte[]> bodies = new ArrayList<>(txs.size());
    int length = 1 + 4;
    for (SignedTransaction tx : txs) {
      byte[] body = tx.encode();
      bodies.add(body);
      length += 4 + body.length;
    }
    ByteBuffer b = ByteBuffer.allocate(length).put(BATCH).putInt(bodies.size());
    for (byte[] body : bodies) {
      b.putInt(body.length).put(body);
    }
    return b.array();
  }

  /** The encoded transactions of a batch entry (its tag already read). */
  static List<byte[]> batchBodies(ByteBuffer b) {
    int count = b.getInt();
    if (count < 0 || count > b.remaining() / 4) {
      throw new IllegalArgumentException("a batch of " + count + " transactions in "
          + b.remaining() + " bytes");
    }
    List<byte[]> bodies = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int length = b.getInt();
      if (length < 0 || length > b.remaining()) {
        throw new IllegalArgumentException("transaction " + i + " of a batch claims " + length
            + " bytes, " + b.remaining() + " remain");
      }
      byte[] body = new byte[length];
      b.get(body);
      bodies.add(body);
    }
    return bodies;
  }

  /** Each transaction's outcome, in the batch's order, as one reply. */
  static byte[] outcomes(List<byte[]> outcomes) {
    int length = 4;
    for (byte[] o : outcomes) {
      length += 4 + o.length;
    }
    ByteBuffer b = ByteBuffer.allocate(length).putInt(outcomes.size());
    for (byte[] o : outcomes) {
      b.putInt(o.length).put(o);
    }
    return b.array();
  }

  /**
   * The outcomes of a batch's reply, in order (each for {@link #rejection}).
   *
   * @throws IllegalArgumentException if {@code reply} is not one
   */
  public static List<byte[]> outcomes(byte[] reply) {
    ByteBuffer b = ByteBuffer.wrap(reply);
    if (b.remaining() < 4) {
      throw new IllegalArgumentException("a reply of " + reply.length + " bytes");
    }
    int count = b.getInt();
    // Bounded by the bytes there, before anything is allocated for it.
    if (count < 0 || count > b.remaining() / 4) {
      throw new IllegalArgumentException("a reply of " + count + " outcomes in "
          + b.remaining() + " bytes");
    }
    List<byte[]> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int length = b.remaining() < 4 ? -1 : b.getInt();
      if (length < 0 || length > b.remaining()) {
        throw new IllegalArgumentException("outcome " + i + " of a reply is cut short");
      }
      byte[] o = new byte[length];
      b.get(o);
      out.add(o);
    }
    return out;
  }

  /** The log entry that seals a block at {@code timestampMillis} (never before the last one). */
  public static byte[] seal(long timestampMillis) {
    return ByteBuffer.allocate(9).put(SEAL).putLong(timestampMillis).array();
  }

  /** The query for {@code id}'s account. */
  public static byte[] accountQuery(PeerId id) {
    byte[] key = id.toBytes();
    return ByteBuffer.allocate(1 + key.length).put(ACCOUNT).put(key).array();
  }

  static byte[] accepted() {
    return new byte[] {ACCEPTED};
  }

  static byte[] rejected(TransactionRejectedException r) {
    byte[] reason = r.reason().name().getBytes(StandardCharsets.UTF_8);
    byte[] detail = r.detail().getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(1 + 4 + reason.length + detail.length).put(REJECTED)
        .putInt(reason.length).put(reason).put(detail).array();
  }

  /** The rejection a member answered for a transaction, or empty if it was accepted. */
  public static Optional<TransactionRejectedException> rejection(byte[] reply) {
    ByteBuffer b = ByteBuffer.wrap(reply);
    byte tag = b.get();
    if (tag == ACCEPTED) {
      return Optional.empty();
    }
    if (tag != REJECTED) {
      throw new IllegalArgumentException("not a transaction's outcome: tag " + tag);
    }
    byte[] reason = new byte[b.getInt()];
    b.get(reason);
    byte[] detail = new byte[b.remaining()];
    b.get(detail);
    return Optional.of(new TransactionRejectedException(
        RejectReason.valueOf(new String(reason, StandardCharsets.UTF_8)),
        new String(detail, StandardCharsets.UTF_8)));
  }

  static byte[] blockNumber(long number) {
    return ByteBuffer.allocate(8).putLong(number).array();
  }

  /** The number of the block a seal entry made, from its reply. */
  public static long blockNumber(byte[] reply) {
    return ByteBuffer.wrap(reply).getLong();
  }

  static byte[] account(Optional<Account> account) {
    if (account.isEmpty()) {
      return new byte[] {ABSENT};
    }
    Account a = account.get();
    return ByteBuffer.allocate(17).put(PRESENT).putLong(a.balance()).putLong(a.nonce()).array();
  }

  /** The account a member answered for {@code id}. */
  public static Optional<Account> account(PeerId id, byte[] reply) {
    ByteBuffer b = ByteBuffer.wrap(reply);
    if (b.get() == ABSENT) {
      return Optional.empty();
    }
    return Optional.of(new Account(id, b.getLong(), b.getLong()));
  }
}
