package io.bittensor.cli.internal;

import com.fasterxml.jackson.core.JsonGenerator;
import io.bittensor.core.PeerId;
import io.bittensor.core.Status;
import io.bittensor.transport.CallEvent;
import io.bittensor.transport.CallListener;
import io.bittensor.transport.LedgerRequestEvent;
import io.bittensor.transport.LedgerRequestListener;
import java.io.IOException;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

/**
 * Every call a server answered or a client made, and every request a ledger server answered,
 * one line of JSON each (JSON Lines), appended to a file as the call ends:
 *
 * <pre>{@code
 * {"time":"2026-12-06T14:03:11.402Z","side":"server","kind":"forward","peer":"9a1f...",
 *  "verified":true,"status":"SUCCESS","code":0,"ms":0.412}
 * }</pre>
 *
 * <p>(one line in the file). {@code peer} is, on a server, the caller its request named (or,
 * for a signed request that named none, the one its signature proved), and {@code verified}
 * whether its signature proved it ({@link CallEvent#verifiedCaller()}): a request can name
 * anyone. On a client {@code peer} is the peer called and {@code verified} is
 * false. {@code certificate}, when the caller showed one over mutual TLS, is its subject.
 *
 * <p>Each line is one write to a file opened for appending ({@link JsonLinesFile}): a crash
 * loses at most the line being written, lines never interleave, {@code copytruncate} rotation
 * works. A line that cannot be written (a full disk) is counted in {@link #lost()}, and the call
 * goes on.
 *
 * <p>Thread-safe.
 */
public final class AccessLog extends JsonLinesLog implements CallListener, LedgerRequestListener {
  private AccessLog(Path file, Clock clock) throws IOException {
    super(file, "the access log", clock);
  }

  /**
   * Opens {@code file} for appending, creating it if it does not exist (its directory must).
   *
   * @throws IOException when it cannot be opened for writing, naming it
   */
  public static AccessLog open(Path file) throws IOException {
    return open(file, Clock.systemUTC());
  }

  static AccessLog open(Path file, Clock clock) throws IOException {
    return new AccessLog(file, clock);
  }

  @Override
  public void callEnd(CallEvent call) {
    // A signed request need not name its caller in a header: then the proof names it.
    append(json -> fields(json, call.side().name(), call.kind().name(),
        call.verifiedCaller().or(call::peer), call.verifiedCaller().isPresent(), call.status(),
        call.duration(), -1, call.clientCertificate()));
  }

  /**
   * A request a ledger server is done with, as a line of the same shape, {@code kind} the
   * operation ({@code submit}, {@code metagraph}, {@code events}, ...; {@code other} for a path
   * it does not serve) and {@code bytes} the body's bytes sent: an event stream is logged when
   * it ends, {@code ms} its whole life.
   */
  @Override
  public void requestEnd(LedgerRequestEvent request) {
    append(json -> fields(json, "server", request.operation().name(),
        request.verifiedCaller().or(request::peer), request.verifiedCaller().isPresent(),
        request.status(), request.duration(), request.bytesSent(), request.clientCertificate()));
  }

  /** One line's fields after its time; {@code bytes} below 0 is left out. */
  private static void fields(JsonGenerator json, String side, String kind, Optional<PeerId> peer,
      boolean verified, Status status, Duration duration, long bytes,
      Optional<X509Certificate> certificate) throws IOException {
    json.writeStringField("side", side.toLowerCase(Locale.ROOT));
    json.writeStringField("kind", kind.toLowerCase(Locale.ROOT));
    json.writeStringField("peer", peer.map(PeerId::toHex).orElse(null));
    json.writeBooleanField("verified", verified);
    json.writeStringField("status", status.name());
    json.writeNumberField("code", status.code());
    // Microseconds' resolution, written as milliseconds: what a reader of the log compares.
    json.writeNumberField("ms", Math.round(duration.toNanos() / 1e3) / 1e3);
    if (bytes >= 0) {
      json.writeNumberField("bytes", bytes);
    }
    if (certificate.isPresent()) {
      json.writeStringField("certificate", certificate.get().getSubjectX500Principal().getName());
    }
  }
}
