package io.bittensor.benchmarks;

/**
 * Runs the JMH benchmarks: {@code java -jar benchmarks/target/benchmarks.jar [JMH options]}.
 * See {@code benchmarks/README.md} for each benchmark and its baseline.
 */
public final class Main {
  private Main() {}

  /** Hands the arguments to JMH's own main. */
  public static void main(String[] args) throws Exception {
    org.openjdk.jmh.Main.main(args);
  }
}
