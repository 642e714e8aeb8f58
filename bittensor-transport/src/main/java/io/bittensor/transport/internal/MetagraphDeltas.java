package io.bittensor.transport.internal;

import io.bittensor.core.Block;
import io.bittensor.core.Hash256;
import io.bittensor.core.Metagraph;
import io.bittensor.core.PeerState;
import io.bittensor.core.internal.ledger.EpochReplay;
import io.bittensor.incentive.CsrMatrix;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.incentive.PeerMatrix;
import io.bittensor.transport.internal.wire.MatrixRows;
import io.bittensor.transport.internal.wire.MetagraphDelta;
import java.util.Arrays;
import java.util.Optional;

/**
 * What a block changed in the metagraph, on the wire: the peers whose entries moved and the
 * weight and bond rows that changed, each whole. A block that sets a few weight rows sends those
 * rows, not the whole matrix; an epoch still changes every peer's scores and most bond rows.
 * Entries equal to zero are left out, as in a whole metagraph's matrices.
 */
public final class MetagraphDeltas {
  private MetagraphDeltas() {}

  /** What turns {@code before} into {@code after} (of the same chain, one block later). */
  public static MetagraphDelta between(Metagraph before, Metagraph after) {
    MetagraphDelta.Builder d = MetagraphDelta.newBuilder()
        .setSize(after.size())
        .setSupply(after.supply())
        .setParams(LedgerWire.toWire(after.params()));
    after.lastEpoch().ifPresent(e -> d.setLastEpoch(LedgerWire.toWire(e)));
    for (int uid = 0; uid < after.size(); uid++) {
      PeerState p = after.peer(uid);
      if (uid >= before.size() || !p.equals(before.peer(uid))) {
        d.addPeerUids(uid).addPeers(LedgerWire.toWire(p));
      }
    }
    d.setWeights(changedRows(before.weights(), after.weights()));
    d.setBonds(changedRows(before.bonds(), after.bonds()));
    return d.build();
  }

  /**
   * What turns {@code before} into the state the epoch of {@code after}'s block ran on, with a
   * digest of what the epoch gave: for a client that runs the epoch itself ({@link
   * EpochReplay}). Nearly every peer and bond row an epoch changes is left out.
   */
  public static MetagraphDelta forEpochReplay(Metagraph before, Metagraph after) {
    return between(before, EpochReplay.before(before, after)).toBuilder()
        .setReplayedEpochDigest(LedgerWire.bytes(EpochReplay.digest(after)))
        .build();
  }

  /**
   * The metagraph of {@code block}: {@code before} (that of the block before it) with {@code
   * delta} applied; for a delta to the state an epoch ran on ({@link #forEpochReplay}), the
   * epoch run on it with {@code mechanism} and checked against the delta's digest.
   *
   * @param mechanism the chain's mechanism, or null for a client that does not replay epochs
   * @throws IllegalArgumentException naming what in the delta does not fit {@code before}
   * @throws IllegalStateException for a delta to the state an epoch ran on that {@code
   *     mechanism} does not give the server's epoch on (it is not the chain's, or null)
   */
  public static Metagraph apply(Metagraph before, MetagraphDelta delta, Block block,
      IncentiveMechanism mechanism) {
    Metagraph applied = apply(before, delta, block);
    if (delta.getReplayedEpochDigest().isEmpty()) {
      return applied;
    }
    if (mechanism == null) {
      throw new IllegalStateException("block " + block.number() + " came without what its"
          + " epoch changed, and this client has no mechanism to run the epoch with");
    }
    Metagraph after = EpochReplay.run(applied, mechanism);
    Hash256 digest = EpochReplay.digest(after);
    if (!LedgerWire.bytes(digest).equals(delta.getReplayedEpochDigest())) {
      throw new IllegalStateException("the epoch of block " + block.number() + " replayed with "
          + mechanism.name() + " has digest " + digest.toShortHex() + ", not the server's "
          + LedgerWire.hash(delta.getReplayedEpochDigest(), "digest").toShortHex());
    }
    return after;
  }

  /**
   * The metagraph of {@code block}: {@code before} (that of the block before it) with {@code
   * delta} applied. For a delta to the state an epoch ran on, that state: see {@link
   * #apply(Metagraph, MetagraphDelta, Block, IncentiveMechanism)}.
   *
   * @throws IllegalArgumentException naming what in the delta does not fit {@code before}
   */
  public static Metagraph apply(Metagraph before, MetagraphDelta delta, Block block) {
    int n = delta.getSize();
    if (delta.getPeerUidsCount() != delta.getPeersCount()) {
      throw new IllegalArgumentException("a delta needs an entry for each of its "
          + delta.getPeerUidsCount() + " peer uids, had " + delta.getPeersCount());
    }
    if (!delta.hasParams()) {
      throw new IllegalArgumentException("a delta needs params");
    }
    // uint32 on the wire; and every new uid needs an entry, so a size past them is refused
    // before anything is sized by it.
    if (n < 0 || n > (long) before.size() + delta.getPeerUidsCount()) {
      throw new IllegalArgumentException("the delta's size " + Integer.toUnsignedString(n)
          + " is more than the " + before.size() + " peers before and the "
          + delta.getPeerUidsCount() + " entries it gives");
    }
    PeerState[] peers = new PeerState[n];
    for (int uid = 0; uid < Math.min(n, before.size()); uid++) {
      peers[uid] = before.peer(uid);
    }
    int last = -1;
    for (int i = 0; i < delta.getPeerUidsCount(); i++) {
      int uid = delta.getPeerUids(i);
      if (uid <= last || uid >= n) {
        throw new IllegalArgumentException("delta peer_uids[" + i + "] = " + uid
            + ": must ascend and be below the size " + n);
      }
      peers[uid] = LedgerWire.fromWire(uid, delta.getPeers(i));
      last = uid;
    }
    for (int uid = 0; uid < n; uid++) {
      if (peers[uid] == null) {
        throw new IllegalArgumentException("the delta grows the metagraph to " + n
            + " peers but gives no entry for new uid " + uid);
      }
    }
    return Metagraph.of(before.chainId(), block, LedgerWire.fromWire(delta.getParams()),
        delta.getSupply(),
        delta.hasLastEpoch() ? Optional.of(LedgerWire.fromWire(delta.getLastEpoch()))
            : Optional.empty(),
        Arrays.asList(peers),
        withRows(before.weights(), n, delta.getWeights(), "weights"),
        withRows(before.bonds(), n, delta.getBonds(), "bonds"));
  }

  /** The rows of {@code after} whose non-zero entries differ from {@code before}'s. */
  private static MatrixRows changedRows(PeerMatrix beforeMatrix, PeerMatrix afterMatrix) {
    CsrMatrix before = beforeMatrix.toCsr();
    CsrMatrix after = afterMatrix.toCsr();
    MatrixRows.Builder b = MatrixRows.newBuilder().addRowPtr(0);
    for (int row = 0; row < after.size(); row++) {
      if (row < before.size() && sameRow(before, after, row)) {
        continue;
      }
      b.addRows(row);
      for (int k = after.rowStart(row); k < after.rowEnd(row); k++) {
        if (after.valueAt(k) != 0) {
          b.addCols(after.colAt(k)).addValues(after.valueAt(k));
        }
      }
      b.addRowPtr(b.getColsCount());
    }
    return b.build();
  }

  private static boolean sameRow(CsrMatrix a, CsrMatrix b, int row) {
    int ka = a.rowStart(row);
    int kb = b.rowStart(row);
    int ea = a.rowEnd(row);
    int eb = b.rowEnd(row);
    while (true) {
      while (ka < ea && a.valueAt(ka) == 0) {
        ka++;
      }
      while (kb < eb && b.valueAt(kb) == 0) {
        kb++;
      }
      if (ka == ea || kb == eb) {
        return ka == ea && kb == eb;
      }
      // Bit for bit, as the wire carries them.
      if (a.colAt(ka) != b.colAt(kb)
          || Double.doubleToLongBits(a.valueAt(ka)) != Double.doubleToLongBits(b.valueAt(kb))) {
        return false;
      }
      ka++;
      kb++;
    }
  }

  /** {@code before}'s rows, resized to {@code n}, with the rows {@code changed} gives. */
  private static PeerMatrix withRows(PeerMatrix beforeMatrix, int n, MatrixRows changed,
      String what) {
    int rows = changed.getRowsCount();
    if (changed.getRowPtrCount() != rows + 1 || changed.getColsCount() != changed.getValuesCount()
        || changed.getRowPtr(0) != 0 || changed.getRowPtr(rows) != changed.getColsCount()) {
      throw new IllegalArgumentException("delta " + what + ": " + rows + " rows need "
          + (rows + 1) + " row pointers from 0 to the number of entries, and a value for each"
          + " column");
    }
    if (rows == 0 && n == beforeMatrix.size()) {
      return beforeMatrix; // immutable: shared, as most blocks leave the bonds alone
    }
    CsrMatrix before = beforeMatrix.toCsr();
    int[] rowPtr = new int[n + 1];
    int entries = 0;
    int next = 0; // the next of the changed rows
    // First the row lengths, to size the arrays once.
    int[] from = new int[n];  // start in before (>= 0) or in changed (-1 - index)
    for (int row = 0; row < n; row++) {
      int length;
      if (next < rows && changed.getRows(next) == row) {
        length = changed.getRowPtr(next + 1) - changed.getRowPtr(next);
        // Compared, not subtracted: pointers that wrap around 2^32 give each row a positive
        // length and their sum the entries there, but rows that read past them.
        if (Integer.compareUnsigned(changed.getRowPtr(next + 1), changed.getRowPtr(next)) < 0) {
          throw new IllegalArgumentException("delta " + what + ".row_ptr must not decrease, had "
              + Integer.toUnsignedString(changed.getRowPtr(next)) + " then "
              + Integer.toUnsignedString(changed.getRowPtr(next + 1)) + " at " + next);
        }
        from[row] = -1 - next;
        next++;
      } else if (next < rows && changed.getRows(next) < row) {
        throw new IllegalArgumentException("delta " + what + ".rows must ascend below " + n
            + ", had " + changed.getRows(next) + " at " + next);
      } else {
        length = row < before.size() ? before.rowEnd(row) - before.rowStart(row) : 0;
        from[row] = row < before.size() ? before.rowStart(row) : 0;
      }
      entries += length;
      rowPtr[row + 1] = entries;
    }
    if (next < rows) {
      throw new IllegalArgumentException("delta " + what + ".rows[" + next + "] = "
          + changed.getRows(next) + " is not below the size " + n);
    }
    int[] cols = new int[entries];
    double[] vals = new double[entries];
    for (int row = 0; row < n; row++) {
      int at = rowPtr[row];
      int length = rowPtr[row + 1] - at;
      if (from[row] < 0) {
        int start = changed.getRowPtr(-1 - from[row]);
        for (int k = 0; k < length; k++) {
          cols[at + k] = changed.getCols(start + k);
          vals[at + k] = changed.getValues(start + k);
        }
      } else {
        for (int k = 0; k < length; k++) {
          cols[at + k] = before.colAt(from[row] + k);
          vals[at + k] = before.valueAt(from[row] + k);
        }
      }
    }
    return CsrMatrix.of(n, rowPtr, cols, vals); // checks columns ascend and are below n
  }
}
