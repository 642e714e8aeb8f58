package io.bittensor.core.internal.ledger;

import io.bittensor.core.SignedTransaction;
import java.util.List;
import java.util.stream.IntStream;

/**
 * The signatures of a batch of transactions, verified before the batch is applied in order: on
 * several threads (the common fork-join pool) once the batch is large enough to pay for them,
 * since verification is most of what accepting a transaction costs.
 */
public final class BatchSignatures {
  /** A batch this large is verified on several threads. */
  static final int PARALLEL_FROM = 16;

  private BatchSignatures() {}

  /** Whether each transaction's signature verifies, in the batch's order. */
  public static boolean[] verify(List<SignedTransaction> batch) {
    boolean[] verified = new boolean[batch.size()];
    IntStream indices = IntStream.range(0, batch.size());
    (batch.size() >= PARALLEL_FROM ? indices.parallel() : indices)
        .forEach(i -> verified[i] = batch.get(i).verifySignature());
    return verified;
  }
}
