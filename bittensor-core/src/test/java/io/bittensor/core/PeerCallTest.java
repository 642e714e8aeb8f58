package io.bittensor.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * {@link PeerCall} and {@link FallbackCall}: the rows of a call ascend, each once, from 0, as
 * their docs say; rows that do not are refused, naming the row, as is a call holding a row past
 * its batch in {@link Gated}.
 */
class PeerCallTest {
  private static final Peer IDLE = request -> new CompletableFuture<>();

  private static Tensor input(int rows) {
    return Tensor.ofFloats(new float[rows * 2], rows, 2);
  }

  private static QueryResult answered(Tensor input) {
    return new QueryResult(IDLE, ForwardResult.success(input), input, Duration.ZERO);
  }

  private static final List<int[]> BAD_ROWS =
      List.of(new int[] {1, 0}, new int[] {2, 2}, new int[] {-1, 3});

  @Test
  void rowsThatDoNotAscendEachOnceFromZeroAreRefused() {
    for (int[] rows : BAD_ROWS) {
      Tensor in = input(rows.length);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> new PeerCall(0, rows, in, answered(in)), java.util.Arrays.toString(rows));
      assertTrue(e.getMessage().contains("rows must ascend, each once, from 0"), e.getMessage());
      e = assertThrows(IllegalArgumentException.class,
          () -> new FallbackCall(rows, new float[rows.length], in, answered(in)),
          java.util.Arrays.toString(rows));
      assertTrue(e.getMessage().contains("rows must ascend, each once, from 0"), e.getMessage());
    }
    NullPointerException npe = assertThrows(NullPointerException.class,
        () -> new PeerCall(0, null, input(1), answered(input(1))));
    assertTrue(String.valueOf(npe.getMessage()).contains("rows"), npe.getMessage());
    npe = assertThrows(NullPointerException.class,
        () -> new FallbackCall(null, new float[1], input(1), answered(input(1))));
    assertTrue(String.valueOf(npe.getMessage()).contains("rows"), npe.getMessage());
  }

  @Test
  void ascendingRowsAreKeptAndACallPastItsBatchIsRefused() {
    Tensor in = input(2);
    PeerCall call = new PeerCall(3, new int[] {0, 5}, in, answered(in));
    assertArrayEquals(new int[] {0, 5}, call.rows());
    FallbackCall fallback = new FallbackCall(new int[] {1, 4}, new float[] {0.5f, 1}, in,
        answered(in));
    assertArrayEquals(new int[] {1, 4}, fallback.rows());
    Tensor out = input(6);
    int[][] selected = new int[6][0];
    float[][] gates = new float[6][0];
    new Gated(out, selected, gates, List.of(call), fallback);
    Tensor small = input(5);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new Gated(small, new int[5][0], new float[5][0], List.of(call)));
    assertTrue(e.getMessage().contains("the call to peer 3 holds row 5 of a batch of 5"),
        e.getMessage());
  }
}
