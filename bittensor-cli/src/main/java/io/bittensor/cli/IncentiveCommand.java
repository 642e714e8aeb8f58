package io.bittensor.cli;

import io.bittensor.cli.internal.Progress;
import io.bittensor.cli.internal.StateJson;
import io.bittensor.core.internal.DurableFiles;
import io.bittensor.incentive.DenseMatrix;
import io.bittensor.incentive.EpochResult;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.incentive.NetworkState;
import io.bittensor.incentive.PaperMechanism;
import io.bittensor.incentive.SyntheticNetworks;
import io.bittensor.incentive.YumaConsensus;
import io.bittensor.incentive.YumaResult;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.function.BiFunction;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code bittensor incentive}: the incentive mechanism on JSON states. */
@Command(
    name = "incentive",
    mixinStandardHelpOptions = true,
    description = "Run the incentive mechanism on a network state.",
    subcommands = {IncentiveCommand.Step.class, IncentiveCommand.Bench.class})
final class IncentiveCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** {@code bittensor incentive step}. */
  @Command(
      name = "step",
      mixinStandardHelpOptions = true,
      description = {
        "Read a network state as JSON, run K epochs (stake and bonds carried forward) and write"
            + " the last epoch's result as JSON.",
        "State: {\"stake\":[..], \"weights\":[[..],..], \"bonds\":[[..],..],"
            + " \"params\":{\"rho\":..,\"kappa\":..,\"tau\":..,\"bondShare\":..}}; weights and"
            + " bonds may be sparse: {\"n\":N,\"rows\":[{\"cols\":[..],\"vals\":[..]},..]}.",
        "With --mechanism yuma or yuma3 the state may add \"lastUpdate\", \"registeredAt\","
            + " \"validatorPermit\" (one per peer) and \"currentBlock\"; params are Yuma's"
            + " (see bittensor-cli/README.md)."
      })
  static final class Step implements java.util.concurrent.Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--state", required = true, paramLabel = "FILE",
        description = "The state as JSON ('-' for stdin).")
    String state;

    @Option(names = "--epochs", defaultValue = "1", paramLabel = "K",
        description = "Epochs to run (default ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--out", paramLabel = "FILE",
        description = "Write the result here instead of stdout.")
    Path out;

    @Option(names = "--mechanism", defaultValue = "paper", paramLabel = "NAME",
        description = "${COMPLETION-CANDIDATES}: the paper's mechanism (default), Yuma"
            + " Consensus as the Bittensor chain runs it, or Yuma with Yuma 3 bonds.")
    Mechanism mechanism;

    /** The mechanisms {@code --mechanism} names. */
    enum Mechanism { paper, yuma, yuma3 }

    /** Writes a result to a stream. */
    private interface Writer {
      void write(OutputStream out) throws IOException;
    }

    @Override
    public Integer call() throws IOException {
      if (epochs < 1) {
        throw CliException.badInput("--epochs must be >= 1, was " + epochs, null);
      }
      checkOut();
      byte[] json = readState();
      if (mechanism == Mechanism.paper) {
        StateJson.Input input = StateJson.parse(json);
        PaperMechanism paper = IncentiveMechanism.paper(input.params());
        EpochResult last = lastOf(input.state(), paper::step, paper::advance);
        emit(o -> StateJson.write(last, input.sparseBonds(), o));
      } else {
        StateJson.YumaInput input = StateJson.parseYuma(json, mechanism == Mechanism.yuma3);
        YumaConsensus yuma = YumaConsensus.of(input.params());
        YumaResult last = lastOf(input.state(), yuma::epoch, yuma::advance);
        emit(o -> StateJson.writeYuma(last, input.sparseBonds(), o));
      }
      return 0;
    }

    /** Runs {@code epochs} epochs from {@code state}, each on what the last one left. */
    private <S, R> R lastOf(S state, Function<S, R> epoch, BiFunction<S, R, S> advance) {
      R result = null;
      try (Progress progress = Main.progress(spec, "epochs", epochs)) {
        for (int e = 0; e < epochs; e++) {
          result = epoch.apply(state);
          state = advance.apply(state, result);
          progress.update(e + 1);
        }
      }
      return result;
    }

    private void emit(Writer writer) throws IOException {
      if (out == null) {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        writer.write(buffer);
        spec.commandLine()
            .getOut()
            .println(buffer.toString(java.nio.charset.StandardCharsets.UTF_8));
        spec.commandLine().getOut().flush();
      } else {
        // Whole or not at all: a crash mid-write leaves the old file, never half a result.
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        writer.write(buffer);
        try {
          DurableFiles.replace(out, buffer.toByteArray());
        } catch (IOException e) {
          throw CliException.failure("cannot write --out " + out + ": " + CliException.why(e), e);
        }
      }
    }

    /** An --out that cannot be written, named before any epoch runs. */
    private void checkOut() {
      if (out == null) {
        return;
      }
      if (Files.isDirectory(out)) {
        throw CliException.badInput("--out " + out + " is a folder; give a file", null);
      }
      Path parent = out.toAbsolutePath().getParent();
      if (parent != null && !Files.isDirectory(parent)) {
        throw CliException.badInput("--out " + out + ": no such folder " + parent, null);
      }
    }

    private byte[] readState() {
      try {
        return "-".equals(state) ? System.in.readAllBytes() : Files.readAllBytes(Path.of(state));
      } catch (NoSuchFileException e) {
        throw CliException.badInput("cannot read state file " + state + ": no such file", e);
      } catch (IOException e) {
        throw CliException.badInput("cannot read state file " + state + ": " + e.getMessage(), e);
      }
    }
  }

  /** {@code bittensor incentive bench}. */
  @Command(
      name = "bench",
      mixinStandardHelpOptions = true,
      description = {
        "Time one epoch of the paper's mechanism on a seeded random network of your size, and"
            + " print one JSON line: {\"n\":..,\"nnz\":..,\"msPerEpoch\":..} (the median; input"
            + " generation excluded).",
        "Without --nnz-per-row the weights are dense (about half full); with it, sparse."
      })
  static final class Bench implements java.util.concurrent.Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--n", required = true, paramLabel = "N", description = "Peers.")
    int n;

    @Option(names = "--nnz-per-row", paramLabel = "K",
        description = "Weights drawn per row (sparse form).")
    Integer perRow;

    @Option(names = "--epochs", defaultValue = "5", paramLabel = "E",
        description = "Epochs to time (default ${DEFAULT-VALUE}); the median is reported.")
    int epochs;

    @Option(names = "--seed", defaultValue = "42", paramLabel = "N",
        description = "Seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() {
      if (epochs < 1) {
        throw CliException.badInput("--epochs must be >= 1, was " + epochs, null);
      }
      checkSize(n, perRow);
      NetworkState state;
      double[] ms;
      double checksum = 0;
      try {
        state = perRow == null
            ? SyntheticNetworks.dense(n, seed, true)
            : SyntheticNetworks.sparse(n, perRow, seed, true);
        PaperMechanism mechanism = IncentiveMechanism.paper();
        ms = new double[epochs];
        try (Progress progress = Main.progress(spec, "timed epochs", epochs)) {
          for (int e = 0; e < epochs; e++) {
            long start = System.nanoTime();
            double stakeSum = stakeAfterEpoch(mechanism, state);
            ms[e] = (System.nanoTime() - start) / 1e6;
            checksum += stakeSum;
            progress.update(e + 1);       // outside the timed part
          }
        }
      } catch (OutOfMemoryError e) {
        // What did not fit is garbage once this is thrown: one line, not the error's trace.
        throw CliException.failure("--n " + n + (perRow == null ? "" : " --nnz-per-row " + perRow)
            + " needs more memory than this JVM may use (" + (Runtime.getRuntime().maxMemory()
            >> 20) + " MiB): run java with a larger -Xmx, or give a smaller --n", e);
      }
      Arrays.sort(ms);
      double median = epochs % 2 == 1 ? ms[epochs / 2] : (ms[epochs / 2 - 1] + ms[epochs / 2]) / 2;
      spec.commandLine().getOut().printf(Locale.ROOT,
          "{\"n\":%d,\"nnz\":%d,\"form\":\"%s\",\"epochs\":%d,\"msPerEpoch\":%.3f,"
              + "\"stakeChecksum\":%s}%n",
          n, state.weights().nonZeroCount(), perRow == null ? "dense" : "sparse", epochs, median,
          Double.toString(checksum / epochs));
      spec.commandLine().getOut().flush();
      return 0;
    }

    /** The options named as the user gave them, not as SyntheticNetworks' parameters. */
    static void checkSize(int n, Integer perRow) {
      if (n < 1) {
        throw CliException.badInput("--n must be >= 1, was " + n, null);
      }
      if (perRow == null && n > DenseMatrix.MAX_SIZE) {
        throw CliException.badInput("--n " + n + " is too large for a dense network (at most "
            + DenseMatrix.MAX_SIZE + " peers); give --nnz-per-row K for a sparse one", null);
      }
      if (perRow != null && (perRow < 1 || perRow > n)) {
        throw CliException.badInput("--nnz-per-row must be in [1, --n " + n + "], was " + perRow,
            null);
      }
    }

    /**
     * One epoch, keeping only the stake's sum: the result (its bonds as large as the input's)
     * is garbage on return, so the next epoch does not run beside the last one's bonds.
     */
    private static double stakeAfterEpoch(PaperMechanism mechanism, NetworkState state) {
      return mechanism.step(state).stake().sum();
    }
  }
}
