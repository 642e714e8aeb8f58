package io.bittensor.incentive;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.incentive.testing.RandomNetworks;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class MatrixTest {

  static LongStream seeds() {
    return RandomNetworks.seeds(50);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void denseAndSparseFormsRoundTrip(long seed) {
    PeerMatrix w = RandomNetworks.network(seed, 20).weights();
    DenseMatrix dense = w.toDense();
    CsrMatrix sparse = dense.toCsr();

    assertArrayEquals(dense.toArray(), sparse.toArray(), "seed " + seed);
    assertEquals(dense, sparse.toDense(), "seed " + seed);
    assertEquals(dense.nonZeroCount(), sparse.nonZeroCount(), "seed " + seed);
    for (int i = 0; i < w.size(); i++) {
      assertEquals(dense.rowSum(i), sparse.rowSum(i), 1e-12, "seed " + seed);
      for (int j = 0; j < w.size(); j++) {
        assertEquals(dense.get(i, j), sparse.get(i, j), "seed " + seed);
      }
    }
    assertTrue(dense.approximatelyEquals(sparse, 0));
  }

  @Test
  void builderSortsColumnsAndLeavesSkippedRowsEmpty() {
    CsrMatrix m = CsrMatrix.builder(4)
        .row(1, new int[] {3, 0}, new double[] {0.75, 0.25})
        .row(3, new int[] {2}, new double[] {1})
        .build();

    assertArrayEquals(new double[][] {{0, 0, 0, 0}, {0.25, 0, 0, 0.75}, {0, 0, 0, 0},
        {0, 0, 1, 0}}, m.toArray());
    assertEquals(0, m.rowEnd(0) - m.rowStart(0));
    assertEquals(3, m.storedCount());
    assertEquals(0, m.colAt(m.rowStart(1)));
  }

  @Test
  void aRefusedRowLeavesTheBuilderAsItWas() {
    CsrMatrix.Builder b = CsrMatrix.builder(3).row(0, new int[] {1}, new double[] {1});
    assertThrows(IllegalArgumentException.class,
        () -> b.row(1, new int[] {2, 0, 2}, new double[] {1, 1, 1}));
    assertThrows(IllegalArgumentException.class,
        () -> b.row(1, new int[] {0, 1}, new double[] {1, -1}));
    CsrMatrix m = b.row(1, new int[] {0}, new double[] {5}).build();

    assertArrayEquals(new double[][] {{0, 1, 0}, {5, 0, 0}, {0, 0, 0}}, m.toArray());
    assertEquals(2, m.storedCount());
  }

  @Test
  void builderWithAnExactSizeAdoptsItsArrays() {
    CsrMatrix m = CsrMatrix.builder(2, 2)
        .row(0, new int[] {1}, new double[] {1})
        .row(1, new int[] {0}, new double[] {1})
        .build();
    assertEquals(2, m.columns().capacity());
  }

  @Test
  void inputsAreCopiedSoLaterChangesDoNotShow() {
    double[][] rows = {{0, 1}, {1, 0}};
    DenseMatrix m = DenseMatrix.of(rows);
    rows[0][1] = 5;
    assertEquals(1.0, m.get(0, 1));

    double[] vals = {1};
    CsrMatrix c = CsrMatrix.of(2, new int[] {0, 1, 1}, new int[] {1}, vals);
    vals[0] = 9;
    assertEquals(1.0, c.get(0, 1));

    double[] stake = {1, 2};
    PeerVector v = PeerVector.of(stake);
    stake[0] = 7;
    assertEquals(1.0, v.get(0));
    v.toArray()[1] = 8;
    assertEquals(2.0, v.get(1));
  }

  @Test
  void readOnlyViewsCannotBeWritten() {
    CsrMatrix c = CsrMatrix.of(2, new int[] {0, 1, 1}, new int[] {1}, new double[] {1});
    assertTrue(c.values().isReadOnly());
    assertTrue(c.columns().isReadOnly());
    assertThrows(java.nio.ReadOnlyBufferException.class, () -> c.values().put(0, 2.0));
  }

  @Test
  void explicitZerosAreStoredButAreNotNonZero() {
    CsrMatrix c = CsrMatrix.of(2, new int[] {0, 2, 2}, new int[] {0, 1}, new double[] {0, 1});
    assertEquals(2, c.storedCount());
    assertEquals(1, c.nonZeroCount());
    assertEquals(c.toDense().toCsr().toDense(), c.toDense());
  }

  @Test
  void equalityIsByValue() {
    assertEquals(PeerVector.of(1, 2), PeerVector.of(1, 2));
    assertNotEquals(PeerVector.of(1, 2), PeerVector.of(2, 1));
    assertEquals(PeerMatrix.dense(new double[][] {{1}}), PeerMatrix.dense(new double[][] {{1}}));
    assertFalse(PeerMatrix.zeros(2).approximatelyEquals(PeerMatrix.zeros(3), 1));
    assertEquals(PeerVector.of(1, 2).hashCode(), PeerVector.of(1, 2).hashCode());
  }

  @Test
  void rowMajorDataIsCopiedAndReadBackByRow() {
    double[] data = {0, 1, 2, 3, 4, 5, 6, 7, 8};
    DenseMatrix m = DenseMatrix.ofRowMajor(3, data);
    data[4] = 99;
    assertArrayEquals(new double[] {3, 4, 5}, m.row(1));
    assertArrayEquals(new double[] {6, 7, 8}, m.row(2));
    assertEquals(5.0, m.get(1, 2));
    m.row(0)[0] = 42;
    assertEquals(0.0, m.get(0, 0), "row() is a copy");
    assertEquals(m, DenseMatrix.of(new double[][] {{0, 1, 2}, {3, 4, 5}, {6, 7, 8}}));
    assertThrows(IndexOutOfBoundsException.class, () -> m.row(3));
    assertThrows(IndexOutOfBoundsException.class, () -> m.row(-1));
  }

  @Test
  void denseMatricesRefuseSizesThatDoNotFitAnArray() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> CsrMatrix.zeros(DenseMatrix.MAX_SIZE + 1).toDense());
    assertTrue(e.getMessage().contains("at most " + DenseMatrix.MAX_SIZE));
  }
}
