package io.bittensor.core.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LoopbackPortsTest {
  @TempDir Path dir;

  /**
   * A Raft member of ReplicatedLedgerServeTest could not listen on 127.0.0.1:34801, in Linux's
   * ephemeral range: a range file that could not be read was taken for the IANA range, 49152 up.
   */
  @Test
  void aRangeThatCannotBeReadKeepsOutOfLinuxsAndIanasRanges() throws Exception {
    assertArrayEquals(new int[] {32_768, 65_535},
        LoopbackPorts.ephemeralRange(dir.resolve("missing")));
    Path odd = Files.writeString(dir.resolve("odd"), "32768");
    assertArrayEquals(new int[] {32_768, 65_535}, LoopbackPorts.ephemeralRange(odd));
    Path linux = Files.writeString(dir.resolve("linux"), "32768\t60999\n");
    assertArrayEquals(new int[] {32_768, 60_999}, LoopbackPorts.ephemeralRange(linux));
  }

  @Test
  void portsComeFromBelowAndAboveTheRangeEachOnce() {
    Set<Integer> given = new HashSet<>();
    Set<Integer> picked = new HashSet<>();
    boolean above = false;
    for (int i = 0; i < 2_000; i++) {
      int port = LoopbackPorts.pick(32_768, 60_999, given, p -> null);
      assertTrue(port >= 20_000 && port < 32_768 || port > 60_999 && port <= 65_535, "" + port);
      assertTrue(picked.add(port), port + " twice");
      above |= port > 60_999;
    }
    assertTrue(above, "none above the range");
    // A range that starts low (some containers: 1024-65000) leaves only the ports above it.
    for (int i = 0; i < 100; i++) {
      int port = LoopbackPorts.pick(1_024, 64_000, new HashSet<>(), p -> null);
      assertTrue(port > 64_000 && port <= 65_535, "" + port);
    }
  }

  /** It handed out the system's pick instead, a port in the range (as 34801 was). */
  @Test
  void whenNoPortOutsideTheRangeBindsItSaysWhyRatherThanPickInsideIt() {
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> LoopbackPorts.pick(32_768, 60_999, new HashSet<>(),
            p -> "java.net.SocketException: Too many open files"));
    assertTrue(e.getMessage().startsWith("no free loopback port outside the ephemeral range"
        + " 32768-60999 in 200 tries; the last: "), e.getMessage());
    assertTrue(e.getMessage().endsWith(": java.net.SocketException: Too many open files"),
        e.getMessage());
  }

  @Test
  void aFreePortBindsAndIsOutsideThisSystemsRange() throws Exception {
    int[] range = LoopbackPorts.ephemeralRange(Path.of("/proc/sys/net/ipv4/ip_local_port_range"));
    int port = LoopbackPorts.free();
    assertTrue(port < range[0] || port > range[1], port + " in " + range[0] + "-" + range[1]);
    try (java.net.ServerSocket s = new java.net.ServerSocket(port, 1,
        java.net.InetAddress.getLoopbackAddress())) {
      assertEquals(port, s.getLocalPort());
    }
  }
}
