package io.bittensor.raft.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.net.BindException;
import org.junit.jupiter.api.Test;

/** The message of a member Ratis stopped as it started (a real port taken: RaftLedgerTest). */
class RatisExitsTest {
  @Test
  void anExitThatIsNoBindFailureSaysSoWithRatisReasons() {
    // As Ratis wraps a failure it ends a server for, with a wrapper that repeats its cause.
    IOException cause = new IOException("the state machine could not read its snapshot");
    RuntimeException exit = new RuntimeException("Failed to start Grpc server",
        new RuntimeException(cause.toString(), cause));
    assertEquals("the Raft member m2 could not start its server on 127.0.0.1:34801: Failed to"
        + " start Grpc server: java.io.IOException: the state machine could not read its"
        + " snapshot", RatisExits.startFailure("m2", "127.0.0.1:34801", exit));
  }

  @Test
  void aBindFailureNamesTheAddressAndHintsAtAPortInUseOnlyWhenItIs() {
    RuntimeException inUse = new RuntimeException("Failed to start Grpc server",
        new IOException("Failed to bind to address /127.0.0.1:9",
            new BindException("Address already in use")));
    assertEquals("the Raft member a could not listen on 127.0.0.1:9 (is the port taken by"
        + " another process?): Failed to start Grpc server: Failed to bind to address"
        + " /127.0.0.1:9: Address already in use", RatisExits.startFailure("a", "127.0.0.1:9",
            inUse));
    RuntimeException notHere = new RuntimeException("Failed to start Grpc server",
        new IOException("Failed to bind to address /10.9.9.9:9",
            new IOException("bind(..) failed: Cannot assign requested address")));
    assertEquals("the Raft member a could not listen on 10.9.9.9:9: Failed to start Grpc server:"
        + " Failed to bind to address /10.9.9.9:9: bind(..) failed: Cannot assign requested"
        + " address", RatisExits.startFailure("a", "10.9.9.9:9", notHere));
  }

  @Test
  void aCauseWithoutAMessageIsNamedAndACycleEnds() {
    RuntimeException a = new RuntimeException("a");
    RuntimeException b = new RuntimeException(null, new NullPointerException());
    a.initCause(b);
    assertEquals("a: RuntimeException: NullPointerException", RatisExits.reasons(a));
    IllegalStateException x = new IllegalStateException("x");
    IllegalStateException y = new IllegalStateException("y", x);
    x.initCause(y); // x -> y -> x ...
    assertEquals("x: y", RatisExits.reasons(x));
  }
}
