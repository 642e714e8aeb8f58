package io.bittensor.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The command that runs the command line in a JVM of its own, as a test's child process. */
final class ChildCli {
  private ChildCli() {}

  /**
   * {@code java}, its options, the tests' class path and {@link Main}, then {@code args}; a list
   * to add to. The JVM compiles with C1 only and collects on one thread: a child lives seconds,
   * and most of its start was C2 compiling (a Raft member took 5 to 10 s to serve on two busy
   * cores, 3 to 4.5 s so).
   */
  static List<String> command(String... args) {
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
        "-cp", System.getProperty("surefire.test.class.path",
            System.getProperty("java.class.path")),
        Main.class.getName()));
    cmd.addAll(List.of(args));
    return cmd;
  }
}
