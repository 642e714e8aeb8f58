package io.bittensor.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.testing.TestCertificates;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code --tls-reload} as {@code peer serve} and {@code ledger serve} use it. */
@Timeout(30)
class ServeTlsOptionsTest {
  /**
   * The commands check the options, then read the files (the server's builder), then start
   * watching once they serve, which for {@code ledger serve} is after the ledger opened and for
   * {@code peer serve} after the model loaded. Files renewed in between were taken as the ones
   * served, and never reloaded: the old certificate was served until the next renewal.
   */
  @Test
  void filesRenewedBeforeTheWatchStartsAreReloaded(@TempDir Path dir) throws Exception {
    Path key = Files.copy(TestCertificates.file("peer.key"), dir.resolve("server.key"));
    Path cert = Files.copy(TestCertificates.file("peer.pem"), dir.resolve("server.pem"));
    Path clientCa = Files.copy(TestCertificates.file("ca.pem"), dir.resolve("clients.pem"));
    ServeTlsOptions tls = new ServeTlsOptions();
    tls.files = List.of(key, cert);
    tls.clientCa = clientCa;
    tls.reload = Duration.ofMillis(20);
    tls.check();
    // The server reads the files here; then, before it serves, certbot renews them.
    Files.copy(TestCertificates.file("stranger.key"), key, StandardCopyOption.REPLACE_EXISTING);
    Files.copy(TestCertificates.file("stranger.pem"), cert, StandardCopyOption.REPLACE_EXISTING);
    Files.copy(TestCertificates.file("stranger.pem"), clientCa,
        StandardCopyOption.REPLACE_EXISTING);
    CountDownLatch keys = new CountDownLatch(1);
    CountDownLatch trust = new CountDownLatch(1);
    StringWriter out = new StringWriter();
    try (ServeTlsOptions.Watch watch = tls.watch((k, c) -> keys.countDown(),
        pem -> trust.countDown(), new PrintWriter(out, true))) {
      assertTrue(keys.await(5, TimeUnit.SECONDS), "the renewed pair was not reloaded: " + out);
      assertTrue(trust.await(5, TimeUnit.SECONDS), "the renewed client CA was not: " + out);
    }
  }
}
