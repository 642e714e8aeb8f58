package io.bittensor.core;

import io.bittensor.core.internal.ledger.ByteReader;
import io.bittensor.core.internal.ledger.ByteWriter;
import io.bittensor.core.internal.ledger.Codecs;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * A {@link Transaction} bound to a chain, a signer and a nonce, with the signer's Ed25519
 * signature: what a ledger accepts. Its {@linkplain #encode() encoding} is canonical (one
 * transaction, one byte string), so it travels as opaque bytes and hashes the same everywhere.
 *
 * <pre>{@code
 * Keypair me = Keypair.load(Path.of("peer.key"));
 * Ledger ledger = LocalLedger.builder()...openInMemory();
 * SignedTransaction tx = SignedTransaction.sign(me, ledger.chainId(), ledger.nextNonce(me.id()),
 *     Transaction.addStake(500));
 * byte[] wire = tx.encode();
 * SignedTransaction same = SignedTransaction.decode(wire);   // equal to tx
 * }</pre>
 *
 * <h2>Encoding (version 1, big-endian)</h2>
 *
 * <pre>
 * u8  version = 1
 * 32  chain id (the genesis block's SHA-256)
 * 32  signer (Ed25519 public key)
 * i64 nonce
 * u8  type: 1 register, 2 transfer, 3 add stake, 4 remove stake, 5 set weights, 6 change params,
 *     7 serve
 * ... body:
 *     register       u16 length + UTF-8 endpoint, u8 modality code, i32 protocol version
 *     transfer       32 recipient, i64 amount
 *     add stake      i64 amount
 *     remove stake   i64 amount
 *     set weights    i32 count, count x i32 uid, count x f64 weight (IEEE 754 bits)
 *     change params  i32 epochLength, maxPeers, immunityPeriod, minAllowedWeights,
 *                    weightsRateLimit
 *     serve          as register
 * 64  Ed25519 signature of "bittensor-tx-v1" (15 ASCII bytes) followed by every byte above
 * </pre>
 *
 * <p>Version 2 is version 1 with more fields in two bodies: a change of params has i64
 * registrationBurn and i32 maxRegistrationsPerBlock after weightsRateLimit, and a weight row has
 * i64 asOfBlock after its weights. Only a change of params that sets one of the registration
 * rules, and only a row made as of a block, is written so (a reader before them refuses it as an
 * unknown version); every other transaction, rule changes with both rules at 0 and rows with no
 * block among them, keeps version 1, so that one transaction has one encoding, and a decoder
 * refuses version 2 for anything else.
 *
 * <p>The {@linkplain #hash() hash} is the SHA-256 of the whole encoding, signature included.
 *
 * <p>Immutable and thread-safe. Creating one does not verify its signature; ledgers do.
 */
public final class SignedTransaction {
  /**
   * The encoding's version byte, for every transaction but a rule change that sets a
   * registration rule and a weight row made as of a block (version 2).
   */
  public static final int VERSION = 1;

  /** The version of a rule change that sets a registration rule, or a row as of a block. */
  private static final int VERSION_EXTENDED = 2;

  /** The most bytes an encoded transaction may have (16 MiB). */
  public static final int MAX_ENCODED_LENGTH = 16 << 20;

  /** The longest endpoint a registration may carry, in UTF-8 bytes. */
  public static final int MAX_ENDPOINT_LENGTH = 1024;

  private static final byte[] DOMAIN = "bittensor-tx-v1".getBytes(StandardCharsets.US_ASCII);

  private final Hash256 chainId;
  private final PeerId signer;
  private final long nonce;
  private final Transaction body;
  private final byte[] encoded;
  private volatile Hash256 hash;

  private SignedTransaction(
      Hash256 chainId, PeerId signer, long nonce, Transaction body, byte[] encoded) {
    this.chainId = chainId;
    this.signer = signer;
    this.nonce = nonce;
    this.body = body;
    this.encoded = encoded;
  }

  /**
   * Signs {@code body} for the chain {@code chainId} with {@code key}.
   *
   * @param key the signer; its public key becomes {@link #signer()}
   * @param chainId the ledger's {@link Ledger#chainId()}
   * @param nonce the signer's next nonce on that ledger ({@link Ledger#nextNonce})
   * @param body what to do
   * @throws IllegalArgumentException if the body cannot be encoded (an endpoint longer than
   *     {@link #MAX_ENDPOINT_LENGTH} bytes, a row of more than {@link LedgerParams#MAX_PEERS}
   *     entries)
   */
  public static SignedTransaction sign(Keypair key, Hash256 chainId, long nonce,
      Transaction body) {
    Objects.requireNonNull(key, "key");
    byte[] unsigned = encodeUnsigned(chainId, key.id(), nonce, body);
    byte[] signature = key.sign(signedMessage(unsigned, unsigned.length));
    return of(chainId, key.id(), nonce, body, signature, unsigned);
  }

  /**
   * A transaction with a signature made elsewhere (or a wrong one, for tests).
   *
   * @param signature 64 bytes; copied, not modified
   * @throws IllegalArgumentException if the signature is not 64 bytes, or the body cannot be
   *     encoded (see {@link #sign})
   */
  public static SignedTransaction of(Hash256 chainId, PeerId signer, long nonce,
      Transaction body, byte[] signature) {
    Objects.requireNonNull(signature, "signature");
    if (signature.length != Keypair.SIGNATURE_LENGTH) {
      throw new IllegalArgumentException(
          "an Ed25519 signature has 64 bytes, was " + signature.length);
    }
    return of(chainId, signer, nonce, body, signature,
        encodeUnsigned(chainId, signer, nonce, body));
  }

  private static SignedTransaction of(Hash256 chainId, PeerId signer, long nonce,
      Transaction body, byte[] signature, byte[] unsigned) {
    byte[] encoded = Arrays.copyOf(unsigned, unsigned.length + signature.length);
    System.arraycopy(signature, 0, encoded, unsigned.length, signature.length);
    return new SignedTransaction(chainId, signer, nonce, body, encoded);
  }

  /**
   * Reads an encoded transaction.
   *
   * @param encoded the bytes of {@link #encode()}; copied, not modified
   * @throws IllegalArgumentException naming the first field that is truncated, out of range or
   *     unknown, or the trailing bytes
   */
  public static SignedTransaction decode(byte[] encoded) {
    Objects.requireNonNull(encoded, "encoded");
    if (encoded.length > MAX_ENCODED_LENGTH) {
      throw new IllegalArgumentException("a transaction may have at most " + MAX_ENCODED_LENGTH
          + " bytes, had " + encoded.length);
    }
    byte[] copy = encoded.clone();
    ByteReader r = new ByteReader(copy);
    int version = r.u8("version");
    if (version != VERSION && version != VERSION_EXTENDED) {
      throw new IllegalArgumentException("unknown transaction version " + version
          + " (this library reads " + VERSION + " and " + VERSION_EXTENDED + ")");
    }
    Hash256 chainId = Hash256.fromBytes(r.bytes(Hash256.LENGTH, "chain id"));
    PeerId signer = PeerId.fromBytes(r.bytes(PeerId.LENGTH, "signer"));
    long nonce = r.i64("nonce");
    Transaction body = decodeBody(r, version == VERSION_EXTENDED);
    if (version(body) != version) {
      throw new IllegalArgumentException("transaction version " + version + " for " + body
          + ", which is written as version " + version(body) + ": not a canonical encoding");
    }
    r.bytes(Keypair.SIGNATURE_LENGTH, "signature");
    r.requireEnd("transaction");
    return new SignedTransaction(chainId, signer, nonce, body, copy);
  }

  /**
   * The version {@code body} is written with: 2 only for rules that set a registration rule and
   * for a row made as of a block.
   */
  private static int version(Transaction body) {
    if (body instanceof Transaction.ChangeParams t) {
      return Codecs.hasRegistrationRules(t.params()) ? VERSION_EXTENDED : VERSION;
    }
    return body instanceof Transaction.SetWeights t
        && t.asOfBlock() != Transaction.SetWeights.NO_BLOCK ? VERSION_EXTENDED : VERSION;
  }

  private static Transaction decodeBody(ByteReader r, boolean extended) {
    int type = r.u8("type");
    switch (type) {
      case 1: {
        Where w = where(r);
        return new Transaction.Register(w.endpoint(), w.modality(), w.version());
      }
      case 2:
        return new Transaction.Transfer(
            PeerId.fromBytes(r.bytes(PeerId.LENGTH, "recipient")), r.i64("amount"));
      case 3:
        return new Transaction.AddStake(r.i64("amount"));
      case 4:
        return new Transaction.RemoveStake(r.i64("amount"));
      case 5: {
        int n = r.count(LedgerParams.MAX_PEERS, 12, "weights");
        int[] uids = new int[n];
        double[] weights = new double[n];
        for (int k = 0; k < n; k++) {
          uids[k] = r.i32("uid");
        }
        for (int k = 0; k < n; k++) {
          weights[k] = r.f64("weight");
        }
        if (!extended) {
          return new Transaction.SetWeights(uids, weights);
        }
        long asOfBlock = r.i64("asOfBlock");
        if (asOfBlock < 0) {
          throw new IllegalArgumentException("asOfBlock must be >= 0, was " + asOfBlock);
        }
        return new Transaction.SetWeights(uids, weights, asOfBlock);
      }
      case 6: {
        LedgerParams p = Codecs.readParams(r);
        if (extended) {
          p = p.withRegistrationBurn(r.i64("registrationBurn"))
              .withMaxRegistrationsPerBlock(r.i32("maxRegistrationsPerBlock"));
        }
        return new Transaction.ChangeParams(p);
      }
      case 7: {
        Where w = where(r);
        return new Transaction.Serve(w.endpoint(), w.modality(), w.version());
      }
      default:
        throw new IllegalArgumentException("unknown transaction type " + type);
    }
  }

  /** Where a peer is reached, as {@code Register} and {@code Serve} both carry it. */
  private record Where(URI endpoint, Modality modality, int version) {}

  private static Where where(ByteReader r) {
    String endpoint = r.string("endpoint");
    int code = r.u8("modality");
    Modality modality = Modality.ofCode(code).orElseThrow(
        () -> new IllegalArgumentException("unknown modality code " + code));
    int version = r.i32("protocol version");
    try {
      return new Where(new URI(endpoint), modality, version);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("endpoint is not a URI: " + e.getMessage(), e);
    }
  }

  private static void where(ByteWriter w, URI endpoint, Modality modality, int version) {
    String text = endpoint.toString();
    if (text.getBytes(StandardCharsets.UTF_8).length > MAX_ENDPOINT_LENGTH) {
      throw new IllegalArgumentException("endpoint must have at most " + MAX_ENDPOINT_LENGTH
          + " UTF-8 bytes, was " + text);
    }
    w.string(text).u8(modality.code()).i32(version);
  }

  private static byte[] encodeUnsigned(Hash256 chainId, PeerId signer, long nonce,
      Transaction body) {
    Objects.requireNonNull(chainId, "chainId");
    Objects.requireNonNull(signer, "signer");
    Objects.requireNonNull(body, "body");
    ByteWriter w = new ByteWriter(128);
    int version = version(body);
    w.u8(version).bytes(chainId.toBytes()).bytes(signer.toBytes()).i64(nonce).u8(body.type());
    if (body instanceof Transaction.Register t) {
      where(w, t.endpoint(), t.modality(), t.version());
    } else if (body instanceof Transaction.Serve t) {
      where(w, t.endpoint(), t.modality(), t.version());
    } else if (body instanceof Transaction.Transfer t) {
      w.bytes(t.to().toBytes()).i64(t.amount());
    } else if (body instanceof Transaction.AddStake t) {
      w.i64(t.amount());
    } else if (body instanceof Transaction.RemoveStake t) {
      w.i64(t.amount());
    } else if (body instanceof Transaction.SetWeights t) {
      int n = t.size();
      if (n > LedgerParams.MAX_PEERS) {
        throw new IllegalArgumentException("a weight row may have at most "
            + LedgerParams.MAX_PEERS + " entries, had " + n);
      }
      w.i32(n);
      for (int k = 0; k < n; k++) {
        w.i32(t.uid(k));
      }
      for (int k = 0; k < n; k++) {
        w.f64(t.weight(k));
      }
      if (version == VERSION_EXTENDED) {
        w.i64(t.asOfBlock());
      }
    } else if (body instanceof Transaction.ChangeParams t) {
      LedgerParams p = t.params();
      Codecs.writeParams(w, p);
      if (version == VERSION_EXTENDED) {
        Codecs.writeRegistrationRules(w, p);
      }
    }
    return w.toByteArray();
  }

  private static byte[] signedMessage(byte[] unsigned, int length) {
    byte[] message = new byte[DOMAIN.length + length];
    System.arraycopy(DOMAIN, 0, message, 0, DOMAIN.length);
    System.arraycopy(unsigned, 0, message, DOMAIN.length, length);
    return message;
  }

  /** The chain the transaction is meant for. */
  public Hash256 chainId() {
    return chainId;
  }

  /** The account that signed it. */
  public PeerId signer() {
    return signer;
  }

  /** The signer's sequence number: its first transaction on a chain has nonce 0. */
  public long nonce() {
    return nonce;
  }

  /** What it asks for. */
  public Transaction body() {
    return body;
  }

  /** A copy of the 64-byte signature. */
  public byte[] signature() {
    return Arrays.copyOfRange(encoded, encoded.length - Keypair.SIGNATURE_LENGTH,
        encoded.length);
  }

  /**
   * True when the signature verifies against {@link #signer()} over the domain tag and the
   * encoding. Costs one Ed25519 verification (tens of microseconds).
   */
  public boolean verifySignature() {
    int unsignedLength = encoded.length - Keypair.SIGNATURE_LENGTH;
    return signer.verify(signedMessage(encoded, unsignedLength), signature());
  }

  /** A copy of the canonical encoding. */
  public byte[] encode() {
    return encoded.clone();
  }

  /** The length of the encoding in bytes. */
  public int encodedLength() {
    return encoded.length;
  }

  /** The SHA-256 of the encoding: the transaction's identity. */
  public Hash256 hash() {
    Hash256 h = hash;
    if (h == null) {
      h = Hash256.of(encoded);
      hash = h;
    }
    return h;
  }

  /** Equal when the encodings are equal. */
  @Override
  public boolean equals(Object o) {
    return o instanceof SignedTransaction t && Arrays.equals(encoded, t.encoded);
  }

  @Override
  public int hashCode() {
    return hash().hashCode();
  }

  /** E.g. {@code SignedTransaction[3b6a27bc... nonce 4 AddStake[amount=500]]}. */
  @Override
  public String toString() {
    return "SignedTransaction[" + signer.toHex().substring(0, 8) + "... nonce " + nonce + " "
        + body + "]";
  }
}
