package io.bittensor.cli;

import io.bittensor.core.BlockHistory;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerException;
import io.bittensor.core.LocalLedger;
import io.bittensor.raft.RaftLedger;
import io.bittensor.transport.RemoteLedger;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code --data DIR | --remote URL}: the ledger a command reads. */
final class LedgerSourceOptions {
  @Option(names = "--data", paramLabel = "DIR",
      description = "The ledger's data directory, or a replicated ledger's member folder when it"
          + " keeps its blocks (read without locking or changing it, so also while it runs).")
  Path data;

  @Option(names = "--remote", paramLabel = "URL", split = ",",
      description = "A ledger server instead, e.g. http://10.0.0.2:8092; or several,"
          + " comma-separated (the members of a replicated ledger: the first that answers).")
  List<URI> remote;

  @Option(names = "--trust", paramLabel = "FILE",
      description = "With an https:// --remote: trust the certificates in this PEM file instead"
          + " of the JDK's authorities.")
  Path trust;

  @Mixin ClientCertOption clientCert = new ClientCertOption();

  /**
   * Opens the ledger in --data read-only, or connects to the server at --remote.
   *
   * @throws CliException for bad or missing options, or a ledger that cannot be opened
   */
  Ledger open() {
    if ((data == null) == (remote == null)) {
      throw CliException.badInput("give --data DIR or --remote URL, one of them", null);
    }
    if (data != null && !Files.isDirectory(data)) {
      throw CliException.badInput("--data " + data + " is not a directory", null);
    }
    Path dir = data;
    if (data != null && RaftLedger.holdsMember(data)) {
      dir = RaftLedger.blocksFolder(data);
      if (!Files.isDirectory(dir)) {
        throw CliException.badInput("--data " + data + " is a replicated ledger's member that"
            + " keeps no blocks: serve it with --keep-blocks, or read it with --remote", null);
      }
    }
    if (dir == null) {
      return connect(remote, trust, clientCert.apply(RemoteLedger.builder()));
    }
    if (!Files.exists(dir.resolve("journal.btl"))) {
      // Said here, as ledger compact says it: a folder given by mistake is the user's input.
      throw CliException.badInput("--data " + data + " holds no ledger (no journal.btl): give"
          + " the folder ledger init or ledger serve --data wrote", null);
    }
    try {
      return LocalLedger.builder().openReadOnly(dir);
    } catch (IOException e) {
      String message = "cannot read the ledger in --data " + data + ": " + CliException.why(e);
      throw CliException.aboutTheFile(e) ? CliException.badInput(message, e)
          : CliException.failure(message, e);
    }
  }

  /**
   * Connects {@code builder} to the servers at {@code remote}, trusting {@code trust} when given.
   *
   * @throws CliException failure when no server answers, bad input for a bad address or file
   */
  static RemoteLedger connect(List<URI> remote, Path trust, RemoteLedger.Builder builder) {
    try {
      return (trust == null ? builder : builder.trustedCertificates(trust)).connect(remote);
    } catch (LedgerException e) {
      throw CliException.failure(e.getMessage(), e);
    } catch (IllegalArgumentException e) {
      throw CliException.badInput((trust != null && e.getMessage().contains(trust.toString())
          ? "--trust " : "--remote ") + e.getMessage(), e);
    }
  }

  /** The history of a ledger {@link #open()} returned. */
  static BlockHistory history(Ledger ledger) {
    return (BlockHistory) ledger; // LocalLedger and RemoteLedger both keep one
  }
}
