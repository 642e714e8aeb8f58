package io.bittensor.transport.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.bittensor.core.testing.TestCertificates;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PEM files as tools write them. */
class TlsTest {
  /**
   * {@code openssl pkcs12 -nodes} puts "Bag Attributes" before each block, and {@code openssl
   * x509 -subject} the subject, in UTF-8: text outside the blocks, which PEM lets be anything
   * and the JDK's own reader skips.
   */
  @Test
  void textOutsideThePemBlocksIsSkippedWhateverItsCharacters(@TempDir Path dir)
      throws Exception {
    String header = "Bag Attributes\n    friendlyName: Zürich peer\nsubject=CN = Zürich peer\n";
    Path key = dir.resolve("peer.key");
    Path chain = dir.resolve("peer.pem");
    Files.writeString(key, header + Files.readString(TestCertificates.file("peer.key")),
        StandardCharsets.UTF_8);
    Files.writeString(chain, header + Files.readString(TestCertificates.file("peer.pem")),
        StandardCharsets.UTF_8);
    Tls.Pair pair = Tls.readPair(key, chain);
    assertEquals(1, pair.chain().length);
    assertEquals(1, Tls.identity(key, chain).length);
    assertEquals(1, Tls.trustManager(chain).getAcceptedIssuers().length);
  }
}
