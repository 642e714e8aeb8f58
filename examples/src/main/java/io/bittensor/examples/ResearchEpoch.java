package io.bittensor.examples;

import io.bittensor.incentive.ConsensusPeg;
import io.bittensor.incentive.EpochResult;
import io.bittensor.incentive.EpochSummary;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.incentive.NetworkState;
import io.bittensor.incentive.PaperMechanism;
import io.bittensor.incentive.PaperParams;
import io.bittensor.incentive.PaperSimulation;
import io.bittensor.incentive.PeerMatrix;
import io.bittensor.incentive.PeerVector;
import java.io.PrintStream;
import java.util.Locale;

/**
 * Calling the incentive mathematics from research code: one epoch of the paper's mechanism on a
 * network of your own, then many epochs with the consensus peg, then a long run in a
 * {@link PaperSimulation} (stake and bonds held and updated in place) where the majority re-votes.
 *
 * <pre>
 * mvn -B -q -pl examples -am package -DskipTests
 * java -cp "examples/target/classes:bittensor-incentive/target/classes" \
 *     io.bittensor.examples.ResearchEpoch
 * </pre>
 */
public final class ResearchEpoch {
  private ResearchEpoch() {}

  public static void main(String[] args) {
    run(System.out);
  }

  static void run(PrintStream out) {
    // README-EXAMPLE-START
    NetworkState state = NetworkState.of(
        PeerVector.of(40, 30, 20, 10),               // stake
        PeerMatrix.dense(new double[][] {            // row i: peer i's weights
            {0, 1, 1, 0},
            {1, 0, 1, 0},
            {1, 1, 0, 0},
            {0, 0, 0, 1}}));                         // peer 3 votes only for itself
    EpochResult epoch = IncentiveMechanism.paper().step(state);
    System.out.println(epoch.incentive());           // [0.191, 0.335, 0.471, 0.003]
    System.out.println(epoch.loss());                // -0.154: most rank has consensus
    // README-EXAMPLE-END
    out.println("incentive " + epoch.incentive());
    out.println("loss " + epoch.loss());

    // Many epochs: stake and bonds carried forward, the peg raised while the loss is positive.
    PaperMechanism mechanism = IncentiveMechanism.paper(PaperParams.defaults().withTau(10));
    ConsensusPeg peg = ConsensusPeg.of(1);
    NetworkState current = state;
    for (int e = 1; e <= 5; e++) {
      EpochResult r = mechanism.step(current);
      peg = peg.afterEpoch(r.loss(), current.size());
      current = mechanism.advance(current, r);
      out.printf(Locale.ROOT, "epoch %d: stake %s loss %.4f minAllowedWeights %d%n",
          e, current.stake(), r.loss(), peg.minAllowedWeights());
    }

    // A long run: the simulation owns stake and bonds and updates them in place (no new n x n
    // bonds per epoch). Halfway, the two largest holders start to value peer 3, and it earns.
    PaperSimulation sim = PaperSimulation.start(mechanism, state);   // state is not modified
    for (int e = 1; e <= 200; e++) {
      if (e == 101) {
        sim.setWeights(PeerMatrix.dense(new double[][] {
            {0, 1, 1, 1}, {1, 0, 1, 1}, {1, 1, 0, 0}, {0, 0, 0, 1}}));
      }
      EpochSummary summary = sim.step();
      if (e == 100 || e == 200) {
        out.printf(Locale.ROOT, "simulation epoch %d: peer 3 incentive %.4f stake %.2f of %.2f%n",
            e, summary.incentive().get(3), summary.stake().get(3), summary.stake().sum());
      }
    }
  }
}
