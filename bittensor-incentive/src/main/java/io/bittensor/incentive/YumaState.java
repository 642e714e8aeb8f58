package io.bittensor.incentive;

import java.util.Arrays;
import java.util.Objects;

/**
 * What a Yuma epoch reads: the {@link NetworkState} (stake, weights, bonds) plus the per-peer
 * bookkeeping the chain keeps beside it: the block of each peer's last weight update, of its
 * registration, and the validator permits issued by the previous epoch.
 *
 * <pre>{@code
 * NetworkState network = SyntheticNetworks.dense(64, 7, true);
 * boolean[] permits = new boolean[64];
 * long[] lastUpdate = new long[64];
 * YumaState state = YumaState.of(network)          // everyone active and permitted
 *     .withValidatorPermits(permits)                // who may validate this epoch
 *     .withLastUpdate(lastUpdate);                  // blocks of the last weight updates
 * }</pre>
 *
 * <p>Bonds are fractions of the chain's 16-bit scale, in {@code [0, 1]}: on the classic path each
 * column's largest bond is 1 (column-max upscaled); on the Yuma 3 path each is the bond itself.
 *
 * <p>Thread-safe: immutable; the arrays are copied in and out.
 *
 * @param network stake, weights and bonds; bonds in {@code [0, 1]}
 * @param currentBlock the block the epoch runs at; {@code >= 0}
 * @param lastUpdate per peer, the block of its last weight update; {@code >= 0}
 * @param registeredAt per peer, the block it (last) registered at; {@code >= 0}
 * @param validatorPermits per peer, whether it may validate this epoch (issued by the previous
 *     epoch to the largest stakes)
 */
public record YumaState(
    NetworkState network,
    long currentBlock,
    long[] lastUpdate,
    long[] registeredAt,
    boolean[] validatorPermits) {

  /**
   * The block {@link #of(NetworkState)} runs at and every peer last updated at: later than any
   * tempo (at most 65535), so no peer counts as newly registered.
   */
  public static final long DEFAULT_BLOCK = 1_000_000;

  /**
   * Checks sizes and ranges and copies the arrays.
   *
   * @throws IllegalArgumentException naming the part whose size or value is wrong
   */
  public YumaState {
    Objects.requireNonNull(network, "network");
    int n = network.size();
    lastUpdate = copyBlocks(lastUpdate, n, "lastUpdate");
    registeredAt = copyBlocks(registeredAt, n, "registeredAt");
    Objects.requireNonNull(validatorPermits, "validatorPermits");
    if (validatorPermits.length != n) {
      throw new IllegalArgumentException(
          "validatorPermits must have " + n + " entries, one per peer, had "
              + validatorPermits.length);
    }
    validatorPermits = validatorPermits.clone();
    if (currentBlock < 0) {
      throw new IllegalArgumentException("currentBlock must be >= 0, was " + currentBlock);
    }
    checkBonds(network.bonds());
  }

  private static long[] copyBlocks(long[] blocks, int n, String what) {
    Objects.requireNonNull(blocks, what);
    if (blocks.length != n) {
      throw new IllegalArgumentException(
          what + " must have " + n + " entries, one per peer, had " + blocks.length);
    }
    for (int i = 0; i < n; i++) {
      if (blocks[i] < 0) {
        throw new IllegalArgumentException(what + "[" + i + "] must be >= 0, was " + blocks[i]);
      }
    }
    return blocks.clone();
  }

  private static void checkBonds(PeerMatrix bonds) {
    CsrMatrix b = bonds.toCsr();
    for (int i = 0; i < b.size(); i++) {
      for (int k = b.rowStart(i); k < b.rowEnd(i); k++) {
        if (b.valueAt(k) > 1) {
          throw new IllegalArgumentException(
              "bond (" + i + ", " + b.colAt(k) + ") must be in [0, 1] (a fraction of the chain's"
                  + " 16-bit scale), was " + b.valueAt(k));
        }
      }
    }
  }

  /**
   * The state the chain would hold for a network whose peers all set weights just now, all hold
   * validator permits and registered long ago: current block and every last update
   * {@link #DEFAULT_BLOCK}, every registration block 0.
   */
  public static YumaState of(NetworkState network) {
    int n = network.size();
    long[] updated = new long[n];
    Arrays.fill(updated, DEFAULT_BLOCK);
    boolean[] permits = new boolean[n];
    Arrays.fill(permits, true);
    return new YumaState(network, DEFAULT_BLOCK, updated, new long[n], permits);
  }

  /** The number of peers. */
  public int size() {
    return network.size();
  }

  /** A copy of the last-update blocks. */
  @Override
  public long[] lastUpdate() {
    return lastUpdate.clone();
  }

  /** A copy of the registration blocks. */
  @Override
  public long[] registeredAt() {
    return registeredAt.clone();
  }

  /** A copy of the validator permits. */
  @Override
  public boolean[] validatorPermits() {
    return validatorPermits.clone();
  }

  /** The last-update blocks themselves, for kernels in this package; not to be modified. */
  long[] lastUpdateArray() {
    return lastUpdate;
  }

  /** The registration blocks themselves, for kernels in this package; not to be modified. */
  long[] registeredAtArray() {
    return registeredAt;
  }

  /** The permits themselves, for kernels in this package; not to be modified. */
  boolean[] validatorPermitArray() {
    return validatorPermits;
  }

  /** Whether peer {@code uid} may validate this epoch. */
  public boolean validatorPermit(int uid) {
    return validatorPermits[uid];
  }

  /** A copy with the network replaced (same size). */
  public YumaState withNetwork(NetworkState network) {
    return new YumaState(network, currentBlock, lastUpdate, registeredAt, validatorPermits);
  }

  /** A copy with the current block replaced. */
  public YumaState withCurrentBlock(long currentBlock) {
    return new YumaState(network, currentBlock, lastUpdate, registeredAt, validatorPermits);
  }

  /** A copy with the last-update blocks replaced (copied). */
  public YumaState withLastUpdate(long[] lastUpdate) {
    return new YumaState(network, currentBlock, lastUpdate, registeredAt, validatorPermits);
  }

  /** A copy with the registration blocks replaced (copied). */
  public YumaState withRegisteredAt(long[] registeredAt) {
    return new YumaState(network, currentBlock, lastUpdate, registeredAt, validatorPermits);
  }

  /** A copy with the validator permits replaced (copied). */
  public YumaState withValidatorPermits(boolean[] validatorPermits) {
    return new YumaState(network, currentBlock, lastUpdate, registeredAt, validatorPermits);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof YumaState s
        && s.currentBlock == currentBlock
        && s.network.equals(network)
        && Arrays.equals(s.lastUpdate, lastUpdate)
        && Arrays.equals(s.registeredAt, registeredAt)
        && Arrays.equals(s.validatorPermits, validatorPermits);
  }

  @Override
  public int hashCode() {
    return Objects.hash(network, currentBlock, Arrays.hashCode(lastUpdate),
        Arrays.hashCode(registeredAt), Arrays.hashCode(validatorPermits));
  }

  @Override
  public String toString() {
    return "YumaState[n=" + size() + ", currentBlock=" + currentBlock + "]";
  }
}
