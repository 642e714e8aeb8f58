package io.bittensor.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.internal.EdwardsReference;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.spec.NamedParameterSpec;
import java.util.HexFormat;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import org.bouncycastle.math.ec.rfc8032.Ed25519;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Our Ed25519 (Bouncy Castle's arithmetic) against RFC 8032's vectors and against the JDK's own
 * {@code Signature}: the same keys, the same signature bytes, each verifying the other's.
 */
class SignaturesTest {
  private static final HexFormat HEX = HexFormat.of();

  /** RFC 8032, section 7.1, tests 1 to 3: secret key, public key, message, signature. */
  @ParameterizedTest
  @CsvSource({
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60,"
        + "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a,,"
        + "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        + "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb,"
        + "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c,72,"
        + "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        + "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7,"
        + "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025,af82,"
        + "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
        + "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"
  })
  void rfc8032Vectors(String secret, String publicKey, String message, String signature) {
    Keypair pair = Keypair.fromSeed(HEX.parseHex(secret));
    byte[] m = message == null ? new byte[0] : HEX.parseHex(message);
    assertEquals(publicKey, pair.id().toHex());
    assertEquals(signature, HEX.formatHex(pair.sign(m)));
    assertTrue(pair.id().verify(m, HEX.parseHex(signature)));
  }

  static LongStream seeds() {
    return LongStream.range(0, 50);
  }

  /** Random seeds and messages (0 to 300 bytes): the JDK and we agree byte for byte. */
  @ParameterizedTest
  @MethodSource("seeds")
  void sameKeysAndSignaturesAsTheJdk(long seed) throws Exception {
    SplittableRandom random = new SplittableRandom(seed);
    byte[] secret = new byte[Keypair.SEED_LENGTH];
    random.nextBytes(secret);
    byte[] message = new byte[random.nextInt(301)];
    random.nextBytes(message);

    KeyPairGenerator generator = KeyPairGenerator.getInstance("Ed25519");
    generator.initialize(NamedParameterSpec.ED25519, new FixedBytes(secret));
    KeyPair jdk = generator.generateKeyPair();
    Keypair ours = Keypair.fromSeed(secret);
    assertEquals(PeerId.of(jdk.getPublic()), ours.id());

    Signature signer = Signature.getInstance("Ed25519");
    signer.initSign(jdk.getPrivate());
    signer.update(message);
    byte[] jdkSignature = signer.sign();
    byte[] ourSignature = ours.sign(message);
    assertArrayEquals(jdkSignature, ourSignature);

    assertTrue(jdkAccepts(ours.id(), message, ourSignature), "the JDK verifies our signature");

    byte[] tampered = ourSignature.clone();
    tampered[random.nextInt(tampered.length)] ^= (byte) (1 << random.nextInt(8));
    assertFalse(ours.id().verify(message, tampered));
    assertFalse(jdkAccepts(ours.id(), message, tampered), "nor does the JDK");
  }

  /** The JDK throws, rather than answering false, when R is not a point. */
  private static boolean jdkAccepts(PeerId id, byte[] message, byte[] signature)
      throws Exception {
    Signature verifier = Signature.getInstance("Ed25519");
    verifier.initVerify(id.toPublicKey());
    verifier.update(message);
    try {
      return verifier.verify(signature);
    } catch (java.security.SignatureException notAPoint) {
      return false;
    }
  }

  /** Hands out fixed bytes: how a seed reaches the JDK's key pair generator. */
  private static final class FixedBytes extends SecureRandom {
    private final byte[] bytes;

    FixedBytes(byte[] bytes) {
      this.bytes = bytes;
    }

    @Override
    public void nextBytes(byte[] out) {
      System.arraycopy(bytes, 0, out, 0, out.length);
    }
  }
  /**
   * A key that signs again gets its table, and with it {@code verify} still answers exactly as
   * Bouncy Castle alone: honest signatures pass, changed ones fail, and one whose R carries a
   * point of small order (which the table's exact equation refuses) passes, as Bouncy Castle's
   * cofactored equation accepts it.
   */
  @ParameterizedTest
  @MethodSource("seeds")
  void aKeysTableChangesNoAnswer(long seed) throws Exception {
    SplittableRandom random = new SplittableRandom(0x7ab1e000L + seed);
    BigInteger a = new BigInteger(252, new java.util.Random(random.nextLong()));
    PeerId id = PeerId.fromBytes(EdwardsReference.encode(
        EdwardsReference.multiply(a, EdwardsReference.BASE)));
    byte[] message = new byte[1 + random.nextInt(100)];
    random.nextBytes(message);
    byte[] honest = EdwardsReference.signWithExtra(
        a, new BigInteger(252, new java.util.Random(random.nextLong())),
        EdwardsReference.NEUTRAL, message);
    byte[] twisted = EdwardsReference.signWithExtra(
        a, new BigInteger(252, new java.util.Random(random.nextLong())),
        EdwardsReference.ORDER_TWO, message);
    byte[] changed = honest.clone();
    changed[random.nextInt(64)] ^= (byte) (1 << random.nextInt(8));
    byte[] pk = id.toBytes();

    assertTrue(id.verify(message, honest));
    assertFalse(Signatures.hasTable(id), "a key seen once has no table");
    for (int round = 0; round < 2; round++) {
      assertTrue(id.verify(message, honest), "seed " + seed);
      assertTrue(Signatures.hasTable(id), "seed " + seed);
      assertEquals(Ed25519.verify(changed, 0, pk, 0, message, 0, message.length),
          id.verify(message, changed), "seed " + seed + ": a changed signature");
      assertTrue(Ed25519.verify(twisted, 0, pk, 0, message, 0, message.length));
      assertTrue(id.verify(message, twisted), "seed " + seed + ": Bouncy Castle accepts it");
    }
  }

  /**
   * More keys than tables: the least recently used tables go, and a key whose table went waits
   * twice as many verifications for the next, so that keys taking turns do not rebuild forever.
   */
  @org.junit.jupiter.api.Test
  void tablesAreBoundedAndRebuiltLessOften() {
    byte[] message = "weights for epoch 7".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    int keys = Signatures.MAX_TABLES + 20;
    Keypair[] pairs = new Keypair[keys];
    byte[][] signatures = new byte[keys][];
    for (int i = 0; i < keys; i++) {
      byte[] seed = new byte[Keypair.SEED_LENGTH];
      new SplittableRandom(0x5eed0000L + i).nextBytes(seed);
      pairs[i] = Keypair.fromSeed(seed);
      signatures[i] = pairs[i].sign(message);
      for (int n = 0; n < Signatures.TABLE_AFTER; n++) {
        assertTrue(pairs[i].id().verify(message, signatures[i]));
      }
      assertTrue(Signatures.hasTable(pairs[i].id()), "key " + i);
    }
    PeerId first = pairs[0].id();
    assertFalse(Signatures.hasTable(first), "the oldest table was dropped");
    // Built at its 2nd verification, the next build waits for the 4th.
    assertTrue(first.verify(message, signatures[0]));
    assertFalse(Signatures.hasTable(first), "the 3rd verification does not rebuild");
    assertTrue(first.verify(message, signatures[0]));
    assertTrue(Signatures.hasTable(first), "the 4th does");
    assertTrue(Signatures.hasTable(pairs[keys - 1].id()), "recent tables stay");
  }
}
