package io.bittensor.core.internal;

import java.math.BigInteger;
import java.security.MessageDigest;

/**
 * Edwards25519 in affine coordinates over {@link BigInteger}, straight from RFC 8032's
 * definitions and slow: the independent reference the tests hold the tables against, and a way to
 * make signatures no honest signer makes (an R with a small-order part).
 */
public final class EdwardsReference {
  public static final BigInteger P = BigInteger.TWO.pow(255).subtract(BigInteger.valueOf(19));
  public static final BigInteger L = Ed25519Tables.ORDER;
  static final BigInteger D = BigInteger.valueOf(-121665)
      .multiply(BigInteger.valueOf(121666).modInverse(P)).mod(P);
  private static final BigInteger SQRT_MINUS_ONE =
      BigInteger.TWO.modPow(P.subtract(BigInteger.ONE).shiftRight(2), P);

  /** A point (x, y). */
  public record Point(BigInteger x, BigInteger y) {}

  public static final Point NEUTRAL = new Point(BigInteger.ZERO, BigInteger.ONE);

  /** The point of order 2. */
  public static final Point ORDER_TWO = new Point(BigInteger.ZERO, P.subtract(BigInteger.ONE));

  public static final Point BASE = decode(Ed25519Tables.BASE_ENCODED);

  private EdwardsReference() {}

  public static Point add(Point a, Point b) {
    BigInteger xx = a.x.multiply(b.x);
    BigInteger yy = a.y.multiply(b.y);
    BigInteger dxy = D.multiply(xx).multiply(yy).mod(P);
    BigInteger x = a.x.multiply(b.y).add(a.y.multiply(b.x))
        .multiply(BigInteger.ONE.add(dxy).modInverse(P)).mod(P);
    BigInteger y = yy.add(xx).multiply(BigInteger.ONE.subtract(dxy).mod(P).modInverse(P)).mod(P);
    return new Point(x, y);
  }

  public static Point multiply(BigInteger k, Point p) {
    Point r = NEUTRAL;
    for (int i = k.bitLength() - 1; i >= 0; i--) {
      r = add(r, r);
      if (k.testBit(i)) {
        r = add(r, p);
      }
    }
    return r;
  }

  public static byte[] encode(Point p) {
    byte[] out = Ed25519Tables.littleEndian(p.y);
    if (p.x.testBit(0)) {
      out[31] |= (byte) 0x80;
    }
    return out;
  }

  /** Decodes a canonical encoding, or null. */
  public static Point decode(byte[] encoded) {
    byte[] bytes = encoded.clone();
    boolean sign = (bytes[31] & 0x80) != 0;
    bytes[31] &= 0x7F;
    BigInteger y = littleEndianValue(bytes);
    if (y.compareTo(P) >= 0) {
      return null;
    }
    BigInteger yy = y.multiply(y);
    BigInteger xx = yy.subtract(BigInteger.ONE)
        .multiply(D.multiply(yy).add(BigInteger.ONE).modInverse(P)).mod(P);
    BigInteger x = xx.modPow(P.add(BigInteger.valueOf(3)).shiftRight(3), P);
    if (!x.multiply(x).subtract(xx).mod(P).equals(BigInteger.ZERO)) {
      x = x.multiply(SQRT_MINUS_ONE).mod(P);
    }
    if (!x.multiply(x).subtract(xx).mod(P).equals(BigInteger.ZERO)) {
      return null;
    }
    if (x.signum() == 0 && sign) {
      return null;
    }
    if (x.testBit(0) != sign) {
      x = P.subtract(x).mod(P);
    }
    return new Point(x, y);
  }

  public static BigInteger littleEndianValue(byte[] bytes) {
    byte[] big = new byte[bytes.length];
    for (int i = 0; i < bytes.length; i++) {
      big[i] = bytes[bytes.length - 1 - i];
    }
    return new BigInteger(1, big);
  }

  /** SHA-512(parts...) as an integer mod L. */
  public static BigInteger hashToScalar(byte[]... parts) throws Exception {
    MessageDigest sha = MessageDigest.getInstance("SHA-512");
    for (byte[] part : parts) {
      sha.update(part);
    }
    return littleEndianValue(sha.digest()).mod(L);
  }

  /**
   * A signature of {@code message} by the secret scalar {@code a} whose R is {@code [r]B + extra}:
   * with {@code extra} of small order, RFC 8032's cofactored equation holds and the exact one
   * does not.
   */
  public static byte[] signWithExtra(BigInteger a, BigInteger r, Point extra, byte[] message)
      throws Exception {
    byte[] publicKey = encode(multiply(a, BASE));
    byte[] encodedR = encode(add(multiply(r, BASE), extra));
    BigInteger k = hashToScalar(encodedR, publicKey, message);
    BigInteger s = r.add(k.multiply(a)).mod(L);
    byte[] signature = new byte[64];
    System.arraycopy(encodedR, 0, signature, 0, 32);
    System.arraycopy(Ed25519Tables.littleEndian(s), 0, signature, 32, 32);
    return signature;
  }
}
