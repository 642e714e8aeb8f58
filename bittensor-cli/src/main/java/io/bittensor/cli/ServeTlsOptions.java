package io.bittensor.cli;

import io.bittensor.cli.internal.TlsReloader;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
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
      + "connections with them when they changed (a renewed certificate, no restart); the "
      + "--tls-client-ca file too (a member added to it is let in), a relay's --client-cert "
      + "pair and --trust file, and peer serve's --members-client-cert pair and --members-trust "
      + "file (these with or without --tls).")
  Duration reload;

  @Option(names = "--tls-client-ca", paramLabel = "FILE", description = "With --tls: mutual "
      + "TLS, serve only callers that show a certificate issued by one in this PEM file (an "
      + "authority, or the callers' own certificates); the others fail the handshake.")
  Path clientCa;

  /** The files as {@link #check} found them, before the server read them: what is watched. */
  private TlsReloader.Snapshot keysSeen;
  private TlsReloader.Snapshot clientCaSeen;

  /**
   * Checks the options together.
   *
   * @throws CliException for a reload or client authorities without files, or a reload not
   *     positive or too long
   */
  void check() {
    check(null);
  }

  /**
   * Checks the options together, where a reload may watch other files than --tls's.
   *
   * @param otherFiles the option naming other files that --tls-reload watches (a relay's
   *     --client-cert or --trust), when given; null when there are none
   * @throws CliException for a reload with nothing to watch, client authorities without
   *     files, or a reload not positive or past {@code Long.MAX_VALUE} milliseconds
   */
  void check(String otherFiles) {
    if (clientCa != null && files == null) {
      throw CliException.badInput("--tls-client-ca needs --tls KEY CERT", null);
    }
    if (reload != null && files == null && otherFiles == null) {
      throw CliException.badInput("--tls-reload needs --tls KEY CERT", null);
    }
    if (reload != null && (reload.isZero() || reload.isNegative())) {
      throw CliException.badInput("--tls-reload must be positive, was " + reload, null);
    }
    if (reload != null && reload.compareTo(Duration.ofMillis(Long.MAX_VALUE)) > 0) {
      // Else it serves, then fails as it starts watching with "long overflow".
      throw CliException.badInput("--tls-reload must be at most "
          + Duration.ofMillis(Long.MAX_VALUE) + ", was " + reload, null);
    }
    // Taken before the server reads the files, which may be long before it serves (a ledger
    // opens in between): a certificate renewed meanwhile differs from these, and is reloaded.
    if (reload != null && files != null) {
      keysSeen = TlsReloader.snapshot(key(), chain());
      clientCaSeen = clientCa == null ? null : TlsReloader.snapshot(clientCa, clientCa);
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

  /** What {@link #watch} started; closing it stops the watching. */
  interface Watch extends AutoCloseable {
    @Override
    void close();
  }

  /**
   * With --tls-reload and --tls, watchers that hand changed files to the server: the key and
   * certificate to {@code identity}, and with --tls-client-ca the trusted client certificates
   * to {@code clientTrust}; else null.
   */
  Watch watch(TlsReloader.Reload identity, Consumer<Path> clientTrust, PrintWriter out) {
    if (reload == null || files == null) {
      return null;
    }
    TlsReloader keys = TlsReloader.watch(key(), chain(), reload, identity, out, keysSeen);
    TlsReloader trust = clientCa == null ? null
        : TlsReloader.watchTrust(clientCa, reload, clientTrust, out, clientCaSeen);
    return () -> {
      keys.close();
      if (trust != null) {
        trust.close();
      }
    };
  }
}
