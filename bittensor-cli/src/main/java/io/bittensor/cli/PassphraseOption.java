package io.bittensor.cli;

import io.bittensor.core.Keypair;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --passphrase-file}: how a command that takes {@code --key} opens a sealed one. */
final class PassphraseOption {
  @Option(names = "--passphrase-file", paramLabel = "FILE", description = "For a --key sealed"
      + " under a passphrase: the passphrase on this file's first line (asked on the terminal"
      + " otherwise).")
  Path file;

  /** The key in {@code key}, a sealed one opened as {@link KeyFiles#load} does. */
  Keypair load(Path key) {
    return KeyFiles.load(key, file, "--passphrase-file");
  }
}
