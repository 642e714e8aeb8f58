package io.bittensor.core;

import io.bittensor.core.internal.Lazy;
import io.bittensor.incentive.PeerMatrix;
import io.bittensor.incentive.PeerVector;
import java.util.AbstractList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Supplier;

/**
 * An immutable snapshot of a ledger's peers at one block: for each uid its key, endpoint,
 * modality, stake, registration block and last update, its weight row and bonds, and what the
 * last epoch computed of it (rank, trust, consensus, incentive, dividends, emission).
 *
 * <pre>{@code
 * Ledger ledger = LocalLedger.builder()...openInMemory();
 * Keypair keypair = Keypair.load(Path.of("peer.key"));
 * Metagraph m = ledger.metagraph();
 * int me = m.uid(keypair.id()).orElseThrow();
 * double myIncentive = m.incentive().get(me);
 * PeerMatrix w = m.weights();                 // row i: peer i's weights, each row sums to 1
 * }</pre>
 *
 * <p>Uids are {@code 0 .. size()-1}; a uid changes hands only when a registration replaces its
 * peer (see {@link LedgerParams}). Epoch values of a peer that registered after the last epoch
 * are zero. A skipped epoch ({@link Epoch#skipped()}) changes none of them: they are then the
 * last epoch's that ran, while {@link #lastEpoch()} is the skipped one.
 *
 * <p>Immutable and thread-safe. The weight and bond matrices are built on first use and kept.
 */
public final class Metagraph {
  private final Hash256 chainId;
  private final Block block;
  private final LedgerParams params;
  private final long supply;
  private final Optional<Epoch> lastEpoch;
  private final PeerInfo[] infos;
  private final long[] stake;
  private final long[] registeredAt;
  private final long[] lastUpdate;
  private final long[] emission;
  private final double[] ranks;
  private final double[] trust;
  private final double[] consensus;
  private final double[] incentive;
  private final double[] dividends;
  private final Lazy<PeerMatrix> weights;
  private final Lazy<PeerMatrix> bonds;
  private volatile Map<PeerId, Integer> uids;

  /** Takes ownership of the arrays, which all have one entry per peer. */
  Metagraph(Hash256 chainId, Block block, LedgerParams params, long supply,
      Optional<Epoch> lastEpoch, PeerInfo[] infos, long[] stake, long[] registeredAt,
      long[] lastUpdate, long[] emission, double[][] epochVectors,
      Supplier<PeerMatrix> weights, Supplier<PeerMatrix> bonds) {
    this.chainId = Objects.requireNonNull(chainId, "chainId");
    this.block = Objects.requireNonNull(block, "block");
    this.params = Objects.requireNonNull(params, "params");
    this.supply = supply;
    this.lastEpoch = Objects.requireNonNull(lastEpoch, "lastEpoch");
    this.infos = infos;
    this.stake = stake;
    this.registeredAt = registeredAt;
    this.lastUpdate = lastUpdate;
    this.emission = emission;
    this.ranks = epochVectors[0];
    this.trust = epochVectors[1];
    this.consensus = epochVectors[2];
    this.incentive = epochVectors[3];
    this.dividends = epochVectors[4];
    this.weights = new Lazy<>(weights);
    this.bonds = new Lazy<>(bonds);
  }

  /**
   * A metagraph from its parts: for a ledger client that receives them over the wire, and for
   * tests.
   *
   * @param chainId the ledger's chain id
   * @param block the block the snapshot is at
   * @param params the rules in force after that block
   * @param supply all tokens in existence (genesis allocations plus every epoch's minting, less
   *     registration burns)
   * @param lastEpoch the last epoch at or before {@code block}, if any
   * @param peers one per uid, in uid order ({@code peers.get(i).uid() == i}); copied
   * @param weights {@code n x n}, row {@code i} peer {@code i}'s weights
   * @param bonds {@code n x n}
   * @throws IllegalArgumentException if a peer's uid is not its position, two peers have one key,
   *     or a matrix's size is not the number of peers
   */
  public static Metagraph of(Hash256 chainId, Block block, LedgerParams params, long supply,
      Optional<Epoch> lastEpoch, List<PeerState> peers, PeerMatrix weights, PeerMatrix bonds) {
    int n = peers.size();
    Objects.requireNonNull(weights, "weights");
    Objects.requireNonNull(bonds, "bonds");
    if (weights.size() != n || bonds.size() != n) {
      throw new IllegalArgumentException("weights and bonds must be " + n + " x " + n
          + ", were " + weights.size() + " and " + bonds.size());
    }
    PeerInfo[] infos = new PeerInfo[n];
    long[] stake = new long[n];
    long[] registeredAt = new long[n];
    long[] lastUpdate = new long[n];
    long[] emission = new long[n];
    double[][] vectors = new double[5][n];
    Map<PeerId, Integer> uids = new HashMap<>(n * 2);
    for (int i = 0; i < n; i++) {
      PeerState p = peers.get(i);
      if (p.uid() != i) {
        throw new IllegalArgumentException("peers[" + i + "] has uid " + p.uid());
      }
      Integer other = uids.putIfAbsent(p.info().id(), i);
      if (other != null) {
        // A key holds one uid on a ledger; two would make uid(key) pick one silently.
        throw new IllegalArgumentException("peers[" + i + "] has the key of uid " + other + ": "
            + p.info().id());
      }
      infos[i] = p.info();
      stake[i] = p.stake();
      registeredAt[i] = p.registeredAt();
      lastUpdate[i] = p.lastUpdate();
      emission[i] = p.emission();
      vectors[0][i] = p.rank();
      vectors[1][i] = p.trust();
      vectors[2][i] = p.consensus();
      vectors[3][i] = p.incentive();
      vectors[4][i] = p.dividends();
    }
    Metagraph m = new Metagraph(chainId, block, params, supply, lastEpoch, infos, stake,
        registeredAt, lastUpdate, emission, vectors, () -> weights, () -> bonds);
    m.uids = uids;
    return m;
  }

  /** The chain this snapshot belongs to. */
  public Hash256 chainId() {
    return chainId;
  }

  /** The block this snapshot is at. */
  public Block block() {
    return block;
  }

  /** The rules in force after that block (including the consensus peg's minAllowedWeights). */
  public LedgerParams params() {
    return params;
  }

  /** All tokens in existence: the genesis allocations plus minting, less registration burns. */
  public long supply() {
    return supply;
  }

  /** The last epoch at or before this block, if any ran yet. */
  public Optional<Epoch> lastEpoch() {
    return lastEpoch;
  }

  /** The number of peers; uids are {@code 0 .. size()-1}. */
  public int size() {
    return infos.length;
  }

  /** The uid of the peer with key {@code id}, or empty if it is not registered. */
  public OptionalInt uid(PeerId id) {
    Map<PeerId, Integer> map = uids;
    if (map == null) {
      map = new HashMap<>(infos.length * 2);
      for (int i = 0; i < infos.length; i++) {
        map.put(infos[i].id(), i);
      }
      uids = map;
    }
    Integer uid = map.get(id);
    return uid == null ? OptionalInt.empty() : OptionalInt.of(uid);
  }

  /**
   * Peer {@code uid}'s row.
   *
   * @throws IndexOutOfBoundsException unless {@code 0 <= uid < size()}
   */
  public PeerState peer(int uid) {
    Objects.checkIndex(uid, infos.length);
    return new PeerState(uid, infos[uid], stake[uid], registeredAt[uid], lastUpdate[uid],
        ranks[uid], trust[uid], consensus[uid], incentive[uid], dividends[uid], emission[uid]);
  }

  /** Every peer's row, in uid order (an unmodifiable view; rows are made on access). */
  public List<PeerState> peers() {
    return new AbstractList<>() {
      @Override
      public PeerState get(int index) {
        return peer(index);
      }

      @Override
      public int size() {
        return infos.length;
      }
    };
  }

  /**
   * Peer {@code uid}'s key, endpoint, modality and version.
   *
   * @throws IndexOutOfBoundsException unless {@code 0 <= uid < size()}
   */
  public PeerInfo info(int uid) {
    return infos[Objects.checkIndex(uid, infos.length)];
  }

  /**
   * The tokens staked on peer {@code uid}.
   *
   * @throws IndexOutOfBoundsException unless {@code 0 <= uid < size()}
   */
  public long stake(int uid) {
    return stake[Objects.checkIndex(uid, infos.length)];
  }

  /** Every peer's stake as a vector of doubles, as the incentive mechanism reads it. */
  public PeerVector stakeVector() {
    double[] s = new double[stake.length];
    for (int i = 0; i < s.length; i++) {
      s[i] = stake[i];
    }
    return PeerVector.of(s);
  }

  /** The sum of every peer's stake. */
  public long totalStake() {
    long total = 0;
    for (long s : stake) {
      total += s;
    }
    return total;
  }

  /**
   * The block peer {@code uid} registered in.
   *
   * @throws IndexOutOfBoundsException unless {@code 0 <= uid < size()}
   */
  public long registeredAt(int uid) {
    return registeredAt[Objects.checkIndex(uid, infos.length)];
  }

  /**
   * The block peer {@code uid} last set weights in, or -1 if never.
   *
   * @throws IndexOutOfBoundsException unless {@code 0 <= uid < size()}
   */
  public long lastUpdate(int uid) {
    return lastUpdate[Objects.checkIndex(uid, infos.length)];
  }

  /**
   * The tokens minted to peer {@code uid} in the last epoch that ran (a skipped one mints
   * nothing and leaves this as it was).
   *
   * @throws IndexOutOfBoundsException unless {@code 0 <= uid < size()}
   */
  public long emission(int uid) {
    return emission[Objects.checkIndex(uid, infos.length)];
  }

  /** Ranks from the last epoch. */
  public PeerVector ranks() {
    return PeerVector.of(ranks);
  }

  /** Trust from the last epoch. */
  public PeerVector trust() {
    return PeerVector.of(trust);
  }

  /** Consensus from the last epoch. */
  public PeerVector consensus() {
    return PeerVector.of(consensus);
  }

  /** Incentive from the last epoch. */
  public PeerVector incentive() {
    return PeerVector.of(incentive);
  }

  /** Dividends from the last epoch. */
  public PeerVector dividends() {
    return PeerVector.of(dividends);
  }

  /** The weight matrix: row {@code i} is peer {@code i}'s row, summing to 1, or empty. */
  public PeerMatrix weights() {
    return weights.get();
  }

  /** The bond matrix: entry {@code (i, j)} is what peer {@code i} owns of peer {@code j}. */
  public PeerMatrix bonds() {
    return bonds.get();
  }

  /** E.g. {@code Metagraph[block 120, 64 peers, supply 1000120]}. */
  @Override
  public String toString() {
    return "Metagraph[block " + block.number() + ", " + infos.length + " peers, supply " + supply
        + "]";
  }
}
