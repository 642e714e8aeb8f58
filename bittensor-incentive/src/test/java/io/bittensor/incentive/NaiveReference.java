package io.bittensor.incentive;

import org.ejml.simple.SimpleMatrix;

/**
 * The paper's epoch written plainly in EJML matrix algebra, one formula per line, as the oracle
 * the fused kernels are checked against.
 */
final class NaiveReference {
  private NaiveReference() {}

  record Result(
      double[] ranks, double[] trust, double[] consensus, double[] incentive, double[] dividends,
      double[][] bonds, double[] emission, double[] stake, double loss) {}

  static Result step(NetworkState state, PaperParams p) {
    int n = state.size();
    SimpleMatrix W = new SimpleMatrix(state.weights().toArray());
    SimpleMatrix B = new SimpleMatrix(state.bonds().toArray());
    if (p.maskSelfWeights()) {
      for (int i = 0; i < n; i++) {
        W.set(i, i, 0);
      }
    }
    if (p.normalizeRows()) {
      for (int i = 0; i < n; i++) {
        double sum = W.extractVector(true, i).elementSum();
        for (int j = 0; j < n && sum > 0; j++) {
          W.set(i, j, W.get(i, j) / sum);
        }
      }
    }
    SimpleMatrix S = new SimpleMatrix(n, 1, true, state.stake().toArray());
    SimpleMatrix s = S.divide(S.elementSum());
    SimpleMatrix R = W.transpose().mult(s);
    SimpleMatrix T = new SimpleMatrix(n, n);
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        T.set(i, j, W.get(i, j) > 0 ? 1 : 0);
      }
    }
    SimpleMatrix t = T.transpose().mult(s);
    SimpleMatrix C = new SimpleMatrix(n, 1);
    for (int j = 0; j < n; j++) {
      C.set(j, 1 / (1 + Math.exp(-p.rho() * (t.get(j) - p.kappa()))));
    }
    SimpleMatrix RC = R.elementMult(C);
    double total = RC.elementSum();
    SimpleMatrix I = total > 0 ? RC.divide(total) : new SimpleMatrix(n, 1);
    SimpleMatrix Bp = B.plus(SimpleMatrix.diag(s.getDDRM().data).mult(W));
    SimpleMatrix beta = new SimpleMatrix(n, n);
    for (int j = 0; j < n; j++) {
      double col = Bp.extractVector(false, j).elementSum();
      for (int i = 0; i < n && col > 0; i++) {
        beta.set(i, j, Bp.get(i, j) / col);
      }
    }
    SimpleMatrix betaI = beta.mult(I);
    SimpleMatrix dS = I.scale(1 - p.bondShare()).plus(betaI.scale(p.bondShare()));
    double tau = p.emission().amount(S.elementSum());
    SimpleMatrix emission = dS.scale(tau);
    SimpleMatrix newStake = S.plus(emission);
    double loss = -R.transpose().mult(C.minus(0.5)).get(0);
    double[][] bonds = new double[n][n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        bonds[i][j] = Bp.get(i, j);
      }
    }
    return new Result(
        col(R), col(t), col(C), col(I), col(betaI), bonds, col(emission), col(newStake), loss);
  }

  private static double[] col(SimpleMatrix m) {
    double[] out = new double[m.getNumRows()];
    for (int i = 0; i < out.length; i++) {
      out[i] = m.get(i);
    }
    return out;
  }
}
