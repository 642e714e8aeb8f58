package io.bittensor.core;

import java.net.URI;
import java.util.Arrays;
import java.util.Objects;

/**
 * What a ledger transaction asks for, before it is signed: register a peer, move tokens, stake,
 * set weights, or change the rules. {@link SignedTransaction#sign} binds it to a chain, a signer
 * and a nonce.
 *
 * <pre>{@code
 * Keypair me = Keypair.load(Path.of("peer.key"));
 * Ledger ledger = LocalLedger.builder()...openInMemory();
 * Transaction t = Transaction.setWeights(new int[] {0, 3}, new double[] {0.25, 0.75});
 * SignedTransaction signed = SignedTransaction.sign(me, ledger.chainId(),
 *     ledger.nextNonce(me.id()), t);
 * Receipt r = ledger.submit(signed).join();
 * }</pre>
 *
 * <p>The constructors check only what encoding needs (no nulls, matching lengths). Every rule
 * about values (positive amounts, finite weights, known uids) is the ledger's: it rejects a
 * transaction that breaks one with a {@link RejectReason} naming the rule, the same whether the
 * transaction came from this library or from the wire.
 *
 * <p>Every implementation is an immutable record, thread-safe.
 */
public sealed interface Transaction {

  /** The stable number of this kind of transaction in the encoding (1 to 7). */
  int type();

  /** Registers the signer's key as a peer reachable at {@code endpoint}. */
  static Register register(URI endpoint, Modality modality) {
    return new Register(endpoint, modality, PeerInfo.PROTOCOL_VERSION);
  }

  /** Registers the signer as the peer {@code info} describes ({@code info.id()} is not sent). */
  static Register register(PeerInfo info) {
    return new Register(info.endpoint(), info.modality(), info.version());
  }

  /**
   * Moves the signer's peer to {@code endpoint}: a peer restarted on another port or host stays
   * the same peer (its uid, stake, weights and registration block).
   */
  static Serve serve(URI endpoint, Modality modality) {
    return new Serve(endpoint, modality, PeerInfo.PROTOCOL_VERSION);
  }

  /** Moves {@code amount} tokens from the signer's balance to {@code to}'s. */
  static Transfer transfer(PeerId to, long amount) {
    return new Transfer(to, amount);
  }

  /** Moves {@code amount} tokens from the signer's balance to its peer's stake. */
  static AddStake addStake(long amount) {
    return new AddStake(amount);
  }

  /** Moves {@code amount} tokens from the signer's peer's stake back to its balance. */
  static RemoveStake removeStake(long amount) {
    return new RemoveStake(amount);
  }

  /** Sets the signer's weight row: {@code weights[k]} on peer {@code uids[k]}. */
  static SetWeights setWeights(int[] uids, double[] weights) {
    return new SetWeights(uids, weights);
  }

  /**
   * Sets the signer's weight row, naming the peers by their uids in the metagraph after block
   * {@code asOfBlock}: an entry whose uid a newer peer has taken over since is dropped when the
   * row lands, so a row in flight during a replacement does not vote for the newcomer.
   *
   * @param asOfBlock the block of the metagraph the uids were read from, {@code >= 0}
   */
  @Experimental
  static SetWeights setWeights(int[] uids, double[] weights, long asOfBlock) {
    if (asOfBlock < 0) {
      throw new IllegalArgumentException("asOfBlock must be >= 0, was " + asOfBlock);
    }
    return new SetWeights(uids, weights, asOfBlock);
  }

  /** Replaces the ledger's rules; only the genesis authority may. */
  static ChangeParams changeParams(LedgerParams params) {
    return new ChangeParams(params);
  }

  /**
   * Registers the signer as a peer. The ledger rejects a key that is already registered, an
   * endpoint that is not absolute or longer than 1024 bytes (UTF-8), and a version below 1;
   * where {@link LedgerParams#registrationBurn()} is set, a key with a smaller free balance,
   * and where {@link LedgerParams#maxRegistrationsPerBlock()} is, one past the block's cap.
   *
   * @param endpoint where the peer listens
   * @param modality what it accepts
   * @param version the wire protocol version it speaks
   */
  record Register(URI endpoint, Modality modality, int version) implements Transaction {
    /** Checks for nulls. */
    public Register {
      Objects.requireNonNull(endpoint, "endpoint");
      Objects.requireNonNull(modality, "modality");
    }

    @Override
    public int type() {
      return 1;
    }
  }

  /**
   * Changes where the signer's peer is reached, what it accepts and the protocol version it
   * speaks; everything else about the peer stays. The ledger rejects a key that is not a
   * registered peer, and the endpoint and version as it does for {@link Register}.
   *
   * @param endpoint where the peer listens now
   * @param modality what it accepts
   * @param version the wire protocol version it speaks
   */
  record Serve(URI endpoint, Modality modality, int version) implements Transaction {
    /** Checks for nulls. */
    public Serve {
      Objects.requireNonNull(endpoint, "endpoint");
      Objects.requireNonNull(modality, "modality");
    }

    @Override
    public int type() {
      return 7;
    }
  }

  /**
   * Moves tokens between balances. The ledger rejects a non-positive amount and one above the
   * signer's balance; the recipient's account is opened if it has none.
   *
   * @param to the recipient
   * @param amount whole units, {@code > 0}
   */
  record Transfer(PeerId to, long amount) implements Transaction {
    /** Checks for nulls. */
    public Transfer {
      Objects.requireNonNull(to, "to");
    }

    @Override
    public int type() {
      return 2;
    }
  }

  /**
   * Stakes tokens on the signer's own peer. The ledger rejects a non-positive amount, one above
   * the signer's balance, and a signer with no registered peer.
   *
   * @param amount whole units, {@code > 0}
   */
  record AddStake(long amount) implements Transaction {
    @Override
    public int type() {
      return 3;
    }
  }

  /**
   * Returns staked tokens to the signer's balance. The ledger rejects a non-positive amount and
   * one above the peer's stake.
   *
   * @param amount whole units, {@code > 0}
   */
  record RemoveStake(long amount) implements Transaction {
    @Override
    public int type() {
      return 4;
    }
  }

  /**
   * Sets the signer's weight row, a sparse vector over uids: zeros are dropped and the rest are
   * scaled to sum 1. The ledger rejects weights that are not finite or negative, uids outside
   * {@code [0, maxPeers)} or not held by a peer, a uid given twice, fewer non-zero entries than
   * {@code minAllowedWeights}, and a row sooner than {@code weightsRateLimit} blocks after the
   * last.
   *
   * <p>A row made {@linkplain #asOfBlock() as of a block} names peers as that block's metagraph
   * did. When it lands, entries whose uid was taken over by a peer registered after that block
   * are dropped (as a replacement drops the votes for the old peer from the rows already kept),
   * and the rest must still number {@code minAllowedWeights}. The ledger also rejects a block not
   * sealed before the one the row lands in. A row with no such block ({@link #NO_BLOCK}) names
   * whoever holds each uid when it lands.
   *
   * @param uids the peers weighed; copied
   * @param weights one per uid; copied
   * @param asOfBlock the block of the metagraph the uids were read from, or {@link #NO_BLOCK}
   */
  record SetWeights(int[] uids, double[] weights, @Experimental long asOfBlock)
      implements Transaction {
    /** The {@link #asOfBlock()} of a row that names no block. */
    @Experimental
    public static final long NO_BLOCK = -1;

    /**
     * Copies the arrays.
     *
     * @throws IllegalArgumentException if the arrays differ in length, or {@code asOfBlock} is
     *     below {@link #NO_BLOCK}
     */
    @Experimental
    public SetWeights {
      Objects.requireNonNull(uids, "uids");
      Objects.requireNonNull(weights, "weights");
      if (uids.length != weights.length) {
        throw new IllegalArgumentException(
            "uids and weights must have the same length, were " + uids.length + " and "
                + weights.length);
      }
      if (asOfBlock < NO_BLOCK) {
        throw new IllegalArgumentException(
            "asOfBlock must be a block (>= 0) or NO_BLOCK (-1), was " + asOfBlock);
      }
      uids = uids.clone();
      weights = weights.clone();
    }

    /**
     * A row that names no block: each uid means whoever holds it when the row lands.
     *
     * @throws IllegalArgumentException if the arrays differ in length
     */
    public SetWeights(int[] uids, double[] weights) {
      this(uids, weights, NO_BLOCK);
    }

    /** A copy of the uids. */
    @Override
    public int[] uids() {
      return uids.clone();
    }

    /** A copy of the weights. */
    @Override
    public double[] weights() {
      return weights.clone();
    }

    /** The number of entries. */
    public int size() {
      return uids.length;
    }

    /** The uid of entry {@code k}. */
    public int uid(int k) {
      return uids[k];
    }

    /** The weight of entry {@code k}. */
    public double weight(int k) {
      return weights[k];
    }

    @Override
    public int type() {
      return 5;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof SetWeights s && Arrays.equals(uids, s.uids)
          && Arrays.equals(weights, s.weights) && asOfBlock == s.asOfBlock;
    }

    @Override
    public int hashCode() {
      return 31 * (31 * Arrays.hashCode(uids) + Arrays.hashCode(weights))
          + Long.hashCode(asOfBlock);
    }

    @Override
    public String toString() {
      String asOf = asOfBlock == NO_BLOCK ? "" : ", asOfBlock=" + asOfBlock;
      if (uids.length > 8) {
        return "SetWeights[" + uids.length + " entries" + asOf + "]";
      }
      return "SetWeights[uids=" + Arrays.toString(uids) + ", weights="
          + Arrays.toString(weights) + asOf + "]";
    }
  }

  /**
   * Replaces the ledger's rules for every transaction after it. Only the genesis authority may
   * send it; the ledger also rejects a {@code maxPeers} below the number of peers registered.
   *
   * @param params the new rules
   */
  record ChangeParams(LedgerParams params) implements Transaction {
    /** Checks for nulls. */
    public ChangeParams {
      Objects.requireNonNull(params, "params");
    }

    @Override
    public int type() {
      return 6;
    }
  }
}
