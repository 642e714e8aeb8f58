package io.bittensor.incentive;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Entry counts that no int holds are refused by name, not wrapped into a negative array size. */
class EntryCountOverflowTest {
  @Test
  void yumaLayoutRefusesWeightsAndBondsThatNoArrayHoldsTogether() {
    // Both fit an array alone; their sum wraps in int (NegativeArraySizeException before).
    ArithmeticException e = assertThrows(ArithmeticException.class,
        () -> YumaLayout.unionCapacity(Integer.MAX_VALUE - 8, 10));
    assertEquals("2147483639 weights and 10 bonds would hold more than 2147483639 entries",
        e.getMessage());
    assertEquals(30, YumaLayout.unionCapacity(10, 20));
  }

  @Test
  void csrBuilderRefusesARowThatTakesItPastWhatAnArrayHolds() {
    // size + row wraps in int, and ensureCapacity then saw nothing to grow.
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> CsrMatrix.entriesAfter(Integer.MAX_VALUE - 10, 20));
    assertEquals("2147483637 entries and a row of 20 would be more than 2147483639",
        e.getMessage());
    assertEquals(30, CsrMatrix.entriesAfter(10, 20));
  }
}
