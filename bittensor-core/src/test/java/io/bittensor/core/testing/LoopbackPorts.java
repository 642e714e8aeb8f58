package io.bittensor.core.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Ports for servers a test starts later, under a name it must know first (a Raft group's member
 * list). A port the system hands out for {@code new ServerSocket(0)} lies in its ephemeral range,
 * which is also where outgoing connections take their local ports: between the pick and the
 * bind, one of the test's own connections can hold it for as long as it stays open. These ports
 * lie below that range, were free when picked, and are never handed out twice in one JVM.
 */
public final class LoopbackPorts {
  private static final Set<Integer> GIVEN = ConcurrentHashMap.newKeySet();
  /** The lowest port picked: above the well-known and most registered services' ports. */
  private static final int LOWEST = 20_000;

  private LoopbackPorts() {}

  /** A port free on the loopback address now, outside the ephemeral range where it can be. */
  public static int free() {
    int below = ephemeralLow();
    for (int attempt = 0; below - LOWEST > 1_000 && attempt < 200; attempt++) {
      int port = ThreadLocalRandom.current().nextInt(LOWEST, below);
      if (GIVEN.add(port) && bindable(port)) {
        return port;
      }
    }
    try (ServerSocket s = new ServerSocket(0)) { // no room below the range: the system's pick
      return s.getLocalPort();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static boolean bindable(int port) {
    try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** The ephemeral range's first port (Linux's file), else the IANA range's, 49152. */
  private static int ephemeralLow() {
    try {
      String range = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim();
      return Integer.parseInt(range.split("\\s+")[0]);
    } catch (IOException | RuntimeException e) {
      return 49_152;
    }
  }
}
