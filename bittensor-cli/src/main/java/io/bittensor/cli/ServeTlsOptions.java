package io.bittensor.cli;

import io.bittensor.cli.internal.TlsReloader;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * {@code --tls KEY CERT}, {@code --tls-reload DURATION} and {@code --tls-client-ca FILE}: a
 * server's HTTPS, shared by {@code peer serve} and {@code ledger serve}.
 */
final class ServeTlsOptions {
  @Option(names = "--tls", arity = "2", paramLabel = "FILE", description = "Serve HTTPS "
      + "instead (HTTP/2 or HTTP/1.1 by ALPN): KEY CERT, the PEM private key (unencrypted "
      + "PKCS#8) and the PEM certificate chain, whose certificate names the address callers "
      + "dial.")
  List<Path> files;

  @Option(names = "--tls-reload", paramLabel = "DURATION", description = "With --tls: check "
      + "the key and certificate files this often (ISO-8601, e.g. PT1M) and serve new "
      + "connections with them when they changed (a renewed certificate, no restart).")
  Duration reload;

  @Option(names = "--tls-client-ca", paramLabel = "FILE", description = "With --tls: mutual "
      + "TLS, serve only callers that show a certificate issued by one in this PEM file (an "
      + "authority, or the callers' own certificates); the others fail the handshake.")
  Path clientCa;

  /**
   * Checks the options together.
   *
   * @throws CliException for a reload or client authorities without files, or a reload not
   *     positive
   */
  void check() {
    if (clientCa != null && files == null) {
      throw CliException.badInput("--tls-client-ca needs --tls KEY CERT", null);
    }
    if (reload != null && (files == null || reload.isZero() || reload.isNegative())) {
      throw CliException.badInput(files == null ? "--tls-reload needs --tls KEY CERT"
          : "--tls-reload must be positive, was " + reload, null);
    }
  }

  /** Whether --tls was given. */
  boolean given() {
    return files != null;
  }

  Path key() {
    return files.get(0);
  }

  Path chain() {
    return files.get(1);
  }

  /** With --tls-reload, a watcher that hands changed files to {@code server}; else null. */
  TlsReloader watch(TlsReloader.Reload server, PrintWriter out) {
    return reload == null ? null : TlsReloader.watch(key(), chain(), reload, server, out);
  }
}
