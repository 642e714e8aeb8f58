package io.bittensor.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class StatusTest {
  @Test
  void wireCodesAreStable() {
    // These numbers are the protocol: changing one breaks every deployed peer.
    int[] expected = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    String[] names = {"SUCCESS", "TIMEOUT", "UNAVAILABLE", "BACKOFF", "BAD_REQUEST", "BAD_SHAPE",
        "BAD_SIGNATURE", "STALE", "REPLAYED", "UNKNOWN_MODALITY", "PAYLOAD_TOO_LARGE",
        "NOT_IMPLEMENTED", "INTERNAL_ERROR", "UNAUTHENTICATED", "UNSUPPORTED_VERSION", "CANCELLED",
        "BAD_RESPONSE"};
    for (int i = 0; i < names.length; i++) {
      assertEquals(expected[i], Status.valueOf(names[i]).code(), names[i]);
    }
    assertEquals(1, Modality.TEXT.code());
    assertEquals(4, Modality.TENSOR.code());
    assertEquals(1, DType.FLOAT32.code());
    assertEquals(3, DType.UINT8.code());
  }

  @Test
  void codesRoundTripAndUnknownCodesAreEmpty() {
    Set<Integer> seen = new HashSet<>();
    for (Status s : Status.values()) {
      assertTrue(seen.add(s.code()), "duplicate code " + s.code());
      assertEquals(Optional.of(s), Status.ofCode(s.code()));
    }
    assertEquals(Optional.empty(), Status.ofCode(-1));
    assertEquals(Optional.empty(), Status.ofCode(999));
    assertEquals(Optional.empty(), Modality.ofCode(0));
    assertEquals(Optional.empty(), DType.ofCode(42));
  }

  @Test
  void retryHintsSeparateTransientFailures() {
    assertTrue(Status.TIMEOUT.retryable());
    assertTrue(Status.BACKOFF.retryable());
    assertFalse(Status.BAD_SIGNATURE.retryable());
    assertFalse(Status.SUCCESS.retryable());
  }

  @Test
  void resultsHaveAnOutputExactlyOnSuccess() {
    Tensor y = Tensor.zeros(DType.FLOAT32, 1, 1, 1);
    assertTrue(ForwardResult.success(y).isSuccess());
    assertThrows(IllegalArgumentException.class,
        () -> ForwardResult.failure(Status.SUCCESS, "no output"));
    ForwardResult r = ForwardResult.rejected(Rejection.badRequest("input.dtype", "bad"));
    assertEquals("input.dtype", r.field());
    PeerException e = assertThrows(PeerException.class,
        () -> PeerException.outputOrThrow("peer-a", r));
    assertEquals(Status.BAD_REQUEST, e.status());
    assertEquals("peer-a", e.peer());
    assertFalse(e.retryable());
    assertTrue(e.getMessage().contains("input.dtype"), e.getMessage());
  }
}
