package io.bittensor.transport.internal;

import com.google.protobuf.ByteString;
import io.bittensor.core.Account;
import io.bittensor.core.Block;
import io.bittensor.core.Epoch;
import io.bittensor.core.Hash256;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Modality;
import io.bittensor.core.PeerId;
import io.bittensor.core.PeerInfo;
import io.bittensor.core.PeerState;
import io.bittensor.core.Receipt;
import io.bittensor.incentive.CsrMatrix;
import io.bittensor.incentive.PeerMatrix;
import io.bittensor.transport.internal.wire.SparseMatrix;
import java.net.URI;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Converts the ledger's value types to and from {@code ledger.proto}'s messages. Decoding checks
 * what the records check (they throw {@link IllegalArgumentException} naming the field), so a
 * bad answer from a server surfaces as one clear error.
 *
 * <p>Stateless and thread-safe.
 */
public final class LedgerWire {
  /**
   * The most transactions an events request may await ({@code EventsRequest.awaiting}). A client
   * awaits only its own submissions in flight, which a ledger's pending pool bounds (100,000 by
   * default, {@code LocalLedger.Builder#maxPendingTransactions}); the server answers each with
   * an event of about 250 bytes, so this keeps one stream's first events near 25 MB, not the
   * 125 MB of the half a million hashes a 17 MiB request holds.
   */
  public static final int MAX_AWAITING = 100_000;

  /**
   * The most awaited transactions ({@code EventsRequest.awaiting}) one client address (an IPv6
   * client's /64) may have open at once, over all its streams, until each stream's answers for
   * them have gone out: two full lists, about 50 MB of events. Without it one address could have
   * 256 streams each hold 100,000 events for a client that does not read them (about 6 GB).
   */
  public static final int MAX_AWAITING_PER_ADDRESS = 2 * MAX_AWAITING;

  private LedgerWire() {}

  public static io.bittensor.transport.internal.wire.Block toWire(Block b) {
    return io.bittensor.transport.internal.wire.Block.newBuilder()
        .setNumber(b.number())
        .setHash(bytes(b.hash()))
        .setParent(bytes(b.parent()))
        .setTimestampMs(b.timestamp().toEpochMilli())
        .setTransactions(b.transactions())
        .setEpoch(b.epoch())
        .build();
  }

  public static Block fromWire(io.bittensor.transport.internal.wire.Block b) {
    return new Block(b.getNumber(), hash(b.getHash(), "block.hash"),
        hash(b.getParent(), "block.parent"), Instant.ofEpochMilli(b.getTimestampMs()),
        b.getTransactions(), b.getEpoch());
  }

  public static io.bittensor.transport.internal.wire.Epoch toWire(Epoch e) {
    return io.bittensor.transport.internal.wire.Epoch.newBuilder()
        .setNumber(e.number())
        .setBlock(e.block())
        .setPeers(e.peers())
        .setMinted(e.minted())
        .setLoss(e.loss())
        .setMinAllowedWeights(e.minAllowedWeights())
        .setSkipped(e.skipped().isPresent())
        .setSkippedReason(e.skipped().orElse(""))
        .build();
  }

  public static Epoch fromWire(io.bittensor.transport.internal.wire.Epoch e) {
    return new Epoch(e.getNumber(), e.getBlock(), e.getPeers(), e.getMinted(), e.getLoss(),
        e.getMinAllowedWeights(),
        e.getSkipped() ? Optional.of(e.getSkippedReason()) : Optional.empty());
  }

  public static io.bittensor.transport.internal.wire.Receipt toWire(Receipt r) {
    return io.bittensor.transport.internal.wire.Receipt.newBuilder()
        .setTransaction(bytes(r.transaction()))
        .setBlock(r.block())
        .setIndex(r.index())
        .build();
  }

  public static Receipt fromWire(io.bittensor.transport.internal.wire.Receipt r) {
    return new Receipt(hash(r.getTransaction(), "receipt.transaction"), r.getBlock(),
        r.getIndex());
  }

  public static io.bittensor.transport.internal.wire.Account toWire(Account a) {
    return io.bittensor.transport.internal.wire.Account.newBuilder()
        .setId(ByteString.copyFrom(a.id().toBytes()))
        .setBalance(a.balance())
        .setNonce(a.nonce())
        .build();
  }

  public static Account fromWire(io.bittensor.transport.internal.wire.Account a) {
    return new Account(PeerId.fromBytes(a.getId().toByteArray()), a.getBalance(), a.getNonce());
  }

  public static io.bittensor.transport.internal.wire.Params toWire(LedgerParams p) {
    return io.bittensor.transport.internal.wire.Params.newBuilder()
        .setEpochLength(p.epochLength())
        .setMaxPeers(p.maxPeers())
        .setImmunityPeriod(p.immunityPeriod())
        .setMinAllowedWeights(p.minAllowedWeights())
        .setWeightsRateLimit(p.weightsRateLimit())
        // proto3 writes no field at 0: rules without them keep the bytes they had before.
        .setRegistrationBurn(p.registrationBurn())
        .setMaxRegistrationsPerBlock(p.maxRegistrationsPerBlock())
        .build();
  }

  /** The rules off the wire; a server before the registration rules sends neither: 0. */
  public static LedgerParams fromWire(io.bittensor.transport.internal.wire.Params p) {
    return new LedgerParams(p.getEpochLength(), p.getMaxPeers(), p.getImmunityPeriod(),
        p.getMinAllowedWeights(), p.getWeightsRateLimit(), p.getRegistrationBurn(),
        p.getMaxRegistrationsPerBlock());
  }

  public static io.bittensor.transport.internal.wire.Metagraph toWire(Metagraph m) {
    io.bittensor.transport.internal.wire.Metagraph.Builder b =
        io.bittensor.transport.internal.wire.Metagraph.newBuilder()
            .setChainId(bytes(m.chainId()))
            .setBlock(toWire(m.block()))
            .setParams(toWire(m.params()))
            .setSupply(m.supply())
            .setWeights(toWire(m.weights()))
            .setBonds(toWire(m.bonds()));
    m.lastEpoch().ifPresent(e -> b.setLastEpoch(toWire(e)));
    for (PeerState p : m.peers()) {
      b.addPeers(toWire(p));
    }
    return b.build();
  }

  public static io.bittensor.transport.internal.wire.PeerState toWire(PeerState p) {
    return io.bittensor.transport.internal.wire.PeerState.newBuilder()
        .setPublicKey(ByteString.copyFrom(p.id().toBytes()))
        .setEndpoint(p.info().endpoint().toString())
        .setModalityValue(p.info().modality().code())
        .setVersion(p.info().version())
        .setStake(p.stake())
        .setRegisteredAt(p.registeredAt())
        .setLastUpdate(p.lastUpdate())
        .setRank(p.rank())
        .setTrust(p.trust())
        .setConsensus(p.consensus())
        .setIncentive(p.incentive())
        .setDividends(p.dividends())
        .setEmission(p.emission())
        .build();
  }

  /**
   * Peer {@code uid}'s entry as a message describes it.
   *
   * @throws IllegalArgumentException naming the field ({@code peers[uid].public_key}, say) if
   *     its key, endpoint or modality does not read
   */
  public static PeerState fromWire(int uid, io.bittensor.transport.internal.wire.PeerState p) {
    String at = "peers[" + uid + "].";
    Modality modality = Modality.ofCode(p.getModalityValue()).orElseThrow(() ->
        new IllegalArgumentException(at + "modality " + p.getModalityValue()
            + " is not a known modality"));
    PeerId id;
    URI endpoint;
    try {
      id = PeerId.fromBytes(p.getPublicKey().toByteArray());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(at + "public_key: " + e.getMessage(), e);
    }
    try {
      endpoint = URI.create(p.getEndpoint());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(at + "endpoint: " + e.getMessage(), e);
    }
    PeerInfo info = new PeerInfo(id, endpoint, modality, p.getVersion());
    return new PeerState(uid, info, p.getStake(), p.getRegisteredAt(), p.getLastUpdate(),
        p.getRank(), p.getTrust(), p.getConsensus(), p.getIncentive(), p.getDividends(),
        p.getEmission());
  }

  /**
   * The metagraph a message describes.
   *
   * @throws IllegalArgumentException naming the first field that is missing or out of range
   */
  public static Metagraph fromWire(io.bittensor.transport.internal.wire.Metagraph m) {
    if (!m.hasBlock() || !m.hasParams() || !m.hasWeights() || !m.hasBonds()) {
      throw new IllegalArgumentException(
          "a metagraph needs block, params, weights and bonds; one is missing");
    }
    List<PeerState> peers = new ArrayList<>(m.getPeersCount());
    for (int i = 0; i < m.getPeersCount(); i++) {
      peers.add(fromWire(i, m.getPeers(i)));
    }
    return Metagraph.of(hash(m.getChainId(), "metagraph.chain_id"), fromWire(m.getBlock()),
        fromWire(m.getParams()), m.getSupply(),
        m.hasLastEpoch() ? Optional.of(fromWire(m.getLastEpoch())) : Optional.empty(),
        peers, fromWire(m.getWeights()), fromWire(m.getBonds()));
  }

  /**
   * The same peers, stake and weights as {@code m}, at block {@code block}: for a block without
   * transactions or epoch, whose event carries no metagraph.
   */
  public static Metagraph atBlock(Metagraph m, Block block) {
    return Metagraph.of(m.chainId(), block, m.params(), m.supply(), m.lastEpoch(), m.peers(),
        m.weights(), m.bonds());
  }

  public static SparseMatrix toWire(PeerMatrix matrix) {
    CsrMatrix m = matrix.toCsr();
    int n = m.size();
    SparseMatrix.Builder b = SparseMatrix.newBuilder().setSize(n);
    b.addRowPtr(0);
    for (int i = 0; i < n; i++) {
      for (int k = m.rowStart(i); k < m.rowEnd(i); k++) {
        double v = m.valueAt(k);
        if (v != 0) {
          b.addCols(m.colAt(k));
          b.addValues(v);
        }
      }
      b.addRowPtr(b.getColsCount());
    }
    return b.build();
  }

  /**
   * The matrix a message describes.
   *
   * @throws IllegalArgumentException if the row pointers, columns and values do not agree
   */
  public static PeerMatrix fromWire(SparseMatrix s) {
    int n = s.getSize();
    if (s.getRowPtrCount() != n + 1 || s.getColsCount() != s.getValuesCount()) {
      throw new IllegalArgumentException("a sparse " + n + " x " + n + " matrix needs " + (n + 1)
          + " row pointers and as many values as columns; had " + s.getRowPtrCount() + ", "
          + s.getColsCount() + " and " + s.getValuesCount());
    }
    int[] rowPtr = new int[n + 1];
    for (int i = 0; i <= n; i++) {
      rowPtr[i] = s.getRowPtr(i);
    }
    int[] cols = new int[s.getColsCount()];
    double[] vals = new double[cols.length];
    for (int k = 0; k < cols.length; k++) {
      cols[k] = s.getCols(k);
      vals[k] = s.getValues(k);
    }
    return CsrMatrix.of(n, rowPtr, cols, vals);
  }

  public static ByteString bytes(Hash256 h) {
    return ByteString.copyFrom(h.toBytes());
  }

  /**
   * A hash from its 32 bytes.
   *
   * @throws IllegalArgumentException naming {@code field} when the length is wrong
   */
  public static Hash256 hash(ByteString b, String field) {
    if (b.size() != Hash256.LENGTH) {
      throw new IllegalArgumentException(field + " must have " + Hash256.LENGTH + " bytes, had "
          + b.size());
    }
    return Hash256.fromBytes(b.toByteArray());
  }
}
