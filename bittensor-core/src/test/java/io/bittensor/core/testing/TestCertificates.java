package io.bittensor.core.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The TLS test certificates ({@code src/test/resources/tls}, made by its {@code make.sh}): an
 * authority ({@code ca.pem}), a peer's key and certificate signed by it for 127.0.0.1 and
 * localhost ({@code peer.key}, {@code peer.pem}), a client's key and certificate signed by it for
 * mutual TLS ({@code client.key}, {@code client.pem}), and a self-signed pair nobody trusts
 * ({@code stranger.key}, {@code stranger.pem}). EC P-256, valid until 2125.
 */
public final class TestCertificates {
  private TestCertificates() {}

  /**
   * The file {@code name} as a path of its own: copied out of the test-jar when another module
   * reads it from there, so it can be handed to anything that takes a {@link Path}.
   */
  public static Path file(String name) {
    try (InputStream in = TestCertificates.class.getResourceAsStream("/tls/" + name)) {
      if (in == null) {
        throw new IllegalArgumentException("no test certificate file " + name);
      }
      Path dir = Files.createDirectories(Path.of(System.getProperty("java.io.tmpdir"),
          "bittensor-test-tls-" + ProcessHandle.current().pid()));
      Path out = dir.resolve(name);
      Files.copy(in, out, StandardCopyOption.REPLACE_EXISTING);
      out.toFile().deleteOnExit();
      dir.toFile().deleteOnExit();
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
