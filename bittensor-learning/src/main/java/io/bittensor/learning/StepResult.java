package io.bittensor.learning;

import io.bittensor.core.Experimental;
import java.util.List;
import java.util.Objects;

/**
 * What one {@link Learner#train} step did.
 *
 * <pre>{@code
 * StepResult r = learner.train(request, labels);
 * System.out.printf("loss %.3f, %d failed peers, %d bytes in%n",
 *     r.loss(), r.failedPeers().size(), r.bytesReceived());
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 *
 * @param loss the head's mean cross-entropy on the batch
 * @param balanceLoss the gate's importance and load losses
 * @param correct rows whose highest logit was the label
 * @param rows rows in the batch (examples times positions)
 * @param bytesReceived answer bytes received from peers
 * @param bytesSent input bytes sent to peers
 * @param failedPeers indices of the peers asked that failed
 * @param gradientsAcknowledged peers that took their gradient (SUCCESS); others may not learn
 * @param probeBytesReceived answer bytes received from the stand-ins a probed step asked (see
 *     {@link Learner.Builder#probeEvery}); 0 on other steps
 * @param probeBytesSent input bytes sent to those stand-ins
 * @param failureLoss the gate's failure loss ({@link NoisyTopKGate.Builder#failureWeight}); 0 when
 *     off or nothing failed
 * @param fallbackRows rows the gate's fallback answered in, in a failed peer's slot ({@link
 *     NoisyTopKGate.Builder#fallback})
 */
@Experimental
public record StepResult(double loss, double balanceLoss, int correct, int rows,
    long bytesReceived, long bytesSent, List<Integer> failedPeers, int gradientsAcknowledged,
    long probeBytesReceived, long probeBytesSent, double failureLoss, int fallbackRows) {
  /** Copies the list. */
  public StepResult {
    failedPeers = List.copyOf(Objects.requireNonNull(failedPeers, "failedPeers"));
  }

  /** A step that probed nothing. */
  public StepResult(double loss, double balanceLoss, int correct, int rows, long bytesReceived,
      long bytesSent, List<Integer> failedPeers, int gradientsAcknowledged) {
    this(loss, balanceLoss, correct, rows, bytesReceived, bytesSent, failedPeers,
        gradientsAcknowledged, 0, 0, 0, 0);
  }

  /** {@code correct / rows}. */
  public double accuracy() {
    return rows == 0 ? 0 : correct / (double) rows;
  }
}
