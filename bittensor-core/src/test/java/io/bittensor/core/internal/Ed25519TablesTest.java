package io.bittensor.core.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.internal.EdwardsReference.Point;
import java.math.BigInteger;
import java.util.HexFormat;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import org.bouncycastle.math.ec.rfc8032.Ed25519;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The exact-equation verifier against an independent reference (affine arithmetic over
 * BigInteger) and against Bouncy Castle: the tables hold the right multiples, every honest
 * signature passes, and nothing passes that Bouncy Castle refuses. Each failure names its seed.
 */
class Ed25519TablesTest {
  static LongStream seeds() {
    return LongStream.range(0, 60).map(i -> 0xed25519L + i);
  }

  private static byte[] bytes(SplittableRandom r, int n) {
    byte[] b = new byte[n];
    r.nextBytes(b);
    return b;
  }

  private static void assertTableHoldsMultiples(byte[] encoded) {
    Ed25519Tables.Table table = Ed25519Tables.Table.of(encoded);
    assertNotNull(table);
    Point base = EdwardsReference.decode(encoded);
    BigInteger rowStep = BigInteger.TWO.pow(Ed25519Tables.RADIX_BITS * Ed25519Tables.SPACING);
    for (int row = 0; row < Ed25519Tables.ROWS; row++) {
      Point multiple = EdwardsReference.NEUTRAL;
      for (int m = 1; m <= Ed25519Tables.COLUMNS; m++) {
        multiple = EdwardsReference.add(multiple, base);
        assertArrayEquals(EdwardsReference.encode(multiple), table.encodedEntry(row, m),
            "row " + row + ", multiple " + m);
      }
      base = EdwardsReference.multiply(rowStep, base);
    }
  }

  @Test
  void theBaseTableHoldsTheMultiplesOfTheBasePoint() {
    assertEquals("5866666666666666666666666666666666666666666666666666666666666666",
        HexFormat.of().formatHex(Ed25519Tables.BASE_ENCODED));
    assertTableHoldsMultiples(Ed25519Tables.BASE_ENCODED);
  }

  @Test
  void aKeysTableHoldsTheKeysMultiples() {
    byte[] publicKey = new byte[32];
    Ed25519.generatePublicKey(bytes(new SplittableRandom(11), 32), 0, publicKey, 0);
    assertTableHoldsMultiples(publicKey);
  }

  @Test
  void bytesThatAreNoPointHaveNoTable() {
    byte[] notCanonical = new byte[32];
    java.util.Arrays.fill(notCanonical, (byte) 0xFF);
    notCanonical[31] = 0x7F; // y = 2^255 - 1 >= p
    assertNull(Ed25519Tables.Table.of(notCanonical));
    byte[] offCurve = new byte[32];
    offCurve[0] = 2; // y = 2: (y^2 - 1) / (d y^2 + 1) is not a square
    assertNull(EdwardsReference.decode(offCurve));
    assertNull(Ed25519Tables.Table.of(offCurve));
    assertNull(Ed25519Tables.Table.of(new byte[31]));
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void signedDigitsAddUpToTheScalar(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    BigInteger scalar = new BigInteger(253, new java.util.Random(r.nextLong()));
    if (seed % 3 == 0) {
      scalar = Ed25519Tables.ORDER.subtract(BigInteger.ONE); // the largest digit strings
    }
    int[] digits = Ed25519Tables.signedDigits(Ed25519Tables.littleEndian(scalar));
    int half = 1 << (Ed25519Tables.RADIX_BITS - 1);
    BigInteger sum = BigInteger.ZERO;
    for (int i = digits.length - 1; i >= 0; i--) {
      assertTrue(digits[i] >= -half && digits[i] <= half, "seed " + seed + ": digit " + digits[i]);
      sum = sum.shiftLeft(Ed25519Tables.RADIX_BITS).add(BigInteger.valueOf(digits[i]));
    }
    assertEquals(scalar, sum, "seed " + seed);
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void honestSignaturesPassAndChangedOnesPassOnlyWhereBouncyCastleAgrees(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    byte[] secret = bytes(r, 32);
    byte[] publicKey = new byte[32];
    Ed25519.generatePublicKey(secret, 0, publicKey, 0);
    Ed25519Tables.Table table = Ed25519Tables.Table.of(publicKey);
    for (int n = 0; n < 8; n++) {
      byte[] message = bytes(r, r.nextInt(200));
      byte[] signature = new byte[64];
      Ed25519.sign(secret, 0, message, 0, message.length, signature, 0);
      assertTrue(Ed25519Tables.verifiesExactly(table, message, signature), "seed " + seed);

      byte[] changedSignature = signature.clone();
      changedSignature[r.nextInt(64)] ^= (byte) (1 << r.nextInt(8));
      boolean ours = Ed25519Tables.verifiesExactly(table, message, changedSignature);
      boolean theirs = Ed25519.verify(changedSignature, 0, publicKey, 0, message, 0,
          message.length);
      assertFalse(ours && !theirs, "seed " + seed + ": passed what Bouncy Castle refuses");
      assertFalse(ours, "seed " + seed + ": a changed signature passed");

      if (message.length > 0) {
        byte[] changedMessage = message.clone();
        changedMessage[r.nextInt(message.length)] ^= (byte) (1 << r.nextInt(8));
        assertFalse(Ed25519Tables.verifiesExactly(table, changedMessage, signature),
            "seed " + seed + ": a changed message passed");
      }
      byte[] otherKey = new byte[32];
      Ed25519.generatePublicKey(bytes(r, 32), 0, otherKey, 0);
      assertFalse(Ed25519Tables.verifiesExactly(Ed25519Tables.Table.of(otherKey), message,
          signature), "seed " + seed + ": passed under another key");
    }
  }

  @Test
  void sPlusTheOrderIsRefusedLikeBouncyCastleDoes() {
    SplittableRandom r = new SplittableRandom(5);
    byte[] secret = bytes(r, 32);
    byte[] publicKey = new byte[32];
    Ed25519.generatePublicKey(secret, 0, publicKey, 0);
    byte[] message = bytes(r, 40);
    byte[] signature = new byte[64];
    Ed25519.sign(secret, 0, message, 0, message.length, signature, 0);
    byte[] s = java.util.Arrays.copyOfRange(signature, 32, 64);
    BigInteger malleated = EdwardsReference.littleEndianValue(s).add(Ed25519Tables.ORDER);
    System.arraycopy(Ed25519Tables.littleEndian(malleated), 0, signature, 32, 32);
    assertFalse(Ed25519.verify(signature, 0, publicKey, 0, message, 0, message.length));
    assertFalse(Ed25519Tables.verifiesExactly(Ed25519Tables.Table.of(publicKey), message,
        signature));
  }

  @Test
  void anRWithASmallOrderPartIsLeftToBouncyCastle() throws Exception {
    SplittableRandom r = new SplittableRandom(9);
    BigInteger a = new BigInteger(252, new java.util.Random(r.nextLong()));
    BigInteger nonce = new BigInteger(252, new java.util.Random(r.nextLong()));
    byte[] publicKey = EdwardsReference.encode(EdwardsReference.multiply(a, EdwardsReference.BASE));
    byte[] message = bytes(r, 32);
    Ed25519Tables.Table table = Ed25519Tables.Table.of(publicKey);

    byte[] plain = EdwardsReference.signWithExtra(a, nonce, EdwardsReference.NEUTRAL, message);
    assertTrue(Ed25519.verify(plain, 0, publicKey, 0, message, 0, message.length));
    assertTrue(Ed25519Tables.verifiesExactly(table, message, plain));

    byte[] twisted = EdwardsReference.signWithExtra(a, nonce, EdwardsReference.ORDER_TWO, message);
    assertTrue(Ed25519.verify(twisted, 0, publicKey, 0, message, 0, message.length),
        "Bouncy Castle's equation multiplies by the cofactor");
    assertFalse(Ed25519Tables.verifiesExactly(table, message, twisted),
        "the exact equation does not hold");
  }
}
