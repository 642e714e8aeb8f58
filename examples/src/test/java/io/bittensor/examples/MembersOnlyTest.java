package io.bittensor.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.Status;
import io.bittensor.examples.MembersOnly.Call;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class MembersOnlyTest {
  @Test
  void strangersAreRefusedMembersAnsweredAndOnlyStakersTeach() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    List<Call> calls;
    try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
      calls = MembersOnly.run(out);
    }
    assertEquals(List.of(
        new Call("stranger", "forward", Status.UNAUTHENTICATED),
        new Call("stranger", "backward", Status.UNAUTHENTICATED),
        new Call("member", "forward", Status.SUCCESS),
        new Call("member", "backward", Status.UNAUTHENTICATED),
        new Call("staked member", "forward", Status.SUCCESS),
        new Call("staked member", "backward", Status.SUCCESS)), calls);
    String printed = bytes.toString(StandardCharsets.UTF_8);
    assertTrue(printed.endsWith("the model learned from 1 gradient(s)" + System.lineSeparator()),
        printed);
  }
}
