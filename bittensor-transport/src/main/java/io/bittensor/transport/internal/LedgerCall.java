package io.bittensor.transport.internal;

import com.google.protobuf.ByteString;
import io.bittensor.core.PeerId;
import io.bittensor.core.Status;
import io.bittensor.transport.LedgerRequestEvent;
import io.bittensor.transport.LedgerRequestListener;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.server.Request;
import java.util.stream.Collectors;
import org.eclipse.jetty.util.Callback;

/**
 * One request to a ledger server, followed for its {@link LedgerRequestListener}: the caller it
 * names and the one its signature proved, the answer's status and bytes (an event stream's as
 * they are written), and the time from its arrival until Jetty completed its callback, when the
 * listener hears it, once.
 *
 * <p>Thread-safe: its parts are told on the threads that serve the request.
 */
final class LedgerCall {
  /** Each operation by its path segment under {@code /v1/ledger/}: {@code submit-all}, ... */
  private static final Map<String, LedgerRequestEvent.Operation> BY_PATH =
      Arrays.stream(LedgerRequestEvent.Operation.values()).collect(Collectors.toUnmodifiableMap(
          o -> o.name().toLowerCase(Locale.ROOT).replace('_', '-'), o -> o));

  private final LedgerRequestEvent.Operation operation;
  private final long started = System.nanoTime();
  private final X509Certificate certificate;
  private final LedgerRequestListener listener;
  private final AtomicLong bytes = new AtomicLong();
  private final AtomicBoolean ended = new AtomicBoolean();
  private volatile PeerId named;
  private volatile PeerId proved;
  /** The answer's status; a request that fails before an answer (its caller gone) cancelled. */
  private volatile int status = Status.CANCELLED.code();

  /** @param op the path under {@code /v1/ledger/} */
  LedgerCall(String op, Request request, LedgerRequestListener listener) {
    this.operation = operation(op);
    this.certificate = HttpPeerHandler.clientCertificate(request);
    this.listener = listener;
  }

  /** The operation whose path segment {@code op} is ({@code submit-all}: SUBMIT_ALL). */
  private static LedgerRequestEvent.Operation operation(String op) {
    return BY_PATH.getOrDefault(op, LedgerRequestEvent.Operation.OTHER);
  }

  /** The key the request's caller block names, if it is one. */
  void named(ByteString key) {
    if (key.size() == PeerId.LENGTH) {
      try {
        named = PeerId.fromBytes(key.toByteArray());
      } catch (IllegalArgumentException e) {
        // No key: the request is refused for it, naming no one.
      }
    }
  }

  /** The caller whose signature checked, or null for an unsigned request. */
  void proved(PeerId caller) {
    proved = caller;
  }

  /** Bytes of an event stream, as each chunk goes out: a stream is answered with success. */
  void sent(long chunk) {
    status = Status.SUCCESS.code();
    bytes.addAndGet(chunk);
  }

  /** {@code callback}, telling the listener of the request once Jetty completes it. */
  Callback heardWhenDone(Callback callback) {
    return new Heard(callback);
  }

  /** The request's callback: the answer it was given goes to the listener with its end. */
  final class Heard implements Callback {
    private final Callback delegate;

    private Heard(Callback delegate) {
      this.delegate = delegate;
    }

    /** The answer written: its status and its body's size. */
    void answered(int answerStatus, long size) {
      status = answerStatus;
      bytes.addAndGet(size);
    }

    @Override
    public void succeeded() {
      try {
        delegate.succeeded();
      } finally {
        end();
      }
    }

    @Override
    public void failed(Throwable cause) {
      try {
        delegate.failed(cause);
      } finally {
        end();
      }
    }

    @Override
    public InvocationType getInvocationType() {
      return delegate.getInvocationType();
    }
  }

  private void end() {
    if (!ended.compareAndSet(false, true)) {
      return;
    }
    try {
      listener.requestEnd(new LedgerRequestEvent(operation, Optional.ofNullable(named),
          Optional.ofNullable(proved), Status.ofCode(status).orElse(Status.INTERNAL_ERROR),
          Duration.ofNanos(Math.max(0, System.nanoTime() - started)), bytes.get(),
          Optional.ofNullable(certificate)));
    } catch (RuntimeException ignored) {
      // A listener must not throw; one that does must not fail the request.
    }
  }
}
