package io.bittensor.core.internal.ledger;

import io.bittensor.core.Epoch;
import io.bittensor.core.Hash256;
import io.bittensor.core.Metagraph;
import io.bittensor.core.PeerState;
import io.bittensor.incentive.CsrMatrix;
import io.bittensor.incentive.EpochResult;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.incentive.NetworkState;
import io.bittensor.incentive.PeerMatrix;
import io.bittensor.incentive.PeerVector;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Optional;

/**
 * An epoch's new bonds, worked out again from the metagraphs on either side of its block, so
 * that a client following a ledger need not be sent them: they are most of an epoch block's
 * change (nearly every row moves), and the rest of the epoch (every peer's scores and emission)
 * is small beside them.
 *
 * <p>The epoch ran on the state after the block's transactions: the stake before minting (each
 * peer's stake after the block less the emission the epoch minted it), the weights after the
 * block (an epoch leaves them), and the bonds before it less the rows and columns of the uids
 * that registrations took over in the block (a peer registered in the block, at a uid the block
 * before had). This runs the chain's mechanism on that state, as {@link LedgerState#runEpoch}
 * does, and checks its result against what the block after says the epoch gave: every peer's
 * rank, trust, consensus, incentive and dividends, bit for bit, and its minted units. A
 * mechanism other than the chain's, or a state other than the server's, fails that check.
 */
public final class EpochReplay {
  private EpochReplay() {}

  /**
   * Whether the block of {@code after} ran an epoch that minted (one that was skipped changes
   * no bonds).
   */
  public static boolean ranEpoch(Metagraph after) {
    Optional<Epoch> e = after.lastEpoch();
    return e.isPresent() && e.get().block() == after.block().number()
        && e.get().skipped().isEmpty();
  }

  /**
   * The bonds after the epoch of {@code after}'s block.
   *
   * @param before the metagraph of the block before (its bonds are the ones the epoch updated)
   * @param after the metagraph of the epoch's block, with every part right but its bonds,
   *     which are not read
   * @param mechanism the chain's mechanism
   * @throws IllegalArgumentException if the block ran no epoch that minted, or the metagraphs
   *     are not of consecutive blocks
   * @throws IllegalStateException if the mechanism's result is not the epoch {@code after}
   *     records (another mechanism, or another state), naming the first peer that differs
   */
  public static CsrMatrix bonds(Metagraph before, Metagraph after, IncentiveMechanism mechanism) {
    long block = after.block().number();
    if (!ranEpoch(after)) {
      throw new IllegalArgumentException("block " + block + " ran no epoch that minted");
    }
    if (before.block().number() != block - 1 || before.size() > after.size()) {
      throw new IllegalArgumentException("block " + before.block().number() + " with "
          + before.size() + " peers is not the one before block " + block + " with "
          + after.size());
    }
    int n = after.size();
    double[] stake = new double[n];
    for (int i = 0; i < n; i++) {
      PeerState p = after.peer(i);
      stake[i] = p.stake() - p.emission();
    }
    CsrMatrix bonds = before.bonds().toCsr();
    for (int uid = 0; uid < before.size(); uid++) {
      if (after.peer(uid).registeredAt() == block) {
        bonds = Matrices.withoutPeer(bonds, uid); // taken over in this block
      }
    }
    EpochResult result = mechanism.step(new NetworkState(PeerVector.of(stake),
        after.weights().toCsr(), Matrices.resize(bonds, n)));
    if (result.size() != n || result.bonds().size() != n) {
      throw new IllegalStateException("the mechanism returned " + result.size() + " peers for "
          + n);
    }
    long[] units = Minting.largestRemainder(result.emission().toArray());
    PeerVector[] vectors = {result.ranks(), result.trust(), result.consensus(),
        result.incentive(), result.dividends()};
    String[] names = {"rank", "trust", "consensus", "incentive", "dividends"};
    for (int i = 0; i < n; i++) {
      PeerState p = after.peer(i);
      double[] recorded = {p.rank(), p.trust(), p.consensus(), p.incentive(), p.dividends()};
      for (int v = 0; v < vectors.length; v++) {
        if (Double.doubleToLongBits(vectors[v].get(i))
            != Double.doubleToLongBits(recorded[v])) {
          throw new IllegalStateException("the epoch of block " + block + " replayed with "
              + mechanism.name() + " gives peer " + i + " " + names[v] + " "
              + vectors[v].get(i) + ", the block records " + recorded[v]);
        }
      }
      if (units[i] != p.emission()) {
        throw new IllegalStateException("the epoch of block " + block + " replayed with "
            + mechanism.name() + " mints peer " + i + " " + units[i] + ", the block records "
            + p.emission());
      }
    }
    return result.bonds().toCsr();
  }

  /**
   * A digest of {@code bonds}' non-zero entries (row, column, value's bits, in row order), which
   * is what a metagraph's matrices keep: equal digests, equal bonds.
   */
  public static Hash256 digest(PeerMatrix bonds) {
    CsrMatrix m = bonds.toCsr();
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
    ByteBuffer buf = ByteBuffer.allocate(16 * 1024);
    buf.putInt(m.size());
    for (int row = 0; row < m.size(); row++) {
      for (int k = m.rowStart(row); k < m.rowEnd(row); k++) {
        double v = m.valueAt(k);
        if (v == 0) {
          continue;
        }
        if (buf.remaining() < 16) {
          sha.update(buf.array(), 0, buf.position());
          buf.clear();
        }
        buf.putInt(row).putInt(m.colAt(k)).putLong(Double.doubleToLongBits(v));
      }
    }
    sha.update(buf.array(), 0, buf.position());
    return Hash256.fromBytes(sha.digest());
  }
}
