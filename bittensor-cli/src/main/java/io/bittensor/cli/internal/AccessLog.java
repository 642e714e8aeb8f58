package io.bittensor.cli.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.bittensor.core.PeerId;
import io.bittensor.transport.CallEvent;
import io.bittensor.transport.CallListener;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

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
 * <p>Each line is one write to a file opened for appending, so a crash loses at most the line
 * being written, lines from several threads never interleave, and a log rotated by truncating
 * it in place ({@code logrotate}'s {@code copytruncate}) goes on at its new end. A line that
 * cannot be written (a full disk) is counted in {@link #lost()}, and the call goes on.
 *
 * <p>Thread-safe.
 */
public final class AccessLog implements CallListener, Closeable {
  private static final JsonFactory JSON = new JsonFactory();

  private final Path file;
  private final FileOutputStream out;
  private final Clock clock;
  private final AtomicLong lost = new AtomicLong();
  private boolean closed;

  private AccessLog(Path file, FileOutputStream out, Clock clock) {
    this.file = file;
    this.out = out;
    this.clock = clock;
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
    if (Files.isDirectory(file)) {
      throw new IOException("the access log " + file + " is a directory");
    }
    try {
      return new AccessLog(file, new FileOutputStream(file.toFile(), true), clock);
    } catch (IOException e) {
      throw new IOException("cannot open the access log " + file + ": " + e.getMessage(), e);
    }
  }

  /** The file written. */
  public Path file() {
    return file;
  }

  /** The lines that could not be written. */
  public long lost() {
    return lost.get();
  }

  @Override
  public void callEnd(CallEvent call) {
    byte[] line = line(call);
    synchronized (this) {
      if (closed) {
        return; // calls that end while the server closes: after the log, not in it
      }
      try {
        out.write(line);
      } catch (IOException e) {
        lost.incrementAndGet();
      }
    }
  }

  private byte[] line(CallEvent call) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
    try (JsonGenerator json = JSON.createGenerator(bytes)) {
      json.writeStartObject();
      json.writeStringField("time", clock.instant().toString());
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
      json.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // into memory: does not happen
    }
    bytes.write('\n');
    return bytes.toByteArray();
  }

  /** Closes the file; calls that end after are not logged. */
  @Override
  public synchronized void close() throws IOException {
    if (!closed) {
      closed = true;
      out.close();
    }
  }
}
