package io.bittensor.core.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.IntFunction;

/**
 * Ports for servers a test starts later, under a name it must know first (a Raft group's member
 * list). A port the system hands out for {@code new ServerSocket(0)} lies in its ephemeral range,
 * which is also where outgoing connections take their local ports: between the pick and the
 * bind, one of the test's own connections can hold it for as long as it stays open. These ports
 * lie below or above that range, were free when picked, and are never handed out twice in one
 * JVM.
 */
public final class LoopbackPorts {
  private static final Set<Integer> GIVEN = ConcurrentHashMap.newKeySet();
  /** The lowest port picked: above the well-known and most registered services' ports. */
  static final int LOWEST = 20_000;
  static final int HIGHEST = 65_535;
  private static final int TRIES = 200;

  private LoopbackPorts() {}

  /**
   * A port free on the loopback address now, outside the ephemeral range where it can be.
   *
   * @throws IllegalStateException if none of 200 ports picked outside the range was free
   */
  public static int free() {
    int[] range = ephemeralRange(Path.of("/proc/sys/net/ipv4/ip_local_port_range"));
    return pick(range[0], range[1], GIVEN, LoopbackPorts::bindFailure);
  }

  /**
   * A port from {@link #LOWEST} up to the range {@code low..high} and from above it, not in
   * {@code given} (to which it is added) and one that {@code bindFailure} finds no reason to
   * refuse (null). Where fewer than 1,000 such ports exist, the system's pick, in the range.
   */
  static int pick(int low, int high, Set<Integer> given, IntFunction<String> bindFailure) {
    int below = Math.max(0, low - LOWEST);
    int above = Math.max(0, HIGHEST - Math.max(high, LOWEST - 1));
    if (below + above <= 1_000) {
      try (ServerSocket s = new ServerSocket(0)) { // no room outside the range: the system's
        return s.getLocalPort();
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
    String last = "every port picked was handed out before";
    for (int attempt = 0; attempt < TRIES; attempt++) {
      int n = ThreadLocalRandom.current().nextInt(below + above);
      int port = n < below ? LOWEST + n : Math.max(high, LOWEST - 1) + 1 + n - below;
      if (given.add(port)) {
        String failure = bindFailure.apply(port);
        if (failure == null) {
          return port;
        }
        last = port + ": " + failure;
      }
    }
    // It used to hand out the system's pick then, a port in the very range it keeps out of.
    throw new IllegalStateException("no free loopback port outside the ephemeral range " + low
        + "-" + high + " in " + TRIES + " tries; the last: " + last);
  }

  /** Why {@code port} cannot be bound on the loopback address now, or null if it can. */
  private static String bindFailure(int port) {
    try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      return null;
    } catch (IOException e) {
      return e.toString();
    }
  }

  /**
   * The ephemeral range, {@code {low, high}}, as {@code file} (Linux's) says; where it cannot be
   * read, from Linux's default start, 32768, to 65535, which holds the IANA range (49152 up)
   * that other systems use. It used to start the range at 49152 then, so that on Linux a pick
   * could land in 32768-49151, where the system hands out ports.
   */
  static int[] ephemeralRange(Path file) {
    try {
      String[] range = Files.readString(file).trim().split("\\s+");
      return new int[] {Integer.parseInt(range[0]), Integer.parseInt(range[1])};
    } catch (IOException | RuntimeException e) {
      return new int[] {32_768, HIGHEST};
    }
  }
}
