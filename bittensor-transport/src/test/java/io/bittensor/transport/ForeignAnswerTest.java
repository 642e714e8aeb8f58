package io.bittensor.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.bittensor.core.BackwardRequest;
import io.bittensor.core.BackwardResult;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.PeerInfo;
import io.bittensor.core.Status;
import io.bittensor.transport.internal.wire.Response;
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

  /**
   * An answer larger than the client's limit is refused as BAD_RESPONSE whether the server says
   * its length first or sends it in chunks (as HTTP/1.1 may, and HTTP/2 without a length).
   */
  @ParameterizedTest
  @CsvSource({"true", "false"})
  void anAnswerLargerThanTheLimitIsRefusedWithOrWithoutItsLength(boolean chunked)
      throws Exception {
    byte[] body = Response.newBuilder().setVersion(PeerInfo.PROTOCOL_VERSION)
        .setStatus(Status.SUCCESS.code())
        .setOutput(io.bittensor.transport.internal.WireTensors.toWire(io.bittensor.core.Tensor
            .zeros(io.bittensor.core.DType.FLOAT32, 2, 4, TransportContract.OUTPUT_DIM)))
        .build().toByteArray();
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", exchange -> {
      exchange.getRequestBody().readAllBytes();
      exchange.getResponseHeaders().add("Content-Type", "application/x-protobuf");
      exchange.sendResponseHeaders(200, chunked ? 0 : body.length); // 0: chunked
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    server.start();
    long limit = body.length - 1;
    try (PeerClient client = PeerClient.newBuilder().standard(TransportContract.STANDARD)
        .timeout(Duration.ofSeconds(10)).maxResponseBytes(limit).build()) {
      Peer peer = client.connect(
          URI.create("http://127.0.0.1:" + server.getAddress().getPort()));
      ForwardResult r = peer.forwardAndWait(FanOutOverHttpTest.REQUEST, Duration.ofSeconds(10));
      assertEquals(Status.BAD_RESPONSE, r.status(), r.toString());
      assertTrue(r.message().contains("limit " + limit), r.toString());
      // Protobuf it may well be: what is wrong is its size, and the message says only that.
      assertFalse(r.message().contains("not a protobuf"), r.toString());
    } finally {
      server.stop(0);
    }
  }

  /**
   * A peer whose port takes no connection within the client's connect timeout (its accept queue
   * full) cannot be reached: UNAVAILABLE, saying so, not a TIMEOUT claiming the whole call's
   * deadline passed while the connection was given up long before it.
   */
  @org.junit.jupiter.api.Test
  void aConnectionNotMadeWithinTheConnectTimeoutIsUnavailable() throws Exception {
    java.util.List<java.net.Socket> fillers = new java.util.ArrayList<>();
    try (java.net.ServerSocket full = new java.net.ServerSocket(0, 1,
        java.net.InetAddress.getLoopbackAddress())) {
      // Nothing accepts: a few connections fill the accept queue, and later SYNs are dropped.
      for (int i = 0; i < 4; i++) {
        java.net.Socket s = new java.net.Socket();
        fillers.add(s);
        try {
          s.connect(full.getLocalSocketAddress(), 200);
        } catch (java.net.SocketTimeoutException queueFull) {
          break;
        }
      }
      try (PeerClient client = PeerClient.newBuilder().standard(TransportContract.STANDARD)
          .connectTimeout(Duration.ofMillis(300)).build()) {
        Peer peer = client.connect(URI.create("http://127.0.0.1:" + full.getLocalPort()));
        ForwardResult r = peer.forwardAndWait(FanOutOverHttpTest.REQUEST, Duration.ofSeconds(20));
        assertEquals(Status.UNAVAILABLE, r.status(), r.toString());
        assertTrue(r.message().contains("cannot reach"), r.toString());
      }
    } finally {
      for (java.net.Socket s : fillers) {
        s.close();
      }
    }
  }

  /** Serves {@code answer}'s bytes as a protobuf body to every call, forward or backward. */
  private static HttpServer answering(Response answer) throws java.io.IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    byte[] body = answer.toByteArray();
    server.createContext("/", exchange -> {
      exchange.getRequestBody().readAllBytes();
      exchange.getResponseHeaders().add("Content-Type", "application/x-protobuf");
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    server.start();
    return server;
  }

  /**
   * Protobuf answers no server of ours sends: a status this client does not know (a newer
   * protocol's), a success without its output, an output shorter than its shape. Each is a
   * result its caller can read, and a client's listener hears it, forward and backward.
   */
  @ParameterizedTest
  @CsvSource({
    "unknown status, INTERNAL_ERROR, unknown status code 999: from the future",
    "no output, BAD_RESPONSE, a successful answer without output",
    "short output, BAD_RESPONSE, output",
  })
  void aProtobufAnswerNoServerOfOursSendsIsAResultNamingWhatIsWrong(String kind,
      Status expected, String mention) throws Exception {
    Response.Builder answer = Response.newBuilder().setVersion(PeerInfo.PROTOCOL_VERSION);
    switch (kind) {
      case "unknown status" -> answer.setStatus(999).setMessage("from the future");
      case "no output" -> answer.setStatus(Status.SUCCESS.code());
      default -> answer.setStatus(Status.SUCCESS.code()).setOutput(
          io.bittensor.transport.internal.wire.Tensor.newBuilder()
              .setDtype(io.bittensor.transport.internal.wire.DataType.FLOAT32)
              .addAllShape(java.util.List.of(2, 4, TransportContract.OUTPUT_DIM))
              .setData(com.google.protobuf.ByteString.copyFrom(new byte[10])));
    }
    HttpServer server = answering(answer.build());
    java.util.List<CallEvent> heard = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (PeerClient client = PeerClient.newBuilder().standard(TransportContract.STANDARD)
        .timeout(Duration.ofSeconds(10)).callListener(heard::add).build()) {
      Peer peer = client.connect(
          URI.create("http://127.0.0.1:" + server.getAddress().getPort()));
      ForwardResult r = peer.forward(FanOutOverHttpTest.REQUEST).join();
      assertEquals(expected, r.status(), r.toString());
      assertTrue(r.message().contains(mention) || r.field().contains(mention), r.toString());
      BackwardResult b = peer.backward(new BackwardRequest(Modality.TENSOR,
          FanOutOverHttpTest.REQUEST.input(), io.bittensor.core.Tensor.zeros(
              io.bittensor.core.DType.FLOAT32, 2, 4, TransportContract.OUTPUT_DIM))).join();
      // An acknowledgement carries no output: only an unknown status is wrong in it.
      assertEquals(kind.equals("unknown status") ? Status.INTERNAL_ERROR : Status.SUCCESS,
          b.status(), b.toString());
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (heard.size() < 2 && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      assertEquals(java.util.List.of(CallEvent.Kind.FORWARD + " " + r.status(),
          CallEvent.Kind.BACKWARD + " " + b.status()),
          heard.stream().map(c -> c.kind() + " " + c.status()).toList());
    } finally {
      server.stop(0);
    }
  }
}
