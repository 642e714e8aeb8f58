package io.bittensor.cli;

import io.bittensor.cli.internal.Progress;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URISyntaxException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code bittensor} command. Each subcommand lives in its own class; add new ones to the
 * {@code subcommands} list below.
 *
 * <p>Exit codes: 0 success, 1 a failure at run time (I/O, a peer that did not answer), 2 bad
 * input or usage (one clear line on stderr).
 *
 * <p>Long work shows its progress on stderr ({@link Progress}): a bar on a terminal, a plain
 * line every few seconds otherwise, nothing for work done within a second.
 */
@Command(
    name = "bittensor",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "A peer-to-peer intelligence market: incentive mathematics, simulations, peers.",
    subcommands = {
      IncentiveCommand.class,
      LedgerCommand.class,
      SimulateCommand.class,
      DemoCommand.class,
      KeysCommand.class,
      NeuronCommand.class,
      PeerCommand.class,
      CommandLine.HelpCommand.class,
    })
public final class Main implements Runnable {
  /** Exit code for bad input or usage. */
  public static final int EXIT_BAD_INPUT = 2;

  /** Exit code for a failure at run time. */
  public static final int EXIT_FAILURE = 1;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  private final boolean terminal;

  private Main(boolean terminal) {
    this.terminal = terminal;
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** Runs the command line and exits with its code. */
  public static void main(String[] args) {
    // Java 17: a console exists only when the process talks to a terminal, not to a pipe.
    System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true),
        System.console() != null));
  }

  /**
   * Runs the command line with the given streams, for tests and embedding.
   *
   * @return the exit code
   */
  public static int run(String[] args, PrintWriter out, PrintWriter err) {
    return run(args, out, err, false);
  }

  /**
   * Runs the command line with the given streams; {@code terminal} says whether {@code err} is a
   * terminal, where progress shows as a bar redrawn in place.
   *
   * @return the exit code
   */
  public static int run(String[] args, PrintWriter out, PrintWriter err, boolean terminal) {
    CommandLine cli;
    try {
      cli = commandLine(out, err, terminal);
    } catch (Error e) {
      // Building the commands reads every option's type: a class missing from the class path
      // (a jar left out) fails here, before any command runs, and would end in a stack trace.
      return reportError(err, e);
    }
    return execute(cli, args);
  }

  /** Executes {@code cli}, an Error too reported in one line on its stderr, exit code 1. */
  static int execute(CommandLine cli, String... args) {
    try {
      return cli.execute(args);
    } catch (Error e) {
      // picocli hands only Exceptions to the handler; an Error would end in a stack trace.
      return reportError(cli.getErr(), e);
    }
  }

  private static int reportError(PrintWriter err, Error e) {
    err.println("bittensor: " + errorMessage(e));
    err.flush();
    return EXIT_FAILURE;
  }

  /** An Error in one line: what ran out and what to do about it, for the common ones. */
  static String errorMessage(Error e) {
    if (e instanceof OutOfMemoryError) {
      // What did not fit is garbage once this is thrown, so there is room for a line.
      return "out of memory (" + message(e) + "): this JVM may use "
          + (Runtime.getRuntime().maxMemory() >> 20) + " MiB; run java with a larger -Xmx";
    }
    if (e instanceof StackOverflowError) {
      return "stack overflow: the input nests too deeply (or run java with a larger -Xss)";
    }
    return e.getClass().getSimpleName() + ": " + message(e);
  }

  /** The command line, its handlers set, for {@link #run} and for tests that walk its commands. */
  static CommandLine commandLine(PrintWriter out, PrintWriter err, boolean terminal) {
    CommandLine cli = new CommandLine(new Main(terminal));
    cli.registerConverter(URI.class, Main::uri);
    cli.setOut(out);
    cli.setErr(err);
    cli.setExecutionExceptionHandler(
        (ex, commandLine, parseResult) -> {
          boolean badInput = ex instanceof IllegalArgumentException
              || ex instanceof CliException cliEx && cliEx.badInput();
          commandLine.getErr().println("bittensor: " + message(ex));
          commandLine.getErr().flush();
          return badInput ? EXIT_BAD_INPUT : EXIT_FAILURE;
        });
    cli.setParameterExceptionHandler(
        (ex, args2) -> {
          ex.getCommandLine().getErr().println("bittensor: " + ex.getMessage());
          ex.getCommandLine().getErr().flush();
          return EXIT_BAD_INPUT;
        });
    return cli;
  }

  /**
   * An address option's value. picocli's own converter answered {@code --endpoint 127.0.0.1:8091}
   * with the {@link URISyntaxException} ("Illegal character in scheme name at index 0").
   */
  static URI uri(String value) {
    try {
      return new URI(value);
    } catch (URISyntaxException e) {
      throw new CommandLine.TypeConversionException("'" + value + "' is not a URL ("
          + e.getReason() + " at index " + e.getIndex() + "); give one such as "
          + (value.contains("://") ? "http://127.0.0.1:8091" : "http://" + value));
    }
  }

  /** Progress of a command's long work on its stderr, a bar if that is a terminal. */
  static Progress progress(CommandLine.Model.CommandSpec spec, String label, long total) {
    boolean terminal = spec.root().userObject() instanceof Main m && m.terminal;
    return Progress.start(spec.commandLine().getErr(), label, total, Progress.Style.of(terminal));
  }

  private static String message(Throwable ex) {
    String m = ex.getMessage();
    return m == null || m.isBlank() ? ex.getClass().getSimpleName() : m.replace('\n', ' ');
  }

  /** The version from the jar's manifest, or "development" when run from classes. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"bittensor " + (v == null ? "development" : v)};
    }
  }
}
