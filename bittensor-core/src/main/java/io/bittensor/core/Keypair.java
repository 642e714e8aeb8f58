package io.bittensor.core;

import io.bittensor.core.internal.DurableFiles;
import io.bittensor.core.internal.SealedSeed;
import java.io.IOException;
import java.io.InputStream;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A peer's Ed25519 (RFC 8032) key pair: it signs requests and ledger transactions, and its
 * public half is the peer's {@link PeerId}. Keys and signatures are the same bytes the JDK's
 * {@code Ed25519} provider makes; the arithmetic is Bouncy Castle's, several times faster.
 *
 * <pre>{@code
 * Keypair me = Keypair.generate();
 * me.save(Path.of("peer.key"));                 // written with permissions 600
 * Keypair again = Keypair.load(Path.of("peer.key"));
 * byte[] message = {1, 2, 3};
 * byte[] sig = again.sign(message);
 * boolean ok = me.id().verify(message, sig);     // true
 * }</pre>
 *
 * <p>The key file is text: a header line, the 32-byte private seed and the public key in hex.
 * {@link #load} refuses a file that others than its owner may read or write (as ssh does),
 * where the file system has POSIX permissions.
 *
 * <p>A key that holds stake is better kept under a passphrase: {@link #save(Path, char[])} seals
 * the seed with AES-256-GCM under a key that Argon2id derives from the passphrase
 * ({@link KeyProtection}), and {@link #load(Path, char[])} opens it. The public key stays
 * readable without the passphrase ({@link #readId}), and a wrong passphrase or a changed byte is
 * refused, never read as another key.
 *
 * <pre>{@code
 * Keypair me = Keypair.generate();
 * char[] passphrase = System.console().readPassword("passphrase: ");
 * me.save(Path.of("cold.key"), passphrase);
 * Keypair cold = Keypair.load(Path.of("cold.key"), passphrase);
 * Arrays.fill(passphrase, '\0');
 * }</pre>
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
  private static final String SEALED_HEADER = "bittensor-keypair-v2 ed25519 argon2id aes-256-gcm";
  private static final String KDF_LABEL = "kdf: ";
  private static final String UNPAIRED_SURROGATE = "the passphrase holds an unpaired UTF-16"
      + " surrogate (half a character, with no UTF-8 bytes); give whole characters";
  private static final String SALT_LABEL = "salt: ";
  private static final String NONCE_LABEL = "nonce: ";
  private static final String SEALED_LABEL = "sealed: ";
  private static final Pattern KDF =
      Pattern.compile("m=(\\d{1,9}) t=(\\d{1,9}) p=(\\d{1,9}) v=19");
  private static final int MAX_KEY_FILE_BYTES = 4096;
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
    write(file, HEADER + "\n" + SEED_LABEL + HEX.formatHex(seed()) + "\n"
        + PUBLIC_LABEL + id.toHex() + "\n");
  }

  /**
   * Writes this pair sealed under {@code passphrase}, with {@link KeyProtection#defaults()}; as
   * {@link #save(Path, char[], KeyProtection)}.
   *
   * @throws FileAlreadyExistsException if {@code file} exists (keys are never overwritten)
   * @throws IOException if the file cannot be written
   * @throws IllegalArgumentException if {@code passphrase} is empty or holds an unpaired UTF-16
   *     surrogate (no UTF-8 bytes stand for it)
   */
  @Experimental
  public void save(Path file, char[] passphrase) throws IOException {
    save(file, passphrase, KeyProtection.defaults());
  }

  /**
   * Writes this pair to a new file, its seed sealed under {@code passphrase}: AES-256-GCM under a
   * key Argon2id derives from the passphrase's UTF-8 bytes and a random salt, with the header, the
   * cost and the public key authenticated. The file is written as {@link #save(Path)} writes
   * (owner only, whole or not at all, never over another); only {@link #load(Path, char[])} with
   * the same passphrase reads the seed back, and {@link #readId} the public key.
   *
   * @param file where to write; must not exist
   * @param passphrase not modified, not kept; clear it when done
   * @param protection Argon2id's cost, written into the file
   * @throws FileAlreadyExistsException if {@code file} exists (keys are never overwritten)
   * @throws IOException if the file cannot be written
   * @throws IllegalArgumentException if {@code passphrase} is empty or holds an unpaired UTF-16
   *     surrogate (no UTF-8 bytes stand for it)
   */
  @Experimental
  public void save(Path file, char[] passphrase, KeyProtection protection) throws IOException {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(passphrase, "passphrase");
    Objects.requireNonNull(protection, "protection");
    if (passphrase.length == 0) {
      throw new IllegalArgumentException(
          "an empty passphrase protects nothing; save(file) writes the key unsealed");
    }
    if (SealedSeed.hasUnpairedSurrogate(passphrase)) {
      throw new IllegalArgumentException(UNPAIRED_SURROGATE);
    }
    SecureRandom random = new SecureRandom();
    byte[] salt = new byte[SealedSeed.SALT_LENGTH];
    byte[] nonce = new byte[SealedSeed.NONCE_LENGTH];
    random.nextBytes(salt);
    random.nextBytes(nonce);
    String kdf = KDF_LABEL + "m=" + protection.memoryKib() + " t=" + protection.iterations()
        + " p=" + protection.parallelism() + " v=19";
    String pub = PUBLIC_LABEL + id.toHex();
    byte[] sealed = SealedSeed.seal(seed, passphrase, protection.memoryKib(),
        protection.iterations(), protection.parallelism(), salt, nonce, aad(kdf, pub));
    write(file, SEALED_HEADER + "\n" + kdf + "\n" + SALT_LABEL + HEX.formatHex(salt) + "\n"
        + NONCE_LABEL + HEX.formatHex(nonce) + "\n" + SEALED_LABEL + HEX.formatHex(sealed) + "\n"
        + pub + "\n");
  }

  /**
   * Reads a pair written by {@link #save(Path)}.
   *
   * @throws IOException if the file cannot be read, is not a key file, is sealed under a
   *     passphrase (read it with {@link #load(Path, char[])}), its public key does not match its
   *     seed, or (on POSIX file systems) others than its owner may read or write it
   */
  public static Keypair load(Path file) throws IOException {
    Objects.requireNonNull(file, "file");
    List<String> lines = readKeyFile(file);
    if (lines.get(0).equals(SEALED_HEADER)) {
      throw new IOException("key file " + file + " is sealed under a passphrase;"
          + " read it with its passphrase (Keypair.load(file, passphrase))");
    }
    return loadPlain(file, lines);
  }

  /**
   * Reads a pair from a file written by {@link #save(Path, char[], KeyProtection)} under
   * {@code passphrase}, or by {@link #save(Path)} (which needs none: {@code passphrase} is then
   * unused).
   *
   * @param passphrase not modified, not kept; clear it when done
   * @throws IOException if the file cannot be read or is not a key file; if the passphrase is
   *     wrong or the file was changed (AES-GCM cannot tell the two apart); if it asks for
   *     an Argon2id cost beyond {@link KeyProtection}'s bounds; or (on POSIX file systems) if
   *     others than its owner may read or write it
   * @throws IllegalArgumentException if the file is sealed and {@code passphrase} holds an
   *     unpaired UTF-16 surrogate, which no sealed file is sealed under
   */
  @Experimental
  public static Keypair load(Path file, char[] passphrase) throws IOException {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(passphrase, "passphrase");
    List<String> lines = readKeyFile(file);
    if (!lines.get(0).equals(SEALED_HEADER)) {
      return loadPlain(file, lines);
    }
    if (SealedSeed.hasUnpairedSurrogate(passphrase)) {
      // Refused, not opened: each such char was sealed as '?', so any other opened the key.
      throw new IllegalArgumentException(UNPAIRED_SURROGATE + " (a key that an earlier version"
          + " sealed under such a passphrase opens with '?' in place of each half)");
    }
    if (lines.size() < 6) {
      throw notAKeyFile(file);
    }
    String kdf = lines.get(1);
    KeyProtection protection = protection(file, field(file, kdf, KDF_LABEL));
    byte[] salt = hex(file, field(file, lines.get(2), SALT_LABEL), SealedSeed.SALT_LENGTH, "salt");
    byte[] nonce =
        hex(file, field(file, lines.get(3), NONCE_LABEL), SealedSeed.NONCE_LENGTH, "nonce");
    byte[] sealed = hex(file, field(file, lines.get(4), SEALED_LABEL), SEED_LENGTH + 16, "sealed");
    String pub = lines.get(5);
    PeerId stated = publicId(file, field(file, pub, PUBLIC_LABEL));
    byte[] seed = SealedSeed.open(sealed, passphrase, protection.memoryKib(),
        protection.iterations(), protection.parallelism(), salt, nonce, aad(kdf, pub));
    if (seed == null) {
      throw new IOException("wrong passphrase for key file " + file
          + " (or the file was changed since it was written)");
    }
    Keypair pair = new Keypair(seed);
    if (!pair.id.equals(stated)) {
      throw new IOException(
          "key file " + file + " is corrupt: its public key does not match its seed");
    }
    return pair;
  }

  /**
   * Whether the key file at {@code file} is sealed under a passphrase.
   *
   * @throws IOException if the file cannot be read or is not a key file, or (on POSIX file
   *     systems) others than its owner may read or write it
   */
  @Experimental
  public static boolean isSealed(Path file) throws IOException {
    Objects.requireNonNull(file, "file");
    return readKeyFile(file).get(0).equals(SEALED_HEADER);
  }

  /**
   * The public id of the key in {@code file}, sealed or not, without its passphrase: to name an
   * account (a genesis allocation, a weight row) from the key's file. For a sealed file this is
   * the public key as the file states it; {@link #load(Path, char[])} checks it against the seed.
   *
   * @throws IOException if the file cannot be read or is not a key file, or (on POSIX file
   *     systems) others than its owner may read or write it
   */
  @Experimental
  public static PeerId readId(Path file) throws IOException {
    Objects.requireNonNull(file, "file");
    List<String> lines = readKeyFile(file);
    if (!lines.get(0).equals(SEALED_HEADER)) {
      return loadPlain(file, lines).id();
    }
    if (lines.size() < 6) {
      throw notAKeyFile(file);
    }
    return publicId(file, field(file, lines.get(5), PUBLIC_LABEL));
  }

  private static void write(Path file, String text) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    boolean posix = Files.getFileStore(dir).supportsFileAttributeView("posix");
    FileAttribute<?>[] attrs =
        posix
            ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(OWNER_ONLY)}
            : new FileAttribute<?>[0];
    try {
      DurableFiles.create(file, text.getBytes(StandardCharsets.US_ASCII), attrs);
    } catch (FileAlreadyExistsException e) {
      throw new FileAlreadyExistsException(file.toString(), null, "refusing to overwrite a key");
    }
  }

  /** The file's lines, once its permissions and its first line say it is a key file. */
  private static List<String> readKeyFile(Path file) throws IOException {
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
    if (!Files.isRegularFile(file)) {
      throw new IOException("not a bittensor key file (not a regular file): " + file);
    }
    // A key file is a few hundred bytes; a path that names anything else is not read whole.
    byte[] bytes;
    try (InputStream in = Files.newInputStream(file)) {
      bytes = in.readNBytes(MAX_KEY_FILE_BYTES + 1);
    }
    if (bytes.length > MAX_KEY_FILE_BYTES) {
      throw new IOException("not a bittensor key file (more than " + MAX_KEY_FILE_BYTES
          + " bytes): " + file);
    }
    List<String> lines = new String(bytes, StandardCharsets.US_ASCII).lines().toList();
    if (lines.isEmpty()
        || !(lines.get(0).equals(HEADER) || lines.get(0).equals(SEALED_HEADER))) {
      throw notAKeyFile(file);
    }
    return lines;
  }

  private static Keypair loadPlain(Path file, List<String> lines) throws IOException {
    if (lines.size() < 3
        || !lines.get(1).startsWith(SEED_LABEL)
        || !lines.get(2).startsWith(PUBLIC_LABEL)) {
      throw notAKeyFile(file);
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

  private static IOException notAKeyFile(Path file) {
    return new IOException("not a bittensor key file (expected \"" + HEADER + "\" or \""
        + SEALED_HEADER + "\"): " + file);
  }

  private static String field(Path file, String line, String label) throws IOException {
    if (!line.startsWith(label)) {
      throw new IOException("malformed key file " + file + ": expected \"" + label.strip()
          + "\" where it says \"" + line + "\"");
    }
    return line.substring(label.length()).strip();
  }

  private static byte[] hex(Path file, String text, int length, String what) throws IOException {
    byte[] bytes;
    try {
      bytes = HEX.parseHex(text);
    } catch (IllegalArgumentException e) {
      throw new IOException("malformed key file " + file + ": " + what + ": " + e.getMessage(), e);
    }
    if (bytes.length != length) {
      throw new IOException("malformed key file " + file + ": " + what + " has " + bytes.length
          + " bytes, expected " + length);
    }
    return bytes;
  }

  private static PeerId publicId(Path file, String text) throws IOException {
    try {
      return PeerId.fromHex(text);
    } catch (IllegalArgumentException e) {
      throw new IOException("malformed key file " + file + ": " + e.getMessage(), e);
    }
  }

  /** The cost a sealed file states, refused beyond the bounds before any memory is taken. */
  private static KeyProtection protection(Path file, String text) throws IOException {
    Matcher m = KDF.matcher(text);
    if (!m.matches()) {
      throw new IOException("malformed key file " + file
          + ": expected \"kdf: m=KIB t=PASSES p=LANES v=19\", was \"kdf: " + text + "\"");
    }
    try {
      return KeyProtection.argon2id(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)),
          Integer.parseInt(m.group(3)));
    } catch (IllegalArgumentException e) {
      throw new IOException("key file " + file + " asks for an Argon2id cost out of bounds: "
          + e.getMessage(), e);
    }
  }

  /** What GCM authenticates besides the seed: the format, the cost and the public key. */
  private static byte[] aad(String kdfLine, String publicLine) {
    return (SEALED_HEADER + "\n" + kdfLine + "\n" + publicLine)
        .getBytes(StandardCharsets.US_ASCII);
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
