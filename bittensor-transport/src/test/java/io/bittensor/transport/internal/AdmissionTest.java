package io.bittensor.transport.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.bittensor.core.Rejection;
import io.bittensor.core.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class AdmissionTest {
  private final AtomicLong now = new AtomicLong();
  private final List<String> started = new ArrayList<>();
  private final List<String> rejected = new ArrayList<>();

  private void submit(Admission a, String name, double priority) {
    a.submit(priority, () -> started.add(name), (Rejection r) -> {
      assertEquals(Status.BACKOFF, r.status(), r.toString());
      rejected.add(name);
    });
  }

  @Test
  void higherStakeRunsFirstAndAnonymousLast() {
    Admission a = new Admission(1, 10, 1_000, now::get);
    submit(a, "first", 0);
    submit(a, "anon", Admission.ANONYMOUS);
    submit(a, "low", 1);
    submit(a, "high", 9);
    submit(a, "mid", 5);
    assertEquals(List.of("first"), started);
    for (int i = 0; i < 4; i++) {
      a.release();
    }
    assertEquals(List.of("first", "high", "mid", "low", "anon"), started);
    a.release();
    assertEquals(0, a.running());
  }

  @Test
  void equalStakeIsServedInOrderOfArrival() {
    Admission a = new Admission(1, 10, 1_000, now::get);
    for (String n : List.of("a", "b", "c", "d")) {
      submit(a, n, 3);
    }
    a.release();
    a.release();
    a.release();
    assertEquals(List.of("a", "b", "c", "d"), started);
  }

  @Test
  void aFullQueueTurnsAwayTheLowestStake() {
    Admission a = new Admission(1, 2, 1_000, now::get);
    submit(a, "running", 0);
    submit(a, "low", 1);
    submit(a, "mid", 5);
    submit(a, "lowest", 0.5); // below everyone queued: turned away
    submit(a, "high", 9);     // evicts "low"
    assertEquals(List.of("lowest", "low"), rejected);
    a.release();
    a.release();
    assertEquals(List.of("running", "high", "mid"), started);
  }

  @Test
  void callsThatWaitedTooLongAreTurnedAway() {
    Admission a = new Admission(1, 10, 1_000, now::get);
    submit(a, "running", 0);
    submit(a, "stale", 5);
    now.set(2_000);
    submit(a, "fresh", 1);
    a.release();
    assertEquals(List.of("stale"), rejected);
    assertEquals(List.of("running", "fresh"), started);
  }

  /**
   * Turned away behind callers of the same stake (every caller, without a stake source), the
   * message does not say that they have more.
   */
  @Test
  void aCallTurnedAwayBehindEqualStakeIsNotToldTheyHaveMore() {
    Admission a = new Admission(1, 1, 1_000, now::get);
    List<String> messages = new ArrayList<>();
    a.submit(0, () -> { }, r -> messages.add(r.message()));
    a.submit(0, () -> { }, r -> messages.add(r.message()));
    a.submit(0, () -> { }, r -> messages.add(r.message()));
    assertEquals(List.of("overloaded: 1 calls running and 1 waiting with as much stake or more"),
        messages);
  }

  @Test
  void aNewcomerOfTheSameStakeAsTheLastWaiterDoesNotTakeItsPlace() {
    Admission a = new Admission(1, 1, 1_000, now::get);
    submit(a, "running", 0);
    submit(a, "waiting", 4);
    submit(a, "same", 4); // no better than the one already waiting: turned away
    assertEquals(List.of("same"), rejected);
    a.release();
    assertEquals(List.of("running", "waiting"), started);
  }

  @Test
  void aCallThatWaitedExactlyTheLimitStillRunsAndOneNanosecondMoreDoesNot() {
    long limit = 5_000_000; // 5 ms
    Admission a = new Admission(1, 10, limit, now::get);
    List<String> messages = new ArrayList<>();
    submit(a, "running", 0);
    submit(a, "on time", 2);
    now.set(limit);
    a.release();
    assertEquals(List.of("running", "on time"), started);
    a.submit(1, () -> started.add("late"), r -> messages.add(r.message()));
    now.set(2 * limit + 1);
    a.release();
    assertEquals(List.of("waited longer than 5 ms for a free slot"), messages);
    assertEquals(List.of("running", "on time"), started);
    assertEquals(0, a.running(), "the slot is free again");
  }

  @Test
  void slotsAreBoundedAndReturned() {
    Admission a = new Admission(3, 0, 1_000, now::get);
    for (int i = 0; i < 5; i++) {
      submit(a, "c" + i, 0);
    }
    assertEquals(3, a.running());
    assertEquals(List.of("c3", "c4"), rejected);
    a.release();
    a.release();
    a.release();
    assertEquals(0, a.running());
  }
}
