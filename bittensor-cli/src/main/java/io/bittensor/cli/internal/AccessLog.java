package io.bittensor.cli.internal;

import io.bittensor.core.PeerId;
import io.bittensor.transport.CallEvent;
import io.bittensor.transport.CallListener;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Locale;

/**
 * Every call a server answered or a client made, one line of JSON each (JSON Lines), appended
 * to a file as the call ends:
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
public final class AccessLog extends JsonLinesLog implements CallListener {
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
    append(json -> {
      json.writeStringField("side", call.side().name().toLowerCase(Locale.ROOT));
      json.writeStringField("kind", call.kind().name().toLowerCase(Locale.ROOT));
      // A signed request need not name its caller in a header: then the proof names it.
      json.writeStringField("peer",
          call.verifiedCaller().or(call::peer).map(PeerId::toHex).orElse(null));
      json.writeBooleanField("verified", call.verifiedCaller().isPresent());
      json.writeStringField("status", call.status().name());
      json.writeNumberField("code", call.status().code());
      // Microseconds' resolution, written as milliseconds: what a reader of the log compares.
      json.writeNumberField("ms", Math.round(call.duration().toNanos() / 1e3) / 1e3);
      if (call.clientCertificate().isPresent()) {
        json.writeStringField("certificate",
            call.clientCertificate().get().getSubjectX500Principal().getName());
      }
    });
  }
}
