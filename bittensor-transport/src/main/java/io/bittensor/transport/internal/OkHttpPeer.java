package io.bittensor.transport.internal;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import io.bittensor.core.BackwardRequest;
import io.bittensor.core.BackwardResult;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.PeerId;
import io.bittensor.core.Rejection;
import io.bittensor.core.Status;
import io.bittensor.core.internal.Deadlines;
import io.bittensor.core.internal.Timer;
import io.bittensor.transport.internal.wire.Response;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;
import okhttp3.Call;
import okhttp3.Callback;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.ResponseBody;
import okio.BufferedSink;
import okio.BufferedSource;

/**
 * A remote peer reached over HTTP with OkHttp: each call is one POST whose future completes on
 * OkHttp's dispatcher thread; cancelling the future cancels the HTTP call. The blocking calls
 * ({@code forwardAndWait}) run the POST on the caller's thread instead.
 *
 * <p>Thread-safe.
 */
public final class OkHttpPeer extends TimedPeer {
  private static final MediaType PROTOBUF = MediaType.get(HttpPeerHandler.PROTOBUF);

  private final URI endpoint;
  private final HttpUrl forwardUrl;
  private final HttpUrl backwardUrl;
  private final OkHttpClient http;
  private final ClientCore core;
  private final long maxResponseBytes;
  private final PeerId signer;

  /**
   * @param signer the key successful answers must be signed with, or null to check none
   */
  public OkHttpPeer(URI endpoint, OkHttpClient http, ClientCore core, Duration defaultTimeout,
      long maxResponseBytes, PeerId signer) {
    this(endpoint, http, core, defaultTimeout, maxResponseBytes, signer, () -> false);
  }

  /**
   * @param signer the key successful answers must be signed with, or null to check none
   * @param clientClosed whether the client is closed: then every call is UNAVAILABLE unmade
   */
  public OkHttpPeer(URI endpoint, OkHttpClient http, ClientCore core, Duration defaultTimeout,
      long maxResponseBytes, PeerId signer, BooleanSupplier clientClosed) {
    super(defaultTimeout, clientClosed);
    this.signer = signer;
    HttpUrl base = HttpUrl.get(endpoint.toString());
    this.endpoint = endpoint;
    this.forwardUrl = base.resolve("/v1/forward");
    this.backwardUrl = base.resolve("/v1/backward");
    this.http = http;
    this.core = core;
    this.maxResponseBytes = maxResponseBytes;
  }


  @Override
  public CompletableFuture<ForwardResult> forward(ForwardRequest request, Duration timeout) {
    Rejection closed = closed(endpoint);
    if (closed != null) {
      return CompletableFuture.completedFuture(ForwardResult.rejected(closed));
    }
    long ms = Deadlines.millis(timeout);
    ProtoBody body = forwardBody(request, ms);
    return enqueue(newCall(forwardUrl, body, true), ms, forwardReader(request, body),
        ForwardResult::rejected);
  }

  @Override
  public CompletableFuture<BackwardResult> backward(BackwardRequest request, Duration timeout) {
    Rejection closed = closed(endpoint);
    if (closed != null) {
      return CompletableFuture.completedFuture(BackwardResult.rejected(closed));
    }
    long ms = Deadlines.millis(timeout);
    ProtoBody body = backwardBody(request, ms);
    return enqueue(newCall(backwardUrl, body, false), ms, backwardReader(body),
        BackwardResult::rejected);
  }

  /** The call runs on the caller's thread: no hand-over to a dispatcher thread and back. */
  @Override
  public ForwardResult forwardAndWait(ForwardRequest request, Duration timeout) {
    Rejection closed = closed(endpoint);
    if (closed != null) {
      return ForwardResult.rejected(closed);
    }
    long ms = Deadlines.millis(timeout);
    ProtoBody body = forwardBody(request, ms);
    return execute(newCall(forwardUrl, body, true), ms, forwardReader(request, body),
        ForwardResult::rejected);
  }

  @Override
  public BackwardResult backwardAndWait(BackwardRequest request, Duration timeout) {
    Rejection closed = closed(endpoint);
    if (closed != null) {
      return BackwardResult.rejected(closed);
    }
    long ms = Deadlines.millis(timeout);
    ProtoBody body = backwardBody(request, ms);
    return execute(newCall(backwardUrl, body, false), ms, backwardReader(body),
        BackwardResult::rejected);
  }

  // The answer is checked against the request of the attempt that got it: a forward resent by
  // OkHttp is signed again, with another nonce.
  private Function<Response, ForwardResult> forwardReader(ForwardRequest request, ProtoBody body) {
    return r -> core.forwardResult(r, request.input(), signer, body::sentDigest, endpoint);
  }

  private Function<Response, BackwardResult> backwardReader(ProtoBody body) {
    return r -> core.backwardResult(r, signer, body::sentDigest, endpoint);
  }

  private ProtoBody forwardBody(ForwardRequest request, long ms) {
    // A resend, or a call that waited for a dispatcher slot, tells the server the time its
    // caller has left, not the whole timeout again.
    long start = System.nanoTime();
    return new ProtoBody(core.outgoing(request, ms), left -> core.outgoing(request, left),
        start, TimeUnit.MILLISECONDS.toNanos(ms), System::nanoTime);
  }

  private ProtoBody backwardBody(BackwardRequest request, long ms) {
    // A backward resent as it was: if the first attempt did arrive, the server refuses the copy
    // as a replay instead of applying the gradient twice.
    return new ProtoBody(core.outgoing(request, ms));
  }

  private Call newCall(HttpUrl url, ProtoBody body, boolean forward) {
    Request.Builder rb = new Request.Builder().url(url).post(body);
    core.callerHex().ifPresent(hex -> rb.header(HttpPeerHandler.CALLER_HEADER, hex));
    if (forward) {
      // Its outputs' repeated rows (a sentence embedding at every token) come once per example.
      rb.header(HttpPeerHandler.ACCEPT_HEADER, HttpPeerHandler.REPEATED_ROWS);
    }
    return http.newCall(rb.build());
  }

  /**
   * The call's deadline: it cancels the call, the answer's body included. Not OkHttp's call
   * timeout, whose watchdog thread is woken by every call made one at a time (okio inserts each
   * deadline at the head of an emptied list); the shared timer is not.
   */
  private static Timer.Timeout deadline(Call call, long ms) {
    return Timer.SHARED.schedule(ms, TimeUnit.MILLISECONDS, call::cancel);
  }

  private <T> CompletableFuture<T> enqueue(Call call, long ms, Function<Response, T> read,
      Function<Rejection, T> fail) {
    CompletableFuture<T> out = new CompletableFuture<>();
    // A call waiting for a dispatcher slot fails only once it gets one: end it here.
    Timer.Timeout deadline = Timer.SHARED.schedule(ms, TimeUnit.MILLISECONDS, () -> {
      call.cancel();
      out.complete(fail.apply(timedOut(ms)));
    });
    out.whenComplete((r, e) -> {
      deadline.cancel();
      if (out.isCancelled()) {
        call.cancel();
      }
    });
    call.enqueue(new Callback() {
      @Override
      public void onFailure(Call c, IOException e) {
        out.complete(fail.apply(failure(e, c, ms, deadline)));
      }

      @Override
      public void onResponse(Call c, okhttp3.Response response) {
        out.complete(answer(c, response, ms, deadline, read, fail));
      }
    });
    return out;
  }

  private <T> T execute(Call call, long ms, Function<Response, T> read,
      Function<Rejection, T> fail) {
    if (Thread.currentThread().isInterrupted()) {
      return fail.apply(Rejection.of(Status.CANCELLED, "the calling thread was interrupted before "
          + "the call to " + endpoint));
    }
    Timer.Timeout deadline = deadline(call, ms);
    try {
      okhttp3.Response response;
      try {
        response = BlockingCalls.execute(call);
      } catch (IOException e) {
        return fail.apply(failure(e, call, ms, deadline));
      }
      return answer(call, response, ms, deadline, read, fail);
    } finally {
      deadline.cancel();
    }
  }

  /** What an HTTP answer means; closes it. */
  private <T> T answer(Call c, okhttp3.Response response, long ms, Timer.Timeout deadline,
      Function<Response, T> read, Function<Rejection, T> fail) {
    try (response) {
      Response r = readResponse(response);
      return r == null ? fail.apply(notProtobuf(response)) : read.apply(r);
    } catch (UnreadAnswer e) {
      return fail.apply(Rejection.of(Status.BAD_RESPONSE,
          endpoint + " answered more than this client reads: " + e.getMessage()));
    } catch (InvalidProtocolBufferException e) {
      return fail.apply(Rejection.of(Status.BAD_RESPONSE,
          endpoint + " answered a body that is not a protobuf Response: " + e.getMessage()));
    } catch (IOException e) {
      return fail.apply(failure(e, c, ms, deadline));
    } catch (RuntimeException e) {
      return fail.apply(Rejection.of(Status.BAD_RESPONSE,
          endpoint + " answered something unreadable: " + e));
    }
  }

  /** The decoded body, or null when the body is not ours (a proxy's error page, say). */
  private Response readResponse(okhttp3.Response response) throws IOException {
    ResponseBody body = response.body();
    MediaType type = body.contentType();
    if (type == null || !HttpPeerHandler.PROTOBUF.equals(type.type() + "/" + type.subtype())) {
      return null;
    }
    long length = body.contentLength();
    if (length > maxResponseBytes) {
      throw new UnreadAnswer(
          "the answer has " + length + " bytes, more than the limit " + maxResponseBytes);
    }
    byte[] bytes;
    if (length >= 0) {
      bytes = new byte[(int) length];
      BufferedSource source = body.source();
      ByteBuffer into = ByteBuffer.wrap(bytes);
      while (into.hasRemaining()) {
        if (source.read(into) < 0) {
          throw new java.io.EOFException("the answer ended after " + into.position() + " of "
              + length + " bytes");
        }
      }
      // Read on to the end of the stream. Closing an HTTP/2 body before OkHttp has seen the
      // server's END_STREAM resets the stream with CANCEL; under load those resets made Jetty
      // refuse new streams, and OkHttp then resent signed requests, which the server rightly
      // refused as replays.
      if (!source.exhausted()) {
        throw new UnreadAnswer("the answer has more bytes than its Content-Length " + length);
      }
    } else {
      // No length said (chunked, or HTTP/2 without one): read no more than the limit allows.
      BufferedSource source = body.source();
      if (source.request(maxResponseBytes + 1)) {
        throw new UnreadAnswer("the answer has more than " + maxResponseBytes + " bytes, the limit "
            + maxResponseBytes);
      }
      bytes = source.readByteArray();
    }
    // The output tensor wraps `bytes`: no copy.
    return Response.parser().parseFrom(WireTensors.aliasingInput(bytes, 0, bytes.length));
  }

  /**
   * An answer refused for its size, whatever its bytes: not "not a protobuf Response", which
   * it may well be. An IOException, as the reads around it, but no failure of the connection.
   */
  private static final class UnreadAnswer extends IOException {
    private static final long serialVersionUID = 1L;

    UnreadAnswer(String message) {
      super(message);
    }
  }

  private Rejection notProtobuf(okhttp3.Response response) {
    int code = response.code();
    // A 5xx page that is not ours means the server (or a proxy) failed before the peer could
    // answer, as when a server stops with calls in flight: the peer is unavailable, not wrong.
    Status s = switch (code) {
      case 413 -> Status.PAYLOAD_TOO_LARGE;
      case 429 -> Status.BACKOFF;
      case 504 -> Status.TIMEOUT;
      default -> code >= 500 && code <= 599 ? Status.UNAVAILABLE : Status.BAD_RESPONSE;
    };
    return Rejection.of(s, endpoint + " answered HTTP " + code + " without a protobuf body");
  }

  private Rejection failure(IOException e, Call c, long ms, Timer.Timeout deadline) {
    String why = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": "
        + e.getMessage());
    // A deadline that fired is what cancelled this call.
    if (deadline.hasFired()) {
      return timedOut(ms);
    }
    if (e instanceof SocketTimeoutException) {
      // No connection within the client's connect timeout: the peer was not reached, and the
      // call's own deadline, perhaps far off, did not pass.
      String what = String.valueOf(e.getMessage()).toLowerCase(java.util.Locale.ROOT);
      return what.contains("connect") ? Rejection.of(Status.UNAVAILABLE, "cannot reach "
          + endpoint + ": " + why) : timedOut(ms);
    }
    if (c.isCanceled()) {
      return Rejection.of(Status.CANCELLED, "the call to " + endpoint + " was cancelled");
    }
    Rejection closed = closed(endpoint);
    if (closed != null) {
      // Made as its client closed: refused by the dispatcher's shut-down threads ("executor
      // rejected"), not by the peer's connection.
      return closed;
    }
    if (e instanceof InterruptedIOException && Thread.currentThread().isInterrupted()) {
      // A blocking call whose thread was interrupted; okio has set the flag again.
      return Rejection.of(Status.CANCELLED, "the call to " + endpoint + " was interrupted");
    }
    if (e instanceof ConnectException || e instanceof NoRouteToHostException
        || e instanceof UnknownHostException) {
      return Rejection.of(Status.UNAVAILABLE, "cannot reach " + endpoint + ": " + why);
    }
    return Rejection.of(Status.UNAVAILABLE, "the connection to " + endpoint + " failed: " + why
        + Tls.clientCertificateHint(endpoint, e));
  }

  private Rejection timedOut(long ms) {
    return Rejection.of(Status.TIMEOUT, endpoint + " did not answer within " + ms + " ms");
  }

  @Override
  public String toString() {
    return "OkHttpPeer[" + endpoint + "]";
  }

  /**
   * A protobuf message as a request body, encoded straight into OkHttp's sink. OkHttp writes the
   * body once per attempt and resends it on its own after some failures (a refused HTTP/2 stream,
   * a pooled connection the server had closed). A resent signed request must not repeat its
   * nonce, or the server refuses it as a replay: a forward (which may safely run twice) is
   * re-signed for every attempt after the first, with the time its caller has left as its
   * timeout, so that the server does not go on computing after the caller gave up. A re-signed
   * attempt's length is unknown to OkHttp (chunked over HTTP/1.1, no Content-Length over HTTP/2):
   * a shorter timeout can take fewer bytes. The first attempt, nearly every call's only one, keeps
   * its Content-Length; if it starts more than {@link #STALE_FIRST_NANOS} after it was signed
   * (the call waited for a dispatcher slot), it is signed again with the time left when OkHttp
   * asks for its length, before its connection is found.
   */
  static final class ProtoBody extends RequestBody {
    /**
     * A first attempt that starts later than this after it was signed is signed again. Below it,
     * the time a server would count too much is that of a round trip or two, and not worth a
     * signature (and, over the whole request, a hash of its tensors) more per call.
     */
    static final long STALE_FIRST_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
    private static final int WRITE_BUFFER_BYTES = 1024;
    private final ClientCore.Outgoing first;
    private final LongFunction<ClientCore.Outgoing> resign;
    private final long startNanos;
    private final long timeoutNanos;
    private final LongSupplier nanoTime;
    /** When {@code first} was signed, by {@code nanoTime}. */
    private final long signedNanos;
    private final AtomicInteger attempts = new AtomicInteger();
    /**
     * The first attempt's message, chosen when OkHttp first asks for its length. A call's
     * attempts run one at a time, each on one thread.
     */
    private volatile ClientCore.Outgoing opening;
    private volatile ClientCore.Outgoing sent;

    /** A body that every attempt sends as it is. */
    ProtoBody(ClientCore.Outgoing first) {
      this(first, null, 0, 0, null);
    }

    /**
     * A body re-signed for each attempt after the first.
     *
     * @param first the message of the first attempt, signed at {@code startNanos} with the
     *     whole timeout
     * @param resign a freshly stamped and signed message with the given timeout in milliseconds
     * @param startNanos when the caller's timeout began, by {@code nanoTime}
     * @param timeoutNanos the caller's timeout
     * @param nanoTime the clock of {@code startNanos}; {@code first} was signed when it is called
     *     here
     */
    ProtoBody(ClientCore.Outgoing first, LongFunction<ClientCore.Outgoing> resign,
        long startNanos, long timeoutNanos, LongSupplier nanoTime) {
      this.first = first;
      this.resign = resign;
      this.startNanos = startNanos;
      this.timeoutNanos = timeoutNanos;
      this.nanoTime = nanoTime;
      this.signedNanos = resign == null ? 0 : nanoTime.getAsLong();
    }

    @Override
    public MediaType contentType() {
      return PROTOBUF;
    }

    /** The canonical digest of the message last written: the one an answer answers. */
    byte[] sentDigest() {
      return (sent != null ? sent : first).digest();
    }

    /** The first attempt's size; unknown (-1) for a re-signed attempt after it. */
    @Override
    public long contentLength() throws IOException {
      if (resign == null) {
        return first.message().getSerializedSize();
      }
      return attempts.get() > 0 ? -1 : opening().message().getSerializedSize();
    }

    @Override
    public void writeTo(BufferedSink sink) throws IOException {
      boolean again = attempts.getAndIncrement() > 0;
      ClientCore.Outgoing attempt =
          resign == null ? first : again ? resign.apply(millisLeft()) : opening();
      sent = attempt;
      MessageLite msg = attempt.message();
      // A small buffer gathers the few header fields; tensor bytes longer than it go straight to
      // the sink. A fixed 64 KiB buffer, zeroed per call, cost a third of a small call's CPU.
      int buffer = Math.max(1, Math.min(msg.getSerializedSize(), WRITE_BUFFER_BYTES));
      CodedOutputStream out = CodedOutputStream.newInstance(sink.outputStream(), buffer);
      if (msg instanceof io.bittensor.transport.internal.wire.ForwardRequest forward) {
        ForwardPrefix.write(forward, out); // the tensor last: the server can check the caller early
      } else {
        msg.writeTo(out);
      }
      out.flush();
    }

    /** The first attempt's message: as signed, or signed again if it waited to start. */
    private ClientCore.Outgoing opening() throws IOException {
      ClientCore.Outgoing o = opening;
      if (o == null) {
        boolean stale = nanoTime.getAsLong() - signedNanos > STALE_FIRST_NANOS;
        o = stale ? resign.apply(millisLeft()) : first;
        opening = o;
      }
      return o;
    }

    /**
     * The caller's time left, at least 1 ms. With none left the attempt fails instead: a
     * {@link SocketTimeoutException}, which OkHttp does not retry (read as TIMEOUT).
     */
    private long millisLeft() throws SocketTimeoutException {
      long left = timeoutNanos - (nanoTime.getAsLong() - startNanos);
      if (left <= 0) {
        throw new SocketTimeoutException("the deadline passed before the request could be sent");
      }
      return Math.max(1, TimeUnit.NANOSECONDS.toMillis(left));
    }
  }
}
