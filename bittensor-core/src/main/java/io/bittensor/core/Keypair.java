package io.bittensor.core;

import io.bittensor.core.internal.DurableFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A peer's Ed25519 (RFC 8032) key pair: it signs requests and ledger transactions, and its
 * public half is the peer's {@link PeerId}. Keys and signatures are the same bytes the JDK's
 * {@code Ed25519} provider makes; the arithmetic is Bouncy Castle's, several times faster.
 *
 * <pre>{@code
 * Keypair me = Keypair.generate();
 * me.save(Path.of("peer.key"));                 // written with permissions 600
 * Keypair again = Keypair.load(Path.of("peer.key"));
 * byte[] sig = again.sign(message);
 * boolean ok = me.id().verify(message, sig);     // true
 * }</pre>
 *
 * <p>The key file is text: a header line, the 32-byte private seed and the public key in hex.
 * {@link #load} refuses a file that others than its owner may read or write (as ssh does),
 * where the file system has POSIX permissions.
 *
 * <p>Thread-safe and immutable. {@link #toString()} never prints the private key.
 */
public final class Keypair {
  /** The length of an Ed25519 signature in bytes. */
  public static final int SIGNATURE_LENGTH = Signatures.SIGNATURE_LENGTH;

  /** The length of an Ed25519 private seed in bytes. */
  public static final int SEED_LENGTH = 32;

  private static final String HEADER = "bittensor-keypair-v1 ed25519";
  private static final String SEED_LABEL = "seed: ";
  private static final String PUBLIC_LABEL = "public: ";
  private static final Set<PosixFilePermission> OWNER_ONLY =
      EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
  private static final HexFormat HEX = HexFormat.of();

  private final byte[] seed;
  private final byte[] publicKey;
  private final PeerId id;

  private Keypair(byte[] seed) {
    this.seed = seed;
    this.publicKey = Signatures.publicKeyOf(seed);
    this.id = PeerId.fromBytes(publicKey);
  }

  /** A new key pair from the JDK's default {@link SecureRandom}. */
  public static Keypair generate() {
    return generate(new SecureRandom());
  }

  /**
   * A new key pair whose seed is drawn from {@code random}.
   *
   * @param random the source of the 32 seed bytes; used once, not kept
   */
  public static Keypair generate(SecureRandom random) {
    Objects.requireNonNull(random, "random");
    // RFC 8032: the private key is 32 random bytes; the JDK's generator draws them the same way.
    byte[] seed = new byte[SEED_LENGTH];
    random.nextBytes(seed);
    return new Keypair(seed);
  }

  /**
   * The key pair with the given private seed (RFC 8032); the same seed always gives the same
   * keys. For tests and simulations; real peers use {@link #generate()}.
   *
   * @param seed 32 bytes; copied, not modified
   * @throws IllegalArgumentException unless {@code seed} has 32 bytes
   */
  public static Keypair fromSeed(byte[] seed) {
    Objects.requireNonNull(seed, "seed");
    if (seed.length != SEED_LENGTH) {
      throw new IllegalArgumentException(
          "an Ed25519 seed has " + SEED_LENGTH + " bytes, was " + seed.length);
    }
    return new Keypair(seed.clone());
  }

  /** This pair's public identity. */
  public PeerId id() {
    return id;
  }

  /**
   * Signs {@code message} with Ed25519.
   *
   * @param message the bytes to sign; not modified
   * @return the 64-byte signature
   */
  public byte[] sign(byte[] message) {
    Objects.requireNonNull(message, "message");
    return Signatures.sign(seed, publicKey, message);
  }

  /**
   * Verifies a signature against this pair's public key; the same as {@code id().verify(...)}.
   *
   * @return false for any signature that does not verify; never throws for bad input
   */
  public boolean verify(byte[] message, byte[] signature) {
    return id.verify(message, signature);
  }

  /**
   * Writes this pair to a new file readable and writable by its owner only (permissions 600 on
   * POSIX file systems). The file appears whole or not at all, and is on disk when this returns: a
   * crash after {@code save} cannot lose the key.
   *
   * @param file where to write; must not exist
   * @throws FileAlreadyExistsException if {@code file} exists (keys are never overwritten)
   * @throws IOException if the file cannot be written
   */
  public void save(Path file) throws IOException {
    Objects.requireNonNull(file, "file");
    Path dir = file.toAbsolutePath().getParent();
    boolean posix = Files.getFileStore(dir).supportsFileAttributeView("posix");
    FileAttribute<?>[] attrs =
        posix
            ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(OWNER_ONLY)}
            : new FileAttribute<?>[0];
    String text = HEADER + "\n" + SEED_LABEL + HEX.formatHex(seed()) + "\n"
        + PUBLIC_LABEL + id.toHex() + "\n";
    try {
      DurableFiles.create(file, text.getBytes(StandardCharsets.US_ASCII), attrs);
    } catch (FileAlreadyExistsException e) {
      throw new FileAlreadyExistsException(file.toString(), null, "refusing to overwrite a key");
    }
  }

  /**
   * Reads a pair written by {@link #save}.
   *
   * @throws IOException if the file cannot be read, is not a key file, its public key does not
   *     match its seed, or (on POSIX file systems) others than its owner may read or write it
   */
  public static Keypair load(Path file) throws IOException {
    Objects.requireNonNull(file, "file");
    if (Files.isDirectory(file)) {
      throw new IOException(file + " is a folder, not a key file");
    }
    if (Files.getFileStore(file).supportsFileAttributeView("posix")) {
      Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
      if (!OWNER_ONLY.containsAll(perms)) {
        throw new IOException(
            "key file " + file + " has permissions " + PosixFilePermissions.toString(perms)
                + "; expected rw------- (chmod 600)");
      }
    }
    List<String> lines = Files.readAllLines(file, StandardCharsets.US_ASCII);
    if (lines.size() < 3
        || !lines.get(0).equals(HEADER)
        || !lines.get(1).startsWith(SEED_LABEL)
        || !lines.get(2).startsWith(PUBLIC_LABEL)) {
      throw new IOException("not a bittensor key file (expected \"" + HEADER + "\"): " + file);
    }
    byte[] seed;
    PeerId stated;
    try {
      seed = HEX.parseHex(lines.get(1).substring(SEED_LABEL.length()).strip());
      stated = PeerId.fromHex(lines.get(2).substring(PUBLIC_LABEL.length()).strip());
    } catch (IllegalArgumentException e) {
      throw new IOException("malformed key file " + file + ": " + e.getMessage(), e);
    }
    if (seed.length != SEED_LENGTH) {
      throw new IOException("malformed key file " + file + ": seed has " + seed.length + " bytes");
    }
    Keypair pair = fromSeed(seed);
    Arrays.fill(seed, (byte) 0);
    if (!pair.id.equals(stated)) {
      throw new IOException(
          "key file " + file + " is corrupt: its public key does not match its seed");
    }
    return pair;
  }

  private byte[] seed() {
    return seed.clone();
  }

  /** E.g. {@code Keypair[3b6a27bc...]}: the public id only. */
  @Override
  public String toString() {
    return "Keypair[" + id.toHex() + "]";
  }
}
