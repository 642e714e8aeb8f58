package io.bittensor.cli;

import io.bittensor.transport.PeerClient;
import io.bittensor.transport.RemoteLedger;
import java.nio.file.Path;
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

  /**
   * {@code builder}, showing the certificate when one was given.
   *
   * @throws CliException bad input for files that do not read or do not match
   */
  RemoteLedger.Builder apply(RemoteLedger.Builder builder) {
    try {
      return files == null ? builder : builder.clientCertificate(files.get(0), files.get(1));
    } catch (IllegalArgumentException e) {
      throw CliException.badInput("--client-cert " + e.getMessage(), e);
    }
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
      throw CliException.badInput("--client-cert " + e.getMessage(), e);
    }
  }
}
