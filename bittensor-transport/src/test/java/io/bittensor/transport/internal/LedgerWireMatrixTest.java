package io.bittensor.transport.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.incentive.PeerMatrix;
import io.bittensor.transport.internal.wire.SparseMatrix;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A sparse matrix off the wire is read back exactly, and one whose arrays do not agree is refused
 * with an IllegalArgumentException naming what is wrong, never an index error from inside.
 */
class LedgerWireMatrixTest {

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = ';', value = {
      "a pointer falling back; 0 2 1; 0; 1; rowPtr must not decrease",
      "the last pointer short; 0 1 1; 0 1; 1 1; rowPtr[n] must equal the number of entries",
      "the first pointer not 0; 1 1 1; 0; 1; rowPtr[0] must be 0",
      "a column past the size; 0 1 1; 2; 1; column 2 is out of range",
      "a column past 2^31; 0 1 1; 4294967295; 1; column -1 is out of range",
      "columns repeated; 0 2 2; 1 1; 1 1; strictly increasing",
      "a negative value; 0 1 1; 1; -1; must be finite and >= 0",
      "a value missing; 0 1 1; 1; ; as many values as columns",
      "a pointer missing; 0 1; 1; 1; needs 3 row pointers"})
  void aMatrixWhoseArraysDisagreeIsRefused(String what, String rowPtr, String cols,
      String values, String expected) {
    SparseMatrix.Builder b = SparseMatrix.newBuilder().setSize(2);
    for (long p : longs(rowPtr)) {
      b.addRowPtr((int) p);
    }
    for (long c : longs(cols)) {
      b.addCols((int) c);
    }
    for (long v : longs(values)) {
      b.addValues(v);
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LedgerWire.fromWire(b.build()), what);
    assertTrue(e.getMessage().contains(expected), what + ": " + e.getMessage());
  }

  @ParameterizedTest(name = "{0} peers")
  @CsvSource({"0", "1", "3"})
  void aWellFormedMatrixReadsBackExactly(int n) {
    double[][] rows = new double[n][n];
    for (int i = 0; i < n; i++) {
      rows[i][(i + 1) % n] = 0.25 + i;
    }
    PeerMatrix m = PeerMatrix.dense(rows).toCsr();
    assertEquals(m, LedgerWire.fromWire(LedgerWire.toWire(m)));
  }

  private static List<Long> longs(String s) {
    if (s == null || s.isBlank()) {
      return List.of();
    }
    return java.util.Arrays.stream(s.trim().split(" +")).map(Long::parseLong).toList();
  }
}
