package io.bittensor.cli;

import io.bittensor.cli.internal.TlsReloader;
import io.bittensor.transport.PeerClient;
import io.bittensor.transport.RemoteLedger;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * {@code --client-cert KEY CERT}: the certificate a client shows to an https:// server that asks
 * for one (mutual TLS: {@code --tls-client-ca} on {@code peer serve} and {@code ledger serve}).
 */
final class ClientCertOption {
  @Option(names = "--client-cert", arity = "2", paramLabel = "FILE", description = "For an "
      + "https:// server that serves only clients with a certificate (mutual TLS): KEY CERT, "
      + "the PEM private key (unencrypted PKCS#8) and the PEM certificate chain to show it.")
  List<Path> files;

  /** The option's name in messages: {@code peer serve} has its own, --members-client-cert. */
  private String name = "--client-cert";

  /** The files as {@link #apply(RemoteLedger.Builder)} found them, before it read them. */
  private TlsReloader.Snapshot seen;

  /** {@code files} (null: none) given as the option {@code name}, which errors name. */
  static ClientCertOption named(String name, List<Path> files) {
    ClientCertOption option = new ClientCertOption();
    option.name = name;
    option.files = files;
    return option;
  }

  /**
   * {@code builder}, showing the certificate when one was given.
   *
   * @throws CliException bad input for files that do not read or do not match
   */
  RemoteLedger.Builder apply(RemoteLedger.Builder builder) {
    try {
      if (files == null) {
        return builder;
      }
      // Taken as the client reads the files, long before a relay serves and watches them (the
      // upstream's chain is audited in between): a certificate renewed meanwhile differs.
      seen = TlsReloader.snapshot(files.get(0), files.get(1));
      return builder.clientCertificate(files.get(0), files.get(1));
    } catch (IllegalArgumentException e) {
      throw CliException.badInput(name + " " + e.getMessage(), e);
    }
  }

  /**
   * Watches the files every {@code every} ({@code --tls-reload}), handing a pair
   * renewed since {@link #apply(RemoteLedger.Builder)} read them to {@code reload}.
   *
   * @return the watch, to close; null when no files or no {@code every} were given
   */
  TlsReloader watch(Duration every, TlsReloader.Reload reload, PrintWriter out) {
    return files == null || every == null ? null
        : TlsReloader.watch(files.get(0), files.get(1), every, reload, out, seen);
  }

  /**
   * {@code builder}, showing the certificate when one was given.
   *
   * @throws CliException bad input for files that do not read or do not match
   */
  PeerClient.Builder apply(PeerClient.Builder builder) {
    try {
      return files == null ? builder : builder.clientCertificate(files.get(0), files.get(1));
    } catch (IllegalArgumentException e) {
      throw CliException.badInput(name + " " + e.getMessage(), e);
    }
  }
}
