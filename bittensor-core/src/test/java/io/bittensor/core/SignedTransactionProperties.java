package io.bittensor.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.bittensor.core.testing.LedgerFixtures;
import java.net.URI;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The transaction encoding over seeded random transactions: it round-trips exactly, it is
 * canonical (decoding and re-encoding gives the same bytes), any change to the bytes either
 * fails to decode or fails the signature, and hostile bytes only ever give {@link
 * IllegalArgumentException}. Each failure names its seed.
 */
class SignedTransactionProperties {
  private static final Keypair SIGNER = LedgerFixtures.key(3);

  static LongStream seeds() {
    return LongStream.range(0, 80).map(i -> 0xc0dec000L + i);
  }

  /** A random transaction of any kind, with awkward values (NaN payloads, extremes). */
  static Transaction randomBody(SplittableRandom r) {
    switch (r.nextInt(7)) {
      case 0:
        return new Transaction.Register(URI.create("http://h" + r.nextInt(1000) + ".example:"
            + r.nextInt(65536) + "/p\u00e9"), Modality.values()[r.nextInt(4)],
            r.nextInt(3) - 1);
      case 5:
        return new Transaction.Serve(URI.create("https://m" + r.nextInt(1000) + ".example:"
            + r.nextInt(65536) + "/q\u00fc"), Modality.values()[r.nextInt(4)],
            r.nextInt(3) - 1);
      case 1:
        return Transaction.transfer(LedgerFixtures.key(r.nextInt(50)).id(), r.nextLong());
      case 2:
        return Transaction.addStake(r.nextLong());
      case 3:
        return Transaction.removeStake(r.nextLong());
      case 4: {
        int k = r.nextInt(20);
        int[] uids = new int[k];
        double[] w = new double[k];
        for (int i = 0; i < k; i++) {
          uids[i] = r.nextInt(3) == 0 ? r.nextInt() : r.nextInt(100);
          w[i] = switch (r.nextInt(6)) {
            case 0 -> Double.longBitsToDouble(0x7ff8_0000_0000_1234L);   // a NaN with payload
            case 1 -> -0.0;
            case 2 -> Double.MIN_VALUE;
            case 3 -> Double.NEGATIVE_INFINITY;
            default -> r.nextDouble();
          };
        }
        // Half of them made as of a block (version 2).
        return r.nextBoolean() ? Transaction.setWeights(uids, w)
            : Transaction.setWeights(uids, w, r.nextInt(3) == 0 ? 0 : r.nextLong(Long.MAX_VALUE));
      }
      default: {
        LedgerParams p = new LedgerParams(1 + r.nextInt(1000), 10 + r.nextInt(100),
            r.nextInt(50), r.nextInt(10), r.nextInt(5));
        if (r.nextBoolean()) { // version 2
          p = p.withRegistrationBurn(r.nextInt(3) == 0 ? 0 : r.nextLong(Long.MAX_VALUE))
              .withMaxRegistrationsPerBlock(1 + r.nextInt(100));
        }
        return Transaction.changeParams(p);
      }
    }
  }

  private static SignedTransaction random(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    byte[] chain = new byte[32];
    r.nextBytes(chain);
    return SignedTransaction.sign(SIGNER, Hash256.fromBytes(chain), r.nextLong(), randomBody(r));
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void encodingRoundTripsExactlyAndCanonically(long seed) {
    SignedTransaction tx = random(seed);
    byte[] bytes = tx.encode();
    SignedTransaction back = SignedTransaction.decode(bytes);
    assertEquals(tx, back, "seed " + seed);
    assertEquals(tx.body(), back.body(), "seed " + seed);
    assertEquals(tx.signer(), back.signer());
    assertEquals(tx.nonce(), back.nonce());
    assertEquals(tx.chainId(), back.chainId());
    assertArrayEquals(bytes, back.encode(), "seed " + seed + ": one transaction, one encoding");
    assertEquals(tx.hash(), back.hash());
    assertEquals(Hash256.of(bytes), tx.hash());
    assertArrayEquals(bytes, SignedTransaction.of(tx.chainId(), tx.signer(), tx.nonce(),
        tx.body(), tx.signature()).encode(), "seed " + seed + ": rebuilt from its parts");
    if (tx.body() instanceof Transaction.SetWeights w) {
      Transaction.SetWeights w2 = (Transaction.SetWeights) back.body();
      for (int i = 0; i < w.size(); i++) {
        assertEquals(Double.doubleToRawLongBits(w.weight(i)),
            Double.doubleToRawLongBits(w2.weight(i)), "seed " + seed + ": exact bits");
      }
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void anyChangedByteFailsToDecodeOrFailsTheSignature(long seed) {
    SignedTransaction tx = random(seed);
    assertTrue(tx.verifySignature(), "seed " + seed);
    byte[] bytes = tx.encode();
    SplittableRandom r = new SplittableRandom(seed);
    for (int trial = 0; trial < 3; trial++) {
      byte[] changed = bytes.clone();
      int at = r.nextInt(changed.length);
      changed[at] ^= (byte) (1 + r.nextInt(255));
      SignedTransaction decoded;
      try {
        decoded = SignedTransaction.decode(changed);
      } catch (IllegalArgumentException e) {
        continue;
      }
      assertFalse(decoded.verifySignature(), "seed " + seed + ": byte " + at + " changed");
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void hostileBytesOnlyEverGiveIllegalArgumentException(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    byte[] valid = random(seed).encode();
    byte[][] inputs = {
      Arrays.copyOf(valid, r.nextInt(valid.length)),                  // truncated
      Arrays.copyOf(valid, valid.length + 1 + r.nextInt(8)),          // trailing bytes
      randomBytes(r, r.nextInt(300)),                                  // noise
      withVersionOne(randomBytes(r, 80 + r.nextInt(300))),             // noise, right version
      withCount(r),                                                    // a lying count
    };
    for (byte[] input : inputs) {
      try {
        SignedTransaction.decode(input);
      } catch (IllegalArgumentException expected) {
        assertFalse(expected.getMessage().isBlank());
      } catch (RuntimeException e) {
        fail("seed " + seed + ": " + e, e);
      }
    }
  }

  private static byte[] randomBytes(SplittableRandom r, int n) {
    byte[] b = new byte[n];
    r.nextBytes(b);
    return b;
  }

  private static byte[] withVersionOne(byte[] b) {
    b[0] = 1;
    return b;
  }

  /** A set-weights encoding whose count claims more entries than there are bytes. */
  private static byte[] withCount(SplittableRandom r) {
    SignedTransaction w = SignedTransaction.sign(SIGNER, Hash256.ZERO, 0,
        Transaction.setWeights(new int[] {1, 2}, new double[] {1, 1}));
    byte[] b = w.encode();
    int at = 1 + 32 + 32 + 8 + 1;
    b[at] = (byte) r.nextInt(256);
    b[at + 3] = (byte) (r.nextInt(250) + 3);
    return b;
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void theSignatureCoversTheChainTheNonceAndTheSigner(long seed) {
    SignedTransaction tx = random(seed);
    Hash256 otherChain = Hash256.of(tx.chainId().toBytes());
    assertFalse(SignedTransaction.of(otherChain, tx.signer(), tx.nonce(), tx.body(),
        tx.signature()).verifySignature());
    assertFalse(SignedTransaction.of(tx.chainId(), tx.signer(), tx.nonce() + 1, tx.body(),
        tx.signature()).verifySignature());
    assertFalse(SignedTransaction.of(tx.chainId(), LedgerFixtures.key(4).id(), tx.nonce(),
        tx.body(), tx.signature()).verifySignature());
  }

  /**
   * A row made as of a block is version 2 with the block after the weights; a row with no block
   * keeps version 1, and a version 2 row without a block (or with a negative one) is refused.
   */
  @Test
  void versionTwoRowsCarryTheBlockTheyWereMadeAs() {
    Hash256 chain = Hash256.of(new byte[] {2});
    int[] uids = {4, 1};
    double[] w = {0.25, 0.75};
    SignedTransaction v2 = SignedTransaction.sign(SIGNER, chain, 7,
        Transaction.setWeights(uids, w, 41));
    byte[] bytes = v2.encode();
    assertEquals(2, bytes[0]);
    int header = 1 + 32 + 32 + 8 + 1;
    assertEquals(header + 4 + 2 * 4 + 2 * 8 + 8 + 64, bytes.length);
    Transaction.SetWeights back = (Transaction.SetWeights) SignedTransaction.decode(bytes).body();
    assertEquals(41, back.asOfBlock());
    assertEquals(v2.body(), back);
    assertTrue(SignedTransaction.decode(bytes).verifySignature());
    SignedTransaction v1 = SignedTransaction.sign(SIGNER, chain, 7,
        Transaction.setWeights(uids, w));
    assertEquals(1, v1.encode()[0]);
    assertEquals(header + 4 + 2 * 4 + 2 * 8 + 64, v1.encodedLength());
    assertEquals(Transaction.SetWeights.NO_BLOCK,
        ((Transaction.SetWeights) SignedTransaction.decode(v1.encode()).body()).asOfBlock());
    assertFalse(v1.body().equals(v2.body()), "the block is part of the row");

    byte[] negative = bytes.clone();
    Arrays.fill(negative, header + 4 + 2 * 4 + 2 * 8, header + 4 + 2 * 4 + 2 * 8 + 8, (byte) -1);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> SignedTransaction.decode(negative));
    assertTrue(e.getMessage().contains("asOfBlock must be >= 0, was -1"), e.getMessage());
    // Version 1's row read as version 2: the signature's first bytes as the block, then short.
    byte[] relabelled = v1.encode();
    relabelled[0] = 2;
    assertThrows(IllegalArgumentException.class, () -> SignedTransaction.decode(relabelled));
    e = assertThrows(IllegalArgumentException.class,
        () -> Transaction.setWeights(uids, w, -1));
    assertTrue(e.getMessage().contains("asOfBlock must be >= 0"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> new Transaction.SetWeights(uids, w, -2));
    assertTrue(e.getMessage().contains("NO_BLOCK (-1), was -2"), e.getMessage());
  }

  /**
   * Version 2 is a rule change that sets a registration rule (or a row as of a block), and
   * nothing else: written for it alone, refused for anything else, so one transaction keeps one
   * encoding.
   */
  @Test
  void versionTwoIsOnlyForRuleChangesThatSetARegistrationRule() {
    Hash256 chain = Hash256.of(new byte[] {1});
    LedgerParams rules = LedgerParams.defaults().withRegistrationBurn(5);
    SignedTransaction v2 = SignedTransaction.sign(SIGNER, chain, 3, Transaction.changeParams(
        rules.withMaxRegistrationsPerBlock(2)));
    byte[] bytes = v2.encode();
    assertEquals(2, bytes[0]);
    assertEquals(1 + 32 + 32 + 8 + 1 + 5 * 4 + 8 + 4 + 64, bytes.length);
    assertEquals(v2.body(), SignedTransaction.decode(bytes).body());
    assertTrue(SignedTransaction.decode(bytes).verifySignature());
    SignedTransaction v1 = SignedTransaction.sign(SIGNER, chain, 3,
        Transaction.changeParams(LedgerParams.defaults()));
    assertEquals(1, v1.encode()[0]);
    assertEquals(1 + 32 + 32 + 8 + 1 + 5 * 4 + 64, v1.encodedLength());

    // A version 2 rule change whose rules are 0 and 0: the same transaction as a version 1.
    byte[] zeros = bytes.clone();
    Arrays.fill(zeros, 1 + 32 + 32 + 8 + 1 + 20, 1 + 32 + 32 + 8 + 1 + 32, (byte) 0);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> SignedTransaction.decode(zeros));
    assertTrue(e.getMessage().contains("not a canonical encoding"), e.getMessage());
    // Version 2 on another transaction.
    byte[] stake = SignedTransaction.sign(SIGNER, chain, 3, Transaction.addStake(9)).encode();
    stake[0] = 2;
    e = assertThrows(IllegalArgumentException.class, () -> SignedTransaction.decode(stake));
    assertTrue(e.getMessage().contains("not a canonical encoding"), e.getMessage());
    byte[] three = bytes.clone();
    three[0] = 3;
    e = assertThrows(IllegalArgumentException.class, () -> SignedTransaction.decode(three));
    assertTrue(e.getMessage().contains("unknown transaction version 3"), e.getMessage());
  }
}
