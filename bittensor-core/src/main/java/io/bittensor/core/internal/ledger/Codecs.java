package io.bittensor.core.internal.ledger;

import io.bittensor.core.Epoch;
import io.bittensor.core.LedgerParams;
import io.bittensor.incentive.CsrMatrix;
import java.util.Optional;

/** Encodings shared by the state, the snapshots, the journal's blocks and the transactions. */
public final class Codecs {
  private Codecs() {}

  public static void writeParams(ByteWriter w, LedgerParams p) {
    w.i32(p.epochLength()).i32(p.maxPeers()).i32(p.immunityPeriod())
        .i32(p.minAllowedWeights()).i32(p.weightsRateLimit());
  }

  public static LedgerParams readParams(ByteReader r) {
    return new LedgerParams(r.i32("epochLength"), r.i32("maxPeers"), r.i32("immunityPeriod"),
        r.i32("minAllowedWeights"), r.i32("weightsRateLimit"));
  }

  /**
   * True when {@code p} sets a registration rule: only then do the encodings that hold rules
   * carry them (a newer version, or an extra section), so that rules without them keep the
   * bytes they had before the rules existed.
   */
  public static boolean hasRegistrationRules(LedgerParams p) {
    return p.registrationBurn() != 0 || p.maxRegistrationsPerBlock() != 0;
  }

  /** The registration rules, after {@link #writeParams}: i64 burn, i32 per-block cap. */
  public static void writeRegistrationRules(ByteWriter w, LedgerParams p) {
    w.i64(p.registrationBurn()).i32(p.maxRegistrationsPerBlock());
  }

  /**
   * {@code p} with the registration rules {@link #writeRegistrationRules} wrote.
   *
   * @throws IllegalArgumentException if both are 0: such rules are written without them, and
   *     one set of rules has one encoding
   */
  static LedgerParams readRegistrationRules(ByteReader r, LedgerParams p) {
    LedgerParams with = p.withRegistrationBurn(r.i64("registrationBurn"))
        .withMaxRegistrationsPerBlock(r.i32("maxRegistrationsPerBlock"));
    if (!hasRegistrationRules(with)) {
      throw new IllegalArgumentException("registration rules of 0 and 0 are written without"
          + " them: not a canonical encoding");
    }
    return with;
  }

  static void writeEpoch(ByteWriter w, Epoch e) {
    w.i64(e.number()).i64(e.block()).i32(e.peers()).i64(e.minted()).f64(e.loss())
        .i32(e.minAllowedWeights());
    w.u8(e.skipped().isPresent() ? 1 : 0);
    e.skipped().ifPresent(w::string);
  }

  static Epoch readEpoch(ByteReader r) {
    long number = r.i64("epoch number");
    long block = r.i64("epoch block");
    int peers = r.i32("epoch peers");
    long minted = r.i64("epoch minted");
    double loss = r.f64("epoch loss");
    int minAllowed = r.i32("epoch minAllowedWeights");
    Optional<String> skipped = r.flag("epoch skipped flag")
        ? Optional.of(r.string("epoch skipped")) : Optional.empty();
    return new Epoch(number, block, peers, minted, loss, minAllowed, skipped);
  }

  static void writeCsr(ByteWriter w, CsrMatrix m) {
    int n = m.size();
    int nnz = m.storedCount();
    w.i32(n).i32(nnz);
    for (int i = 0; i < n; i++) {
      w.i32(m.rowStart(i));
    }
    w.i32(nnz);
    for (int k = 0; k < nnz; k++) {
      w.i32(m.colAt(k));
    }
    for (int k = 0; k < nnz; k++) {
      w.f64(m.valueAt(k));
    }
  }

  static CsrMatrix readCsr(ByteReader r) {
    int n = r.count(LedgerParams.MAX_PEERS, 4, "matrix rows");
    int nnz = r.count(Integer.MAX_VALUE - 8, 12, "matrix entries");
    int[] rowPtr = new int[n + 1];
    for (int i = 0; i <= n; i++) {
      rowPtr[i] = r.i32("row pointer");
    }
    int[] cols = new int[nnz];
    for (int k = 0; k < nnz; k++) {
      cols[k] = r.i32("column");
    }
    double[] vals = new double[nnz];
    for (int k = 0; k < nnz; k++) {
      vals[k] = r.f64("value");
    }
    return CsrMatrix.of(n, rowPtr, cols, vals);
  }
}
