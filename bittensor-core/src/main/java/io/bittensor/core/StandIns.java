package io.bittensor.core;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * What a {@link GatingLayer} asked its next choices for one gated batch
 * ({@link GatingLayer#askStandIns}): for each example the peer that would step in were one of its
 * routed peers excluded, that peer's answer, and the gate's logits, so that a caller can rejoin
 * the example's answers with any one routed peer replaced by its stand-in.
 *
 * <pre>{@code
 * Gated g = gate.forwardAndWait(request, context, true, timeout);
 * StandIns s = gate.askStandIns(g, request, timeout).join();   // one more peer per example
 * int next = s.peers()[0];                                     // -1: no peer left to step in
 * float[] answer = s.answers()[0];                             // null: it failed (or none)
 * long extra = s.bytesReceived();
 * }</pre>
 *
 * <p>Immutable and thread-safe: the arrays are copied in and out.
 *
 * @param peers for each example, its stand-in's index in {@link GatingLayer#peers()}, never one of
 *     the example's routed peers; -1 where no peer is left to step in (the gate routes each example
 *     to every peer it may)
 * @param logits for each example, the gate's logit of every peer as the forward routed with them
 *     (the softmax over a set of them gives that set's gate values)
 * @param calls one per stand-in asked, in peer order, each holding the rows it stands in for
 */
public record StandIns(int[] peers, float[][] logits, List<PeerCall> calls) {
  /** Checks the shapes agree; copies the arrays. */
  public StandIns {
    Objects.requireNonNull(peers, "peers");
    Objects.requireNonNull(logits, "logits");
    Objects.requireNonNull(calls, "calls");
    if (peers.length != logits.length) {
      throw new IllegalArgumentException("peers (" + peers.length + ") and logits ("
          + logits.length + ") need a row per example");
    }
    peers = peers.clone();
    float[][] l = new float[logits.length][];
    for (int b = 0; b < logits.length; b++) {
      l[b] = logits[b].clone();
    }
    logits = l;
    calls = List.copyOf(calls);
    for (PeerCall c : calls) {
      for (int b : c.rows()) {
        if (b < 0 || b >= peers.length || peers[b] != c.peer()) {
          throw new IllegalArgumentException("call of peer " + c.peer() + " holds row " + b
              + ", which it does not stand in for");
        }
      }
    }
  }

  /** A copy of the stand-ins. */
  @Override
  public int[] peers() {
    return peers.clone();
  }

  /** A copy of the logits. */
  @Override
  public float[][] logits() {
    float[][] l = new float[logits.length][];
    for (int b = 0; b < l.length; b++) {
      l[b] = logits[b].clone();
    }
    return l;
  }

  /**
   * Each example's stand-in answer: its {@code sequence * outputDim} values.
   *
   * @return a new array with a row per example; a row is null where the example has no stand-in
   *     or it failed
   */
  public float[][] answers() {
    float[][] out = new float[peers.length][];
    for (PeerCall c : calls) {
      if (!c.isSuccess()) {
        continue;
      }
      int[] rows = c.rows();
      float[] all = c.result().output().toFloatArray();
      int m = all.length / rows.length;
      for (int i = 0; i < rows.length; i++) {
        out[rows[i]] = Arrays.copyOfRange(all, i * m, (i + 1) * m);
      }
    }
    return out;
  }

  /** The bytes of answer tensors received from the stand-ins. */
  public long bytesReceived() {
    return PeerCall.bytesReceived(calls);
  }

  /** The bytes of input tensors sent to the stand-ins. */
  public long bytesSent() {
    return PeerCall.bytesSent(calls);
  }
}
