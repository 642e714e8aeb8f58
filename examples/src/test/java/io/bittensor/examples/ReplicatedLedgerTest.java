package io.bittensor.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.raft.RaftLedger;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class ReplicatedLedgerTest {
  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void theGroupGoesOnWithoutItsLeaderWhichCatchesUpOnReturn() throws Exception {
    // Run as documented: main works in a temporary folder, and leaves none of it behind.
    List<String> lines = TemporaryFolderTest.printedBy("replicated-ledger",
        () -> ReplicatedLedger.main(new String[0])).lines().toList();
    assertEquals(7, lines.size(), String.join("\n", lines));
    String leader = lines.get(0).substring("leader ".length());
    assertTrue(lines.get(2).startsWith(leader + " stopped; registered carol"), lines.get(2));
    assertTrue(!lines.get(2).endsWith("new leader " + leader), lines.get(2));
    assertTrue(lines.get(3).startsWith(leader + " is back") && lines.get(3).endsWith("3 peers"),
        lines.get(3));
    assertEquals("same state on every member: true", lines.get(4));
    assertTrue(lines.get(5).startsWith(leader + " read back 3 registrations; blocks 1 to ")
        && lines.get(5).endsWith(" replay from genesis"), lines.get(5));
    assertEquals("members [a, b, c]", lines.get(6));
  }

  @Test
  void waitingForALeaderThatIsNeverElectedEndsAtItsDeadline() {
    // No member runs, so none becomes leader: the wait gives up instead of spinning forever.
    RaftLedger[] none = new RaftLedger[3];
    TimeoutException e = assertTimeoutPreemptively(Duration.ofSeconds(10),
        () -> assertThrows(TimeoutException.class,
            () -> ReplicatedLedger.awaitLeader(none, Duration.ofMillis(100))));
    assertEquals("no member of [a, b, c] became leader within 100 ms", e.getMessage());
  }
}
