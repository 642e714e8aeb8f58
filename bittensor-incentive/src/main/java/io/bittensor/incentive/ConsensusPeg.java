package io.bittensor.incentive;

/**
 * The consensus peg of the paper's section 4: the fewest non-zero entries a weight row may have
 * ({@code minAllowedWeights}). While the chain's loss {@code L} is positive (most rank flows to
 * peers without majority trust), each epoch raises it by one, up to the number of peers, forcing
 * peers to spread their votes until consensus returns ({@code L < 0}). It never falls.
 *
 * <pre>{@code
 * ConsensusPeg peg = ConsensusPeg.of(1);
 * peg = peg.afterEpoch(epoch.loss(), n);          // raised by one if epoch.loss() > 0
 * if (!peg.admits(row)) reject(peg.rejection(uid, row));
 * }</pre>
 *
 * @param minAllowedWeights the fewest non-zero entries a weight row may have; {@code >= 0}
 */
public record ConsensusPeg(int minAllowedWeights) {

  /** Validates {@code minAllowedWeights}. */
  public ConsensusPeg {
    if (minAllowedWeights < 0) {
      throw new IllegalArgumentException(
          "minAllowedWeights must be >= 0, was " + minAllowedWeights);
    }
  }

  /** A peg starting at {@code minAllowedWeights}. */
  public static ConsensusPeg of(int minAllowedWeights) {
    return new ConsensusPeg(minAllowedWeights);
  }

  /**
   * The peg for the next epoch: one higher (at most {@code peerCount}) when {@code loss > 0},
   * otherwise unchanged.
   *
   * @param loss the epoch's {@link EpochResult#loss()}; finite
   * @param peerCount the number of peers; {@code >= 0}
   */
  public ConsensusPeg afterEpoch(double loss, int peerCount) {
    if (!Double.isFinite(loss)) {
      throw new IllegalArgumentException("loss must be finite, was " + loss);
    }
    if (peerCount < 0) {
      throw new IllegalArgumentException("peerCount must be >= 0, was " + peerCount);
    }
    if (loss > 0 && minAllowedWeights < peerCount) {
      return new ConsensusPeg(minAllowedWeights + 1);
    }
    return this;
  }

  /** True when a row with {@code nonZeroEntries} non-zero weights is allowed. */
  public boolean admits(int nonZeroEntries) {
    return nonZeroEntries >= minAllowedWeights;
  }

  /** True when the row (one weight per peer) has enough non-zero entries. */
  public boolean admits(double[] row) {
    return admits(countNonZero(row));
  }

  /**
   * Why a row would be rejected, for an error message, or empty when it is admitted.
   *
   * @param uid the peer that set the row
   * @param row its weights, one per peer; not modified
   */
  public java.util.Optional<String> rejection(int uid, double[] row) {
    int count = countNonZero(row);
    if (admits(count)) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(
        "weights of peer " + uid + " have " + count + " non-zero entries; the consensus peg"
            + " requires at least " + minAllowedWeights);
  }

  private static int countNonZero(double[] row) {
    int count = 0;
    for (double v : row) {
      if (v != 0) {
        count++;
      }
    }
    return count;
  }
}
