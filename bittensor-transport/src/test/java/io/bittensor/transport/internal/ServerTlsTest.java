package io.bittensor.transport.internal;

import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.testing.TestCertificates;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.junit.jupiter.api.Test;

/** What a reload that fails part way leaves on the port. */
class ServerTlsTest {
  /** A port's TLS whose next reload applies its change and then fails, as a failed load does. */
  private static final class FailingOnce extends SslContextFactory.Server {
    private boolean fail = true;

    @Override
    public void reload(Consumer<SslContextFactory> consumer) throws Exception {
      super.reload(consumer);
      if (fail) {
        fail = false;
        throw new IllegalStateException("the new context did not load");
      }
    }
  }

  @Test
  void aReloadThatFailsPartWayLeavesThePortWithTheContextItHad() {
    ServerTls.Settings settings = new ServerTls.Settings();
    settings.identity(TestCertificates.file("peer.key"), TestCertificates.file("peer.pem"));
    settings.trust(TestCertificates.file("ca.pem"));
    SSLContext first = settings.context();
    FailingOnce ssl = new FailingOnce();
    ssl.setSslContext(first);
    ServerConnector connector =
        new ServerConnector(new Server(), new SslConnectionFactory(ssl, "http/1.1"));
    ServerTls tls = settings.forPort(connector);

    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> tls.reloadIdentity(TestCertificates.file("stranger.key"),
            TestCertificates.file("stranger.pem")));
    assertTrue(e.getMessage().contains("did not load"), e.getMessage());
    assertSame(first, ssl.getSslContext(),
        "a reload that failed leaves the context the port had, not the half-loaded new one");
  }
}
