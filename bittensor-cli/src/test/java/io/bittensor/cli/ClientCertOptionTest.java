package io.bittensor.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.cli.internal.TlsReloader;
import io.bittensor.core.testing.TestCertificates;
import io.bittensor.transport.RemoteLedger;
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

/** A relay's {@code --client-cert} upstream, renewed under {@code --tls-reload}. */
@Timeout(30)
class ClientCertOptionTest {
  /**
   * {@code ledger serve --upstream} reads the files as it connects upstream, then audits the
   * chain (with {@code --chain}: every block, which takes a while) and starts its server, and
   * only then watches them: files renewed in between were taken as the ones shown, and the old
   * certificate was shown upstream until the next renewal, as ServeTlsOptionsTest's for --tls.
   */
  @Test
  void filesRenewedBeforeTheWatchStartsAreReloaded(@TempDir Path dir) throws Exception {
    Path key = Files.copy(TestCertificates.file("client.key"), dir.resolve("client.key"));
    Path cert = Files.copy(TestCertificates.file("client.pem"), dir.resolve("client.pem"));
    ClientCertOption option = new ClientCertOption();
    option.files = List.of(key, cert);
    option.apply(RemoteLedger.builder()); // the relay's client reads the files here
    // The ledger is audited here; then, before the relay serves, the certificate is renewed.
    Files.copy(TestCertificates.file("stranger.key"), key, StandardCopyOption.REPLACE_EXISTING);
    Files.copy(TestCertificates.file("stranger.pem"), cert, StandardCopyOption.REPLACE_EXISTING);
    CountDownLatch reloaded = new CountDownLatch(1);
    StringWriter out = new StringWriter();
    try (TlsReloader watch = option.watch(Duration.ofMillis(20), (k, c) -> reloaded.countDown(),
        new PrintWriter(out, true))) {
      assertTrue(reloaded.await(5, TimeUnit.SECONDS),
          "the renewed client certificate was not reloaded: " + out);
    }
  }
}
