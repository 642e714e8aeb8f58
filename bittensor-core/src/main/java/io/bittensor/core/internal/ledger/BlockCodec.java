package io.bittensor.core.internal.ledger;

import io.bittensor.core.Genesis;
import io.bittensor.core.Hash256;
import io.bittensor.core.PeerId;
import io.bittensor.core.SignedTransaction;
import io.bittensor.incentive.Emission;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.incentive.PaperMechanism;
import io.bittensor.incentive.PaperParams;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The payload of a journal record: one block. Its SHA-256 is the block's hash.
 *
 * <pre>
 * u8  kind: 0 genesis, 1 block
 * i64 number (0 for genesis)
 * 32  parent hash (zeros for genesis)
 * i64 timestamp, milliseconds since 1970
 * genesis: string chainName, i64 createdAt millis, params (5 x i32), u8 has authority [32 key],
 *          i32 allocation count, count x (32 key, i64 amount), string mechanism name,
 *          u8 has paper parameters [f64 rho, f64 kappa, u8 emission kind (0 fixed, 1 inflation),
 *          f64 tau or rate, f64 bondShare, u8 normalizeRows, u8 maskSelfWeights],
 *          only when a registration rule is set: u8 1, i64 registrationBurn,
 *          i32 maxRegistrationsPerBlock (a reader before them refuses the trailing bytes)
 * block:   i32 transaction count, count x (i32 length, encoded SignedTransaction),
 *          u8 epoch ran, [32 epoch digest]
 * </pre>
 *
 * <p>A compacted journal's second record is a checkpoint instead: {@code u8 2, i64 number, 32
 * parent hash} of the block it stands for, then that block and the state after it as {@link
 * StateExport} writes them. Its own SHA-256 is not a block hash: the next block links to the
 * hash it names.
 */
public final class BlockCodec {
  static final int KIND_GENESIS = 0;
  static final int KIND_BLOCK = 1;
  static final int KIND_CHECKPOINT = 2;
  /** The tag of the genesis block's optional section of registration rules. */
  private static final int GENESIS_REGISTRATION_RULES = 1;
  /** Where a checkpoint's {@link StateExport} starts: after kind, number and parent. */
  private static final int CHECKPOINT_EXPORT = 1 + 8 + 32;

  private BlockCodec() {}

  /** A decoded block payload. Exactly one of {@code genesis} and {@code transactions} is set. */
  public record Decoded(int kind, long number, Hash256 parent, long timestamp, Genesis genesis,
      String mechanism, Optional<PaperParams> paperParams, List<SignedTransaction> transactions,
      Optional<Hash256> epochDigest) {}

  /** The genesis payload for {@code mechanism}: its name, and its parameters if the paper's. */
  public static byte[] encodeGenesis(Genesis g, IncentiveMechanism mechanism, long timestamp) {
    return encodeGenesis(g, mechanism.name(), paperParams(mechanism), timestamp);
  }

  /** The parameters a genesis block records for {@code m}: the paper's, or null for others. */
  public static PaperParams paperParams(IncentiveMechanism m) {
    return m instanceof PaperMechanism p ? p.params() : null;
  }

  /**
   * The genesis block's payload.
   *
   * @param mechanism the mechanism's name
   * @param paper its parameters when it is the paper's mechanism, so that the ledger can reopen
   *     without being told them; null otherwise
   */
  public static byte[] encodeGenesis(Genesis g, String mechanism, PaperParams paper,
      long timestamp) {
    ByteWriter w = new ByteWriter(256);
    w.u8(KIND_GENESIS).i64(0).bytes(Hash256.ZERO.toBytes()).i64(timestamp);
    w.string(g.chainName()).i64(g.createdAt().toEpochMilli());
    Codecs.writeParams(w, g.params());
    w.u8(g.authority().isPresent() ? 1 : 0);
    g.authority().ifPresent(a -> w.bytes(a.toBytes()));
    w.i32(g.allocations().size());
    for (Map.Entry<PeerId, Long> e : g.allocations().entrySet()) {
      w.bytes(e.getKey().toBytes()).i64(e.getValue());
    }
    w.string(mechanism);
    w.u8(paper == null ? 0 : 1);
    if (paper != null) {
      w.f64(paper.rho()).f64(paper.kappa());
      if (paper.emission() instanceof Emission.Fixed f) {
        w.u8(0).f64(f.tau());
      } else {
        w.u8(1).f64(((Emission.Inflation) paper.emission()).rate());
      }
      w.f64(paper.bondShare()).u8(paper.normalizeRows() ? 1 : 0)
          .u8(paper.maskSelfWeights() ? 1 : 0);
    }
    if (Codecs.hasRegistrationRules(g.params())) {
      w.u8(GENESIS_REGISTRATION_RULES);
      Codecs.writeRegistrationRules(w, g.params());
    }
    return w.toByteArray();
  }

  /** A block's payload. */
  public static byte[] encodeBlock(long number, Hash256 parent, long timestamp,
      List<SignedTransaction> transactions, Hash256 epochDigest) {
    int size = 64;
    for (SignedTransaction t : transactions) {
      size += 4 + t.encodedLength();
    }
    ByteWriter w = new ByteWriter(size);
    w.u8(KIND_BLOCK).i64(number).bytes(parent.toBytes()).i64(timestamp);
    w.i32(transactions.size());
    for (SignedTransaction t : transactions) {
      w.blob(t.encode());
    }
    w.u8(epochDigest == null ? 0 : 1);
    if (epochDigest != null) {
      w.bytes(epochDigest.toBytes());
    }
    return w.toByteArray();
  }

  /** The number and parent of a payload, without decoding the rest: for the journal scan. */
  /**
   * A checkpoint's payload: block {@code block}'s number and parent, then the block and the
   * state after it ({@link StateExport}).
   *
   * @param state the state's canonical encoding ({@link LedgerState#encode}) after the block
   */
  public static byte[] encodeCheckpoint(io.bittensor.core.Block block, byte[] state) {
    return checkpointOfExport(block, StateExport.encode(block, state));
  }

  /**
   * A checkpoint's payload from an export already encoded ({@link StateExport}).
   *
   * @param block the block the export names
   */
  public static byte[] checkpointOfExport(io.bittensor.core.Block block, byte[] export) {
    ByteWriter w = new ByteWriter(CHECKPOINT_EXPORT + export.length);
    w.u8(KIND_CHECKPOINT).i64(block.number()).bytes(block.parent().toBytes()).bytes(export);
    return w.toByteArray();
  }

  /**
   * Decodes a checkpoint's block and state.
   *
   * @throws IllegalArgumentException if it is not a checkpoint, or its parts disagree
   */
  public static StateExport.Decoded decodeCheckpoint(byte[] payload) {
    if (!isCheckpoint(payload)) {
      throw new IllegalArgumentException("not a checkpoint record");
    }
    ByteReader r = new ByteReader(payload);
    r.bytes(CHECKPOINT_EXPORT, "checkpoint header");
    byte[] export = r.bytes(r.remaining(), "checkpoint export");
    StateExport.Decoded d = StateExport.decode(export);
    if (d.block().number() != number(payload) || !d.block().parent().equals(parent(payload))) {
      throw new IllegalArgumentException("the checkpoint names block " + number(payload)
          + " but holds the state after block " + d.block().number());
    }
    return d;
  }

  static boolean isCheckpoint(byte[] payload) {
    return payload.length > 0 && (payload[0] & 0xff) == KIND_CHECKPOINT;
  }

  /** The hash of the block a checkpoint stands for, which the next block names as parent. */
  static Hash256 checkpointHash(byte[] payload) {
    // In the export: i32 magic and i64 number, then the hash.
    ByteReader r = new ByteReader(payload);
    r.bytes(CHECKPOINT_EXPORT + 12, "checkpoint header");
    return Hash256.fromBytes(r.bytes(32, "checkpoint hash"));
  }

  /** A reader of {@code payload} past its kind: read from the whole array, so never past it. */
  private static ByteReader afterKind(byte[] payload) {
    ByteReader r = new ByteReader(payload);
    r.u8("kind");
    return r;
  }

  static long number(byte[] payload) {
    return afterKind(payload).i64("number");
  }

  static Hash256 parent(byte[] payload) {
    ByteReader r = afterKind(payload);
    r.i64("number");
    return Hash256.fromBytes(r.bytes(32, "parent"));
  }

  /**
   * Decodes a payload.
   *
   * @throws IllegalArgumentException if it is not a block this version wrote
   */
  public static Decoded decode(byte[] payload) {
    ByteReader r = new ByteReader(payload);
    int kind = r.u8("kind");
    long number = r.i64("number");
    Hash256 parent = Hash256.fromBytes(r.bytes(32, "parent"));
    long timestamp = r.i64("timestamp");
    if (kind == KIND_GENESIS) {
      if (number != 0 || !parent.equals(Hash256.ZERO)) {
        throw new IllegalArgumentException("a genesis block is block 0 with a zero parent, was"
            + " block " + number + " with parent " + parent);
      }
      String name = r.string("chain name");
      Instant createdAt = Instant.ofEpochMilli(r.i64("createdAt"));
      var params = Codecs.readParams(r);
      Optional<PeerId> authority = r.flag("authority flag")
          ? Optional.of(PeerId.fromBytes(r.bytes(32, "authority"))) : Optional.empty();
      int count = r.count(Integer.MAX_VALUE, 40, "allocations");
      TreeMap<PeerId, Long> allocations = new TreeMap<>();
      for (int i = 0; i < count; i++) {
        PeerId key = PeerId.fromBytes(r.bytes(32, "allocation key"));
        if (!allocations.isEmpty() && allocations.lastKey().compareTo(key) >= 0) {
          throw new IllegalArgumentException("allocation " + i + " (" + key + ") does not follow "
              + allocations.lastKey() + ": allocations are sorted by key, each once");
        }
        allocations.put(key, r.i64("amount"));
      }
      String mechanism = r.string("mechanism");
      Optional<PaperParams> paper = Optional.empty();
      if (r.flag("paper flag")) {
        double rho = r.f64("rho");
        double kappa = r.f64("kappa");
        // 0 fixed, 1 inflation: a flag's values.
        boolean inflation = r.flag("emission kind");
        double amount = r.f64("emission");
        Emission emission = inflation ? Emission.inflation(amount) : Emission.fixed(amount);
        paper = Optional.of(new PaperParams(rho, kappa, emission, r.f64("bondShare"),
            r.flag("normalizeRows"), r.flag("maskSelfWeights")));
      }
      if (r.remaining() > 0) {
        int section = r.u8("genesis section");
        if (section != GENESIS_REGISTRATION_RULES) {
          throw new IllegalArgumentException("unknown genesis section " + section);
        }
        params = Codecs.readRegistrationRules(r, params);
      }
      r.requireEnd("genesis block");
      return new Decoded(kind, number, parent, timestamp,
          new Genesis(name, createdAt, params, authority, allocations), mechanism, paper, null,
          Optional.empty());
    }
    if (kind != KIND_BLOCK) {
      throw new IllegalArgumentException("unknown block kind " + kind);
    }
    if (number < 1) {
      throw new IllegalArgumentException("block " + number + " is not after the genesis block");
    }
    int count = r.count(Integer.MAX_VALUE, 4, "transactions");
    List<SignedTransaction> txs = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      txs.add(SignedTransaction.decode(
          r.blob(SignedTransaction.MAX_ENCODED_LENGTH, "transaction " + i)));
    }
    Optional<Hash256> digest = r.flag("epoch flag")
        ? Optional.of(Hash256.fromBytes(r.bytes(32, "epoch digest"))) : Optional.empty();
    r.requireEnd("block");
    return new Decoded(kind, number, parent, timestamp, null, null, Optional.empty(), txs,
        digest);
  }
}
