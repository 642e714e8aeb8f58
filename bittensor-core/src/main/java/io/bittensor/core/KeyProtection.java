package io.bittensor.core;

/**
 * How a passphrase protects a key file ({@link Keypair#save(java.nio.file.Path, char[],
 * KeyProtection)}): the cost of Argon2id (RFC 9106), the memory-hard function that turns the
 * passphrase into the AES-256-GCM key sealing the private seed. The cost is written into the file,
 * so a file is always read with the cost it was written with.
 *
 * <pre>{@code
 * Keypair me = Keypair.generate();
 * char[] passphrase = System.console().readPassword("passphrase: ");
 * me.save(Path.of("peer.key"), passphrase);                          // KeyProtection.defaults()
 * me.save(Path.of("cold.key"), passphrase, KeyProtection.argon2id(1 << 20, 3, 4)); // 1 GiB
 * }</pre>
 *
 * @param memoryKib Argon2id's memory in KiB: at least {@code 8 * parallelism}, at most
 *     {@value #MAX_MEMORY_KIB} (2 GiB)
 * @param iterations Argon2id's passes over the memory, 1 to {@value #MAX_ITERATIONS}
 * @param parallelism Argon2id's lanes, 1 to {@value #MAX_PARALLELISM}
 */
@Experimental
public record KeyProtection(int memoryKib, int iterations, int parallelism) {
  /** The most memory a key file may ask for, in KiB (2 GiB: RFC 9106's first recommendation). */
  public static final int MAX_MEMORY_KIB = 1 << 21;

  /** The most passes a key file may ask for. */
  public static final int MAX_ITERATIONS = 64;

  /** The most lanes a key file may ask for. */
  public static final int MAX_PARALLELISM = 16;

  /**
   * Checks the bounds; a file asking for more is refused as it is read, before any memory is
   * taken.
   *
   * @throws IllegalArgumentException naming the parameter out of its range
   */
  public KeyProtection {
    if (parallelism < 1 || parallelism > MAX_PARALLELISM) {
      throw new IllegalArgumentException(
          "parallelism must be 1 to " + MAX_PARALLELISM + ", was " + parallelism);
    }
    if (iterations < 1 || iterations > MAX_ITERATIONS) {
      throw new IllegalArgumentException(
          "iterations must be 1 to " + MAX_ITERATIONS + ", was " + iterations);
    }
    if (memoryKib < 8 * parallelism || memoryKib > MAX_MEMORY_KIB) {
      throw new IllegalArgumentException("memoryKib must be " + 8 * parallelism
          + " (8 per lane) to " + MAX_MEMORY_KIB + ", was " + memoryKib);
    }
  }

  /**
   * RFC 9106's second recommended setting: 64 MiB, 3 passes, 4 lanes (about half a second on
   * one core of the development machine, with Bouncy Castle's Argon2).
   */
  public static KeyProtection defaults() {
    return new KeyProtection(1 << 16, 3, 4);
  }

  /** Argon2id with the given cost; see the record's components for the bounds. */
  public static KeyProtection argon2id(int memoryKib, int iterations, int parallelism) {
    return new KeyProtection(memoryKib, iterations, parallelism);
  }
}
