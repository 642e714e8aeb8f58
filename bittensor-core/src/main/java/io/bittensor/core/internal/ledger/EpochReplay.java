package io.bittensor.core.internal.ledger;

import io.bittensor.core.Epoch;
import io.bittensor.core.Hash256;
import io.bittensor.core.Metagraph;
import io.bittensor.core.PeerState;
import io.bittensor.incentive.CsrMatrix;
import io.bittensor.incentive.EpochResult;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.incentive.NetworkState;
import io.bittensor.incentive.PeerVector;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * An epoch run again from the state it ran on, so that a client following a ledger need not be
 * sent what it changed: every peer's scores and emission and nearly every bond row, nearly all
 * of an epoch block's change, which the client can work out itself.
 *
 * <p>The server sends the state the epoch ran on ({@link #before}): the block's transactions
 * applied, each peer's stake before minting (its stake after the block less the emission the
 * epoch minted it), its scores and emission as before the epoch, and the bonds of the block
 * before less the rows and columns of the uids that registrations took over in the block (a
 * peer registered in the block, at a uid the block before had; a new peer's scores are zero).
 * The client runs the chain's mechanism on it ({@link #run}), as {@link LedgerState#runEpoch}
 * does, and checks what it got against the server's {@link #digest}.
 */
public final class EpochReplay {
  private EpochReplay() {}

  /**
   * Whether the block of {@code after} ran an epoch that minted (one that was skipped changes
   * nothing to replay).
   */
  public static boolean ranEpoch(Metagraph after) {
    Optional<Epoch> e = after.lastEpoch();
    return e.isPresent() && e.get().block() == after.block().number()
        && e.get().skipped().isEmpty();
  }

  /**
   * The state the epoch of {@code after}'s block ran on; its rules, supply and last epoch are
   * {@code after}'s (the client is sent those as they are).
   *
   * @param before the metagraph of the block before
   * @param after the metagraph of a block whose epoch minted
   * @throws IllegalArgumentException if the block ran no epoch that minted, or the metagraphs
   *     are not of consecutive blocks of one chain
   */
  public static Metagraph before(Metagraph before, Metagraph after) {
    long block = after.block().number();
    if (!ranEpoch(after)) {
      throw new IllegalArgumentException("block " + block + " ran no epoch that minted");
    }
    if (before.block().number() != block - 1 || before.size() > after.size()) {
      throw new IllegalArgumentException("block " + before.block().number() + " with "
          + before.size() + " peers is not the one before block " + block + " with "
          + after.size());
    }
    if (!before.chainId().equals(after.chainId())) {
      throw new IllegalArgumentException("block " + before.block().number() + " is of chain "
          + before.chainId() + ", block " + block + " of chain " + after.chainId());
    }
    int n = after.size();
    List<PeerState> peers = new ArrayList<>(n);
    CsrMatrix bonds = before.bonds().toCsr();
    for (int uid = 0; uid < n; uid++) {
      PeerState p = after.peer(uid);
      long stake = p.stake() - p.emission();
      if (p.registeredAt() == block) { // new in this block, or taken over: nothing from before
        peers.add(new PeerState(uid, p.info(), stake, p.registeredAt(), p.lastUpdate(),
            0, 0, 0, 0, 0, 0));
        bonds = Matrices.withoutPeer(bonds, uid);
      } else if (uid >= before.size()) {
        throw new IllegalArgumentException("uid " + uid + " registered in block "
            + p.registeredAt() + ", but block " + before.block().number() + " has only "
            + before.size() + " peers");
      } else {
        PeerState b = before.peer(uid);
        peers.add(new PeerState(uid, p.info(), stake, p.registeredAt(), p.lastUpdate(),
            b.rank(), b.trust(), b.consensus(), b.incentive(), b.dividends(), b.emission()));
      }
    }
    return Metagraph.of(after.chainId(), after.block(), after.params(), after.supply(),
        after.lastEpoch(), peers, after.weights(), Matrices.resize(bonds, n));
  }

  /**
   * The metagraph after the epoch that ran on {@code before} (as {@link #before} gives it):
   * {@code mechanism}'s scores and bonds, and each peer's minted units as its emission, added to
   * its stake.
   *
   * @throws IllegalStateException if the mechanism refuses the state, returns another size, or
   *     an emission the ledger would not mint (negative, not finite, or overflowing a stake)
   */
  public static Metagraph run(Metagraph before, IncentiveMechanism mechanism) {
    int n = before.size();
    double[] stake = new double[n];
    for (int i = 0; i < n; i++) {
      stake[i] = before.peer(i).stake();
    }
    EpochResult result;
    try {
      result = mechanism.step(new NetworkState(PeerVector.of(stake), before.weights().toCsr(),
          before.bonds().toCsr()));
    } catch (RuntimeException e) {
      throw new IllegalStateException(mechanism.name() + " refused the state of block "
          + before.block().number() + ": " + e.getMessage(), e);
    }
    if (result.size() != n || result.bonds().size() != n) {
      throw new IllegalStateException(mechanism.name() + " returned " + result.size()
          + " peers for " + n);
    }
    // What the ledger would skip rather than mint; minting it would wrap around a long.
    String unmintable = LedgerState.checkResult(result, n);
    if (unmintable != null) {
      throw new IllegalStateException(mechanism.name() + " on the state of block "
          + before.block().number() + " gives an epoch the ledger would skip: " + unmintable);
    }
    long[] units = Minting.largestRemainder(result.emission().toArray());
    List<PeerState> peers = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      PeerState p = before.peer(i);
      long minted;
      try {
        minted = Math.addExact(p.stake(), units[i]);
      } catch (ArithmeticException overflow) {
        throw new IllegalStateException(mechanism.name() + " mints peer " + i + " " + units[i]
            + " on a stake of " + p.stake() + ": more than a stake can hold", overflow);
      }
      peers.add(new PeerState(i, p.info(), minted, p.registeredAt(),
          p.lastUpdate(), result.ranks().get(i), result.trust().get(i),
          result.consensus().get(i), result.incentive().get(i), result.dividends().get(i),
          units[i]));
    }
    return Metagraph.of(before.chainId(), before.block(), before.params(), before.supply(),
        before.lastEpoch(), peers, before.weights(), result.bonds().toCsr());
  }

  /**
   * A digest of what an epoch gave ({@code after}'s): each peer's rank, trust, consensus,
   * incentive and dividends (their IEEE 754 bits) and emission, in uid order, then the bonds'
   * non-zero entries (row, column, the value's bits) in row order, after the number of peers.
   * Equal digests, equal epochs.
   */
  public static Hash256 digest(Metagraph after) {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
    ByteBuffer buf = ByteBuffer.allocate(16 * 1024);
    int n = after.size();
    buf.putInt(n);
    for (int i = 0; i < n; i++) {
      if (buf.remaining() < 48) {
        flush(sha, buf);
      }
      PeerState p = after.peer(i);
      buf.putLong(Double.doubleToLongBits(p.rank()))
          .putLong(Double.doubleToLongBits(p.trust()))
          .putLong(Double.doubleToLongBits(p.consensus()))
          .putLong(Double.doubleToLongBits(p.incentive()))
          .putLong(Double.doubleToLongBits(p.dividends()))
          .putLong(p.emission());
    }
    CsrMatrix m = after.bonds().toCsr();
    for (int row = 0; row < m.size(); row++) {
      for (int k = m.rowStart(row); k < m.rowEnd(row); k++) {
        double v = m.valueAt(k);
        if (v == 0) {
          continue; // as a metagraph's matrices keep them: absent
        }
        if (buf.remaining() < 16) {
          flush(sha, buf);
        }
        buf.putInt(row).putInt(m.colAt(k)).putLong(Double.doubleToLongBits(v));
      }
    }
    flush(sha, buf);
    return Hash256.fromBytes(sha.digest());
  }

  private static void flush(MessageDigest sha, ByteBuffer buf) {
    sha.update(buf.array(), 0, buf.position());
    buf.clear();
  }
}
