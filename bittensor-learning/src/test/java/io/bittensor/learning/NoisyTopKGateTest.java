package io.bittensor.learning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.ForwardRequest;
import io.bittensor.core.Gated;
import io.bittensor.core.Modality;
import io.bittensor.core.PeerCall;
import io.bittensor.core.PeerGradient;
import io.bittensor.core.StandIns;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.learning.TestPeers.FnPeer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@Timeout(60)
class NoisyTopKGateTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(2);

  private static List<FnPeer> peers(int n, int in, int out) {
    List<FnPeer> ps = new ArrayList<>();
    for (int j = 0; j < n; j++) {
      ps.add(new FnPeer(out, TestPeers.projection(in, out, 100 + j)));
    }
    return ps;
  }

  private static NoisyTopKGate gate(List<FnPeer> peers, int k, int in, int out, long seed) {
    return NoisyTopKGate.builder().peers(peers).k(k).contextDim(in).outputDim(out).seed(seed)
        .build();
  }

  private static void randomise(NoisyTopKGate g, Random r, double scale) {
    for (Parameter p : g.parameters()) {
      for (int i = 0; i < p.size(); i++) {
        p.values()[i] = (float) (r.nextGaussian() * scale);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void onlyTheSelectedPeersAreAskedEachOnceWithTheirRows(boolean training) {
    Random r = new Random(1);
    List<FnPeer> ps = peers(6, 4, 3);
    NoisyTopKGate g = gate(ps, 2, 4, 3, 1);
    randomise(g, r, 1);
    Tensor x = TestPeers.batch(r, 20, 4);
    Gated out = g.forwardAndWait(new ForwardRequest(Modality.TENSOR, x),
        Learner.flatten(x), training, TIMEOUT);
    int[][] sel = out.selected();
    int total = 0;
    for (int b = 0; b < 20; b++) {
      assertEquals(2, sel[b].length);
      assertTrue(sel[b][0] != sel[b][1], "two different peers for example " + b);
    }
    for (int j = 0; j < 6; j++) {
      FnPeer p = ps.get(j);
      total += p.rowsReceived();
      List<Integer> expected = new ArrayList<>();
      for (int b = 0; b < 20; b++) {
        if (sel[b][0] == j || sel[b][1] == j) {
          expected.add(b);
        }
      }
      assertTrue(p.inputs.size() <= 1, "peer " + j + " asked at most once per batch");
      assertEquals(expected.size(), p.rowsReceived(), "peer " + j + " got exactly its rows");
      int pj = j;
      PeerCall call = out.calls().stream().filter(c -> c.peer() == pj).findFirst().orElse(null);
      if (expected.isEmpty()) {
        assertEquals(null, call, "peer " + j + " was not picked and not asked");
        continue;
      }
      assertArrayEquals(expected.stream().mapToInt(Integer::intValue).toArray(), call.rows());
      float[] all = x.toFloatArray();
      float[] got = p.inputs.get(0).toFloatArray();
      for (int i = 0; i < expected.size(); i++) {
        int b = expected.get(i);
        assertArrayEquals(Arrays.copyOfRange(all, b * 4, b * 4 + 4),
            Arrays.copyOfRange(got, i * 4, i * 4 + 4), "peer " + j + " row " + i);
      }
    }
    assertEquals(40, total, "20 examples, 2 peers each: 40 rows sent in all");
    assertEquals(40L * 4 * 4, out.bytesSent());
    assertEquals(40L * 3 * 4, out.bytesReceived());
  }

  @Test
  void theJoinedAnswerIsTheGateWeightedSumOfTheSelectedAnswers() {
    Random r = new Random(2);
    List<FnPeer> ps = peers(5, 3, 4);
    NoisyTopKGate g = gate(ps, 3, 3, 4, 2);
    randomise(g, r, 1);
    Tensor x = TestPeers.batch(r, 7, 3);
    Gated out = g.forwardAndWait(new ForwardRequest(Modality.TENSOR, x),
        Learner.flatten(x), false, TIMEOUT);
    float[] joined = out.output().toFloatArray();
    float[] all = x.toFloatArray();
    for (int b = 0; b < 7; b++) {
      float[] expected = new float[4];
      double gateSum = 0;
      for (int s = 0; s < 3; s++) {
        float[] f = ps.get(out.selected()[b][s]).fn.apply(Arrays.copyOfRange(all, b * 3, b * 3 + 3));
        float gv = out.gates()[b][s];
        gateSum += gv;
        for (int e = 0; e < 4; e++) {
          expected[e] += gv * f[e];
        }
        if (s > 0) {
          assertTrue(out.gates()[b][s] <= out.gates()[b][s - 1], "best first");
        }
      }
      assertEquals(1, gateSum, 1e-5);
      assertArrayEquals(expected, Arrays.copyOfRange(joined, b * 4, b * 4 + 4), 1e-5f);
    }
  }

  @Test
  void failedPeersAreMaskedTheGateRenormalisedAndNamed() {
    Random r = new Random(3);
    List<FnPeer> ps = peers(4, 3, 2);
    ps.get(1).failWith = Status.UNAVAILABLE;
    ps.get(2).hang = true;
    ps.get(3).badShape = true;
    NoisyTopKGate g = gate(ps, 4, 3, 2, 3);
    randomise(g, r, 0.5);
    Tensor x = TestPeers.batch(r, 5, 3);
    Gated out = g.forwardAndWait(new ForwardRequest(Modality.TENSOR, x),
        Learner.flatten(x), true, Duration.ofMillis(200));
    assertEquals(Set.of(1, 2, 3), new HashSet<>(out.failed().stream().map(PeerCall::peer).toList()));
    assertEquals(Status.UNAVAILABLE, out.calls().get(1).status());
    assertEquals(Status.TIMEOUT, out.calls().get(2).status());
    assertEquals(Status.BAD_SHAPE, out.calls().get(3).status());
    float[] joined = out.output().toFloatArray();
    float[] all = x.toFloatArray();
    for (int b = 0; b < 5; b++) {
      int[] sel = out.selected()[b];
      for (int s = 0; s < 4; s++) {
        assertEquals(sel[s] == 0 ? 1f : 0f, out.gates()[b][s], 1e-6,
            "only peer 0 answered: it takes the whole gate");
      }
      float[] f0 = ps.get(0).fn.apply(Arrays.copyOfRange(all, b * 3, b * 3 + 3));
      assertArrayEquals(f0, Arrays.copyOfRange(joined, b * 2, b * 2 + 2), 1e-6f);
    }
    // Back-propagation sends a gradient to the one peer that answered, none to the others.
    List<PeerGradient> grads = g.backward(out, Tensor.ofFloats(new float[10], 5, 1, 2));
    assertEquals(List.of(0), grads.stream().map(PeerGradient::peer).toList());
  }

  @Test
  void anExampleNoPeerAnsweredJoinsToZeros() {
    Random r = new Random(4);
    List<FnPeer> ps = peers(3, 2, 2);
    ps.forEach(p -> p.failWith = Status.BACKOFF);
    NoisyTopKGate g = gate(ps, 2, 2, 2, 4);
    Tensor x = TestPeers.batch(r, 3, 2);
    Gated out = g.forwardAndWait(new ForwardRequest(Modality.TENSOR, x),
        Learner.flatten(x), false, TIMEOUT);
    assertArrayEquals(new float[6], out.output().toFloatArray());
    for (float[] row : out.gates()) {
      assertArrayEquals(new float[2], row);
    }
    assertEquals(0, out.bytesReceived());
  }

  /**
   * The gate's parameter gradients, through the join, the importance loss, the load loss and the
   * failure loss (with the noise draws held fixed by the seed), agree with central differences.
   * Half the seeds have peer 3 fail, so the join renormalises and the failure loss takes part;
   * from 15 on, a failing peer's slot is the fallback's, so its logit's gradient flows through
   * the fallback's answer instead.
   */
  @ParameterizedTest
  @ValueSource(longs = {11, 12, 13, 14, 15, 16, 17, 18, 19, 22})
  void gateGradientsMatchDifferences(long seed) {
    Random r = new Random(seed);
    int n = 5;
    int in = 4;
    int out = 3;
    int batch = 6;
    List<FnPeer> ps = peers(n, in, out);
    boolean failing = seed % 4 >= 2;
    ps.get(3).failWith = failing ? Status.UNAVAILABLE : null;
    Tensor x = TestPeers.batch(r, batch, in);
    float[] c = new float[batch * out];
    for (int i = 0; i < c.length; i++) {
      c[i] = (float) r.nextGaussian();
    }
    Tensor dG = Tensor.ofFloats(c, batch, 1, out);
    NoisyTopKGate base = builder(ps, seed).build();
    randomise(base, r, 0.7);
    List<float[]> values = base.parameters().stream().map(p -> p.values().clone()).toList();
    Gated g0 = base.forwardAndWait(new ForwardRequest(Modality.TENSOR, x), Learner.flatten(x),
        true, TIMEOUT);
    base.backward(g0, dG);
    assertTrue(base.balanceLoss() > 0, "the balancing losses take part");
    int[][] sel0 = g0.selected();
    boolean askedFailing = Arrays.stream(sel0).anyMatch(sel -> sel[0] == 3 || sel[1] == 3);
    assertEquals(failing && askedFailing, base.failureLoss() > 0,
        "the failure loss counts the failing peer's routing, " + base.failureLoss());
    assertEquals(failing && askedFailing && seed >= 15, g0.fallback() != null,
        "the fallback is asked where a peer failed, if there is one");
    int checked = 0;
    for (int pi = 0; pi < values.size(); pi++) {
      float[] analytic = base.parameters().get(pi).gradients();
      for (int i = 0; i < values.get(pi).length; i++) {
        double h = 1e-3;
        double[] losses = new double[2];
        boolean same = true;
        for (int side = 0; side < 2; side++) {
          NoisyTopKGate probe = builder(ps, seed).build();
          for (int q = 0; q < values.size(); q++) {
            System.arraycopy(values.get(q), 0, probe.parameters().get(q).values(), 0,
                values.get(q).length);
          }
          probe.parameters().get(pi).values()[i] += (float) (side == 0 ? h : -h);
          Gated gp = probe.forwardAndWait(new ForwardRequest(Modality.TENSOR, x),
              Learner.flatten(x), true, TIMEOUT);
          same &= Arrays.deepEquals(sel0, gp.selected());
          probe.backward(gp, dG);
          double dot = 0;
          float[] joined = gp.output().toFloatArray();
          for (int e = 0; e < c.length; e++) {
            dot += (double) joined[e] * c[e];
          }
          losses[side] = dot + probe.balanceLoss() + probe.failureLoss();
        }
        if (!same) {
          continue; // the perturbation changed a selection: not differentiable there
        }
        double numeric = GradientCheck.centralDifference(values.get(pi)[i], h, losses[0],
            losses[1]);
        assertEquals(numeric, analytic[i], 2e-3 * Math.max(1, Math.abs(numeric)),
            base.parameters().get(pi).name() + "[" + i + "] (seed " + seed + ")");
        checked++;
      }
    }
    assertTrue(checked > 40, "most of the 50 values were checked, " + checked);
  }

  /** Peer 1 of two answers {@code scale} times a projection of tanh, {@code shift} added at e. */
  private static NoisyTopKGate scaledPair(double scale, int e, double shift) {
    var small = TestPeers.projection(4, 3, 71);
    var big = TestPeers.projection(4, 3, 72);
    List<FnPeer> ps = List.of(new FnPeer(3, small::apply), new FnPeer(3, v -> {
      float[] y = big.apply(v);
      for (int i = 0; i < y.length; i++) {
        y[i] = (float) (y[i] * scale + (i == e ? shift : 0));
      }
      return y;
    }));
    NoisyTopKGate gate = NoisyTopKGate.builder().peers(ps).k(2).noise(false).contextDim(4)
        .outputDim(3).seed(73).build();
    randomise(gate, new Random(74), 0.7);
    return gate;
  }

  /**
   * The gate bounds an answer's scale (an answer vector of RMS over 1 is divided by it) before it
   * joins it; the gradient a peer is sent is still that of the answer it sent, through the bound,
   * as central differences in the peer's own answer say. An answer of RMS under 1 joins as sent.
   */
  @Test
  void aPeersGradientGoesThroughTheBoundOnItsAnswersScale() {
    Random r = new Random(70);
    int batch = 5;
    Tensor x = TestPeers.batch(r, batch, 4);
    ForwardRequest request = new ForwardRequest(Modality.TENSOR, x);
    float[] c = new float[batch * 3];
    for (int i = 0; i < c.length; i++) {
      c[i] = (float) r.nextGaussian();
    }
    double scale = 40;
    NoisyTopKGate base = scaledPair(scale, 0, 0);
    Gated g0 = base.forwardAndWait(request, Learner.flatten(x), true, TIMEOUT);
    float[] joinedBig = g0.calls().get(1).result().output().toFloatArray();
    float[] sentBig = g0.calls().get(1).result().result().output().orElseThrow().toFloatArray();
    for (int b = 0; b < batch; b++) {
      double squares = 0;
      for (int e = 0; e < 3; e++) {
        squares += sentBig[b * 3 + e] * sentBig[b * 3 + e];
        assertEquals(sentBig[b * 3 + e] / joinedBig[b * 3 + e],
            sentBig[b * 3] / joinedBig[b * 3], 1e-3, "one divisor a vector");
      }
      assertTrue(Math.sqrt(squares / 3) > 1, "the bound applies to row " + b);
      double joinedSquares = 0;
      for (int e = 0; e < 3; e++) {
        joinedSquares += joinedBig[b * 3 + e] * joinedBig[b * 3 + e];
      }
      assertEquals(1, Math.sqrt(joinedSquares / 3), 1e-5, "joined at RMS 1");
    }
    assertArrayEquals(g0.calls().get(0).result().result().output().orElseThrow().toFloatArray(),
        g0.calls().get(0).result().output().toFloatArray(), "an answer under the bound as sent");
    List<PeerGradient> grads = base.backward(g0, Tensor.ofFloats(c, batch, 1, 3));
    float[] analytic = grads.get(1).gradient().toFloatArray();
    for (int e = 0; e < 3; e++) {
      double h = 0.05;
      double[] loss = new double[2];
      for (int side = 0; side < 2; side++) {
        Gated g = scaledPair(scale, e, side == 0 ? h : -h)
            .forwardAndWait(request, Learner.flatten(x), false, TIMEOUT);
        float[] joined = g.output().toFloatArray();
        for (int i = 0; i < c.length; i++) {
          loss[side] += (double) joined[i] * c[i];
        }
      }
      double numeric = (loss[0] - loss[1]) / (2 * h); // the shift moves every row's answer
      double sum = 0;
      for (int b = 0; b < batch; b++) {
        sum += analytic[b * 3 + e];
      }
      assertEquals(numeric, sum, 1e-3 * Math.max(1e-2, Math.abs(numeric)), "component " + e);
    }
  }

  /**
   * A peer whose noise scale underflows to 0 (its noise logit far below 0) has no smooth chance
   * of being chosen: its load is whether it was chosen, and it sends the load loss no gradient,
   * rather than 0 / 0 into every parameter.
   */
  @ParameterizedTest
  @ValueSource(longs = {31, 32, 33, 34, 35})
  void aPeerWithoutNoiseLeavesTheLoadLossFinite(long seed) {
    Random r = new Random(seed);
    int in = 4;
    List<FnPeer> ps = peers(5, in, 3);
    NoisyTopKGate gate = NoisyTopKGate.builder().peers(ps).k(2).contextDim(in).outputDim(3)
        .seed(seed).build();
    randomise(gate, r, 0.7);
    Parameter noiseBias = gate.parameters().get(3);
    assertEquals("noise.bias", noiseBias.name());
    noiseBias.values()[(int) (seed % 5)] = -200; // softplus(-200) is 0 in float
    Tensor x = TestPeers.batch(r, 6, in);
    Gated g = gate.forwardAndWait(new ForwardRequest(Modality.TENSOR, x), Learner.flatten(x),
        true, TIMEOUT);
    float[] c = new float[6 * 3];
    for (int i = 0; i < c.length; i++) {
      c[i] = (float) r.nextGaussian();
    }
    gate.backward(g, Tensor.ofFloats(c, 6, 1, 3));
    assertTrue(Double.isFinite(gate.balanceLoss()), "balance loss " + gate.balanceLoss()
        + " (seed " + seed + ")");
    for (Parameter p : gate.parameters()) {
      for (int i = 0; i < p.size(); i++) {
        assertTrue(Float.isFinite(p.gradients()[i]), p.name() + "[" + i + "] is "
            + p.gradients()[i] + " (seed " + seed + ")");
      }
    }
  }

  /**
   * Odd seeds exclude peer 1, so the balancing losses' gradients are checked without it too; from
   * 15 on the gate has a fallback.
   */
  private static NoisyTopKGate.Builder builder(List<FnPeer> ps, long seed) {
    NoisyTopKGate.Builder b = NoisyTopKGate.builder().peers(ps).k(2).contextDim(4).outputDim(3)
        .seed(seed).importanceWeight(0.5).loadWeight(0.5).failureWeight(0.5)
        .exclude(seed % 2 == 1 ? new int[] {1} : new int[0]);
    return seed >= 15 ? b.fallback(new FnPeer(3, TestPeers.projection(4, 3, 999))) : b;
  }

  /**
   * With a fallback, a failed peer's slot holds the fallback's answer with the gate the peer had
   * among all the selected: the join is {@code sum_s g_s f_s} with no renormalisation, the
   * fallback is asked once per row with a failure, and it gets no gradient and no importance.
   */
  @Test
  void aFallbackAnswersInAFailedPeersSlotWithItsGate() {
    Random r = new Random(21);
    List<FnPeer> ps = peers(4, 3, 2);
    ps.get(1).failWith = Status.UNAVAILABLE;
    ps.get(2).hang = true;
    FnPeer student = new FnPeer(2, TestPeers.projection(3, 2, 77));
    NoisyTopKGate g = NoisyTopKGate.builder().peers(ps).k(3).contextDim(3).outputDim(2).seed(21)
        .fallback(student).build();
    randomise(g, r, 0.8);
    Tensor x = TestPeers.batch(r, 6, 3);
    Gated out = g.forwardAndWait(new ForwardRequest(Modality.TENSOR, x), Learner.flatten(x),
        true, Duration.ofMillis(200));
    float[] all = x.toFloatArray();
    float[] joined = out.output().toFloatArray();
    float[] shares = out.fallbackShares();
    List<Integer> expectRows = new ArrayList<>();
    for (int b = 0; b < 6; b++) {
      int[] sel = out.selected()[b];
      float[] row = Arrays.copyOfRange(all, b * 3, b * 3 + 3);
      float[] expected = new float[2];
      float peersShare = 0;
      boolean anyFailed = false;
      for (int s = 0; s < sel.length; s++) {
        float gate = out.gates()[b][s];
        if (sel[s] == 1 || sel[s] == 2) {
          anyFailed = true;
          assertEquals(0f, gate, "a failed peer's own share is 0");
          continue;
        }
        peersShare += gate;
        float[] f = ps.get(sel[s]).fn.apply(row);
        for (int e = 0; e < 2; e++) {
          expected[e] += gate * f[e];
        }
      }
      if (anyFailed) {
        expectRows.add(b);
        assertEquals(1f, peersShare + shares[b], 1e-6f,
            "the peers' shares and the fallback's make the whole join");
        assertTrue(shares[b] > 0 && shares[b] < 1, "the fallback holds the failed peers' gates");
        float[] f = student.fn.apply(row);
        for (int e = 0; e < 2; e++) {
          expected[e] += shares[b] * f[e];
        }
      } else {
        assertEquals(0f, shares[b]);
        assertEquals(1f, peersShare, 1e-6f);
      }
      assertArrayEquals(expected, Arrays.copyOfRange(joined, b * 2, b * 2 + 2), 1e-5f);
    }
    assertArrayEquals(expectRows.stream().mapToInt(Integer::intValue).toArray(),
        out.fallback().rows());
    assertEquals(1, student.inputs.size(), "the fallback is asked once, with every row it fills");
    assertEquals(expectRows.size(), student.rowsReceived());
    assertTrue(out.fallback().isSuccess());
    List<PeerGradient> grads = g.backward(out, Tensor.ofFloats(new float[12], 6, 1, 2));
    assertEquals(List.of(0, 3), grads.stream().map(PeerGradient::peer).toList(),
        "the peers that answered get gradients; the fallback none");
    assertTrue(student.gradients.isEmpty());
    double[] importance = g.importance();
    assertEquals(0, importance[1]);
    assertEquals(0, importance[2]);
  }

  /** A fallback that fails too changes nothing: the gate renormalises over the peers that did. */
  @Test
  void aFailingFallbackLeavesTheRenormalisedJoin() {
    Random r = new Random(22);
    List<FnPeer> ps = peers(3, 2, 2);
    ps.get(0).failWith = Status.UNAVAILABLE;
    FnPeer student = new FnPeer(2, TestPeers.projection(2, 2, 5));
    student.failWith = Status.INTERNAL_ERROR;
    NoisyTopKGate with = NoisyTopKGate.builder().peers(ps).k(2).contextDim(2).outputDim(2)
        .seed(22).fallback(student).build();
    NoisyTopKGate without = NoisyTopKGate.builder().peers(ps).k(2).contextDim(2).outputDim(2)
        .seed(22).build();
    Random init = new Random(5);
    randomise(with, init, 0.8);
    init = new Random(5);
    randomise(without, init, 0.8);
    Tensor x = TestPeers.batch(r, 8, 2);
    ForwardRequest req = new ForwardRequest(Modality.TENSOR, x);
    Gated a = with.forwardAndWait(req, Learner.flatten(x), false, TIMEOUT);
    Gated b = without.forwardAndWait(req, Learner.flatten(x), false, TIMEOUT);
    assertArrayEquals(b.output().toFloatArray(), a.output().toFloatArray());
    assertTrue(a.fallback() != null && !a.fallback().isSuccess(), "asked, and failed");
    assertArrayEquals(new float[8], a.fallbackShares());
    assertEquals(null, b.fallback());
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void excludedPeersAreNeverAskedAndKeepNoImportance(boolean training) {
    Random r = new Random(21);
    List<FnPeer> ps = peers(6, 4, 3);
    NoisyTopKGate g = NoisyTopKGate.builder().peers(ps).k(2).contextDim(4).outputDim(3).seed(3)
        .exclude(1, 4).build();
    randomise(g, r, 1);
    // Make the excluded peers the gate's favourites: they must still not be chosen.
    g.parameters().get(1).values()[1] = 50f;
    g.parameters().get(1).values()[4] = 40f;
    for (int step = 0; step < 5; step++) {
      Tensor x = TestPeers.batch(r, 16, 4);
      Gated out = g.forwardAndWait(new ForwardRequest(Modality.TENSOR, x), Learner.flatten(x),
          training, TIMEOUT);
      for (int[] sel : out.selected()) {
        assertEquals(2, sel.length);
        assertTrue(sel[0] != 1 && sel[0] != 4 && sel[1] != 1 && sel[1] != 4,
            Arrays.toString(sel));
      }
      if (training) {
        g.backward(out, out.output());
        assertTrue(Double.isFinite(g.balanceLoss()), "balance loss " + g.balanceLoss());
        g.step();
      }
    }
    assertEquals(0, ps.get(1).rowsReceived() + ps.get(4).rowsReceived());
    if (training) {
      double[] imp = g.importance();
      assertEquals(0, imp[1]);
      assertEquals(0, imp[4]);
      assertEquals(1, Arrays.stream(imp).sum(), 1e-9);
    }
    for (Parameter p : g.parameters()) {
      for (float v : p.values()) {
        assertTrue(Float.isFinite(v), p.name());
      }
    }
  }

  /**
   * With peers excluded, k may equal the peers left: every example goes to all of them, so there
   * is no load to balance and no (k+1)-th logit to measure it against.
   */
  @Test
  void aGateRoutingToEveryPeerNotExcludedTrains() {
    Random r = new Random(23);
    List<FnPeer> ps = peers(4, 4, 3);
    NoisyTopKGate g = NoisyTopKGate.builder().peers(ps).k(2).contextDim(4).outputDim(3).seed(5)
        .importanceWeight(0.1).loadWeight(0.1).exclude(0, 2).build();
    randomise(g, r, 1);
    for (int step = 0; step < 3; step++) {
      Tensor x = TestPeers.batch(r, 8, 4);
      Gated out = g.forwardAndWait(new ForwardRequest(Modality.TENSOR, x), Learner.flatten(x),
          true, TIMEOUT);
      for (int[] sel : out.selected()) {
        assertEquals(Set.of(1, 3), Set.of(sel[0], sel[1]));
      }
      g.backward(out, out.output());
      assertTrue(Double.isFinite(g.balanceLoss()) && g.balanceLoss() >= 0,
          "balance loss " + g.balanceLoss());
      g.step();
    }
  }

  /**
   * The importance loss is {@code w CV^2} of each peer's summed routing gates over the batch (the
   * excluded peers left out): checked against the gates the forward reports, which are the
   * routing gates when every peer answers.
   */
  @ParameterizedTest
  @ValueSource(longs = {31, 32, 33, 34})
  void theImportanceLossIsTheCoefficientOfVariationOfTheGatesSums(long seed) {
    Random r = new Random(seed);
    int n = 6;
    List<FnPeer> ps = peers(n, 4, 3);
    double w = 0.25;
    int[] excluded = seed % 2 == 0 ? new int[0] : new int[] {4};
    NoisyTopKGate g = NoisyTopKGate.builder().peers(ps).k(2).contextDim(4).outputDim(3)
        .seed(seed).importanceWeight(w).loadWeight(0).exclude(excluded).build();
    randomise(g, r, 1);
    Tensor x = TestPeers.batch(r, 10, 4);
    Gated out = g.forwardAndWait(new ForwardRequest(Modality.TENSOR, x), Learner.flatten(x),
        true, TIMEOUT);
    g.backward(out, out.output());
    double[] importance = new double[n];
    for (int b = 0; b < out.selected().length; b++) {
      for (int s = 0; s < out.selected()[b].length; s++) {
        importance[out.selected()[b][s]] += out.gates()[b][s];
      }
    }
    double[] kept = java.util.stream.IntStream.range(0, n)
        .filter(j -> Arrays.stream(excluded).noneMatch(e -> e == j))
        .mapToDouble(j -> importance[j]).toArray();
    double mean = Arrays.stream(kept).average().orElseThrow();
    double variance = Arrays.stream(kept).map(v -> (v - mean) * (v - mean)).average()
        .orElseThrow();
    assertTrue(variance > 0, "the gates are uneven: " + Arrays.toString(kept));
    assertEquals(w * variance / (mean * mean), g.balanceLoss(), 1e-5,
        "seed " + seed + ": " + Arrays.toString(kept));
  }

  @Test
  void exclusionMisuseNamesTheProblem() {
    List<FnPeer> ps = peers(3, 2, 2);
    assertThrows(IllegalArgumentException.class, () -> NoisyTopKGate.builder().exclude(-1));
    var s = assertThrows(IllegalStateException.class, () -> NoisyTopKGate.builder().peers(ps)
        .k(1).contextDim(2).outputDim(2).exclude(3).build());
    assertTrue(s.getMessage().contains("excluded peer 3 is not in the list of 3 peers"),
        s.getMessage());
    s = assertThrows(IllegalStateException.class, () -> NoisyTopKGate.builder().peers(ps).k(2)
        .contextDim(2).outputDim(2).exclude(0, 2).build());
    assertTrue(s.getMessage().contains("number of peers not excluded, 1, was 2"), s.getMessage());
  }

  @Test
  void eachExamplesStandInIsItsBestUnroutedPeerByTheNoiselessLogitsAskedOnceWithItsRows() {
    Random r = new Random(21);
    List<FnPeer> ps = peers(6, 4, 3);
    NoisyTopKGate g = NoisyTopKGate.builder().peers(ps).k(2).contextDim(4).outputDim(3).seed(21)
        .exclude(5).build();
    randomise(g, r, 1);
    Tensor x = TestPeers.batch(r, 30, 4);
    ForwardRequest req = new ForwardRequest(Modality.TENSOR, x);
    Gated out = g.forwardAndWait(req, Learner.flatten(x), true, TIMEOUT);
    int[] before = ps.stream().mapToInt(FnPeer::rowsReceived).toArray();
    int[] callsBefore = ps.stream().mapToInt(p -> p.inputs.size()).toArray();
    StandIns s = g.askStandIns(out, req, TIMEOUT).join();
    // The noiseless logits, x W_g + b_g, computed here from the parameters.
    float[] clean = new float[30 * 6];
    NnOps.denseForward(x.toFloatArray(), 30, 4, g.parameters().get(0).values(),
        g.parameters().get(1).values(), 6, clean);
    int[][] sel = out.selected();
    int[] next = s.peers();
    float[][] answers = s.answers();
    float[] all = x.toFloatArray();
    for (int b = 0; b < 30; b++) {
      int best = -1;
      for (int j = 0; j < 5; j++) {
        boolean routed = j == sel[b][0] || j == sel[b][1];
        if (!routed && (best < 0 || clean[b * 6 + j] > clean[b * 6 + best])) {
          best = j;
        }
      }
      assertEquals(best, next[b], "example " + b + ", routed to " + Arrays.toString(sel[b]));
      assertArrayEquals(ps.get(best).fn.apply(Arrays.copyOfRange(all, b * 4, b * 4 + 4)),
          answers[b], "example " + b + "'s stand-in answered its own row");
    }
    int extra = 0;
    for (int j = 0; j < 6; j++) {
      int rows = ps.get(j).rowsReceived() - before[j];
      int jj = j;
      int expected = (int) Arrays.stream(next).filter(p -> p == jj).count();
      assertEquals(expected, rows, "peer " + j + " asked for exactly the rows it stands in for");
      assertEquals(expected == 0 ? 0 : 1, ps.get(j).inputs.size() - callsBefore[j],
          "peer " + j + " asked once if it stands in at all");
      extra += rows;
    }
    assertEquals(30, extra, "one more answer per example");
    assertEquals(30L * 3 * 4, s.bytesReceived());
    assertEquals(30L * 4 * 4, s.bytesSent());
    // Nothing was consumed: the forward still back-propagates.
    g.backward(out, Tensor.ofFloats(new float[30 * 3], 30, 1, 3));
  }

  @Test
  void aGateThatRoutesToEveryPeerHasNoStandInsAndAsksNobody() {
    List<FnPeer> ps = peers(3, 4, 3);
    NoisyTopKGate g = gate(ps, 3, 4, 3, 2);
    Tensor x = TestPeers.batch(new Random(22), 5, 4);
    ForwardRequest req = new ForwardRequest(Modality.TENSOR, x);
    Gated out = g.forwardAndWait(req, Learner.flatten(x), true, TIMEOUT);
    StandIns s = g.askStandIns(out, req, TIMEOUT).join();
    assertArrayEquals(new int[] {-1, -1, -1, -1, -1}, s.peers());
    assertTrue(s.calls().isEmpty());
    assertEquals(0, s.bytesReceived());
    assertEquals(1, ps.get(0).inputs.size(), "only the forward asked");
  }

  @Test
  void standInsNeedAPendingTrainingForwardOfTheSameBatch() {
    List<FnPeer> ps = peers(4, 4, 3);
    NoisyTopKGate g = gate(ps, 2, 4, 3, 3);
    Tensor x = TestPeers.batch(new Random(23), 5, 4);
    ForwardRequest req = new ForwardRequest(Modality.TENSOR, x);
    Gated inference = g.forwardAndWait(req, Learner.flatten(x), false, TIMEOUT);
    var e = assertThrows(IllegalArgumentException.class,
        () -> g.askStandIns(inference, req, TIMEOUT));
    assertTrue(e.getMessage().contains("not a pending training result"), e.getMessage());
    Gated training = g.forwardAndWait(req, Learner.flatten(x), true, TIMEOUT);
    Tensor other = TestPeers.batch(new Random(24), 6, 4);
    e = assertThrows(IllegalArgumentException.class,
        () -> g.askStandIns(training, new ForwardRequest(Modality.TENSOR, other), TIMEOUT));
    assertTrue(e.getMessage().contains("the forward's batch of 5 examples"), e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> g.askStandIns(training, req, Duration.ZERO));
  }

  /**
   * Past 64 training results never back-propagated, the oldest is forgotten, not one at random:
   * an identity map's order is by hash, so the result just made could go at once.
   */
  @Test
  void pastSixtyFourPendingResultsTheOldestIsForgottenNotTheNewest() {
    List<FnPeer> ps = peers(3, 2, 2);
    NoisyTopKGate g = gate(ps, 1, 2, 2, 7);
    Tensor x = TestPeers.batch(new Random(7), 2, 2);
    ForwardRequest req = new ForwardRequest(Modality.TENSOR, x);
    List<Gated> made = new ArrayList<>();
    for (int i = 0; i < 65; i++) {
      made.add(g.forwardAndWait(req, Learner.flatten(x), true, TIMEOUT));
    }
    Tensor dG = Tensor.zeros(io.bittensor.core.DType.FLOAT32, 2, 1, 2);
    for (int i = 64; i >= 1; i--) {
      Gated out = made.get(i);
      assertDoesNotThrow(() -> g.backward(out, dG), "result " + i + " of 0..64");
    }
    var e = assertThrows(IllegalArgumentException.class, () -> g.backward(made.get(0), dG));
    assertTrue(e.getMessage().contains("not a pending training result"), e.getMessage());
    // The message names the cause that applies here, not only the misuses it does not.
    assertTrue(e.getMessage().contains("oldest of more than 64"), e.getMessage());
  }

  /**
   * In the warm-up the balancing losses carry the warm-up weight, as in a gate built with that
   * weight; after it they carry the gate's own, as in a gate built without a warm-up.
   */
  @Test
  void theBalancingWarmupWeighsTheFirstBatchesAndThenTheGatesOwnWeights() {
    List<FnPeer> ps = peers(5, 4, 3);
    NoisyTopKGate warm = NoisyTopKGate.builder().peers(ps).k(2).contextDim(4).outputDim(3)
        .seed(8).importanceWeight(0.01).loadWeight(0.01).balanceWarmup(0.5, 3).build();
    NoisyTopKGate strong = NoisyTopKGate.builder().peers(ps).k(2).contextDim(4).outputDim(3)
        .seed(8).importanceWeight(0.5).loadWeight(0.5).build();
    NoisyTopKGate weak = NoisyTopKGate.builder().peers(ps).k(2).contextDim(4).outputDim(3)
        .seed(8).importanceWeight(0.01).loadWeight(0.01).build();
    for (NoisyTopKGate g : List.of(warm, strong, weak)) {
      randomise(g, new Random(8), 0.7);
    }
    Random r = new Random(9);
    for (int batch = 1; batch <= 5; batch++) {
      Tensor x = TestPeers.batch(r, 6, 4);
      Tensor dG = Tensor.ofFloats(TestPeers.batch(r, 6, 3).toFloatArray(), 6, 1, 3);
      if (batch > 3) {
        // The same parameters in all three, so the losses differ by their weights alone.
        for (NoisyTopKGate other : List.of(strong, weak)) {
          for (int q = 0; q < warm.parameters().size(); q++) {
            float[] v = warm.parameters().get(q).values();
            System.arraycopy(v, 0, other.parameters().get(q).values(), 0, v.length);
          }
        }
      }
      for (NoisyTopKGate g : List.of(warm, strong, weak)) {
        Gated out = g.forwardAndWait(new ForwardRequest(Modality.TENSOR, x), Learner.flatten(x),
            true, TIMEOUT);
        g.backward(out, dG);
        g.step();
      }
      assertTrue(weak.balanceLoss() > 0, "batch " + batch);
      if (batch <= 3) {
        assertEquals(strong.balanceLoss(), warm.balanceLoss(), 0, "batch " + batch);
        for (int q = 0; q < warm.parameters().size(); q++) {
          assertArrayEquals(strong.parameters().get(q).values(),
              warm.parameters().get(q).values(), "batch " + batch);
        }
      } else {
        assertEquals(weak.balanceLoss(), warm.balanceLoss(), 1e-12, "batch " + batch);
        assertEquals(50 * warm.balanceLoss(), strong.balanceLoss(),
            1e-9 * strong.balanceLoss(), "batch " + batch);
      }
    }
    assertThrows(IllegalArgumentException.class,
        () -> NoisyTopKGate.builder().balanceWarmup(-1, 3));
    assertThrows(IllegalArgumentException.class,
        () -> NoisyTopKGate.builder().balanceWarmup(0.05, -1));
  }

  /**
   * An excluded peer's importance is 0 even where the gate has no share to go by: before the
   * first training forward, and after forwards in which every routed peer failed. The uniform
   * row is over the peers the gate may route to.
   */
  @Test
  void theUniformImportanceLeavesOutExcludedPeers() {
    List<FnPeer> ps = peers(3, 3, 2);
    NoisyTopKGate g = NoisyTopKGate.builder().peers(ps).k(1).contextDim(3).outputDim(2).seed(6)
        .exclude(2).build();
    assertArrayEquals(new double[] {0.5, 0.5, 0}, g.importance(), 1e-12, "before training");
    ps.forEach(p -> p.failWith = Status.UNAVAILABLE);
    Tensor x = TestPeers.batch(new Random(6), 4, 3);
    g.forwardAndWait(new ForwardRequest(Modality.TENSOR, x), Learner.flatten(x), true, TIMEOUT);
    assertArrayEquals(new double[] {0.5, 0.5, 0}, g.importance(), 1e-12, "all failed");
  }

  @Test
  void importanceFollowsTheGateAndStartsUniform() {
    Random r = new Random(5);
    List<FnPeer> ps = peers(4, 2, 2);
    NoisyTopKGate g = NoisyTopKGate.builder().peers(ps).k(1).contextDim(2).outputDim(2)
        .noise(false).build();
    assertArrayEquals(new double[] {0.25, 0.25, 0.25, 0.25}, g.importance(), 1e-12);
    g.parameters().get(1).values()[2] = 5f; // the bias of peer 2: every example goes there
    Tensor x = TestPeers.batch(r, 8, 2);
    g.forwardAndWait(new ForwardRequest(Modality.TENSOR, x), Learner.flatten(x), true, TIMEOUT);
    assertArrayEquals(new double[] {0, 0, 1, 0}, g.importance(), 1e-12);
    assertEquals(8, ps.get(2).rowsReceived());
    assertFalse(ps.get(0).rowsReceived() > 0, "the others were not asked");
  }

  @Test
  void misuseNamesTheProblem() {
    List<FnPeer> ps = peers(3, 2, 2);
    NoisyTopKGate g = gate(ps, 2, 2, 2, 6);
    Tensor x = TestPeers.batch(new Random(6), 4, 2);
    ForwardRequest req = new ForwardRequest(Modality.TENSOR, x);
    var e = assertThrows(IllegalArgumentException.class,
        () -> g.forward(req, Tensor.zeros(io.bittensor.core.DType.FLOAT32, 4, 3), true, TIMEOUT));
    assertTrue(e.getMessage().contains("context must be FLOAT32 [4, 2]"), e.getMessage());
    Gated inference = g.forwardAndWait(req, Learner.flatten(x), false, TIMEOUT);
    e = assertThrows(IllegalArgumentException.class,
        () -> g.backward(inference, inference.output()));
    assertTrue(e.getMessage().contains("not a pending training result"), e.getMessage());
    Gated training = g.forwardAndWait(req, Learner.flatten(x), true, TIMEOUT);
    e = assertThrows(IllegalArgumentException.class,
        () -> g.backward(training, Tensor.zeros(io.bittensor.core.DType.FLOAT32, 4, 1, 3)));
    assertTrue(e.getMessage().contains("gradient must be FLOAT32 [4, 1, 2]"), e.getMessage());
    var s = assertThrows(IllegalStateException.class,
        () -> NoisyTopKGate.builder().peers(ps).k(4).contextDim(2).outputDim(2).build());
    assertTrue(s.getMessage().contains("k must be at most the number of peers, 3, was 4"),
        s.getMessage());
    assertThrows(IllegalArgumentException.class, () -> NoisyTopKGate.builder().peers(List.of()));
  }
}
