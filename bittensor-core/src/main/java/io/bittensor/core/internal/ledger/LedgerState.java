package io.bittensor.core.internal.ledger;

import io.bittensor.core.Account;
import io.bittensor.core.Epoch;
import io.bittensor.core.Genesis;
import io.bittensor.core.Hash256;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.Modality;
import io.bittensor.core.PeerId;
import io.bittensor.core.PeerInfo;
import io.bittensor.core.RejectReason;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Transaction;
import io.bittensor.core.TransactionRejectedException;
import io.bittensor.incentive.ConsensusPeg;
import io.bittensor.incentive.CsrMatrix;
import io.bittensor.incentive.EpochResult;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.incentive.NetworkState;
import io.bittensor.incentive.PeerVector;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.IntPredicate;

/**
 * The ledger's state machine: accounts, peers, weights, bonds and the rules, with validation
 * ({@link #tryApply}), epochs ({@link #runEpoch}) and a canonical encoding ({@link #encode()})
 * whose SHA-256 is the state hash. Deterministic: the same genesis, transactions and mechanism
 * give the same bytes. Not thread-safe; {@code LocalLedger} guards it with a lock.
 */
public final class LedgerState {
  private static final int ENCODING_VERSION = 1;
  /** The encoding with the registration rules and the burned total: only when one is set. */
  private static final int ENCODING_VERSION_REGISTRATION_RULES = 2;
  private static final int MAX_SKIPPED_CHARS = 1000;

  private final Hash256 chainId;
  private final PeerId authority;
  private final long genesisSupply;
  private LedgerParams params;
  private long height;
  private Hash256 lastHash;
  private long minted;
  /** Tokens destroyed by registrations: they left the supply. */
  private long burned;
  private long epochs;
  private Epoch lastEpoch;
  private final HashMap<PeerId, Acct> accounts;
  private final ArrayList<PeerRec> peers;
  private CsrMatrix bonds;
  /**
   * The weight matrix as of the last change to any row, or null: kept so that an epoch's bonds,
   * which share its pattern, meet the same arrays next epoch (the mechanism's fast path).
   */
  private CsrMatrix weightsCache;
  /**
   * The block whose registrations {@link #registrations} counts, for {@code
   * maxRegistrationsPerBlock}. Not encoded: a state is encoded between blocks, when the next
   * block has none yet, and replay counts a block's registrations again as it applies them.
   */
  private long registrationsBlock = -1;
  private int registrations;

  /** A free balance and nonce; {@code uid} is -1 unless the account's key is a peer. */
  private static final class Acct {
    long balance;
    long nonce;
    int uid = -1;
  }

  /** One registered peer. Weight rows are immutable once stored (rows are replaced whole). */
  private static final class PeerRec {
    PeerInfo info;
    long stake;
    long registeredAt;
    long lastUpdate = -1;
    int[] rowUids = new int[0];
    double[] rowVals = new double[0];
    long emission;
    final double[] vectors = new double[5];
  }

  private LedgerState(Hash256 chainId, PeerId authority, long genesisSupply,
      LedgerParams params) {
    this.chainId = chainId;
    this.authority = authority;
    this.genesisSupply = genesisSupply;
    this.params = params;
    this.lastHash = Hash256.ZERO;
    this.accounts = new HashMap<>();
    this.peers = new ArrayList<>();
    this.bonds = CsrMatrix.zeros(0);
  }

  /**
   * The state after the genesis block: the allocations, and an empty account for the authority.
   *
   * @param chainId the genesis block's hash, which is also the last block's hash after genesis
   */
  public static LedgerState genesis(Genesis genesis, Hash256 chainId) {
    LedgerState s = new LedgerState(chainId, genesis.authority().orElse(null),
        genesis.supply(), genesis.params());
    for (Map.Entry<PeerId, Long> e : genesis.allocations().entrySet()) {
      s.accounts.computeIfAbsent(e.getKey(), k -> new Acct()).balance = e.getValue();
    }
    genesis.authority().ifPresent(a -> s.accounts.computeIfAbsent(a, k -> new Acct()));
    s.height = 0;
    s.lastHash = chainId;
    return s;
  }

  // ---------------------------------------------------------------------------------------
  // Reads

  /** The chain id. */
  public Hash256 chainId() {
    return chainId;
  }

  /** The rules in force. */
  public LedgerParams params() {
    return params;
  }

  /** The number of the last sealed block. */
  public long height() {
    return height;
  }

  /** The hash of the last sealed block. */
  public Hash256 lastHash() {
    return lastHash;
  }

  /** The last epoch, or null before the first. */
  public Epoch lastEpoch() {
    return lastEpoch;
  }

  /** All tokens in existence: genesis allocations plus minting, less what was burned. */
  public long supply() {
    return genesisSupply + minted - burned;
  }

  /** Every token counted where it is: free balances plus stake (equal to supply, always). */
  public long countTokens() {
    long total = 0;
    for (Acct a : accounts.values()) {
      total += a.balance;
    }
    for (PeerRec p : peers) {
      total += p.stake;
    }
    return total;
  }

  /** The number of peers. */
  public int peerCount() {
    return peers.size();
  }

  /** The account of {@code id}, or empty. */
  public Optional<Account> account(PeerId id) {
    Acct a = accounts.get(id);
    return a == null ? Optional.empty() : Optional.of(new Account(id, a.balance, a.nonce));
  }

  /** Records that block {@code number} with hash {@code hash} is sealed. */
  public void sealed(long number, Hash256 hash) {
    this.height = number;
    this.lastHash = hash;
  }

  // ---------------------------------------------------------------------------------------
  // Transactions

  /**
   * Validates {@code tx} for inclusion in block {@code block} and, if it passes, applies it. The
   * signature is not checked here (the caller verifies it once, outside any lock).
   *
   * @return null when applied; otherwise the rejection, and nothing changed
   */
  public TransactionRejectedException tryApply(SignedTransaction tx, long block) {
    TransactionRejectedException rejection = check(tx, block);
    if (rejection == null) {
      apply(tx, block);
    }
    return rejection;
  }

  private static TransactionRejectedException reject(RejectReason reason, String detail) {
    return new TransactionRejectedException(reason, detail);
  }

  private TransactionRejectedException check(SignedTransaction tx, long block) {
    if (!tx.chainId().equals(chainId)) {
      return reject(RejectReason.WRONG_CHAIN,
          "transaction names chain " + tx.chainId() + ", this ledger is " + chainId);
    }
    Transaction body = tx.body();
    Acct acct = accounts.get(tx.signer());
    if (acct == null && !(body instanceof Transaction.Register)) {
      return reject(RejectReason.UNKNOWN_ACCOUNT,
          "account " + tx.signer() + " has no tokens and no peer");
    }
    long expected = acct == null ? 0 : acct.nonce;
    if (tx.nonce() < expected) {
      return reject(RejectReason.NONCE_REUSED,
          "nonce " + tx.nonce() + " was used; the next nonce of " + tx.signer() + " is "
              + expected);
    }
    if (tx.nonce() > expected) {
      return reject(RejectReason.NONCE_WRONG,
          "nonce " + tx.nonce() + " is ahead; the next nonce of " + tx.signer() + " is "
              + expected);
    }
    if (body instanceof Transaction.Register r) {
      return checkRegister(r, acct, tx.signer(), block);
    } else if (body instanceof Transaction.Serve v) {
      TransactionRejectedException bad = checkWhere(v.endpoint(), v.version());
      return bad != null ? bad : requirePeer(acct, tx.signer());
    } else if (body instanceof Transaction.Transfer t) {
      return checkAmount(t.amount(), acct.balance, RejectReason.INSUFFICIENT_BALANCE, "balance");
    } else if (body instanceof Transaction.AddStake t) {
      TransactionRejectedException r = checkAmount(t.amount(), acct.balance,
          RejectReason.INSUFFICIENT_BALANCE, "balance");
      return r != null ? r : requirePeer(acct, tx.signer());
    } else if (body instanceof Transaction.RemoveStake t) {
      if (t.amount() <= 0) {
        return reject(RejectReason.MALFORMED, "amount must be > 0, was " + t.amount());
      }
      TransactionRejectedException r = requirePeer(acct, tx.signer());
      return r != null ? r : checkAmount(t.amount(), peers.get(acct.uid).stake,
          RejectReason.INSUFFICIENT_STAKE, "stake");
    } else if (body instanceof Transaction.SetWeights w) {
      return checkWeights(w, acct, tx.signer(), block);
    } else {
      return checkParams(((Transaction.ChangeParams) body).params(), tx.signer());
    }
  }

  private static TransactionRejectedException checkAmount(long amount, long available,
      RejectReason reason, String what) {
    if (amount <= 0) {
      return reject(RejectReason.MALFORMED, "amount must be > 0, was " + amount);
    }
    if (amount > available) {
      return reject(reason, "amount " + amount + " exceeds the " + what + " " + available);
    }
    return null;
  }

  private static TransactionRejectedException requirePeer(Acct acct, PeerId signer) {
    return acct.uid < 0 ? reject(RejectReason.NOT_REGISTERED, signer + " is not a registered peer")
        : null;
  }

  /** The rules for where a peer is reached, the same for registering and moving. */
  private static TransactionRejectedException checkWhere(URI endpoint, int version) {
    if (version < 1) {
      return reject(RejectReason.MALFORMED, "protocol version must be >= 1, was " + version);
    }
    if (!endpoint.isAbsolute()) {
      return reject(RejectReason.MALFORMED,
          "endpoint must be absolute with a scheme, was " + endpoint);
    }
    // SignedTransaction.sign refuses a longer one, but the encoding has room for 65535 bytes.
    int length = endpoint.toString().getBytes(StandardCharsets.UTF_8).length;
    if (length > SignedTransaction.MAX_ENDPOINT_LENGTH) {
      return reject(RejectReason.MALFORMED, "endpoint must have at most "
          + SignedTransaction.MAX_ENDPOINT_LENGTH + " UTF-8 bytes, had " + length);
    }
    return null;
  }

  private TransactionRejectedException checkRegister(Transaction.Register r, Acct acct,
      PeerId signer, long block) {
    TransactionRejectedException bad = checkWhere(r.endpoint(), r.version());
    if (bad != null) {
      return bad;
    }
    if (acct != null && acct.uid >= 0) {
      return reject(RejectReason.ALREADY_REGISTERED, "already registered as uid " + acct.uid);
    }
    long burn = params.registrationBurn();
    long balance = acct == null ? 0 : acct.balance;
    if (burn > balance) {
      return reject(RejectReason.INSUFFICIENT_BALANCE, "registering burns " + burn
          + " tokens (registrationBurn), but the balance of " + signer + " is " + balance);
    }
    // Before the search for a peer to replace, which costs O(n): the cap bounds that work.
    int cap = params.maxRegistrationsPerBlock();
    if (cap > 0 && registrationsIn(block) >= cap) {
      return reject(RejectReason.TOO_MANY_REGISTRATIONS, "block " + block + " already holds "
          + registrationsIn(block) + " registrations, the most maxRegistrationsPerBlock ("
          + cap + ") allows; register again for a later block");
    }
    if (peers.size() >= params.maxPeers() && pruneCandidate(block) < 0) {
      return reject(RejectReason.NETWORK_FULL, "all " + peers.size()
          + " peers registered within the immunity period of " + params.immunityPeriod()
          + " blocks");
    }
    return null;
  }

  private TransactionRejectedException checkWeights(Transaction.SetWeights w, Acct acct,
      PeerId signer, long block) {
    TransactionRejectedException notPeer = requirePeer(acct, signer);
    if (notPeer != null) {
      return notPeer;
    }
    long last = peers.get(acct.uid).lastUpdate;
    if (last >= 0 && block - last < params.weightsRateLimit()) {
      return reject(RejectReason.RATE_LIMITED, "weights were set in block " + last
          + "; the next are allowed from block " + (last + params.weightsRateLimit()));
    }
    int k = w.size();
    for (int i = 0; i < k; i++) {
      if (!Double.isFinite(w.weight(i))) {
        return reject(RejectReason.WEIGHTS_NOT_FINITE,
            "weights[" + i + "] (uid " + w.uid(i) + ") is " + w.weight(i));
      }
    }
    for (int i = 0; i < k; i++) {
      if (w.weight(i) < 0) {
        return reject(RejectReason.WEIGHTS_NEGATIVE,
            "weights[" + i + "] (uid " + w.uid(i) + ") is " + w.weight(i));
      }
    }
    for (int i = 0; i < k; i++) {
      if (w.uid(i) < 0 || w.uid(i) >= params.maxPeers()) {
        return reject(RejectReason.WEIGHTS_OUT_OF_RANGE,
            "uids[" + i + "] is " + w.uid(i) + ", outside [0, " + params.maxPeers() + ")");
      }
    }
    for (int i = 0; i < k; i++) {
      if (w.uid(i) >= peers.size()) {
        return reject(RejectReason.WEIGHTS_UNKNOWN_UID,
            "uids[" + i + "] is " + w.uid(i) + " but only uids 0.." + (peers.size() - 1)
                + " are registered");
      }
    }
    int[] sorted = w.uids();
    Arrays.sort(sorted);
    for (int i = 1; i < k; i++) {
      if (sorted[i] == sorted[i - 1]) {
        return reject(RejectReason.MALFORMED, "uid " + sorted[i] + " is given twice");
      }
    }
    long asOf = w.asOfBlock();
    if (asOf >= block) {
      return reject(RejectReason.MALFORMED, "the row is made as of block " + asOf
          + ", which is not sealed before block " + block + ", the one it would land in");
    }
    int kept = rowOf(w).uids().length;
    // A peg above the peers registered (rules set for a larger market) asks for every peer:
    // no row could name more, and none could ever be admitted.
    int required = Math.min(params.minAllowedWeights(), peers.size());
    if (kept < required) {
      // The whole row counted only to say what a row as of a block lost.
      int nonZero = asOf < 0 ? kept : Row.of(w, uid -> true).uids().length;
      String peg = required < params.minAllowedWeights()
          ? " (every peer registered; minAllowedWeights is " + params.minAllowedWeights() + ")"
          : "";
      if (kept < nonZero) {
        return reject(RejectReason.WEIGHTS_TOO_FEW, "the row keeps " + kept + " of its "
            + nonZero + " non-zero weights, the others naming uids taken over by peers"
            + " registered after block " + asOf + ", the block it was made as of; the consensus"
            + " peg requires at least " + required + peg);
      }
      return reject(RejectReason.WEIGHTS_TOO_FEW, "the row has " + nonZero
          + " non-zero weights; the consensus peg requires at least " + required + peg);
    }
    return null;
  }

  /**
   * The row {@code w} sets: for a row made as of a block, without the entries whose uid a peer
   * registered after that block holds now (they meant the peer it replaced).
   */
  private Row rowOf(Transaction.SetWeights w) {
    long asOf = w.asOfBlock();
    return asOf < 0 ? Row.of(w, uid -> true)
        : Row.of(w, uid -> peers.get(uid).registeredAt <= asOf);
  }

  private TransactionRejectedException checkParams(LedgerParams p, PeerId signer) {
    if (authority == null || !authority.equals(signer)) {
      return reject(RejectReason.NOT_AUTHORITY, authority == null
          ? "this ledger's rules are fixed: it has no authority"
          : signer + " is not the authority " + authority);
    }
    if (p.maxPeers() < peers.size()) {
      return reject(RejectReason.INVALID_PARAMS, "maxPeers " + p.maxPeers() + " is below the "
          + peers.size() + " peers registered");
    }
    return null;
  }

  private void apply(SignedTransaction tx, long block) {
    Acct acct = accounts.computeIfAbsent(tx.signer(), k -> new Acct());
    acct.nonce++;
    Transaction body = tx.body();
    if (body instanceof Transaction.Register r) {
      register(tx.signer(), acct, r, block);
    } else if (body instanceof Transaction.Serve v) {
      peers.get(acct.uid).info = new PeerInfo(tx.signer(), v.endpoint(), v.modality(),
          v.version());
    } else if (body instanceof Transaction.Transfer t) {
      acct.balance -= t.amount();
      accounts.computeIfAbsent(t.to(), k -> new Acct()).balance += t.amount();
    } else if (body instanceof Transaction.AddStake t) {
      acct.balance -= t.amount();
      peers.get(acct.uid).stake += t.amount();
    } else if (body instanceof Transaction.RemoveStake t) {
      peers.get(acct.uid).stake -= t.amount();
      acct.balance += t.amount();
    } else if (body instanceof Transaction.SetWeights w) {
      PeerRec p = peers.get(acct.uid);
      Row row = rowOf(w);
      p.rowUids = row.uids();
      p.rowVals = row.vals();
      p.lastUpdate = block;
      weightsCache = null;
    } else {
      params = ((Transaction.ChangeParams) body).params();
    }
  }

  /** The registrations applied so far for {@code block}. */
  private int registrationsIn(long block) {
    return registrationsBlock == block ? registrations : 0;
  }

  private void register(PeerId id, Acct acct, Transaction.Register r, long block) {
    registrations = registrationsIn(block) + 1;
    registrationsBlock = block;
    long burn = params.registrationBurn();
    acct.balance -= burn;
    burned += burn;
    weightsCache = null;
    PeerRec p = new PeerRec();
    p.info = new PeerInfo(id, r.endpoint(), r.modality(), r.version());
    p.registeredAt = block;
    int uid;
    if (peers.size() < params.maxPeers()) {
      uid = peers.size();
      peers.add(p);
    } else {
      uid = pruneCandidate(block);
      prune(uid);
      peers.set(uid, p);
    }
    acct.uid = uid;
  }

  /**
   * The uid a registration in {@code block} replaces: the lowest pruning score (last emission),
   * then the lower stake, the earlier registration, the lower uid, among peers past their
   * immunity; -1 if none is.
   */
  private int pruneCandidate(long block) {
    int best = -1;
    for (int uid = 0; uid < peers.size(); uid++) {
      PeerRec p = peers.get(uid);
      if (block - p.registeredAt < params.immunityPeriod()) {
        continue;
      }
      if (best < 0 || lowerScore(p, peers.get(best))) {
        best = uid;
      }
    }
    return best;
  }

  private static boolean lowerScore(PeerRec a, PeerRec b) {
    if (a.emission != b.emission) {
      return a.emission < b.emission;
    }
    if (a.stake != b.stake) {
      return a.stake < b.stake;
    }
    return a.registeredAt < b.registeredAt;
  }

  /** Removes the peer at {@code uid}: stake back to its account, votes for it and bonds gone. */
  private void prune(int uid) {
    weightsCache = null;
    PeerRec old = peers.get(uid);
    Acct owner = accounts.get(old.info.id());
    owner.balance += old.stake;
    owner.uid = -1;
    for (PeerRec p : peers) {
      int at = Arrays.binarySearch(p.rowUids, uid);
      if (at >= 0) {
        int[] u = new int[p.rowUids.length - 1];
        double[] v = new double[u.length];
        System.arraycopy(p.rowUids, 0, u, 0, at);
        System.arraycopy(p.rowUids, at + 1, u, at, u.length - at);
        System.arraycopy(p.rowVals, 0, v, 0, at);
        System.arraycopy(p.rowVals, at + 1, v, at, v.length - at);
        Row row = Row.of(u, normalize(v));
        p.rowUids = row.uids();
        p.rowVals = row.vals();
      }
    }
    bonds = Matrices.withoutPeer(bonds, uid);
  }

  /** A weight row as kept: uids increasing, values positive and summing to 1. */
  private record Row(int[] uids, double[] vals) {
    static final Row EMPTY = new Row(new int[0], new double[0]);

    /**
     * Zeros and the uids {@code keep} refuses dropped, sorted by uid, scaled to sum 1 (by the
     * largest first, so no overflow).
     */
    static Row of(Transaction.SetWeights w, IntPredicate keep) {
      int k = w.size();
      long[] keyed = new long[k];
      int m = 0;
      for (int i = 0; i < k; i++) {
        if (w.weight(i) > 0 && keep.test(w.uid(i))) {
          keyed[m++] = (long) w.uid(i) << 32 | i;
        }
      }
      Arrays.sort(keyed, 0, m);
      int[] uids = new int[m];
      double[] vals = new double[m];
      for (int j = 0; j < m; j++) {
        uids[j] = (int) (keyed[j] >>> 32);
        vals[j] = w.weight((int) keyed[j]);
      }
      return of(uids, normalize(vals));
    }

    /** Drops entries that scaling left at zero (subnormal weights). */
    static Row of(int[] uids, double[] vals) {
      int m = 0;
      for (double v : vals) {
        if (v > 0) {
          m++;
        }
      }
      if (m == vals.length) {
        return new Row(uids, vals);
      }
      int[] u = new int[m];
      double[] v = new double[m];
      for (int i = 0, j = 0; i < vals.length; i++) {
        if (vals[i] > 0) {
          u[j] = uids[i];
          v[j++] = vals[i];
        }
      }
      return new Row(u, v);
    }
  }

  private static double[] normalize(double[] v) {
    double max = 0;
    for (double x : v) {
      max = Math.max(max, x);
    }
    double[] out = new double[v.length];
    if (max == 0) {
      return out;
    }
    double sum = 0;
    for (double x : v) {
      sum += x / max;
    }
    for (int i = 0; i < v.length; i++) {
      out[i] = (v[i] / max) / sum;
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------
  // Epochs

  /** What an epoch did, and the digest the block records so that replay can check it. */
  public record EpochOutcome(Epoch epoch, Hash256 digest) {}

  /**
   * Runs the epoch due after block {@code block}'s transactions: the mechanism on the peers'
   * stake, weights and bonds; minting (whole units, largest remainders); new bonds and epoch
   * vectors; the consensus peg. A state the mechanism refuses, or an emission that is negative,
   * not finite or would overflow the supply, skips the epoch: nothing changes but the epoch count.
   */
  public EpochOutcome runEpoch(IncentiveMechanism mechanism, long block) {
    long number = ++epochs;
    int n = peers.size();
    String skipped = null;
    EpochResult result = null;
    long[] units = null;
    double[] stake = new double[n];
    double total = 0;
    for (int i = 0; i < n; i++) {
      stake[i] = peers.get(i).stake;
      total += stake[i];
    }
    if (n == 0) {
      skipped = "no peers";
    } else if (total == 0) {
      skipped = "no stake: the mechanism weighs votes by stake";
    } else {
      try {
        result = mechanism.step(new NetworkState(PeerVector.of(stake), weights(),
            Matrices.resize(bonds, n)));
        skipped = checkResult(result, n);
        if (skipped == null) {
          units = Minting.largestRemainder(result.emission().toArray());
          long sum = 0;
          for (long u : units) {
            sum += u;
          }
          // Against every token made, burned ones too: genesis and minted are kept apart.
          long made = genesisSupply + minted;
          if (sum > Long.MAX_VALUE - made) {
            skipped = "minting " + sum + " would overflow the supply " + made;
          }
        }
      } catch (RuntimeException e) {
        skipped = "the mechanism refused the state: " + e.getClass().getSimpleName() + ": "
            + e.getMessage();
      }
    }
    if (skipped != null) {
      if (skipped.length() > MAX_SKIPPED_CHARS) {
        skipped = skipped.substring(0, MAX_SKIPPED_CHARS);
      }
      lastEpoch = new Epoch(number, block, n, 0, 0.0, params.minAllowedWeights(),
          Optional.of(skipped));
    } else {
      long sum = 0;
      PeerVector[] vectors = {result.ranks(), result.trust(), result.consensus(),
          result.incentive(), result.dividends()};
      for (int i = 0; i < n; i++) {
        PeerRec p = peers.get(i);
        p.stake += units[i];
        p.emission = units[i];
        sum += units[i];
        for (int v = 0; v < vectors.length; v++) {
          p.vectors[v] = vectors[v].get(i);
        }
      }
      minted += sum;
      bonds = result.bonds().toCsr();
      int peg = ConsensusPeg.of(params.minAllowedWeights()).afterEpoch(result.loss(), n)
          .minAllowedWeights();
      params = params.withMinAllowedWeights(Math.min(peg, params.maxPeers()));
      lastEpoch = new Epoch(number, block, n, sum, result.loss(), params.minAllowedWeights(),
          Optional.empty());
    }
    return new EpochOutcome(lastEpoch, digest(lastEpoch, units));
  }

  /** Why the ledger would not apply {@code r} to {@code n} peers, or null when it would. */
  static String checkResult(EpochResult r, int n) {
    if (r.size() != n || r.bonds().size() != n) {
      return "the mechanism returned " + r.size() + " peers for " + n;
    }
    double total = 0;
    for (int i = 0; i < n; i++) {
      double e = r.emission().get(i);
      if (!(e >= 0) || e >= 0x1p62) {
        return "the mechanism's emission for peer " + i + " is " + e;
      }
      total += e;
    }
    // Each share fits, but their sum may not: its whole units would wrap around a long. The
    // margin covers the rounding of n additions (n < 2^21, each off by at most 2^10 near 2^63).
    if (!(total < 0x1p63 - 0x1p32)) {
      return "the mechanism's emission sums to " + total + ": minting it would overflow the"
          + " supply";
    }
    return null;
  }

  private static Hash256 digest(Epoch e, long[] units) {
    ByteWriter w = new ByteWriter(64 + (units == null ? 0 : 8 * units.length));
    Codecs.writeEpoch(w, e);
    if (units != null) {
      for (long u : units) {
        w.i64(u);
      }
    }
    return Hash256.of(w.array(), 0, w.size());
  }

  /** The weight matrix now: row {@code i} is peer {@code i}'s kept row. */
  public CsrMatrix weights() {
    CsrMatrix w = weightsCache;
    if (w == null) {
      w = Matrices.fromRows(peers.size(), rowUids(), rowVals());
      weightsCache = w;
    }
    return w;
  }

  private int[][] rowUids() {
    int[][] u = new int[peers.size()][];
    for (int i = 0; i < u.length; i++) {
      u[i] = peers.get(i).rowUids;
    }
    return u;
  }

  private double[][] rowVals() {
    double[][] v = new double[peers.size()][];
    for (int i = 0; i < v.length; i++) {
      v[i] = peers.get(i).rowVals;
    }
    return v;
  }

  // ---------------------------------------------------------------------------------------
  // Snapshots for the metagraph

  /**
   * The peers' part of the state, copied (rows and bonds are immutable and shared): what a
   * metagraph is made of. O(n).
   */
  public record View(LedgerParams params, long supply, Epoch lastEpoch, PeerInfo[] infos,
      long[] stake, long[] registeredAt, long[] lastUpdate, long[] emission,
      double[][] vectors, int[][] rowUids, double[][] rowVals, CsrMatrix weightsBuilt,
      CsrMatrix bonds) {

    /** The weight matrix: the state's own if it had built one, or built from the rows. */
    public CsrMatrix weights() {
      return weightsBuilt != null ? weightsBuilt
          : Matrices.fromRows(infos.length, rowUids, rowVals);
    }

    /** The bond matrix at the peers' size. */
    public CsrMatrix bondsMatrix() {
      return Matrices.resize(bonds, infos.length);
    }
  }

  /** A copy of what a metagraph shows. */
  public View view() {
    int n = peers.size();
    PeerInfo[] infos = new PeerInfo[n];
    long[] stake = new long[n];
    long[] registeredAt = new long[n];
    long[] lastUpdate = new long[n];
    long[] emission = new long[n];
    double[][] vectors = new double[5][n];
    for (int i = 0; i < n; i++) {
      PeerRec p = peers.get(i);
      infos[i] = p.info;
      stake[i] = p.stake;
      registeredAt[i] = p.registeredAt;
      lastUpdate[i] = p.lastUpdate;
      emission[i] = p.emission;
      for (int v = 0; v < 5; v++) {
        vectors[v][i] = p.vectors[v];
      }
    }
    return new View(params, supply(), lastEpoch, infos, stake, registeredAt, lastUpdate,
        emission, vectors, rowUids(), rowVals(), weightsCache, bonds);
  }

  // ---------------------------------------------------------------------------------------
  // Canonical encoding

  /** The SHA-256 of {@link #encode()}: equal states, equal hashes. */
  public Hash256 hash() {
    ByteWriter w = encodeTo(new ByteWriter(1 << 16));
    return Hash256.of(w.array(), 0, w.size());
  }

  /** The whole state as canonical bytes (accounts sorted by key, peers by uid). */
  public byte[] encode() {
    return encodeTo(new ByteWriter(1 << 16)).toByteArray();
  }

  private ByteWriter encodeTo(ByteWriter w) {
    // Version 1 while no registration rule is set and nothing was burned: the bytes (and the
    // state hash) of every state that could exist before the rules.
    boolean rules = Codecs.hasRegistrationRules(params) || burned != 0;
    w.u8(rules ? ENCODING_VERSION_REGISTRATION_RULES : ENCODING_VERSION)
        .bytes(chainId.toBytes()).i64(genesisSupply);
    w.u8(authority == null ? 0 : 1);
    if (authority != null) {
      w.bytes(authority.toBytes());
    }
    Codecs.writeParams(w, params);
    if (rules) {
      Codecs.writeRegistrationRules(w, params);
    }
    w.i64(height).bytes(lastHash.toBytes()).i64(minted);
    if (rules) {
      w.i64(burned);
    }
    w.i64(epochs);
    w.u8(lastEpoch == null ? 0 : 1);
    if (lastEpoch != null) {
      Codecs.writeEpoch(w, lastEpoch);
    }
    PeerId[] ids = accounts.keySet().toArray(new PeerId[0]);
    Arrays.sort(ids);
    w.i32(ids.length);
    for (PeerId id : ids) {
      Acct a = accounts.get(id);
      w.bytes(id.toBytes()).i64(a.balance).i64(a.nonce);
    }
    w.i32(peers.size());
    for (PeerRec p : peers) {
      w.bytes(p.info.id().toBytes()).string(p.info.endpoint().toString())
          .u8(p.info.modality().code()).i32(p.info.version());
      w.i64(p.stake).i64(p.registeredAt).i64(p.lastUpdate).i64(p.emission);
      for (double v : p.vectors) {
        w.f64(v);
      }
      w.i32(p.rowUids.length);
      for (int u : p.rowUids) {
        w.i32(u);
      }
      for (double v : p.rowVals) {
        w.f64(v);
      }
    }
    Codecs.writeCsr(w, bonds);
    return w;
  }

  /**
   * Reads what {@link #encode()} wrote.
   *
   * @throws IllegalArgumentException if the bytes are not a state this version wrote
   */
  public static LedgerState decode(byte[] bytes) {
    ByteReader r = new ByteReader(bytes);
    int version = r.u8("state version");
    if (version != ENCODING_VERSION && version != ENCODING_VERSION_REGISTRATION_RULES) {
      throw new IllegalArgumentException("unknown state version " + version);
    }
    boolean rules = version == ENCODING_VERSION_REGISTRATION_RULES;
    Hash256 chainId = Hash256.fromBytes(r.bytes(32, "chain id"));
    long genesisSupply = r.i64("genesis supply");
    PeerId authority = r.flag("authority flag") ? PeerId.fromBytes(r.bytes(32, "authority"))
        : null;
    LedgerParams params = Codecs.readParams(r);
    if (rules) {
      // Rules of 0 and 0 are allowed here when tokens were burned; checked below.
      params = params.withRegistrationBurn(r.i64("registrationBurn"))
          .withMaxRegistrationsPerBlock(r.i32("maxRegistrationsPerBlock"));
    }
    LedgerState s = new LedgerState(chainId, authority, genesisSupply, params);
    s.height = r.i64("height");
    s.lastHash = Hash256.fromBytes(r.bytes(32, "last hash"));
    s.minted = r.i64("minted");
    if (rules) {
      s.burned = r.i64("burned");
      if (!Codecs.hasRegistrationRules(params) && s.burned == 0) {
        throw new IllegalArgumentException("a state version 2 with no registration rule and"
            + " nothing burned is written as version 1: not a canonical encoding");
      }
    }
    s.epochs = r.i64("epochs");
    if (r.flag("epoch flag")) {
      s.lastEpoch = Codecs.readEpoch(r);
    }
    int accountCount = r.count(Integer.MAX_VALUE, 48, "accounts");
    PeerId previous = null;
    for (int i = 0; i < accountCount; i++) {
      Acct a = new Acct();
      PeerId id = PeerId.fromBytes(r.bytes(32, "account id"));
      if (previous != null && previous.compareTo(id) >= 0) {
        throw new IllegalArgumentException("account " + i + " (" + id + ") does not follow "
            + previous + ": accounts are sorted by key, each once");
      }
      previous = id;
      a.balance = r.i64("balance");
      a.nonce = r.i64("nonce");
      if (a.balance < 0 || a.nonce < 0) {
        throw new IllegalArgumentException("account " + id + " has balance " + a.balance
            + " and nonce " + a.nonce + "; neither may be negative");
      }
      s.accounts.put(id, a);
    }
    int n = r.count(LedgerParams.MAX_PEERS, 32, "peers");
    if (n > s.params.maxPeers()) {
      throw new IllegalArgumentException(n + " peers, but maxPeers is " + s.params.maxPeers());
    }
    for (int uid = 0; uid < n; uid++) {
      PeerRec p = new PeerRec();
      PeerId id = PeerId.fromBytes(r.bytes(32, "peer id"));
      String endpoint = r.string("endpoint");
      int code = r.u8("modality");
      Modality modality = Modality.ofCode(code).orElseThrow(
          () -> new IllegalArgumentException("unknown modality " + code));
      try {
        p.info = new PeerInfo(id, new URI(endpoint), modality, r.i32("version"));
      } catch (URISyntaxException e) {
        throw new IllegalArgumentException("bad endpoint " + endpoint, e);
      }
      p.stake = r.i64("stake");
      p.registeredAt = r.i64("registeredAt");
      p.lastUpdate = r.i64("lastUpdate");
      p.emission = r.i64("emission");
      for (int v = 0; v < 5; v++) {
        p.vectors[v] = r.f64("epoch vector");
      }
      int k = r.count(LedgerParams.MAX_PEERS, 12, "row");
      p.rowUids = new int[k];
      p.rowVals = new double[k];
      for (int j = 0; j < k; j++) {
        p.rowUids[j] = r.i32("row uid");
      }
      for (int j = 0; j < k; j++) {
        p.rowVals[j] = r.f64("row value");
      }
      checkRow(uid, p, n);
      if (p.stake < 0) {
        throw new IllegalArgumentException("peer " + uid + " has stake " + p.stake);
      }
      Acct owner = s.accounts.get(id);
      if (owner == null) {
        throw new IllegalArgumentException("peer " + uid + " has no account");
      }
      if (owner.uid >= 0) {
        throw new IllegalArgumentException("peer " + uid + " has the key of peer " + owner.uid);
      }
      owner.uid = uid;
      s.peers.add(p);
    }
    s.bonds = Codecs.readCsr(r);
    if (s.bonds.size() > n) {
      throw new IllegalArgumentException("the bonds are " + s.bonds.size() + " x "
          + s.bonds.size() + " for " + n + " peers");
    }
    r.requireEnd("state");
    checkTokens(s);
    return s;
  }

  /** Every token where it is: balances and stakes add up to the supply, as they always do. */
  private static void checkTokens(LedgerState s) {
    if (s.genesisSupply < 0 || s.minted < 0 || s.burned < 0 || s.height < 0 || s.epochs < 0) {
      throw new IllegalArgumentException("the state has genesis supply " + s.genesisSupply
          + ", minted " + s.minted + ", burned " + s.burned + ", height " + s.height + " and "
          + s.epochs + " epochs; none may be negative");
    }
    long supply;
    long counted = 0;
    try {
      // Genesis plus minted fits a long, as minting keeps it (burned tokens count as made).
      supply = Math.addExact(s.genesisSupply, s.minted) - s.burned;
      for (Acct a : s.accounts.values()) {
        counted = Math.addExact(counted, a.balance);
      }
      for (PeerRec p : s.peers) {
        counted = Math.addExact(counted, p.stake);
      }
    } catch (ArithmeticException overflow) {
      throw new IllegalArgumentException("the state's tokens overflow a long", overflow);
    }
    if (counted != supply) {
      throw new IllegalArgumentException("the state's balances and stakes hold " + counted
          + " tokens, but its supply is " + supply);
    }
  }

  /** A kept row: uids increasing and held by one of the {@code n} peers, weights positive. */
  private static void checkRow(int uid, PeerRec p, int n) {
    for (int j = 0; j < p.rowUids.length; j++) {
      int to = p.rowUids[j];
      if (to < 0 || to >= n || (j > 0 && to <= p.rowUids[j - 1])) {
        throw new IllegalArgumentException("peer " + uid + "'s weight row names uid " + to
            + " at " + j + ": its uids increase, each below the " + n + " peers");
      }
      double v = p.rowVals[j];
      if (!(v > 0) || !Double.isFinite(v)) {
        throw new IllegalArgumentException("peer " + uid + "'s weight on uid " + to + " is " + v
            + "; a kept weight is positive and finite");
      }
    }
  }

  @Override
  public String toString() {
    return "LedgerState[height " + height + ", " + peers.size() + " peers, "
        + accounts.size() + " accounts, supply " + supply() + "]";
  }
}
