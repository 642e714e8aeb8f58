package io.bittensor.cli;

import io.bittensor.core.Keypair;
import io.bittensor.core.PeerId;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code bittensor keys}: make and read Ed25519 key files, a neuron's identity. */
@Command(
    name = "keys",
    mixinStandardHelpOptions = true,
    description = "Make and read key files: a neuron's Ed25519 identity (its ledger account).",
    subcommands = {KeysCommand.New.class, KeysCommand.Show.class, KeysCommand.Seal.class})
final class KeysCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** {@code bittensor keys new FILE [--seal]}. */
  @Command(
      name = "new",
      mixinStandardHelpOptions = true,
      description = "Generate a key pair into FILE (readable by its owner only; never"
          + " overwritten) and print its public id.")
  static final class New implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(
        index = "0",
        paramLabel = "FILE",
        description = "Where to write the key; must not exist.")
    Path file;

    @Option(names = "--seal", description = "Seal the private key under a passphrase (Argon2id,"
        + " AES-256-GCM), asked twice on the terminal unless --passphrase-file gives it.")
    boolean seal;

    @Option(names = "--passphrase-file", paramLabel = "FILE", description = "Seal under the"
        + " passphrase on this file's first line (a file only its owner may read); implies --seal.")
    Path passphraseFile;

    @Override
    public Integer call() {
      Keypair key = Keypair.generate();
      char[] passphrase = seal || passphraseFile != null
          ? KeyFiles.newPassphrase(passphraseFile, file) : null;
      try {
        write(key, file, passphrase);
      } finally {
        if (passphrase != null) {
          Arrays.fill(passphrase, '\0');
        }
      }
      return printId(spec, key.id());
    }
  }

  /** {@code bittensor keys seal FILE SEALED}. */
  @Command(
      name = "seal",
      mixinStandardHelpOptions = true,
      description = "Write a copy of the key in FILE sealed under a passphrase into SEALED, and"
          + " print its public id: seals a plain key, or changes a sealed key's passphrase. FILE"
          + " is left as it was: delete it once SEALED is in use.")
  static final class Seal implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE", description = "A key file: unsealed, or sealed"
        + " under the passphrase to replace.")
    Path file;

    @Parameters(index = "1", paramLabel = "SEALED", description = "Where to write the sealed"
        + " copy; must not exist.")
    Path sealed;

    @Option(names = "--passphrase-file", paramLabel = "FILE", description = "The passphrase on"
        + " this file's first line (a file only its owner may read); asked twice on the terminal"
        + " otherwise.")
    Path passphraseFile;

    @Option(names = "--old-passphrase-file", paramLabel = "FILE", description = "For a FILE"
        + " sealed already: the passphrase it is sealed under, on this file's first line (asked"
        + " on the terminal otherwise).")
    Path oldPassphraseFile;

    @Override
    public Integer call() {
      Keypair key = KeyFiles.load(file, oldPassphraseFile, "--old-passphrase-file");
      char[] passphrase = KeyFiles.newPassphrase(passphraseFile, sealed);
      try {
        write(key, sealed, passphrase);
      } finally {
        Arrays.fill(passphrase, '\0');
      }
      return printId(spec, key.id());
    }
  }

  private static int printId(CommandSpec spec, PeerId id) {
    PrintWriter out = spec.commandLine().getOut();
    out.println(id.toHex());
    out.flush();
    return 0;
  }

  /** Writes {@code key} to a new {@code file}, sealed when a passphrase is given. */
  private static void write(Keypair key, Path file, char[] passphrase) {
    try {
      Path parent = file.toAbsolutePath().getParent();
      if (parent != null && !Files.isDirectory(parent)) {
        throw CliException.badInput("no such folder: " + parent, null);
      }
      if (passphrase == null) {
        key.save(file);
      } else {
        key.save(file, passphrase);
      }
    } catch (FileAlreadyExistsException e) {
      throw CliException.badInput(file + " exists; keys are never overwritten", e);
    } catch (IOException e) {
      throw CliException.failure("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  /** {@code bittensor keys show FILE}. */
  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      description = "Print the public id (64 hex digits) of the key in FILE (a sealed one too,"
          + " without its passphrase).")
  static final class Show implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE", description = "A key file written by keys new.")
    Path file;

    @Override
    public Integer call() {
      PeerId id;
      try {
        id = Keypair.readId(file);
      } catch (NoSuchFileException e) {
        throw CliException.badInput("no such key file: " + file, e);
      } catch (IOException e) {
        throw CliException.badInput(e.getMessage(), e);
      }
      return printId(spec, id);
    }
  }
}
