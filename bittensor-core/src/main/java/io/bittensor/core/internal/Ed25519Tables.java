package io.bittensor.core.internal;

import java.math.BigInteger;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import org.bouncycastle.math.ec.rfc7748.X25519Field;

/**
 * Ed25519 verification with precomputed multiples of both points: the base point and a public key
 * that signs often. With a key's table, checking a signature costs 102 table additions and five
 * doublings, against Bouncy Castle's 128 doublings, its additions and the decoding of {@code R}
 * (a square root) for every signature.
 *
 * <p><b>What it decides.</b> {@link #verifiesExactly} is true only when {@code S < L} and
 * {@code [S]B - [k]A}, encoded, is exactly the signature's {@code R} (RFC 8032's equation without
 * the cofactor). Every signature an honest signer makes passes it. Whatever passes it also passes
 * Bouncy Castle's check, which multiplies by the cofactor 8 and so also accepts an {@code R} that
 * differs by a point of small order. When this check says false, the caller asks Bouncy Castle,
 * so the combined answer is always Bouncy Castle's ({@code Ed25519TablesTest} builds such
 * signatures to show it).
 *
 * <p><b>The tables.</b> Row {@code q} holds {@code m * 2^(10 q) * P} for {@code m} = 1..16, 26
 * rows, each point as {@code ((y-x)/2, (y+x)/2, x*y*d)} in affine coordinates: 49 KiB per point.
 * A scalar in signed radix 32 has 51 digits in [-16, 16]; the odd digits are summed from the
 * rows, multiplied by 32 (five doublings), and the even ones added. Radix 16 (32 rows of 8, 30
 * KiB, 128 additions) verified in 32.7 us against radix 32's 26.6 ({@code Ed25519Benchmark}); a
 * table takes 4 to 5 of Bouncy Castle's verifications to build. The field arithmetic is Bouncy
 * Castle's {@code X25519Field}; the point formulas are the extended twisted Edwards ones of Hisil,
 * Wong, Carter and Dawson (2008), complete on this curve.
 *
 * <p>Everything here is variable-time: it handles public keys, signatures and messages only,
 * never a secret.
 */
public final class Ed25519Tables {
  private static final int N = X25519Field.SIZE;
  /** Bits per signed digit: digits in [-2^(w-1), 2^(w-1)], 2^(w-1) multiples a row. */
  static final int RADIX_BITS = 5;
  /** Digits of a scalar below 2^253. */
  static final int DIGITS = (253 + RADIX_BITS - 1) / RADIX_BITS;
  static final int COLUMNS = 1 << (RADIX_BITS - 1);
  /** Digits between two rows: row q holds the multiples of 2^(RADIX_BITS SPACING q). */
  static final int SPACING = 2;
  static final int ROWS = (DIGITS + SPACING - 1) / SPACING;
  private static final int ENTRY = 3 * N;

  /** The group order L = 2^252 + 27742317777372353535851937790883648493. */
  static final BigInteger ORDER =
      BigInteger.ONE.shiftLeft(252).add(new BigInteger("27742317777372353535851937790883648493"));

  private static final byte[] ORDER_LITTLE_ENDIAN = littleEndian(ORDER);

  /** The curve constant d = -121665/121666, and 2d, 4d. */
  private static final int[] D = X25519Field.create();
  private static final int[] D2 = X25519Field.create();
  private static final int[] D4 = X25519Field.create();

  static {
    int[] denominator = X25519Field.create();
    X25519Field.one(denominator);
    X25519Field.mul(denominator, 121666, denominator);
    X25519Field.invVar(denominator, D);
    X25519Field.mul(D, 121665, D);
    X25519Field.negate(D, D);
    X25519Field.normalize(D);
    X25519Field.add(D, D, D2);
    X25519Field.normalize(D2);
    X25519Field.add(D2, D2, D4);
    X25519Field.normalize(D4);
  }

  /** The base point's encoding: y = 4/5, x even. */
  static final byte[] BASE_ENCODED = baseEncoded();

  private static final Table BASE = Table.of(BASE_ENCODED);

  private static final ThreadLocal<MessageDigest> SHA512 =
      ThreadLocal.withInitial(
          () -> {
            try {
              return MessageDigest.getInstance("SHA-512");
            } catch (NoSuchAlgorithmException e) {
              throw new IllegalStateException("every JDK has SHA-512", e);
            }
          });

  private Ed25519Tables() {}

  /** The multiples of one point, and its encoding. Immutable and thread-safe. */
  public static final class Table {
    private final int[] entries;
    private final byte[] encoded;

    private Table(int[] entries, byte[] encoded) {
      this.entries = entries;
      this.encoded = encoded;
    }

    /**
     * The table of the point {@code encoded} (32 bytes, RFC 8032), or null when the bytes are not
     * a point. It does not check that the point is in the prime-order group: the caller has
     * validated it. Costs about as much as three verifications.
     */
    public static Table of(byte[] encoded) {
      if (encoded.length != 32) {
        return null;
      }
      int[] x = X25519Field.create();
      int[] y = X25519Field.create();
      if (!decode(encoded, x, y)) {
        return null;
      }
      return new Table(multiples(x, y), encoded.clone());
    }

    /** Entry {@code m * 2^(RADIX_BITS SPACING row) * P}, encoded: for tests. */
    byte[] encodedEntry(int row, int m) {
      int off = ((row * COLUMNS) + m - 1) * ENTRY;
      int[] ymx = Arrays.copyOfRange(entries, off, off + N);
      int[] ypx = Arrays.copyOfRange(entries, off + N, off + 2 * N);
      int[] x = X25519Field.create();
      int[] y = X25519Field.create();
      X25519Field.sub(ypx, ymx, x);
      X25519Field.add(ypx, ymx, y);
      X25519Field.normalize(x);
      X25519Field.normalize(y);
      return encode(x, y);
    }
  }

  /**
   * Whether {@code signature} (64 bytes) verifies {@code message} under {@code key} with the
   * equation {@code [S]B = R + [k]A} exactly and {@code S < L}. False says only that this check did
   * not pass; see the class comment.
   */
  public static boolean verifiesExactly(Table key, byte[] message, byte[] signature) {
    if (signature.length != 64 || !belowOrder(signature, 32)) {
      return false;
    }
    MessageDigest sha = SHA512.get();
    sha.reset();
    sha.update(signature, 0, 32);
    sha.update(key.encoded);
    sha.update(message);
    byte[] h = sha.digest();
    BigInteger k = new BigInteger(1, org.bouncycastle.util.Arrays.reverse(h)).mod(ORDER);
    int[] sDigits = signedDigits(Arrays.copyOfRange(signature, 32, 64));
    int[] negKDigits = signedDigits(littleEndian(k.signum() == 0 ? k : ORDER.subtract(k)));

    Accum r = new Accum();
    Precomp p = new Precomp();
    int[] temp = X25519Field.create();
    for (int offset = SPACING - 1; offset >= 0; offset--) {
      if (offset < SPACING - 1) {
        for (int i = 0; i < RADIX_BITS; i++) {
          dbl(r);
        }
      }
      for (int row = 0; row < ROWS; row++) {
        addEntry(BASE, row, sDigits[row * SPACING + offset], r, p, temp);
        addEntry(key, row, negKDigits[row * SPACING + offset], r, p, temp);
      }
    }

    int[] zInverse = X25519Field.create();
    X25519Field.normalize(r.z);
    if (X25519Field.isZeroVar(r.z)) {
      return false; // not reachable with complete formulas; refuse rather than trust it
    }
    X25519Field.invVar(r.z, zInverse);
    X25519Field.mul(r.x, zInverse, r.x);
    X25519Field.mul(r.y, zInverse, r.y);
    X25519Field.normalize(r.x);
    X25519Field.normalize(r.y);
    byte[] encoded = encode(r.x, r.y);
    for (int i = 0; i < 32; i++) {
      if (encoded[i] != signature[i]) {
        return false;
      }
    }
    return true;
  }

  /** A point being accumulated: extended coordinates with T = U * V. */
  private static final class Accum {
    final int[] x = X25519Field.create();
    final int[] y = X25519Field.create();
    final int[] z = X25519Field.create();
    final int[] u = X25519Field.create();
    final int[] v = X25519Field.create();

    Accum() {
      X25519Field.one(y);
      X25519Field.one(z);
      X25519Field.one(v);
    }

    Accum copy() {
      Accum c = new Accum();
      X25519Field.copy(x, 0, c.x, 0);
      X25519Field.copy(y, 0, c.y, 0);
      X25519Field.copy(z, 0, c.z, 0);
      X25519Field.copy(u, 0, c.u, 0);
      X25519Field.copy(v, 0, c.v, 0);
      return c;
    }
  }

  /** An affine point as ((y-x)/2, (y+x)/2, x*y*d). */
  private static final class Precomp {
    final int[] ymxHalf = X25519Field.create();
    final int[] ypxHalf = X25519Field.create();
    final int[] xyd = X25519Field.create();
  }

  /** A projective point as (y-x, y+x, 2*t*d, 2z), for adding while the tables are built. */
  private static final class PrecompZ {
    final int[] ymx = X25519Field.create();
    final int[] ypx = X25519Field.create();
    final int[] xyd = X25519Field.create();
    final int[] z = X25519Field.create();
  }

  private static void addEntry(Table table, int row, int digit, Accum r, Precomp p, int[] temp) {
    if (digit == 0) {
      return;
    }
    int off = ((row * COLUMNS) + Math.abs(digit) - 1) * ENTRY;
    int[] e = table.entries;
    X25519Field.copy(e, off, p.ymxHalf, 0);
    X25519Field.copy(e, off + N, p.ypxHalf, 0);
    X25519Field.copy(e, off + 2 * N, p.xyd, 0);
    add(digit < 0, p, r, temp);
  }

  /** r += p (or -p: the negation swaps y-x and y+x and negates x*y*d). */
  private static void add(boolean negate, Precomp p, Accum r, int[] temp) {
    int[] a = r.x;
    int[] b = r.y;
    int[] e = r.u;
    int[] h = r.v;
    int[] na = negate ? b : a;
    int[] nb = negate ? a : b;
    X25519Field.apm(r.y, r.x, b, a);
    X25519Field.mul(na, p.ymxHalf, na);
    X25519Field.mul(nb, p.ypxHalf, nb);
    X25519Field.mul(r.u, r.v, temp);
    X25519Field.mul(temp, p.xyd, temp);
    X25519Field.apm(b, a, h, e);
    // With p negated, the sum and difference of z and the t term trade places.
    X25519Field.apm(r.z, temp, nb, na);
    X25519Field.mul(a, b, r.z);
    X25519Field.mul(a, e, r.x);
    X25519Field.mul(b, h, r.y);
  }

  /** r += p for a projective p. */
  private static void add(PrecompZ p, Accum r, int[] temp) {
    int[] a = r.x;
    int[] b = r.y;
    int[] d = r.z;
    int[] e = r.u;
    int[] h = r.v;
    X25519Field.apm(r.y, r.x, b, a);
    X25519Field.mul(a, p.ymx, a);
    X25519Field.mul(b, p.ypx, b);
    X25519Field.mul(r.u, r.v, temp);
    X25519Field.mul(temp, p.xyd, temp);
    X25519Field.mul(r.z, p.z, d);
    X25519Field.apm(b, a, h, e);
    X25519Field.apm(d, temp, b, a);
    X25519Field.mul(a, b, r.z);
    X25519Field.mul(a, e, r.x);
    X25519Field.mul(b, h, r.y);
  }

  /** r = 2r. */
  private static void dbl(Accum r) {
    int[] a = r.x;
    int[] b = r.y;
    int[] c = r.z;
    int[] e = r.u;
    int[] h = r.v;
    X25519Field.add(r.x, r.y, e);
    X25519Field.sqr(r.x, a);
    X25519Field.sqr(r.y, b);
    X25519Field.sqr(r.z, c);
    X25519Field.add(c, c, c);
    X25519Field.apm(a, b, h, b);
    X25519Field.sqr(e, e);
    X25519Field.sub(h, e, e);
    X25519Field.add(c, b, a);
    X25519Field.carry(a);
    X25519Field.mul(a, b, r.z);
    X25519Field.mul(a, e, r.x);
    X25519Field.mul(b, h, r.y);
  }

  private static PrecompZ projective(Accum p) {
    PrecompZ r = new PrecompZ();
    int[] t = X25519Field.create();
    X25519Field.mul(p.u, p.v, t);
    X25519Field.apm(p.y, p.x, r.ypx, r.ymx);
    X25519Field.mul(t, D2, r.xyd);
    X25519Field.add(p.z, p.z, r.z);
    return r;
  }

  /** The ROWS x COLUMNS multiples of (x, y), normalized to affine with one shared inversion. */
  private static int[] multiples(int[] x, int[] y) {
    Accum[] points = new Accum[ROWS * COLUMNS];
    Accum base = new Accum();
    X25519Field.copy(x, 0, base.x, 0);
    X25519Field.copy(y, 0, base.y, 0);
    X25519Field.copy(x, 0, base.u, 0);
    X25519Field.copy(y, 0, base.v, 0);
    int[] temp = X25519Field.create();
    for (int row = 0; row < ROWS; row++) {
      PrecompZ once = projective(base);
      Accum acc = base.copy();
      points[row * COLUMNS] = base;
      dbl(acc);
      points[row * COLUMNS + 1] = acc.copy();
      for (int m = 3; m <= COLUMNS; m++) {
        add(once, acc, temp);
        points[row * COLUMNS + m - 1] = acc.copy();
      }
      // From COLUMNS times the row's base to 2^(RADIX_BITS SPACING) times it.
      for (int i = RADIX_BITS - 1; i < RADIX_BITS * SPACING; i++) {
        dbl(acc);
      }
      base = acc;
    }

    // Batch inversion of 2z: x * (1/2z) = x/2 and y/2 come out halved at no extra cost.
    int count = points.length;
    int[][] prefix = new int[count][];
    int[] running = X25519Field.create();
    X25519Field.one(running);
    int[] twoZ = X25519Field.create();
    for (int i = 0; i < count; i++) {
      X25519Field.add(points[i].z, points[i].z, twoZ);
      X25519Field.mul(running, twoZ, running);
      prefix[i] = running.clone();
    }
    int[] inverse = X25519Field.create();
    X25519Field.invVar(running, inverse);
    int[] entries = new int[count * ENTRY];
    int[] pointInverse = X25519Field.create();
    int[] xHalf = X25519Field.create();
    int[] yHalf = X25519Field.create();
    int[] ymx = X25519Field.create();
    int[] ypx = X25519Field.create();
    int[] xyd = X25519Field.create();
    for (int i = count - 1; i >= 0; i--) {
      Accum q = points[i];
      if (i > 0) {
        X25519Field.mul(inverse, prefix[i - 1], pointInverse);
        X25519Field.add(q.z, q.z, twoZ);
        X25519Field.mul(inverse, twoZ, inverse);
      } else {
        X25519Field.copy(inverse, 0, pointInverse, 0);
      }
      X25519Field.mul(q.x, pointInverse, xHalf);
      X25519Field.mul(q.y, pointInverse, yHalf);
      X25519Field.apm(yHalf, xHalf, ypx, ymx);
      X25519Field.mul(xHalf, yHalf, xyd);
      X25519Field.mul(xyd, D4, xyd);
      X25519Field.normalize(ymx);
      X25519Field.normalize(ypx);
      X25519Field.normalize(xyd);
      X25519Field.copy(ymx, 0, entries, i * ENTRY);
      X25519Field.copy(ypx, 0, entries, i * ENTRY + N);
      X25519Field.copy(xyd, 0, entries, i * ENTRY + 2 * N);
    }
    return entries;
  }

  /** Decodes an RFC 8032 point; false when y is not canonical or no x fits. */
  private static boolean decode(byte[] encoded, int[] x, int[] y) {
    if (!belowPrime(encoded)) {
      return false;
    }
    int sign = (encoded[31] & 0x80) >>> 7;
    X25519Field.decode(encoded, y);
    int[] u = X25519Field.create();
    int[] v = X25519Field.create();
    X25519Field.sqr(y, u);
    X25519Field.mul(D, u, v);
    X25519Field.subOne(u);
    X25519Field.addOne(v);
    if (!X25519Field.sqrtRatioVar(u, v, x)) {
      return false;
    }
    X25519Field.normalize(x);
    if (sign == 1 && X25519Field.isZeroVar(x)) {
      return false;
    }
    if (sign != (x[0] & 1)) {
      X25519Field.negate(x, x);
      X25519Field.normalize(x);
    }
    X25519Field.normalize(y);
    return true;
  }

  private static byte[] encode(int[] x, int[] y) {
    byte[] out = new byte[32];
    X25519Field.encode(y, out, 0);
    out[31] |= (byte) ((x[0] & 1) << 7);
    return out;
  }

  /**
   * The signed digits of a little-endian scalar below 2^253, in radix 2^RADIX_BITS, each in
   * [-2^(RADIX_BITS-1), 2^(RADIX_BITS-1)], least significant first, padded with zeros to
   * ROWS * SPACING.
   */
  static int[] signedDigits(byte[] scalar) {
    int[] e = new int[ROWS * SPACING];
    int mask = (1 << RADIX_BITS) - 1;
    for (int i = 0; i < DIGITS; i++) {
      int bit = i * RADIX_BITS;
      int word = (scalar[bit >>> 3] & 0xFF)
          | ((bit >>> 3) + 1 < 32 ? (scalar[(bit >>> 3) + 1] & 0xFF) << 8 : 0);
      e[i] = (word >>> (bit & 7)) & mask;
    }
    int half = 1 << (RADIX_BITS - 1);
    int carry = 0;
    for (int i = 0; i < DIGITS - 1; i++) {
      e[i] += carry;
      carry = (e[i] + half) >> RADIX_BITS;
      e[i] -= carry << RADIX_BITS;
    }
    e[DIGITS - 1] += carry;
    return e;
  }

  /** Whether the little-endian 32 bytes at {@code off} are below L. */
  private static boolean belowOrder(byte[] bytes, int off) {
    for (int i = 31; i >= 0; i--) {
      int a = bytes[off + i] & 0xFF;
      int b = ORDER_LITTLE_ENDIAN[i] & 0xFF;
      if (a != b) {
        return a < b;
      }
    }
    return false;
  }

  /** Whether y, the low 255 bits, is below p = 2^255 - 19. */
  private static boolean belowPrime(byte[] encoded) {
    if ((encoded[31] & 0x7F) != 0x7F) {
      return true;
    }
    for (int i = 30; i >= 1; i--) {
      if (encoded[i] != (byte) 0xFF) {
        return true;
      }
    }
    return (encoded[0] & 0xFF) < 0xED;
  }

  static byte[] littleEndian(BigInteger value) {
    byte[] big = value.toByteArray();
    byte[] out = new byte[32];
    for (int i = 0; i < big.length && i < 32; i++) {
      out[i] = big[big.length - 1 - i];
    }
    return out;
  }

  private static byte[] baseEncoded() {
    byte[] b = new byte[32];
    Arrays.fill(b, (byte) 0x66);
    b[0] = 0x58;
    return b;
  }
}
