package io.bittensor.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.sun.net.httpserver.HttpServer;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Peer;
import io.bittensor.core.Status;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Answers that are not ours (a proxy's or a stopping server's HTML page) get a status from the
 * HTTP code: a 5xx means the peer could not answer (UNAVAILABLE; 504 TIMEOUT), anything else is
 * a bad answer.
 */
@Timeout(30)
class ForeignAnswerTest {
  @ParameterizedTest
  @CsvSource({
    "500, UNAVAILABLE",
    "502, UNAVAILABLE",
    "503, UNAVAILABLE",
    "504, TIMEOUT",
    "429, BACKOFF",
    "413, PAYLOAD_TOO_LARGE",
    "200, BAD_RESPONSE",
    "404, BAD_RESPONSE",
  })
  void aPageThatIsNotProtobufGetsItsStatusFromTheCode(int code, Status expected)
      throws Exception {
    HttpServer page = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    page.createContext("/", exchange -> {
      byte[] html = "<html><body>Server Error</body></html>".getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", "text/html");
      exchange.sendResponseHeaders(code, html.length);
      exchange.getResponseBody().write(html);
      exchange.close();
    });
    page.start();
    try (PeerClient client = PeerClient.newBuilder().standard(TransportContract.STANDARD)
        .timeout(Duration.ofSeconds(10)).build()) {
      Peer peer = client.connect(
          URI.create("http://127.0.0.1:" + page.getAddress().getPort()));
      ForwardResult r = peer.forward(FanOutOverHttpTest.REQUEST).join();
      assertEquals(expected, r.status(), r.toString());
    } finally {
      page.stop(0);
    }
  }
}
