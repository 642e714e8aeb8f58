package io.bittensor.cli;

import io.bittensor.core.Keypair;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code bittensor keys}: make and read Ed25519 key files, a neuron's identity. */
@Command(
    name = "keys",
    mixinStandardHelpOptions = true,
    description = "Make and read key files: a neuron's Ed25519 identity (its ledger account).",
    subcommands = {KeysCommand.New.class, KeysCommand.Show.class})
final class KeysCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** {@code bittensor keys new FILE}. */
  @Command(
      name = "new",
      mixinStandardHelpOptions = true,
      description = "Generate a key pair into FILE (readable by its owner only; never"
          + " overwritten) and print its public id.")
  static final class New implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE", description = "Where to write the key; must not exist.")
    Path file;

    @Override
    public Integer call() {
      Keypair key = Keypair.generate();
      try {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
          throw CliException.badInput("no such folder: " + parent, null);
        }
        key.save(file);
      } catch (FileAlreadyExistsException e) {
        throw CliException.badInput(file + " exists; keys are never overwritten", e);
      } catch (IOException e) {
        throw CliException.failure("cannot write " + file + ": " + e.getMessage(), e);
      }
      PrintWriter out = spec.commandLine().getOut();
      out.println(key.id().toHex());
      out.flush();
      return 0;
    }
  }

  /** {@code bittensor keys show FILE}. */
  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      description = "Print the public id (64 hex digits) of the key in FILE.")
  static final class Show implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE", description = "A key file written by keys new.")
    Path file;

    @Override
    public Integer call() {
      Keypair key;
      try {
        key = Keypair.load(file);
      } catch (NoSuchFileException e) {
        throw CliException.badInput("no such key file: " + file, e);
      } catch (IOException e) {
        throw CliException.badInput(e.getMessage(), e);
      }
      PrintWriter out = spec.commandLine().getOut();
      out.println(key.id().toHex());
      out.flush();
      return 0;
    }
  }
}
