package io.bittensor.transport.internal;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import io.bittensor.core.PeerId;
import io.bittensor.core.Rejection;
import io.bittensor.core.Status;
import io.bittensor.core.internal.Timer;
import io.bittensor.transport.internal.wire.BackwardRequest;
import io.bittensor.transport.internal.wire.ForwardRequest;
import io.bittensor.transport.internal.wire.Response;
import java.nio.ByteBuffer;
import java.security.cert.X509Certificate;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.Callback;

/**
 * The Jetty core handler of {@code POST /v1/forward} and {@code /v1/backward}: checks the HTTP
 * envelope, admits the call by the stake the {@code Bittensor-Caller} header names, reads the
 * body into one buffer (that grows as the bytes come, up to Content-Length), decodes it aliasing
 * that buffer, and writes the response.
 *
 * <p>Thread-safe. No thread waits on the network: the body is read with Jetty's demand
 * callbacks, and the answer is written when the peer's future completes.
 */
public final class HttpPeerHandler extends Handler.Abstract {
  /** The media type of every body. */
  public static final String PROTOBUF = "application/x-protobuf";
  /** The header naming the caller before the body is read. */
  public static final String CALLER_HEADER = "Bittensor-Caller";
  /** The header mirroring the response's status code. */
  public static final String STATUS_HEADER = "Bittensor-Status";
  /** The request header by which a caller takes outputs in a compact form. */
  public static final String ACCEPT_HEADER = "Bittensor-Accept";
  /** {@link #ACCEPT_HEADER}'s value for outputs whose rows repeat along the sequence. */
  public static final String REPEATED_ROWS = "repeated-rows";

  /**
   * Forward bodies at least this long have their metadata-only signature checked from their
   * first bytes ({@link ForwardPrefix}), while the rest is still arriving; a smaller body comes in
   * one or two reads, with nothing to overlap.
   */
  static final long AHEAD_MIN_BODY = 64 * 1024;

  /** How much of the body is read before the check ahead: the prefix takes about 200 bytes. */
  static final int AHEAD_PREFIX_BYTES = 1024;

  private static final int INITIAL_UNKNOWN_LENGTH = 64 * 1024;

  /** The most a body's buffer starts with; it doubles as the bytes come, up to their length. */
  private static final int FIRST_ALLOCATION = 1 << 20;

  private final Serving serving;
  private final Executor executor;

  public HttpPeerHandler(Serving serving, Executor executor) {
    this.serving = serving;
    this.executor = executor;
  }

  @Override
  public boolean handle(Request request, org.eclipse.jetty.server.Response response,
      Callback callback) {
    long start = System.nanoTime();
    String path = Request.getPathInContext(request);
    boolean forward = "/v1/forward".equals(path);
    if (!forward && !"/v1/backward".equals(path)) {
      send(response, callback, 404, Responses.of(Rejection.badRequest("path",
          "no such path " + path + "; POST /v1/forward or /v1/backward")));
      return true;
    }
    // The caller is read first, so that every end of the call, refusals included, names it.
    PeerId hint = null;
    Response badCaller = null;
    String named = request.getHeaders().get(CALLER_HEADER);
    if (named != null) {
      try {
        hint = PeerId.fromHex(named.strip());
      } catch (IllegalArgumentException e) {
        badCaller = Responses.of(Rejection.badRequest(CALLER_HEADER, e.getMessage()));
      }
    }
    PeerId caller = hint;
    ServerCall call = serving.started(forward, caller,
        serving.listening() ? clientCertificate(request) : null, start);
    if (!"POST".equals(request.getMethod())) {
      response.getHeaders().put(HttpHeader.ALLOW, "POST");
      Response r = Responses.of(Rejection.badRequest("method",
          path + " takes POST, not " + request.getMethod()));
      call.heard(r);
      send(response, callback, 405, r);
      return true;
    }
    String type = request.getHeaders().get(HttpHeader.CONTENT_TYPE);
    if (type == null || !type.regionMatches(true, 0, PROTOBUF, 0, PROTOBUF.length())) {
      Response r = Responses.of(Rejection.badRequest("content-type",
          "the body must be " + PROTOBUF + ", was " + type));
      call.heard(r);
      send(response, callback, 415, r);
      return true;
    }
    long length = request.getHeaders().getLongField(HttpHeader.CONTENT_LENGTH);
    Response tooLarge = serving.checkSize(length);
    if (tooLarge != null) {
      call.heard(tooLarge);
      send(response, callback, tooLarge);
      return true;
    }
    if (badCaller != null) {
      call.heard(badCaller);
      send(response, callback, badCaller);
      return true;
    }
    Exchange exchange =
        new Exchange(request, response, callback, forward, hint, length, call);
    exchange.handleThread = Thread.currentThread();
    serving.admit(hint, exchange::start, r -> {
      call.heard(r);
      send(response, callback, r);
    });
    exchange.handleThread = null;
    return true;
  }

  /** One request from admission to the written answer. */
  private final class Exchange {
    private final Request request;
    private final org.eclipse.jetty.server.Response response;
    private final Callback callback;
    private final boolean forward;
    private final PeerId hint;
    private final long length;
    /** Whether the caller reads an output with its rows repeated sent once per example. */
    private final boolean acceptsRepeatedRows;
    /** Hears the call's end. */
    private final ServerCall call;
    private final AtomicBoolean released = new AtomicBoolean();
    /** The thread inside handle() while admission runs; null after. */
    private volatile Thread handleThread;
    /**
     * Answers TIMEOUT if the body has not arrived within the longest deadline of a request: a
     * caller that sends a byte now and then must not hold its slot for good.
     */
    private volatile Timer.Timeout bodyLate;
    /** When the call was admitted ({@link System#nanoTime}): the body's deadline runs from it. */
    private long admittedNanos;
    private ByteBuffer body;
    private boolean aheadTried;
    /** The signature's check from the body's first bytes, or null. */
    private Authenticator.Verified ahead;

    Exchange(Request request, org.eclipse.jetty.server.Response response, Callback callback,
        boolean forward, PeerId hint, long length, ServerCall call) {
      this.call = call;
      this.acceptsRepeatedRows = forward && REPEATED_ROWS.equals(request.getHeaders().get(
          ACCEPT_HEADER));
      this.request = request;
      this.response = response;
      this.callback = callback;
      this.forward = forward;
      this.hint = hint;
      this.length = length;
    }

    /** Admitted: read on this thread inside handle(), else hand over to the server's pool. */
    void start() {
      admittedNanos = System.nanoTime();
      if (handleThread == Thread.currentThread()) {
        read();
      } else {
        try {
          executor.execute(this::read);
        } catch (RuntimeException e) { // the pool is stopping
          finish(Responses.of(Rejection.of(Status.UNAVAILABLE, "the server is shutting down")));
        }
      }
    }

    private void read() {
      try {
        if (body == null) {
          // A declared length is allocated as its bytes come, not on the caller's word: one that
          // names 64 MiB and sends nothing must not cost 64 MiB. grow() enforces the bounds.
          body = ByteBuffer.allocate((int) Math.min(length >= 0 ? length : INITIAL_UNKNOWN_LENGTH,
              Math.min(FIRST_ALLOCATION, serving.maxPayloadBytes())));
        }
        while (true) {
          if (released.get()) {
            return; // answered already (its body came too late)
          }
          Content.Chunk chunk = request.read();
          if (chunk == null) {
            if (bodyLate == null) {
              bodyLate = scheduleBodyLate();
            }
            request.demand(this::read);
            return;
          }
          if (Content.Chunk.isFailure(chunk)) {
            abort(chunk.getFailure());
            return;
          }
          ByteBuffer b = chunk.getByteBuffer();
          if (b.remaining() > body.remaining() && !grow(b.remaining())) {
            chunk.release();
            finish(serving.checkSize(Math.max(serving.maxPayloadBytes() + 1,
                (long) body.position() + b.remaining())));
            return;
          }
          body.put(b);
          chunk.release();
          if (!aheadTried && !chunk.isLast() && forward && length >= AHEAD_MIN_BODY
              && body.position() >= AHEAD_PREFIX_BYTES) {
            aheadTried = true;
            checkAhead();
          }
          if (chunk.isLast()) {
            if (bodyLate == null || bodyLate.cancel()) { // else answered TIMEOUT just now
              body.flip();
              decodeAndServe();
            }
            return;
          }
        }
      } catch (RuntimeException | Error e) { // a body too large for the heap frees its slot too
        finish(Responses.internal(e));
      }
    }

    /**
     * Checks the signature from the first bytes of the body, so that the client goes on writing
     * the tensor meanwhile. (Handing the check to another thread measured no better: on two cores
     * both are already busy, one writing the body and one reading it.)
     */
    private void checkAhead() {
      ForwardPrefix prefix =
          ForwardPrefix.read(body.array(), body.arrayOffset(), body.position());
      if (prefix != null) {
        ahead = serving.core().verifyAhead(prefix);
      }
    }

    private boolean grow(int needed) {
      long want = (long) body.position() + needed;
      long most = length >= 0 ? length : serving.maxPayloadBytes();
      if (want > most) {
        return false; // more bytes than Content-Length said, or over the limit
      }
      long size = Math.min(Math.max(want, 2L * body.capacity()), most);
      ByteBuffer bigger = ByteBuffer.allocate((int) size);
      body.flip();
      bigger.put(body);
      body = bigger;
      return true;
    }

    private void decodeAndServe() {
      CompletableFuture<Response> answer;
      try {
        // Tensors keep pointing into `body`: no copy.
        CodedInputStream in = WireTensors.aliasingInput(
            body.array(), body.arrayOffset() + body.position(), body.remaining());
        answer = forward
            ? serving.core().forward(ForwardRequest.parser().parseFrom(in), hint, ahead,
                acceptsRepeatedRows, call.startNanos(), call::proved)
            : serving.core().backward(BackwardRequest.parser().parseFrom(in), hint,
                call.startNanos(), call::proved);
      } catch (InvalidProtocolBufferException e) {
        answer = CompletableFuture.completedFuture(Responses.undecodable(e));
      }
      answer.whenComplete((r, e) -> finish(r != null ? r : Responses.internal(e)));
    }

    private void finish(Response r) {
      if (released.compareAndSet(false, true)) {
        cancelBodyLate();
        serving.release();
        call.heard(r);
        send(response, callback, r);
      }
    }

    /**
     * The body's deadline, {@code maxTimeout} after admission, scheduled only once the body has
     * to be waited for: most bodies are read whole at once, and a timer per call costs a
     * microsecond or more.
     */
    private Timer.Timeout scheduleBodyLate() {
      long ms = serving.core().maxTimeoutMillis();
      long left = TimeUnit.MILLISECONDS.toNanos(ms) - (System.nanoTime() - admittedNanos);
      return Timer.SHARED.schedule(Math.max(0, left), TimeUnit.NANOSECONDS,
          () -> finish(Responses.of(Rejection.of(Status.TIMEOUT,
              "the request's body did not arrive within " + ms + " ms"))));
    }

    private void cancelBodyLate() {
      Timer.Timeout t = bodyLate;
      if (t != null) {
        t.cancel();
      }
    }

    private void abort(Throwable failure) {
      if (released.compareAndSet(false, true)) {
        cancelBodyLate();
        serving.release();
        call.heard(Status.CANCELLED); // the caller went away
        callback.failed(failure);
      }
    }
  }

  /**
   * The certificate the caller showed in the TLS handshake (its own, the chain's first), or null
   * in cleartext and over TLS that asked for none.
   */
  static X509Certificate clientCertificate(Request request) {
    if (!request.isSecure()
        || !(request.getAttribute(EndPoint.SslSessionData.ATTRIBUTE)
            instanceof EndPoint.SslSessionData ssl)) {
      return null;
    }
    X509Certificate[] chain = ssl.peerCertificates();
    return chain == null || chain.length == 0 ? null : chain[0];
  }

  private static void send(org.eclipse.jetty.server.Response response, Callback callback,
      Response r) {
    send(response, callback, Responses.httpStatus(r.getStatus()), r);
  }

  private static void send(org.eclipse.jetty.server.Response response, Callback callback,
      int httpStatus, Response r) {
    if (r.getRetryAfterMs() > 0) {
      response.getHeaders().put(HttpHeader.RETRY_AFTER,
          Long.toString((r.getRetryAfterMs() + 999) / 1000));
    }
    try {
      ByteBuffer[] parts = SplitEncoding.encode(r);
      if (parts.length == 1) {
        writeHead(response, httpStatus, r.getStatus(), parts[0].remaining());
        response.write(true, parts[0], callback);
        return;
      }
      // A large answer: its head, then the tensor's bytes from the tensor's own buffer.
      writeHead(response, httpStatus, r.getStatus(),
          (long) parts[0].remaining() + parts[1].remaining());
      response.write(false, parts[0],
          Callback.from(() -> response.write(true, parts[1], callback), callback::failed));
    } catch (RuntimeException e) {
      callback.failed(e);
    }
  }

  private static void writeHead(org.eclipse.jetty.server.Response response, int httpStatus,
      int status, long length) {
    response.setStatus(httpStatus);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, PROTOBUF);
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, length);
    response.getHeaders().put(STATUS_HEADER, Integer.toString(status));
  }

  /**
   * Writes {@code message} as the whole protobuf body, with the HTTP status and the
   * {@code Bittensor-Status} header; completes {@code callback}.
   */
  public static void write(org.eclipse.jetty.server.Response response, Callback callback,
      int httpStatus, int status, MessageLite message) {
    try {
      byte[] body = message.toByteArray();
      writeHead(response, httpStatus, status, body.length);
      response.write(true, ByteBuffer.wrap(body), callback);
    } catch (RuntimeException e) {
      callback.failed(e);
    }
  }
}
