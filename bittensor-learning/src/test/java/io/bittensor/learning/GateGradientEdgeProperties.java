package io.bittensor.learning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.ForwardRequest;
import io.bittensor.core.Gated;
import io.bittensor.core.Modality;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.learning.TestPeers.FnPeer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The gate's parameter gradients agree with central differences at the edges that {@link
 * NoisyTopKGateTest#gateGradientsMatchDifferences} does not reach: one to five peers, some
 * excluded, k from 1 to every peer left (no load to balance), a batch of one, sequences of two
 * positions, any set of peers failing (all of them too), with or without noise, and a fallback
 * that answers or fails as well. Each case is drawn from its seed, which the message names.
 */
@Timeout(120)
class GateGradientEdgeProperties {
  private static final Duration TIMEOUT = Duration.ofSeconds(2);
  private static final int IN = 3;
  private static final int OUT = 2;

  static LongStream seeds() {
    return LongStream.range(0, 120);
  }

  /** One drawn case: the gate's settings, the peers that fail, the batch and dL/dG. */
  private record Case(long seed, List<FnPeer> peers, int[] excluded, int k, boolean noise,
      FnPeer fallback, Tensor input, Tensor dG) {
    static Case draw(long seed) {
      Random r = new Random(seed);
      int n = 1 + r.nextInt(5);
      List<Integer> order = new ArrayList<>();
      for (int j = 0; j < n; j++) {
        order.add(j);
      }
      Collections.shuffle(order, r);
      int[] excluded = order.subList(0, r.nextInt(n)).stream().mapToInt(j -> j).toArray();
      int k = 1 + r.nextInt(n - excluded.length);
      int batch = 1 + r.nextInt(4);
      int seq = 1 + r.nextInt(2);
      boolean noise = r.nextBoolean();
      List<FnPeer> peers = new ArrayList<>();
      for (int j = 0; j < n; j++) {
        FnPeer p = new FnPeer(OUT, TestPeers.projection(IN, OUT, 100 + j));
        p.failWith = r.nextInt(3) == 0 ? Status.UNAVAILABLE : null;
        peers.add(p);
      }
      FnPeer fallback = null;
      if (r.nextInt(3) == 0) {
        fallback = new FnPeer(OUT, TestPeers.projection(IN, OUT, 999));
        fallback.failWith = r.nextBoolean() ? Status.UNAVAILABLE : null;
      }
      return new Case(seed, peers, excluded, k, noise, fallback,
          gaussian(r, batch, seq, IN), gaussian(r, batch, seq, OUT));
    }

    NoisyTopKGate gate() {
      NoisyTopKGate.Builder b = NoisyTopKGate.builder().peers(peers).k(k)
          .contextDim(input.dim(1) * IN).outputDim(OUT).seed(seed).noise(noise)
          .importanceWeight(0.5).loadWeight(0.5).failureWeight(0.5).exclude(excluded);
      return fallback == null ? b.build() : b.fallback(fallback).build();
    }

    @Override
    public String toString() {
      return "seed " + seed + ": " + peers.size() + " peers, excluded "
          + Arrays.toString(excluded) + ", k " + k + ", input " + Arrays.toString(input.shape())
          + ", noise " + noise + ", fallback " + (fallback == null ? "none"
              : fallback.failWith == null ? "answers" : "fails");
    }
  }

  private static Tensor gaussian(Random r, int batch, int seq, int dim) {
    float[] v = new float[batch * seq * dim];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) r.nextGaussian();
    }
    return Tensor.ofFloats(v, batch, seq, dim);
  }

  /** The join's dot with dL/dG plus the gate's own losses, after a training forward. */
  private static double loss(NoisyTopKGate gate, Case c, Gated[] routed) {
    ForwardRequest request = new ForwardRequest(Modality.TENSOR, c.input());
    Gated g = gate.forwardAndWait(request, Learner.flatten(c.input()), true, TIMEOUT);
    routed[0] = g;
    gate.backward(g, c.dG());
    float[] joined = g.output().toFloatArray();
    float[] dG = c.dG().toFloatArray();
    double dot = 0;
    for (int e = 0; e < dG.length; e++) {
      dot += (double) joined[e] * dG[e];
    }
    return dot + gate.balanceLoss() + gate.failureLoss();
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void gateGradientsMatchDifferencesAtTheEdges(long seed) {
    Case c = Case.draw(seed);
    NoisyTopKGate base = c.gate();
    Random r = new Random(seed + 1);
    for (Parameter p : base.parameters()) {
      for (int i = 0; i < p.size(); i++) {
        p.values()[i] = (float) (r.nextGaussian() * 0.7);
      }
    }
    List<float[]> values = base.parameters().stream().map(p -> p.values().clone()).toList();
    Gated[] routed = new Gated[1];
    loss(base, c, routed);
    int[][] selected = routed[0].selected();
    int checked = 0;
    int total = 0;
    for (int pi = 0; pi < values.size(); pi++) {
      float[] analytic = base.parameters().get(pi).gradients();
      for (int i = 0; i < analytic.length; i++) {
        double h = 1e-3;
        double[] losses = new double[2];
        boolean same = true;
        for (int side = 0; side < 2; side++) {
          NoisyTopKGate probe = c.gate();
          for (int q = 0; q < values.size(); q++) {
            float[] v = probe.parameters().get(q).values();
            System.arraycopy(values.get(q), 0, v, 0, v.length);
          }
          probe.parameters().get(pi).values()[i] += (float) (side == 0 ? h : -h);
          losses[side] = loss(probe, c, routed);
          same &= Arrays.deepEquals(selected, routed[0].selected());
        }
        total++;
        // Where the step changed a selection the loss is not differentiable: not checked.
        if (same) {
          double numeric = GradientCheck.centralDifference(values.get(pi)[i], h, losses[0],
              losses[1]);
          assertEquals(numeric, analytic[i], 3e-3 * Math.max(1, Math.abs(numeric)),
              base.parameters().get(pi).name() + "[" + i + "], " + c);
          checked++;
        }
      }
    }
    assertTrue(checked >= total / 2, "most values were checked, " + checked + " of " + total
        + ", " + c);
  }
}
