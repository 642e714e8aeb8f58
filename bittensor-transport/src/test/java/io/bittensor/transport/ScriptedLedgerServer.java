package io.bittensor.transport;

import com.google.protobuf.InvalidProtocolBufferException;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Status;
import io.bittensor.transport.internal.HttpPeerHandler;
import io.bittensor.transport.internal.LedgerWire;
import io.bittensor.transport.internal.Responses;
import io.bittensor.transport.internal.wire.BlockEvent;
import io.bittensor.transport.internal.wire.EventsRequest;
import io.bittensor.transport.internal.wire.LedgerEvent;
import io.bittensor.transport.internal.wire.LedgerRequest;
import io.bittensor.transport.internal.wire.LedgerResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A ledger server that says what a test scripts, over HTTP/1.1, for the answers no server of
 * ours sends: each operation's answer is set by the test ({@link #answer}), and each event
 * stream writes what the test puts in the next {@link Stream} ({@link #stream()}), as it comes
 * (unless an answer is set for {@code events} too). An events request with no stream scripted is
 * refused UNAVAILABLE, as is any other operation with no answer set.
 */
final class ScriptedLedgerServer implements AutoCloseable {
  /** One event stream: the events to write, in order, until {@link #end()}. */
  static final class Stream {
    private static final byte[] END = new byte[0];
    private final BlockingQueue<byte[]> events = new LinkedBlockingQueue<>();

    Stream send(LedgerEvent e) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      try {
        e.writeDelimitedTo(out);
      } catch (IOException impossible) {
        throw new AssertionError(impossible);
      }
      events.add(out.toByteArray());
      return this;
    }

    /** Closes the stream once what was sent before is written. */
    void end() {
      events.add(END);
    }
  }

  /** An answer to one operation: an HTTP status, a content type and a body. */
  record Answer(int http, String type, byte[] body) {
    /** {@code r} as our server sends it, with the HTTP status that mirrors its status. */
    static Answer of(LedgerResponse r) {
      return new Answer(Responses.httpStatus(r.getStatus()), HttpPeerHandler.PROTOBUF,
          r.toByteArray());
    }
  }

  private final HttpServer server;
  private final ExecutorService threads = Executors.newCachedThreadPool();
  private final BlockingQueue<Stream> streams = new LinkedBlockingQueue<>();
  private final Map<String, Answer> answers = new ConcurrentHashMap<>();
  /** The events requests heard, in order. */
  final List<EventsRequest> opened = new CopyOnWriteArrayList<>();

  ScriptedLedgerServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setExecutor(threads);
    server.createContext("/v1/ledger/", this::handle);
    server.start();
  }

  URI uri() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
  }

  /** Answers every later request for {@code op} with {@code answer}. */
  void answer(String op, Answer answer) {
    answers.put(op, answer);
  }

  void answer(String op, LedgerResponse r) {
    answer(op, Answer.of(r));
  }

  /** The next events request's stream. */
  Stream stream() {
    Stream s = new Stream();
    streams.add(s);
    return s;
  }

  /** A snapshot event: {@code m}, whole. */
  static LedgerEvent snapshot(Metagraph m) {
    return LedgerEvent.newBuilder().setBlock(BlockEvent.newBuilder().setSnapshot(true)
        .setBlock(LedgerWire.toWire(m.block())).setMetagraph(LedgerWire.toWire(m))).build();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      byte[] request = exchange.getRequestBody().readAllBytes();
      String op = exchange.getRequestURI().getPath().substring("/v1/ledger/".length());
      if (!op.equals("events") || answers.containsKey(op)) {
        Answer a = answers.getOrDefault(op, Answer.of(LedgerResponse.newBuilder()
            .setVersion(1).setStatus(Status.UNAVAILABLE.code())
            .setMessage("nothing scripted for " + op).build()));
        write(exchange, a);
        return;
      }
      opened.add(EventsRequest.parseFrom(LedgerRequest.parseFrom(request).getBody()));
      Stream s = streams.poll();
      if (s == null) {
        write(exchange, Answer.of(LedgerResponse.newBuilder().setVersion(1)
            .setStatus(Status.UNAVAILABLE.code()).setMessage("no stream scripted").build()));
        return;
      }
      exchange.getResponseHeaders().add("Content-Type", HttpPeerHandler.PROTOBUF);
      exchange.getResponseHeaders().add(HttpPeerHandler.STATUS_HEADER, "0");
      exchange.sendResponseHeaders(200, 0);
      OutputStream out = exchange.getResponseBody();
      for (byte[] e = s.events.take(); e != Stream.END; e = s.events.take()) {
        out.write(e);
        out.flush();
      }
    } catch (InvalidProtocolBufferException e) {
      throw new IOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void write(HttpExchange exchange, Answer a) throws IOException {
    exchange.getResponseHeaders().add("Content-Type", a.type());
    if (a.type().equals(HttpPeerHandler.PROTOBUF)) { // a page of another server has none
      exchange.getResponseHeaders().add(HttpPeerHandler.STATUS_HEADER, a.http() == 200 ? "0"
          : Integer.toString(Status.UNAVAILABLE.code()));
    }
    exchange.sendResponseHeaders(a.http(), a.body().length);
    exchange.getResponseBody().write(a.body());
  }

  /** Stops serving; streams still open are cut. */
  @Override
  public void close() {
    for (Stream s = streams.poll(); s != null; s = streams.poll()) {
      s.end();
    }
    server.stop(0);
    threads.shutdownNow();
    try {
      threads.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
