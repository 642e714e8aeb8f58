package io.bittensor.core.internal;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.crypto.generators.Argon2BytesGenerator;
import org.bouncycastle.crypto.params.Argon2Parameters;

/**
 * A private seed sealed under a passphrase: Argon2id (RFC 9106, version 0x13) derives a 256-bit
 * key from the passphrase's UTF-8 bytes and a random salt, and AES-256-GCM seals the seed with a
 * random 96-bit nonce, authenticating {@code aad} (the key file's header, cost and public key) so
 * that none of them can be changed without the passphrase.
 */
public final class SealedSeed {
  /** Salt bytes (RFC 9106 recommends 16). */
  public static final int SALT_LENGTH = 16;
  /** GCM nonce bytes. */
  public static final int NONCE_LENGTH = 12;
  private static final int TAG_BITS = 128;

  private SealedSeed() {}

  /** Seals {@code seed}: the ciphertext and its 16-byte tag. Nothing passed is modified. */
  public static byte[] seal(byte[] seed, char[] passphrase, int memoryKib, int iterations,
      int parallelism, byte[] salt, byte[] nonce, byte[] aad) {
    return aes(Cipher.ENCRYPT_MODE, seed, passphrase, memoryKib, iterations, parallelism, salt,
        nonce, aad);
  }

  /**
   * Opens what {@link #seal} sealed.
   *
   * @return the seed, or null when the passphrase is wrong or any sealed or authenticated byte
   *     changed (GCM cannot tell the two apart)
   */
  public static byte[] open(byte[] sealed, char[] passphrase, int memoryKib, int iterations,
      int parallelism, byte[] salt, byte[] nonce, byte[] aad) {
    return aes(Cipher.DECRYPT_MODE, sealed, passphrase, memoryKib, iterations, parallelism, salt,
        nonce, aad);
  }

  private static byte[] aes(int mode, byte[] input, char[] passphrase, int memoryKib,
      int iterations, int parallelism, byte[] salt, byte[] nonce, byte[] aad) {
    byte[] key = derive(passphrase, memoryKib, iterations, parallelism, salt);
    try {
      return cipher(mode, key, nonce, aad).doFinal(input);
    } catch (AEADBadTagException e) {
      return null; // opening only: a wrong key or a changed byte
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-256-GCM is not available: " + e, e);
    } finally {
      Arrays.fill(key, (byte) 0);
    }
  }

  private static Cipher cipher(int mode, byte[] key, byte[] nonce, byte[] aad)
      throws GeneralSecurityException {
    Cipher aes = Cipher.getInstance("AES/GCM/NoPadding");
    aes.init(mode, new SecretKeySpec(key, "AES"), new GCMParameterSpec(TAG_BITS, nonce));
    aes.updateAAD(aad);
    return aes;
  }

  private static byte[] derive(char[] passphrase, int memoryKib, int iterations, int parallelism,
      byte[] salt) {
    Argon2Parameters params = new Argon2Parameters.Builder(Argon2Parameters.ARGON2_id)
        .withVersion(Argon2Parameters.ARGON2_VERSION_13)
        .withMemoryAsKB(memoryKib)
        .withIterations(iterations)
        .withParallelism(parallelism)
        .withSalt(salt)
        .build();
    Argon2BytesGenerator argon2 = new Argon2BytesGenerator();
    argon2.init(params);
    byte[] secret = utf8(passphrase);
    byte[] key = new byte[32];
    try {
      argon2.generateBytes(secret, key);
    } finally {
      Arrays.fill(secret, (byte) 0);
    }
    return key;
  }

  /**
   * Whether {@code passphrase} holds a UTF-16 surrogate that is not half of a pair: a char with
   * no UTF-8 bytes, which UTF-8 encoders write as '?', so that passphrases differing only in such
   * chars seal alike. Not modified.
   */
  public static boolean hasUnpairedSurrogate(char[] passphrase) {
    for (int i = 0; i < passphrase.length; i++) {
      char c = passphrase[i];
      if (Character.isHighSurrogate(c) && i + 1 < passphrase.length
          && Character.isLowSurrogate(passphrase[i + 1])) {
        i++;
      } else if (Character.isSurrogate(c)) {
        return true;
      }
    }
    return false;
  }

  /** The passphrase's UTF-8 bytes, without a String that would outlive the call. */
  private static byte[] utf8(char[] passphrase) {
    if (hasUnpairedSurrogate(passphrase)) { // Keypair refuses these first, with a better message
      throw new IllegalArgumentException("the passphrase holds an unpaired UTF-16 surrogate");
    }
    ByteBuffer encoded = StandardCharsets.UTF_8.encode(CharBuffer.wrap(passphrase));
    byte[] bytes = new byte[encoded.remaining()];
    encoded.get(bytes);
    if (encoded.hasArray()) {
      Arrays.fill(encoded.array(), (byte) 0);
    }
    return bytes;
  }
}
